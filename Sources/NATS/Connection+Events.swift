import NIOCore

/// What the event loop reports to a connection (INFO, PONG, PING, -ERR, counts), and how
/// asynchronous errors and connection events reach the application and the layers built on
/// the connection: as jobs of its `callbacks` queue, one at a time, in order.
extension Connection {
    /// An INFO from `server`, during the handshake or later. Adds the servers it announces to
    /// the pool; lame-duck mode is reported and, with reconnect on, the client moves to another
    /// server at once instead of waiting for this one to drop it.
    func updateInfo(_ newInfo: ServerInfo, from server: ServerAddress, channel link: Channel) {
        let (discovered, enteredLameDuck): (Bool, Bool) = lock.withLock {
            let current = channel === link
            let enteredLameDuck = current && newInfo.lameDuckMode && !info.lameDuckMode
            // A link still in its handshake is not the connection's yet: `adopt` takes its INFO.
            if current { info = newInfo }
            var discovered = false
            if !options.ignoreDiscoveredServers && !newInfo.connectURLs.isEmpty {
                discovered = pool.addDiscovered(newInfo.connectURLs, template: server, randomize: !options.noRandomize)
                    && lifecycle.hasConnected
            }
            return (discovered, enteredLameDuck)
        }
        if discovered, let onDiscovered = options.onDiscoveredServers { post { onDiscovered($0) } }
        if enteredLameDuck {
            if let onLameDuck = options.onLameDuckMode { post { onLameDuck($0) } }
            if options.allowReconnect { leaveLameDuck(link) }
        }
    }

    /// On the event loop: leaves a server that announced its shutdown. What is queued goes out
    /// first; closing the link then starts the reconnect, to another server.
    func leaveLameDuck(_ link: Channel) {
        if let written = flushOutbound() {
            written.whenComplete { _ in link.close(promise: nil) }
        } else {
            link.close(promise: nil)
        }
    }

    func handlePong(from link: Channel) {
        let waiter: Completion<Void>?? = lock.withLock {
            guard channel === link else { return nil }
            pingsOut = 0
            return pongWaiters.isEmpty ? nil : pongWaiters.removeFirst()
        }
        if case .some(.some(let completion)) = waiter { completion.complete(.success(())) }
    }

    /// A server PING: answered on the current link. With no current link (between a handshake
    /// and `adopt`) the PONG waits in `write.outbound` for the first connect (a reconnect drops it:
    /// its link starts with a PING of its own).
    func sendPong(to link: Channel) {
        lock.withLock { if channel === link || channel == nil { enqueueControlLocked { $0.appendPong() } } }
    }

    /// A `-ERR` after the handshake. Permission violations leave the connection up; anything
    /// else is followed by the server closing it.
    func handleServerError(_ text: String, from link: Channel) {
        let lowered = text.lowercased()
        let error: NATSError
        if lowered.hasPrefix("permissions violation") {
            error = .permissionViolation(text)
        } else if lowered.contains("authorization violation") || lowered.contains("authentication") {
            error = .authorizationViolation(text)
        } else {
            error = .serverError(text)
        }
        // With no current link the error comes from the one being adopted (or the last words
        // of a dead one): reported either way. A replaced link's errors are not.
        let current: Bool = lock.withLock {
            guard channel === link || channel == nil else { return false }
            if !error.isPermission { lifecycle.linkError = error }
            return true
        }
        if current { postError(error, subscription: nil) }
    }

    func subscriptionsSnapshot() -> [UInt64: Subscription] { lock.withLock { subscriptions } }

    func countInbound(messages: UInt64, bytes: UInt64) {
        lock.withLock {
            stats.inMessages &+= messages
            stats.inBytes &+= bytes
        }
    }

    /// Reports an asynchronous failure of a layer built on the connection (a reply that could
    /// not be sent, say) to the error callback and the observers, as the core's own.
    public func reportError(_ error: NATSError, subscription: Subscription? = nil) {
        postError(error, subscription: subscription)
    }

    func reportSlowConsumer(_ subscription: Subscription) {
        postError(.slowConsumer(subject: subscription.subject), subscription: subscription)
    }

    func postError(_ error: NATSError, subscription: Subscription?) {
        let watchers = lock.withLock { observers.values.compactMap(\.error) }
        guard options.onError != nil || !watchers.isEmpty else { return }
        post { connection in
            for watcher in watchers { watcher(connection, subscription, error) }
            connection.options.onError?(connection, subscription, error)
        }
    }

    /// Library layers built on a connection (micro services, consumers) hear of its
    /// asynchronous errors, of its reconnecting and of its closing, beside the application's own callbacks: on the callback thread, in
    /// order with the other events. Returns the key for `removeObserver`.
    public func addObserver(
        closed: ((Connection) -> Void)? = nil, error: ((Connection, Subscription?, NATSError) -> Void)? = nil,
        reconnected: ((Connection) -> Void)? = nil
    ) -> Int {
        lock.withLock {
            nextObserver += 1
            observers[nextObserver] = Observer(closed: closed, error: error, reconnected: reconnected)
            return nextObserver
        }
    }

    public func removeObserver(_ key: Int) {
        _ = lock.withLock { observers.removeValue(forKey: key) }
    }

    /// Runs `event` as a connection event: one at a time, in order, on the connection's delivery
    /// pool or dispatch queue.
    func post(_ event: @escaping (Connection) -> Void) {
        let queue = lock.withLock { callbacks }
        queue?.post { [self] in event(self) }
    }

    /// A job queue on this connection's delivery pool or dispatch queue, for a layer built on
    /// it whose callbacks must run one at a time, in order (RPC client callbacks).
    public func makeJobQueue() -> JobQueue { JobQueue(target: deliveryTarget, owner: self) }

    /// Runs `body` after `milliseconds` (up to `TimeoutQueue.granularityNanoseconds` later):
    /// library code only (it must not block); returns a function that cancels it. One timer
    /// serves them all (`TimeoutQueue`). It is where a timeout is judged, so it runs where
    /// the answers it races with have been read: on the event loop, or, while the link is
    /// read by its dispatch queue's owner, on the owner after its next read (an answer
    /// waiting unread in the socket, because the owner dispatches late, counts first).
    public func afterDelay(milliseconds: Int64, _ body: @escaping () -> Void) -> () -> Void {
        timeouts.add(milliseconds: milliseconds) { [weak self] in
            guard let self, let queue = options.dispatchQueue, lock.withLock({ self.reader != nil }) else { return body() }
            queue.scheduleAfterReading(body)
        }
    }

    /// Runs `body` on the event loop after `milliseconds` (up to
    /// `TimeoutQueue.granularityNanoseconds` later), whoever reads the link: library work that
    /// must go on while a dispatch queue's owner is busy (liveness frames). It must not block.
    public func onEventLoop(afterMilliseconds milliseconds: Int64, _ body: @escaping () -> Void) -> () -> Void {
        timeouts.add(milliseconds: milliseconds, body)
    }

    /// Ends the connection from the library's side (server gone without reconnect, reconnect
    /// given up): the teardown, which may wait for callbacks, runs on a library thread.
    func closeFromLibrary(_ error: NATSError, reportDisconnect: Bool) {
        let claimed: Bool = lock.withLock {
            guard lifecycle.closeFromLibrary(error) == .runTeardown else { return false }
            lock.broadcast()
            return true
        }
        guard claimed else { return }
        // On a library thread of its own: not as a connection event, which a dispatch queue
        // would hold until its owner dispatches (a close() from that owner would then wait for
        // itself), and which would hold up the completions the teardown's waits may need.
        let teardown = { [self] in performTeardown(serverSide: true, reportDisconnect: reportDisconnect) }
        do {
            try startWorker(teardown).finish(detachOnly: true)
        } catch {
            teardown()
        }
    }

}
