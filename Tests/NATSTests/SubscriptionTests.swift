import NATSTestSupport
import XCTest

@testable import NATS

final class SubscriptionTests: ServerTestCase {
    var conn: Connection!
    let errors = Collector<NATSError>()

    override func setUpWithError() throws {
        try super.setUpWithError()
        var options = try Options(url: server.url)
        let errors = self.errors
        options.onError = { _, _, error in errors.append(error) }
        conn = try Connection.connect(options)
    }

    override func tearDown() {
        conn?.close()
        super.tearDown()
    }

    func testWildcards() throws {
        let cases: [(pattern: String, matches: [String], misses: [String])] = [
            ("w.*", ["w.a", "w.b"], ["w.a.b", "w"]),
            ("w.>", ["w.a", "w.a.b"], ["w"]),
            ("*.x", ["a.x"], ["a.y", "a.b.x"]),
        ]
        for item in cases {
            let sub = try conn.subscribeSync(item.pattern)
            try conn.flush(timeoutMilliseconds: 2_000)
            for subject in item.misses + item.matches { try conn.publish(subject) }
            try conn.flush(timeoutMilliseconds: 2_000)
            var got: [String] = []
            for _ in item.matches { got.append(try sub.next(timeoutMilliseconds: 2_000).subject) }
            XCTAssertEqual(got, item.matches, item.pattern)
            XCTAssertThrowsError(try sub.next(timeoutMilliseconds: 100), item.pattern)
            try sub.unsubscribe()
        }
    }

    func testCallbackOrderAndCounts() throws {
        let received = Collector<String>()
        let sub = try conn.subscribe("order") { received.append(String(decoding: $0.payload, as: UTF8.self)) }
        try conn.flush(timeoutMilliseconds: 2_000)
        for index in 0..<1000 { try conn.publish("order", payload: Array(String(index).utf8)) }
        XCTAssertTrue(eventually { received.count == 1000 })
        XCTAssertEqual(received.all, (0..<1000).map(String.init))
        XCTAssertEqual(sub.delivered, 1000)
    }

    func testQueueGroupSplitsExactly() throws {
        let first = Collector<Int>()
        let second = Collector<Int>()
        _ = try conn.subscribe("work", queue: "workers") { _ in first.append(1) }
        _ = try conn.subscribe("work", queue: "workers") { _ in second.append(1) }
        try conn.flush(timeoutMilliseconds: 2_000)
        for _ in 0..<200 { try conn.publish("work") }
        XCTAssertTrue(eventually { first.count + second.count == 200 })
        usleep(100_000)
        XCTAssertEqual(first.count + second.count, 200)
    }

    func testAutoUnsubscribe() throws {
        let sub = try conn.subscribeSync("auto")
        try sub.autoUnsubscribe(after: 3)
        try conn.flush(timeoutMilliseconds: 2_000)
        for _ in 0..<10 { try conn.publish("auto") }
        for _ in 0..<3 { _ = try sub.next(timeoutMilliseconds: 2_000) }
        XCTAssertThrowsError(try sub.next(timeoutMilliseconds: 200)) { XCTAssertEqual($0 as? NATSError, .maxMessagesDelivered) }
        XCTAssertFalse(sub.isValid)
    }

    func testAutoUnsubscribeAsync() throws {
        let received = Collector<Int>()
        let sub = try conn.subscribe("auto.async") { _ in received.append(1) }
        try sub.autoUnsubscribe(after: 5)
        try conn.flush(timeoutMilliseconds: 2_000)
        for _ in 0..<20 { try conn.publish("auto.async") }
        try conn.flush(timeoutMilliseconds: 2_000)
        XCTAssertTrue(eventually { !sub.isValid })
        XCTAssertEqual(received.count, 5)
    }

    func testSlowConsumerDropsAndReports() throws {
        let gate = DispatchSemaphore(value: 0)
        let sub = try conn.subscribe("slow") { _ in gate.wait() }
        try sub.setPendingLimits(messages: 10, bytes: 0)
        try conn.flush(timeoutMilliseconds: 2_000)
        for _ in 0..<100 { try conn.publish("slow") }
        try conn.flush(timeoutMilliseconds: 2_000)
        XCTAssertTrue(eventually { sub.dropped > 0 })
        XCTAssertTrue(eventually { self.errors.all.contains(.slowConsumer(subject: "slow")) })
        for _ in 0..<100 { gate.signal() }
        XCTAssertTrue(eventually { sub.delivered + sub.dropped == 100 })
    }

    func testUnsubscribeStopsDelivery() throws {
        let sub = try conn.subscribeSync("stop")
        try sub.unsubscribe()
        XCTAssertThrowsError(try sub.unsubscribe()) {
            guard case .invalidSubscription = $0 as? NATSError else { return XCTFail("got \($0)") }
        }
        XCTAssertThrowsError(try sub.next(timeoutMilliseconds: 100))
    }

    func testAZeroTimeoutPolls() throws {
        let sub = try conn.subscribeSync("poll")
        let started = Date()
        for _ in 0..<100 {
            XCTAssertThrowsError(try sub.next(timeoutMilliseconds: 0)) {
                guard case .timeout = $0 as? NATSError else { return XCTFail("got \($0)") }
            }
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 0.5, "a poll does not wait")
        try conn.publish("poll", payload: Array("x".utf8))
        try conn.flush(timeoutMilliseconds: 5_000)
        XCTAssertTrue(eventually { sub.pendingCount.messages == 1 })
        XCTAssertEqual(try sub.next(timeoutMilliseconds: 0).payload, Array("x".utf8))
        XCTAssertThrowsError(try sub.next(timeoutMilliseconds: -1)) {
            guard case .invalidArgument = $0 as? NATSError else { return XCTFail("got \($0)") }
        }
    }

    func testSubscriptionDrainDeliversQueued() throws {
        let received = Collector<Int>()
        let sub = try conn.subscribe("drain.sub") { _ in
            usleep(1_000)
            received.append(1)
        }
        try conn.flush(timeoutMilliseconds: 2_000)
        for _ in 0..<50 { try conn.publish("drain.sub") }
        try conn.drain(sub, timeoutMilliseconds: 5_000)
        XCTAssertEqual(received.count, 50)
        XCTAssertFalse(sub.isValid)
    }

    func testConnectionDrain() throws {
        let received = Collector<Int>()
        _ = try conn.subscribe("drain.conn") { _ in received.append(1) }
        try conn.flush(timeoutMilliseconds: 2_000)
        for _ in 0..<100 { try conn.publish("drain.conn") }
        try conn.drain(timeoutMilliseconds: 5_000)
        XCTAssertEqual(received.count, 100)
        XCTAssertTrue(conn.isClosed)
    }

    /// Sizes from 0 to 512 KiB, with and without headers, so ops straddle socket reads at
    /// every kind of point (inside the control line, the headers, the payload, the CRLF).
    func testMixedSizesSurviveReadBoundaries() throws {
        let sub = try conn.subscribeSync("sizes")
        try sub.setPendingLimits(messages: 0, bytes: 0)
        try conn.flush(timeoutMilliseconds: 2_000)
        var sizes: [Int] = []
        var generator = SystemRandomNumberGenerator()
        for index in 0..<400 {
            sizes.append(index % 50 == 0 ? Int.random(in: 100_000...524_288, using: &generator) : Int.random(in: 0...3000, using: &generator))
        }
        var headers = Headers()
        try headers.set("Index", "x")
        for (index, size) in sizes.enumerated() {
            let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &+ index) }
            try conn.publish("sizes", payload: payload, headers: index % 3 == 0 ? headers : nil)
        }
        for (index, size) in sizes.enumerated() {
            let message = try sub.next(timeoutMilliseconds: 5_000)
            XCTAssertEqual(message.payloadCount, size, "message \(index)")
            XCTAssertEqual(message.payload, (0..<size).map { UInt8(truncatingIfNeeded: $0 &+ index) }, "message \(index)")
            XCTAssertEqual(message.headers?["Index"], index % 3 == 0 ? "x" : nil, "message \(index)")
        }
    }

    func testHeadersRoundTrip() throws {
        let sub = try conn.subscribeSync("hdr")
        var headers = Headers()
        try headers.add("X-Multi", "a")
        try headers.add("X-Multi", "b")
        try headers.set("Single", "v")
        try conn.publish("hdr", payload: Array("body".utf8), headers: headers)
        let message = try sub.next(timeoutMilliseconds: 2_000)
        XCTAssertEqual(message.headers?.values(for: "X-Multi"), ["a", "b"])
        XCTAssertEqual(message.headers?["Single"], "v")
        XCTAssertEqual(message.payload, Array("body".utf8))
    }
}

/// Callbacks may call anything: blocking calls, and ending their own subscription or connection.
final class CallbackReentrancyTests: ServerTestCase {
    func testCallbackUnsubscribesItself() throws {
        let conn = try Connection.connect(url: server.url)
        defer { conn.close() }
        let received = Collector<Int>()
        var subscription: Subscription?
        let lock = NSLock()
        subscription = try conn.subscribe("self.unsub") { _ in
            received.append(1)
            lock.lock()
            let sub = subscription
            lock.unlock()
            try? sub?.unsubscribe()
        }
        try conn.flush(timeoutMilliseconds: 2_000)
        for _ in 0..<10 { try conn.publish("self.unsub") }
        try conn.flush(timeoutMilliseconds: 2_000)
        XCTAssertTrue(eventually { !(subscription?.isValid ?? true) })
        usleep(100_000)
        XCTAssertEqual(received.count, 1)
    }

    func testCallbackMakesRequest() throws {
        let conn = try Connection.connect(url: server.url)
        defer { conn.close() }
        _ = try conn.subscribe("service") { try? conn.respond(to: $0, payload: Array("pong".utf8)) }
        let replies = Collector<String>()
        _ = try conn.subscribe("trigger") { _ in
            if let reply = try? conn.request("service", timeoutMilliseconds: 2_000) {
                replies.append(String(decoding: reply.payload, as: UTF8.self))
            }
        }
        try conn.flush(timeoutMilliseconds: 2_000)
        try conn.publish("trigger")
        XCTAssertTrue(eventually { replies.count == 1 })
        XCTAssertEqual(replies.all, ["pong"])
    }

    func testCallbackClosesConnection() throws {
        let closed = Collector<Int>()
        var options = try Options(url: server.url)
        options.onClosed = { _ in closed.append(1) }
        let conn = try Connection.connect(options)
        _ = try conn.subscribe("close.me") { _ in conn.close() }
        try conn.flush(timeoutMilliseconds: 2_000)
        try conn.publish("close.me")
        XCTAssertTrue(eventually { conn.isClosed && closed.count == 1 })
        conn.close()
    }
}
