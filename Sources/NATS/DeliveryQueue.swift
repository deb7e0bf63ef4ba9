#if canImport(Glibc)
import Glibc
#endif

/// A dispatch queue: subscriptions, services, RPC clients and connection events bound to it
/// wait here instead of running on the delivery pool, and its owner drains it on a thread of
/// their choosing: `dispatch` runs the pending callbacks, `nextBatch` takes the messages of
/// the subscriptions bound without a callback (what bindings use). `fileDescriptor` is
/// readable while either has work (an epoll set holding a pipe that holds one byte while
/// work waits, as librdkafka's queue event fd), so epoll, libuv, libevent and asyncio wait on
/// it with no library thread running user code. The connections that read on the queue
/// (`Options.readOnDispatchQueue`) add their sockets to that set (`QueueLinks`): the owner's
/// `dispatch` and `nextBatch` read them first. `turn` is both in one call, as an event
/// loop's pump makes it once per wake-up. Replies to tagged requests
/// (`Connection.requestTagged`) come out of `nextBatch` with the messages, under their tag.
///
/// Bounded: past `maxMessages` or `maxBytes` waiting across its subscriptions, messages are
/// dropped and counted on their subscription, which reports a slow consumer as its own
/// limits do.
public final class DeliveryQueue: DeliveryTarget {
    public let maxMessages: Int
    public let maxBytes: Int
    /// Readable while work waits or a link read here has bytes; never written to or read by
    /// the owner.
    public let fileDescriptor: Int32
    /// The pipe: readable while work waits.
    private let signalReadDescriptor: Int32
    private let signalDescriptor: Int32
    /// The sockets the owner reads.
    let links: QueueLinks

    private let condition = Condition()
    // Guarded by `condition`.
    private var ready = FIFO<DeliveryTask>()
    private var readyBatches = FIFO<Subscription>()
    /// Replies to tagged requests, not yet taken: bounded by the requests in flight, so
    /// outside the limits, and never dropped.
    private var replies = FIFO<(tag: UInt64, message: Message)>()
    private var pendingMessages = 0
    private var pendingBytes = 0
    private var signalled = false
    private var waiters = 0
    /// `wake()` was called: the next wait (or the current one) returns at once.
    private var woken = false
    /// The subscriptions of the last batch taken: being handled until the next take.
    private var handling: [Subscription] = []
    /// The owner's thread while it reads the links in `dispatch` or `nextBatch`: what arrives
    /// from that thread needs no signal, the owner looks for it next.
    private var readingThread: pthread_t?

    /// `maxMessages` / `maxBytes`: 0 for no limit.
    public init(maxMessages: Int = 0, maxBytes: Int = 0) throws {
        guard maxMessages >= 0, maxBytes >= 0 else {
            throw NATSError.invalidArgument("queue limits must not be negative")
        }
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw NATSError.io("cannot create the queue's pipe (errno \(errno))") }
        for end in ends {
            _ = fcntl(end, F_SETFL, fcntl(end, F_GETFL) | O_NONBLOCK)
            _ = fcntl(end, F_SETFD, FD_CLOEXEC)
        }
        do {
            links = try QueueLinks(signal: ends[0])
        } catch {
            close(ends[0])
            close(ends[1])
            throw error
        }
        self.fileDescriptor = links.ownerSet
        self.signalReadDescriptor = ends[0]
        self.signalDescriptor = ends[1]
        self.maxMessages = maxMessages
        self.maxBytes = maxBytes
    }

    deinit {
        close(signalReadDescriptor)
        close(signalDescriptor)
    }

    /// Messages and bytes waiting across the subscriptions bound to the queue.
    public var pending: (messages: Int, bytes: Int) { condition.withLock { (pendingMessages, pendingBytes) } }

    // MARK: from the library

    public func schedule(_ task: DeliveryTask) {
        condition.withLock {
            ready.append(task)
            workArrivedLocked()
        }
    }

    public func schedule(contentsOf tasks: [DeliveryTask]) {
        guard !tasks.isEmpty else { return }
        condition.withLock {
            for task in tasks { ready.append(task) }
            workArrivedLocked()
        }
    }

    /// Runs `body` in the owner's next `dispatch`, which reads the links first: what its
    /// sockets hold by then is handled before it (a timeout judged there loses to an answer
    /// that came in time).
    func scheduleAfterReading(_ body: @escaping () -> Void) {
        schedule(AfterReading(body))
    }

    /// A reply to a tagged request: taken by the next `nextBatch` or `turn`, under `tag`.
    func deliverReply(tag: UInt64, _ message: Message) {
        condition.withLock {
            replies.append((tag, message))
            workArrivedLocked()
        }
    }

    func scheduleBatch(_ subscription: Subscription) {
        condition.withLock {
            readyBatches.append(subscription)
            workArrivedLocked()
        }
    }

    private func workArrivedLocked() {
        if !signalled && !isReadingThreadLocked {
            signalled = true
            var one: UInt8 = 1
            _ = write(signalDescriptor, &one, 1)
        }
        if waiters > 0 { condition.signal() }
    }

    private var isReadingThreadLocked: Bool {
        guard let readingThread else { return false }
        return pthread_equal(readingThread, pthread_self()) != 0
    }

    /// With the lock held: the fd is readable exactly while work waits (work that arrived
    /// unsignalled while the owner read its links included).
    private func settleSignalLocked() {
        let waiting = !ready.isEmpty || !readyBatches.isEmpty || !replies.isEmpty
        if signalled && !waiting {
            signalled = false
            var byte: UInt8 = 0
            _ = read(signalReadDescriptor, &byte, 1)
        } else if !signalled && waiting {
            signalled = true
            var one: UInt8 = 1
            _ = write(signalDescriptor, &one, 1)
        }
    }

    /// A subscription ended: it leaves the queue's lists (they would keep it, and through it
    /// this queue, alive), and the descriptor stops being readable if it was the only work.
    func forget(_ subscription: Subscription) {
        condition.withLock {
            ready.removeAll { $0 === subscription }
            readyBatches.removeAll { $0 === subscription }
            handling.removeAll { $0 === subscription }
            settleSignalLocked()
        }
    }

    /// Admits as many of `sizes` (one per message, in order) as the limits allow; returns how
    /// many. Called by a subscription enqueueing (lock order: subscription, then queue).
    func admit(_ sizes: [Int]) -> Int {
        if maxMessages == 0 && maxBytes == 0 {
            condition.withLock {
                pendingMessages += sizes.count
                pendingBytes += sizes.reduce(0, +)
            }
            return sizes.count
        }
        return condition.withLock {
            var admitted = 0
            for size in sizes {
                if maxMessages > 0 && pendingMessages >= maxMessages { break }
                if maxBytes > 0 && pendingBytes + size > maxBytes { break }
                pendingMessages += 1
                pendingBytes += size
                admitted += 1
            }
            return admitted
        }
    }

    /// Messages left the queue's subscriptions (delivered, or discarded by a close).
    func release(messages: Int, bytes: Int) {
        guard messages > 0 else { return }
        condition.withLock {
            pendingMessages -= messages
            pendingBytes -= bytes
        }
    }

    // MARK: for the owner

    /// Makes a `dispatch` or `nextBatch` waiting now (or the next one to wait) return at once,
    /// empty: how another thread stops the owner's loop.
    public func wake() {
        condition.withLock {
            woken = true
            condition.broadcast()
        }
    }

    /// Waits up to `timeoutMilliseconds` (0: not at all) for work, then runs up to
    /// `maxCallbacks` pending callbacks on this thread, in order per subscription. Returns how
    /// many ran.
    public func dispatch(maxCallbacks: Int, timeoutMilliseconds: Int64) throws -> Int {
        guard maxCallbacks > 0 else { throw NATSError.invalidArgument("max callbacks must be positive") }
        guard timeoutMilliseconds >= 0 else { throw NATSError.invalidArgument("timeout must not be negative") }
        let deadline = Deadline.after(milliseconds: timeoutMilliseconds)
        readLinks()
        return runCallbacks(maxCallbacks, until: deadline, settling: true)
    }

    /// One turn of an owner that an event loop wakes (a binding's pump): reads the links,
    /// runs up to `maxCallbacks` pending callbacks, then takes what `nextBatch` would, never
    /// waiting. One call instead of `dispatch` and `nextBatch`, and the descriptor is settled
    /// once, at the end: a callback that a read made (a request's completion) runs in the same
    /// turn without the pipe being written and read for it. One thread at a time, as
    /// `nextBatch`.
    /// `ran` is how many callbacks ran, also when taking the batch throws.
    public func turn(
        maxCallbacks: Int, maxMessages: Int, maxBytes: Int, size: (Message) -> Int, ran: inout Int
    ) throws -> [(tag: UInt64, message: Message)] {
        ran = 0
        guard maxCallbacks > 0 else { throw NATSError.invalidArgument("max callbacks must be positive") }
        guard maxMessages > 0 else { throw NATSError.invalidArgument("max messages must be positive") }
        let now = Deadline.after(milliseconds: 0)
        readLinks()
        ran = runCallbacks(maxCallbacks, until: now, settling: false)
        return try takeBatch(maxMessages: maxMessages, maxBytes: maxBytes, size: size, until: now)
    }

    /// Runs up to `maxCallbacks` pending callbacks, waiting until `deadline` for the first;
    /// `settling` settles the descriptor after each (else the caller settles it).
    private func runCallbacks(_ maxCallbacks: Int, until deadline: Deadline, settling: Bool) -> Int {
        var ran = 0
        while ran < maxCallbacks {
            let task: DeliveryTask? = condition.withLock {
                waitLocked(until: deadline, unless: ran > 0 || !settling) { !ready.isEmpty } ? ready.popFirst() : nil
            }
            guard let task else { break }
            let (count, more) = task.runDelivery(budget: maxCallbacks - ran)
            ran += count
            condition.withLock {
                if more { ready.append(task) }
                if settling { settleSignalLocked() }
            }
        }
        return ran
    }

    /// The owner's turn at the sockets read here: what they hold now becomes work before the
    /// owner looks for work. The thread is noted as the owner, which a blocked `Condition.wait`
    /// asks (it reads the links meanwhile: nobody else does).
    private func readLinks() {
        CallbackContext.noteOwner(of: links)
        guard links.hasReaders else { return }
        condition.withLock { readingThread = pthread_self() }
        links.readReady()
        // The caller settles the signal once it has taken what it will.
        condition.withLock { readingThread = nil }
    }

    /// With the lock held: waits until `hasWork`; false (the descriptor settled) when
    /// `satisfied` (the caller already has something), at `deadline`, or after `wake()`.
    private func waitLocked(until deadline: Deadline, unless satisfied: Bool, _ hasWork: () -> Bool) -> Bool {
        while !hasWork() {
            if satisfied || deadline.remainingNanoseconds == 0 || woken {
                woken = false
                settleSignalLocked()
                return false
            }
            waiters += 1
            condition.wait(until: deadline)
            waiters -= 1
        }
        return true
    }

    /// Waits up to `timeoutMilliseconds` (0: not at all) for messages of the subscriptions
    /// bound without a callback (and replies to tagged requests), then takes what is
    /// pending: at most `maxMessages`, as many as fit in `maxBytes` by `size`, in order per
    /// subscription, each with its tag (the subscription's batch token, or the request's).
    /// The messages count as being handled (for a drain) until the next call. Empty when none
    /// came in time; throws `Subscription.MessageTooLarge` when the first one does not fit.
    public func nextBatch(
        maxMessages: Int, maxBytes: Int, size: (Message) -> Int, timeoutMilliseconds: Int64
    ) throws -> [(tag: UInt64, message: Message)] {
        guard maxMessages > 0 else { throw NATSError.invalidArgument("max messages must be positive") }
        guard timeoutMilliseconds >= 0 else { throw NATSError.invalidArgument("timeout must not be negative") }
        let deadline = Deadline.after(milliseconds: timeoutMilliseconds)
        readLinks()
        return try takeBatch(maxMessages: maxMessages, maxBytes: maxBytes, size: size, until: deadline)
    }

    private func takeBatch(
        maxMessages: Int, maxBytes: Int, size: (Message) -> Int, until deadline: Deadline
    ) throws -> [(tag: UInt64, message: Message)] {
        let finished: [Subscription] = condition.withLock {
            defer { handling.removeAll(keepingCapacity: true) }
            return handling
        }
        for subscription in finished { subscription.batchHandled() }
        var taken: [(tag: UInt64, message: Message)] = []
        var bytes = 0
        var released = (messages: 0, bytes: 0)
        var touched: [Subscription] = []
        batching: while taken.count < maxMessages {
            // Replies first: somebody waits for each.
            let next: BatchStep = try condition.withLock {
                while let reply = replies.first {
                    let measured = size(reply.message)
                    guard bytes + measured <= maxBytes else {
                        if taken.isEmpty { throw Subscription.MessageTooLarge(size: measured, limit: maxBytes) }
                        return .full
                    }
                    _ = replies.popFirst()
                    taken.append(reply)
                    bytes += measured
                    if taken.count == maxMessages { return .full }
                }
                guard waitLocked(until: deadline, unless: !taken.isEmpty, { !readyBatches.isEmpty || !replies.isEmpty }) else {
                    return .done
                }
                return readyBatches.popFirst().map(BatchStep.take) ?? .again  // woken by a reply
            }
            let subscription: Subscription
            switch next {
            case .full, .done: break batching
            case .again: continue batching
            case .take(let ready): subscription = ready
            }
            let result: Subscription.BatchTake
            do {
                result = try subscription.takeQueued(
                    maxMessages: maxMessages - taken.count, maxBytes: maxBytes - bytes, size: size,
                    firstInBatch: taken.isEmpty)
            } catch {
                condition.withLock {
                    readyBatches.pushFront(subscription)
                    settleSignalLocked()
                }
                throw error
            }
            let tag = subscription.batchToken ?? 0
            for message in result.messages {
                taken.append((tag, message))
                bytes += size(message)
                released.messages += 1
                released.bytes += message.storage.payloadLength + message.storage.headerLength
            }
            if !result.messages.isEmpty { touched.append(subscription) }
            if result.more {  // the batch is full
                condition.withLock { readyBatches.pushFront(subscription) }
                break
            }
        }
        condition.withLock {
            handling = touched
            pendingMessages -= released.messages
            pendingBytes -= released.bytes
            settleSignalLocked()
        }
        return taken
    }
}

/// What a round of `takeBatch` found under the lock.
private enum BatchStep {
    case take(Subscription)
    /// Replies filled the batch.
    case full
    /// Nothing (more) to take.
    case done
    /// A reply arrived while waiting: take it in the next round.
    case again
}

/// A library step that runs once in a `dispatch`, after its read of the links.
private final class AfterReading: DeliveryTask {
    private let body: () -> Void
    init(_ body: @escaping () -> Void) { self.body = body }

    func runDelivery(budget: Int) -> (ran: Int, more: Bool) {
        body()
        return (1, false)
    }
}
