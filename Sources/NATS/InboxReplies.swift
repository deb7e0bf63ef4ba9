/// The asynchronous form of "subscribe a fresh inbox, send something that is answered there,
/// read the answers until done or out of time" (micro discovery, RPC streams): the answers
/// and the deadline reach `handler` one at a time, in order, on the connection's delivery
/// pool or dispatch queue, so no thread waits. Events stop after `finish()`, and after the
/// one `.timedOut` or `.ended` event (which finish it by themselves); `finish()` from another
/// thread waits for an event being handled, so that what the handler uses may be freed after.
///
/// It keeps itself alive while it listens (its subscription's handler holds it); `finish()`
/// lets go. Handlers may call blocking functions of the connection, as any callback may.
public final class InboxReplies {
    public enum Event {
        case message(Message)
        /// The deadline armed last passed with no `armDeadline` since.
        case timedOut
        /// The inbox's subscription ended without `finish()`: its connection closed.
        case ended
    }

    public typealias Handler = (InboxReplies, Event) -> Void

    public let inbox: String
    private let connection: Connection
    /// Runs the events: messages come from where the link is read and deadlines from where
    /// they are judged (`Connection.afterDelay`), so both are funnelled into this one serial
    /// queue, in the order they happened.
    private let jobs: JobQueue
    private let condition = Condition()
    // Guarded by `condition`.
    private var handler: Handler?
    private var subscription: Subscription?
    private var cancelDeadline: (() -> Void)?
    /// Which deadline is current: one that fires after being replaced is ignored.
    private var deadline = 0
    private var handling = false

    /// Subscribes the inbox, arms the first deadline, then calls `send` with the inbox (the
    /// request that is answered there). Throws what subscribing or `send` throws; then no
    /// event comes.
    public init(
        connection: Connection, timeoutMilliseconds: Int64, handler: @escaping Handler,
        send: (String) throws -> Void
    ) throws {
        self.connection = connection
        inbox = connection.newInbox()
        jobs = connection.makeJobQueue()
        self.handler = handler
        // Handed on where they are read, not from a callback of their own: a callback could run
        // after a deadline posted later, when the queue's owner dispatches late, and the
        // answers that came in time would be judged after it.
        let subscription = try connection.subscribeInline(inbox) { [self] message in
            jobs.post { self.deliver(.message(message)) }
        }
        condition.withLock { self.subscription = subscription }
        subscription.whenEnded { [weak self] in
            guard let self else { return }
            jobs.post { self.deliver(.ended) }
        }
        armDeadline(milliseconds: timeoutMilliseconds)
        do {
            try send(inbox)
        } catch {
            finish()
            throw error
        }
    }

    /// Replaces the deadline: `.timedOut` comes `milliseconds` from now unless armed again.
    public func armDeadline(milliseconds: Int64) {
        let (generation, replaced): (Int?, (() -> Void)?) = condition.withLock {
            guard handler != nil else { return (nil, nil) }
            deadline += 1
            defer { cancelDeadline = nil }
            return (deadline, cancelDeadline)
        }
        replaced?()
        guard let generation else { return }
        let cancel = connection.afterDelay(milliseconds: milliseconds) { [weak self] in
            guard let self else { return }
            jobs.post { self.expire(generation) }
        }
        let current: Bool = condition.withLock {
            guard handler != nil, deadline == generation else { return false }
            cancelDeadline = cancel
            return true
        }
        if !current { cancel() }
    }

    /// Stops listening: no event starts after this returns, and one being handled on another
    /// thread has ended (from the handler itself it returns at once). Idempotent.
    public func finish() {
        let mayWait = !jobs.isCurrent
        let (ended, cancel): (Subscription?, (() -> Void)?) = condition.withLock {
            defer {
                handler = nil
                subscription = nil
                cancelDeadline = nil
            }
            while mayWait && handling { condition.wait(until: nil) }
            return (subscription, cancelDeadline)
        }
        cancel?()
        try? ended?.unsubscribe()
    }

    public var isFinished: Bool { condition.withLock { handler == nil } }

    private func expire(_ generation: Int) {
        guard condition.withLock({ deadline == generation }) else { return }
        deliver(.timedOut)
    }

    private func deliver(_ event: Event) {
        let handler: Handler? = condition.withLock {
            if self.handler != nil { handling = true }
            return self.handler
        }
        guard let handler else { return }
        defer {
            condition.withLock {
                handling = false
                condition.broadcast()
            }
        }
        switch event {
        case .message: break
        case .timedOut, .ended: finish()
        }
        handler(self, event)
    }
}
