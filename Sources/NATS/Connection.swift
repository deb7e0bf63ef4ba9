#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import NIOSSL

/// A connection to a NATS server. Thread-safe: publish, subscribe, request and flush may be
/// called from any thread, including from this connection's callbacks.
///
/// Publishing appends to `write.outbound` under the lock and, when no flush is pending, asks the
/// event loop for one; the event loop takes the whole buffer in one write. So publishers never
/// wait for the socket, and writes are coalesced (DESIGN.md, threading model).
public final class Connection {
    public let options: Options

    /// One event-loop thread serves every connection: on two cores a second loop only adds
    /// context switches. Created on first use, never shut down (shutting a group down from one
    /// of its own threads is a crash, and a library cannot know which thread it is called on).
    static let eventLoopGroup = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    let eventLoop: EventLoop
    let muxer: RequestMuxer
    /// The timeouts of asynchronous requests, flushes and calls, on one timer.
    let timeouts: TimeoutQueue
    let lock = Condition()

    // Guarded by `lock`. Internal rather than private for Connection+Reconnect.swift.
    /// Status, teardown and the reasons of the last disconnect and of the close.
    var lifecycle = ConnectionLifecycle()
    var status: ConnectionStatus { lifecycle.status }
    var channel: Channel?
    /// The write path's buffers and flags (`WritePath`).
    var write = WritePath()
    /// The buffer the event loop is writing: only the loop touches it (not guarded by `lock`).
    var writing = OutboundBuffer()
    /// For send-now writes on the caller's thread (plain TCP only: TLS encrypts on the loop).
    var writer: SocketWriter?
    /// Reads the socket on the dispatch queue's owner (`Options.readOnDispatchQueue`).
    var reader: LinkReader?
    /// One entry per PING in flight: a flush waiting, or nil for a keep-alive PING.
    var pongWaiters: [Completion<Void>?] = []
    var pingsOut = 0
    var subscriptions: [UInt64: Subscription] = [:]
    private var nextSid: UInt64 = 0
    var info = ServerInfo()
    var pool: ServerPool
    var connectedServer: ServerAddress?
    var stats = Statistics()
    var pingTask: RepeatedTask?
    var callbacks: JobQueue?
    struct Observer {
        var closed: ((Connection) -> Void)?
        var error: ((Connection, Subscription?, NATSError) -> Void)?
        var reconnected: ((Connection) -> Void)?
    }
    var observers: [Int: Observer] = [:]
    var nextObserver = 0
    /// Made on the first TLS handshake and kept: loading certificates once per connection.
    var tlsContext: NIOSSLContext?
    /// Library threads of this connection still running (reconnect threads).
    var liveWorkers = 0
    /// Where callbacks run unless a subscription says otherwise: the shared delivery pool,
    /// the connection's own pool, or the dispatch queue of its options.
    let deliveryTarget: DeliveryTarget
    /// The pool made for this connection alone (`Options.deliveryPoolSize`), ended with it.
    let ownPool: DeliveryPool?


    private init(options: Options) {
        self.options = options
        self.eventLoop = Self.eventLoopGroup.next()
        self.timeouts = TimeoutQueue(eventLoop: eventLoop)
        self.muxer = RequestMuxer(inboxPrefix: options.inboxPrefix)
        self.pool = ServerPool(options.servers, randomize: !options.noRandomize)
        if let queue = options.dispatchQueue {
            ownPool = nil
            deliveryTarget = queue
        } else if options.deliveryPoolSize > 0 {
            let pool = DeliveryPool(size: options.deliveryPoolSize)
            ownPool = pool
            deliveryTarget = pool
        } else {
            ownPool = nil
            deliveryTarget = DeliveryPool.shared
        }
    }

    // MARK: connecting

    /// Connects to the first server of `options.servers` that answers, and completes the
    /// handshake (INFO, CONNECT, PING/PONG). Blocks up to the connect timeout per server.
    public static func connect(_ options: Options) throws -> Connection {
        try options.validate()
        let connection = Connection(options: options)
        connection.callbacks = JobQueue(target: connection.deliveryTarget, owner: connection)
        do {
            try connection.connectToFirstServer()
        } catch {
            if let failure = error as? NATSError, connection.retryInBackground(after: failure) { return connection }
            connection.callbacks?.stop(wait: true)
            connection.ownPool?.shutdown(wait: true)
            throw error
        }
        return connection
    }

    public static func connect(url: String) throws -> Connection {
        try connect(Options(url: url))
    }

    /// With `retryOnFailedConnect`, a first connect that found no server goes on in the
    /// background (the reconnect thread). Credentials refused are an answer, not an absence.
    private func retryInBackground(after failure: NATSError) -> Bool {
        guard options.retryOnFailedConnect, options.allowReconnect else { return false }
        if case .authorizationViolation = failure { return false }
        guard lock.withLock({ lifecycle.retryFirstConnect(failure) }) else { return false }
        do {
            try startWorker { [self] in reconnectLoop() }.finish(detachOnly: true)
        } catch {
            lock.withLock { _ = lifecycle.close() }
            return false
        }
        return true
    }

    /// Tries each server of the pool once, in pool order (shuffled unless `noRandomize`).
    private func connectToFirstServer() throws {
        var failure = NATSError.connectFailed("no server to connect to")
        for server in lock.withLock({ pool.addresses }) {
            do {
                let link = try self.open(server)
                lock.withLock { pool.moveToHead(server) }
                guard adopt(link, server: server) else { throw NATSError.connectionClosed }
                return
            } catch let error as NATSError {
                // Authentication failures are answers, not unreachable servers: report them as such.
                if case .authorizationViolation = error { throw error }
                failure = error
            } catch {
                failure = .connectFailed("\(server): \(error)")
            }
        }
        throw failure
    }

    /// A socket whose handshake completed, not yet the connection's.
    struct Link {
        let channel: Channel
        var writer: SocketWriter?
        /// The server's INFO from the handshake; the connection's once adopted.
        let info: ServerInfo
        /// Set when the dispatch queue's owner reads the socket.
        var reader: LinkReader? = nil

        mutating func close() {
            writer?.close()
            reader?.close()
            channel.close(promise: nil)
        }
    }

    /// Makes an opened link the connection's. After a reconnect the server knows nothing of
    /// this client, so the link first carries every subscription again (with what remains of
    /// its auto-unsubscribe count), then what was published while disconnected, then a PING
    /// for each flush still waiting. Returns false, closing the link, when the connection was
    /// closed meanwhile.
    func adopt(_ opened: Link, server: ServerAddress) -> Bool {
        var link = opened
        let interval = TimeAmount.milliseconds(options.pingIntervalMilliseconds)
        var refused: [String] = []
        let adopted: Bool = lock.withLock {
            let action = lifecycle.adopt()
            if action == .refuse { return false }
            if action == .reconnected || action == .connectedInBackground {
                var replay = OutboundBuffer()
                // Lock order: this connection's, then a subscription's (never the reverse).
                // A draining subscription has unsubscribed already: the new server never hears of it.
                for subscription in subscriptions.values.sorted(by: { $0.sid < $1.sid }) where !subscription.isDraining {
                    replay.appendSubscribe(subject: subscription.subject, queue: subscription.queue, sid: subscription.sid)
                    if let remaining = subscription.remainingMessages {
                        replay.appendUnsubscribe(sid: subscription.sid, max: max(1, remaining))
                    }
                }
                refused = replay.appendPublishes(of: write.outbound, upTo: link.info.maxPayload)
                stats.lostPublishes &+= UInt64(refused.count)
                for _ in pongWaiters { replay.appendPing() }
                write.outbound.release()
                write.outbound = replay
                // Queued before the lock is released, so it cannot follow a newer disconnect.
                if action == .reconnected {
                    stats.reconnects &+= 1
                    if let onReconnected = options.onReconnected { callbacks?.post { [self] in onReconnected(self) } }
                    for watcher in observers.values.compactMap(\.reconnected) { callbacks?.post { [self] in watcher(self) } }
                } else if let onConnected = options.onConnected {
                    callbacks?.post { [self] in onConnected(self) }
                }
            }
            info = link.info
            channel = link.channel
            writer = link.writer
            reader = link.reader
            if let reader = link.reader, let queue = options.dispatchQueue { reader.attach(to: queue.links) }
            connectedServer = server
            pool.recordSuccess()
            write.linkGeneration &+= 1
            write.writesInFlight = 0
            // Strong capture: the task is cancelled when the link goes, which breaks the cycle.
            pingTask = eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [self] _ in
                sendKeepAlivePing()
            }
            scheduleFlushLocked()
            lock.broadcast()
            return true
        }
        guard adopted else {
            link.close()
            return false
        }
        if !refused.isEmpty {
            postError(.publishesRefused(count: refused.count, limit: link.info.maxPayload, subjects: refused), subscription: nil)
        }
        // A link that died between its handshake and now was not ours when it reported it.
        if !link.channel.isActive { connectionLost(.io("connection closed after the handshake"), channel: link.channel) }
        return true
    }

    // MARK: state

    public var connectionStatus: ConnectionStatus { lock.withLock { status } }

    /// Waits until the connection is connected to a server (at once when it is): for a
    /// connection retrying its first connect in the background, or reconnecting. Throws
    /// `timeout`, or `connectionClosed` when it is (or becomes) closed.
    public func waitConnected(timeoutMilliseconds: Int64) throws {
        guard timeoutMilliseconds >= 0 else { throw NATSError.invalidArgument("timeout must not be negative") }
        let deadline = Deadline.after(milliseconds: timeoutMilliseconds)
        try lock.withLock {
            while true {
                switch status {
                case .connected, .draining: return
                case .closed: throw NATSError.connectionClosed
                default: break
                }
                if deadline.remainingNanoseconds == 0 {
                    throw NATSError.timeout("not connected within \(timeoutMilliseconds) ms (\(status))")
                }
                lock.wait(until: deadline)
            }
        }
    }
    public var isClosed: Bool { lock.withLock { status == .closed } }
    public var statistics: Statistics { lock.withLock { stats } }
    public var serverInfo: ServerInfo { lock.withLock { info } }
    public var maxPayload: Int { lock.withLock { info.maxPayload } }
    /// The server's URL without credentials; nil when not connected.
    public var connectedURL: String? {
        lock.withLock { status == .connected || status == .draining ? connectedServer?.description : nil }
    }
    /// The error that ended the connection, if it did not end by `close()`.
    public var closeReason: NATSError? { lock.withLock { lifecycle.closeReason } }
    /// Why the connection lost its server: a stale connection (PONGs missed), the socket
    /// closed or failing, a server `-ERR`, TLS; once closed without `close()`, what closed it
    /// (reconnecting gave up, say). nil while a link is up (a reconnect clears it, as nats.go
    /// clears its last error) and after a `close()` while connected. Set before the
    /// disconnected and closed callbacks run.
    public var disconnectReason: NATSError? { lock.withLock { lifecycle.closeReason ?? lifecycle.lastDisconnect } }

    /// The server pool: configured and discovered servers, without credentials.
    public var servers: [String] { lock.withLock { pool.addresses.map(\.description) } }
    /// The servers learned from the cluster (INFO `connect_urls`), without credentials.
    public var discoveredServers: [String] { lock.withLock { pool.discovered.map(\.description) } }

    /// A fresh subject under the inbox prefix.
    public func newInbox() -> String { options.inboxPrefix + "." + SharedNUID.next() }

    // MARK: publishing

    /// Publishes `payload` on `subject`. Returns once the message is in the write.outbound buffer.
    public func publish(_ subject: String, payload: [UInt8] = [], reply: String? = nil, headers: Headers? = nil) throws {
        try withWireBytes(subject: subject, reply: reply, headers: headers, payload: payload) {
            try publish(subject: $0, reply: $1, headers: $2, payload: $3)
        }
    }

    // MARK: flush, ping

    /// Sends a PING and waits for its PONG: everything published before has reached the server.
    public func flush(timeoutMilliseconds: Int64) throws {
        guard timeoutMilliseconds > 0 else { throw NATSError.invalidArgument("timeout must be positive") }
        let deadline = Deadline.after(milliseconds: timeoutMilliseconds)
        let completion = Completion<Void>()
        try sendPing(for: completion)
        guard let result = completion.wait(until: deadline) else {
            throw NATSError.timeout("no PONG within \(timeoutMilliseconds) ms")
        }
        try result.get()
    }

    /// Queues a PING whose PONG completes `completion`.
    func sendPing(for completion: Completion<Void>) throws {
        try lock.withLock {
            try lifecycle.checkFlush()
            pongWaiters.append(completion)
            enqueueControlLocked { $0.appendPing() }
        }
    }

    /// Round-trip time to the server, in nanoseconds.
    public func rtt(timeoutMilliseconds: Int64) throws -> Int64 {
        let start = Deadline.now()
        try flush(timeoutMilliseconds: timeoutMilliseconds)
        return Int64(Deadline.now().uptimeNanoseconds - start.uptimeNanoseconds)
    }

    /// On the event loop, every ping interval: too many PINGs unanswered means the server or
    /// the path to it is gone (nats.go's stale connection).
    private func sendKeepAlivePing() {
        let stale: Channel? = lock.withLock {
            guard status == .connected || status == .draining else { return nil }
            if pingsOut + 1 > options.maxPingsOut { return channel }
            pingsOut += 1
            pongWaiters.append(nil)
            enqueueControlLocked { $0.appendPing() }
            return nil
        }
        if let stale { connectionLost(.staleConnection, channel: stale) }
    }

    // MARK: subscribing

    /// Subscribes with a handler run as `delivery` says (by default on the connection's
    /// delivery pool or dispatch queue), one message at a time, in order; `lanes` > 1 lets
    /// that many run at once (a service endpoint's concurrency), without the order.
    /// `arrival`, when given, is told of each message the subscription accepts, where it is
    /// read (it must not block), before the message waits for `handler`.
    public func subscribe(
        _ subject: String, queue: String? = nil, delivery: SubscriptionDelivery = .connectionDefault,
        lanes: Int = 1, arrival: ((Message) -> Void)? = nil, filter: Subscription.Filter? = nil,
        handler: @escaping (Message) -> Void
    ) throws -> Subscription {
        guard lanes > 0 else { throw NATSError.invalidArgument("lanes must be positive") }
        if case .batches = delivery {
            throw NATSError.invalidArgument("a subscription with a handler cannot deliver batches")
        }
        return try addSubscription(
            subject: subject, queue: queue, handler: handler, inline: nil, delivery: delivery, lanes: lanes, arrival: arrival,
            filter: filter)
    }

    /// Subscribes with a handler that gets the messages in batches (up to
    /// `Subscription.batchLimits`), one call at a time, in order, as `delivery` says: for
    /// bindings where a call costs more than a message.
    public func subscribeInBatches(
        _ subject: String, queue: String? = nil, delivery: SubscriptionDelivery = .connectionDefault,
        filter: Subscription.Filter? = nil, handler batchHandler: @escaping Subscription.BatchHandler
    ) throws -> Subscription {
        if case .batches = delivery {
            throw NATSError.invalidArgument("a subscription with a handler cannot deliver batches")
        }
        return try addSubscription(
            subject: subject, queue: queue, handler: nil, inline: nil, batchHandler: batchHandler, delivery: delivery,
            filter: filter)
    }

    /// Subscribes without a handler: the messages are taken from `dispatchQueue` with
    /// `DeliveryQueue.nextBatch`, tagged with `token`.
    public func subscribeBatches(
        _ subject: String, queue: String? = nil, on dispatchQueue: DeliveryQueue, token: UInt64,
        filter: Subscription.Filter? = nil
    ) throws -> Subscription {
        try addSubscription(
            subject: subject, queue: queue, handler: nil, inline: nil, delivery: .batches(dispatchQueue, token: token),
            filter: filter)
    }

    /// Subscribes with a handler run where the messages are read (the event loop, or a
    /// dispatch queue's owner reading its links), in order, as they arrive: for library layers
    /// that hand them on at once (to a `JobQueue`), so that their order against other events
    /// (a deadline) is their arrival order. The handler must not block.
    public func subscribeInline(_ subject: String, handler: @escaping (Message) -> Void) throws -> Subscription {
        try addSubscription(subject: subject, queue: nil, handler: nil, inline: handler)
    }

    /// Subscribes for reading with `Subscription.next(timeoutMilliseconds:)`.
    public func subscribeSync(_ subject: String, queue: String? = nil, filter: Subscription.Filter? = nil) throws -> Subscription {
        try addSubscription(subject: subject, queue: queue, handler: nil, inline: nil, filter: filter)
    }

    private func addSubscription(
        subject: String, queue: String?, handler: ((Message) -> Void)?, inline: ((Message) -> Void)?,
        batchHandler: Subscription.BatchHandler? = nil, delivery: SubscriptionDelivery = .connectionDefault, lanes: Int = 1,
        arrival: ((Message) -> Void)? = nil, filter: Subscription.Filter? = nil
    ) throws -> Subscription {
        guard Subject.isValidSubscribeSubject(subject) else { throw NATSError.invalidSubject(subject) }
        if let queue, !Subject.isValidQueueGroup(queue) {
            throw NATSError.invalidArgument("invalid queue group \"\(queue)\"")
        }
        try Subject.checkControlLine(subject: subject.utf8.count, other: queue?.utf8.count ?? 0, subject)
        let subscription: Subscription = try lock.withLock {
            try lifecycle.checkSubscribe()
            nextSid += 1
            let subscription = Subscription(
                connection: self, sid: nextSid, subject: subject, queue: queue,
                pendingLimits: (options.pendingMessagesLimit, options.pendingBytesLimit),
                handler: handler, inlineHandler: inline, batchHandler: batchHandler,
                delivery: options.dedicatedDeliveryThreads && delivery.isConnectionDefault ? .dedicatedThread : delivery,
                defaultTarget: deliveryTarget, lanes: lanes, arrival: arrival, filter: filter)
            subscriptions[nextSid] = subscription
            return subscription
        }
        lock.withLock {
            enqueueControlLocked { $0.appendSubscribe(subject: subject, queue: queue, sid: subscription.sid) }
        }
        return subscription
    }

    /// UNSUB now (`max` nil) or after `max` messages in all.
    func unsubscribe(_ subscription: Subscription, max: Int?) throws {
        let onWorker = CallbackContext.isInCallback(of: self)
        if let max {
            if isClosed { throw NATSError.connectionClosed }
            let alreadyReached = try subscription.setMaxMessages(max)
            if alreadyReached {
                try unsubscribe(subscription, max: nil)
                return
            }
            try lock.withLock {
                try requireRegisteredLocked(subscription)
                enqueueControlLocked { $0.appendUnsubscribe(sid: subscription.sid, max: max) }
            }
            return
        }
        try lock.withLock {
            try requireRegisteredLocked(subscription)
            subscriptions.removeValue(forKey: subscription.sid)
            enqueueControlLocked { $0.appendUnsubscribe(sid: subscription.sid, max: nil) }
        }
        subscription.close(waitForCallbacks: !onWorker)
    }

    /// With the lock held: fails unless `subscription` is still in the table, naming why.
    private func requireRegisteredLocked(_ subscription: Subscription) throws {
        guard subscriptions[subscription.sid] != nil else {
            throw status == .closed ? NATSError.connectionClosed : NATSError.invalidSubscription("subscription is closed")
        }
    }

    /// Called when a subscription reached its end (auto-unsubscribe count, drain).
    func subscriptionEnded(_ subscription: Subscription, detach: Bool = false) {
        _ = lock.withLock { subscriptions.removeValue(forKey: subscription.sid) }
        subscription.close(waitForCallbacks: !(detach || CallbackContext.isInCallback(of: self)))
    }

    /// Starts a library thread of this connection, counted until it ends, so that `close()`
    /// can wait for callbacks that a close from inside a callback could only detach.
    public func startWorker(_ body: @escaping () -> Void) throws -> WorkerThread {
        lock.withLock { liveWorkers += 1 }
        return try WorkerThread(owner: self, onExit: { [self] in
            lock.withLock {
                liveWorkers -= 1
                lock.broadcast()
            }
        }, body)
    }

    /// Drains one subscription: UNSUB, a PING round trip so every message in flight has
    /// arrived, then delivery of what is queued; the subscription then ends.
    public func drain(_ subscription: Subscription, timeoutMilliseconds: Int64) throws {
        guard timeoutMilliseconds > 0 else { throw NATSError.invalidArgument("timeout must be positive") }
        let deadline = Deadline.after(milliseconds: timeoutMilliseconds)
        try lock.withLock {
            try requireRegisteredLocked(subscription)
            if status == .reconnecting { throw NATSError.reconnecting }
            enqueueControlLocked { $0.appendUnsubscribe(sid: subscription.sid, max: nil) }
        }
        try flush(timeoutMilliseconds: max(1, deadline.remainingNanoseconds / 1_000_000))
        if !subscription.finishWhenEmpty(deadline: deadline) {
            throw NATSError.timeout("drain of \"\(subscription.subject)\" did not finish in \(timeoutMilliseconds) ms")
        }
    }

    // MARK: request / reply

    /// Publishes a request with a muxed reply inbox and waits for the first reply.
    public func request(
        _ subject: String, payload: [UInt8] = [], headers: Headers? = nil, timeoutMilliseconds: Int64
    ) throws -> Message {
        try withWireBytes(subject: subject, reply: nil, headers: headers, payload: payload) {
            try request(subject: $0, headers: $2, payload: $3, timeoutMilliseconds: timeoutMilliseconds)
        }
    }

    public func request(
        subject: UnsafeRawBufferPointer, headers: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer,
        timeoutMilliseconds: Int64
    ) throws -> Message {
        guard timeoutMilliseconds > 0 else { throw NATSError.invalidArgument("timeout must be positive") }
        let deadline = Deadline.after(milliseconds: timeoutMilliseconds)
        let completion = Completion<Message>()
        let token = try startRequest(subject: subject, headers: headers, payload: payload) { completion.complete($0) }
        guard let result = completion.wait(until: deadline) else {
            muxer.cancel(token: token)
            throw NATSError.timeout("no reply to request on \"\(String(decoding: subject, as: UTF8.self))\" within \(timeoutMilliseconds) ms")
        }
        switch result {
        case .success(let message): return message
        case .failure(.noResponders): throw NATSError.noResponders(String(decoding: subject, as: UTF8.self))
        case .failure(let error): throw error
        }
    }

    /// Sends a request whose reply (or failure) goes to `completion`, called on the event loop
    /// or the calling thread: library code only, it must not block. Returns the token that
    /// `cancelRequest` takes.
    /// `interim`, when given, sees each reply first (on the event loop, without blocking): one
    /// it says is interim (a liveness frame) leaves the request waiting for its answer.
    public func startRequest(
        subject: UnsafeRawBufferPointer, headers: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer,
        interim: ((Message) -> Bool)? = nil, sendNow: Bool = true,
        completion: @escaping (Result<Message, NATSError>) -> Void
    ) throws -> RequestToken {
        try muxer.ensureSubscription {
            // The muxer outlives its subscription (the connection holds both). Not the
            // connection: it is weakly referenced, which makes each retain of it slower.
            try addSubscription(subject: muxer.replyPrefix + "*", queue: nil, handler: nil) { [unowned muxer] message in
                muxer.deliver(message)
            }
        }
        let token = muxer.register(interim: interim, completion)
        do {
            try muxer.withReplySubject(token) { reply in
                try publish(subject: subject, reply: reply, headers: headers, payload: payload, sendNow: sendNow)
            }
        } catch {
            muxer.cancel(token: token)
            throw error
        }
        return token
    }

    public func cancelRequest(token: RequestToken) { muxer.cancel(token: token) }

    deinit {
        // A connection dropped without close(): release the socket; threads hold no reference.
        channel?.close(promise: nil)
        writer?.close()
        reader?.close()
        write.outbound.release()
        writing.release()
    }
}

extension NATSError {
    var isPermission: Bool {
        if case .permissionViolation = self { return true }
        return false
    }
}

/// The library version, also sent in CONNECT.
public enum SwiftNATSVersion {
    public static let major = 0
    public static let minor = 2
    public static let patch = 0
    public static let string = "\(major).\(minor).\(patch)"
}
