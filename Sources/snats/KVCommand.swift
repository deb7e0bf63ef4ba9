import ArgumentParser
import NATS
import NATSJetStream

/// `snats js ...`: publishing to streams and pulling, in the style of the `nats` CLI.
struct JSCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "js", abstract: "Publish to streams, fetch from consumers, account info.",
        subcommands: [JSPublishCommand.self, JSFetchCommand.self, JSInfoCommand.self])
}

struct JSPublishCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "pub", abstract: "Publish to a stream and print its ack.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Subject.") var subject: String
    @Argument(help: "Body.") var body: String = ""
    @Option(help: "Message id (de-duplication).") var msgId: String?
    @Option(help: "Publish this many (asynchronously, then wait for every ack).") var count = 1
    @Option(name: .customLong("header"), help: "Header Key:Value (repeatable).") var headers: [String] = []

    func run() throws {
        let js = try jetStream.context()
        let headerBlock = try parseHeaders(headers)
        if count == 1 {
            let ack = try jsCall {
                try js.publish(subject, payload: Array(body.utf8), headers: headerBlock, options: PublishOptions(messageID: msgId))
            }
            print("Stored in stream \(ack.stream) sequence \(ack.sequence)\(ack.duplicate ? " (duplicate)" : "")")
            return
        }
        let failures = Box()
        for index in 0..<count {
            let id = msgId.map { "\($0)-\(index)" }
            try jsCall {
                try js.publisher.publish(subject, payload: Array(body.utf8), headers: headerBlock, options: PublishOptions(messageID: id)) {
                    if case .failure(let error) = $0 { failures.add("\(error)") }
                }
            }
        }
        try jsCall { try js.publisher.waitComplete(timeoutMilliseconds: max(10_000, js.timeoutMilliseconds)) }
        let failed = failures.all
        print("Published \(count - failed.count) of \(count) messages to \"\(subject)\"")
        if let first = failed.first { throw CLIError("\(failed.count) failed, first: \(first)") }
    }
}

/// Failures gathered by completions.
final class Box {
    private let lock = Condition()
    private var items: [String] = []
    func add(_ item: String) { lock.withLock { items.append(item) } }
    var all: [String] { lock.withLock { items } }
}

struct JSFetchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "fetch", abstract: "Fetch from a pull consumer.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Stream name.") var stream: String
    @Argument(help: "Consumer name.") var consumer: String
    @Option(help: "How many messages.") var batch = 1
    @Option(help: "Milliseconds to wait for them.") var wait: Int64 = 5_000
    @Flag(help: "Do not acknowledge them.") var noAck = false

    func run() throws {
        try fetchAndPrint(try jetStream.context(), stream: stream, consumer: consumer, count: batch, wait: wait, ack: !noAck)
    }
}

struct JSInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "The account's JetStream usage, as JSON.")
    @OptionGroup var jetStream: JetStreamOptions

    func run() throws { print(try jsCall { try jetStream.context().accountInfo() }.serialized()) }
}

/// `snats kv ...`: Key-Value buckets.
struct KVCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kv", abstract: "Key-Value buckets: add, put, get, del, purge, ls, history, watch, rm.",
        subcommands: [KVAddCommand.self, KVPutCommand.self, KVGetCommand.self, KVDeleteCommand.self, KVPurgeCommand.self,
                      KVListCommand.self, KVHistoryCommand.self, KVWatchCommand.self, KVRemoveCommand.self])
}

struct KVAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Create a bucket.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Bucket.") var bucket: String
    @Option(help: "Revisions kept per key (1-64).") var history = 1
    @Option(help: "Seconds a value lives (0: for ever).") var ttl = 0.0
    @Option(help: "file or memory.") var storage = "file"
    @Option(help: "Replicas.") var replicas = 1

    func run() throws {
        let config = JSONValue.object()
        config.set("history", history)
        config.set("ttl", Int64(ttl * nanosecondsPerSecond))
        config.set("storage", storage)
        config.set("replicas", replicas)
        let kv = try jsCall { try KeyValue.create(try jetStream.context(), bucket: bucket, config: config) }
        print("Created bucket \(kv.bucket)")
    }
}

struct KVPutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "put", abstract: "Store a value.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Bucket.") var bucket: String
    @Argument(help: "Key.") var key: String
    @Argument(help: "Value.") var value: String

    func run() throws {
        let revision = try jsCall { try KeyValue.bind(try jetStream.context(), bucket: bucket).put(key, Array(value.utf8)) }
        print(revision)
    }
}

struct KVGetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Print a value.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Bucket.") var bucket: String
    @Argument(help: "Key.") var key: String
    @Option(help: "This revision instead of the last.") var revision: UInt64?
    @Flag(help: "Print only the value.") var raw = false

    func run() throws {
        let entry = try jsCall { try KeyValue.bind(try jetStream.context(), bucket: bucket).get(key, revision: revision) }
        if raw { print(String(decoding: entry.value, as: UTF8.self)) } else { printEntry(entry) }
    }
}

func printEntry(_ entry: KeyValueEntry) {
    let value = entry.operation == .put ? String(decoding: entry.value, as: UTF8.self) : entry.operation.rawValue
    print("\(entry.bucket) > \(entry.key) revision \(entry.revision): \(value)")
}

struct KVDeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "del", abstract: "Delete a key (its history stays).")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Bucket.") var bucket: String
    @Argument(help: "Key.") var key: String

    func run() throws {
        try jsCall { try KeyValue.bind(try jetStream.context(), bucket: bucket).delete(key) }
        print("Deleted \(key)")
    }
}

struct KVPurgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "purge", abstract: "Purge a key and its history.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Bucket.") var bucket: String
    @Argument(help: "Key.") var key: String

    func run() throws {
        try jsCall { try KeyValue.bind(try jetStream.context(), bucket: bucket).purge(key) }
        print("Purged \(key)")
    }
}

struct KVListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the buckets, or a bucket's keys.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Bucket (the buckets when omitted).") var bucket: String?

    func run() throws {
        let js = try jetStream.context()
        let names = try jsCall { try bucket.map { try KeyValue.bind(js, bucket: $0).keys() } ?? KeyValue.buckets(js) }
        for name in names.sorted() { print(name) }
    }
}

struct KVHistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "history", abstract: "Every revision kept of a key.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Bucket.") var bucket: String
    @Argument(help: "Key.") var key: String

    func run() throws {
        for entry in try jsCall({ try KeyValue.bind(try jetStream.context(), bucket: bucket).history(key) }) { printEntry(entry) }
    }
}

struct KVWatchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "watch", abstract: "Print the values, then each change.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Bucket.") var bucket: String
    @Argument(help: "Key filter (all when omitted).") var keys: String = ">"
    @Option(help: "Stop after this many entries, the current values included (0: never).") var count = 0

    func run() throws {
        let watcher = try jsCall { try KeyValue.bind(try jetStream.context(), bucket: bucket).watch([keys]) }
        defer { watcher.stop() }
        var changes = 0
        while count == 0 || changes < count {
            do {
                guard let entry = try watcher.next(timeoutMilliseconds: 1_000) else {
                    print("-- initial values done --")
                    flushStdout()
                    continue
                }
                printEntry(entry)
                flushStdout()
                changes += 1
            } catch NATSError.timeout {
                continue
            }
        }
    }
}

struct KVRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a bucket.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Bucket.") var bucket: String

    func run() throws {
        try jsCall { try KeyValue.delete(try jetStream.context(), bucket: bucket) }
        print("Deleted bucket \(bucket)")
    }
}
