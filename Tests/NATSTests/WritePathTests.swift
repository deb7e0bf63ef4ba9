import NATSTestSupport
import XCTest

@testable import NATS

/// Bytes reach the socket three ways: the event loop's flush, a publisher writing its own
/// batch past the threshold, and a request or reply written at once on the caller's thread.
/// Whatever the mix, the server must see every op once and in order.
final class WritePathTests: ServerTestCase {
    private func sequence(_ payload: [UInt8]) -> Int {
        payload.prefix(8).enumerated().reduce(0) { $0 | Int($1.element) << (8 * $1.offset) }
    }

    private func payload(_ sequence: Int, size: Int) -> [UInt8] {
        var bytes = (0..<8).map { UInt8(truncatingIfNeeded: sequence >> (8 * $0)) }
        bytes += [UInt8](repeating: UInt8(ascii: "x"), count: max(0, size - 8))
        return bytes
    }

    func testMixedWritePathsKeepOrder() throws {
        let subscriber = try Connection.connect(url: server.url)
        defer { subscriber.close() }
        let publisher = try Connection.connect(url: server.url)
        defer { publisher.close() }
        let responder = try subscriber.subscribe("order.echo") { message in
            try? subscriber.respond(to: message, payload: message.payload)
        }
        defer { responder.unsubscribeQuietly() }
        let sub = try subscriber.subscribeSync("order.seq")
        try sub.setPendingLimits(messages: 0, bytes: 0)
        try subscriber.flush(timeoutMilliseconds: 2_000)

        // Sizes past the batch threshold, bursts that make the publisher write its own batches,
        // and requests (written at once) in between: every path, interleaved.
        let sizes = [8, 100, 3_000, 70 * 1024, 16]
        let total = 40_000
        for index in 0..<total {
            let size = index % 97 == 0 ? sizes[(index / 97) % sizes.count] : 16
            try publisher.publish("order.seq", payload: payload(index, size: size))
            if index % 5_000 == 4_999 {
                let reply = try publisher.request("order.echo", payload: [UInt8(index % 251)], timeoutMilliseconds: 5_000)
                XCTAssertEqual(reply.payload, [UInt8(index % 251)])
            }
        }
        for expected in 0..<total {
            let message = try sub.next(timeoutMilliseconds: 5_000)
            XCTAssertEqual(sequence(message.payload), expected)
            if sequence(message.payload) != expected { return }
        }
    }

    func testBurstTailArrivesWithoutFlush() throws {
        let subscriber = try Connection.connect(url: server.url)
        defer { subscriber.close() }
        // No keep-alive PING during the test: nothing but the tail flush may send the tail.
        var options = try Options(url: server.url)
        options.pingIntervalMilliseconds = 600_000
        let publisher = try Connection.connect(options)
        defer { publisher.close() }
        let sub = try subscriber.subscribeSync("tail.seq")
        try sub.setPendingLimits(messages: 0, bytes: 0)
        try subscriber.flush(timeoutMilliseconds: 2_000)

        // Hold the event loop so that only the publisher's own write and the tail timer can
        // send: a message past the batch threshold is written by the publisher at once and
        // starts a burst; the small ones after it wait for the tail flush.
        let loopHeld = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        publisher.eventLoop.execute {
            loopHeld.signal()
            release.wait()
        }
        loopHeld.wait()
        try publisher.publish("tail.seq", payload: payload(0, size: WritePath.publisherWriteThreshold + 1))
        for index in 1...100 { try publisher.publish("tail.seq", payload: payload(index, size: 16)) }
        release.signal()
        for expected in 0...100 {
            let message = try sub.next(timeoutMilliseconds: 2_000)
            XCTAssertEqual(sequence(message.payload), expected)
        }
        // Once the burst is over, a lone publish goes out by itself as well.
        usleep(20_000)
        try publisher.publish("tail.seq", payload: payload(101, size: 16))
        XCTAssertEqual(sequence(try sub.next(timeoutMilliseconds: 2_000).payload), 101)
    }

    func testConnectToClosedPortFailsClearly() throws {
        let port = server.port
        server.stop()
        XCTAssertThrowsError(try Connection.connect(url: "nats://127.0.0.1:\(port)")) { error in
            guard case .connectFailed(let text) = error as? NATSError else { return XCTFail("got \(error)") }
            XCTAssertTrue(text.contains("refused"), text)
        }
    }
}

extension Subscription {
    func unsubscribeQuietly() { try? unsubscribe() }
}
