#if canImport(Glibc)
import Glibc
#endif

/// Interest in a subject. Asynchronous subscriptions run their handler on a delivery thread of
/// their own (one message at a time, in order); synchronous ones are read with `next(timeout:)`.
/// Messages wait in a bounded queue: past the pending limits they are dropped and counted, and
/// the connection's error callback hears `slowConsumer` once per episode.
public final class Subscription {
    public let sid: UInt64
    public let subject: String
    public let queue: String?
    public let connection: Connection

    typealias Handler = (Message) -> Void
    private let handler: Handler?
    /// Library-internal subscriptions (the request muxer) handle messages on the event loop.
    let inlineHandler: Handler?

    private let condition = Condition()
    // Everything below is guarded by `condition`.
    private var pending = MessageQueue()
    private var maxPendingMessages: Int
    private var maxPendingBytes: Int
    private var received: UInt64 = 0
    private var deliveredCount: UInt64 = 0
    private var droppedCount: UInt64 = 0
    private var maxMessages: UInt64 = 0
    private var closed = false
    private var closeWhenEmpty = false
    private var inCallback = false
    private var consumerWaiting = false
    /// The thread that took the batch being handled (`next(maxMessages:...)`).
    private var batchHolder: pthread_t?
    /// Messages and bytes of the batch being handled: still pending for the limits, so that a
    /// binding taking whole batches gets the same bound and slow-consumer episodes as a callback.
    private var batchMessages = 0
    private var batchBytes = 0
    private var slowConsumerReported = false
    private var worker: WorkerThread?

    init(
        connection: Connection, sid: UInt64, subject: String, queue: String?,
        pendingLimits: (messages: Int, bytes: Int), handler: Handler?, inlineHandler: Handler? = nil
    ) {
        self.connection = connection
        self.sid = sid
        self.subject = subject
        self.queue = queue
        self.handler = handler
        self.inlineHandler = inlineHandler
        self.maxPendingMessages = pendingLimits.messages
        self.maxPendingBytes = pendingLimits.bytes
    }

    /// Starts the delivery thread of an asynchronous subscription.
    func startDelivery() throws {
        guard handler != nil else { return }
        let thread = try connection.startWorker { [self] in runDelivery() }
        condition.withLock { worker = thread }
    }

    public var isSynchronous: Bool { handler == nil && inlineHandler == nil }

    public var isValid: Bool { condition.withLock { !closed } }

    public var delivered: UInt64 { condition.withLock { deliveredCount } }
    public var dropped: UInt64 { condition.withLock { droppedCount } }

    /// Messages and bytes waiting for delivery.
    public var pendingCount: (messages: Int, bytes: Int) { condition.withLock { (pending.count, pending.bytes) } }

    public var pendingLimits: (messages: Int, bytes: Int) {
        condition.withLock { (maxPendingMessages, maxPendingBytes) }
    }

    /// Sets the limits on waiting messages; 0 means no limit.
    public func setPendingLimits(messages: Int, bytes: Int) throws {
        guard messages >= 0, bytes >= 0 else { throw NATSError.invalidArgument("pending limits must not be negative") }
        try condition.withLock {
            if closed { throw NATSError.invalidSubscription("subscription is closed") }
            maxPendingMessages = messages
            maxPendingBytes = bytes
        }
    }

    // MARK: from the event loop

    /// Queues messages read for this subscription. Returns true when this call started a
    /// slow-consumer episode that the caller should report.
    func enqueue(_ batch: [Message]) -> Bool {
        var startedSlowConsumer = false
        var wake = false
        condition.withLock {
            if closed { return }
            for message in batch {
                if maxMessages > 0 && received >= maxMessages { break }
                let size = message.storage.payloadLength + message.storage.headerLength
                if (maxPendingMessages > 0 && pending.count + batchMessages >= maxPendingMessages)
                    || (maxPendingBytes > 0 && pending.bytes + batchBytes + size > maxPendingBytes)
                {
                    droppedCount += 1
                    if !slowConsumerReported {
                        slowConsumerReported = true
                        startedSlowConsumer = true
                    }
                    continue
                }
                received += 1
                pending.append(message)
            }
            wake = consumerWaiting
        }
        // After the unlock, as in Completion.complete.
        if wake { condition.signal() }
        return startedSlowConsumer
    }

    /// Counts a message handled inline (request muxer).
    func countInline() {
        condition.withLock { deliveredCount += 1 }
    }

    // MARK: delivery

    private func runDelivery() {
        guard let handler else { return }
        while true {
            condition.lock()
            while pending.isEmpty && !closed && !(closeWhenEmpty) {
                consumerWaiting = true
                condition.wait(until: nil)
                consumerWaiting = false
            }
            if closed || (closeWhenEmpty && pending.isEmpty) {
                let drained = !closed
                condition.unlock()
                if drained { connection.subscriptionEnded(self) }
                break
            }
            // pending is not empty here: the loop above exits only when it is, or when closed.
            guard let message = pending.popFirst() else {
                condition.unlock()
                continue
            }
            deliveredCount += 1
            let reachedMax = maxMessages > 0 && deliveredCount >= maxMessages
            if pending.count < maxPendingMessages / 2 || maxPendingMessages == 0 { slowConsumerReported = false }
            inCallback = true
            condition.unlock()

            handler(message)

            condition.lock()
            inCallback = false
            condition.broadcast()
            condition.unlock()
            if reachedMax {
                connection.subscriptionEnded(self)
                break
            }
        }
    }

    /// Waits for the next message of a synchronous subscription.
    public func next(timeoutMilliseconds: Int64) throws -> Message {
        let taken = try take(
            maxMessages: 1, maxBytes: Int.max, size: { _ in 0 }, holdsBatch: false,
            timeoutMilliseconds: timeoutMilliseconds)
        // `take` returns at least one message or throws.
        guard let message = taken.first else { throw NATSError.timeout("no message within \(timeoutMilliseconds) ms") }
        return message
    }

    /// Waits for the first pending message, then takes it and those queued behind it, at most
    /// `maxMessages` and as many as fit in `maxBytes` by the caller's `size` measure: one wake-up
    /// and one lock for a whole batch. When the first message alone is larger than
    /// `maxBytes`, it stays queued and `MessageTooLarge` tells its size.
    ///
    /// The batch counts as being handled until the next call, as a callback is until it
    /// returns: a drain waits for that call, so that a binding running callbacks on its own
    /// thread has run them all before the drain ends.
    public func next(
        maxMessages: Int, maxBytes: Int, size: (Message) -> Int, timeoutMilliseconds: Int64
    ) throws -> [Message] {
        try take(
            maxMessages: maxMessages, maxBytes: maxBytes, size: size, holdsBatch: true,
            timeoutMilliseconds: timeoutMilliseconds)
    }

    private func take(
        maxMessages: Int, maxBytes: Int, size: (Message) -> Int, holdsBatch: Bool, timeoutMilliseconds: Int64
    ) throws -> [Message] {
        guard isSynchronous else { throw NATSError.illegalState("next message called on an asynchronous subscription") }
        guard timeoutMilliseconds > 0 else { throw NATSError.invalidArgument("timeout must be positive") }
        guard maxMessages > 0 else { throw NATSError.invalidArgument("maxMessages must be positive") }
        let deadline = Deadline.after(milliseconds: timeoutMilliseconds)
        condition.lock()
        if holdsBatch && inCallback {
            inCallback = false  // the previous batch is handled
            batchMessages = 0
            batchBytes = 0
            condition.broadcast()
        }
        while pending.isEmpty {
            if closed || closeWhenEmpty {
                let reachedMax = self.maxMessages > 0 && deliveredCount >= self.maxMessages
                // Read under the lock: close() writes `closed` under it from another thread.
                let drained = closeWhenEmpty && !closed
                condition.unlock()
                if drained { connection.subscriptionEnded(self) }
                if reachedMax { throw NATSError.maxMessagesDelivered }
                throw connection.isClosed ? NATSError.connectionClosed : NATSError.invalidSubscription("subscription is closed")
            }
            consumerWaiting = true
            let signalled = condition.wait(until: deadline)
            consumerWaiting = false
            if !signalled && pending.isEmpty {
                condition.unlock()
                throw NATSError.timeout("no message within \(timeoutMilliseconds) ms")
            }
        }
        var taken: [Message] = []
        var bytes = 0
        while taken.count < maxMessages, let first = pending.first {
            let measured = size(first)
            if bytes + measured > maxBytes {
                if taken.isEmpty {
                    condition.unlock()
                    throw MessageTooLarge(size: measured, limit: maxBytes)
                }
                break
            }
            bytes += measured
            _ = pending.popFirst()
            taken.append(first)
        }
        deliveredCount += UInt64(taken.count)
        if holdsBatch {
            inCallback = true
            batchHolder = pthread_self()
            batchMessages = taken.count
            batchBytes = taken.reduce(0) { $0 + $1.storage.payloadLength + $1.storage.headerLength }
        }
        if pending.count + batchMessages < maxPendingMessages / 2 || maxPendingMessages == 0 { slowConsumerReported = false }
        // A drained queue ends the subscription now, or for a batch at the next call.
        let finished = (self.maxMessages > 0 && deliveredCount >= self.maxMessages)
            || (closeWhenEmpty && pending.isEmpty && !holdsBatch)
        condition.broadcast()
        condition.unlock()
        if finished { connection.subscriptionEnded(self) }
        return taken
    }

    /// The first queued message does not fit the caller's batch limit.
    public struct MessageTooLarge: Error {
        public let size: Int
        public let limit: Int
    }

    // MARK: ending

    /// Stops interest: UNSUB is sent and queued messages are discarded.
    public func unsubscribe() throws {
        try connection.unsubscribe(self, max: nil)
    }

    /// Asks the server to stop after `max` messages in all; delivery stops there too.
    /// When `max` messages have already been delivered, the subscription ends now.
    public func autoUnsubscribe(after max: Int) throws {
        guard max > 0 else { throw NATSError.invalidArgument("auto-unsubscribe count must be positive") }
        try connection.unsubscribe(self, max: max)
    }

    /// Records the limit; returns true when it is already reached.
    func setMaxMessages(_ max: Int) throws -> Bool {
        try condition.withLock {
            if closed { throw NATSError.invalidSubscription("subscription is closed") }
            maxMessages = UInt64(max)
            return deliveredCount >= maxMessages
        }
    }

    /// Whether a drain has unsubscribed it and it only delivers what it has.
    var isDraining: Bool { condition.withLock { closeWhenEmpty } }

    /// Remaining auto-unsubscribe allowance, nil when there is no limit.
    var remainingMessages: Int? {
        condition.withLock { maxMessages > 0 ? Int(maxMessages - min(maxMessages, deliveredCount)) : nil }
    }

    /// Lets the queue empty, then ends; waits for that unless called from this subscription's
    /// own callback. Returns false when `deadline` passed first (the subscription is then
    /// closed anyway).
    func finishWhenEmpty(deadline: Deadline) -> Bool {
        condition.lock()
        closeWhenEmpty = true
        condition.broadcast()
        // The consumer's own thread: its callback, or the thread handling a taken batch.
        let onOwnThread = worker?.isCurrent ?? (inCallback && batchHolder.map { pthread_equal($0, pthread_self()) != 0 } ?? false)
        if onOwnThread {
            condition.unlock()
            return true
        }
        var inTime = true
        while !closed && (!pending.isEmpty || inCallback) {
            if !condition.wait(until: deadline) && (!pending.isEmpty || inCallback) {
                inTime = false
                break
            }
        }
        let emptyNow = pending.isEmpty && !inCallback
        condition.unlock()
        // On timeout a callback may still be running: end without waiting for it.
        if emptyNow || !inTime { connection.subscriptionEnded(self, detach: !inTime) }
        return inTime
    }

    /// Marks the subscription closed and stops its thread; a no-op when it already was.
    func close(detachWorker: Bool) {
        let thread: WorkerThread? = condition.withLock {
            if closed { return nil }
            closed = true
            pending.removeAll()
            condition.broadcast()
            let thread = worker
            worker = nil
            return thread
        }
        thread?.finish(detachOnly: detachWorker)
    }
}
