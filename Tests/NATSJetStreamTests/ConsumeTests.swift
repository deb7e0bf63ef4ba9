import Foundation
import NATS
import NATSJetStream
import NATSTestSupport
import XCTest

final class ConsumeTests: JetStreamTestCase {
    func testConsumeRefillsPullsAndDeliversEverything() throws {
        try addStream("CON", subjects: ["con"])
        try js.addConsumer(stream: "CON", try json(#"{"durable_name":"c","ack_policy":"explicit"}"#))
        for index in 0..<1_000 { try js.publisher.publish("con", payload: Array("\(index)".utf8)) { _ in } }
        try js.publisher.waitComplete(timeoutMilliseconds: 10_000)
        let got = Collector<String>()
        let consumer = try MessageConsumer.start(
            jetStream: js, stream: "CON", consumer: "c", options: ConsumeOptions(maxMessages: 50, expiresMilliseconds: 2_000)
        ) { inbox, filter in
            try self.conn.subscribe(inbox, filter: filter) { message in
                got.append(String(decoding: message.payload, as: UTF8.self))
                try? message.acknowledge(.ack)
            }
        }
        XCTAssertTrue(eventually(10) { got.count == 1_000 }, "\(got.count)")
        XCTAssertEqual(got.all, (0..<1_000).map(String.init))
        // Later publishes keep coming: the pulls stay open.
        _ = try js.publish("con", payload: Array("late".utf8))
        XCTAssertTrue(eventually(5) { got.count == 1_001 })
        XCTAssertTrue(eventually(5) { (try? self.js.consumerInfo(stream: "CON", consumer: "c").int("num_ack_pending")) == 0 })
        consumer.stop()
        XCTAssertFalse(consumer.subscription?.isValid ?? false)
    }

    func testConsumeSynchronously() throws {
        try addStream("SY", subjects: ["sy"])
        try js.addConsumer(stream: "SY", try json(#"{"durable_name":"s","ack_policy":"none"}"#))
        let consumer = try MessageConsumer.start(jetStream: js, stream: "SY", consumer: "s") { inbox, filter in
            try self.conn.subscribeSync(inbox, filter: filter)
        }
        defer { consumer.stop() }
        for index in 0..<5 { _ = try js.publish("sy", payload: [UInt8(index)]) }
        let subscription = try XCTUnwrap(consumer.subscription)
        for index in 0..<5 { XCTAssertEqual(try subscription.next(timeoutMilliseconds: 2_000).payload, [UInt8(index)]) }
        // Heartbeats and ended pulls never reach the application.
        XCTAssertThrowsError(try subscription.next(timeoutMilliseconds: 1_500))
    }

    func testConsumeOfAMissingConsumerFailsAtOnce() throws {
        try addStream("MI", subjects: ["mi"])
        XCTAssertThrowsError(try MessageConsumer.start(jetStream: js, stream: "MI", consumer: "nope") { inbox, filter in
            try self.conn.subscribeSync(inbox, filter: filter)
        }) { XCTAssertEqual(($0 as? JetStreamError)?.errorCode, JetStreamError.ErrorCode.consumerNotFound) }
    }

    func testDeletingTheConsumerEndsTheConsumeAndSaysWhy() throws {
        let errors = Collector<NATSError>()
        var options = try Options(url: server.url)
        options.onError = { _, _, error in errors.append(error) }
        let watched = try Connection.connect(options)
        defer { watched.close() }
        let context = try JetStream(connection: watched)
        try addStream("DE", subjects: ["de"])
        try js.addConsumer(stream: "DE", try json(#"{"durable_name":"d","ack_policy":"none"}"#))
        // 2.9 servers do not tell open pulls that their consumer went: the heartbeats stop,
        // and the next pull finds nobody.
        let consumer = try MessageConsumer.start(
            jetStream: context, stream: "DE", consumer: "d", options: ConsumeOptions(expiresMilliseconds: 2_000)
        ) { inbox, filter in
            try watched.subscribe(inbox, filter: filter) { _ in }
        }
        try js.deleteConsumer(stream: "DE", consumer: "d")
        XCTAssertTrue(eventually(8) { consumer.subscription == nil })
        XCTAssertTrue(errors.all.contains { if case .invalidSubscription = $0 { return true } else { return false } }, "\(errors.all)")
        // Said once, without a storm of pulls and reports.
        XCTAssertLessThanOrEqual(errors.count, 2, "\(errors.all)")
    }

    func testOrderedConsumerDeliversInOrderWithFilters() throws {
        try addStream("OR", subjects: ["or.*"])
        for index in 0..<200 { _ = try js.publish(index % 2 == 0 ? "or.even" : "or.odd", payload: Array("\(index)".utf8)) }
        let got = Collector<String>()
        let consumer = try MessageConsumer.start(
            jetStream: js, stream: "OR", consumer: nil, ordered: try json(#"{"filter_subject":"or.even"}"#),
            options: ConsumeOptions(maxMessages: 16, expiresMilliseconds: 2_000)
        ) { inbox, filter in
            try self.conn.subscribe(inbox, filter: filter) { got.append(String(decoding: $0.payload, as: UTF8.self)) }
        }
        XCTAssertTrue(eventually(5) { got.count == 100 })
        XCTAssertEqual(got.all, stride(from: 0, to: 200, by: 2).map(String.init))
        let name = consumer.consumerName
        XCTAssertTrue(name.hasPrefix("ordered_"))
        consumer.stop()
        XCTAssertTrue(eventually(5) { (try? self.js.consumerNames(stream: "OR"))?.contains(name) == false })
    }

    func testOrderedConsumerSkipsNothingWhenItsSubscriptionDrops() throws {
        try addStream("OD", subjects: ["od"])
        for index in 0..<400 { try js.publisher.publish("od", payload: Array("\(index)".utf8)) { _ in } }
        try js.publisher.waitComplete(timeoutMilliseconds: 10_000)
        let got = Collector<String>()
        let consumer = try MessageConsumer.start(
            jetStream: js, stream: "OD", consumer: nil, options: ConsumeOptions(maxMessages: 200, expiresMilliseconds: 2_000)
        ) { inbox, filter in
            let subscription = try self.conn.subscribe(inbox, filter: filter) { message in
                got.append(String(decoding: message.payload, as: UTF8.self))
                usleep(1_000)
            }
            try subscription.setPendingLimits(messages: 20, bytes: 0)  // drops while the handler is slow
            return subscription
        }
        defer { consumer.stop() }
        XCTAssertTrue(eventually(20) { got.count >= 400 }, "\(got.count)")
        XCTAssertEqual(got.all, (0..<400).map(String.init))
        XCTAssertGreaterThan(consumer.subscription?.dropped ?? 0, 0, "the limits never dropped: the test tested nothing")
    }

    /// A status for the pulls of an ordered consumer already replaced (a late 409 of the one
    /// just deleted) must not restart the new one: each incarnation pulls with a reply subject
    /// of its own.
    func testAnOrderedConsumerIgnoresStatusesMeantForTheOneItReplaced() throws {
        try addStream("OLATE", subjects: ["olate"])
        for index in 0..<5 { _ = try js.publish("olate", payload: [UInt8(index)]) }
        let pulls = Collector<(consumer: String, reply: String)>()
        let spy = try conn.subscribe("$JS.API.CONSUMER.MSG.NEXT.OLATE.>") { message in
            pulls.append((String(message.subject.split(separator: ".").last ?? ""), message.reply ?? ""))
        }
        let creations = Collector<String>()
        let created = try conn.subscribe("$JS.API.CONSUMER.CREATE.OLATE.>") { creations.append($0.subject) }
        defer {
            try? spy.unsubscribe()
            try? created.unsubscribe()
        }
        try conn.flush(timeoutMilliseconds: 2_000)
        let got = Collector<UInt8>()
        let consumer = try MessageConsumer.start(
            jetStream: js, stream: "OLATE", consumer: nil, options: ConsumeOptions(expiresMilliseconds: 2_000)
        ) { inbox, filter in
            try self.conn.subscribe(inbox, filter: filter) { got.append($0.payload.first ?? 255) }
        }
        defer { consumer.stop() }
        XCTAssertTrue(eventually(5) { got.count == 5 })
        let first = consumer.consumerName
        XCTAssertTrue(eventually(5) { pulls.all.contains { $0.consumer == first } })
        let oldReply = try XCTUnwrap(pulls.all.first { $0.consumer == first }?.reply)

        // Replaced: its consumer deleted under it.
        try js.deleteConsumer(stream: "OLATE", consumer: first)
        XCTAssertTrue(eventually(10) { consumer.consumerName != first })
        let second = consumer.consumerName
        XCTAssertTrue(eventually(5) { pulls.all.contains { $0.consumer == second } })
        let made = creations.count
        XCTAssertEqual(made, 2)

        // A late status on the replaced one's pulls: nothing restarts.
        var status = Headers()
        status.statusCode = 409
        status.statusDescription = "Consumer Deleted"
        try conn.publish(oldReply, headers: status)
        try conn.flush(timeoutMilliseconds: 2_000)
        usleep(500_000)
        XCTAssertEqual(creations.count, made, "a restart for a status of the consumer replaced")
        XCTAssertEqual(consumer.consumerName, second)
        _ = try js.publish("olate", payload: [5])
        XCTAssertTrue(eventually(5) { got.count == 6 })
        XCTAssertEqual(got.all, [0, 1, 2, 3, 4, 5])
    }

    func testOrderedSequenceVerdicts() {
        var sequence = OrderedSequence()
        sequence.restart(as: "a")
        func meta(_ consumer: String, _ cseq: UInt64, _ sseq: UInt64) -> MessageMetadata {
            MessageMetadata(reply: "$JS.ACK.S.\(consumer).1.\(sseq).\(cseq).1.0")!
        }
        XCTAssertEqual(sequence.check(meta("a", 1, 10)), .deliver)
        XCTAssertEqual(sequence.check(meta("a", 2, 12)), .deliver)
        XCTAssertEqual(sequence.check(meta("old", 3, 13)), .stale)
        XCTAssertEqual(sequence.check(meta("a", 4, 14)), .gap)
        XCTAssertEqual(sequence.lastStreamSequence, 12)
        sequence.restart(as: "b")
        XCTAssertEqual(sequence.check(meta("a", 3, 13)), .stale)
        XCTAssertEqual(sequence.check(meta("b", 1, 13)), .deliver)
    }

    func testPullPipelineAccounting() {
        var pipeline = PullPipeline(options: ConsumeOptions(maxMessages: 10, thresholdMessages: 4))
        XCTAssertEqual(pipeline.nextPull()?.batch, 10)
        XCTAssertNil(pipeline.nextPull())
        let data = Message(subject: "x", payload: [1], connection: nil)
        for _ in 0..<5 { XCTAssertEqual(pipeline.handle(data), .deliver) }
        XCTAssertNil(pipeline.nextPull())  // 5 still asked for
        XCTAssertEqual(pipeline.handle(data), .deliver)
        XCTAssertEqual(pipeline.nextPull()?.batch, 6)  // back to 10
        let ended = Message(
            subject: "x", headerBlock: Array("NATS/1.0 408 Request Timeout\r\nNats-Pending-Messages: 7\r\nNats-Pending-Bytes: 0\r\n\r\n".utf8),
            payload: [], connection: nil)
        XCTAssertEqual(pipeline.handle(ended), .none)
        XCTAssertEqual(pipeline.pendingMessages, 3)
        XCTAssertEqual(pipeline.nextPull()?.batch, 7)
        let deleted = Message(subject: "x", headerBlock: Array("NATS/1.0 409 Consumer Deleted\r\n\r\n".utf8), payload: [], connection: nil)
        XCTAssertEqual(pipeline.handle(deleted), .terminal(status: 409, description: "Consumer Deleted"))
        let heartbeat = Message(subject: "x", headerBlock: Array("NATS/1.0 100 Idle Heartbeat\r\n\r\n".utf8), payload: [], connection: nil)
        XCTAssertEqual(pipeline.handle(heartbeat), .none)
    }
}

/// A JetStream server on a port and store of its own that survives restarts.
final class ConsumeRestartTests: XCTestCase {
    var server: NATSServer!
    var port = 0
    var store = ""

    override func setUpWithError() throws {
        port = freePort()
        store = FileManager.default.temporaryDirectory.appendingPathComponent("snats-js-\(UUID().uuidString)").path
        server = try NATSServer(arguments: ["-js", "-sd", store], fixedPort: port)
    }

    override func tearDown() {
        if let run = testRun, run.failureCount > 0 { print("--- nats-server log ---\n\(server.log())") }
        server.stop()
        try? FileManager.default.removeItem(atPath: store)
    }

    func testOrderedConsumerResumesAfterAServerRestartWithoutGapOrDuplicate() throws {
        var options = try Options(url: server.url)
        options.reconnectWaitMilliseconds = 100
        options.maxReconnectAttempts = -1
        let conn = try Connection.connect(options)
        defer { conn.close() }
        let js = try JetStream(connection: conn, timeoutMilliseconds: 2_000)
        _ = try js.addStream(try JSONValue.parse(#"{"name":"RS","subjects":["rs"],"storage":"file"}"#))
        for index in 0..<300 { _ = try js.publish("rs", payload: Array("\(index)".utf8)) }
        let got = Collector<String>()
        let consumer = try MessageConsumer.start(
            jetStream: js, stream: "RS", consumer: nil, options: ConsumeOptions(maxMessages: 10, expiresMilliseconds: 2_000)
        ) { inbox, filter in
            try conn.subscribe(inbox, filter: filter) { message in
                got.append(String(decoding: message.payload, as: UTF8.self))
                usleep(5_000)  // slow enough that the restart comes midway
            }
        }
        defer { consumer.stop() }
        XCTAssertTrue(eventually(5) { got.count >= 50 })
        server.stop()
        XCTAssertLessThan(got.count, 250, "the restart came too late to test anything")
        server = try NATSServer(arguments: ["-js", "-sd", store], fixedPort: port)
        XCTAssertTrue(eventually(20) { got.count >= 300 }, "\(got.count)")
        usleep(300_000)
        XCTAssertEqual(got.all, (0..<300).map(String.init))
        // Publishes after the restart arrive too.
        _ = try js.publish("rs", payload: Array("300".utf8))
        XCTAssertTrue(eventually(5) { got.count == 301 })
        XCTAssertEqual(got.all.last, "300")
    }
}
