import Foundation
import NATS
import NATSMicro
import NATSRPC
import NATSTestSupport
import XCTest

/// Replies that used to be lost: error messages with line breaks, empty streams, replies too
/// large to send, empty error messages; frames of a stream in order from several threads.
final class RPCIntegrityTests: ServerTestCase {
    var conn: Connection!
    var servers: [RPCServer] = []
    let asyncErrors = Collector<NATSError>()

    override func setUpWithError() throws {
        try super.setUpWithError()
        var options = try Options(url: server.url)
        options.onError = { [asyncErrors] _, _, error in asyncErrors.append(error) }
        conn = try Connection.connect(options)
    }

    override func tearDown() {
        for server in servers { server.stop() }
        conn?.close()
        super.tearDown()
    }

    private func serve(_ configure: (RPCServer) throws -> Void) throws -> RPCClient {
        let rpc = try RPCServer(connection: conn, namespace: "integrity")
        try configure(rpc)
        try rpc.start()
        servers.append(rpc)
        return try RPCClient(connection: conn, namespace: "integrity")
    }

    private func rpcError(_ body: () throws -> Any) -> RPCError? {
        do {
            _ = try body()
            XCTFail("expected an RPC error")
            return nil
        } catch {
            guard let error = error as? RPCError else {
                XCTFail("expected an RPC error, got \(error)")
                return nil
            }
            return error
        }
    }

    /// Python exception text has line breaks; a header cannot. The whole message comes in the
    /// body, the header gets one line, and the caller never waits for its timeout.
    func testMultiLineErrorIsAnsweredWhole() throws {
        let text = "first line\nsecond line\r\n\tthird"
        let client = try serve { rpc in
            try rpc.register("boom") { request in try? request.fail(code: -32001, message: text) }
            try rpc.register("boom.stream") { request in
                try? request.sendItem(JSONValue.integer(1))
                try? request.fail(internal: text)
            }
            try rpc.register("boom.empty") { request in try? request.fail(code: -32002, message: "") }
        }
        let started = Date()
        let error = rpcError { try client.call("boom", timeoutMilliseconds: 5_000) }
        XCTAssertLessThan(Date().timeIntervalSince(started), 4, "answered, not timed out")
        XCTAssertEqual(error?.code, -32001)
        XCTAssertEqual(error?.message, text)

        // The raw reply: one-line header, full body.
        let raw = try conn.request("rpc.integrity.boom", payload: Array(#"{"id":"r1","method":"boom"}"#.utf8), timeoutMilliseconds: 5_000)
        XCTAssertEqual(raw.headers?.values(for: MicroHeaders.error).first, "first line second line  \tthird".replacingOccurrences(of: "\t", with: " "))
        XCTAssertEqual(raw.headers?.values(for: MicroHeaders.errorCode).first, "-32001")
        XCTAssertTrue(String(decoding: raw.payload, as: UTF8.self).contains(#"first line\nsecond line"#))

        // In a stream: the items, then the end frame with the error.
        let stream = try client.callStream("boom.stream", timeoutMilliseconds: 5_000)
        XCTAssertEqual(try stream.next()?.serialized(), "1")
        XCTAssertThrowsError(try stream.next()) { error in
            XCTAssertEqual((error as? RPCError)?.message, "Internal error: " + text)
        }
        // An empty message is still answered.
        XCTAssertEqual(rpcError { try client.call("boom.empty", timeoutMilliseconds: 5_000) }?.code, -32002)
    }

    /// An error whose details cannot be written (nested deeper than the JSON limit) is still
    /// answered: -32603, and the handler hears why.
    func testErrorThatCannotBeSentIsReplaced() throws {
        let thrown = Collector<String>()
        let client = try serve { rpc in
            try rpc.register("deep") { request in
                var deep = JSONValue.array()
                for _ in 0..<(JSONCodec.maxDepth + 5) {
                    let outer = JSONValue.array()
                    outer.append(deep)
                    deep = outer
                }
                do { try request.fail(code: 7, message: "with details", details: deep) } catch { thrown.append("\(error)") }
            }
        }
        let error = rpcError { try client.call("deep", timeoutMilliseconds: 5_000) }
        XCTAssertEqual(error?.code, -32603)
        XCTAssertTrue(error?.message.contains("the reply could not be sent") == true, error?.message ?? "")
        XCTAssertTrue(eventually { thrown.count == 1 })
    }

    /// A streaming method with no items: an empty sequence for a streaming caller and `[]`
    /// for a plain one, never `null` or `[null]`.
    func testEmptyStreamIsAnEmptySequence() throws {
        let client = try serve { rpc in
            try rpc.register("none") { request in try? request.endStream() }
            try rpc.register("two") { request in
                try? request.sendItem(JSONValue.integer(0))
                try? request.sendItem(JSONValue.integer(1))
                try? request.endStream()
            }
        }
        XCTAssertEqual(try client.callStream("none", timeoutMilliseconds: 5_000).collect().count, 0)
        XCTAssertEqual(try client.call("none", timeoutMilliseconds: 5_000).serialized(), "[]")
        XCTAssertEqual(try client.callStream("two", timeoutMilliseconds: 5_000).collect().map { $0.serialized() }, ["0", "1"])
        XCTAssertEqual(try client.call("two", timeoutMilliseconds: 5_000).serialized(), "[0,1]")
        // On the wire: only the end frame, seq 0.
        let inbox = conn.newInbox()
        let frames = try conn.subscribeSync(inbox)
        try conn.publish("rpc.integrity.none", payload: Array(#"{"id":"e","method":"none","stream":true}"#.utf8), reply: inbox)
        let end = try frames.next(timeoutMilliseconds: 5_000).payload.withUnsafeBytes { try JSONValue.parse($0) }
        XCTAssertEqual(end.string("stream"), "end")
        XCTAssertEqual(end.int("seq"), 0)
    }

    /// A result larger than the server's max_payload: the caller gets -32603 at once, the
    /// handler an error, the endpoint counts it and the error callback hears of it.
    func testReplyTooLargeIsAnsweredAndReported() throws {
        let thrown = Collector<String>()
        let client = try serve { rpc in
            try rpc.register("huge") { request in
                do {
                    try request.respond(JSONValue.string(String(repeating: "x", count: 2 * 1024 * 1024)))
                } catch {
                    thrown.append("\(error)")
                }
            }
        }
        let error = rpcError { try client.call("huge", timeoutMilliseconds: 5_000) }
        XCTAssertEqual(error?.code, -32603)
        XCTAssertTrue(error?.message.contains("the reply could not be sent") == true, error?.message ?? "")
        XCTAssertTrue(eventually { thrown.count == 1 })
        XCTAssertTrue(eventually { self.asyncErrors.all.contains { if case .during(_, .maxPayload) = $0 { return true }; return false } },
                      "\(asyncErrors.all)")
    }

    /// Items sent from several threads of a kept request leave in the order they were numbered.
    func testItemsFromSeveralThreadsArriveInOrder() throws {
        let client = try serve { rpc in
            try rpc.register("many") { request in
                request.keep()
                let group = DispatchGroup()
                for thread in 0..<4 {
                    DispatchQueue.global().async(group: group) {
                        for index in 0..<200 { try? request.sendItem(JSONValue.integer(thread * 1000 + index)) }
                    }
                }
                group.notify(queue: .global()) { try? request.endStream() }
            }
        }
        let items = try client.callStream("many", timeoutMilliseconds: 5_000).collect()
        XCTAssertEqual(items.count, 800, "no frame lost or reordered (a gap ends the stream with an error)")
    }
}
