import NIOCore

/// Closing and draining: the teardown runs once (`ConnectionLifecycle`), flushes what was
/// published, closes the socket, ends every subscription and fails what waits; close()
/// returns when no callback of the connection runs any more (unless called from one).
extension Connection {
    /// Flushes what is buffered, closes the socket, ends every subscription and fails every
    /// pending request and flush with `connectionClosed`. Idempotent. When it returns, no
    /// callback of this connection is running unless it was called from one.
    public func close() {
        close(waitForCallbacks: true)
    }

    /// `waitForCallbacks` false: a drain that timed out leaves callbacks still running to end
    /// by themselves rather than waiting past its deadline.
    func close(waitForCallbacks: Bool) {
        let onWorker = CallbackContext.isInCallback(of: self)
        let mustRun: Bool = lock.withLock {
            guard lifecycle.close() == .runTeardown else { return false }
            lock.broadcast()
            return true
        }
        if mustRun { performTeardown(serverSide: false, detachWorkers: onWorker || !waitForCallbacks) }
        guard !onWorker && waitForCallbacks else { return }
        // Whoever ran the teardown, from here on no callback of this connection is running,
        // and the closed callback has run (unless a dispatch queue holds it for its owner).
        let events: JobQueue? = lock.withLock {
            while lifecycle.teardown != .done || liveWorkers > 0 { lock.wait(until: nil) }
            return callbacks
        }
        events?.stop(wait: true)
    }

    func performTeardown(serverSide: Bool, reportDisconnect: Bool = false, detachWorkers: Bool = false) {
        let onWorker = CallbackContext.isInCallback(of: self)
        let (channel, waiters, subs, task, queue) = lock.withLock {
            let taken = (self.channel, pongWaiters, Array(subscriptions.values), pingTask, callbacks)
            pongWaiters.removeAll()
            subscriptions.removeAll()
            pingTask = nil
            lock.broadcast()
            return taken
        }
        task?.cancel()
        if let channel {
            // Whatever was published before close goes out before the socket closes.
            let closed = eventLoop.submit { () -> EventLoopFuture<Void> in
                self.flushOutbound()
                return channel.close()
            }.flatMap { $0 }
            _ = try? closed.wait()
        }
        lock.withLock {
            self.channel = nil
            writer?.close()
            writer = nil
            reader?.close()
            reader = nil
            // Whatever is still buffered (the reconnect buffer, or a tail the socket did not
            // take) never reaches a server.
            stats.lostPublishes &+= UInt64(write.outbound.publishes)
            write.outbound.release()
        }
        for waiter in waiters { waiter?.complete(.failure(.connectionClosed)) }
        muxer.failAll(.connectionClosed)
        for subscription in subs { subscription.close(waitForCallbacks: !(detachWorkers || (onWorker && !serverSide))) }
        if let queue {
            if reportDisconnect, let onDisconnected = options.onDisconnected { queue.post { [self] in onDisconnected(self) } }
            let watchers = lock.withLock { observers.values.compactMap(\.closed) }
            let closedEvent: (Connection) -> Void = { connection in
                for watcher in watchers { watcher(connection) }
                connection.options.onClosed?(connection)
            }
            queue.post { [self] in closedEvent(self) }
            // The closed callback runs as a job: wait for it unless this is that job (or the
            // queue is a dispatch queue, run by its owner); close() then also waits for every
            // reconnect thread to have ended.
            queue.stop(wait: !detachWorkers)
        }
        ownPool?.shutdown(wait: !detachWorkers && !onWorker)
        lock.withLock {
            lifecycle.teardownFinished()
            lock.broadcast()
        }
    }

    /// Drains every subscription, then flushes and closes. Publishing stays possible while
    /// subscriptions drain; new subscriptions are refused.
    public func drain(timeoutMilliseconds: Int64) throws {
        guard timeoutMilliseconds > 0 else { throw NATSError.invalidArgument("timeout must be positive") }
        let deadline = Deadline.after(milliseconds: timeoutMilliseconds)
        // Read before taking the lock: the muxer creates its subscription under its own lock
        // and then takes this one, so the other order could deadlock.
        let muxSid = muxer.subscription?.sid
        let subs: [Subscription] = try lock.withLock {
            try lifecycle.beginDrain()
            let subs = subscriptions.values.filter { $0.sid != muxSid }
            for subscription in subs {
                enqueueControlLocked { $0.appendUnsubscribe(sid: subscription.sid, max: nil) }
            }
            return Array(subs)
        }
        var failure: NATSError?
        do {
            try flush(timeoutMilliseconds: max(1, deadline.remainingNanoseconds / 1_000_000))
            for subscription in subs where !subscription.finishWhenEmpty(deadline: deadline) {
                failure = .timeout("drain did not finish within \(timeoutMilliseconds) ms")
            }
            try flush(timeoutMilliseconds: max(1, deadline.remainingNanoseconds / 1_000_000))
        } catch let error as NATSError {
            failure = error
        }
        close(waitForCallbacks: failure == nil)
        if let failure { throw failure }
    }

    /// Replies to a request message.
    public func respond(to message: Message, payload: [UInt8], headers: Headers? = nil) throws {
        guard let reply = message.reply, !reply.isEmpty else {
            throw NATSError.invalidArgument("message has no reply subject")
        }
        try withWireBytes(subject: reply, reply: nil, headers: headers, payload: payload) {
            try publish(subject: $0, reply: nil, headers: $2, payload: $3, sendNow: true)
        }
    }

}
