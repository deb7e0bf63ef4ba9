import NATSJetStream
import NIOConcurrencyHelpers

/// `snats_kv_watcher` and `snats_obj_watcher`: the watch, attached once it is made. Its first
/// items may reach the callback before that (the consumer delivers while the call returns), so
/// a stop asked for meanwhile is remembered and applied at the attach, and the callback is
/// given nothing more once a stop was asked for.
final class CWatcherBox<Item> {
    private let lock = NIOLock()
    private var watch: OrderedWatch<Item>?
    private var stopRequested = false

    var isStopped: Bool { lock.withLock { stopRequested } }
    var current: OrderedWatch<Item>? { lock.withLock { watch } }

    func attach(_ made: OrderedWatch<Item>) {
        let stopNow: Bool = lock.withLock {
            watch = made
            return stopRequested
        }
        if stopNow { made.stop() }
    }

    /// Stops the watch (now, or at the attach); a callback running on another thread is
    /// waited for by the watch's unsubscribe.
    func stop() {
        let made: OrderedWatch<Item>? = lock.withLock {
            stopRequested = true
            return watch
        }
        made?.stop()
    }

    /// Stops, waits for a handler call in progress (the marker may be handed on a thread of
    /// its own), and lets the watch go (its handler holds this box).
    func detach() {
        stop()
        let made: OrderedWatch<Item>? = lock.withLock {
            defer { watch = nil }
            return watch
        }
        made?.waitForHandler()
    }
}
