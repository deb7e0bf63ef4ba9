import NATSTestSupport
import XCTest

@testable import NATS

/// `Subscription.next(maxMessages:maxBytes:size:timeoutMilliseconds:)`: the batch take that
/// bindings use instead of one callback per message.
final class BatchTakeTests: ServerTestCase {
    func testBatchLimitsAndOversizeFirstMessage() throws {
        let conn = try Connection.connect(url: server.url)
        defer { conn.close() }
        let sub = try conn.subscribeSync("batch.>")
        for index in 0..<5 { try conn.publish("batch.\(index)", payload: [UInt8](repeating: 1, count: 10)) }
        try conn.flush(timeoutMilliseconds: 2_000)
        XCTAssertTrue(eventually { sub.pendingCount.messages == 5 })
        let size: (Message) -> Int = { $0.payloadCount }
        XCTAssertEqual(try sub.next(maxMessages: 2, maxBytes: 1_000, size: size, timeoutMilliseconds: 1_000).map(\.subject), ["batch.0", "batch.1"])
        XCTAssertEqual(try sub.next(maxMessages: 10, maxBytes: 25, size: size, timeoutMilliseconds: 1_000).map(\.subject), ["batch.2", "batch.3"])
        XCTAssertThrowsError(try sub.next(maxMessages: 10, maxBytes: 9, size: size, timeoutMilliseconds: 1_000)) { error in
            XCTAssertEqual((error as? Subscription.MessageTooLarge)?.size, 10)
        }
        XCTAssertEqual(sub.pendingCount.messages, 1, "the oversize message stays queued")
        XCTAssertEqual(try sub.next(maxMessages: 10, maxBytes: 10, size: size, timeoutMilliseconds: 1_000).count, 1)
        XCTAssertEqual(sub.delivered, 5)
    }

    func testDrainWaitsForTheBatchHolderNextCall() throws {
        let conn = try Connection.connect(url: server.url)
        defer { conn.close() }
        let sub = try conn.subscribeSync("held")
        try conn.publish("held", payload: [1])
        try conn.flush(timeoutMilliseconds: 2_000)
        XCTAssertEqual(try sub.next(maxMessages: 10, maxBytes: 100, size: { _ in 1 }, timeoutMilliseconds: 1_000).count, 1)
        // The batch is being handled: a drain from another thread waits for the next call.
        let drained = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? conn.drain(sub, timeoutMilliseconds: 5_000)
            drained.signal()
        }
        XCTAssertEqual(drained.wait(timeout: .now() + 0.3), .timedOut, "drain must wait for the batch")
        XCTAssertThrowsError(try sub.next(maxMessages: 10, maxBytes: 100, size: { _ in 1 }, timeoutMilliseconds: 1_000)) { error in
            XCTAssertEqual(error as? NATSError, .invalidSubscription("subscription is closed"))
        }
        XCTAssertEqual(drained.wait(timeout: .now() + 5), .success)
    }

    /// A batch being handled still counts against the pending limits: a binding that takes
    /// whole batches is bounded like a callback, and one episode is reported once.
    func testBatchBeingHandledCountsAsPending() throws {
        let errors = Collector<NATSError>()
        var options = try Options(url: server.url)
        options.pendingMessagesLimit = 5
        options.onError = { _, _, error in errors.append(error) }
        let conn = try Connection.connect(options)
        defer { conn.close() }
        let sub = try conn.subscribeSync("limited")
        for value in 0..<5 { try conn.publish("limited", payload: [UInt8(value)]) }
        try conn.flush(timeoutMilliseconds: 2_000)
        XCTAssertTrue(eventually { sub.pendingCount.messages == 5 })
        let size: (Message) -> Int = { $0.payloadCount }
        XCTAssertEqual(try sub.next(maxMessages: 100, maxBytes: 1_000, size: size, timeoutMilliseconds: 1_000).count, 5)
        for value in 5..<10 { try conn.publish("limited", payload: [UInt8(value)]) }
        try conn.flush(timeoutMilliseconds: 2_000)
        XCTAssertTrue(eventually { sub.dropped == 5 }, "the held batch fills the limit")
        XCTAssertTrue(eventually { errors.count == 1 })
        // The next call ends the batch: room again.
        XCTAssertThrowsError(try sub.next(maxMessages: 100, maxBytes: 1_000, size: size, timeoutMilliseconds: 50))
        try conn.publish("limited", payload: [10])
        XCTAssertEqual(try sub.next(maxMessages: 100, maxBytes: 1_000, size: size, timeoutMilliseconds: 1_000).map(\.payload), [[10]])
        XCTAssertEqual(errors.count, 1, "one episode, one report")
    }
}
