import NATS

/// Completes a client's callback-form calls: it reads their replies (off the event loop),
/// sends a no-responders call on to the next namespace, runs the callbacks one at a time (a
/// `JobQueue` on the connection's delivery pool or dispatch queue: no thread of its own), and
/// times calls out with event-loop timers. Made on the first callback call; ends with the
/// client or its connection.
final class CallbackDispatcher {
    typealias Callback = (Result<JSONValue, Error>) -> Void

    private struct Waiting {
        let call: PendingCall
        let timeoutMilliseconds: Int64
        let callback: Callback
        var cancelTimer: (() -> Void)?
    }

    private let connection: Connection
    private let jobs: JobQueue
    private let condition = Condition()
    private var waiting: [UInt64: Waiting] = [:]
    private var stopping = false

    init(connection: Connection) {
        self.connection = connection
        jobs = connection.makeJobQueue()
    }

    /// Sends `call` and calls `callback` with its outcome, or with a timeout.
    func start(_ call: PendingCall, timeoutMilliseconds: Int64, callback: @escaping Callback) throws {
        try condition.withLock {
            if stopping { throw NATSError.connectionClosed }
            waiting[call.id] = Waiting(call: call, timeoutMilliseconds: timeoutMilliseconds, callback: callback)
        }
        let id = call.id
        let cancel = connection.afterDelay(milliseconds: timeoutMilliseconds) { [weak self] in
            self?.jobs.post { self?.expire(id) }
        }
        let stillWaiting: Bool = condition.withLock {
            guard waiting[id] != nil else { return false }
            waiting[id]?.cancelTimer = cancel
            return true
        }
        if !stillWaiting { cancel() }
        do {
            try call.launch(onReply: onReply(id))
        } catch {
            let entry = condition.withLock { waiting.removeValue(forKey: id) }
            entry?.cancelTimer?()
            throw error
        }
        if let limit = call.silenceLimitNanoseconds { checkLiveness(id, after: limit) }
    }

    /// A call with liveness frames is looked at when its silence would reach the limit: lost
    /// then, or looked at again when the new silence would.
    private func checkLiveness(_ id: UInt64, after nanoseconds: UInt64) {
        _ = connection.afterDelay(milliseconds: Int64((nanoseconds + 999_999) / 1_000_000)) { [weak self] in
            self?.jobs.post { self?.judgeLiveness(id) }
        }
    }

    private func judgeLiveness(_ id: UInt64) {
        guard let entry = condition.withLock({ waiting[id] }), let lostAt = entry.call.lostAt else { return }
        guard let lost = entry.call.lostError() else {
            checkLiveness(id, after: UInt64(max(1, lostAt.remainingNanoseconds)))
            return
        }
        guard let mine = condition.withLock({ waiting.removeValue(forKey: id) }) else { return }
        mine.cancelTimer?()
        mine.call.cancel()
        mine.callback(.failure(lost))
    }

    /// On the event loop: hands the reply to the job queue.
    private func onReply(_ id: UInt64) -> (Result<Message, NATSError>) -> Void {
        { [weak self] result in self?.jobs.post { self?.replied(id, result) } }
    }

    private func replied(_ id: UInt64, _ result: Result<Message, NATSError>) {
        guard let entry = condition.withLock({ waiting[id] }) else { return }  // timed out already
        guard case .finished(let outcome) = entry.call.handle(result, onReply: onReply(id)) else { return }
        guard let mine = condition.withLock({ waiting.removeValue(forKey: id) }) else { return }
        mine.cancelTimer?()
        entry.callback(outcome)
    }

    private func expire(_ id: UInt64) {
        guard let entry = condition.withLock({ waiting.removeValue(forKey: id) }) else { return }
        entry.call.cancel()
        entry.callback(.failure(entry.call.timeoutError(entry.timeoutMilliseconds)))
    }

    /// Fails every waiting call with `error` (on this thread) and takes no more calls.
    func stop(_ error: Error) {
        let left: [Waiting] = condition.withLock {
            stopping = true
            defer { waiting.removeAll() }
            return Array(waiting.values)
        }
        for entry in left {
            entry.cancelTimer?()
            entry.call.cancel()
            entry.callback(.failure(error))
        }
        jobs.stop(wait: false)
    }
}
