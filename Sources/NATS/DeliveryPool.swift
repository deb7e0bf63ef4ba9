#if canImport(Glibc)
import Glibc
#endif

/// Work that a pool or a dispatch queue runs: a subscription with messages, a job queue with
/// jobs. The task keeps its own "scheduled" state, so that it is queued at most once.
public protocol DeliveryTask: AnyObject {
    /// Runs at most `budget` callbacks of the pending work (bounded, so that one busy
    /// subscription does not hold a thread from the others); returns how many ran and whether
    /// work remains (the task is then run again later, in turn).
    func runDelivery(budget: Int) -> (ran: Int, more: Bool)
}

/// Where delivery tasks run: a pool of library threads, or a dispatch queue its owner drains.
public protocol DeliveryTarget: AnyObject {
    func schedule(_ task: DeliveryTask)
    /// Several at once: one lock, and one wake-up round, for all of them.
    func schedule(contentsOf tasks: [DeliveryTask])
}

extension DeliveryTarget {
    public func schedule(contentsOf tasks: [DeliveryTask]) {
        for task in tasks { schedule(task) }
    }
}

/// Tasks that became ready during one read of the event loop, grouped by target, scheduled
/// together at its end.
struct DeliveryWakeUps {
    private var groups: [(target: DeliveryTarget, tasks: [DeliveryTask])] = []

    mutating func add(_ task: DeliveryTask, runs: Int, on target: DeliveryTarget) {
        let index = groups.firstIndex { $0.target === target } ?? {
            groups.append((target, []))
            return groups.count - 1
        }()
        for _ in 0..<runs { groups[index].tasks.append(task) }
    }

    mutating func schedule() {
        for group in groups { group.target.schedule(contentsOf: group.tasks) }
        groups.removeAll(keepingCapacity: true)
    }
}

/// A bounded set of threads running delivery tasks (subscription callbacks, service handlers,
/// connection events) for any number of subscriptions and connections: the thread count does
/// not grow with them (nats.c's global message delivery, done with per-task order).
///
/// A task runs on one thread at a time, so a subscription's callbacks stay one at a time and
/// in order. A callback may block in a library call (a request, a flush, a drain): the pool
/// is told (`Condition.wait`), and when work is waiting and fewer than `size` threads are
/// free to run it, it starts another thread for as long as the blocking lasts. A chain of
/// in-process requests deeper than the pool therefore cannot deadlock it; the extra threads
/// end once the pool is back within its size.
public final class DeliveryPool: DeliveryTarget {
    /// The process-wide pool every connection uses unless given its own: one thread per core,
    /// at least two (`setSize` changes it at any time).
    public static let shared = DeliveryPool(size: max(2, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))

    /// Extra threads lent to blocked callbacks stop here (a thread each for a request chain
    /// this deep); past it, work waits for a thread to come back.
    public static let maxLentThreads = 1_024

    /// Callbacks a task runs before the thread moves on to the next task.
    static let budget = 64

    private let condition = Condition()
    // Guarded by `condition`.
    private var targetSize: Int
    private var ready = FIFO<DeliveryTask>()
    private var threads = 0
    private var idle = 0
    private var blocked = 0
    private var stopping = false
    private var started: UInt64 = 0
    /// A dedicated pool's threads count as threads of their owner (a connection).
    private let owner: UnsafeMutableRawPointer?

    /// `owner`: the connection a dedicated pool belongs to, nil for a shared one.
    public init(size: Int, owner: AnyObject? = nil) {
        targetSize = max(1, size)
        self.owner = owner.map { Unmanaged.passUnretained($0).toOpaque() }
    }

    public var size: Int { condition.withLock { targetSize } }

    /// Changes the number of threads kept; a smaller size takes effect as threads go idle.
    public func setSize(_ size: Int) throws {
        guard size > 0 else { throw NATSError.invalidArgument("the delivery pool needs at least one thread") }
        condition.withLock {
            targetSize = size
            condition.broadcast()
        }
    }

    /// Threads alive now, and how many threads were ever started (for tests and benchmarks).
    public var threadCounts: (alive: Int, started: UInt64) { condition.withLock { (threads, started) } }

    public func schedule(_ task: DeliveryTask) {
        condition.withLock {
            ready.append(task)
            if idle > 0 {
                condition.signal()
            } else if threads - blocked < targetSize {
                startThreadLocked()
            }
        }
    }

    public func schedule(contentsOf tasks: [DeliveryTask]) {
        guard !tasks.isEmpty else { return }
        condition.withLock {
            for task in tasks { ready.append(task) }
            // Wake as many idle threads as there are tasks, then start threads up to the size.
            let woken = min(idle, tasks.count)
            if woken == idle { condition.broadcast() } else { for _ in 0..<woken { condition.signal() } }
            var unserved = tasks.count - woken
            while unserved > 0 && threads - blocked < targetSize {
                startThreadLocked()
                unserved -= 1
            }
        }
    }

    /// Ends the pool's threads once the work queued is done; with `wait`, returns when they
    /// have ended (never waits when called from one of them).
    public func shutdown(wait: Bool) {
        let onOwnThread = CallbackContext.currentPool === self
        condition.withLock {
            stopping = true
            condition.broadcast()
            if onOwnThread || !wait { return }
            while threads > 0 { condition.waitWithoutLending(until: nil) }
        }
    }

    // MARK: a pool thread blocking in the library

    func willBlock() {
        condition.withLock {
            blocked += 1
            if !ready.isEmpty && idle == 0 && threads - blocked < targetSize { startThreadLocked() }
        }
    }

    func didUnblock() {
        condition.withLock {
            blocked -= 1
            // An idle thread beyond the size may end now.
            if threads - blocked > targetSize && idle > 0 { condition.signal() }
        }
    }

    // MARK: threads

    private final class Start {
        let pool: DeliveryPool
        init(_ pool: DeliveryPool) { self.pool = pool }
    }

    private func startThreadLocked() {
        guard threads - targetSize < Self.maxLentThreads else { return }
        var thread = pthread_t()
        let argument = Unmanaged.passRetained(Start(self)).toOpaque()
        let result = pthread_create(&thread, nil, { argument in
            guard let argument else { return nil }
            let pool = Unmanaged<Start>.fromOpaque(argument).takeRetainedValue().pool
            pool.work()
            return nil
        }, argument)
        if result != 0 {
            Unmanaged<Start>.fromOpaque(argument).release()
            // The work stays queued: the next schedule or blocking call tries again, and a
            // running thread takes it when it is free.
            return
        }
        pthread_detach(thread)
        threads += 1
        started &+= 1
    }

    private func work() {
        CallbackContext.setPool(self)
        if let owner { CallbackContext.setOwner(owner) }
        condition.lock()
        while true {
            while ready.isEmpty {
                if stopping || threads - blocked > targetSize {
                    threads -= 1
                    condition.broadcast()
                    condition.unlock()
                    CallbackContext.setPool(nil)
                    return
                }
                idle += 1
                condition.waitWithoutLending(until: nil)
                idle -= 1
            }
            guard let task = ready.popFirst() else { continue }
            condition.unlock()
            let (_, more) = task.runDelivery(budget: Self.budget)
            condition.lock()
            if more { ready.append(task) }
        }
    }
}
