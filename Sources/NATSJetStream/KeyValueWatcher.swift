import NATS

/// What a watch delivers (nats.go's watch options).
public struct WatchOptions: Equatable {
    /// Every revision kept, not only the last of each key.
    public var includeHistory = false
    /// Leaves out deletes and purges.
    public var ignoreDeletes = false
    /// Entries without their values (headers only).
    public var metaOnly = false
    /// Only what changes from now on: no initial values.
    public var updatesOnly = false

    public init(includeHistory: Bool = false, ignoreDeletes: Bool = false, metaOnly: Bool = false, updatesOnly: Bool = false) {
        self.includeHistory = includeHistory
        self.ignoreDeletes = ignoreDeletes
        self.metaOnly = metaOnly
        self.updatesOnly = updatesOnly
    }
}

/// The values of some subjects of a stream, then their changes: an ordered consumer whose
/// messages become items (`decode`; nil skips one), with `nil` delivered once when the initial
/// values are all there (at once when there are none, or when only updates are asked for).
/// Items go to a handler (as a subscription's callbacks run: one at a time, in order) or wait
/// for `next`. Key-Value watches and object-store watches are this.
public final class OrderedWatch<Item> {
    public typealias Handler = (Item?) -> Void

    private let handler: Handler?
    private let decode: (Message) -> (item: Item, delta: UInt64, skip: Bool)?
    private let updatesOnly: Bool
    private let lock = Condition()
    /// Held while an item or the marker is handed on: the marker (sent from the connection's
    /// events when nothing is pending) and the entries (from the subscription) never overlap,
    /// and the marker always comes first.
    private let delivery = Condition()
    private var queued = FIFO<Item?>()
    private var markerSent = false
    private var stopped = false
    private var consumer: MessageConsumer?
    private var endHandlers: [() -> Void] = []

    private init(updatesOnly: Bool, decode: @escaping (Message) -> (item: Item, delta: UInt64, skip: Bool)?, handler: Handler?) {
        self.handler = handler
        self.decode = decode
        self.updatesOnly = updatesOnly
    }

    /// `config` is the ordered consumer's (filters, deliver policy, headers only); `decode`
    /// says what a message is, how many changes follow it, and whether to leave it out.
    convenience init(
        jetStream: JetStream, stream: String, config: JSONValue, updatesOnly: Bool,
        decode: @escaping (Message) -> (item: Item, delta: UInt64, skip: Bool)?, handler: Handler?
    ) throws {
        self.init(updatesOnly: updatesOnly, decode: decode, handler: handler)
        attach(
            try MessageConsumer.start(
                jetStream: jetStream, stream: stream, consumer: nil, ordered: config, options: Self.consumeOptions,
                subscribe: subscriber(jetStream.connection)),
            jetStream)
    }

    /// As the initialiser, without waiting for the consumer to be made: `completion` gets the
    /// watch (or the error) as a connection event. Items may reach the handler before it.
    static func start(
        jetStream: JetStream, stream: String, config: JSONValue, updatesOnly: Bool,
        decode: @escaping (Message) -> (item: Item, delta: UInt64, skip: Bool)?, handler: Handler?,
        completion: @escaping (Result<OrderedWatch, Error>) -> Void
    ) throws {
        let watch = OrderedWatch(updatesOnly: updatesOnly, decode: decode, handler: handler)
        try MessageConsumer.start(
            jetStream: jetStream, stream: stream, consumer: nil, ordered: config, options: consumeOptions,
            subscribe: watch.subscriber(jetStream.connection)
        ) { outcome in
            completion(outcome.map { made in
                watch.attach(made, jetStream)
                return watch
            })
        }
    }

    private static var consumeOptions: ConsumeOptions { ConsumeOptions(maxMessages: 256) }

    private func subscriber(_ connection: Connection) -> (String, @escaping Subscription.Filter) throws -> Subscription {
        { [self] inbox, filter in
            try connection.subscribe(inbox, filter: filter) { [weak self] message in self?.deliver(message) }
        }
    }

    private func attach(_ made: MessageConsumer, _ jetStream: JetStream) {
        lock.withLock { consumer = made }
        // The consumer's end (its connection closed, a restart that cannot be made) ends the
        // watch: `next` stops waiting and gatherings fail instead of waiting for ever.
        made.subscription?.whenEnded { [weak self] in self?.ended() }
        if made.subscription == nil { ended() }
        if updatesOnly || made.initialPending == 0 {
            // Nothing to wait for: the marker goes now, before any item (`delivery` orders them).
            jetStream.events.post { [weak self] in self?.sendMarkerIfDue(force: true) }
        }
    }

    /// Stops the watch (its consumer goes); `next` then returns what was queued, then throws.
    public func stop() {
        let current: MessageConsumer? = lock.withLock {
            stopped = true
            lock.broadcast()
            defer { consumer = nil }
            return consumer
        }
        current?.stop()
        ended()
    }

    /// Waits until no item is being handed to the handler (after `stop`: none will be). Not
    /// from the handler itself.
    public func waitForHandler() {
        delivery.withLock {}
    }

    /// Runs `body` once the watch ended (stopped, or its consumer gone): at once if it has.
    public func whenEnded(_ body: @escaping () -> Void) {
        let now: Bool = lock.withLock {
            if stopped { return true }
            endHandlers.append(body)
            return false
        }
        if now { body() }
    }

    public var isEnded: Bool { lock.withLock { stopped } }

    private func ended() {
        let handlers: [() -> Void] = lock.withLock {
            stopped = true
            lock.broadcast()
            defer { endHandlers = [] }
            return endHandlers
        }
        for handler in handlers { handler() }
    }

    /// The next item (`nil`: the initial values are all here), waiting up to the timeout.
    /// Throws `timeout`, or `invalidSubscription` once stopped (or its consumer gone) and
    /// drained.
    public func next(timeoutMilliseconds: Int64) throws -> Item? {
        guard handler == nil else { throw NATSError.illegalState("this watch delivers to a handler") }
        let deadline = Deadline.after(milliseconds: timeoutMilliseconds)
        return try lock.withLock {
            while queued.isEmpty {
                if stopped { throw NATSError.invalidSubscription("the watch is stopped") }
                if !lock.wait(until: deadline) && queued.isEmpty {
                    throw NATSError.timeout("no change within \(timeoutMilliseconds) ms")
                }
            }
            // Not empty: the loop above waited for an element.
            return queued.popFirst() ?? nil
        }
    }

    /// Items queued for `next`.
    public var pendingCount: Int { lock.withLock { queued.count } }

    // On the subscription's callback thread, one at a time, in order.
    private func deliver(_ message: Message) {
        guard let decoded = decode(message) else { return }
        delivery.withLock {
            sendMarkerLocked(force: false)
            if !decoded.skip { hand(decoded.item) }
            if decoded.delta == 0 { sendMarkerLocked(force: true) }
        }
    }

    private func sendMarkerIfDue(force: Bool) {
        delivery.withLock { sendMarkerLocked(force: force) }
    }

    /// With `delivery` held.
    private func sendMarkerLocked(force: Bool) {
        let due: Bool = lock.withLock {
            guard !markerSent, !stopped, force || updatesOnly || consumer?.initialPending == 0 else { return false }
            markerSent = true
            return true
        }
        if due { hand(nil) }
    }

    private func hand(_ item: Item?) {
        if let handler {
            handler(item)
            return
        }
        lock.withLock {
            queued.append(item)
            lock.signal()
        }
    }
}

/// A watch of some keys of a bucket: their current values first (or every revision, with
/// `includeHistory`), then `nil` once ("the initial values are all here"), then each change as
/// it happens; an ordered consumer under it: nothing twice, nothing out of order, across
/// reconnects.
public typealias KeyValueWatcher = OrderedWatch<KeyValueEntry>

extension OrderedWatch where Item == KeyValueEntry {
    convenience init(_ keyValue: KeyValue, keys: [String], options: WatchOptions, handler: Handler?) throws {
        let (config, decode) = try Self.entries(of: keyValue, keys: keys, options: options)
        try self.init(
            jetStream: keyValue.jetStream, stream: keyValue.streamName, config: config, updatesOnly: options.updatesOnly,
            decode: decode, handler: handler)
    }

    /// A watch of `keys`: its consumer's configuration, and what its messages become.
    static func entries(of keyValue: KeyValue, keys: [String], options: WatchOptions) throws
        -> (JSONValue, (Message) -> (item: KeyValueEntry, delta: UInt64, skip: Bool)?)
    {
        guard !keys.isEmpty else { throw NATSError.invalidArgument("a watch needs at least one key filter") }
        for key in keys { try KeyValue.checkKey(key, wildcards: true) }
        let config = JSONValue.object()
        let subjects = keys.map { keyValue.subject($0) }
        if subjects.count == 1 {
            config.set("filter_subject", subjects[0])
        } else {
            let filters = JSONValue.array()
            for subject in subjects { filters.append(JSONValue.string(subject)) }
            config.set("filter_subjects", filters)
        }
        config.set("deliver_policy", options.updatesOnly ? "new" : options.includeHistory ? "all" : "last_per_subject")
        if options.metaOnly { config.set("headers_only", true) }
        let bucket = keyValue.bucket
        return (config, { message in
            guard let entry = KeyValueEntry(bucket: bucket, consumed: message) else { return nil }
            return (entry, entry.delta, options.ignoreDeletes && entry.operation != .put)
        })
    }
}

extension KeyValue {
    /// Watches `keys` (`[">"]`: all); see `KeyValueWatcher`.
    public func watch(_ keys: [String] = [">"], options: WatchOptions = WatchOptions(), handler: KeyValueWatcher.Handler? = nil)
        throws -> KeyValueWatcher
    {
        try KeyValueWatcher(self, keys: keys, options: options, handler: handler)
    }

    /// As `watch`, without waiting for its consumer: `started` gets the watcher (or the error)
    /// as a connection event; entries may reach `handler` before it does.
    public func watch(
        _ keys: [String] = [">"], options: WatchOptions = WatchOptions(), handler: KeyValueWatcher.Handler?,
        started: @escaping (Result<KeyValueWatcher, Error>) -> Void
    ) throws {
        let (config, decode) = try KeyValueWatcher.entries(of: self, keys: keys, options: options)
        try KeyValueWatcher.start(
            jetStream: jetStream, stream: streamName, config: config, updatesOnly: options.updatesOnly, decode: decode,
            handler: handler, completion: started)
    }

    /// The keys with a value (deleted and purged ones left out), optionally among `filters`.
    public func keys(_ filters: [String] = [">"]) throws -> [String] {
        try initialEntries(filters, WatchOptions(ignoreDeletes: true, metaOnly: true)).map(\.key)
    }

    /// Every revision of `key` kept, oldest first (deletes and purges included); 404 when none.
    public func history(_ key: String) throws -> [KeyValueEntry] {
        try KeyValue.checkKey(key, wildcards: false)
        let entries = try initialEntries([key], WatchOptions(includeHistory: true))
        if entries.isEmpty { throw KeyValue.keyNotFound(key, deleted: false) }
        return entries.map(\.withoutDelta)
    }

    /// What a watch delivers before its marker.
    private func initialEntries(_ filters: [String], _ options: WatchOptions) throws -> [KeyValueEntry] {
        let watcher = try watch(filters, options: options)
        defer { watcher.stop() }
        var entries: [KeyValueEntry] = []
        while let entry = try watcher.next(timeoutMilliseconds: jetStream.timeoutMilliseconds) {
            entries.append(entry)
        }
        return entries
    }
}
