#if canImport(Glibc)
import Glibc
#endif

/// How a subscription's messages reach the application.
public enum SubscriptionDelivery {
    /// The connection's default: its delivery pool, or the dispatch queue it was given.
    case connectionDefault
    /// A thread of the subscription's own (nats.c's default), for isolation from the others;
    /// one per lane when it has several.
    case dedicatedThread
    /// Callbacks run by whoever drains `queue` (`DeliveryQueue.dispatch`).
    case queue(DeliveryQueue)
    /// No callback: the messages are taken from `queue` with `DeliveryQueue.nextBatch`,
    /// tagged with `token` (for bindings, which run their callbacks themselves).
    case batches(DeliveryQueue, token: UInt64)
}

/// Interest in a subject. Asynchronous subscriptions run their handler on a delivery pool, a
/// dedicated thread or a dispatch queue: one message at a time, in order (or `lanes` at a
/// time, for a service endpoint with concurrency); synchronous ones are read with
/// `next(timeout:)`. Messages wait in a bounded queue: past the pending limits they are
/// dropped and counted, and the connection's error callback hears `slowConsumer` once per
/// episode.
public final class Subscription: DeliveryTask {
    public let sid: UInt64
    public let subject: String
    public let queue: String?
    public let connection: Connection

    typealias Handler = (Message) -> Void
    public typealias BatchHandler = ([Message]) -> Void
    /// A library layer's look at each read batch before the subscription queues it: it keeps
    /// what the application gets. Runs where the messages are read; it must not block.
    public typealias Filter = ([Message]) -> [Message]
    private let handler: Handler?
    /// Instead of `handler`: called with up to `batchLimits` messages at a time (for bindings
    /// where each call costs more than the message: Python).
    private let batchHandler: BatchHandler?
    public static let batchLimits = (messages: 1_024, bytes: 256 * 1024)
    /// Library-internal subscriptions (the request muxer) handle messages on the event loop.
    let inlineHandler: Handler?
    /// Told of each message this subscription accepts, where it is read, before it waits for
    /// its callback: a layer that must answer for queued messages (RPC liveness frames).
    private let arrival: Handler?
    /// Sees each read batch first, where it is read, and returns what the subscription takes:
    /// a library layer's own messages (a consumer's statuses) stop here.
    private let filter: Filter?
    /// Told of the messages the pending limits dropped, after they were dropped (a layer whose
    /// filter counted them as delivered: an ordered consumer), guarded by `condition`.
    private var dropHandler: (([Message]) -> Void)?
    /// Where callbacks run (nil for synchronous, inline and batch subscriptions).
    private let target: DeliveryTarget?
    /// The dispatch queue holding this subscription's messages, whose limits they count in.
    private let boundQueue: DeliveryQueue?
    /// Tag of a batch subscription's messages in `DeliveryQueue.nextBatch`.
    public let batchToken: UInt64?
    /// A dedicated thread's own one-thread pool, shut down with the subscription.
    private var dedicatedPool: DeliveryPool?
    /// How many callbacks may run at once (1: one at a time, in order).
    private let lanes: Int

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
    /// Runs of `runDelivery` scheduled or running (at most `lanes`).
    private var runners = 0
    private var callbacksRunning = 0
    /// A batch subscription is in its queue's ready list.
    private var batchScheduled = false
    /// A batch taken (`next(maxMessages:...)` or the queue's `nextBatch`) is being handled.
    private var batchHeld = false
    private var consumerWaiting = false
    /// The thread that took the batch being handled (`next(maxMessages:...)`).
    private var batchHolder: pthread_t?
    /// Messages and bytes of the batch being handled: still pending for the limits, so that a
    /// binding taking whole batches gets the same bound and slow-consumer episodes as a callback.
    private var batchMessages = 0
    private var batchBytes = 0
    private var slowConsumerReported = false
    private var endHandlers: [() -> Void] = []

    init(
        connection: Connection, sid: UInt64, subject: String, queue: String?,
        pendingLimits: (messages: Int, bytes: Int), handler: Handler?, inlineHandler: Handler? = nil,
        batchHandler: BatchHandler? = nil, delivery: SubscriptionDelivery = .connectionDefault, defaultTarget: DeliveryTarget? = nil, lanes: Int = 1,
        arrival: Handler? = nil, filter: Filter? = nil
    ) {
        self.arrival = arrival
        self.filter = filter
        self.connection = connection
        self.sid = sid
        self.subject = subject
        self.queue = queue
        self.handler = handler
        self.batchHandler = batchHandler
        self.inlineHandler = inlineHandler
        self.maxPendingMessages = pendingLimits.messages
        self.maxPendingBytes = pendingLimits.bytes
        self.lanes = max(1, lanes)
        var token: UInt64?
        var bound: DeliveryQueue?
        var target: DeliveryTarget?
        if handler != nil || batchHandler != nil {
            switch delivery {
            case .connectionDefault: target = defaultTarget
            case .dedicatedThread:
                let pool = DeliveryPool(size: max(1, lanes), owner: connection)
                dedicatedPool = pool
                target = pool
            case .queue(let queue): target = queue
            case .batches(let queue, _): target = queue
            }
            bound = target as? DeliveryQueue
        } else if inlineHandler == nil, case .batches(let queue, let tag) = delivery {
            bound = queue
            token = tag
        }
        self.target = target
        self.boundQueue = bound
        self.batchToken = token
    }

    /// Sets what is told of the messages the pending limits drop (set it before messages flow).
    public func onDrop(_ handler: @escaping ([Message]) -> Void) {
        condition.withLock { dropHandler = handler }
    }

    public var isSynchronous: Bool { handler == nil && batchHandler == nil && inlineHandler == nil && batchToken == nil }

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

    /// Runs `body` once the subscription has ended (at once when it has): unsubscribed,
    /// drained, closed with its connection. On the thread that ended it.
    public func whenEnded(_ body: @escaping () -> Void) {
        let endedAlready: Bool = condition.withLock {
            if closed { return true }
            endHandlers.append(body)
            return false
        }
        if endedAlready { body() }
    }

    // MARK: from the event loop

    /// Queues messages read for this subscription, leaving the scheduling of its runs to
    /// `wakeUps`, so that the caller wakes each pool once for many subscriptions. Returns true
    /// when this call started a slow-consumer episode that the caller should report.
    func enqueue(_ read: [Message], wakeUps: inout DeliveryWakeUps) -> Bool {
        let batch = filter.map { $0(read) } ?? read
        if batch.isEmpty { return false }
        var startedSlowConsumer = false
        var wake = false
        var runs = 0
        var scheduleBatch = false
        var arrived: [Message] = []
        var droppedNow: [Message] = []
        var dropTold: (([Message]) -> Void)?
        condition.withLock {
            if closed { return }
            dropTold = dropHandler
            var accepted: [Message] = []
            for message in batch {
                if maxMessages > 0 && received >= maxMessages { break }
                let size = message.storage.payloadLength + message.storage.headerLength
                // With a drop handler (an ordered consumer), once one message is dropped the rest
                // of the read is too: a smaller one taken after it would come out of order.
                if (maxPendingMessages > 0 && pending.count + batchMessages + accepted.count >= maxPendingMessages)
                    || (maxPendingBytes > 0 && pending.bytes + batchBytes + size > maxPendingBytes)
                    || (dropTold != nil && !droppedNow.isEmpty)
                {
                    droppedCount += 1
                    if dropTold != nil { droppedNow.append(message) }
                    if !slowConsumerReported {
                        slowConsumerReported = true
                        startedSlowConsumer = true
                    }
                    continue
                }
                received += 1
                if boundQueue != nil {
                    accepted.append(message)
                    continue
                }
                pending.append(message)
                if arrival != nil { arrived.append(message) }
            }
            if let boundQueue, !accepted.isEmpty {
                // Lock order: subscription, then queue.
                let admitted = boundQueue.admit(accepted.map { $0.storage.payloadLength + $0.storage.headerLength })
                for message in accepted.prefix(admitted) {
                    pending.append(message)
                    if arrival != nil { arrived.append(message) }
                }
                let refused = accepted.count - admitted
                if refused > 0, dropTold != nil { droppedNow += accepted.suffix(refused) }
                if refused > 0 {
                    received -= UInt64(refused)
                    droppedCount += UInt64(refused)
                    if !slowConsumerReported {
                        slowConsumerReported = true
                        startedSlowConsumer = true
                    }
                }
            }
            wake = consumerWaiting
            if target != nil {
                // Runners inside a callback take nothing until it returns: only the others
                // (between two callbacks) are there for what waits.
                let free = runners - callbacksRunning
                runs = max(0, min(lanes - runners, pending.count - free))
                runners += runs
            } else if batchToken != nil && !batchScheduled && !pending.isEmpty {
                batchScheduled = true
                scheduleBatch = true
            }
        }
        // After the unlock, as in Completion.complete. A lane already running may take a message
        // before its arrival is told: the hook must not assume it comes first (RPC liveness
        // holds the message weakly, so a call answered first is simply not followed).
        if let arrival { for message in arrived { arrival(message) } }
        if let dropTold, !droppedNow.isEmpty { dropTold(droppedNow) }
        if wake { condition.signal() }
        if let target, runs > 0 { wakeUps.add(self, runs: runs, on: target) }
        if scheduleBatch { boundQueue?.scheduleBatch(self) }
        return startedSlowConsumer
    }

    /// Counts a message handled inline (request muxer).
    func countInline() {
        condition.withLock { deliveredCount += 1 }
    }

    // MARK: delivery

    /// On a pool thread, a dedicated thread or a queue's `dispatch`: runs the handler for
    /// queued messages (or the batch handler for batches of them), one call at a time per
    /// lane, at most `budget` calls.
    public func runDelivery(budget: Int) -> (ran: Int, more: Bool) {
        guard handler != nil || batchHandler != nil else { return (0, false) }
        return CallbackContext.run(owner: connection, task: self) {
            var ran = 0
            condition.lock()
            while true {
                if closed || pending.isEmpty {
                    runners -= 1
                    let drained = !closed && closeWhenEmpty && callbacksRunning == 0 && runners == 0
                    condition.broadcast()
                    condition.unlock()
                    if drained { connection.subscriptionEnded(self) }
                    return (ran, false)
                }
                if ran >= budget {
                    condition.unlock()
                    return (ran, true)
                }
                // One message for a handler (no array on this path: it is per message), a
                // batch for a batch handler.
                var single: Message?
                var taken: [Message] = []
                if batchHandler == nil {
                    single = pending.popFirst()
                    deliveredCount += 1
                } else {
                    taken = takeBatchLocked()
                }
                let reachedMax = maxMessages > 0 && deliveredCount >= maxMessages
                if pending.count < maxPendingMessages / 2 || maxPendingMessages == 0 { slowConsumerReported = false }
                callbacksRunning += 1
                condition.unlock()
                if let boundQueue {
                    if let single {
                        boundQueue.release(messages: 1, bytes: single.storage.payloadLength + single.storage.headerLength)
                    } else {
                        boundQueue.release(
                            messages: taken.count,
                            bytes: taken.reduce(0) { $0 + $1.storage.payloadLength + $1.storage.headerLength })
                    }
                }

                if let handler, let single {
                    handler(single)
                } else if let batchHandler {
                    batchHandler(taken)
                }
                ran += 1

                condition.lock()
                callbacksRunning -= 1
                condition.broadcast()
                if reachedMax {
                    runners -= 1
                    condition.unlock()
                    connection.subscriptionEnded(self)
                    return (ran, false)
                }
            }
        }
    }

    /// With the lock held and `pending` not empty: the messages of the next batch call (up to
    /// the limits, and not past the auto-unsubscribe count), counted as delivered.
    private func takeBatchLocked() -> [Message] {
        var taken: [Message] = []
        var bytes = 0
        while taken.count < Self.batchLimits.messages, let first = pending.first {
            let size = first.storage.payloadLength + first.storage.headerLength
            if !taken.isEmpty && bytes + size > Self.batchLimits.bytes { break }
            _ = pending.popFirst()
            taken.append(first)
            bytes += size
            deliveredCount += 1
            if maxMessages > 0 && deliveredCount >= maxMessages { break }
        }
        return taken
    }

    /// A batch subscription's part of `DeliveryQueue.nextBatch`: takes what is queued, never
    /// waiting. `more`: messages remain (the batch was full).
    struct BatchTake {
        var messages: [Message]
        var more: Bool
    }

    func takeQueued(maxMessages limit: Int, maxBytes: Int, size: (Message) -> Int, firstInBatch: Bool) throws -> BatchTake {
        condition.lock()
        if closed {
            batchScheduled = false
            condition.unlock()
            return BatchTake(messages: [], more: false)
        }
        var taken: [Message] = []
        var bytes = 0
        while taken.count < limit, let first = pending.first {
            let measured = size(first)
            if bytes + measured > maxBytes {
                if taken.isEmpty && firstInBatch {
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
        if !taken.isEmpty { batchHeld = true }
        if pending.count < maxPendingMessages / 2 || maxPendingMessages == 0 { slowConsumerReported = false }
        let more = !pending.isEmpty
        batchScheduled = more
        let finished = maxMessages > 0 && deliveredCount >= maxMessages
        condition.unlock()
        if finished { connection.subscriptionEnded(self) }
        return BatchTake(messages: taken, more: more)
    }

    /// The owner of a batch subscription's queue asked for the next batch: the messages it
    /// took before are handled. A drained subscription with nothing left ends here.
    func batchHandled() {
        let drained: Bool = condition.withLock {
            batchHeld = false
            condition.broadcast()
            return closeWhenEmpty && pending.isEmpty && !closed
        }
        if drained { connection.subscriptionEnded(self) }
    }

    /// Waits for the next message of a synchronous subscription; a timeout of 0 polls (the
    /// message queued now, or `timeout` at once).
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
        guard timeoutMilliseconds >= 0 else { throw NATSError.invalidArgument("timeout must not be negative") }
        guard maxMessages > 0 else { throw NATSError.invalidArgument("maxMessages must be positive") }
        let deadline = Deadline.after(milliseconds: timeoutMilliseconds)
        condition.lock()
        if holdsBatch && batchHeld {
            batchHeld = false  // the previous batch is handled
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
            if timeoutMilliseconds == 0 {
                // A poll: what is queued now, or nothing.
                condition.unlock()
                throw NATSError.timeout("no message pending")
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
            batchHeld = true
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

    /// Waits until none of this subscription's callbacks runs (one may still run after the
    /// subscription ended: a close that could not wait for it). Returns at once on one of its
    /// connection's callback threads, which a running callback may be waiting for.
    public func waitForRunningCallbacks() {
        if CallbackContext.isInCallback(of: connection) || CallbackContext.isRunning(self) { return }
        condition.withLock { while callbacksRunning > 0 { condition.wait(until: nil) } }
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
        let onOwnThread = CallbackContext.isRunning(self)
            || (batchHeld && batchHolder.map { pthread_equal($0, pthread_self()) != 0 } ?? false)
        if onOwnThread {
            condition.unlock()
            return true
        }
        var inTime = true
        while !closed && (!pending.isEmpty || callbacksRunning > 0 || batchHeld) {
            if !condition.wait(until: deadline) && (!pending.isEmpty || callbacksRunning > 0 || batchHeld) {
                inTime = false
                break
            }
        }
        let emptyNow = pending.isEmpty && callbacksRunning == 0 && !batchHeld
        condition.unlock()
        // On timeout a callback may still be running: end without waiting for it.
        if emptyNow || !inTime { connection.subscriptionEnded(self, detach: !inTime) }
        return inTime
    }

    /// Marks the subscription closed, discarding what is queued; a no-op when it already was.
    /// With `waitForCallbacks`, returns once no callback of it runs (unless called from one).
    func close(waitForCallbacks: Bool) {
        let taken: (DeliveryPool?, Int, Int, [() -> Void])? = condition.withLock {
            if closed { return nil }
            closed = true
            let discarded = (pending.count, pending.bytes)
            pending.removeAll()
            condition.broadcast()
            let pool = dedicatedPool
            dedicatedPool = nil
            defer { endHandlers.removeAll() }
            return (pool, discarded.0, discarded.1, endHandlers)
        }
        guard let (pool, messages, bytes, ended) = taken else { return }
        boundQueue?.release(messages: messages, bytes: bytes)
        boundQueue?.forget(self)
        let wait = waitForCallbacks && !CallbackContext.isRunning(self)
        if wait {
            condition.withLock { while callbacksRunning > 0 { condition.wait(until: nil) } }
        }
        pool?.shutdown(wait: wait)
        for body in ended { body() }
    }
}

extension SubscriptionDelivery {
    var isConnectionDefault: Bool {
        if case .connectionDefault = self { return true }
        return false
    }
}
