#if canImport(Glibc)
import Glibc
#endif

/// A library-owned thread: where user callbacks run, never on the event loop.
/// Each worker records its owner (a connection) in thread-local storage, so that a blocking
/// call can tell it is being made from one of that owner's callbacks and avoid waiting on
/// itself.
public final class WorkerThread {
    private final class Start {
        let owner: UnsafeMutableRawPointer?
        let body: () -> Void
        let onExit: (() -> Void)?
        init(owner: UnsafeMutableRawPointer?, body: @escaping () -> Void, onExit: (() -> Void)?) {
            self.owner = owner
            self.body = body
            self.onExit = onExit
        }
    }

    private static let ownerKey: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    private var thread = pthread_t()
    private var finished = false

    /// Starts `body` on a new thread belonging to `owner`; `onExit` runs on it last.
    init(owner: AnyObject, onExit: (() -> Void)? = nil, _ body: @escaping () -> Void) throws {
        let start = Start(owner: Unmanaged.passUnretained(owner).toOpaque(), body: body, onExit: onExit)
        let argument = Unmanaged.passRetained(start).toOpaque()
        _ = Self.ownerKey
        let result = pthread_create(&thread, nil, { argument in
            guard let argument else { return nil }
            let start = Unmanaged<Start>.fromOpaque(argument).takeRetainedValue()
            pthread_setspecific(WorkerThread.ownerKey, start.owner)
            start.body()
            start.onExit?()
            return nil
        }, argument)
        if result != 0 {
            Unmanaged<Start>.fromOpaque(argument).release()
            onExit?()
            throw NATSError.illegalState("cannot start a delivery thread (error \(result))")
        }
    }

    /// Whether the calling thread is a worker of `owner`.
    static func isOnWorker(of owner: AnyObject) -> Bool {
        pthread_getspecific(ownerKey) == Unmanaged.passUnretained(owner).toOpaque()
    }

    var isCurrent: Bool { pthread_equal(pthread_self(), thread) != 0 }

    /// Waits for the thread to end, or detaches it when waiting could deadlock: when called
    /// from the thread itself, or when `detachOnly` says the caller is another worker of the
    /// same owner (which may be what this thread is waiting for).
    public func finish(detachOnly: Bool) {
        if finished { return }
        finished = true
        if detachOnly || isCurrent {
            pthread_detach(thread)
        } else {
            pthread_join(thread, nil)
        }
    }
}
