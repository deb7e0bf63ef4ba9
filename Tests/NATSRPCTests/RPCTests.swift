import Foundation
import NATS
import NATSMicro
@testable import NATSRPC
import NATSTestSupport
import XCTest

private func json(_ text: String) -> JSONValue { try! JSONValue.parse(text) }

/// Foundation's view of a JSON value, for exact comparisons.
private func plain(_ value: JSONValue) -> Any? {
    try? JSONSerialization.jsonObject(with: Data(value.serialized().utf8), options: [.fragmentsAllowed])
}

private func plain(_ payload: [UInt8]) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(payload))) as? [String: Any] ?? [:]
}

private func rpcError(_ body: () throws -> Any) -> RPCError? {
    do {
        _ = try body()
        XCTFail("expected an RPC error")
        return nil
    } catch let error as RPCError {
        return error
    } catch {
        XCTFail("expected an RPC error, got \(error)")
        return nil
    }
}

/// A server per test, a connection to it, and the RPC servers a test starts (stopped after it).
class RPCServerTestCase: ServerTestCase {
    var conn: Connection!
    var servers: [RPCServer] = []

    override func setUpWithError() throws {
        try super.setUpWithError()
        conn = try Connection.connect(url: server.url)
    }

    override func tearDown() {
        for server in servers { server.stop() }
        conn?.close()
        super.tearDown()
    }
}

final class RPCTests: RPCServerTestCase {

    /// A calculator in `namespace`: add (declared numbers a and b), echo, fail, slow.
    @discardableResult
    private func calculator(_ namespace: String = "calc", prefix: String = "", connection: Connection? = nil) throws -> RPCServer {
        let rpc = try RPCServer(connection: connection ?? conn, namespace: namespace)
        try rpc.register("math.add", parameters: ParameterList([Parameter("a", type: "number"), Parameter("b", type: "number")])) { params in
            let values = params.isArray ? params.items : [params.value("a"), params.value("b")].compactMap { $0 }
            let sum = values.reduce(0.0) { $0 + ($1.numberValue ?? 0) }
            return JSONValue.number(sum)
        }
        try rpc.register("echo") { params in params }
        try rpc.register("whoami") { _ in JSONValue.string(namespace) }
        try rpc.register("fail") { _ in throw NATSError.serverError("division by zero") }
        try rpc.register("teapot") { _ in throw RPCError(code: -32042, message: "I'm a teapot", data: json("{\"brew\":\"earl grey\"}")) }
        try rpc.start(prefix: prefix)
        servers.append(rpc)
        return rpc
    }

    func testCallWithObjectAndArrayParams() throws {
        try calculator()
        let client = try RPCClient(connection: conn, namespace: "calc")
        XCTAssertEqual(plain(try client.call("math.add", params: json("{\"a\": 5, \"b\": 3}"), timeoutMilliseconds: 2_000)) as? Double, 8)
        XCTAssertEqual(plain(try client.call("math.add", params: json("[4, 7.5]"), timeoutMilliseconds: 2_000)) as? Double, 11.5)
        let echoed = try client.call("echo", params: json("{\"x\": [1, \"two\", null], \"y\": {\"z\": true}}"), timeoutMilliseconds: 2_000)
        XCTAssertEqual(echoed.serialized(), "{\"x\":[1,\"two\",null],\"y\":{\"z\":true}}")
        // No params: the handler sees {}.
        XCTAssertEqual(try client.call("echo", timeoutMilliseconds: 2_000).serialized(), "{}")
        XCTAssertThrowsError(try client.call("echo", params: json("42"), timeoutMilliseconds: 2_000)) { error in
            guard case .invalidArgument = error as? NATSError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try client.call("bad method", timeoutMilliseconds: 2_000))
        XCTAssertThrowsError(try client.call("wild.*", timeoutMilliseconds: 2_000))
    }

    func testNamespacesAreIsolated() throws {
        try calculator("production")
        try calculator("development")
        let production = try RPCClient(connection: conn, namespace: "production")
        let development = try RPCClient(connection: conn, namespace: "development")
        XCTAssertEqual(try production.call("whoami", timeoutMilliseconds: 2_000).stringValue, "production")
        XCTAssertEqual(try development.call("whoami", timeoutMilliseconds: 2_000).stringValue, "development")
        XCTAssertEqual(rpcError { try RPCClient(connection: self.conn, namespace: "staging").call("whoami", timeoutMilliseconds: 2_000) }?.code, -32601)
    }

    func testPrefix() throws {
        try calculator(prefix: "api.v1")
        let client = try RPCClient(connection: conn, namespace: "calc")
        XCTAssertEqual(try client.call("api.v1.whoami", timeoutMilliseconds: 2_000).stringValue, "calc")
        XCTAssertEqual(rpcError { try client.call("whoami", timeoutMilliseconds: 2_000) }?.code, RPCError.methodNotFound)
        // The subject a plain NATS client uses.
        let reply = try conn.request("rpc.calc.api.v1.whoami", payload: Array("{\"id\":\"1\",\"method\":\"api.v1.whoami\"}".utf8),
                                     timeoutMilliseconds: 2_000)
        XCTAssertEqual(plain(reply.payload)["result"] as? String, "calc")
    }

    func testMethodNotFoundFailsAtOnce() throws {
        try calculator()
        let client = try RPCClient(connection: conn, namespace: "calc")
        let started = Date()
        let error = rpcError { try client.call("nope", timeoutMilliseconds: 5_000) }
        XCTAssertEqual(error?.code, -32601)
        XCTAssertEqual(error?.message, "Method not found: nope")
        XCTAssertLessThan(Date().timeIntervalSince(started), 2)
    }

    func testErrorCodesOnTheWire() throws {
        let rpc = try calculator()
        func raw(_ body: String, _ method: String = "math.add") throws -> (body: [String: Any], headers: Headers?) {
            let reply = try conn.request("rpc.calc." + method, payload: Array(body.utf8), timeoutMilliseconds: 2_000)
            return (plain(reply.payload), reply.headers)
        }
        func code(_ reply: (body: [String: Any], headers: Headers?)) -> Int? { (reply.body["error"] as? [String: Any])?["code"] as? Int }
        func message(_ reply: (body: [String: Any], headers: Headers?)) -> String? { (reply.body["error"] as? [String: Any])?["message"] as? String }

        let parse = try raw("{not json")
        XCTAssertEqual(code(parse), -32700)
        XCTAssertTrue(parse.body["id"] is NSNull)
        XCTAssertEqual(parse.headers?.values(for: "Nats-Service-Error-Code"), ["-32700"])
        XCTAssertEqual(code(try raw("[1,2]")), -32600)
        let noMethod = try raw("{\"id\": \"7\", \"params\": []}")
        XCTAssertEqual(code(noMethod), -32600)
        XCTAssertEqual(noMethod.body["id"] as? String, "7")
        XCTAssertEqual(code(try raw("{\"method\": \"math.add\"}")), -32600)
        XCTAssertEqual(code(try raw("{\"id\": 1, \"method\": \"math.add\", \"params\": 5}")), -32600)
        let missing = try raw("{\"id\": 3, \"method\": \"math.add\", \"params\": {\"a\": 1}}")
        XCTAssertEqual(code(missing), -32602)
        XCTAssertEqual(missing.body["id"] as? Int, 3)
        XCTAssertEqual(message(missing), "Invalid params: missing required parameter 'b'")
        XCTAssertEqual(message(try raw("{\"id\": 3, \"method\": \"math.add\", \"params\": {\"a\": 1, \"b\": \"x\"}}")),
                       "Invalid params: parameter 'b' must be number, got string")
        XCTAssertEqual(message(try raw("{\"id\": 3, \"method\": \"math.add\", \"params\": {\"a\": 1, \"b\": 2, \"c\": 3}}")),
                       "Invalid params: unexpected parameter 'c'")
        XCTAssertEqual(message(try raw("{\"id\": 3, \"method\": \"math.add\", \"params\": [1, 2, 3]}")),
                       "Invalid params: expected at most 2 parameters, got 3")
        // jsonrpc: "2.0" is accepted and ignored.
        let ok = try raw("{\"jsonrpc\": \"2.0\", \"id\": \"x\", \"method\": \"math.add\", \"params\": [1, 2]}")
        XCTAssertEqual(ok.body["result"] as? Double, 3)
        XCTAssertTrue(ok.body["error"] is NSNull)
        XCTAssertNil(ok.headers?.values(for: "Nats-Service-Error").first)

        let failed = try raw("{\"id\": \"f\", \"method\": \"fail\"}", "fail")
        XCTAssertEqual(code(failed), -32603)
        XCTAssertEqual(message(failed), "Internal error: server error: division by zero")
        let data = (failed.body["error"] as? [String: Any])?["data"] as? [String: Any]
        XCTAssertEqual(data?["namespace"] as? String, "calc")
        XCTAssertEqual(data?["instance"] as? String, rpc.service?.id)
        XCTAssertEqual(data?["method"] as? String, "fail")
        XCTAssertFalse((data?["host"] as? String ?? "").isEmpty)
        XCTAssertEqual(failed.headers?.values(for: "Nats-Service-Error"), ["Internal error: server error: division by zero"])

        let client = try RPCClient(connection: conn, namespace: "calc")
        let teapot = rpcError { try client.call("teapot", timeoutMilliseconds: 2_000) }
        XCTAssertEqual(teapot?.code, -32042)
        XCTAssertEqual(teapot?.message, "I'm a teapot")
        XCTAssertEqual(teapot?.data.map(plain).flatMap { ($0 as? [String: Any])?["details"] as? [String: String] }, ["brew": "earl grey"])

        // Micro tooling counts the errors, once each handler has returned (which may be just
        // after its reply arrived).
        let service = try XCTUnwrap(rpc.service)
        func stats() -> EndpointStats? { service.endpoints.first { $0.name == "math_add" }?.stats }
        XCTAssertTrue(eventually { stats()?.numRequests == 10 })
        XCTAssertEqual(stats()?.numErrors, 9)
    }

    func testBatchWithMixedOutcomes() throws {
        try calculator()
        let client = try RPCClient(connection: conn, namespace: "calc")
        let outcomes = try client.callBatch([
            ("math.add", json("{\"a\":1,\"b\":2}")),
            ("fail", nil),
            ("nope", nil),
            ("math.add", json("[3, 4]")),
            ("math.add", json("{\"a\":1}")),
        ], timeoutMilliseconds: 2_000)
        XCTAssertEqual(outcomes.count, 5)
        XCTAssertEqual((try? outcomes[0].get()).flatMap(plain) as? Double, 3)
        XCTAssertEqual((outcomes[1].failure as? RPCError)?.code, -32603)
        XCTAssertEqual((outcomes[2].failure as? RPCError)?.code, -32601)
        XCTAssertEqual((try? outcomes[3].get()).flatMap(plain) as? Double, 7)
        XCTAssertEqual((outcomes[4].failure as? RPCError)?.code, -32602)
    }

    func testBatchRunsConcurrently() throws {
        let rpc = try RPCServer(connection: conn, namespace: "slow")
        try rpc.register("sleep", concurrency: 8) { params in
            usleep(300_000)
            return params
        }
        try rpc.start()
        servers.append(rpc)
        let client = try RPCClient(connection: conn, namespace: "slow")
        let started = Date()
        let outcomes = try client.callBatch((0..<6).map { ("sleep", json("[\($0)]")) }, timeoutMilliseconds: 5_000)
        XCTAssertEqual(outcomes.compactMap { try? $0.get().serialized() }, (0..<6).map { "[\($0)]" })
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.5, "six 300 ms calls in parallel")
    }

    func testAsyncCallsAndResponsesFromAnotherThread() throws {
        let rpc = try RPCServer(connection: conn, namespace: "later")
        try rpc.register("double") { request in
            request.keep()
            let params = request.params
            DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) {
                let value = params.items.first?.integerValue ?? 0
                try? request.respond(JSONValue.integer(value * 2))
            }
        }
        try rpc.start()
        servers.append(rpc)
        let client = try RPCClient(connection: conn, namespace: "later")
        let ids = try (1...5).map { try client.callAsync("double", params: json("[\($0)]")) }
        XCTAssertEqual(client.pendingCount, 5)
        XCTAssertEqual(try ids.reversed().map { try client.response(to: $0, timeoutMilliseconds: 2_000).serialized() }, ["10", "8", "6", "4", "2"])
        XCTAssertEqual(client.pendingCount, 0)
        XCTAssertThrowsError(try client.response(to: ids[0], timeoutMilliseconds: 100)) { error in
            XCTAssertEqual(error as? RPCClientError, .unknownCall(ids[0]))
        }
        // A timeout keeps the call pending.
        let slow = try client.callAsync("double", params: json("[21]"))
        XCTAssertThrowsError(try client.response(to: slow, timeoutMilliseconds: 10)) { error in
            guard case .timeout = error as? NATSError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try client.response(to: slow, timeoutMilliseconds: 2_000).serialized(), "42")
        // The callback form.
        let done = Collector<String>()
        try client.call("double", params: json("[50]"), timeoutMilliseconds: 2_000) { outcome in
            done.append((try? outcome.get().serialized()) ?? "\(outcome)")
        }
        XCTAssertTrue(eventually { done.count == 1 })
        XCTAssertEqual(done.all, ["100"])
        let timedOut = Collector<String>()
        try client.call("double", params: json("[1]"), timeoutMilliseconds: 20) { outcome in
            timedOut.append(outcome.failure.map { "\($0)" } ?? "no error")
        }
        XCTAssertTrue(eventually { timedOut.count == 1 })
        XCTAssertTrue(timedOut.all.first?.contains("timed out") ?? false, "\(timedOut.all)")
        let missing = Collector<Int>()
        try client.call("nothing", timeoutMilliseconds: 2_000) { outcome in
            missing.append((outcome.failure as? RPCError)?.code ?? 0)
        }
        XCTAssertTrue(eventually { missing.count == 1 })
        XCTAssertEqual(missing.all, [-32601])
    }

    func testHandlerThatForgetsToAnswer() throws {
        let rpc = try RPCServer(connection: conn, namespace: "forgetful")
        try rpc.register("nothing") { _ in }
        try rpc.start()
        servers.append(rpc)
        let error = rpcError { try RPCClient(connection: self.conn, namespace: "forgetful").call("nothing", timeoutMilliseconds: 2_000) }
        XCTAssertEqual(error?.code, -32603)
        XCTAssertEqual(error?.message, "Internal error: the handler of \"nothing\" returned without a result")
    }

    func testStreams() throws {
        let rpc = try RPCServer(connection: conn, namespace: "gen")
        try rpc.register("count") { request in
            let upTo = request.params.items.first?.integerValue ?? 0
            for index in 0..<upTo { try? request.sendItem(JSONValue.integer(index)) }
            try? request.respond(JSONValue.null())
        }
        try rpc.register("broken") { request in
            try? request.sendItem(JSONValue.string("a"))
            try? request.sendItem(JSONValue.string("b"))
            try? request.fail(internal: "generator failed", traceback: "Traceback: line 3")
        }
        try rpc.register("plain") { _ in JSONValue.string("single") }
        try rpc.start()
        servers.append(rpc)
        let client = try RPCClient(connection: conn, namespace: "gen")
        let stream = try client.callStream("count", params: json("[500]"), timeoutMilliseconds: 2_000)
        XCTAssertEqual(try stream.collect().map { $0.integerValue ?? -1 }, Array(0..<500))
        XCTAssertTrue(stream.isFinished)
        XCTAssertNil(try stream.next())

        let broken = try client.callStream("broken", timeoutMilliseconds: 2_000)
        XCTAssertEqual(try broken.next()?.stringValue, "a")
        XCTAssertEqual(try broken.next()?.stringValue, "b")
        let error = rpcError { try broken.next() as Any }
        XCTAssertEqual(error?.code, -32603)
        XCTAssertEqual(error?.message, "Internal error: generator failed")
        XCTAssertEqual(error?.data?.value("traceback")?.stringValue, "Traceback: line 3")

        XCTAssertEqual(try client.callStream("plain", timeoutMilliseconds: 2_000).collect().map { $0.serialized() }, ["\"single\""])
        XCTAssertEqual(rpcError { try client.callStream("nope", timeoutMilliseconds: 2_000).next() as Any }?.code, -32601)
        // A plain call of a streaming method gets every item in one array.
        XCTAssertEqual(try client.call("count", params: json("[3]"), timeoutMilliseconds: 2_000).serialized(), "[0,1,2]")
    }

    func testNamespaceGroupFallsThroughOnNoResponders() throws {
        let first = try RPCServer(connection: conn, namespace: "left")
        try first.register("only_left") { _ in JSONValue.string("left") }
        try first.register("both") { _ in JSONValue.string("left") }
        try first.start()
        let second = try RPCServer(connection: conn, namespace: "right")
        try second.register("only_right") { _ in JSONValue.string("right") }
        try second.register("both") { _ in JSONValue.string("right") }
        try second.register("gen") { request in
            try? request.sendItem(JSONValue.integer(1))
            try? request.respond(JSONValue.null())
        }
        try second.start()
        servers += [first, second]
        let ring = try RPCClient(connection: conn, namespaces: ["left", "right"])
        XCTAssertEqual(try ring.call("only_left", timeoutMilliseconds: 2_000).stringValue, "left")
        XCTAssertEqual(try ring.call("only_right", timeoutMilliseconds: 2_000).stringValue, "right")
        XCTAssertEqual(try ring.call("both", timeoutMilliseconds: 2_000).stringValue, "left")
        let missing = rpcError { try ring.call("none", timeoutMilliseconds: 2_000) }
        XCTAssertEqual(missing?.code, -32601)
        XCTAssertEqual(missing?.data.map(plain).flatMap { ($0 as? [String: Any])?["namespaces"] as? [String] }, ["left", "right"])
        let id = try ring.callAsync("only_right")
        XCTAssertEqual(try ring.response(to: id, timeoutMilliseconds: 2_000).stringValue, "right")
        let batch = try ring.callBatch([("only_right", nil), ("only_left", nil), ("none", nil)], timeoutMilliseconds: 2_000)
        XCTAssertEqual(batch.map { (try? $0.get().stringValue) ?? "error" }, ["right", "left", "error"])
        XCTAssertEqual(try ring.callStream("gen", timeoutMilliseconds: 2_000).collect().map { $0.serialized() }, ["1"])
        // When "left" goes away, its methods are served by "right".
        first.stop()
        XCTAssertEqual(try ring.call("both", timeoutMilliseconds: 2_000).stringValue, "right")
    }

    func testDescribeAndMicroDiscovery() throws {
        let rpc = try RPCServer(connection: conn, namespace: "calc", description: "a calculator")
        try rpc.register("math.add", parameters: ParameterList(json: json("[\"a\", {\"name\": \"b\", \"type\": \"integer\", \"required\": false}]")),
                         description: "adds") { _ in JSONValue.integer(0) }
        try rpc.register("echo") { $0 }
        try rpc.start(prefix: "api")
        servers.append(rpc)
        let described = try RPCClient(connection: conn, namespace: "calc").describe(timeoutMilliseconds: 300)
        XCTAssertEqual(described.map(\.method), ["api.echo", "api.math.add"])
        let add = try XCTUnwrap(described.last)
        XCTAssertEqual(add.subject, "rpc.calc.api.math.add")
        XCTAssertEqual(add.description, "adds")
        XCTAssertEqual(add.parameters, ParameterList([Parameter("a"), Parameter("b", type: "integer", required: false)]))
        XCTAssertNil(described.first?.parameters)

        let info = try XCTUnwrap(DiscoveryClient(connection: conn).info(name: "calc", timeoutMilliseconds: 300).first)
        XCTAssertEqual(info.description, "a calculator")
        XCTAssertEqual(Set(info.endpoints.map(\.name)), ["api_math_add", "api_echo"])
        XCTAssertEqual(info.endpoints.first { $0.name == "api_math_add" }?.metadata?["rpc.method"], "api.math.add")
        XCTAssertEqual(info.endpoints.first { $0.name == "api_math_add" }?.queueGroup, "q")
    }

    func testRegistrationMistakes() throws {
        XCTAssertThrowsError(try RPCServer(connection: conn, namespace: "my.app"))
        XCTAssertThrowsError(try RPCServer(connection: conn, namespace: ""))
        XCTAssertThrowsError(try RPCClient(connection: conn, namespaces: []))
        let rpc = try RPCServer(connection: conn, namespace: "mistakes")
        try rpc.register("a.b") { $0 }
        XCTAssertThrowsError(try rpc.register("a.b") { $0 })
        XCTAssertThrowsError(try rpc.register("a_b") { $0 }) { error in
            XCTAssertTrue("\(error)".contains("share the endpoint name"), "\(error)")
        }
        XCTAssertThrowsError(try rpc.register("a.*") { $0 })
        XCTAssertThrowsError(try rpc.register("x", concurrency: 0) { $0 })
        XCTAssertThrowsError(try ParameterList(json: json("[{\"name\": \"a\", \"type\": \"float\"}]")))
        XCTAssertThrowsError(try ParameterList(json: json("[\"a\", \"a\"]")))
        XCTAssertThrowsError(try rpc.start(prefix: "bad prefix"))
        try rpc.start()
        servers.append(rpc)
        XCTAssertThrowsError(try rpc.start())
        // Methods may be added while running.
        try rpc.register("late") { _ in JSONValue.string("late") }
        XCTAssertEqual(try RPCClient(connection: conn, namespace: "mistakes").call("late", timeoutMilliseconds: 2_000).stringValue, "late")
    }

    func testInstancesShareTheLoad() throws {
        let other = try Connection.connect(url: server.url)
        defer { other.close() }
        try calculator("shared")
        try calculator("shared", connection: other)
        let client = try RPCClient(connection: conn, namespace: "shared")
        let ids = try (0..<200).map { _ in try client.callAsync("echo", params: json("[1]")) }
        for id in ids { _ = try client.response(to: id, timeoutMilliseconds: 5_000) }
        // Counted once each handler has returned, which may be just after its reply arrived.
        func counts() -> [Int64] { servers.compactMap { $0.service?.endpoints.first { $0.name == "echo" }?.stats.numRequests } }
        XCTAssertTrue(eventually { counts().reduce(0, +) == 200 }, "\(counts())")
        let shares = counts()
        XCTAssertTrue(shares.allSatisfy { $0 > 0 }, "\(shares)")
    }

    func testServerDiesMidCall() throws {
        let other = try Connection.connect(url: server.url)
        let rpc = try RPCServer(connection: other, namespace: "mortal")
        let received = Collector<Bool>()
        try rpc.register("hang") { request in
            request.keep()
            received.append(true)
        }
        try rpc.start()
        let client = try RPCClient(connection: conn, namespace: "mortal")
        let id = try client.callAsync("hang")
        XCTAssertTrue(eventually { received.count == 1 })
        other.close()
        XCTAssertThrowsError(try client.response(to: id, timeoutMilliseconds: 300)) { error in
            guard case .timeout = error as? NATSError else { return XCTFail("\(error)") }
        }
        try client.cancel(id)
        XCTAssertEqual(rpcError { try client.call("hang", timeoutMilliseconds: 2_000) }?.code, -32601)
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
