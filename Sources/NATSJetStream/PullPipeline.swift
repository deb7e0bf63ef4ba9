import NATS

/// How a continuous consume keeps pulls going (nats.go's `Consume` defaults).
public struct ConsumeOptions: Equatable {
    /// Messages asked for at most at once (in flight over all open pulls).
    public var maxMessages: Int
    /// Bytes asked for at most at once (0: no byte limit).
    public var maxBytes: Int
    /// How long each pull stays open on the server.
    public var expiresMilliseconds: Int64
    /// The idle heartbeat asked for; 0 picks half the expiry, at most 15 s.
    public var heartbeatMilliseconds: Int64
    /// A new pull goes out once this many messages or fewer are still asked for (0: half).
    public var thresholdMessages: Int

    public init(
        maxMessages: Int = 500, maxBytes: Int = 0, expiresMilliseconds: Int64 = 30_000, heartbeatMilliseconds: Int64 = 0,
        thresholdMessages: Int = 0
    ) {
        self.maxMessages = maxMessages
        self.maxBytes = maxBytes
        self.expiresMilliseconds = expiresMilliseconds
        self.heartbeatMilliseconds = heartbeatMilliseconds
        self.thresholdMessages = thresholdMessages
    }

    var heartbeat: Int64 { heartbeatMilliseconds > 0 ? heartbeatMilliseconds : min(expiresMilliseconds / 2, 15_000) }
    var threshold: Int { thresholdMessages > 0 ? min(thresholdMessages, maxMessages) : maxMessages / 2 }

    func validate() throws {
        guard maxMessages > 0 else { throw NATSError.invalidArgument("max messages must be positive") }
        guard maxBytes >= 0 else { throw NATSError.invalidArgument("max bytes cannot be negative") }
        guard expiresMilliseconds >= 1_000 else { throw NATSError.invalidArgument("pulls expire after 1 s at least") }
        guard expiresMilliseconds <= Durations.maxMilliseconds, heartbeatMilliseconds <= Durations.maxMilliseconds else {
            throw NATSError.invalidArgument("expiry and heartbeat are at most \(Durations.maxMilliseconds) ms")
        }
        guard heartbeat * 2 <= expiresMilliseconds else {
            throw NATSError.invalidArgument("the idle heartbeat must be at most half the expiry")
        }
    }

    /// The body of a pull for `batch` messages.
    func pullBody(batch: Int, bytes: Int) -> [UInt8] {
        var text = "{\"batch\":\(batch),\"expires\":\(expiresMilliseconds * 1_000_000),\"idle_heartbeat\":\(heartbeat * 1_000_000)"
        if bytes > 0 { text += ",\"max_bytes\":\(bytes)" }
        return Array((text + "}").utf8)
    }
}

/// The accounting of a continuous consume, as a state machine that returns what to do
/// (testable without a server): how many messages and bytes the open pulls still ask for, and
/// when to ask for more. Statuses that end a pull give back what it still asked for
/// (`Nats-Pending-Messages`, `Nats-Pending-Bytes`).
public struct PullPipeline: Equatable {
    public enum Action: Equatable {
        /// Hand the message on.
        case deliver
        /// A heartbeat, or a pull that ended: nothing for the application.
        case none
        /// The consumer is gone or refuses pulls: stop (or, ordered, start again).
        case terminal(status: Int, description: String)
        /// Pulls failed in a way a new pull may fix (a leadership change, too many pulls):
        /// forget what was asked and ask again.
        case reset(status: Int, description: String)
    }

    let options: ConsumeOptions
    public private(set) var pendingMessages = 0
    public private(set) var pendingBytes = 0

    public init(options: ConsumeOptions) { self.options = options }

    /// The pull to send now, if any: what brings the asked-for count back to the maximum once
    /// it fell to the threshold (or to nothing, the first time).
    public mutating func nextPull() -> (batch: Int, bytes: Int)? {
        let low = pendingMessages <= options.threshold
            || (options.maxBytes > 0 && pendingBytes <= options.maxBytes / 2)
        guard low else { return nil }
        let batch = options.maxMessages - pendingMessages
        let bytes = options.maxBytes > 0 ? options.maxBytes - pendingBytes : 0
        guard batch > 0, options.maxBytes == 0 || bytes > 0 else { return nil }
        pendingMessages += batch
        pendingBytes += bytes
        return (batch, bytes)
    }

    /// Forgets every open pull (a reconnect, missed heartbeats: they may be gone).
    public mutating func forgetPulls() {
        pendingMessages = 0
        pendingBytes = 0
    }

    public mutating func handle(_ message: Message) -> Action {
        let headers = message.storage.headerLength > 0 ? message.headers : nil
        let status = headers?.statusCode ?? 0
        guard status != 0 else {
            pendingMessages = max(0, pendingMessages - 1)
            if options.maxBytes > 0 {
                let size = message.payloadCount + message.storage.headerLength + message.subject.utf8.count
                pendingBytes = max(0, pendingBytes - size)
            }
            return .deliver
        }
        let description = headers?.statusDescription ?? ""
        switch status {
        case 100:
            return .none  // idle heartbeat
        case 404, 408, 409:
            if status == 409 && Self.isTerminal(description) { return .terminal(status: status, description: description) }
            if let left = headers?["Nats-Pending-Messages"].flatMap(Int.init) {
                pendingMessages = max(0, pendingMessages - left)
                if let bytes = headers?["Nats-Pending-Bytes"].flatMap(Int.init) { pendingBytes = max(0, pendingBytes - bytes) }
                return .none
            }
            // A server that does not say what the pull still asked for: start over.
            return .reset(status: status, description: description)
        default:
            return .reset(status: status, description: description)
        }
    }

    /// 409s after which pulling this consumer cannot work.
    static func isTerminal(_ description: String) -> Bool {
        let lowered = description.lowercased()
        return lowered.contains("consumer deleted") || lowered.contains("consumer is push based")
    }
}

/// What an ordered consumer checks of each message: that it comes from the consumer made
/// last, and right after the one before (consumer sequences without a gap). A message that
/// fails the check is dropped and the consumer is made again from the stream sequence after
/// the last one delivered: nothing is delivered twice or out of order.
public struct OrderedSequence: Equatable {
    public private(set) var consumer: String?
    /// The stream sequence of the last message delivered (0: none yet).
    public private(set) var lastStreamSequence: UInt64 = 0
    private var nextConsumerSequence: UInt64 = 1

    public init() {}

    public enum Verdict: Equatable {
        case deliver
        /// From an earlier incarnation of the consumer: ignore.
        case stale
        /// A consumer sequence skipped (or repeated): make the consumer again.
        case gap
    }

    /// A new incarnation named `name`, counting from its first message.
    public mutating func restart(as name: String) {
        consumer = name
        nextConsumerSequence = 1
    }

    /// Messages from `streamSequence` on never reached the application (its subscription
    /// dropped them): the next consumer starts there.
    public mutating func rewind(before streamSequence: UInt64) {
        lastStreamSequence = min(lastStreamSequence, streamSequence - 1)
    }

    public mutating func check(_ metadata: MessageMetadata) -> Verdict {
        guard metadata.consumer == consumer else { return .stale }
        guard metadata.consumerSequence == nextConsumerSequence else { return .gap }
        nextConsumerSequence += 1
        lastStreamSequence = metadata.streamSequence
        return .deliver
    }
}
