import NATS

/// A subscription on a push consumer's `deliver_subject` (in its `deliver_group`, when it has
/// one), whose filter answers the consumer's flow control and stall notices and keeps its idle
/// heartbeats from the application; when the heartbeats the consumer promised stop, the
/// connection's error callback hears of it (`missedHeartbeat`).
public final class PushConsumer {
    public let jetStream: JetStream
    public let stream: String
    public let consumer: String
    private var currentSubscription: Subscription?
    /// The subscription while the consumer runs; nil once it ended.
    public var subscription: Subscription? { lock.withLock { currentSubscription } }
    private let heartbeatMilliseconds: Int64
    private let lock = Condition()
    private var lastActivity = Deadline.now()
    private var cancelCheck: (() -> Void)?
    private var ended = false

    /// Subscribes to the push consumer `consumer` of `stream`; `subscribe` makes the
    /// subscription (subject, queue group, filter) delivering as the caller wants.
    public static func start(
        jetStream: JetStream, stream: String, consumer: String,
        subscribe: (_ subject: String, _ queue: String?, _ filter: @escaping Subscription.Filter) throws -> Subscription
    ) throws -> PushConsumer {
        let info = try jetStream.consumerInfo(stream: stream, consumer: consumer)
        guard let config = info.value("config"), let deliver = config.string("deliver_subject") else {
            throw NATSError.invalidArgument("consumer \"\(consumer)\" of stream \"\(stream)\" is a pull consumer: fetch or consume it")
        }
        let heartbeat = Int64((config.int("idle_heartbeat") ?? 0) / 1_000_000)
        let made = PushConsumer(jetStream: jetStream, stream: stream, consumer: consumer, heartbeat: heartbeat)
        let subscription = try subscribe(deliver, config.string("deliver_group"), { [made] in made.filter($0) })
        made.lock.withLock { made.currentSubscription = subscription }
        subscription.whenEnded { [made] in made.end() }
        if heartbeat > 0 { made.armCheck() }
        return made
    }

    private init(jetStream: JetStream, stream: String, consumer: String, heartbeat: Int64) {
        self.jetStream = jetStream
        self.stream = stream
        self.consumer = consumer
        heartbeatMilliseconds = heartbeat
    }

    /// Where the messages are read: flow control answered, heartbeats and other statuses kept
    /// from the application.
    private func filter(_ batch: [Message]) -> [Message] {
        lock.withLock { lastActivity = Deadline.now() }
        var kept: [Message] = []
        for message in batch {
            guard message.storage.headerLength > 0, let headers = message.headers, headers.statusCode != 0 else {
                kept.append(message)
                continue
            }
            // A flow-control request carries a reply; a heartbeat may carry a stall notice
            // (`Nats-Consumer-Stalled`) whose subject must be answered too.
            if headers.statusCode == 100 {
                if let reply = message.reply { try? jetStream.connection.publishFromEventLoop(reply, payload: []) }
                if let stalled = headers["Nats-Consumer-Stalled"] {
                    try? jetStream.connection.publishFromEventLoop(stalled, payload: [])
                }
            }
        }
        return kept
    }

    private func armCheck() {
        let interval = heartbeatMilliseconds * 2
        let cancel = jetStream.connection.afterDelay(milliseconds: interval) { [weak self] in self?.check(interval) }
        let keep: Bool = lock.withLock {
            guard !ended else { return false }
            cancelCheck = cancel
            return true
        }
        if !keep { cancel() }
    }

    private func check(_ interval: Int64) {
        let (silent, current): (Bool, Subscription?) = lock.withLock {
            (!ended && Deadline.now().uptimeNanoseconds - lastActivity.uptimeNanoseconds >= UInt64(interval) * 1_000_000, currentSubscription)
        }
        if silent && jetStream.connection.connectionStatus == .connected {
            jetStream.connection.reportError(
                .missedHeartbeat("push consumer \"\(consumer)\" of stream \"\(stream)\": nothing for \(interval) ms"),
                subscription: current)
        }
        armCheck()
    }

    private func end() {
        let cancel: (() -> Void)? = lock.withLock {
            ended = true
            currentSubscription = nil
            defer { cancelCheck = nil }
            return cancelCheck
        }
        cancel?()
    }

    /// Unsubscribes (the consumer stays).
    public func stop() {
        let current = lock.withLock { currentSubscription }
        try? current?.unsubscribe()
        end()
    }
}
