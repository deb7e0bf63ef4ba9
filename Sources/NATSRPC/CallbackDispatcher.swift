import NATS

/// The thread that completes a client's callback-form calls: it reads their replies (off the
/// event loop), sends a no-responders call on to the next namespace, runs the callbacks one at
/// a time, and times calls out. Started on the first callback call; ends with the client or
/// its connection.
final class CallbackDispatcher {
    typealias Callback = (Result<JSONValue, Error>) -> Void

    private struct Waiting {
        let call: PendingCall
        let deadline: Deadline
        let timeoutMilliseconds: Int64
        let callback: Callback
    }

    private let condition = Condition()
    private var jobs: [() -> Void] = []
    private var waiting: [UInt64: Waiting] = [:]
    private var stopping = false
    private var thread: WorkerThread?

    init(connection: Connection) throws {
        let thread = try connection.startWorker { [self] in run() }
        condition.withLock { self.thread = thread }
    }

    /// Sends `call` and calls `callback` with its outcome, or with a timeout.
    func start(_ call: PendingCall, timeoutMilliseconds: Int64, callback: @escaping Callback) throws {
        try condition.withLock {
            if stopping { throw NATSError.connectionClosed }
            waiting[call.id] = Waiting(call: call, deadline: .after(milliseconds: timeoutMilliseconds),
                                       timeoutMilliseconds: timeoutMilliseconds, callback: callback)
            condition.signal()
        }
        do {
            try call.launch(onReply: onReply(call.id))
        } catch {
            _ = condition.withLock { waiting.removeValue(forKey: call.id) }
            throw error
        }
    }

    /// On the event loop: hands the reply to the dispatcher's thread.
    private func onReply(_ id: UInt64) -> (Result<Message, NATSError>) -> Void {
        { [weak self] result in self?.post { self?.replied(id, result) } }
    }

    private func post(_ job: @escaping () -> Void) {
        condition.withLock {
            guard !stopping else { return }
            jobs.append(job)
            condition.signal()
        }
    }

    private func replied(_ id: UInt64, _ result: Result<Message, NATSError>) {
        guard let entry = condition.withLock({ waiting[id] }) else { return }  // timed out already
        guard case .finished(let outcome) = entry.call.handle(result, onReply: onReply(id)) else { return }
        let mine = condition.withLock { waiting.removeValue(forKey: id) != nil }
        if mine { entry.callback(outcome) }
    }

    /// Fails every waiting call with `error` and ends the thread (without waiting for it when
    /// called from a callback).
    func stop(_ error: Error) {
        let (left, thread): ([Waiting], WorkerThread?) = condition.withLock {
            stopping = true
            let left = Array(waiting.values)
            waiting.removeAll()
            condition.signal()
            defer { self.thread = nil }
            return (left, self.thread)
        }
        for entry in left {
            entry.call.cancel()
            entry.callback(.failure(error))
        }
        thread?.finish(detachOnly: true)
    }

    private func run() {
        while true {
            let (batch, expired): ([() -> Void], [Waiting]) = condition.withLock {
                while jobs.isEmpty && !stopping {
                    let next = waiting.values.map(\.deadline).min()
                    if let next, next.remainingNanoseconds == 0 { break }
                    condition.wait(until: next)
                }
                let batch = jobs
                jobs.removeAll()
                let expired = waiting.values.filter { $0.deadline.remainingNanoseconds == 0 }
                for entry in expired { waiting.removeValue(forKey: entry.call.id) }
                return (batch, expired)
            }
            for job in batch { job() }
            for entry in expired {
                entry.call.cancel()
                entry.callback(.failure(entry.call.timeoutError(entry.timeoutMilliseconds)))
            }
            if batch.isEmpty && expired.isEmpty && condition.withLock({ stopping }) { return }
        }
    }
}
