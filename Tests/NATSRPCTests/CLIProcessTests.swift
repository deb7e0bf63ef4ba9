import Foundation
import NATS
import NATSMicro
import NATSRPC
import NATSTestSupport
import XCTest

/// `snats` (the CLI, built beside this test bundle) serving from another process: RPC and
/// micro. Each server is used as soon as it says it is serving, which must hold at once.
final class CLIProcessTests: ServerTestCase {
    private var snats: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("snats")
    }

    /// Starts `snats arguments...` and waits for the first line of its output that contains
    /// `ready`: what a script would wait for.
    private func launch(_ arguments: [String], readyLine ready: String) throws -> Process {
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: snats.path), "snats is built with the tests: \(snats.path)")
        let process = Process()
        process.executableURL = snats
        process.arguments = arguments + ["--server", server.url]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        var seen = Data()
        let deadline = Date().addingTimeInterval(20)
        while !String(decoding: seen, as: UTF8.self).contains(ready) {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty || Date() > deadline {
                process.terminate()
                throw NATSError.timeout("snats \(arguments) never printed \"\(ready)\": \(String(decoding: seen, as: UTF8.self))")
            }
            seen.append(chunk)
        }
        return process
    }

    private func cli(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let run = Process()
        run.executableURL = snats
        run.arguments = arguments + ["--server", server.url]
        let pipe = Pipe()
        run.standardOutput = pipe
        run.standardError = pipe
        try run.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        run.waitUntilExit()
        return (run.terminationStatus, String(decoding: output, as: UTF8.self))
    }

    private func json(_ text: String) throws -> JSONValue { try JSONValue.parse(text) }

    private func rpcError(_ body: () throws -> Any) -> RPCError? {
        do {
            _ = try body()
            return nil
        } catch {
            return error as? RPCError
        }
    }

    /// `snats rpc serve` serves a namespace from another process; this process calls it the
    /// moment it says it serves, lists it, and sees it go.
    func testRPCServerInAnotherProcess() throws {
        let process = try launch(["rpc", "serve", "remote", "--prefix", "api"], readyLine: "Serving namespace remote")
        defer { if process.isRunning { process.terminate() } }
        let conn = try Connection.connect(url: server.url)
        defer { conn.close() }
        let client = try RPCClient(connection: conn, namespace: "remote")
        XCTAssertEqual(try client.call("api.echo", params: json("[1]"), timeoutMilliseconds: 5_000).serialized(), "[1]")
        XCTAssertEqual(try client.call("api.add", params: json("{\"a\": 40, \"b\": 2}"), timeoutMilliseconds: 5_000).numberValue, 42)
        XCTAssertEqual(try client.callStream("api.count", params: json("[3]"), timeoutMilliseconds: 5_000).collect().map { $0.serialized() },
                       ["0", "1", "2"])
        // An empty stream is an empty sequence, streamed or not.
        XCTAssertEqual(try client.callStream("api.count", params: json("[0]"), timeoutMilliseconds: 5_000).collect().count, 0)
        XCTAssertEqual(try client.call("api.count", params: json("[0]"), timeoutMilliseconds: 5_000).serialized(), "[]")
        XCTAssertEqual(rpcError { try client.call("api.fail", timeoutMilliseconds: 5_000) }?.code, -32603)
        XCTAssertEqual(try client.describe(timeoutMilliseconds: 1_000).map(\.method), ["api.add", "api.count", "api.echo", "api.fail"])

        // The CLI's client side against it.
        XCTAssertEqual(try cli(["rpc", "call", "remote", "api.add", "{\"a\": 1, \"b\": 2}"]).output, "3.0\n")
        XCTAssertEqual(try cli(["rpc", "call", "remote", "api.count", "[2]", "--stream"]).output, "0\n1\n")
        XCTAssertEqual(try cli(["rpc", "call", "remote", "api.count", "[0]", "--stream"]).output, "")
        let missing = try cli(["rpc", "call", "remote", "api.nope"])
        XCTAssertNotEqual(missing.status, 0)
        XCTAssertTrue(missing.output.contains("RPC error -32601: Method not found: api.nope"), missing.output)
        let listed = try cli(["rpc", "ls", "remote", "--timeout", "1000"])
        let lines = listed.output.split(separator: "\n")
        XCTAssertTrue(lines.contains { $0.hasPrefix("api.add ") && $0.contains("(a: number, b: number)") }, listed.output)
        XCTAssertTrue(lines.contains { $0.hasPrefix("api.count (stream) ") }, listed.output)
        XCTAssertEqual(try cli(["rpc", "ls", "remote", "--timeout", "1000", "--json"]).output.split(separator: "\n").count, 4)
        process.terminate()
        process.waitUntilExit()
        XCTAssertTrue(eventually { (try? client.call("api.echo", timeoutMilliseconds: 1_000)) == nil })
        XCTAssertEqual(rpcError { try client.call("api.echo", timeoutMilliseconds: 2_000) }?.code, -32601)
    }

    /// `snats micro serve --name N`: the service is named N (not the default; the connection
    /// is named with --connection-name), and answers the moment it says so.
    func testMicroServeIsNamedAndReadyWhenItSaysSo() throws {
        let conn = try Connection.connect(url: server.url)
        defer { conn.close() }
        for round in 0..<3 {
            let process = try launch(
                ["micro", "serve", "--name", "named-echo-\(round)", "--subject", "cli.echo.\(round)", "--connection-name", "cli-test"],
                readyLine: "answering on")
            defer {
                process.terminate()
                process.waitUntilExit()
            }
            let reply = try conn.request("cli.echo.\(round)", payload: Array("hi".utf8), timeoutMilliseconds: 5_000)
            XCTAssertEqual(String(decoding: reply.payload, as: UTF8.self), "hi")
            let found = try DiscoveryClient(connection: conn).info(name: "named-echo-\(round)", timeoutMilliseconds: 1_000)
            XCTAssertEqual(found.map(\.service.name), ["named-echo-\(round)"])
        }
        XCTAssertEqual(try DiscoveryClient(connection: conn).ping(name: "snats-echo", timeoutMilliseconds: 300).count, 0)
    }
}
