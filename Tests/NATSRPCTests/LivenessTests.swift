import Foundation
@testable import NATS
@testable import NATSRPC
import NATSTestSupport
import XCTest

/// Call liveness (docs/RPC.md "Liveness"): a server sends liveness frames for the calls it has
/// accepted and not answered; a caller whose server goes silent for two intervals fails with
/// `callLost` instead of waiting out its timeout, and a long call of a live server is not cut off.
final class LivenessTests: RPCServerTestCase {
    private func json(_ text: String) throws -> JSONValue { try JSONValue.parse(text) }

    // MARK: the schedule, without sockets

    private func request(_ body: String, reply: String? = "_INBOX.r.1") -> Message {
        var bytes = Array("rpc.ns.slow".utf8)
        let subject = 0..<bytes.count
        var replyRange: Range<Int>?
        if let reply {
            let start = bytes.count
            bytes += Array(reply.utf8)
            replyRange = start..<bytes.count
        }
        let start = bytes.count
        bytes += Array(body.utf8)
        let inbound = InboundMessage(subject: subject, sid: 1, reply: replyRange, headerLength: 0, body: start..<bytes.count)
        return bytes.withUnsafeBytes { Message(storage: MessageStorage.make(inbound, in: $0, connection: nil)) }
    }

    private let ms: UInt64 = 1_000_000

    func testTheScheduleOwesFramesOnlyToUnansweredCallsThatAskedForThem() throws {
        var schedule = HeartbeatSchedule()
        let asked = request(#"{"id":"c1","method":"slow","params":{},"heartbeat":200}"#)
        let notAsked = request(#"{"id":"c2","method":"slow","params":{}}"#)
        let noReply = request(#"{"id":"c3","method":"slow","params":{},"heartbeat":200}"#, reply: nil)
        let answered = request(#"{"id":"c4","method":"slow","params":{},"heartbeat":200}"#, reply: "_INBOX.r.4")
        for message in [asked, notAsked, noReply, answered] { schedule.arrived(message, now: 0) }
        XCTAssertEqual(schedule.count, 3, "a call without a reply subject is owed nothing")
        schedule.answered(answered)
        XCTAssertEqual(schedule.tick(now: 40 * ms), [], "nothing is looked at before a tick has passed")
        XCTAssertEqual(schedule.tick(now: 150 * ms), [], "nothing before the interval")
        let first = schedule.tick(now: 200 * ms)
        XCTAssertEqual(first.map(\.reply), ["_INBOX.r.1"])
        XCTAssertEqual(first.first.map { String(decoding: $0.body, as: UTF8.self) }, #"{"id":"c1","heartbeat":1}"#)
        XCTAssertEqual(schedule.tick(now: 300 * ms), [], "the next one an interval after the last")
        XCTAssertEqual(schedule.tick(now: 400 * ms).map { String(decoding: $0.body, as: UTF8.self) }, [#"{"id":"c1","heartbeat":2}"#])
        schedule.answered(asked)
        XCTAssertEqual(schedule.tick(now: 800 * ms), [])
        XCTAssertEqual(schedule.count, 1, "the call that asked for none stays followed until answered")
    }

    func testTheScheduleForgetsACallDroppedUnanswered() {
        var schedule = HeartbeatSchedule()
        do {
            let dropped = request(#"{"id":"c1","method":"slow","heartbeat":100}"#)
            schedule.arrived(dropped, now: 0)
        }
        XCTAssertEqual(schedule.tick(now: 500 * ms), [])
        XCTAssertEqual(schedule.count, 0)
    }

    func testAskedIntervalsBelowTheMinimumAreRaisedToIt() {
        var schedule = HeartbeatSchedule()
        let message = request(#"{"id":7,"method":"slow","heartbeat":1}"#)
        schedule.arrived(message, now: 0)
        XCTAssertEqual(schedule.tick(now: 60 * ms), [])
        XCTAssertEqual(schedule.tick(now: 100 * ms).map { String(decoding: $0.body, as: UTF8.self) }, [#"{"id":7,"heartbeat":1}"#])
    }

    func testAnyIntervalACallerAsksForIsBoundedWithoutOverflow() {
        var schedule = HeartbeatSchedule()
        let greedy = request(#"{"id":1,"method":"slow","heartbeat":100000000000000000}"#)
        let negative = request(#"{"id":2,"method":"slow","heartbeat":-5}"#, reply: "_INBOX.r.2")
        schedule.arrived(greedy, now: 0)
        schedule.arrived(negative, now: 0)
        XCTAssertEqual(schedule.tick(now: 3_600_000 * ms), [], "a day at most, asked for more")
        XCTAssertEqual(schedule.tick(now: 86_400_000 * ms).map(\.reply), ["_INBOX.r.1"])
    }

    // MARK: over a server

    func testAServerSurvivesACallerAskingForAnyInterval() throws {
        let rpc = try RPCServer(connection: conn, namespace: "live")
        let release = DispatchSemaphore(value: 0)
        try rpc.register("hold") { request in
            _ = release.wait(timeout: .now() + 5)
            try? request.respond(JSONValue.integer(1))
        }
        try rpc.start()
        servers.append(rpc)
        let body = Array(#"{"id":"raw","method":"hold","heartbeat":100000000000000}"#.utf8)
        let other = try Connection.connect(url: server.url)
        defer { other.close() }
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { release.signal() }
        let reply = try other.request("rpc.live.hold", payload: body, timeoutMilliseconds: 3_000)
        XCTAssertEqual(String(decoding: reply.payload, as: UTF8.self), #"{"id":"raw","result":1,"error":null}"#)
    }

    /// A server whose `slow` answers after `milliseconds`, one call at a time.
    private func slowServer(milliseconds: UInt32, connection: Connection? = nil) throws -> RPCServer {
        let rpc = try RPCServer(connection: connection ?? conn, namespace: "live")
        try rpc.register("slow") { params in
            usleep(milliseconds * 1_000)
            return params
        }
        try rpc.start()
        servers.append(rpc)
        return rpc
    }

    func testALongCallOfALiveServerIsNotCutOff() throws {
        try slowServer(milliseconds: 1_200)
        let client = try RPCClient(connection: conn, namespace: "live")
        try client.setHeartbeat(milliseconds: 200)
        XCTAssertEqual(try client.call("slow", params: json("[1]"), timeoutMilliseconds: 5_000).serialized(), "[1]")
    }

    func testACallQueuedBehindAnotherGetsFramesFromItsArrival() throws {
        try slowServer(milliseconds: 800)
        let client = try RPCClient(connection: conn, namespace: "live")
        try client.setHeartbeat(milliseconds: 200)
        // Both at once: the second waits 800 ms in the endpoint's queue, four intervals.
        let first = try client.callAsync("slow", params: json("[1]"))
        let second = try client.callAsync("slow", params: json("[2]"))
        XCTAssertEqual(try client.response(to: first, timeoutMilliseconds: 5_000).serialized(), "[1]")
        XCTAssertEqual(try client.response(to: second, timeoutMilliseconds: 5_000).serialized(), "[2]")
    }

    /// A "server" that takes calls and never answers nor sends frames: what a caller sees of a
    /// server that died with its call.
    private func silentTaker() throws -> Subscription {
        try conn.subscribe("rpc.live.slow", queue: "q") { _ in }
    }

    func testACallWhoseServerWentSilentFailsWithinTwoIntervals() throws {
        let taker = try silentTaker()
        defer { try? taker.unsubscribe() }
        let client = try RPCClient(connection: conn, namespace: "live")
        try client.setHeartbeat(milliseconds: 200)
        let started = Date()
        XCTAssertThrowsError(try client.call("slow", timeoutMilliseconds: 10_000)) { error in
            guard case NATSError.callLost(let text) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(text.contains("\"slow\""), text)
        }
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertGreaterThanOrEqual(elapsed, 0.39)
        XCTAssertLessThan(elapsed, 1.5, "two intervals, not the 10 s timeout")
    }

    func testACallbackCallWhoseServerWentSilentFailsWithinTwoIntervals() throws {
        let taker = try silentTaker()
        defer { try? taker.unsubscribe() }
        let client = try RPCClient(connection: conn, namespace: "live")
        try client.setHeartbeat(milliseconds: 200)
        let done = expectation(description: "outcome")
        let started = Date()
        var outcome: Result<JSONValue, Error>?
        try client.call("slow", timeoutMilliseconds: 10_000) { result in
            outcome = result
            done.fulfill()
        }
        wait(for: [done], timeout: 5)
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.5)
        guard case .failure(NATSError.callLost) = outcome else { return XCTFail("\(String(describing: outcome))") }
    }

    func testACallbackCallOfALiveServerIsNotCutOff() throws {
        try slowServer(milliseconds: 1_000)
        let client = try RPCClient(connection: conn, namespace: "live")
        try client.setHeartbeat(milliseconds: 200)
        let done = expectation(description: "outcome")
        var outcome: Result<JSONValue, Error>?
        try client.call("slow", params: json("[3]"), timeoutMilliseconds: 5_000) { result in
            outcome = result
            done.fulfill()
        }
        wait(for: [done], timeout: 6)
        XCTAssertEqual(try outcome?.get().serialized(), "[3]")
    }

    func testACallWithATimeoutWithinTwoIntervalsAsksForNoFrames() throws {
        let taker = try conn.subscribeSync("rpc.live.slow")
        defer { try? taker.unsubscribe() }
        let client = try RPCClient(connection: conn, namespace: "live")
        try client.setHeartbeat(milliseconds: 200)
        XCTAssertThrowsError(try client.call("slow", timeoutMilliseconds: 400))
        let asked = try taker.next(timeoutMilliseconds: 1_000)
        XCTAssertNil(try json(String(decoding: asked.payload, as: UTF8.self)).value("heartbeat"))
        XCTAssertThrowsError(try client.call("slow", timeoutMilliseconds: 401)) { error in
            guard case NATSError.callLost = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try json(String(decoding: try taker.next(timeoutMilliseconds: 1_000).payload, as: UTF8.self)).int("heartbeat"), 200)
    }

    func testTheIntervalIsCheckedAndZeroTurnsFramesOff() throws {
        let client = try RPCClient(connection: conn, namespace: "live")
        XCTAssertEqual(client.heartbeatMilliseconds, RPCClient.defaultHeartbeatMilliseconds)
        XCTAssertThrowsError(try client.setHeartbeat(milliseconds: 99))
        XCTAssertThrowsError(try client.setHeartbeat(milliseconds: -1))
        XCTAssertThrowsError(try client.setHeartbeat(milliseconds: 86_400_001))
        XCTAssertThrowsError(try client.setHeartbeat(milliseconds: .max))
        try client.setHeartbeat(milliseconds: 86_400_000)
        try client.setHeartbeat(milliseconds: 0)
        let taker = try silentTaker()
        defer { try? taker.unsubscribe() }
        XCTAssertThrowsError(try client.call("slow", timeoutMilliseconds: 600)) { error in
            guard case NATSError.timeout = error else { return XCTFail("\(error)") }
        }
    }

    func testTheServerStopsFollowingAnsweredCalls() throws {
        let rpc = try slowServer(milliseconds: 300)
        let client = try RPCClient(connection: conn, namespace: "live")
        try client.setHeartbeat(milliseconds: 100)
        for _ in 0..<3 { _ = try client.call("slow", timeoutMilliseconds: 5_000) }
        XCTAssertEqual(rpc.heartbeats.count, 0)
    }

    func testAServerWhoseConnectionDiesLosesItsCallersCalls() throws {
        let serverConnection = try Connection.connect(url: server.url)
        let rpc = try RPCServer(connection: serverConnection, namespace: "live")
        let held = NSLock()
        var kept: [RPCRequest] = []
        try rpc.register("hang") { request in  // kept, never answered
            request.keep()
            held.withLock { kept.append(request) }
        }
        try rpc.start()
        defer { held.withLock { kept.removeAll() } }
        let client = try RPCClient(connection: conn, namespace: "live")
        try client.setHeartbeat(milliseconds: 200)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.6) { serverConnection.close() }
        let started = Date()
        XCTAssertThrowsError(try client.call("hang", timeoutMilliseconds: 10_000)) { error in
            guard case NATSError.callLost = error else { return XCTFail("\(error)") }
        }
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertGreaterThan(elapsed, 0.6, "alive until its connection closed")
        XCTAssertLessThan(elapsed, 2.0)
    }
}
