import Foundation
import NATS
@testable import NATSMicro
import NATSTestSupport
import XCTest

/// Error descriptions that a header cannot hold, and discovery replies that are not ours to
/// count: each is answered or reported, never dropped without a word.
final class MicroIntegrityTests: ServerTestCase {
    var conn: Connection!

    override func setUpWithError() throws {
        try super.setUpWithError()
        conn = try Connection.connect(url: server.url)
    }

    override func tearDown() {
        conn?.close()
        super.tearDown()
    }

    func testHeaderValueIsOneLineAndBounded() {
        XCTAssertEqual(MicroHeaders.headerValue("a\nb\r\nc\td\u{7f}e"), "a b  c d e")
        XCTAssertEqual(MicroHeaders.headerValue("plain"), "plain")
        let long = String(repeating: "é", count: 600)  // 1200 bytes
        let cut = MicroHeaders.headerValue(long)
        XCTAssertLessThanOrEqual(cut.utf8.count, MicroHeaders.maxValueBytes)
        XCTAssertTrue(cut.hasSuffix("..."))
        XCTAssertEqual(cut, String(repeating: "é", count: 510) + "...")
        let exact = String(repeating: "x", count: MicroHeaders.maxValueBytes)
        XCTAssertEqual(MicroHeaders.headerValue(exact), exact)
    }

    /// respond_error with a multi-line description: answered, with a one-line header and the
    /// whole text in last_error.
    func testMultiLineErrorDescriptionIsAnswered() throws {
        let service = try Service.add(to: conn, config: ServiceConfig(name: "multi", version: "1.0.0"))
        defer { service.stop() }
        try service.addEndpoint("fail", config: EndpointConfig(subject: "multi.fail")) { request in
            try? request.respondError(code: "5\n00", description: "Traceback:\n  line 1\nValueError: bad")
        }
        try conn.flush(timeoutMilliseconds: 2_000)
        let reply = try conn.request("multi.fail", payload: [], timeoutMilliseconds: 5_000)
        XCTAssertEqual(reply.headers?.values(for: MicroHeaders.error).first, "Traceback:   line 1 ValueError: bad")
        XCTAssertEqual(reply.headers?.values(for: MicroHeaders.errorCode).first, "5 00")
        // Counted once the handler has returned, which may be just after the reply arrived.
        func endpointStats() -> EndpointStats? {
            (try? DiscoveryClient(connection: conn).stats(name: "multi", timeoutMilliseconds: 500))?.first?.endpoints.first?.stats
        }
        XCTAssertTrue(eventually { endpointStats()?.numErrors == 1 })
        XCTAssertEqual(endpointStats()?.lastError, "5\n00:Traceback:\n  line 1\nValueError: bad")
    }

    /// A JSON answer that cannot be written is not sent as `null`: the handler gets the error,
    /// the endpoint counts it, the error callback hears of it.
    func testUnwritableJSONAnswerIsNotSentAsNull() throws {
        let errors = Collector<NATSError>()
        var options = try Options(url: server.url)
        options.onError = { _, _, error in errors.append(error) }
        let watched = try Connection.connect(options)
        defer { watched.close() }
        let thrown = Collector<String>()
        let service = try Service.add(to: watched, config: ServiceConfig(name: "deep", version: "1.0.0"))
        defer { service.stop() }
        try service.addEndpoint("deep", config: EndpointConfig(subject: "deep.json")) { request in
            var deep = JSONValue.array()
            for _ in 0..<(JSONCodec.maxDepth + 5) {
                let outer = JSONValue.array()
                outer.append(deep)
                deep = outer
            }
            do { try request.respondJSON(deep) } catch { thrown.append("\(error)") }
        }
        try watched.flush(timeoutMilliseconds: 2_000)
        XCTAssertThrowsError(try conn.request("deep.json", payload: [], timeoutMilliseconds: 500)) { error in
            guard case .timeout = error as? NATSError else { return XCTFail("\(error)") }
        }
        XCTAssertTrue(eventually { thrown.count == 1 })
        XCTAssertTrue(eventually { errors.all.contains { if case .during(_, .invalidJSON) = $0 { return true }; return false } },
                      "\(errors.all)")
    }

    /// Replies on $SRV that are not micro documents of the verb are counted and reported; a
    /// document with no type from an older service is kept.
    func testDiscoveryReportsIgnoredReplies() throws {
        let service = try Service.add(to: conn, config: ServiceConfig(name: "real", version: "1.0.0"))
        defer { service.stop() }
        let other = try Connection.connect(url: server.url)
        defer { other.close() }
        let garbage = try other.subscribe("$SRV.INFO") { message in
            try? other.respond(to: message, payload: Array("not json".utf8))
        }
        let wrongType = try other.subscribe("$SRV.INFO") { message in
            try? other.respond(to: message, payload: Array(#"{"type":"io.nats.micro.v1.ping_response","name":"x","id":"1"}"#.utf8))
        }
        let legacy = try other.subscribe("$SRV.INFO") { message in
            try? other.respond(to: message, payload: Array(#"{"name":"old","id":"42","version":"0.1.0","endpoints":[]}"#.utf8))
        }
        defer { [garbage, wrongType, legacy].forEach { try? $0.unsubscribe() } }
        try other.flush(timeoutMilliseconds: 2_000)
        try conn.flush(timeoutMilliseconds: 2_000)

        var reported: IgnoredReplies?
        let found = try DiscoveryClient(connection: conn).gather(
            .info, name: nil, id: nil, timeoutMilliseconds: 1_000, maxReplies: 0, ignoredReplies: { reported = $0 })
        XCTAssertEqual(Set(found.compactMap { $0.string("name") }), ["real", "old"])
        XCTAssertEqual(reported?.count, 2)
        XCTAssertTrue(reported?.description.contains("1 not a JSON object") == true, reported?.description ?? "")
        XCTAssertTrue(reported?.description.contains("1 of type \"io.nats.micro.v1.ping_response\"") == true, reported?.description ?? "")

        // Without a handler of its own, the connection's error callback hears of it.
        let errors = Collector<NATSError>()
        var options = try Options(url: server.url)
        options.onError = { _, _, error in errors.append(error) }
        let watched = try Connection.connect(options)
        defer { watched.close() }
        _ = try DiscoveryClient(connection: watched).info(timeoutMilliseconds: 1_000)
        XCTAssertTrue(eventually { errors.all.contains { "\($0)".contains("2 replies to $SRV.INFO ignored") } }, "\(errors.all)")
    }

    /// A monitoring document larger than the server's max_payload cannot be sent: the
    /// connection's error callback says so (the service has no error handler of its own).
    func testUnsendableMonitoringReplyIsReported() throws {
        let small = try NATSServer(config: "max_payload: 2048\n")
        defer { small.stop() }
        let errors = Collector<NATSError>()
        var options = try Options(url: small.url)
        options.onError = { _, _, error in errors.append(error) }
        let watched = try Connection.connect(options)
        defer { watched.close() }
        var serviceConfig = ServiceConfig(name: "wordy", version: "1.0.0")
        serviceConfig.description = String(repeating: "long ", count: 1_000)
        let service = try Service.add(to: watched, config: serviceConfig)
        defer { service.stop() }
        try watched.flush(timeoutMilliseconds: 2_000)
        let asker = try Connection.connect(url: small.url)
        defer { asker.close() }
        XCTAssertEqual(try DiscoveryClient(connection: asker).info(name: "wordy", timeoutMilliseconds: 500).count, 0)
        XCTAssertTrue(eventually { errors.all.contains { if case .during(_, .maxPayload) = $0 { return true }; return false } },
                      "\(errors.all)")
        // PING's document is small: still answered.
        XCTAssertEqual(try DiscoveryClient(connection: asker).ping(name: "wordy", timeoutMilliseconds: 500).count, 1)
    }
}
