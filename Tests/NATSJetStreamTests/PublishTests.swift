import Foundation
import NATS
import NATSJetStream
import NATSTestSupport
import XCTest

final class PublishTests: JetStreamTestCase {
    func testPublishAcksAndDeduplicates() throws {
        try addStream("EV", subjects: ["ev.>"])
        let first = try js.publish("ev.a", payload: Array("one".utf8), options: PublishOptions(messageID: "m1"))
        XCTAssertEqual(first, PubAck(stream: "EV", sequence: 1, duplicate: false, domain: nil))
        let again = try js.publish("ev.a", payload: Array("one".utf8), options: PublishOptions(messageID: "m1"))
        XCTAssertEqual(again.sequence, 1)
        XCTAssertTrue(again.duplicate)
        XCTAssertEqual(try js.publish("ev.b").sequence, 2)
    }

    func testExpectationsFailWithTheirOwnCodes() throws {
        try addStream("EX", subjects: ["ex.>"])
        _ = try js.publish("ex.a", options: PublishOptions(messageID: "id-1"))
        let stream = apiError { _ = try js.publish("ex.a", options: PublishOptions(expectedStream: "OTHER")) }
        XCTAssertEqual(stream?.errorCode, JetStreamError.ErrorCode.streamNotMatch)
        let last = apiError { _ = try js.publish("ex.a", options: PublishOptions(expectedLastSequence: 7)) }
        XCTAssertEqual(last?.errorCode, JetStreamError.ErrorCode.streamWrongLastSequence)
        let subject = apiError { _ = try js.publish("ex.b", options: PublishOptions(expectedLastSubjectSequence: 1)) }
        XCTAssertEqual(subject?.errorCode, JetStreamError.ErrorCode.streamWrongLastSequence)
        let id = apiError { _ = try js.publish("ex.a", options: PublishOptions(expectedLastMessageID: "id-0")) }
        XCTAssertEqual(id?.errorCode, JetStreamError.ErrorCode.streamWrongLastMessageID)
        XCTAssertEqual(try js.publish("ex.a", options: PublishOptions(expectedStream: "EX", expectedLastSequence: 1,
                                                                       expectedLastMessageID: "id-1")).sequence, 2)
        XCTAssertEqual(try js.publish("ex.b", options: PublishOptions(expectedLastSubjectSequence: 0)).sequence, 3)
    }

    func testPublishWithoutStream() throws {
        let start = Date()
        XCTAssertThrowsError(try js.publish("nowhere")) { error in
            XCTAssertEqual(error as? JetStreamError, .noStreamResponse(subject: "nowhere"))
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.5)
    }

    func testAsyncPublishWindowAndCompletions() throws {
        try addStream("AP", subjects: ["ap"])
        let context = try JetStream(connection: conn, timeoutMilliseconds: 5_000, maxPendingPublishes: 16)
        let acks = Collector<Result<PubAck, Error>>()
        for index in 0..<1_000 {
            try context.publisher.publish("ap", payload: Array("\(index)".utf8)) { acks.append($0) }
            XCTAssertLessThanOrEqual(context.publisher.pending, 16)
        }
        try context.publisher.waitComplete(timeoutMilliseconds: 10_000)
        XCTAssertEqual(acks.count, 1_000)
        let sequences = acks.all.compactMap { try? $0.get().sequence }
        XCTAssertEqual(sequences, Array(1...1_000))
        XCTAssertEqual(context.publisher.pending, 0)
    }

    func testAsyncPublishFailuresArePerMessage() throws {
        try addStream("AF", subjects: ["af"])
        let outcomes = Collector<Result<PubAck, Error>>()
        try js.publisher.publish("af", options: PublishOptions(expectedLastSequence: 5)) { outcomes.append($0) }
        try js.publisher.publish("no.stream.here") { outcomes.append($0) }
        try js.publisher.publish("af") { outcomes.append($0) }
        try js.publisher.waitComplete(timeoutMilliseconds: 5_000)
        XCTAssertEqual(outcomes.count, 3)
        let errors = outcomes.all.compactMap { result -> JetStreamError? in
            if case .failure(let error as JetStreamError) = result { return error }
            return nil
        }
        XCTAssertTrue(errors.contains { $0.errorCode == JetStreamError.ErrorCode.streamWrongLastSequence })
        XCTAssertTrue(errors.contains(.noStreamResponse(subject: "no.stream.here")))
        XCTAssertEqual(outcomes.all.compactMap { try? $0.get().sequence }, [1])
    }

    func testAsyncPublishTimesOutWhenNoAckComes() throws {
        // A plain subscriber takes the publishes and never answers.
        let silent = try conn.subscribe("silent") { _ in }
        defer { try? silent.unsubscribe() }
        try conn.flush(timeoutMilliseconds: 2_000)
        let context = try JetStream(connection: conn, timeoutMilliseconds: 300, maxPendingPublishes: 2)
        let outcomes = Collector<Result<PubAck, Error>>()
        let start = Date()
        for _ in 0..<4 { try context.publisher.publish("silent") { outcomes.append($0) } }  // the window frees as they expire
        try context.publisher.waitComplete(timeoutMilliseconds: 5_000)
        XCTAssertEqual(outcomes.count, 4)
        for outcome in outcomes.all {
            guard case .failure(NATSError.timeout) = outcome else { return XCTFail("\(outcome)") }
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
        XCTAssertEqual(context.publisher.pending, 0)
    }

    /// The first publish arms the deadline sweep; when it is refused (here, a bad subject), the
    /// sweep must still run, or no later publish's ack ever times out.
    func testAPublishRefusedFirstStillLeavesTimeoutsRunning() throws {
        let silent = try conn.subscribe("silent.first") { _ in }
        defer { try? silent.unsubscribe() }
        try conn.flush(timeoutMilliseconds: 2_000)
        let context = try JetStream(connection: conn, timeoutMilliseconds: 300)
        XCTAssertThrowsError(try context.publisher.publish("bad..subject") { _ in XCTFail("a refused publish completed") })
        let outcome = expectation(description: "timed out")
        try context.publisher.publish("silent.first") { result in
            guard case .failure(NATSError.timeout) = result else { return XCTFail("\(result)") }
            outcome.fulfill()
        }
        wait(for: [outcome], timeout: 5)
        try context.publisher.waitComplete(timeoutMilliseconds: 1_000)
    }

    func testTaggedOutcomesComeInBatchesInOrderWithUntaggedOnes() throws {
        try addStream("TAG", subjects: ["tag.>"])
        let order = Collector<String>()
        let batches = Collector<Int>()
        let context = try JetStream(connection: conn)
        XCTAssertThrowsError(try context.publisher.publish("tag.a", tag: 1)) { error in
            XCTAssertEqual(error as? NATSError, .illegalState("tagged publishes need a batch completion first"))
        }
        context.publisher.setBatchCompletion { outcomes in
            batches.append(outcomes.count)
            for item in outcomes {
                guard case .success(let ack) = item.outcome else { return XCTFail("\(item.outcome)") }
                order.append("t\(item.tag)@\(ack.sequence)")
            }
        }
        var expected: [String] = []
        for index in 0..<300 {
            if index % 100 == 0 {
                try context.publisher.publish("tag.plain") { result in
                    guard case .success(let ack) = result else { return XCTFail("\(result)") }
                    order.append("u@\(ack.sequence)")
                }
                expected.append("u@\(expected.count + 1)")
            }
            try context.publisher.publish("tag.a", payload: [UInt8(index % 256)], tag: UInt64(index))
            expected.append("t\(index)@\(expected.count + 1)")
        }
        try context.publisher.waitComplete(timeoutMilliseconds: 10_000)
        XCTAssertEqual(order.all, expected)
        XCTAssertGreaterThan(batches.all.max() ?? 0, 1, "acks read together come in one call")
    }

    func testWaitCompleteFromACompletionIsRefused() throws {
        try addStream("WC", subjects: ["wc"])
        let refused = expectation(description: "refused")
        try js.publisher.publish("wc") { [js] _ in
            do {
                try js!.publisher.waitComplete(timeoutMilliseconds: 1_000)
                XCTFail("waitComplete from a completion returned")
            } catch {
                XCTAssertEqual(error as? NATSError, .illegalState("waiting for the publishes' completions from one of them"))
            }
            refused.fulfill()
        }
        wait(for: [refused], timeout: 5)
    }
}
