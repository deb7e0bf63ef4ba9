#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import NATS
import NATSRPC

/// `snats rpc ...`: call a namespace's methods, list them, or serve a demo namespace.
struct RPCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc",
        abstract: "Call RPC methods (swiftnats' namespaced JSON-RPC over NATS), list them, or serve a demo namespace.",
        subcommands: [RPCCallCommand.self, RPCListCommand.self, RPCServeCommand.self]
    )
}

/// Runs an RPC call and turns its failures into one-line messages (an RPC error with its data).
private func rpcCall<T>(_ body: () throws -> T) throws -> T {
    do {
        return try natsCall(body)
    } catch let error as RPCError {
        var text = error.description
        if let data = error.data, !data.isNull { text += "\n  data: \(data.serialized())" }
        throw CLIError(text)
    } catch let error as RPCConfigError {
        throw CLIError(error.description)
    }
}

struct RPCCallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call", abstract: "Call a method and print its result as JSON (or each item of a stream, one per line).")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Namespace; several, comma-separated, form a group tried in order.") var namespace: String
    @Argument(help: "Method, with the server's prefix (math.add, api.math.add).") var method: String
    @Argument(help: "Params: a JSON object or array (none when omitted).") var params: String?
    @Option(help: "Milliseconds to wait for the answer (for each item with --stream).") var timeout: Int64 = 5_000
    @Flag(help: "Read a streamed result, printing each item.") var stream = false

    func run() throws {
        let parsed: JSONValue?
        do {
            parsed = try params.map { try JSONValue.parse($0) }
        } catch {
            throw CLIError("params are not JSON: \(error)")
        }
        let conn = try connection.connect()
        defer { conn.close() }
        try rpcCall {
            let client = try RPCClient(connection: conn, namespaces: namespace.split(separator: ",").map(String.init))
            if stream {
                let items = try client.callStream(method, params: parsed, timeoutMilliseconds: timeout)
                while let item = try items.next() { print(item.serialized()) }
            } else {
                print(try client.call(method, params: parsed, timeoutMilliseconds: timeout).serialized())
            }
        }
    }
}

struct RPCListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List a namespace's methods and their parameters.")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Namespace; several, comma-separated, form a group.") var namespace: String
    @Option(help: "Milliseconds to gather the servers' answers.") var timeout: Int64 = 1_000
    @Flag(help: "Print each method as JSON, one per line.") var json = false

    func run() throws {
        let conn = try connection.connect()
        defer { conn.close() }
        let methods = try rpcCall {
            try RPCClient(connection: conn, namespaces: namespace.split(separator: ",").map(String.init))
                .describe(timeoutMilliseconds: timeout)
        }
        if json { return methods.forEach { print($0.json.serialized()) } }
        if methods.isEmpty { return print("No methods found in \(namespace)") }
        printTable(["METHOD", "PARAMS", "NAMESPACE", "INSTANCES", "DESCRIPTION"], methods.map {
            [$0.method + ($0.streams ? " (stream)" : ""), $0.parameters.map(Self.signature) ?? "(unchecked)", $0.namespace,
             String($0.instances), $0.description]
        })
    }

    /// `(a: number, b?: string, *rest, **options)`
    static func signature(_ list: ParameterList) -> String {
        "(" + list.parameters.map { parameter in
            switch parameter.kind {
            case .restPositional: return "*" + parameter.name
            case .restKeyword: return "**" + parameter.name
            case .single: return parameter.name + (parameter.required ? "" : "?") + (parameter.type.map { ": " + $0 } ?? "")
            }
        }.joined(separator: ", ") + ")"
    }
}

struct RPCServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a demo namespace: echo (returns its params), add (a, b), count (streams 0..n-1), fail.")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Namespace.") var namespace: String = "snats-demo"
    @Option(help: "Method prefix (api: api.echo).") var prefix: String = ""
    @Option(help: "Stop after this many seconds (0 = run until interrupted).") var seconds: Int = 0

    func run() throws {
        let conn = try connection.connect()
        let server = try rpcCall { () -> RPCServer in
            let server = try RPCServer(connection: conn, namespace: namespace, description: "snats rpc serve")
            try server.register("echo", description: "returns its params") { $0 }
            try server.register("add", parameters: ParameterList([Parameter("a", type: "number"), Parameter("b", type: "number")]),
                                description: "a + b") { params in
                let values = params.isArray ? params.items : [params.value("a"), params.value("b")].compactMap { $0 }
                return JSONValue.number(values.reduce(0) { $0 + ($1.numberValue ?? 0) })
            }
            try server.register("count", parameters: ParameterList([Parameter("n", type: "integer")]),
                                description: "streams 0 .. n-1", streams: true) { request in
                let n = (request.params.isArray ? request.params.items.first : request.params.value("n"))?.integerValue ?? 0
                do {
                    for index in 0..<max(0, n) { try request.sendItem(JSONValue.integer(index)) }
                    try request.endStream()
                } catch {
                    try? request.fail(internal: "\(error)")
                }
            }
            try server.register("fail", description: "always fails") { _ in throw CLIError("asked to fail") }
            try server.start(prefix: prefix)
            return server
        }
        print("Serving namespace \(namespace) (instance \(server.service?.id ?? "?")) on \(server.root).\(namespace).\(prefix.isEmpty ? "" : prefix + ".")*")
        serve(seconds: seconds) { server.isRunning }
        server.stop()
        conn.close()
    }
}
