import Foundation
import NATS
import NATSMicro
@testable import NATSRPC
import NATSTestSupport
import XCTest

/// The forms of streams, describe and micro discovery that do not block: their outcomes reach
/// callbacks on the connection's delivery (`InboxReplies`).
final class CallbackFormTests: RPCServerTestCase {

    /// What a callback stream delivered, and whether two events ever ran at once.
    private final class Recorder {
        let lock = NSCondition()
        var events: [String] = []
        var running = 0
        var overlapped = false
        var ended = false

        func record(_ event: RPCStreamCall.Event) {
            lock.lock()
            running += 1
            if running > 1 { overlapped = true }
            lock.unlock()
            usleep(100)  // long enough for a second event to overlap, were they not serialized
            lock.lock()
            running -= 1
            switch event {
            case .item(let item): events.append(item.serialized())
            case .end:
                events.append("end")
                ended = true
            case .failure(let error as RPCError):
                events.append("rpc \(error.code)")
                ended = true
            case .failure(let error):
                events.append("\(error)")
                ended = true
            }
            lock.broadcast()
            lock.unlock()
        }

        func waitForEnd(seconds: Double = 5) -> [String] {
            lock.lock()
            defer { lock.unlock() }
            let deadline = Date().addingTimeInterval(seconds)
            while !ended && lock.wait(until: deadline) {}
            return events
        }
    }

    private func generators(_ namespace: String = "gen") throws {
        let rpc = try RPCServer(connection: conn, namespace: namespace)
        try rpc.register("count") { request in
            let upTo = request.params.items.first?.integerValue ?? 0
            let pauseMicroseconds = UInt32(request.params.items.dropFirst().first?.integerValue ?? 0)
            for index in 0..<upTo {
                if pauseMicroseconds > 0 { usleep(pauseMicroseconds) }
                try? request.sendItem(JSONValue.integer(index))
            }
            try? request.respond(JSONValue.null())
        }
        try rpc.register("broken") { request in
            try? request.sendItem(JSONValue.string("a"))
            try? request.fail(internal: "generator failed", traceback: nil)
        }
        try rpc.register("plain") { _ in JSONValue.string("single") }
        try rpc.start()
        servers.append(rpc)
    }

    func testStreamItemsReachTheCallbackInOrderOneAtATimeThenTheEnd() throws {
        try generators()
        let client = try RPCClient(connection: conn, namespace: "gen")
        let recorder = Recorder()
        try client.callStream("count", params: try JSONValue.parse("[300]"), timeoutMilliseconds: 2_000, onEvent: recorder.record)
        XCTAssertEqual(recorder.waitForEnd(), (0..<300).map(String.init) + ["end"])
        XCTAssertFalse(recorder.overlapped)

        let broken = Recorder()
        try client.callStream("broken", timeoutMilliseconds: 2_000, onEvent: broken.record)
        XCTAssertEqual(broken.waitForEnd(), ["\"a\"", "rpc -32603"])
        let plain = Recorder()
        try client.callStream("plain", timeoutMilliseconds: 2_000, onEvent: plain.record)
        XCTAssertEqual(plain.waitForEnd(), ["\"single\"", "end"])
        let missing = Recorder()
        try client.callStream("nope", timeoutMilliseconds: 2_000, onEvent: missing.record)
        XCTAssertEqual(missing.waitForEnd(), ["rpc -32601"])
        usleep(50_000)
        XCTAssertEqual(missing.events.count, 1, "nothing after the last event")
    }

    func testStreamGoesOnToTheNextNamespaceOfAGroup() throws {
        try generators("right")
        let ring = try RPCClient(connection: conn, namespaces: ["left", "right"])
        let recorder = Recorder()
        try ring.callStream("count", params: try JSONValue.parse("[2]"), timeoutMilliseconds: 2_000, onEvent: recorder.record)
        XCTAssertEqual(recorder.waitForEnd(), ["0", "1", "end"])
    }

    func testTheTimeoutAppliesToEachItemAndEndsASilentStream() throws {
        try generators()
        let client = try RPCClient(connection: conn, namespace: "gen")
        // Six items 100 ms apart: 600 ms in all, each within the 400 ms timeout.
        let slow = Recorder()
        try client.callStream("count", params: try JSONValue.parse("[6, 100000]"), timeoutMilliseconds: 400, onEvent: slow.record)
        XCTAssertEqual(slow.waitForEnd(), ["0", "1", "2", "3", "4", "5", "end"])

        // A method somebody listens on but never answers.
        let silent = try conn.subscribe("rpc.quiet.hang") { _ in }
        defer { try? silent.unsubscribe() }
        try conn.flush(timeoutMilliseconds: 2_000)
        let quiet = Recorder()
        let started = Date()
        try RPCClient(connection: conn, namespace: "quiet").callStream("hang", timeoutMilliseconds: 200, onEvent: quiet.record)
        let events = quiet.waitForEnd()
        XCTAssertEqual(events.count, 1)
        XCTAssertTrue(events.first?.contains("no item of RPC stream \"hang\" within 200 ms") == true, "\(events)")
        XCTAssertLessThan(Date().timeIntervalSince(started), 2)
    }

    func testCancelStopsTheEventsAndWaitsForOneRunning() throws {
        try generators()
        let client = try RPCClient(connection: conn, namespace: "gen")
        let lock = NSCondition()
        var seen = 0
        var inside = false
        var afterCancel = false
        let call = try client.callStream("count", params: try JSONValue.parse("[1000, 1000]"), timeoutMilliseconds: 2_000) { _ in
            lock.lock()
            seen += 1
            inside = true
            lock.broadcast()
            lock.unlock()
            usleep(20_000)
            lock.lock()
            inside = false
            lock.unlock()
        }
        lock.lock()
        while seen < 3 { lock.wait() }
        while !inside { lock.wait() }
        lock.unlock()
        call.cancel()  // a callback is running: cancel returns once it has
        lock.lock()
        afterCancel = inside
        let count = seen
        lock.unlock()
        XCTAssertFalse(afterCancel, "cancel returned while a callback ran")
        usleep(100_000)
        lock.lock()
        XCTAssertEqual(seen, count, "no callback after cancel")
        lock.unlock()
        XCTAssertTrue(call.isFinished)
    }

    func testTheCallersConnectionClosingEndsTheStream() throws {
        try generators()
        let caller = try Connection.connect(url: server.url)
        let recorder = Recorder()
        let items = NSCondition()
        try RPCClient(connection: caller, namespace: "gen").callStream(
            "count", params: try JSONValue.parse("[100, 20000]"), timeoutMilliseconds: 5_000
        ) { event in
            recorder.record(event)
            items.lock()
            items.broadcast()
            items.unlock()
        }
        func nothingYet() -> Bool {
            recorder.lock.lock()
            defer { recorder.lock.unlock() }
            return recorder.events.isEmpty
        }
        items.lock()
        while nothingYet() { items.wait(until: Date().addingTimeInterval(0.05)) }
        items.unlock()
        caller.close()
        let events = recorder.waitForEnd()
        XCTAssertEqual(events.last, "\(NATSError.connectionClosed)")
        XCTAssertLessThan(events.count, 100)
    }

    /// On a dispatch queue whose owner dispatches after the deadline, the answers that came
    /// in time count first (they are handed on as they arrive, not from a callback queued
    /// behind the deadline).
    func testALateOwnerKeepsWhatCameInTime() throws {
        try generators()
        let queue = try DeliveryQueue()
        var options = try Options(url: server.url)
        options.dispatchQueue = queue
        let late = try Connection.connect(options)
        defer { late.close() }
        let recorder = Recorder()
        try RPCClient(connection: late, namespace: "gen").callStream(
            "count", params: try JSONValue.parse("[3]"), timeoutMilliseconds: 200, onEvent: recorder.record)
        let found = Collector<Int>()
        try DiscoveryClient(connection: late).gather(.ping, name: "gen", id: nil, timeoutMilliseconds: 200, maxReplies: 0) { result in
            found.append((try? result.get().count) ?? -1)
        }
        Thread.sleep(forTimeInterval: 0.5)  // everything answered, every deadline passed
        let deadline = Date().addingTimeInterval(3)
        while (found.count == 0 || !recorder.ended) && Date() < deadline {
            _ = try queue.dispatch(maxCallbacks: 64, timeoutMilliseconds: 50)
        }
        XCTAssertEqual(recorder.events, ["0", "1", "2", "end"])
        XCTAssertEqual(found.all, [1])
    }

    func testDescribeAsksEveryNamespaceAtOnce() throws {
        try generators("left")
        try generators("right")
        let ring = try RPCClient(connection: conn, namespaces: ["left", "right"])
        let blocking = try ring.describe(timeoutMilliseconds: 300)
        let done = NSCondition()
        var outcome: Result<[MethodDescription], Error>?
        let started = Date()
        try ring.describe(timeoutMilliseconds: 300) { result in
            done.lock()
            outcome = result
            done.broadcast()
            done.unlock()
        }
        done.lock()
        while outcome == nil { done.wait() }
        done.unlock()
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(try outcome?.get(), blocking)
        XCTAssertEqual(blocking.map(\.method), ["broken", "count", "plain"])
        XCTAssertEqual(blocking.map(\.namespace), ["left", "left", "left"])
        XCTAssertGreaterThanOrEqual(elapsed, 0.29)
        XCTAssertLessThan(elapsed, 0.55, "the namespaces were asked one after the other")
    }

    func testDiscoveryCompletesOnceWithWhatCameOrWithTheClosing() throws {
        try generators("svc")
        try generators("svc")
        let discovery = DiscoveryClient(connection: conn)
        func gather(_ name: String?, timeout: Int64, max: Int = 0, on client: DiscoveryClient? = nil) throws -> (Result<[JSONValue], NATSError>, Double) {
            let done = NSCondition()
            var outcome: Result<[JSONValue], NATSError>?
            var calls = 0
            let started = Date()
            try (client ?? discovery).gather(.ping, name: name, id: nil, timeoutMilliseconds: timeout, maxReplies: max) { result in
                done.lock()
                calls += 1
                outcome = result
                done.broadcast()
                done.unlock()
            }
            done.lock()
            while outcome == nil { done.wait() }
            let elapsed = Date().timeIntervalSince(started)
            done.unlock()
            usleep(50_000)
            done.lock()
            XCTAssertEqual(calls, 1)
            let result = outcome!
            done.unlock()
            return (result, elapsed)
        }
        let (both, waited) = try gather("svc", timeout: 300)
        XCTAssertEqual(try both.get().count, 2)
        XCTAssertGreaterThanOrEqual(waited, 0.29)
        let (first, early) = try gather("svc", timeout: 5_000, max: 1)
        XCTAssertEqual(try first.get().first?.string("type"), "io.nats.micro.v1.ping_response")
        XCTAssertLessThan(early, 2, "max replies reached: no need to wait")
        let (none, noWait) = try gather("nobody", timeout: 5_000)
        XCTAssertEqual(try none.get().count, 0)
        XCTAssertLessThan(noWait, 2, "no responders: no service to wait for")

        let closing = try Connection.connect(url: server.url)
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.2) { closing.close() }
        let (closed, _) = try gather(nil, timeout: 5_000, on: DiscoveryClient(connection: closing))
        XCTAssertThrowsError(try closed.get()) { XCTAssertEqual($0 as? NATSError, .connectionClosed) }
        XCTAssertThrowsError(try discovery.gather(.ping, name: nil, id: "x", timeoutMilliseconds: 100, maxReplies: 0) { _ in
            XCTFail("no completion after a refused call")
        })
    }
}
