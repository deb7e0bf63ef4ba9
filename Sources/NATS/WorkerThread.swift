#if canImport(Glibc)
import Glibc
#endif

/// A library-owned thread for long waits of a connection (reconnecting), never the event loop.
/// It records its owner (a connection) as `CallbackContext` does for callbacks, so that a
/// blocking call made on it does not wait for the thread itself.
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

    private var thread = pthread_t()
    private var finished = false

    /// Starts `body` on a new thread belonging to `owner`; `onExit` runs on it last.
    init(owner: AnyObject, onExit: (() -> Void)? = nil, _ body: @escaping () -> Void) throws {
        let start = Start(owner: Unmanaged.passUnretained(owner).toOpaque(), body: body, onExit: onExit)
        let argument = Unmanaged.passRetained(start).toOpaque()
        let result = pthread_create(&thread, nil, { argument in
            guard let argument else { return nil }
            let start = Unmanaged<Start>.fromOpaque(argument).takeRetainedValue()
            CallbackContext.setOwner(start.owner)
            start.body()
            start.onExit?()
            return nil
        }, argument)
        if result != 0 {
            Unmanaged<Start>.fromOpaque(argument).release()
            onExit?()
            throw NATSError.illegalState("cannot start a library thread (error \(result))")
        }
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
