import NIOCore

/// Losing the server, and finding one again: the reconnect thread walks the server pool
/// (nats.go's order and pauses) until a handshake completes or every server has used up its
/// attempts. Publishes made meanwhile wait in the reconnect buffer (`outbound`, bounded by
/// `Options.reconnectBufferBytes`); `adopt` replays subscriptions and that buffer.
extension Connection {
    /// Called on the event loop (or by `adopt`) when the link `lost` stopped working; a link
    /// that is no longer the current one is ignored. Without reconnect, or while draining, the
    /// connection closes. Otherwise it starts reconnecting: bytes queued for the dead socket are
    /// dropped (they may or may not have reached the server, as in nats.c and nats.go), requests
    /// waiting for a reply fail at once rather than at their timeout, and flushes wait for the
    /// next link.
    func connectionLost(_ error: NATSError?, channel lost: Channel) {
        enum Next { case ignore, close(NATSError), reconnect }
        let next: Next = lock.withLock {
            guard teardown == .none, let current = channel, current === lost else { return .ignore }
            pingTask?.cancel()
            pingTask = nil
            let reason = error ?? linkError ?? .connectionClosed
            if !options.allowReconnect || status == .draining { return .close(reason) }
            linkError = reason
            channel = nil
            writer?.close()
            writer = nil
            outbound.removeAll()
            pongWaiters.removeAll { $0 == nil }
            pingsOut = 0
            status = .reconnecting
            lock.broadcast()
            return .reconnect
        }
        switch next {
        case .ignore:
            return
        case .close(let reason):
            closeFromLibrary(reason, reportDisconnect: true)
        case .reconnect:
            lost.close(promise: nil)
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
    private func reconnectLoop() {
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
                guard pauseBeforeReconnecting(passes: passes, tls: step.server.scheme == "tls") else { return }
            }
            lock.withLock { pool.recordAttempt() }
            do {
                let link = try self.open(step.server)
                if adopt(link, server: step.server), let onReconnected = options.onReconnected {
                    post { onReconnected($0) }
                }
                return
            } catch {
                let failure = error as? NATSError ?? .connectFailed("\(step.server): \(error)")
                lock.withLock { linkError = failure }
                if case .authorizationViolation = failure { postError(failure, subscription: nil) }
            }
        }
        let reason: NATSError? = lock.withLock {
            guard status == .reconnecting else { return nil }
            let last = linkError.map { ": last failure: \($0)" } ?? ""
            return .connectFailed("reconnect gave up, no server left to try\(last)")
        }
        if let reason { closeFromLibrary(reason, reportDisconnect: false) }
    }

    /// Waits before the next pass through the server list. Returns false when the connection
    /// was closed meanwhile (close wakes the wait).
    private func pauseBeforeReconnecting(passes: Int, tls: Bool) -> Bool {
        let milliseconds: Int64
        if let custom = options.customReconnectDelay {
            milliseconds = max(0, custom(self, passes))
        } else {
            let jitter = tls ? options.reconnectJitterTLSMilliseconds : options.reconnectJitterMilliseconds
            milliseconds = options.reconnectWaitMilliseconds + (jitter > 0 ? Int64.random(in: 0...jitter) : 0)
        }
        let deadline = Deadline.after(milliseconds: milliseconds)
        return lock.withLock {
            while status == .reconnecting && deadline.remainingNanoseconds > 0 { lock.wait(until: deadline) }
            return status == .reconnecting
        }
    }
}
