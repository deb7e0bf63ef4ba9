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
    private var isStopped = false
    private var observer: Int?

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
        observer = connection.addObserver(
            closed: { [self] _ in stop() },
            error: { [self] _, subscription, error in handleAsyncError(subscription, error) })
        do {
            for verb in MonitoringVerb.allCases {
                for subject in [verb.subject(), verb.subject(name: config.name), verb.subject(name: config.name, id: id)] {
                    let subscription = try connection.subscribe(subject) { [self] message in answer(verb, message) }
                    lock.withLock { monitoring.append(subscription) }
                }
            }
        } catch {
            stop()
            throw error
        }
    }

    public var name: String { config.name }
    public var isRunning: Bool { lock.withLock { !isStopped } }
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
        try Group(service: self, parentPrefix: "", parentQueue: queue, name: name, queueGroup: queueGroup,
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
        let subscription = try subscribe(endpoint, queue: setting.effective, concurrency: config.concurrency)
        if let limits = config.pendingLimits {
            try subscription.setPendingLimits(messages: limits.messages, bytes: limits.bytes)
        }
        endpoint.subscription = subscription
        let accepted: Bool = lock.withLock {
            guard !isStopped else { return false }
            endpointList.append(endpoint)
            return true
        }
        if !accepted {
            try? subscription.unsubscribe()
            throw MicroError.stopped("cannot add endpoint \(quoted(name)) to \(quoted(self.config.name))")
        }
        return endpoint
    }

    /// The endpoint's subscription. One handler at a time: a callback subscription (its
    /// delivery thread keeps the order). More: a synchronous subscription that as many
    /// connection worker threads read from (the connection's close waits for them).
    /// The endpoint is held weakly: the service keeps its endpoints, and a subscription holding
    /// its endpoint would make a cycle (endpoint -> subscription -> handler) that outlives stop().
    private func subscribe(_ endpoint: Endpoint, queue: String?, concurrency: Int) throws -> Subscription {
        if concurrency == 1 {
            return try connection.subscribe(endpoint.subject, queue: queue) { [weak endpoint] message in
                endpoint?.handle(message)
            }
        }
        let subscription = try connection.subscribeSync(endpoint.subject, queue: queue)
        do {
            for _ in 0..<concurrency {
                try connection.startWorker { [weak endpoint] in
                    while subscription.isValid {
                        guard let message = try? subscription.next(timeoutMilliseconds: 1_000) else { continue }
                        guard let endpoint else { return }
                        endpoint.handle(message)
                    }
                }.finish(detachOnly: true)
            }
        } catch {
            try? subscription.unsubscribe()
            throw error
        }
        return subscription
    }

    // MARK: life cycle

    /// Drains every endpoint and `$SRV` subscription (requests already received are still
    /// handled), then runs the done handler once. Idempotent; later `addEndpoint`s fail.
    public func stop() {
        let (subscriptions, key): ([Subscription], Int?) = lock.withLock {
            if isStopped { return ([], nil) }
            isStopped = true
            let all = endpointList.compactMap(\.subscription) + monitoring
            monitoring.removeAll()
            let key = observer
            observer = nil
            return (all, key)
        }
        guard let key else { return }
        connection.removeObserver(key)
        for subscription in subscriptions where subscription.isValid {
            // A closed connection has nothing to drain: the subscriptions ended with it.
            if (try? connection.drain(subscription, timeoutMilliseconds: 5_000)) == nil { try? subscription.unsubscribe() }
        }
        config.doneHandler?(self)
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

    /// On a `$SRV` subscription's thread: answers with the verb's document. A request without
    /// a reply subject cannot be answered and is reported to the error handler.
    private func answer(_ verb: MonitoringVerb, _ message: Message) {
        let document: JSONValue
        switch verb {
        case .ping: document = pingJSON()
        case .info: document = infoJSON()
        case .stats: document = statsJSON()
        }
        do {
            try connection.respond(to: message, payload: Array(document.serialized().utf8))
        } catch {
            config.errorHandler?(self, nil, .serverError("error handling \(verb.rawValue) request on \(quoted(message.subject)): \(error)"))
        }
    }

    /// On the connection's callback thread: an asynchronous error of one of this service's
    /// subscriptions is counted, reported, and stops the service (as nats.go and nats.c do).
    private func handleAsyncError(_ subscription: Subscription?, _ error: NATSError) {
        guard let subscription else { return }
        let (mine, endpoint): (Bool, Endpoint?) = lock.withLock {
            if let endpoint = endpointList.first(where: { $0.subscription === subscription }) { return (true, endpoint) }
            return (monitoring.contains { $0 === subscription }, nil)
        }
        guard mine else { return }
        endpoint?.recordError("\(error)")
        config.errorHandler?(self, endpoint, error)
        stop()
    }
}
