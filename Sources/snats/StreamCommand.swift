import ArgumentParser
import NATS
import NATSJetStream

/// `snats stream ...` and `snats consumer ...`: JetStream management in the style of the `nats` CLI.
struct StreamCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream", abstract: "Manage JetStream streams.",
        subcommands: [StreamAddCommand.self, StreamInfoCommand.self, StreamListCommand.self, StreamRemoveCommand.self,
                      StreamPurgeCommand.self, StreamGetCommand.self])
}

/// The connection and a JetStream context on it.
struct JetStreamOptions: ParsableArguments {
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "JetStream domain.") var domain: String?
    @Option(help: "Milliseconds an API call waits.") var apiTimeout: Int64 = 5_000

    func context() throws -> JetStream {
        let conn = try connection.connect()
        return try natsCall { try JetStream(connection: conn, domain: domain, timeoutMilliseconds: apiTimeout) }
    }
}

/// A JSON document given on the command line (`--config`), or an empty object.
func document(_ text: String?) throws -> JSONValue {
    guard let text else { return JSONValue.object() }
    do {
        let value = try JSONValue.parse(text)
        guard value.isObject else { throw CLIError("--config must be a JSON object") }
        return value
    } catch let error as NATSError {
        throw CLIError("--config: \(error)")
    }
}

let nanosecondsPerSecond = 1_000_000_000.0

struct StreamAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Create a stream.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Stream name.") var name: String
    @Option(help: "Subjects, comma-separated (default: the name).") var subjects: String?
    @Option(help: "file or memory.") var storage = "file"
    @Option(help: "limits, interest or workqueue.") var retention = "limits"
    @Option(help: "Replicas.") var replicas = 1
    @Option(help: "Most messages kept (-1: no limit).") var maxMsgs = -1
    @Option(help: "Most bytes kept (-1: no limit).") var maxBytes = -1
    @Option(help: "Seconds a message is kept (0: for ever).") var maxAge = 0.0
    @Option(help: "Seconds message ids are remembered for de-duplication.") var dupeWindow: Double?
    @Flag(help: "Allow direct gets from any replica.") var allowDirect = false
    @Option(help: "More of the StreamConfig as JSON (overrides the flags).") var config: String?

    func run() throws {
        let js = try jetStream.context()
        let stream = JSONValue.object()
        stream.set("name", name)
        let list = JSONValue.array()
        for subject in (subjects ?? name).split(separator: ",") { list.append(JSONValue.string(String(subject))) }
        stream.set("subjects", list)
        stream.set("storage", storage)
        stream.set("retention", retention)
        stream.set("num_replicas", replicas)
        stream.set("max_msgs", maxMsgs)
        stream.set("max_bytes", maxBytes)
        stream.set("max_age", Int64(maxAge * nanosecondsPerSecond))
        if let dupeWindow { stream.set("duplicate_window", Int64(dupeWindow * nanosecondsPerSecond)) }
        if allowDirect { stream.set("allow_direct", true) }
        let extra = try document(config)
        for key in extra.keys { if let value = extra.value(key) { stream.set(key, value) } }
        printStreamInfo(try jsCall { try js.addStream(stream) })
    }
}

func printStreamInfo(_ info: JSONValue) {
    let config = info.value("config")
    let state = info.value("state")
    print("Stream \(config?.string("name") ?? "?")")
    print("  Subjects: \(config?.strings("subjects").joined(separator: ", ") ?? "")")
    print("  Storage: \(config?.string("storage") ?? "?"), retention: \(config?.string("retention") ?? "?"), replicas: \(config?.int("num_replicas") ?? 1)")
    print("  Messages: \(state?.int("messages") ?? 0), bytes: \(state?.int("bytes") ?? 0), first seq: \(state?.int("first_seq") ?? 0), last seq: \(state?.int("last_seq") ?? 0), consumers: \(state?.int("consumer_count") ?? 0)")
}

struct StreamInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show a stream.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Stream name.") var name: String
    @Flag(help: "Print the info as JSON.") var json = false

    func run() throws {
        let info = try jsCall { try jetStream.context().streamInfo(name) }
        if json { print(info.serialized()) } else { printStreamInfo(info) }
    }
}

struct StreamListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the streams.")
    @OptionGroup var jetStream: JetStreamOptions
    @Flag(help: "Print the infos as JSON, one per line.") var json = false

    func run() throws {
        let infos = try jsCall { try jetStream.context().streams() }
        if json { return infos.forEach { print($0.serialized()) } }
        printTable(["STREAM", "MESSAGES", "BYTES", "SUBJECTS"], infos.map { info in
            let config = info.value("config")
            let state = info.value("state")
            return [config?.string("name") ?? "", "\(state?.int("messages") ?? 0)", "\(state?.int("bytes") ?? 0)",
                    config?.strings("subjects").joined(separator: ",") ?? ""]
        })
    }
}

struct StreamRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a stream and its messages.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Stream name.") var name: String

    func run() throws {
        try jsCall { try jetStream.context().deleteStream(name) }
        print("Deleted stream \(name)")
    }
}

struct StreamPurgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "purge", abstract: "Remove a stream's messages.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Stream name.") var name: String
    @Option(help: "Only the messages on this subject.") var subject: String?
    @Option(help: "Keep the last N.") var keep: UInt64?
    @Option(help: "Remove those below this sequence.") var seq: UInt64?

    func run() throws {
        let purged = try jsCall {
            try jetStream.context().purgeStream(name, PurgeRequest(filter: subject, sequence: seq, keep: keep))
        }
        print("Purged \(purged) messages from \(name)")
    }
}

struct StreamGetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Show a stored message.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Stream name.") var name: String
    @Argument(help: "Sequence.") var seq: UInt64?
    @Option(help: "The last message on this subject instead.") var lastFor: String?

    func run() throws {
        guard seq != nil || lastFor != nil else { throw CLIError("give a sequence or --last-for SUBJECT") }
        let selector: MessageSelector = lastFor.map { .lastBySubject($0) } ?? .sequence(seq ?? 0)
        let message = try jsCall { try jetStream.context().getMessage(stream: name, selector) }
        printMessage(message, index: Int(message.headers?["Nats-Sequence"] ?? "0") ?? 0)
    }
}

/// Runs a JetStream call and turns its error into a clean one-line message.
func jsCall<T>(_ body: () throws -> T) throws -> T {
    do {
        return try natsCall(body)
    } catch let error as JetStreamError {
        throw CLIError(error.description)
    }
}
