import NATS
@testable import NATSRPC
import NATSTestSupport
import XCTest

/// The params forms a described method takes (docs/RPC.md): by position, by name, and both at
/// once (`"*"`), with values by position filling only the parameters before `var_positional`;
/// and the `stream` flag a streaming method is described with.
final class ParameterFormsTests: XCTestCase {
    private func json(_ text: String) -> JSONValue { try! JSONValue.parse(text) }

    /// `def f(a: int, *rest, flag: bool = False, **options)`.
    private let everything = ParameterList([
        Parameter("a", type: "integer"), Parameter("rest", kind: .restPositional),
        Parameter("flag", type: "boolean", required: false), Parameter("options", kind: .restKeyword),
    ])

    private func failure(_ list: ParameterList, _ params: String) -> String? {
        do {
            try list.check(json(params))
            return nil
        } catch let error as RPCError {
            return error.message
        } catch {
            return "\(error)"
        }
    }

    func testValuesByPositionFillOnlyTheParametersBeforeTheRest() {
        XCTAssertNil(failure(everything, "[1, 2, 3]"))  // a=1, rest=[2, 3]: flag is by name only
        XCTAssertNil(failure(everything, "[1, true]"))  // true goes to rest, not to flag
        XCTAssertEqual(failure(everything, "[]"), "Invalid params: missing required parameter 'a'")
        let pair = ParameterList([Parameter("a"), Parameter("b", type: "number")])
        XCTAssertEqual(failure(pair, "[1, 2, 3]"), "Invalid params: expected at most 2 parameters, got 3")
        XCTAssertEqual(failure(pair, "[1, \"x\"]"), "Invalid params: parameter 'b' must be number, got string")
    }

    func testPositionalAndNamedAtOnce() {
        XCTAssertNil(failure(everything, #"{"*": [1, 2, 3], "flag": true, "x": 5}"#))
        XCTAssertNil(failure(everything, #"{"*": [], "a": 1}"#))
        XCTAssertEqual(failure(everything, #"{"*": [1], "a": 2}"#), "Invalid params: parameter 'a' given by position and by name")
        XCTAssertEqual(failure(everything, #"{"*": 1}"#), "Invalid params: '*' must be an array of positional values")
        XCTAssertEqual(failure(everything, #"{"*": ["x"]}"#), "Invalid params: parameter 'a' must be integer, got string")
        XCTAssertEqual(failure(everything, #"{"*": [1], "flag": 3}"#), "Invalid params: parameter 'flag' must be boolean, got integer")
        XCTAssertEqual(failure(everything, #"{"*": [], "flag": true}"#), "Invalid params: missing required parameter 'a'")
        let closed = ParameterList([Parameter("a"), Parameter("b", required: false)])
        XCTAssertNil(failure(closed, #"{"*": [1], "b": 2}"#))
        XCTAssertEqual(failure(closed, #"{"*": [1, 2, 3]}"#), "Invalid params: expected at most 2 parameters, got 3")
        XCTAssertEqual(failure(closed, #"{"*": [1], "c": 2}"#), "Invalid params: unexpected parameter 'c'")
        XCTAssertThrowsError(try ParameterList(json: json(#"["a", "*"]"#)))
        XCTAssertThrowsError(try ParameterList(json: json(#"[{"name": "*"}]"#)))
    }
}

/// Over the wire: the handler gets the params as sent, and `describe()` says which methods
/// stream.
final class ParameterFormsServerTests: ServerTestCase {
    func testTheFormsReachTheHandlerAndStreamingMethodsAreDescribed() throws {
        let conn = try Connection.connect(url: server.url)
        defer { conn.close() }
        let rpc = try RPCServer(connection: conn, namespace: "forms")
        defer { rpc.stop() }
        try rpc.register("echo", parameters: ParameterList([Parameter("a"), Parameter("rest", kind: .restPositional),
                                                            Parameter("flag", required: false)])) { $0 }
        try rpc.register("count", streams: true) { request in
            for index in 0..<2 { try? request.sendItem(JSONValue.integer(index)) }
            try? request.endStream()
        }
        try rpc.start()
        let client = try RPCClient(connection: conn, namespace: "forms")
        let echoed = try client.call("echo", params: JSONValue.parse(#"{"*": [1, 2], "flag": true}"#), timeoutMilliseconds: 2_000)
        XCTAssertEqual(echoed.serialized(), try JSONValue.parse(#"{"*": [1, 2], "flag": true}"#).serialized())
        let described = try client.describe(timeoutMilliseconds: 300)
        XCTAssertEqual(described.map(\.method), ["count", "echo"])
        XCTAssertEqual(described.map(\.streams), [true, false])
        XCTAssertEqual(described.first?.json.bool("stream"), true)
    }
}
