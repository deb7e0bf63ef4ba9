import Foundation
@testable import NATS
import NATSTestSupport
import XCTest

/// The reconnect buffer meets a server with a smaller max_payload; why a link was lost is
/// known; publishes lost with a link are counted. The op walk is tested without sockets first.
final class ReplayTests: XCTestCase {
    private func publish(_ buffer: inout OutboundBuffer, _ subject: String, size: Int, headers: String? = nil) {
        let payload = [UInt8](repeating: 0x61, count: size)
        var subjectCopy = subject
        subjectCopy.withUTF8 { subjectBytes in
            payload.withUnsafeBytes { payloadBytes in
                if let headers {
                    var headerCopy = headers
                    headerCopy.withUTF8 {
                        buffer.appendPublish(subject: UnsafeRawBufferPointer(subjectBytes), reply: nil,
                                             headers: UnsafeRawBufferPointer($0), payload: payloadBytes)
                    }
                } else {
                    buffer.appendPublish(subject: UnsafeRawBufferPointer(subjectBytes), reply: nil, headers: nil, payload: payloadBytes)
                }
            }
        }
    }

    private func text(_ buffer: OutboundBuffer) -> String { buffer.withBytes { String(decoding: $0, as: UTF8.self) } }

    func testReplayKeepsWhatFitsInOrderAndNamesWhatDoesNot() {
        var buffered = OutboundBuffer()
        publish(&buffered, "a", size: 10)
        publish(&buffered, "big.one", size: 2_000)
        publish(&buffered, "b", size: 1_024)  // exactly the limit: sent
        publish(&buffered, "hdr", size: 1_010, headers: "NATS/1.0\r\nK: v\r\n\r\n")  // 18 + 1010 > 1024: refused
        publish(&buffered, "c", size: 0)
        publish(&buffered, "big.two", size: 5_000)
        XCTAssertEqual(buffered.publishes, 6)
        var replay = OutboundBuffer()
        replay.appendPing()
        let refused = replay.appendPublishes(of: buffered, upTo: 1_024)
        XCTAssertEqual(refused, ["big.one", "hdr", "big.two"])
        XCTAssertEqual(replay.publishes, 3)
        let expected = "PING\r\nPUB a 10\r\n" + String(repeating: "a", count: 10) + "\r\nPUB b 1024\r\n"
            + String(repeating: "a", count: 1_024) + "\r\nPUB c 0\r\n\r\n"
        XCTAssertEqual(text(replay), expected)
        // No limit known: everything goes.
        var all = OutboundBuffer()
        XCTAssertEqual(all.appendPublishes(of: buffered, upTo: 0), [])
        XCTAssertEqual(text(all), text(buffered))
    }

    /// A partial socket write leaves part of an op at the head: the publish count stays exact.
    func testPartialWritesKeepThePublishCount() {
        var buffer = OutboundBuffer()
        buffer.appendSubscribe(subject: "sub.first", queue: nil, sid: 1)  // SUB sub.first 1\r\n: 18 bytes
        for index in 0..<5 { publish(&buffer, "s.\(index)", size: 100) }
        buffer.appendPing()
        let opLength = "PUB s.0 100\r\n".utf8.count + 100 + 2
        XCTAssertEqual(buffer.publishes, 5)
        buffer.removeFirst(5)  // inside the SUB
        XCTAssertEqual(buffer.publishes, 5)
        buffer.removeFirst(13)  // the SUB's end, exactly
        XCTAssertEqual(buffer.publishes, 5)
        buffer.removeFirst(opLength + 10)  // one whole, ten bytes of the next
        XCTAssertEqual(buffer.publishes, 4)
        buffer.removeFirst(opLength - 20)  // still inside the second
        XCTAssertEqual(buffer.publishes, 4)
        buffer.removeFirst(10 + opLength + 5)  // the second ends, the third whole, 5 bytes of the fourth
        XCTAssertEqual(buffer.publishes, 2)
        buffer.removeFirst(buffer.count - 6)  // everything but the PING
        XCTAssertEqual(buffer.publishes, 0)
        XCTAssertEqual(text(buffer), "PING\r\n")
        buffer.removeFirst(6)
        XCTAssertTrue(buffer.isEmpty)
    }

    /// Publishes buffered while the server was away, against a new server whose max_payload is
    /// smaller than some of them: the valid ones arrive in order, the others are reported with
    /// SNATS_PUBLISH_REFUSED's error, counted as lost, and the link stays up.
    func testReplayAgainstSmallerMaxPayloadLosesNothingValid() throws {
        let port = freePort()
        var server = try NATSServer(fixedPort: port)
        defer { server.stop() }
        let errors = Collector<NATSError>()
        let events = Collector<String>()
        var options = try Options(url: "nats://127.0.0.1:\(port)")
        options.reconnectWaitMilliseconds = 50
        options.reconnectJitterMilliseconds = 0
        options.maxReconnectAttempts = -1
        options.onError = { _, _, error in errors.append(error) }
        options.onDisconnected = { connection in events.append("disconnected: \(connection.disconnectReason.map { "\($0)" } ?? "nil")") }
        options.onReconnected = { _ in events.append("reconnected") }
        let conn = try Connection.connect(options)
        defer { conn.close() }
        XCTAssertNil(conn.disconnectReason)
        let received = try conn.subscribeSync("replay.>")
        try conn.flush(timeoutMilliseconds: 2_000)

        server.stop()
        XCTAssertTrue(eventually { conn.connectionStatus == .reconnecting })
        XCTAssertNotNil(conn.disconnectReason, "the loss has a reason")
        var expected: [Int] = []
        var refusedSubjects: [String] = []
        for index in 0..<1_050 {
            if index % 100 == 7 {
                try conn.publish("replay.big.\(index)", payload: [UInt8](repeating: 1, count: 2_048))
                refusedSubjects.append("replay.big.\(index)")
            } else {
                try conn.publish("replay.ok", payload: Array(String(index).utf8))
                expected.append(index)
            }
        }
        server = try NATSServer(config: "max_payload: 1024\n", fixedPort: port)
        XCTAssertTrue(eventually(10) { events.all.contains("reconnected") }, "\(events.all)")
        XCTAssertEqual(conn.maxPayload, 1_024)

        var got: [Int] = []
        while got.count < expected.count, let message = try? received.next(timeoutMilliseconds: 5_000) {
            got.append(Int(String(decoding: message.payload, as: UTF8.self)) ?? -1)
        }
        XCTAssertEqual(got, expected, "every valid publish, in order")
        XCTAssertTrue(eventually { errors.all.contains { if case .publishesRefused = $0 { return true }; return false } })
        guard case .publishesRefused(let count, let limit, let subjects)? = errors.all.first(where: {
            if case .publishesRefused = $0 { return true }
            return false
        }) else { return XCTFail("\(errors.all)") }
        XCTAssertEqual(count, refusedSubjects.count)
        XCTAssertEqual(limit, 1_024)
        XCTAssertEqual(subjects, refusedSubjects)
        XCTAssertEqual(conn.statistics.lostPublishes, UInt64(refusedSubjects.count))
        // One outage only: the link the replay went out on is still up.
        XCTAssertEqual(conn.statistics.reconnects, 1)
        XCTAssertEqual(events.all.filter { $0.hasPrefix("disconnected") }.count, 1)
        XCTAssertEqual(conn.connectionStatus, .connected)
        XCTAssertNil(conn.disconnectReason, "a reconnect clears it")
        XCTAssertFalse(errors.all.contains { if case .serverError = $0 { return true }; return false }, "\(errors.all)")
    }

    /// The disconnected and closed callbacks can tell why: here the socket closed (EOF), and
    /// the close after giving up says so.
    func testDisconnectAndCloseCarryTheirReason() throws {
        let server = try NATSServer()
        let reasons = Collector<String>()
        let closed = Collector<String>()
        var options = try Options(url: server.url)
        options.reconnectWaitMilliseconds = 200
        options.reconnectJitterMilliseconds = 0
        options.maxReconnectAttempts = 2  // a pause of 200 ms between the two: publishes meanwhile are buffered
        options.onDisconnected = { connection in reasons.append(connection.disconnectReason.map { "\($0)" } ?? "nil") }
        options.onClosed = { connection in closed.append(connection.disconnectReason.map { "\($0)" } ?? "nil") }
        let conn = try Connection.connect(options)
        defer { conn.close() }
        server.stop()
        // Publishes accepted while reconnecting, then never sent: counted as lost.
        var accepted: UInt64 = 0
        while closed.count == 0 {
            if (try? conn.publish("lost.\(accepted)", payload: [1])) != nil { accepted += 1 } else { break }
            usleep(1_000)
        }
        XCTAssertTrue(eventually(10) { closed.count == 1 })
        XCTAssertGreaterThan(accepted, 0)
        XCTAssertEqual(conn.statistics.lostPublishes, accepted)
        XCTAssertEqual(reasons.count, 1)
        XCTAssertNotEqual(reasons.all.first, "nil")
        XCTAssertTrue(reasons.all.first?.contains("I/O error: the server closed the connection") == true,
                      "\(reasons.all)")
        XCTAssertTrue(closed.all.first?.contains("reconnect gave up") == true, "\(closed.all)")

        // Closed by the application without a loss: no reason.
        let other = try NATSServer()
        defer { other.stop() }
        let quiet = try Connection.connect(url: other.url)
        quiet.close()
        XCTAssertNil(quiet.disconnectReason)
    }

    /// A server -ERR that ends the link is the reason given: here a control line longer than
    /// the server's max_control_line.
    func testServerErrorIsTheReason() throws {
        let server = try NATSServer(config: "max_control_line: 256\n")
        defer { server.stop() }
        let reasons = Collector<NATSError>()
        var options = try Options(url: server.url)
        options.allowReconnect = false
        options.onClosed = { connection in if let reason = connection.disconnectReason { reasons.append(reason) } }
        let conn = try Connection.connect(options)
        defer { conn.close() }
        try conn.publish("long." + String(repeating: "x", count: 400), payload: [1])
        XCTAssertTrue(eventually(5) { reasons.count == 1 })
        guard case .serverError(let text)? = reasons.all.first?.underlying else { return XCTFail("\(reasons.all)") }
        XCTAssertTrue(text.lowercased().contains("control line"), text)
    }
}
