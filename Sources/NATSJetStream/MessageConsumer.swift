import NATS

/// A continuous consume: a subscription on an inbox of its own that pulls keep fed (nats.go's
/// `Consume`), delivering as any subscription does (the delivery pool, a dispatch queue, a
/// synchronous `next`, batches). The consumer's statuses stop in the subscription's filter:
/// idle heartbeats, ended pulls. New pulls go out as the asked-for count falls to the
/// threshold; after a reconnect or missed heartbeats, pulls start again.
///
/// Ordered (no consumer name given): the library makes an ephemeral consumer (no acks, memory,
/// one replica) and checks every message's consumer sequence; on a gap, missed heartbeats, a
/// reconnect or the consumer's deletion it makes it again from the stream sequence after the
/// last one delivered, so nothing is delivered twice or out of order.
///
/// Failures that end it (a named consumer deleted) or that it recovers from (missed
/// heartbeats) go to the connection's error callback with the subscription.
public final class MessageConsumer {
    public let jetStream: JetStream
    public let stream: String
    public let options: ConsumeOptions
    /// The ordered consumer's configuration (filters, deliver policy...); nil for a named one.
    private let orderedConfig: JSONValue?
    private let lock = Condition()
    private var consumer: String
    private var pipeline: PullPipeline
    private var sequence = OrderedSequence()
    private var restarting = false
    /// Pulls wait for `endPause` (a pull failed at once).
    private var paused = false
    private var stopped = false
    private var lastActivity = Deadline.now()
    private var cancelHeartbeatCheck: (() -> Void)?
    private var observer: Int?
    /// The subscription's subject: an inbox, or for an ordered consumer `<inbox>.*`.
    private var inbox = ""
    /// Where the current pulls are answered: the inbox, or for an ordered consumer
    /// `<inbox>.<consumer name>`, so that the statuses for the pulls of a consumer already
    /// replaced (a late 409, its heartbeats), which come on that subject, are told apart.
    private var pullReply = ""
    private var pullReplyBytes: [UInt8] = []
    private var currentSubscription: Subscription?
    /// The subscription while the consumer runs; nil once it ended.
    public var subscription: Subscription? { lock.withLock { currentSubscription } }
    /// The messages an ordered consumer had for its filter when it was made (its first
    /// `num_pending`); 0 for a named one.
    public private(set) var initialPending: UInt64 = 0

    private var connection: Connection { jetStream.connection }

    /// The name of the consumer pulled now (an ordered one changes on each restart).
    public var consumerName: String { lock.withLock { consumer } }

    /// Starts consuming `consumer` of `stream`, or, with `consumer` nil, an ordered consumer
    /// configured by `ordered` (a `ConsumerConfig` subset: `filter_subject(s)`,
    /// `deliver_policy`, `opt_start_seq`, `opt_start_time`, `headers_only`, `replay_policy`).
    /// `subscribe` makes the subscription on the inbox with the filter given (the caller picks
    /// how it delivers).
    public static func start(
        jetStream: JetStream, stream: String, consumer: String?, ordered: JSONValue? = nil,
        options: ConsumeOptions = ConsumeOptions(),
        subscribe: (_ inbox: String, _ filter: @escaping Subscription.Filter) throws -> Subscription
    ) throws -> MessageConsumer {
        let made = try prepare(jetStream: jetStream, stream: stream, consumer: consumer, ordered: ordered, options: options)
        if let consumer {
            _ = try jetStream.consumerInfo(stream: stream, consumer: consumer)
        } else {
            made.adopt(try jetStream.perform(try made.orderedCall(afterSequence: 0)))
        }
        try made.begin(subscribe)
        return made
    }

    /// As the blocking `start`, without waiting: the consumer is looked up (or the ordered one
    /// made) with an asynchronous API call, and `completion` gets the started consume or the
    /// error, as a connection event. Throws what is refused before anything is sent.
    public static func start(
        jetStream: JetStream, stream: String, consumer: String?, ordered: JSONValue? = nil,
        options: ConsumeOptions = ConsumeOptions(),
        subscribe: @escaping (_ inbox: String, _ filter: @escaping Subscription.Filter) throws -> Subscription,
        completion: @escaping (Result<MessageConsumer, Error>) -> Void
    ) throws {
        let made = try prepare(jetStream: jetStream, stream: stream, consumer: consumer, ordered: ordered, options: options)
        let begin: (Result<Void, Error>) -> Void = { outcome in
            completion(outcome.flatMap { Result { try made.begin(subscribe) }.map { made } })
        }
        if let consumer {
            try jetStream.perform(try .consumerInfo(stream: stream, consumer: consumer)) { begin($0.map { _ in }) }
        } else {
            try jetStream.perform(try made.orderedCall(afterSequence: 0)) { begin($0.map { made.adopt($0) }) }
        }
    }

    /// Checks the arguments and makes the (not yet started) consume.
    private static func prepare(
        jetStream: JetStream, stream: String, consumer: String?, ordered: JSONValue?, options: ConsumeOptions
    ) throws -> MessageConsumer {
        try options.validate()
        try Names.check(stream, "stream")
        if let consumer {
            try Names.check(consumer, "consumer")
            return MessageConsumer(jetStream: jetStream, stream: stream, consumer: consumer, ordered: nil, options: options)
        }
        let base = ordered?.copy() ?? JSONValue.object()
        guard base.isObject else { throw NATSError.invalidArgument("an ordered consumer's configuration is an object") }
        return MessageConsumer(jetStream: jetStream, stream: stream, consumer: "", ordered: base, options: options)
    }

    /// Takes the first ordered consumer the server made (`orderedCall`'s answer).
    private func adopt(_ made: (name: String, info: JSONValue)) {
        initialPending = UInt64(max(0, made.info.int("num_pending") ?? 0))
        consumer = made.name
        sequence.restart(as: made.name)
    }

    private init(jetStream: JetStream, stream: String, consumer: String, ordered: JSONValue?, options: ConsumeOptions) {
        self.jetStream = jetStream
        self.stream = stream
        self.consumer = consumer
        self.orderedConfig = ordered
        self.options = options
        pipeline = PullPipeline(options: options)
    }

    private func begin(_ subscribe: (String, @escaping Subscription.Filter) throws -> Subscription) throws {
        inbox = connection.newInbox()
        lock.withLock { replyForCurrentConsumer() }
        let made: Subscription
        do {
            made = try subscribe(orderedConfig == nil ? inbox : inbox + ".*") { [self] in filter($0) }
        } catch {
            deleteOrdered(consumerName)
            throw error
        }
        lock.withLock { currentSubscription = made }
        if orderedConfig != nil {
            // The filter counted them as delivered: an ordered consumer starts again before them.
            made.onDrop { [weak self] dropped in self?.droppedByLimits(dropped) }
        }
        made.whenEnded { [self] in ended() }
        let key = connection.addObserver(reconnected: { [weak self] _ in self?.linkChanged() })
        let endedAlready: Bool = lock.withLock {
            if stopped { return true }
            observer = key
            return false
        }
        if endedAlready { connection.removeObserver(key) }
        armHeartbeatCheck()
        let pull = lock.withLock { pipeline.nextPull() }
        if let pull { sendPull(pull, fromEventLoop: false) }
    }

    /// Stops pulling and ends the subscription (an ordered consumer is deleted).
    public func stop() {
        let current = lock.withLock { currentSubscription }
        try? current?.unsubscribe()
        ended()
    }

    // MARK: where the messages are read

    /// With the lock held: the reply subject of the current consumer's pulls.
    private func replyForCurrentConsumer() {
        pullReply = orderedConfig == nil ? inbox : inbox + "." + consumer
        pullReplyBytes = Array(pullReply.utf8)
    }

    /// With the lock held: whether a status came for the current consumer's pulls.
    private func isForCurrentPulls(_ message: Message) -> Bool {
        pullReplyBytes.withUnsafeBytes { message.storage.subjectEquals($0) }
    }

    private func filter(_ batch: [Message]) -> [Message] {
        var kept: [Message] = []
        var pull: (batch: Int, bytes: Int)?
        var restart = false
        var failure: NATSError?
        var terminal = false
        var pause: Pause?
        lock.withLock {
            guard !stopped else { return }
            var heard = false
            defer { if heard { lastActivity = Deadline.now() } }
            for message in batch {
                // Statuses (no reply subject) for an ordered consume's replaced consumers: a
                // late 409 or a heartbeat says nothing of the current one. (Their messages keep
                // their stream subject; `sequence` knows them by the consumer in their reply.)
                guard orderedConfig == nil || message.storage.replyPointer != nil || isForCurrentPulls(message) else {
                    continue
                }
                heard = true
                switch pipeline.handle(message) {
                case .deliver:
                    guard orderedConfig != nil else {
                        kept.append(message)
                        continue
                    }
                    guard !restarting, let metadata = message.jetStreamMetadata else { continue }
                    switch sequence.check(metadata) {
                    case .deliver: kept.append(message)
                    case .stale: continue
                    case .gap:
                        restarting = true
                        restart = true
                    }
                case .none:
                    continue
                case .terminal(let status, let description):
                    if orderedConfig != nil {
                        if !restarting { (restarting, restart) = (true, true) }
                    } else {
                        terminal = true
                        failure = .invalidSubscription(
                            "consumer \"\(consumer)\" of stream \"\(stream)\" ended the consume: \(status) \(description)")
                    }
                case .reset(let status, let description):
                    pipeline.forgetPulls()
                    if status == 408 || status == 404 { continue }  // an old server's pull ended
                    // Anything else waits a moment before the next pull (a pull answered at
                    // once, again and again, would spin): 503 asks whether the consumer is
                    // still there.
                    if !paused {
                        paused = true
                        pause = status == 503 ? .verify : .retry
                        if status != 503 {
                            failure = .during(
                                "pulling consumer \"\(consumer)\" of stream \"\(stream)\" (pulling again in \(Self.pauseMilliseconds) ms)",
                                .serverError("\(status) \(description)"))
                        }
                    }
                }
            }
            if !restarting && !terminal && !paused { pull = pipeline.nextPull() }
        }
        if let pull { sendPull(pull, fromEventLoop: true) }
        if let failure { connection.reportError(failure, subscription: subscription) }
        if restart { jetStream.events.post { [self] in restartOrdered() } }
        if terminal { jetStream.events.post { [self] in stop() } }
        if let pause { schedulePause(pause) }
        return kept
    }

    enum Pause { case retry, verify }

    /// How long pulling waits after a pull failed at once.
    static let pauseMilliseconds: Int64 = 500

    private func schedulePause(_ pause: Pause) {
        _ = connection.afterDelay(milliseconds: Self.pauseMilliseconds) { [weak self] in
            self?.jetStream.events.post { self?.endPause(pause) }
        }
    }

    /// On a connection event thread, after a pause: pulls again, or (verify) first asks
    /// whether the consumer still exists; a named one that does not ends the consume.
    private func endPause(_ pause: Pause) {
        guard !lock.withLock({ stopped }) else { return }
        if orderedConfig != nil {
            lock.withLock { paused = false }
            linkChanged()
            return
        }
        guard pause == .verify, let call = try? APICall<JSONValue>.consumerInfo(stream: stream, consumer: consumerName) else {
            lock.withLock { paused = false }
            return linkChanged()
        }
        do {
            try jetStream.perform(call) { [self] outcome in
                switch outcome {
                case .success:
                    lock.withLock { paused = false }
                    linkChanged()
                case .failure(let error as JetStreamError) where error.apiCode == 404:
                    connection.reportError(
                        .invalidSubscription("consumer \"\(consumerName)\" of stream \"\(stream)\" is gone: \(error)"),
                        subscription: lock.withLock { currentSubscription })
                    stop()
                case .failure:
                    schedulePause(.verify)
                }
            }
        } catch {
            schedulePause(.verify)
        }
    }

    private func sendPull(_ pull: (batch: Int, bytes: Int), fromEventLoop: Bool) {
        let (name, reply) = lock.withLock { (consumer, pullReply) }
        let subject = "\(jetStream.apiPrefix)CONSUMER.MSG.NEXT.\(stream).\(name)"
        let body = options.pullBody(batch: pull.batch, bytes: pull.bytes)
        do {
            if fromEventLoop {
                try connection.publishFromEventLoop(subject, reply: reply, payload: body)
            } else {
                try connection.publish(subject, payload: body, reply: reply)
            }
        } catch {
            // Not sent (the connection closing, a reconnect buffer full): the heartbeat check
            // or the reconnect asks again.
            lock.withLock { pipeline.forgetPulls() }
        }
    }

    // MARK: recovering

    /// Where the messages are read, after the subscription's pending limits dropped some of an
    /// ordered consume: the consumer is made again from the first of them (the slow consumer
    /// is reported by the subscription, as for any).
    private func droppedByLimits(_ dropped: [Message]) {
        guard let first = dropped.compactMap({ $0.jetStreamMetadata?.streamSequence }).min() else { return }
        let claimed: Bool = lock.withLock {
            sequence.rewind(before: first)
            guard !stopped, !restarting else { return false }
            restarting = true
            return true
        }
        if claimed { jetStream.events.post { [self] in restartOrdered() } }
    }

    private func armHeartbeatCheck() {
        let interval = options.heartbeat * 2
        let cancel = connection.afterDelay(milliseconds: interval) { [weak self] in self?.checkHeartbeat(interval) }
        let keep = lock.withLock { () -> Bool in
            guard !stopped else { return false }
            cancelHeartbeatCheck = cancel
            return true
        }
        if !keep { cancel() }
    }

    private func checkHeartbeat(_ interval: Int64) {
        let silent: Bool = lock.withLock {
            guard !stopped else { return false }
            return Deadline.now().uptimeNanoseconds - lastActivity.uptimeNanoseconds >= UInt64(interval) * 1_000_000
        }
        if silent && connection.connectionStatus == .connected {
            connection.reportError(
                .missedHeartbeat("consumer \"\(consumerName)\" of stream \"\(stream)\": nothing for \(interval) ms; pulling again"),
                subscription: lock.withLock { currentSubscription })
            // A consumer deleted under its open pulls goes silent (2.9 servers say nothing):
            // whether it is still there decides between pulling again and ending.
            let claimed: Bool = lock.withLock {
                if paused { return false }
                paused = true
                return true
            }
            if claimed { jetStream.events.post { [self] in endPause(.verify) } }
        }
        armHeartbeatCheck()
    }

    /// After a reconnect or missed heartbeats: the open pulls may be gone.
    private func linkChanged() {
        if orderedConfig != nil {
            let claimed: Bool = lock.withLock {
                guard !stopped, !restarting else { return false }
                restarting = true
                return true
            }
            if claimed { restartOrdered() }
            return
        }
        let pull: (batch: Int, bytes: Int)? = lock.withLock {
            guard !stopped, !paused else { return nil }
            lastActivity = Deadline.now()
            pipeline.forgetPulls()
            return pipeline.nextPull()
        }
        if let pull { sendPull(pull, fromEventLoop: false) }
    }

    /// Makes the ordered consumer again after the last message delivered; on a connection
    /// event thread. While it is made, messages of the old one are dropped.
    private func restartOrdered() {
        let (old, after, done) = lock.withLock { (consumer, sequence.lastStreamSequence, stopped) }
        guard !done else { return }
        deleteOrdered(old)
        do {
            try jetStream.perform(try orderedCall(afterSequence: after)) { [self] outcome in
                switch outcome {
                case .success(let (name, _)):
                    enum Next { case pull((batch: Int, bytes: Int)?), again, stopped }
                    let next: Next = lock.withLock {
                        guard !stopped else { return .stopped }
                        consumer = name
                        replyForCurrentConsumer()
                        sequence.restart(as: name)
                        // Messages dropped by the subscription meanwhile (before this consumer's
                        // start) rewound the sequence: start again from there.
                        if sequence.lastStreamSequence < after { return .again }
                        restarting = false
                        lastActivity = Deadline.now()
                        pipeline.forgetPulls()
                        return .pull(pipeline.nextPull())
                    }
                    switch next {
                    case .pull(let pull): if let pull { sendPull(pull, fromEventLoop: false) }
                    case .again: restartOrdered()
                    case .stopped: deleteOrdered(name)
                    }
                case .failure(let error):
                    retryRestart(after: error)
                }
            }
        } catch {
            retryRestart(after: error)
        }
    }

    private func retryRestart(after error: Error) {
        guard !lock.withLock({ stopped }) else { return }
        connection.reportError(
            .during("making ordered consumer of stream \"\(stream)\" again (retrying in 1 s)", .serverError("\(error)")),
            subscription: lock.withLock { currentSubscription })
        _ = connection.afterDelay(milliseconds: 1_000) { [weak self] in
            self?.jetStream.events.post { self?.restartOrdered() }
        }
    }

    /// The call that makes a new ordered consumer (a new name) starting after `afterSequence`.
    private func orderedCall(afterSequence: UInt64) throws -> APICall<(name: String, info: JSONValue)> {
        let name = Self.orderedName()
        return try APICall<JSONValue>.addConsumer(stream: stream, orderedConfiguration(name: name, afterSequence: afterSequence))
            .map { (name, $0) }
    }

    private func orderedConfiguration(name: String, afterSequence: UInt64) -> JSONValue {
        let config = orderedConfig?.copy() ?? JSONValue.object()
        config.set("name", name)
        config.set("ack_policy", "none")
        config.set("max_deliver", 1)
        config.set("mem_storage", true)
        config.set("num_replicas", 1)
        config.set("inactive_threshold", Int64(300_000_000_000))
        if afterSequence > 0 {
            config.set("deliver_policy", "by_start_sequence")
            config.set("opt_start_seq", Int64(bitPattern: afterSequence + 1))
            config.remove("opt_start_time")
        }
        return config
    }

    private func deleteOrdered(_ name: String) {
        guard orderedConfig != nil, !name.isEmpty, let call = try? APICall<Void>.deleteConsumer(stream: stream, consumer: name) else {
            return
        }
        try? jetStream.perform(call) { _ in }
    }

    private static func orderedName() -> String { "ordered_" + SharedNUID.next() }

    /// Once, when the subscription ended (unsubscribed, drained, its connection closed).
    private func ended() {
        let (cancel, key, name, subscribed): ((() -> Void)?, Int?, String, Subscription?) = lock.withLock {
            if stopped { return (nil, nil, "", nil) }
            stopped = true
            defer {
                cancelHeartbeatCheck = nil
                observer = nil
                currentSubscription = nil
            }
            return (cancelHeartbeatCheck, observer, consumer, currentSubscription)
        }
        cancel?()
        if let key { connection.removeObserver(key) }
        if subscribed != nil && !connection.isClosed { deleteOrdered(name) }
    }
}
