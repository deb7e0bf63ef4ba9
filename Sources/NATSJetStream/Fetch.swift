import NATS

/// What one pull asks of a consumer.
public struct FetchRequest: Equatable {
    /// At most this many messages.
    public var batch: Int
    /// At most this many bytes (0: no limit); the server ends the batch before a message that
    /// would pass it.
    public var maxBytes: Int
    /// How long the server keeps the pull open; the fetch returns by then (plus a grace for
    /// the server's last word when it is slow).
    public var expiresMilliseconds: Int64
    /// Asks the server for an idle heartbeat this often (0: none): two missed ones end the
    /// fetch with `missedHeartbeat` instead of waiting out the expiry for a server that is gone.
    public var heartbeatMilliseconds: Int64
    /// Returns at once with what is there (the server answers 404 when nothing is).
    public var noWait: Bool

    public init(
        batch: Int = 1, maxBytes: Int = 0, expiresMilliseconds: Int64 = 5_000, heartbeatMilliseconds: Int64 = 0,
        noWait: Bool = false
    ) {
        self.batch = batch
        self.maxBytes = maxBytes
        self.expiresMilliseconds = expiresMilliseconds
        self.heartbeatMilliseconds = heartbeatMilliseconds
        self.noWait = noWait
    }

    func validated() throws -> JSONValue {
        guard batch > 0 else { throw NATSError.invalidArgument("a fetch's batch must be positive") }
        guard maxBytes >= 0 else { throw NATSError.invalidArgument("max bytes cannot be negative") }
        guard expiresMilliseconds > 0 else { throw NATSError.invalidArgument("a fetch's expiry must be positive") }
        guard expiresMilliseconds <= Durations.maxMilliseconds, heartbeatMilliseconds <= Durations.maxMilliseconds else {
            throw NATSError.invalidArgument("a fetch's expiry and heartbeat are at most \(Durations.maxMilliseconds) ms")
        }
        guard heartbeatMilliseconds >= 0, heartbeatMilliseconds * 2 <= expiresMilliseconds || heartbeatMilliseconds == 0 else {
            throw NATSError.invalidArgument("the idle heartbeat must be at most half the expiry")
        }
        let body = JSONValue.object()
        body.set("batch", batch)
        if maxBytes > 0 { body.set("max_bytes", maxBytes) }
        if noWait {
            body.set("no_wait", true)
        } else {
            body.set("expires", expiresMilliseconds * 1_000_000)
        }
        if heartbeatMilliseconds > 0 { body.set("idle_heartbeat", heartbeatMilliseconds * 1_000_000) }
        return body
    }
}

/// The messages of one pull, and why it ended early when it did. A batch can end short
/// without an error: the expiry came, `maxBytes` was reached, or (no wait) nothing more was
/// there. `error` is set when the pull ended otherwise (the consumer deleted, missed
/// heartbeats, the connection closed) — and, with no message at all, `timeout`.
public struct FetchResult {
    public var messages: [Message]
    public var error: Error?
}

/// How a pull's replies end it, as a state machine that returns what to do (testable without
/// a server): messages count against the batch and bytes; statuses say the server is done.
public struct PullState {
    public enum Action: Equatable {
        /// A message for the caller; `last` when it completes the batch.
        case deliver(last: Bool)
        /// An idle heartbeat or another status that changes nothing.
        case keepWaiting
        /// The server ended the pull: normally (`nil`) or with the reason.
        case end(JetStreamError?)
    }

    let batch: Int
    let maxBytes: Int
    public private(set) var received = 0
    public private(set) var bytes = 0

    public init(batch: Int, maxBytes: Int) {
        self.batch = batch
        self.maxBytes = maxBytes
    }

    public mutating func handle(_ message: Message) -> Action {
        let headers = message.storage.headerLength > 0 ? message.headers : nil
        let status = headers?.statusCode ?? 0
        guard status == 0 else {
            let description = headers?.statusDescription ?? ""
            return Self.action(status: status, description: description, hasPayload: message.payloadCount > 0)
        }
        received += 1
        bytes += message.payloadCount + message.storage.headerLength + message.subject.utf8.count
        let last = received >= batch || (maxBytes > 0 && bytes >= maxBytes)
        return .deliver(last: last)
    }

    static func action(status: Int, description: String, hasPayload: Bool) -> Action {
        switch status {
        case 100: return .keepWaiting  // idle heartbeat (a pull has no flow control)
        case 404, 408: return .end(nil)  // no messages (no wait), or the pull expired
        case 409:
            let lowered = description.lowercased()
            if lowered.contains("exceeds maxbytes") || lowered.contains("batch completed") { return .end(nil) }
            return .end(.pullTerminated(status: status, description: description))
        default:
            return .end(.pullTerminated(status: status, description: description))
        }
    }
}

/// One pull request in flight: its inbox subscription (read inline, on the event loop), its
/// state, its timers, and who waits for the end (a blocked caller or a completion).
final class PullBatch {
    private let connection: Connection
    private let condition = Condition()
    private var state: PullState
    private var messages: [Message] = []
    private var result: FetchResult?
    private var lastActivity = Deadline.now()
    private var cancelTimers: [() -> Void] = []
    private var subscription: Subscription?
    private var pullSubject = ""
    private let heartbeatMilliseconds: Int64
    private let completion: ((FetchResult) -> Void)?
    private let completions: JobQueue?

    init(connection: Connection, request: FetchRequest, completion: ((FetchResult) -> Void)?, on completions: JobQueue?) {
        self.connection = connection
        state = PullState(batch: request.batch, maxBytes: request.maxBytes)
        heartbeatMilliseconds = request.heartbeatMilliseconds
        self.completion = completion
        self.completions = completions
    }

    /// Subscribes the inbox, arms the timers, sends the pull.
    func start(subject: String, body: JSONValue, request: FetchRequest) throws {
        let inbox = connection.newInbox()
        let payload = try body.bytes()
        let subscription = try connection.subscribeInline(inbox) { [self] in handle($0) }
        condition.withLock {
            self.subscription = subscription
            pullSubject = subject
        }
        // The server's 408 ends a pull at its expiry; the grace covers a slow last word, and a
        // server that is gone (no heartbeats asked) ends it without one.
        let grace: Int64 = request.noWait ? request.expiresMilliseconds : request.expiresMilliseconds + 1_000
        let expiry = connection.afterDelay(milliseconds: grace) { [self] in end(nil, expired: true) }
        // Closing the connection ends the pull at once, as it ends a request.
        let observer = connection.addObserver(closed: { [weak self] _ in self?.end(NATSError.connectionClosed, expired: false) })
        let connection = self.connection
        condition.withLock {
            cancelTimers.append(expiry)
            cancelTimers.append { connection.removeObserver(observer) }
        }
        if connection.isClosed { end(NATSError.connectionClosed, expired: false) }
        if heartbeatMilliseconds > 0 { armHeartbeatCheck() }
        do {
            try connection.publish(subject, payload: payload, reply: inbox)
        } catch {
            // Unless the pull already ended (its connection closed meanwhile): then its outcome
            // goes where outcomes go, and the caller is told nothing else.
            if abandon() { throw error }
        }
    }

    /// A pull that could not be sent: ended without an outcome (the caller gets the error);
    /// false when it had ended already.
    private func abandon() -> Bool {
        let timers: [() -> Void]? = condition.withLock {
            guard result == nil else { return nil }
            result = FetchResult(messages: [], error: nil)
            defer { cancelTimers = [] }
            return cancelTimers
        }
        guard let timers else { return false }
        for cancel in timers { cancel() }
        unsubscribe()
        return true
    }

    private func armHeartbeatCheck() {
        let interval = heartbeatMilliseconds * 2
        let cancel = connection.afterDelay(milliseconds: interval) { [self] in
            let silentFor = condition.withLock { (Deadline.now().uptimeNanoseconds - lastActivity.uptimeNanoseconds) / 1_000_000 }
            if silentFor >= UInt64(interval) {
                end(JetStreamError.missedHeartbeat("nothing from the consumer for \(silentFor) ms"), expired: false)
            } else {
                armHeartbeatCheck()
            }
        }
        condition.withLock {
            if result == nil { cancelTimers.append(cancel) } else { cancel() }
        }
    }

    /// On the event loop, for each message of the inbox.
    private func handle(_ message: Message) {
        let action: PullState.Action? = condition.withLock {
            guard result == nil else { return nil }
            lastActivity = Deadline.now()
            let action = state.handle(message)
            if case .deliver = action { messages.append(message) }
            return action
        }
        switch action {
        case .deliver(last: true)?: end(nil, expired: false)
        case .end(.pullTerminated(503, _))?:
            // Nobody takes pulls for that consumer: it does not exist (or JetStream is away).
            end(NATSError.noResponders(condition.withLock { pullSubject }), expired: false)
        case .end(let error)?: end(error, expired: true)
        case .deliver(last: false)?, .keepWaiting?, nil: return
        }
    }

    /// Ends the pull once: `expired` means the server (or the clock) ended it without a
    /// failure, so no message at all is a timeout.
    private func end(_ error: Error?, expired: Bool) {
        let ended: (FetchResult, [() -> Void])? = condition.withLock {
            guard result == nil else { return nil }
            var failure = error
            if failure == nil && expired && messages.isEmpty {
                failure = NATSError.timeout("no message before the pull expired")
            }
            let outcome = FetchResult(messages: messages, error: failure)
            result = outcome
            let timers = cancelTimers
            cancelTimers = []
            condition.broadcast()
            return (outcome, timers)
        }
        guard let (outcome, timers) = ended else { return }
        for cancel in timers { cancel() }
        guard let completion else { return }
        let run = { [self] in
            unsubscribe()
            completion(outcome)
        }
        if completions?.post(run) != true { run() }
    }

    /// Waits for the end (a blocking fetch).
    func wait() -> FetchResult {
        let outcome: FetchResult = condition.withLock {
            while result == nil { condition.wait(until: nil) }
            return result!
        }
        unsubscribe()
        return outcome
    }

    private func unsubscribe() {
        let subscription = condition.withLock { () -> Subscription? in
            defer { self.subscription = nil }
            return self.subscription
        }
        try? subscription?.unsubscribe()
    }
}

extension JetStream {
    /// Pulls up to `request.batch` messages from a pull consumer and waits for them.
    public func fetch(stream: String, consumer: String, _ request: FetchRequest = FetchRequest()) throws -> FetchResult {
        let (subject, body) = try pullSubject(stream: stream, consumer: consumer, request)
        let pull = PullBatch(connection: connection, request: request, completion: nil, on: nil)
        try pull.start(subject: subject, body: body, request: request)
        return pull.wait()
    }

    /// As `fetch`, without blocking: `completion` runs once with the result, as a connection
    /// event, unless this throws.
    public func fetch(
        stream: String, consumer: String, _ request: FetchRequest = FetchRequest(),
        completion: @escaping (FetchResult) -> Void
    ) throws {
        let (subject, body) = try pullSubject(stream: stream, consumer: consumer, request)
        let pull = PullBatch(connection: connection, request: request, completion: completion, on: events)
        try pull.start(subject: subject, body: body, request: request)
    }

    private func pullSubject(stream: String, consumer: String, _ request: FetchRequest) throws -> (String, JSONValue) {
        try Names.check(stream, "stream")
        try Names.check(consumer, "consumer")
        return ("\(apiPrefix)CONSUMER.MSG.NEXT.\(stream).\(consumer)", try request.validated())
    }
}

/// Durations the library turns into nanoseconds (and doubles): bounded so that the arithmetic
/// cannot overflow (a day is far more than any pull or delay needs).
enum Durations {
    static let maxMilliseconds: Int64 = 86_400_000 * 365
}
