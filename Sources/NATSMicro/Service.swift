#if canImport(Glibc)
import Glibc
#endif
import NATS

/// An ADR-32 service instance: endpoints (each a queue subscription, group "q" unless told
/// otherwise) and the nine `$SRV` subscriptions that answer PING, INFO and STATS. Many
/// services may share one connection. It runs until `stop()` or until its connection closes.
public final class Service {
    public let id: String
    public let config: ServiceConfig
    public let connection: Connection
    let queue: QueueSetting

    private let lock = Condition()
    private var endpointList: [Endpoint] = []
    private var monitoring: [Subscription] = []
    private var startedAt = Timestamp.now()
    private var state = State.running
    private var observer: Int?

    /// running → stopping (subscriptions draining, handlers finishing) → finishing (the done
    /// handler runs) → stopped.
    private enum State { case running, stopping, finishing, stopped }

    /// Validates `config`, subscribes the `$SRV` handlers and returns the running service.
    /// Nothing is subscribed when the configuration is invalid.
    public static func add(to connection: Connection, config: ServiceConfig) throws -> Service {
        try config.validate()
        let service = Service(connection: connection, config: config)
        try service.start()
        return service
    }

    private init(connection: Connection, config: ServiceConfig) {
        self.connection = connection
        self.config = config
        self.id = SharedNUID.next()
        self.queue = QueueSetting(group: config.queueGroup, disabled: config.queueGroupDisabled).resolved(under: .default)
    }

    private func start() throws {
        // Strong captures: a running service is kept by its connection until it stops.
        let key = connection.addObserver(
            closed: { [self] _ in stop() },
            error: { [self] _, subscription, error in handleAsyncError(subscription, error) })
        lock.withLock { observer = key }
        do {
            for verb in MonitoringVerb.allCases {
                for subject in [verb.subject(), verb.subject(name: config.name), verb.subject(name: config.name, id: id)] {
                    let subscription = try connection.subscribe(subject) { [self] message in answer(verb, message) }
                    lock.withLock { monitoring.append(subscription) }
                }
            }
        } catch {
            stop(notify: false)  // the caller never had this service: no done callback
            throw error
        }
    }

    public var name: String { config.name }
    public var isRunning: Bool { lock.withLock { state == .running } }
    public var endpoints: [Endpoint] { lock.withLock { endpointList } }

    // MARK: endpoints and groups

    /// Adds an endpoint on `config.subject` (default: `name`). Allowed while running, also
    /// after start: INFO and STATS show it at once.
    @discardableResult
    public func addEndpoint(
        _ name: String, config: EndpointConfig = EndpointConfig(), handler: @escaping (MicroRequest) -> Void
    ) throws -> Endpoint {
        try addEndpoint(name, prefix: "", parentQueue: queue, config: config, handler: handler)
    }

    /// A subject prefix for endpoints (and further groups); `queueGroup` and
    /// `queueGroupDisabled` become the default of its endpoints.
    public func addGroup(_ name: String, queueGroup: String? = nil, queueGroupDisabled: Bool = false) throws -> Group {
        if !isRunning { throw MicroError.stopped("cannot add group \(quoted(name)) to \(quoted(config.name))") }
        return try Group(service: self, parentPrefix: "", parentQueue: queue, name: name, queueGroup: queueGroup,
                  queueGroupDisabled: queueGroupDisabled)
    }

    func addEndpoint(
        _ name: String, prefix: String, parentQueue: QueueSetting, config: EndpointConfig,
        handler: @escaping (MicroRequest) -> Void
    ) throws -> Endpoint {
        guard MicroNames.isValidName(name) else {
            throw MicroError.invalidConfig("endpoint name \(quoted(name)) must be letters, digits, dashes and underscores")
        }
        let own = (config.subject?.isEmpty ?? true) ? name : config.subject ?? name
        let subject = prefix.isEmpty ? own : prefix + "." + own
        try MicroNames.checkSubject(subject, what: "endpoint subject")
        if let group = config.queueGroup { try MicroNames.checkQueueGroup(group) }
        if let limits = config.pendingLimits, limits.messages < 0 || limits.bytes < 0 {
            throw MicroError.invalidConfig("pending limits must not be negative")
        }
        guard (1...1024).contains(config.concurrency) else {
            throw MicroError.invalidConfig("concurrency must be between 1 and 1024, got \(config.concurrency)")
        }
        let setting = QueueSetting(group: config.queueGroup, disabled: config.queueGroupDisabled).resolved(under: parentQueue)
        if !isRunning { throw MicroError.stopped("cannot add endpoint \(quoted(name)) to \(quoted(self.config.name))") }
        let endpoint = Endpoint(name: name, subject: subject, queueGroup: setting.effective, metadata: config.metadata,
                                service: self, handler: handler)
        let subscription = try subscribe(endpoint, queue: setting.effective, concurrency: config.concurrency, arrival: config.onArrival)
        if let limits = config.pendingLimits {
            do {
                try subscription.setPendingLimits(messages: limits.messages, bytes: limits.bytes)
            } catch {
                try? subscription.unsubscribe()
                throw error
            }
        }
        endpoint.subscription = subscription
        let accepted: Bool = lock.withLock {
            guard state == .running else { return false }
            endpointList.append(endpoint)
            return true
        }
        if !accepted {
            try? subscription.unsubscribe()
            throw MicroError.stopped("cannot add endpoint \(quoted(name)) to \(quoted(self.config.name))")
        }
        return endpoint
    }

    /// The endpoint's subscription: a callback subscription on the connection's delivery pool
    /// (or dispatch queue), one request at a time, in order. With concurrency N it has N lanes
    /// and, unless the connection delivers on a dispatch queue, N threads of its own: handlers
    /// that block (on a database, say) still overlap N-fold, whatever the pool's size. The
    /// endpoint is held weakly: the service keeps its endpoints, and a subscription holding its
    /// endpoint would make a cycle (endpoint -> subscription -> handler) that outlives stop().
    private func subscribe(
        _ endpoint: Endpoint, queue: String?, concurrency: Int, arrival: ((Message) -> Void)?
    ) throws -> Subscription {
        let ownThreads = concurrency > 1 && connection.options.dispatchQueue == nil
        let subscription = try connection.subscribe(
            endpoint.subject, queue: queue, delivery: ownThreads ? .dedicatedThread : .connectionDefault,
            lanes: concurrency, arrival: arrival
        ) {
            [weak endpoint] message in
            endpoint?.handle(message)
        }
        // A stop() made from a handler cannot wait for it: the end of the subscription, after
        // the last handler returned, finishes the stop instead.
        subscription.whenEnded { [weak self] in self?.finishIfIdle() }
        return subscription
    }

    // MARK: life cycle

    /// Drains every endpoint and `$SRV` subscription; requests already received are still
    /// handled, and the done handler runs once the last of them has finished. Idempotent: a
    /// concurrent or later call returns once the service has stopped. Called from one of the
    /// service's own handlers it cannot wait for that handler, so it returns at once and the
    /// done handler runs when the handlers have returned. Later `addEndpoint`s fail.
    public func stop() {
        stop(notify: true)
    }

    private func stop(notify: Bool) {
        let insideHandler = HandlerContext.isInside(self)
        let taken: (subscriptions: [Subscription], key: Int?)? = lock.withLock {
            switch state {
            case .stopped:
                return nil
            case .stopping, .finishing:
                // Another thread stops it: wait for it to finish (unless that would wait on ourselves).
                let deadline = Deadline.after(milliseconds: Self.stopWaitMilliseconds)
                while state != .stopped && !insideHandler && deadline.remainingNanoseconds > 0 { lock.wait(until: deadline) }
                return nil
            case .running:
                state = .stopping
                notifyDone = notify
                let all = endpointList.compactMap(\.subscription) + monitoring
                monitoring.removeAll()
                let key = observer
                observer = nil
                return (all, key)
            }
        }
        guard let taken else { return }
        if let key = taken.key { connection.removeObserver(key) }
        for subscription in taken.subscriptions where subscription.isValid {
            // A closed connection has nothing to drain: the subscriptions ended with it.
            if (try? connection.drain(subscription, timeoutMilliseconds: 5_000)) == nil { try? subscription.unsubscribe() }
        }
        finishIfIdle()
        // From a handler: its own subscription ends after it returns, and that end finishes
        // the stop (`whenEnded`); waiting here would wait for this very handler.
        guard !insideHandler else { return }
        lock.withLock {
            let deadline = Deadline.after(milliseconds: Self.stopWaitMilliseconds)
            while state != .stopped && deadline.remainingNanoseconds > 0 { lock.wait(until: deadline) }
        }
    }

    /// How long `stop()` waits for handlers still running; past it, it returns and the done
    /// handler runs when they have finished.
    static let stopWaitMilliseconds: Int64 = 30_000
    private var notifyDone = true

    /// Once stopping: when no handler runs and no request waits, the service has stopped and
    /// the done handler runs (on this thread: the stopper's, or the last handler's).
    func finishIfIdle() {
        let finished: Bool = lock.withLock {
            guard state == .stopping, endpointList.allSatisfy(\.isIdle) else { return false }
            state = .finishing
            return true
        }
        guard finished else { return }
        if notifyDone { config.doneHandler?(self) }
        // Only now: whoever waits in stop() returns after the done handler has run.
        lock.withLock {
            state = .stopped
            lock.broadcast()
        }
    }

    /// Zeroes every endpoint's counters and restarts the `started` clock.
    public func reset() {
        let all: [Endpoint] = lock.withLock {
            startedAt = Timestamp.now()
            return endpointList
        }
        for endpoint in all { endpoint.reset() }
    }

    var started: Timestamp { lock.withLock { startedAt } }

    // MARK: monitoring

    public func pingJSON() -> JSONValue { MonitoringDocument.ping(self) }
    public func infoJSON() -> JSONValue { MonitoringDocument.info(self) }
    public func statsJSON() -> JSONValue { MonitoringDocument.stats(self) }

    /// On a `$SRV` subscription's thread: answers with the verb's document. A document that
    /// cannot be sent is reported to the service's error handler, or else the connection's.
    private func answer(_ verb: MonitoringVerb, _ message: Message) {
        // A plain publish on $SRV (no reply subject): nobody waits for an answer, and anyone
        // on the network could make every service report it.
        guard message.reply?.isEmpty == false else { return }
        let document: JSONValue
        switch verb {
        case .ping: document = pingJSON()
        case .info: document = infoJSON()
        case .stats: document = statsJSON()
        }
        do {
            try connection.respond(to: message, payload: try document.bytes())
        } catch {
            // Never silent: the service's error handler hears of it, or else the connection's.
            let text = "error handling \(verb.rawValue) request on \(quoted(message.subject)): \(error)"
            if let handler = config.errorHandler {
                handler(self, nil, .serverError(text))
            } else {
                connection.reportError(.during("micro service \(quoted(config.name))", error as? NATSError ?? .serverError(text)))
            }
        }
    }

    /// On the connection's callback thread: an asynchronous error of one of this service's
    /// subscriptions is counted, reported, and stops the service (as nats.go and nats.c do).
    private func handleAsyncError(_ subscription: Subscription?, _ error: NATSError) {
        guard let subscription else { return }
        let (mine, endpoint): (Bool, Endpoint?) = lock.withLock {
            guard state == .running else { return (false, nil) }
            if let endpoint = endpointList.first(where: { $0.subscription === subscription }) { return (true, endpoint) }
            return (monitoring.contains { $0 === subscription }, nil)
        }
        guard mine else { return }
        endpoint?.recordError("\(error)")
        config.errorHandler?(self, endpoint, error)
        // Draining takes server round trips: not on the connection's callback thread, which
        // every other connection event waits for.
        if (try? connection.startWorker({ [self] in stop() }).finish(detachOnly: true)) == nil { stop() }
    }
}
