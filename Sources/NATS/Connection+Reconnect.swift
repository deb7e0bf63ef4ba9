import NIOCore

/// Losing the server, and finding one again: the reconnect thread walks the server pool
/// (nats.go's order and pauses) until a handshake completes or every server has used up its
/// attempts. Publishes made meanwhile wait in the reconnect buffer (`write.outbound`, bounded by
/// `Options.reconnectBufferBytes`); `adopt` replays subscriptions and that buffer.
extension Connection {
    /// Called on the event loop (or by `adopt`) when the link `lost` stopped working; a link
    /// that is no longer the current one is ignored. Without reconnect, or while draining, the
    /// connection closes. Otherwise it starts reconnecting: bytes queued for the dead socket are
    /// dropped (they may or may not have reached the server, as in nats.c and nats.go), requests
    /// waiting for a reply fail at once rather than at their timeout, and flushes wait for the
    /// next link.
    func connectionLost(_ error: NATSError?, channel lost: Channel) {
        enum Next { case ignore, close(NATSError), reconnect(lostFlushes: [Completion<Void>]) }
        let next: Next = lock.withLock {
            guard let current = channel, current === lost else { return .ignore }
            let action = lifecycle.linkLost(error, allowReconnect: options.allowReconnect)
            if action == .ignore { return .ignore }
            pingTask?.cancel()
            pingTask = nil
            // Never written: lost with the link (a write NIO holds counts itself when it fails).
            stats.lostPublishes &+= UInt64(write.outbound.publishes)
            if case .close(let reason) = action { return .close(reason) }
            channel = nil
            writer?.close()
            writer = nil
            reader?.close()
            reader = nil
            write.outbound.removeAll()
            // Their PINGs went to the dead link behind publishes that may be lost: answering
            // them from the next server would claim those publishes arrived.
            let lostFlushes = pongWaiters.compactMap { $0 }
            pongWaiters.removeAll()
            pingsOut = 0
            lock.broadcast()
            return .reconnect(lostFlushes: lostFlushes)
        }
        switch next {
        case .ignore:
            return
        case .close(let reason):
            closeFromLibrary(reason, reportDisconnect: true)
        case .reconnect(let lostFlushes):
            lost.close(promise: nil)
            for flush in lostFlushes { flush.complete(.failure(.connectionLost("the server went away before answering the flush"))) }
            muxer.failWaiting(.connectionLost("the server went away before the reply arrived"))
            if let onDisconnected = options.onDisconnected { post { onDisconnected($0) } }
            do {
                try startWorker { [self] in reconnectLoop() }.finish(detachOnly: true)
            } catch {
                closeFromLibrary(.illegalState("cannot start the reconnect thread"), reportDisconnect: false)
            }
        }
    }

    /// On the reconnect thread. nats.go's walk: take the next server of the pool; after every
    /// full pass, pause (wait + jitter, or the custom delay). Ends when a link is adopted, the
    /// connection is closed, or no server has attempts left.
    func reconnectLoop() {
        var passes = 0
        var triedThisPass = 0
        while true {
            let step: (server: ServerAddress, pause: Bool)? = lock.withLock {
                guard status == .reconnecting, let server = pool.next(maxAttempts: options.maxReconnectAttempts) else {
                    return nil
                }
                triedThisPass += 1
                let pause = triedThisPass >= pool.count
                if pause { triedThisPass = 0 }
                return (server, pause)
            }
            guard let step else { break }
            if step.pause {
                passes += 1
                guard pause(milliseconds: delayAfterPass(passes, tls: step.server.scheme == "tls")) else { return }
            } else if let last = lock.withLock({ pool.headLastAttempt }) {
                // A server tried less than a wait ago (its link died right after the handshake,
                // say) waits out the rest: a flapping cluster costs no busy loop.
                let elapsed = Int64((Deadline.now().uptimeNanoseconds - last.uptimeNanoseconds) / 1_000_000)
                if elapsed < options.reconnectWaitMilliseconds {
                    guard pause(milliseconds: options.reconnectWaitMilliseconds - elapsed) else { return }
                }
            }
            lock.withLock { pool.recordAttempt() }
            do {
                let link = try self.open(step.server)
                _ = adopt(link, server: step.server)
                return
            } catch {
                let failure = error as? NATSError ?? .connectFailed("\(step.server): \(error)")
                lock.withLock { lifecycle.linkError = failure }
                if case .authorizationViolation = failure { postError(failure, subscription: nil) }
            }
        }
        let reason: NATSError? = lock.withLock { lifecycle.reconnectGaveUp() }
        if let reason { closeFromLibrary(reason, reportDisconnect: false) }
    }

    /// The pause after `passes` failed passes through the server list: the custom delay, or
    /// the wait plus a random jitter (saturating: huge settings mean "very long", not a trap).
    private func delayAfterPass(_ passes: Int, tls: Bool) -> Int64 {
        if let custom = options.customReconnectDelay { return max(0, custom(self, passes)) }
        let jitter = tls ? options.reconnectJitterTLSMilliseconds : options.reconnectJitterMilliseconds
        let (total, overflow) = options.reconnectWaitMilliseconds.addingReportingOverflow(
            jitter > 0 ? Int64.random(in: 0...jitter) : 0)
        return overflow ? Int64.max : total
    }

    /// Waits while reconnecting. Returns false when the connection was closed meanwhile (close
    /// wakes the wait).
    private func pause(milliseconds: Int64) -> Bool {
        let deadline = Deadline.after(milliseconds: milliseconds)
        return lock.withLock {
            while status == .reconnecting && deadline.remainingNanoseconds > 0 { lock.wait(until: deadline) }
            return status == .reconnecting
        }
    }
}
