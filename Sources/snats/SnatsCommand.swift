import ArgumentParser
import NATS

struct SnatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snats",
        abstract: "swiftnats command-line tool: publish, subscribe, request, reply, micro services, RPC, JetStream, "
            + "Key-Value, benchmark.",
        version: SwiftNATSVersion.string,
        subcommands: [PubCommand.self, SubCommand.self, RequestCommand.self, ReplyCommand.self, MicroCommand.self,
                      RPCCommand.self, StreamCommand.self, ConsumerCommand.self, JSCommand.self, KVCommand.self, ObjectCommand.self,
                      BenchCommand.self]
    )
}

/// Options every command shares: the servers, credentials, TLS and reconnect behaviour.
/// The flag names follow the `nats` CLI's.
struct ConnectionOptions: ParsableArguments {
    @Option(name: [.short, .long], help: "Server URL(s), comma-separated (or $NATS_URL).")
    var server: String?

    // Not `--name`: `micro serve` names its service with that (natscli's spelling here).
    @Option(name: .customLong("connection-name"), help: "Connection name sent to the server.")
    var connectionName: String = "snats"

    @Option(help: "User name (or put it in the URL).")
    var user: String?

    @Option(help: "Password.")
    var password: String?

    @Option(help: "Authentication token.")
    var token: String?

    @Option(help: "User credentials file (JWT and nkey seed).")
    var creds: String?

    @Option(help: "File holding an nkey seed.")
    var nkey: String?

    @Option(help: "CA certificates (PEM) to verify the server with.")
    var tlsca: String?

    @Option(help: "Client certificate (PEM).")
    var tlscert: String?

    @Option(help: "Client certificate's private key (PEM).")
    var tlskey: String?

    @Flag(help: "Start TLS before the server's INFO (servers with handshake_first).")
    var tlsfirst = false

    @Flag(help: "Do not reconnect when the server goes away.")
    var noReconnect = false

    @Option(help: "Milliseconds to wait between passes through the servers when reconnecting.")
    var reconnectWait: Int64 = 2_000

    @Option(help: "Reconnect attempts per server (-1: forever).")
    var maxReconnects: Int = 60

    func options() throws -> Options {
        var options = try natsCall { try Options(url: server ?? environment("NATS_URL") ?? "nats://127.0.0.1:4222") }
        options.name = connectionName
        options.user = user
        options.password = password
        options.token = token
        options.credentialsFile = creds
        options.nkeySeedFile = nkey
        options.tls.caFile = tlsca
        options.tls.certificateFile = tlscert
        options.tls.keyFile = tlskey
        options.tls.handshakeFirst = tlsfirst
        options.allowReconnect = !noReconnect
        options.reconnectWaitMilliseconds = reconnectWait
        options.maxReconnectAttempts = maxReconnects
        // Say what happens to the link, on stderr, so that piped output stays clean.
        options.onDisconnected = { connection in report("disconnected: \(connection.disconnectReason.map { "\($0)" } ?? "?")") }
        options.onReconnected = { connection in report("reconnected to \(connection.connectedURL ?? "?")") }
        options.onLameDuckMode = { _ in report("server entered lame-duck mode") }
        options.onError = { _, _, error in report("error: \(error)") }
        return options
    }

    func connect() throws -> Connection {
        let options = try options()
        return try natsCall { try Connection.connect(options) }
    }
}

/// One line on stderr.
func report(_ text: String) {
    var line = "snats: \(text)\n"
    line.withUTF8 { _ = fwrite($0.baseAddress, 1, $0.count, stderr) }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ text: String) { description = text }
}

func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    return String(cString: value)
}

/// Runs a NATS call and turns its error into a clean one-line message.
func natsCall<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as NATSError {
        throw CLIError(error.description)
    }
}

func printMessage(_ message: Message, index: Int) {
    var line = "[#\(index)] Received on \"\(message.subject)\""
    if let reply = message.reply { line += " with reply \"\(reply)\"" }
    print(line)
    if let headers = message.headers {
        for entry in headers { for value in entry.values { print("\(entry.name): \(value)") } }
    }
    print(String(decoding: message.payload, as: UTF8.self))
    print("")
}

#if canImport(Glibc)
import Glibc
#endif

/// Reads a synchronous subscription until `count` messages (0: forever), numbering them from 1.
func forEachMessage(of sub: Subscription, count: Int, _ body: (Message, Int) throws -> Void) throws {
    var received = 0
    while count == 0 || received < count {
        do {
            let message = try sub.next(timeoutMilliseconds: 1_000)
            received += 1
            try body(message, received)
            flushStdout()
        } catch NATSError.timeout {
            continue
        } catch let error as NATSError {
            throw CLIError(error.description)
        }
    }
}

/// Stdout is a pipe in scripts and tests: flush each line so readers see it at once.
func flushStdout() { fflush(stdout) }

struct PubCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pub", abstract: "Publish a message.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Subject to publish on.") var subject: String
    @Argument(help: "Payload (default empty).") var data: String = ""
    @Option(help: "Publish this many times.") var count: Int = 1
    @Option(name: .customLong("header"), help: "Header as Key:Value (repeatable).") var headers: [String] = []

    func run() throws {
        let conn = try connection.connect()
        defer { conn.close() }
        let parsed = try parseHeaders(headers)
        try natsCall {
            for _ in 0..<max(1, count) { try conn.publish(subject, payload: Array(data.utf8), headers: parsed) }
            try conn.flush(timeoutMilliseconds: 5_000)
        }
        print("Published \(max(1, count)) message(s) to \"\(subject)\"")
    }
}

func parseHeaders(_ items: [String]) throws -> Headers? {
    guard !items.isEmpty else { return nil }
    var headers = Headers()
    for item in items {
        guard let colon = item.firstIndex(of: ":") else { throw CLIError("header \"\(item)\" is not Key:Value") }
        let value = item[item.index(after: colon)...].drop { $0 == " " }
        try natsCall { try headers.add(String(item[..<colon]), String(value)) }
    }
    return headers
}

struct SubCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "sub", abstract: "Subscribe and print messages.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Subject (wildcards * and > allowed).") var subject: String
    @Option(help: "Queue group.") var queue: String?
    @Option(help: "Exit after this many messages (0 = never).") var count: Int = 0

    func run() throws {
        let conn = try connection.connect()
        defer { conn.close() }
        let sub = try natsCall { try conn.subscribeSync(subject, queue: queue) }
        try natsCall { try conn.flush(timeoutMilliseconds: 5_000) }
        print("Listening on \"\(subject)\"" + (queue.map { " in queue group \"\($0)\"" } ?? ""))
        flushStdout()
        try forEachMessage(of: sub, count: count) { message, index in
            printMessage(message, index: index)
        }
    }
}

struct RequestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "request", abstract: "Send a request and print the reply.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Subject.") var subject: String
    @Argument(help: "Payload.") var data: String = ""
    @Option(help: "Timeout in milliseconds.") var timeout: Int64 = 2_000
    @Option(name: .customLong("header"), help: "Header as Key:Value (repeatable).") var headers: [String] = []

    func run() throws {
        let conn = try connection.connect()
        defer { conn.close() }
        let parsed = try parseHeaders(headers)
        let reply = try natsCall {
            try conn.request(subject, payload: Array(data.utf8), headers: parsed, timeoutMilliseconds: timeout)
        }
        if let headers = reply.headers {
            for entry in headers { for value in entry.values { print("\(entry.name): \(value)") } }
        }
        print(String(decoding: reply.payload, as: UTF8.self))
    }
}

struct ReplyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "reply", abstract: "Answer requests with a fixed payload.")

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Subject.") var subject: String
    @Argument(help: "Reply payload.") var data: String
    @Option(help: "Queue group.") var queue: String = "snats"
    @Option(help: "Exit after this many requests (0 = never).") var count: Int = 0

    func run() throws {
        let conn = try connection.connect()
        defer { conn.close() }
        let sub = try natsCall { try conn.subscribeSync(subject, queue: queue) }
        try natsCall { try conn.flush(timeoutMilliseconds: 5_000) }
        print("Replying on \"\(subject)\"")
        flushStdout()
        try forEachMessage(of: sub, count: count) { message, index in
            printMessage(message, index: index)
            if message.reply != nil { try conn.respond(to: message, payload: Array(data.utf8)) }
        }
        try natsCall { try conn.flush(timeoutMilliseconds: 5_000) }
    }
}

/// Keeps a demo server up: `seconds` long, or (0) for as long as `running` says.
func serve(seconds: Int, while running: () -> Bool) {
    flushStdout()
    if seconds > 0 {
        sleep(UInt32(seconds))
    } else {
        while running() { sleep(1) }
    }
}
