import ArgumentParser
import NATS
import NATSJetStream

struct ConsumerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "consumer", abstract: "Manage JetStream consumers.",
        subcommands: [ConsumerAddCommand.self, ConsumerInfoCommand.self, ConsumerListCommand.self, ConsumerRemoveCommand.self,
                      ConsumerNextCommand.self])
}

struct ConsumerAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Create a durable pull consumer.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Stream name.") var stream: String
    @Argument(help: "Consumer name.") var name: String
    @Option(help: "Only messages on this subject.") var filter: String?
    @Option(help: "explicit, all or none.") var ack = "explicit"
    @Option(help: "all, new, last or last_per_subject.") var deliver = "all"
    @Option(help: "Deliveries of a message at most (-1: no limit).") var maxDeliver = -1
    @Option(help: "Seconds before an unacknowledged message comes again.") var ackWait = 30.0
    @Option(help: "More of the ConsumerConfig as JSON (overrides the flags).") var config: String?

    func run() throws {
        let consumer = JSONValue.object()
        consumer.set("durable_name", name)
        consumer.set("ack_policy", ack)
        consumer.set("deliver_policy", deliver)
        consumer.set("max_deliver", maxDeliver)
        consumer.set("ack_wait", Int64(ackWait * nanosecondsPerSecond))
        if let filter { consumer.set("filter_subject", filter) }
        let extra = try document(config)
        for key in extra.keys { if let value = extra.value(key) { consumer.set(key, value) } }
        printConsumerInfo(try jsCall { try jetStream.context().addConsumer(stream: stream, consumer) })
    }
}

func printConsumerInfo(_ info: JSONValue) {
    let config = info.value("config")
    print("Consumer \(info.string("name") ?? "?") of stream \(info.string("stream_name") ?? "?")")
    print("  Filter: \(config?.string("filter_subject") ?? "(all)"), ack: \(config?.string("ack_policy") ?? "?"), deliver: \(config?.string("deliver_policy") ?? "?")")
    print("  Pending: \(info.int("num_pending") ?? 0), waiting for ack: \(info.int("num_ack_pending") ?? 0), redelivered: \(info.int("num_redelivered") ?? 0)")
}

struct ConsumerInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show a consumer.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Stream name.") var stream: String
    @Argument(help: "Consumer name.") var name: String
    @Flag(help: "Print the info as JSON.") var json = false

    func run() throws {
        let info = try jsCall { try jetStream.context().consumerInfo(stream: stream, consumer: name) }
        if json { print(info.serialized()) } else { printConsumerInfo(info) }
    }
}

struct ConsumerListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List a stream's consumers.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Stream name.") var stream: String

    func run() throws {
        let infos = try jsCall { try jetStream.context().consumers(stream: stream) }
        printTable(["CONSUMER", "PENDING", "ACK PENDING", "FILTER"], infos.map { info in
            [info.string("name") ?? "", "\(info.int("num_pending") ?? 0)", "\(info.int("num_ack_pending") ?? 0)",
             info.value("config")?.string("filter_subject") ?? ""]
        })
    }
}

struct ConsumerRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a consumer.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Stream name.") var stream: String
    @Argument(help: "Consumer name.") var name: String

    func run() throws {
        try jsCall { try jetStream.context().deleteConsumer(stream: stream, consumer: name) }
        print("Deleted consumer \(name) of stream \(stream)")
    }
}

struct ConsumerNextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "next", abstract: "Fetch messages from a pull consumer, print and acknowledge them.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Stream name.") var stream: String
    @Argument(help: "Consumer name.") var name: String
    @Option(name: .shortAndLong, help: "How many messages.") var count = 1
    @Option(help: "Milliseconds to wait for them.") var wait: Int64 = 5_000
    @Flag(help: "Do not acknowledge them.") var noAck = false

    func run() throws {
        try fetchAndPrint(try jetStream.context(), stream: stream, consumer: name, count: count, wait: wait, ack: !noAck)
    }
}

/// Fetches up to `count` messages, prints each (with its stream sequence) and acknowledges it.
func fetchAndPrint(_ js: JetStream, stream: String, consumer: String, count: Int, wait: Int64, ack: Bool) throws {
    let result = try jsCall { try js.fetch(stream: stream, consumer: consumer, FetchRequest(batch: count, expiresMilliseconds: wait)) }
    if result.messages.isEmpty, let error = result.error { throw CLIError("\(error)") }
    for message in result.messages {
        printMessage(message, index: Int(message.jetStreamMetadata?.streamSequence ?? 0))
        if ack { try jsCall { try message.acknowledgeSync(timeoutMilliseconds: js.timeoutMilliseconds) } }
    }
    flushStdout()
}
