/// Jobs that run one at a time, in order, on a delivery pool or a dispatch queue: the serial
/// executor behind a connection's events (closed, disconnected, errors) and an RPC client's
/// callbacks. It holds no thread: it is scheduled on its target while it has jobs.
public final class JobQueue: DeliveryTask {
    private let target: DeliveryTarget
    /// Whose callbacks the jobs are (a connection), by identity only: a blocking call made
    /// from a job knows it. Not a reference: the owner keeps this queue.
    private let owner: ObjectIdentifier
    private let condition = Condition()
    // Guarded by `condition`.
    private var jobs = FIFO<() -> Void>()
    private var scheduled = false
    private var running = false
    private var stopping = false

    public init(target: DeliveryTarget, owner: AnyObject) {
        self.target = target
        self.owner = ObjectIdentifier(owner)
    }

    /// Queues `job`; returns false (and drops it) once the queue is stopping.
    @discardableResult
    public func post(_ job: @escaping () -> Void) -> Bool {
        let schedule: Bool? = condition.withLock {
            guard !stopping else { return nil }
            jobs.append(job)
            if scheduled { return false }
            scheduled = true
            return true
        }
        if schedule == true { target.schedule(self) }
        return schedule != nil
    }

    /// Whether this thread is running one of the queue's jobs.
    public var isCurrent: Bool { CallbackContext.isRunning(self) }

    /// Takes no more jobs; those queued still run. With `wait`, returns once they have run
    /// (unless called from one of them). On a dispatch queue it never waits: they run when
    /// its owner next dispatches.
    public func stop(wait: Bool) {
        let mayWait = wait && !isCurrent && !(target is DeliveryQueue)
        condition.withLock {
            stopping = true
            while mayWait && (scheduled || running) { condition.wait(until: nil) }
        }
    }

    public func runDelivery(budget: Int) -> (ran: Int, more: Bool) {
        CallbackContext.run(owner: owner, task: self) {
            var ran = 0
            while ran < budget {
                let job: (() -> Void)? = condition.withLock {
                    guard let job = jobs.popFirst() else {
                        scheduled = false
                        running = false
                        condition.broadcast()
                        return nil
                    }
                    running = true
                    return job
                }
                guard let job else { return (ran, false) }
                job()
                ran += 1
            }
            return condition.withLock {
                running = false
                if jobs.isEmpty {
                    scheduled = false
                    condition.broadcast()
                    return (ran, false)
                }
                return (ran, true)
            }
        }
    }
}
