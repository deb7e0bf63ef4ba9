#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A mutex with a condition variable whose waits take a deadline on the monotonic clock.
/// NIO's `ConditionLock` waits on the wall clock; blocking C calls promise "at most N ms"
/// whatever the wall clock does, so they wait here.
public final class Condition {
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let cond = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    public init() {
        // Adaptive: spins briefly before sleeping. Critical sections here are a few hundred
        // nanoseconds, so a contended lock is usually free again before a futex call returns.
        var mutexAttributes = pthread_mutexattr_t()
        pthread_mutexattr_init(&mutexAttributes)
        pthread_mutexattr_settype(&mutexAttributes, CInt(PTHREAD_MUTEX_ADAPTIVE_NP))
        pthread_mutex_init(mutex, &mutexAttributes)
        pthread_mutexattr_destroy(&mutexAttributes)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(cond, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        cond.deallocate()
        mutex.deallocate()
    }

    @inline(__always)
    public func lock() { pthread_mutex_lock(mutex) }

    @inline(__always)
    public func unlock() { pthread_mutex_unlock(mutex) }

    @inline(__always)
    public func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    public func signal() { pthread_cond_signal(cond) }
    public func broadcast() { pthread_cond_broadcast(cond) }

    /// Waits with the lock held. Returns false when `deadline` passed first; like any
    /// condition wait it may return early, so callers check what they wait for and wait
    /// again. `deadline` nil waits without limit. On a delivery pool thread, the pool hears of
    /// the wait (a callback blocking in a library call) and may lend a thread meanwhile. On
    /// the owner of a dispatch queue that connections read on, the wait reads their sockets
    /// (what it waits for may come from them, and nobody else reads them).
    @discardableResult
    public func wait(until deadline: Deadline?) -> Bool {
        if let owned = CallbackContext.ownedQueues {
            let links = owned.withReaders
            if !links.isEmpty { return waitReading(links, until: deadline) }
        }
        guard let pool = CallbackContext.currentPool else { return waitWithoutLending(until: deadline) }
        pool.willBlock()
        defer { pool.didUnblock() }
        return waitWithoutLending(until: deadline)
    }

    /// Unlocks, reads `links` for up to a slice (woken at once by their bytes), locks again.
    private func waitReading(_ links: [QueueLinks], until deadline: Deadline?) -> Bool {
        var slice = QueueLinks.blockedSliceMilliseconds
        if let deadline {
            let remaining = deadline.remainingNanoseconds
            if remaining == 0 { return false }
            slice = CInt(min(Int64(slice), (remaining + 999_999) / 1_000_000))
        }
        unlock()
        QueueLinks.readReady(links, timeoutMilliseconds: slice)
        lock()
        return deadline.map { $0.remainingNanoseconds > 0 } ?? true
    }

    /// A wait the delivery pool does not hear of: its own idle waits.
    @discardableResult
    func waitWithoutLending(until deadline: Deadline?) -> Bool {
        guard let deadline else {
            pthread_cond_wait(cond, mutex)
            return true
        }
        var spec = deadline.timeSpec
        return pthread_cond_timedwait(cond, mutex, &spec) != ETIMEDOUT
    }
}

/// A point on the monotonic clock, in nanoseconds.
public struct Deadline: Comparable {
    public let uptimeNanoseconds: UInt64

    public init(uptimeNanoseconds: UInt64) { self.uptimeNanoseconds = uptimeNanoseconds }

    public static func now() -> Deadline {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return Deadline(uptimeNanoseconds: UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec))
    }

    /// `milliseconds` from now; negative counts as zero, and anything beyond a century as a
    /// century (so no sum overflows).
    public static func after(milliseconds: Int64) -> Deadline {
        let delta = UInt64(min(max(0, milliseconds), 3_153_600_000_000)) * 1_000_000
        return Deadline(uptimeNanoseconds: now().uptimeNanoseconds &+ delta)
    }

    public var remainingNanoseconds: Int64 {
        let now = Deadline.now().uptimeNanoseconds
        return uptimeNanoseconds > now ? Int64(uptimeNanoseconds - now) : 0
    }

    var timeSpec: timespec {
        timespec(tv_sec: Int(uptimeNanoseconds / 1_000_000_000), tv_nsec: Int(uptimeNanoseconds % 1_000_000_000))
    }

    public static func < (lhs: Deadline, rhs: Deadline) -> Bool { lhs.uptimeNanoseconds < rhs.uptimeNanoseconds }
}
