import Foundation
import NATS
import NATSMicro
@testable import NATSRPC
import NATSTestSupport
import XCTest

/// References (docs/RPC.md "References"): a caller lends methods, passes the reference in a
/// call's params, and the server calls them back through a client made from it.
final class ReferenceTests: RPCServerTestCase {
    private func json(_ text: String) throws -> JSONValue { try JSONValue.parse(text) }

    /// A server whose `countdown(n, notify)` calls `notify.progress(i)` for i = n...1 and
    /// returns the sum of what the callbacks answered.
    private func countdownServer(connection: Connection? = nil) throws -> RPCServer {
        let serverConnection = connection ?? conn!
        let rpc = try RPCServer(connection: serverConnection, namespace: "jobs")
        try rpc.register("countdown") { params in
            guard let n = params.int("n"), let reference = params.value("notify") else {
                throw RPCError(code: RPCError.invalidParams, message: "n and notify")
            }
            let back = try RPCClient(connection: serverConnection, reference: reference)
            var sum = 0
            for i in stride(from: n, to: 0, by: -1) {
                let arguments = JSONValue.array()
                arguments.append(JSONValue.integer(i))
                sum += try back.call("progress", params: arguments, timeoutMilliseconds: 2_000).integerValue ?? 0
            }
            return JSONValue.integer(sum)
        }
        try rpc.start()
        servers.append(rpc)
        return rpc
    }

    private final class Seen {
        let lock = NSLock()
        var values: [Int] = []
        func add(_ value: Int) { lock.withLock { values.append(value) } }
        var all: [Int] { lock.withLock { values } }
    }

    private func progressMethod(_ seen: Seen) -> RPCMethod {
        RPCMethod(name: "progress", parameters: ParameterList([Parameter("step", type: "integer")])) { request in
            let step = request.params.items.first?.integerValue ?? -1
            seen.add(step)
            try? request.respond(JSONValue.integer(step * 10))
        }
    }

    func testAServerCallsBackAReferenceWhileTheCallRuns() throws {
        let serverConnection = try Connection.connect(url: server.url)
        defer { serverConnection.close() }
        try countdownServer(connection: serverConnection)
        let references = RPCReferences(connection: conn)
        let seen = Seen()
        let reference = try references.lend([progressMethod(seen)])
        XCTAssertTrue(reference.subject.hasPrefix("_INBOX."))
        let params = JSONValue.object()
        params.set("n", 3)
        params.set("notify", reference.json)
        let client = try RPCClient(connection: conn, namespace: "jobs")
        XCTAssertEqual(try client.call("countdown", params: params, timeoutMilliseconds: 5_000).integerValue, 60)
        XCTAssertEqual(seen.all, [3, 2, 1])
        let described = reference.json.value("$ref")
        XCTAssertEqual(described?.string("subject"), reference.subject)
        XCTAssertEqual(described?.value("methods")?.value("progress")?.serialized(),
                       #"{"params":[{"name":"step","type":"integer","required":true}],"stream":false}"#)
        XCTAssertEqual(described?.bool("function"), false)
    }

    func testARevokedReferenceAnswersMethodNotFoundAtOnce() throws {
        let references = RPCReferences(connection: conn)
        let reference = try references.lend([progressMethod(Seen())])
        let back = try RPCClient(connection: conn, reference: reference.json)
        XCTAssertEqual(try back.call("progress", params: try json("[1]"), timeoutMilliseconds: 2_000).integerValue, 10)
        XCTAssertThrowsError(try back.call("nope", timeoutMilliseconds: 2_000)) { error in
            XCTAssertEqual((error as? RPCError)?.code, RPCError.methodNotFound, "\(error)")
        }
        reference.revoke()
        XCTAssertEqual(references.count, 0)
        let started = Date()
        XCTAssertThrowsError(try back.call("progress", params: try json("[1]"), timeoutMilliseconds: 5_000)) { error in
            guard let error = error as? RPCError else { return XCTFail("\(error)") }
            XCTAssertEqual(error.code, RPCError.methodNotFound)
            XCTAssertEqual(error.data?.string("reference"), reference.subject)
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 1)
    }

    func testAReferenceEndsWithItsObjectAndAllWithTheRegistry() throws {
        let references = RPCReferences(connection: conn)
        var reference: RPCReference? = try references.lend([progressMethod(Seen())])
        let kept = try references.lend([progressMethod(Seen())])
        XCTAssertEqual(references.count, 2)
        reference = nil
        XCTAssertNil(reference)
        XCTAssertEqual(references.count, 1)
        let back = try RPCClient(connection: conn, reference: kept.json)
        XCTAssertEqual(try back.call("progress", params: try json("[2]"), timeoutMilliseconds: 2_000).integerValue, 20)
        references.close()
        XCTAssertThrowsError(try back.call("progress", params: try json("[2]"), timeoutMilliseconds: 2_000)) { error in
            XCTAssertEqual((error as? RPCError)?.code, RPCError.methodNotFound, "no responders once closed: \(error)")
        }
        XCTAssertThrowsError(try references.lend([progressMethod(Seen())]))
    }

    func testReferencesAreChecked() throws {
        let references = RPCReferences(connection: conn)
        XCTAssertThrowsError(try references.lend([]))
        XCTAssertThrowsError(try references.lend([progressMethod(Seen()), progressMethod(Seen())]))
        XCTAssertThrowsError(try references.lend([progressMethod(Seen())], function: true), "a function lends \"call\"")
        XCTAssertThrowsError(try references.lend([RPCMethod(name: "a b") { _ in }]))
        for bad in [#"{}"#, #"{"$ref": {}}"#, #"{"$ref": {"subject": "a.*"}}"#, #"{"$ref": {"subject": 3}}"#, #"[1]"#, #""x""#] {
            XCTAssertThrowsError(try RPCClient(connection: conn, reference: try json(bad)), bad)
        }
        let inner = try RPCClient(connection: conn, reference: try json(#"{"subject": "_INBOX.x.1"}"#))
        XCTAssertEqual(inner.reference, "_INBOX.x.1")
        XCTAssertThrowsError(try inner.describe(timeoutMilliseconds: 100))
        XCTAssertThrowsError(try inner.describe(timeoutMilliseconds: 100) { _ in XCTFail("no completion") })
    }

    func testAFunctionReferenceAndItsParamsCheck() throws {
        let references = RPCReferences(connection: conn)
        let seen = Seen()
        let function = try references.lend(
            [RPCMethod(name: "call", parameters: ParameterList([Parameter("x", type: "integer")])) { request in
                seen.add(request.params.items.first?.integerValue ?? -1)
                try? request.respond(JSONValue.null())
            }], function: true)
        XCTAssertEqual(function.json.value("$ref")?.bool("function"), true)
        let back = try RPCClient(connection: conn, reference: function.json)
        XCTAssertTrue(try back.call("call", params: try json("[7]"), timeoutMilliseconds: 2_000).isNull)
        XCTAssertThrowsError(try back.call("call", params: try json(#"["seven"]"#), timeoutMilliseconds: 2_000)) { error in
            XCTAssertEqual((error as? RPCError)?.code, RPCError.invalidParams, "\(error)")
        }
        XCTAssertEqual(seen.all, [7])
    }

    func testALongCallbackKeepsItsCallerAliveWithLivenessFrames() throws {
        let references = RPCReferences(connection: conn)
        let reference = try references.lend([RPCMethod(name: "slow") { request in
            usleep(900_000)
            try? request.respond(JSONValue.string("late"))
        }])
        let otherConnection = try Connection.connect(url: server.url)
        defer { otherConnection.close() }
        let back = try RPCClient(connection: otherConnection, reference: reference.json)
        try back.setHeartbeat(milliseconds: 150)
        XCTAssertEqual(try back.call("slow", timeoutMilliseconds: 5_000).stringValue, "late")
    }

    func testRevokingWaitsForARunningHandlerButNotInsideIt() throws {
        let references = RPCReferences(connection: conn)
        let entered = DispatchSemaphore(value: 0)
        let finished = Seen()
        let slow = try references.lend([RPCMethod(name: "slow") { request in
            entered.signal()
            usleep(300_000)
            finished.add(1)
            try? request.respond(JSONValue.null())
        }])
        var selfRevoking: RPCReference?
        selfRevoking = try references.lend([RPCMethod(name: "quit") { request in
            selfRevoking?.revoke()  // from its own handler: does not wait for itself
            try? request.respond(JSONValue.string("bye"))
        }])
        let back = try RPCClient(connection: conn, reference: slow.json)
        try back.call("slow", timeoutMilliseconds: 5_000) { _ in }
        XCTAssertEqual(entered.wait(timeout: .now() + 5), .success)
        slow.revoke()
        XCTAssertEqual(finished.all, [1], "revoke returned after the running handler")
        let quit = try RPCClient(connection: conn, reference: try XCTUnwrap(selfRevoking?.json))
        XCTAssertEqual(try quit.call("quit", timeoutMilliseconds: 2_000).stringValue, "bye")
        XCTAssertEqual(references.count, 0)
    }

    func testACallbackStreams() throws {
        let references = RPCReferences(connection: conn)
        let reference = try references.lend([RPCMethod(name: "items", streams: true) { request in
            for i in 0..<3 { try? request.sendItem(JSONValue.integer(i)) }
            try? request.endStream()
        }])
        let back = try RPCClient(connection: conn, reference: reference.json)
        let items = try back.callStream("items", timeoutMilliseconds: 2_000).collect()
        XCTAssertEqual(items.map { $0.integerValue }, [0, 1, 2])
    }
}
