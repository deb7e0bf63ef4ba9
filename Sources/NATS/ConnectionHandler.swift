import NIOCore

/// The NIO side of a connection: decodes server ops, reports the handshake's INFO and PONG to
/// the connecting thread (which writes CONNECT: building it may read files and run the
/// application's credential handlers, never on the event loop), and routes
/// messages to subscriptions. No user code runs here; messages are queued for the delivery
/// threads in batches, one lock per subscription per read rather than per message.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let connection: Connection
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

    init(connection: Connection, server: ServerAddress, info: EventLoopPromise<ServerInfo>,
         handshake: EventLoopPromise<Void>) {
        self.connection = connection
        self.server = server
        self.info = info
        self.handshake = handshake
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if failed { return }
        var buffer = unwrapInboundIn(data)
        subscriptions = connection.subscriptionsSnapshot()
        do {
            // `handle` must not touch `decoder`: the read holds it (the decoder applies INFO's
            // max_payload itself).
            try decoder.read(&buffer, allocator: context.channel.allocator) { op, bytes in
                try handle(op, in: bytes, context: context)
            }
        } catch {
            flushBatch()
            deliverRead()
            fail(context: context, error: error as? NATSError ?? .protocolError("\(error)"))
            return
        }
        flushBatch()
        deliverRead()
        subscriptions = [:]
    }

    /// `bytes` are the op's own, which a message's ranges index.
    private func handle(_ op: ServerOp, in bytes: UnsafeRawBufferPointer, context: ChannelHandlerContext) throws {
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
                context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(staticString: "PONG\r\n")), promise: nil)
            } else {
                connection.sendPong(to: context.channel)
            }
        case .pong:
            if let promise = handshake {
                handshake = nil
                promise.succeed(())
            } else {
                connection.handlePong(from: context.channel)
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
                connection.handleServerError(text, from: context.channel)
            }
        case .info(let info):
            // The decoder has already applied its max_payload to the parser.
            connection.updateInfo(info, from: server, channel: context.channel)
            if !sawInfo {
                sawInfo = true
                self.info?.succeed(info)
                self.info = nil
            }
        }
    }

    typealias OutboundOut = ByteBuffer

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

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { connection.flushOutbound() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        let failure: NATSError
        if let error = error as? NATSError {
            failure = error
        } else if let tls = NATSError.tls(error, server: server) {
            failure = tls
        } else {
            failure = .io("\(error)")
        }
        fail(context: context, error: failure)
    }

    /// Fails whichever handshake step is still waiting.
    private func failHandshake(_ error: NATSError) {
        info?.fail(error)
        info = nil
        handshake?.fail(error)
        handshake = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        if handshake != nil {
            failHandshake(NATSError.connectFailed("\(server): connection closed during the handshake"))
        }
        connection.connectionLost(nil, channel: context.channel)
        context.fireChannelInactive()
    }

    private func fail(context: ChannelHandlerContext, error: NATSError) {
        failed = true
        decoder.discardLeftover()
        subscriptions = [:]
        if handshake != nil {
            failHandshake(error)
        } else {
            connection.connectionLost(error, channel: context.channel)
        }
        context.close(promise: nil)
    }
}
