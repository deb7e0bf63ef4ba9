#if canImport(Glibc)
import Glibc
#endif

/// What the current thread is doing for the library, in thread-local storage:
/// - the connection whose callback it runs (a blocking call made from a callback must not wait
///   for that callback, or for the connection's other callbacks: they may be waiting on it);
/// - the delivery task whose callback it runs (a subscription's own drain returns at once);
/// - the delivery pool it belongs to, told when the thread blocks so that the pool can lend
///   another thread to the work waiting behind it;
/// - the dispatch queues it drains (`OwnedQueues`): while it blocks in the library, it reads
///   their sockets itself, since nobody else does.
public enum CallbackContext {
    private static let ownerKey = makeKey()
    private static let taskKey = makeKey()
    private static let poolKey = makeKey()
    private static let linksKey = makeKey { raw in
        if let raw { Unmanaged<OwnedQueues>.fromOpaque(raw).release() }
    }

    private static func makeKey(destructor: (@convention(c) (UnsafeMutableRawPointer?) -> Void)? = nil) -> pthread_key_t {
        var key = pthread_key_t()
        pthread_key_create(&key, destructor)
        return key
    }

    /// Marks a callback of `owner` (and of `task`) as running on this thread for `body`;
    /// nests (a queue dispatched from inside another callback restores the outer one).
    @inline(__always)
    static func run<T>(owner: AnyObject, task: AnyObject?, _ body: () throws -> T) rethrows -> T {
        try run(owner: ObjectIdentifier(owner), task: task, body)
    }

    @inline(__always)
    static func run<T>(owner: ObjectIdentifier, task: AnyObject?, _ body: () throws -> T) rethrows -> T {
        let previousOwner = pthread_getspecific(ownerKey)
        let previousTask = pthread_getspecific(taskKey)
        pthread_setspecific(ownerKey, UnsafeRawPointer(bitPattern: Int(bitPattern: owner)))
        pthread_setspecific(taskKey, task.map { UnsafeRawPointer(Unmanaged.passUnretained($0).toOpaque()) })
        defer {
            pthread_setspecific(ownerKey, previousOwner)
            pthread_setspecific(taskKey, previousTask)
        }
        return try body()
    }

    /// Whether this thread runs a callback of `owner` (a connection) or is one of its threads.
    public static func isInCallback(of owner: AnyObject) -> Bool {
        pthread_getspecific(ownerKey) == Unmanaged.passUnretained(owner).toOpaque()
    }

    /// Whether this thread runs a callback of `task` (a subscription) right now.
    static func isRunning(_ task: AnyObject) -> Bool {
        pthread_getspecific(taskKey) == Unmanaged.passUnretained(task).toOpaque()
    }

    /// For a thread started for `owner` (dedicated delivery, reconnect): its whole life counts.
    static func setOwner(_ owner: UnsafeMutableRawPointer?) { pthread_setspecific(ownerKey, owner) }

    static func setPool(_ pool: DeliveryPool?) {
        pthread_setspecific(poolKey, pool.map { UnsafeRawPointer(Unmanaged.passUnretained($0).toOpaque()) })
    }

    /// Notes this thread as an owner of the queue whose links these are (it drains it).
    @inline(__always)
    static func noteOwner(of links: QueueLinks) {
        if let owned = ownedQueues {
            owned.note(links)
            return
        }
        let owned = OwnedQueues()
        owned.note(links)
        pthread_setspecific(linksKey, Unmanaged.passRetained(owned).toOpaque())
    }

    /// The queues this thread drains, if it drains any.
    @inline(__always)
    static var ownedQueues: OwnedQueues? {
        guard let raw = pthread_getspecific(linksKey) else { return nil }
        return Unmanaged<OwnedQueues>.fromOpaque(raw).takeUnretainedValue()
    }

    /// The pool this thread works for, if it is a pool thread.
    @inline(__always)
    static var currentPool: DeliveryPool? {
        guard let raw = pthread_getspecific(poolKey) else { return nil }
        return Unmanaged<DeliveryPool>.fromOpaque(raw).takeUnretainedValue()
    }
}

/// The dispatch queues one thread drains (an event loop may drain several: one per
/// connection), held weakly: a queue that ends leaves the list.
final class OwnedQueues {
    private struct Entry {
        weak var links: QueueLinks?
    }
    private var entries: [Entry] = []
    /// The last one noted: a thread usually drains the same queue call after call.
    private weak var last: QueueLinks?

    /// Only the owning thread calls this (the list is thread-local).
    @inline(__always)
    func note(_ links: QueueLinks) {
        if last === links { return }
        last = links
        entries.removeAll { $0.links == nil }
        if !entries.contains(where: { $0.links === links }) { entries.append(Entry(links: links)) }
    }

    /// The queues that have links to read now.
    var withReaders: [QueueLinks] { entries.compactMap { $0.links }.filter(\.hasReaders) }
}
