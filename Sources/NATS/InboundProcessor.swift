#if canImport(Glibc)
import Glibc
#endif
import NIOCore

/// What a link's bytes do: decodes server ops, reports the handshake's INFO and PONG to the
/// connecting thread (which writes CONNECT: building it may read files and run the
/// application's credential handlers, never on the event loop), answers PINGs, and routes
/// messages to subscriptions. No user code runs here; messages are queued for the delivery
/// threads in batches, one lock per subscription per read rather than per message.
///
/// Fed by `ConnectionHandler` on the event loop (the handshake, TLS links, connections that
/// do not read on a dispatch queue) or by a `LinkReader` on the thread of a dispatch queue's
/// owner; one processor serves a link from its handshake to its end, whichever feeds it.
/// `lock` makes each call whole: the event loop reports a failed write or a closed channel
/// while a queue's owner may be reading. It is recursive: closing a link on the event loop
/// reports the channel's end at once, from inside the call that closed it (as NIO always did
/// to the handler).
final class InboundProcessor {
    let connection: Connection
    /// The server this link is to: CONNECT carries its credentials, its INFO names its peers.
    private let server: ServerAddress
    /// The first INFO, then the PONG answering CONNECT's PING: the handshake's two steps.
    private var info: EventLoopPromise<ServerInfo>?
    private var handshake: EventLoopPromise<Void>?
    /// The parser and the op carried over between reads.
    private var decoder = InboundDecoder()
    private var sawInfo = false
    /// Set once the link failed: bytes NIO still delivers while closing are ignored.
    private var failed = false

    // Per-read routing state.
    private var subscriptions: [UInt64: Subscription] = [:]
    private var batchSubscription: Subscription?
    private var batch: [Message] = []
    /// The runs of one read, per subscription, queued at the end of the read: the inbound
    /// counts are then updated once, and the delivery pool is woken once for every
    /// subscription that has work (with messages spread over many subscriptions, a lock and
    /// a wake-up per message otherwise).
    private var readBatches: [(Subscription, [Message])] = []
    private var wakeUps = DeliveryWakeUps()
    private var inMessages: UInt64 = 0
    private var inBytes: UInt64 = 0

    private let lock = RecursiveLock()

    init(connection: Connection, server: ServerAddress, info: EventLoopPromise<ServerInfo>,
         handshake: EventLoopPromise<Void>) {
        self.connection = connection
        self.server = server
        self.info = info
        self.handshake = handshake
    }

    /// Handles the bytes `link` brought.
    func process(_ buffer: inout ByteBuffer, from link: Channel) {
        lock.withLock { processLocked(&buffer, from: link) }
    }

    private func processLocked(_ buffer: inout ByteBuffer, from link: Channel) {
        if failed { return }
        subscriptions = connection.subscriptionsSnapshot()
        do {
            // `handle` must not touch `decoder`: the read holds it (the decoder applies INFO's
            // max_payload itself).
            try decoder.read(&buffer, allocator: link.allocator) { op, bytes in
                try handle(op, in: bytes, link: link)
            }
        } catch {
            flushBatch()
            deliverRead()
            failLocked(link: link, error: error as? NATSError ?? .protocolError("\(error)"))
            return
        }
        flushBatch()
        deliverRead()
        subscriptions = [:]
    }

    /// `bytes` are the op's own, which a message's ranges index.
    private func handle(_ op: ServerOp, in bytes: UnsafeRawBufferPointer, link: Channel) throws {
        if case .message(let inbound) = op {
            route(inbound, in: bytes)
            return
        }
        // Messages read before any other op are queued before it takes effect: a PONG ends a
        // flush (a drain then finds them pending), an -ERR is reported after them.
        flushBatch()
        deliverRead()
        switch op {
        case .message:
            break
        case .ping:
            if handshake != nil {
                link.writeAndFlush(link.allocator.buffer(staticString: "PONG\r\n"), promise: nil)
            } else {
                connection.sendPong(to: link)
            }
        case .pong:
            if let promise = handshake {
                handshake = nil
                promise.succeed(())
            } else {
                connection.handlePong(from: link)
            }
        case .ok:
            break
        case .err(let text):
            if handshake != nil {
                let lowered = text.lowercased()
                if lowered.contains("authorization") || lowered.contains("authentication") {
                    failHandshake(NATSError.authorizationViolation(text))
                } else {
                    failHandshake(NATSError.serverError(text))
                }
            } else {
                connection.handleServerError(text, from: link)
            }
        case .info(let info):
            // The decoder has already applied its max_payload to the parser.
            connection.updateInfo(info, from: server, channel: link)
            if !sawInfo {
                sawInfo = true
                self.info?.succeed(info)
                self.info = nil
            }
        }
    }

    private func route(_ inbound: InboundMessage, in bytes: UnsafeRawBufferPointer) {
        inMessages &+= 1
        inBytes &+= UInt64(inbound.body.count - inbound.headerLength)
        // Runs of messages for one subscription skip the table lookup.
        let subscription: Subscription
        if let batched = batchSubscription, batched.sid == inbound.sid {
            subscription = batched
        } else if let found = subscriptions[inbound.sid] {
            subscription = found
        } else {
            return
        }
        let message = Message(storage: MessageStorage.make(inbound, in: bytes, connection: connection))
        if let inline = subscription.inlineHandler {
            flushBatch()
            deliverRead()
            subscription.countInline()
            inline(message)
            return
        }
        if batchSubscription !== subscription {
            flushBatch()
            batchSubscription = subscription
        }
        batch.append(message)
    }

    private func flushCounts() {
        guard inMessages > 0 else { return }
        connection.countInbound(messages: inMessages, bytes: inBytes)
        inMessages = 0
        inBytes = 0
    }

    private func flushBatch() {
        guard let subscription = batchSubscription else { return }
        batchSubscription = nil
        readBatches.append((subscription, batch))
        batch = []
    }

    /// Hands what the read brought to the subscriptions. Counted first, so a reader that has
    /// a message also sees it in the stats; then the pool and queues are woken once.
    private func deliverRead() {
        flushCounts()
        guard !readBatches.isEmpty else { return }
        for (subscription, messages) in readBatches where subscription.enqueue(messages, wakeUps: &wakeUps) {
            connection.reportSlowConsumer(subscription)
        }
        readBatches.removeAll(keepingCapacity: true)
        wakeUps.schedule()
    }

    /// The link failed (an error on the event loop, or a read on a queue owner's thread).
    func fail(link: Channel, error: NATSError) {
        lock.withLock { failLocked(link: link, error: error) }
    }

    /// The link closed (the event loop saw the channel go, or a reader saw the server close).
    func linkEnded(_ link: Channel) {
        lock.withLock {
            if handshake != nil {
                failHandshake(NATSError.connectFailed("\(server): connection closed during the handshake"))
            }
        }
        connection.connectionLost(nil, channel: link)
    }

    /// Fails whichever handshake step is still waiting.
    private func failHandshake(_ error: NATSError) {
        info?.fail(error)
        info = nil
        handshake?.fail(error)
        handshake = nil
    }

    private func failLocked(link: Channel, error: NATSError) {
        failed = true
        decoder.discardLeftover()
        subscriptions = [:]
        if handshake != nil {
            failHandshake(error)
        } else {
            connection.connectionLost(error, channel: link)
        }
        link.close(promise: nil)
    }
}

/// A mutex its holder may take again.
final class RecursiveLock {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init() {
        var attributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&attributes)
        pthread_mutexattr_settype(&attributes, CInt(PTHREAD_MUTEX_RECURSIVE))
        pthread_mutex_init(mutex, &attributes)
        pthread_mutexattr_destroy(&attributes)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always)
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
