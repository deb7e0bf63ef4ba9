/// A serial queue on a library thread for connection events (closed, disconnected, errors),
/// so that user code never runs on the event loop and events arrive in order.
final class CallbackQueue {
    private let condition = Condition()
    private var jobs: [() -> Void] = []
    private var stopping = false
    private var thread: WorkerThread?

    init(owner: Connection) throws {
        let thread = try owner.startWorker { [self] in run() }
        condition.withLock { self.thread = thread }
    }

    /// Queues `job`; dropped once the queue is stopping.
    func post(_ job: @escaping () -> Void) {
        condition.withLock {
            guard !stopping else { return }
            jobs.append(job)
            condition.signal()
        }
    }

    /// Lets queued jobs run, then ends the thread; waits for that unless `detach`.
    func stop(detach: Bool) {
        let thread: WorkerThread? = condition.withLock {
            stopping = true
            condition.signal()
            let thread = self.thread
            self.thread = nil
            return thread
        }
        thread?.finish(detachOnly: detach)
    }

    var isCurrent: Bool { condition.withLock { thread?.isCurrent ?? false } }

    private func run() {
        while true {
            let batch: [() -> Void] = condition.withLock {
                while jobs.isEmpty && !stopping { condition.wait(until: nil) }
                let batch = jobs
                jobs.removeAll()
                return batch
            }
            if batch.isEmpty { return }
            for job in batch { job() }
        }
    }
}
