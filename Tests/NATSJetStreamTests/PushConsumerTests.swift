import Foundation
import NATS
import NATSJetStream
import NATSTestSupport
import XCTest

final class PushConsumerTests: JetStreamTestCase {
    func testFlowControlIsAnsweredAndHeartbeatsStayHidden() throws {
        try addStream("PU", subjects: ["pu"])
        try js.addConsumer(stream: "PU", try json(
            #"{"durable_name":"p","deliver_subject":"deliver.p","ack_policy":"none","flow_control":true,"idle_heartbeat":300000000}"#))
        // More than the consumer sends before it asks for flow control (it stalls unanswered).
        let payload = [UInt8](repeating: 1, count: 4_096)
        for _ in 0..<3_000 { try js.publisher.publish("pu", payload: payload) { _ in } }
        try js.publisher.waitComplete(timeoutMilliseconds: 20_000)
        let got = Collector<UInt64>()
        let push = try PushConsumer.start(jetStream: js, stream: "PU", consumer: "p") { subject, queue, filter in
            try self.conn.subscribe(subject, queue: queue, filter: filter) { got.append($0.jetStreamMetadata?.streamSequence ?? 0) }
        }
        defer { push.stop() }
        XCTAssertTrue(eventually(15) { got.count == 3_000 }, "\(got.count)")
        XCTAssertEqual(got.all, Array(1...3_000))
        usleep(800_000)  // idle: heartbeats come, none is delivered
        XCTAssertEqual(got.count, 3_000)
    }

    func testPullConsumerIsRefusedAndMissedHeartbeatsAreReported() throws {
        try addStream("PH", subjects: ["ph"])
        try js.addConsumer(stream: "PH", try json(#"{"durable_name":"pull","ack_policy":"explicit"}"#))
        XCTAssertThrowsError(try PushConsumer.start(jetStream: js, stream: "PH", consumer: "pull") { subject, queue, filter in
            try self.conn.subscribeSync(subject, filter: filter)
        })
        try js.addConsumer(stream: "PH", try json(#"{"durable_name":"hb","deliver_subject":"deliver.hb","idle_heartbeat":200000000}"#))
        let errors = Collector<NATSError>()
        var options = try Options(url: server.url)
        options.onError = { _, _, error in errors.append(error) }
        let watched = try Connection.connect(options)
        defer { watched.close() }
        let context = try JetStream(connection: watched)
        let push = try PushConsumer.start(jetStream: context, stream: "PH", consumer: "hb") { subject, queue, filter in
            try watched.subscribeSync(subject, filter: filter)
        }
        defer { push.stop() }
        // Deleting the consumer stops its heartbeats while the link stays up.
        try js.deleteConsumer(stream: "PH", consumer: "hb")
        XCTAssertTrue(eventually(5) { errors.all.contains { if case .missedHeartbeat = $0 { return true } else { return false } } })
    }
}
