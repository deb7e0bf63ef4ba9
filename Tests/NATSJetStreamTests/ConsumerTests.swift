import Foundation
import NATS
@testable import NATSJetStream
import NATSTestSupport
import XCTest

final class ConsumerTests: JetStreamTestCase {
    func testConsumerLifecycle() throws {
        try addStream("C", subjects: ["c.>"])
        let info = try js.addConsumer(stream: "C", try json(#"{"durable_name":"worker","ack_policy":"explicit","filter_subject":"c.a"}"#))
        XCTAssertEqual(info.string("name"), "worker")
        XCTAssertEqual(info.value("config")?.string("filter_subject"), "c.a")
        let updated = try js.updateConsumer(stream: "C", try json(#"{"durable_name":"worker","ack_policy":"explicit","filter_subject":"c.a","max_deliver":3}"#))
        XCTAssertEqual(updated.value("config")?.int("max_deliver"), 3)
        let ephemeral = try js.addConsumer(stream: "C", try json(#"{"ack_policy":"none"}"#))
        XCTAssertNotNil(ephemeral.string("name"))
        XCTAssertEqual(Set(try js.consumerNames(stream: "C")), ["worker", ephemeral.string("name")!])
        XCTAssertEqual(try js.consumers(stream: "C").count, 2)
        XCTAssertEqual(try js.consumerInfo(stream: "C", consumer: "worker").value("config")?.int("max_deliver"), 3)
        try js.deleteConsumer(stream: "C", consumer: "worker")
        XCTAssertEqual(apiError { _ = try js.consumerInfo(stream: "C", consumer: "worker") }?.errorCode,
                       JetStreamError.ErrorCode.consumerNotFound)
        XCTAssertThrowsError(try js.addConsumer(stream: "C", try json(#"{"name":"a","durable_name":"b"}"#)))
        XCTAssertThrowsError(try js.addConsumer(stream: "C", try json(#"{"name":"a.b"}"#)))
    }

    func testFetchAckAndMetadata() throws {
        try addStream("W", subjects: ["w.*"], ["retention": "workqueue"])
        try js.addConsumer(stream: "W", try json(#"{"durable_name":"w","ack_policy":"explicit"}"#))
        for index in 1...5 { _ = try js.publish("w.job", payload: Array("job\(index)".utf8)) }
        let result = try js.fetch(stream: "W", consumer: "w", FetchRequest(batch: 3, expiresMilliseconds: 2_000))
        XCTAssertNil(result.error)
        XCTAssertEqual(result.messages.map { String(decoding: $0.payload, as: UTF8.self) }, ["job1", "job2", "job3"])
        let meta = try XCTUnwrap(result.messages[0].jetStreamMetadata)
        XCTAssertEqual(meta.stream, "W")
        XCTAssertEqual(meta.consumer, "w")
        XCTAssertEqual(meta.streamSequence, 1)
        XCTAssertEqual(meta.consumerSequence, 1)
        XCTAssertEqual(meta.delivered, 1)
        XCTAssertEqual(meta.pending, 4)
        XCTAssertGreaterThan(meta.timestampNanoseconds, 1_600_000_000_000_000_000)
        try result.messages[0].acknowledge(.ack)
        XCTAssertThrowsError(try result.messages[0].acknowledge(.ack))
        try result.messages[1].acknowledgeSync(timeoutMilliseconds: 2_000)
        try result.messages[2].acknowledge(.term(reason: "bad job"))
        // The rest, then an empty pull that times out.
        let rest = try js.fetch(stream: "W", consumer: "w", FetchRequest(batch: 10, expiresMilliseconds: 500))
        XCTAssertEqual(rest.messages.count, 2)
        for message in rest.messages { try message.acknowledgeSync(timeoutMilliseconds: 2_000) }
        let empty = try js.fetch(stream: "W", consumer: "w", FetchRequest(batch: 1, expiresMilliseconds: 300))
        XCTAssertTrue(empty.messages.isEmpty)
        guard case NATSError.timeout? = empty.error else { return XCTFail("\(String(describing: empty.error))") }
        let noWait = try js.fetch(stream: "W", consumer: "w", FetchRequest(batch: 1, noWait: true))
        guard case NATSError.timeout? = noWait.error else { return XCTFail("\(String(describing: noWait.error))") }
        XCTAssertEqual(try js.consumerInfo(stream: "W", consumer: "w").int("num_ack_pending"), 0)
    }

    func testNakRedeliversAndInProgressIsNotFinal() throws {
        try addStream("N", subjects: ["n"])
        try js.addConsumer(stream: "N", try json(#"{"durable_name":"n","ack_policy":"explicit"}"#))
        _ = try js.publish("n", payload: Array("x".utf8))
        let first = try js.fetch(stream: "N", consumer: "n", FetchRequest(batch: 1, expiresMilliseconds: 1_000)).messages
        XCTAssertEqual(first.count, 1)
        try first[0].acknowledge(.inProgress)
        try first[0].acknowledge(.inProgress)
        try first[0].acknowledge(.nak(delayNanoseconds: nil))
        let again = try js.fetch(stream: "N", consumer: "n", FetchRequest(batch: 1, expiresMilliseconds: 1_000)).messages
        XCTAssertEqual(again.first?.jetStreamMetadata?.delivered, 2)
        try again[0].acknowledge(.nak(delayNanoseconds: 300_000_000))
        let start = Date()
        let third = try js.fetch(stream: "N", consumer: "n", FetchRequest(batch: 1, expiresMilliseconds: 3_000)).messages
        XCTAssertEqual(third.first?.jetStreamMetadata?.delivered, 3)
        XCTAssertGreaterThan(Date().timeIntervalSince(start), 0.2)
    }

    func testFetchMaxBytesAndHeartbeats() throws {
        try addStream("B", subjects: ["b"])
        try js.addConsumer(stream: "B", try json(#"{"durable_name":"b","ack_policy":"none"}"#))
        for _ in 0..<10 { _ = try js.publish("b", payload: [UInt8](repeating: 7, count: 100)) }
        let limited = try js.fetch(stream: "B", consumer: "b", FetchRequest(batch: 10, maxBytes: 350, expiresMilliseconds: 1_000))
        XCTAssertGreaterThanOrEqual(limited.messages.count, 1)
        XCTAssertLessThan(limited.messages.count, 10)
        XCTAssertNil(limited.error)
        // Heartbeats keep an idle pull alive until it expires.
        let drained = try js.fetch(stream: "B", consumer: "b", FetchRequest(batch: 100, expiresMilliseconds: 1_500, heartbeatMilliseconds: 200))
        XCTAssertEqual(limited.messages.count + drained.messages.count, 10)
        XCTAssertNil(drained.error)
    }

    func testFetchEndsOnMissedHeartbeatsWhenTheServerDies() throws {
        try addStream("H", subjects: ["h"])
        try js.addConsumer(stream: "H", try json(#"{"durable_name":"h","ack_policy":"explicit"}"#))
        let ended = expectation(description: "ended")
        let start = Date()
        try js.fetch(stream: "H", consumer: "h", FetchRequest(batch: 1, expiresMilliseconds: 20_000, heartbeatMilliseconds: 250)) { result in
            if case JetStreamError.missedHeartbeat? = result.error {} else { XCTFail("\(String(describing: result.error))") }
            ended.fulfill()
        }
        usleep(600_000)
        // Killed, not stopped: a server that shuts down says so (409 Server Shutdown).
        kill(server.process.processIdentifier, SIGKILL)
        wait(for: [ended], timeout: 5)
        XCTAssertLessThan(Date().timeIntervalSince(start), 3)
    }

    func testDurationsThatWouldOverflowAreRefused() throws {
        XCTAssertThrowsError(try js.fetch(stream: "X", consumer: "y", FetchRequest(expiresMilliseconds: .max)))
        XCTAssertThrowsError(try ConsumeOptions(expiresMilliseconds: .max).validate())
        XCTAssertThrowsError(try ConsumeOptions(expiresMilliseconds: 10_000, heartbeatMilliseconds: .max).validate())
    }

    func testProgressAfterAFinalAckIsRefused() throws {
        try addStream("IP", subjects: ["ip"])
        try js.addConsumer(stream: "IP", try json(#"{"durable_name":"ip","ack_policy":"explicit"}"#))
        _ = try js.publish("ip")
        let message = try XCTUnwrap(js.fetch(stream: "IP", consumer: "ip", FetchRequest(batch: 1, expiresMilliseconds: 1_000)).messages.first)
        try message.acknowledge(.inProgress)
        try message.acknowledge(.ack)
        XCTAssertThrowsError(try message.acknowledge(.inProgress))
    }

    func testPullStateMachine() throws {
        var state = PullState(batch: 2, maxBytes: 0)
        func status(_ code: Int, _ text: String) -> Message {
            Message(subject: "inbox", headerBlock: Array("NATS/1.0 \(code) \(text)\r\n\r\n".utf8), payload: [], connection: nil)
        }
        let plain = Message(subject: "w", payload: [1], connection: nil)
        XCTAssertEqual(state.handle(status(100, "Idle Heartbeat")), .keepWaiting)
        XCTAssertEqual(state.handle(plain), .deliver(last: false))
        XCTAssertEqual(state.handle(plain), .deliver(last: true))
        XCTAssertEqual(state.handle(status(408, "Request Timeout")), .end(nil))
        XCTAssertEqual(state.handle(status(404, "No Messages")), .end(nil))
        XCTAssertEqual(state.handle(status(409, "Message Size Exceeds MaxBytes")), .end(nil))
        XCTAssertEqual(state.handle(status(409, "Consumer Deleted")), .end(.pullTerminated(status: 409, description: "Consumer Deleted")))
        XCTAssertEqual(state.handle(status(409, "Exceeded MaxWaiting")), .end(.pullTerminated(status: 409, description: "Exceeded MaxWaiting")))
    }

    func testMetadataParsing() {
        let v1 = MessageMetadata(reply: "$JS.ACK.ORDERS.worker.2.15.7.1700000000000000000.3")
        XCTAssertEqual(v1?.stream, "ORDERS")
        XCTAssertEqual(v1?.delivered, 2)
        XCTAssertEqual(v1?.streamSequence, 15)
        XCTAssertEqual(v1?.consumerSequence, 7)
        XCTAssertEqual(v1?.pending, 3)
        XCTAssertNil(v1?.domain)
        let v2 = MessageMetadata(reply: "$JS.ACK.hub.ACCHASH.ORDERS.worker.1.9.9.1700000000000000000.0.rand")
        XCTAssertEqual(v2?.domain, "hub")
        XCTAssertEqual(v2?.stream, "ORDERS")
        XCTAssertEqual(MessageMetadata(reply: "$JS.ACK._.ACCHASH.S.c.1.1.1.1.0.r")?.domain, nil)
        XCTAssertNil(MessageMetadata(reply: "_INBOX.x"))
        XCTAssertNil(MessageMetadata(reply: "$JS.ACK.S.c.x.1.1.1.0"))
        XCTAssertNil(MessageMetadata(reply: "$JS.ACK.a.b.1.1.1.1.1.1"))
    }

    func testAckOfAPlainMessageIsRefused() throws {
        let plain = Message(subject: "x", reply: "_INBOX.y", payload: [], connection: conn)
        XCTAssertThrowsError(try plain.acknowledge(.ack)) { XCTAssertEqual($0 as? JetStreamError, .ackRefused("not a message of a JetStream consumer")) }
    }
}
