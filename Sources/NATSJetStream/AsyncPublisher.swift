import NATS

/// Publishes without waiting for each ack: up to `window` acks in flight, each message's
/// outcome (its `PubAck` or why there is none) handed to its completion, in the order the
/// outcomes come, one at a time, as connection callbacks (the delivery pool or the
/// connection's dispatch queue).
///
/// Every publish accepted gets exactly one outcome. Across a disconnect, the acks of
/// publishes already written to the lost link fail with `NATSError.connectionLost`: the
/// message may or may not have been stored, and publishing it again with the same message id
/// is safe (the stream's duplicate window answers `duplicate`). Publishes made while
/// reconnecting wait in the reconnect buffer and get their acks from the new link. An ack
/// that does not come within the timeout fails with `NATSError.timeout`.
///
/// Built for rate: where an ack is read (the event loop) it only records the reply; the acks
/// of one read are decoded and completed by one job. One timer serves every deadline (they
/// come in publish order, all with the same timeout).
public final class AsyncPublisher {
    public typealias Completion = (Result<PubAck, Error>) -> Void

    /// The outcome of a tagged publish.
    public struct TaggedOutcome {
        public let tag: UInt64
        public let outcome: Result<PubAck, Error>
    }

    /// Takes the outcomes of tagged publishes, many per call: for bindings where a call costs
    /// more than an ack (one Python callback per batch instead of per publish).
    public typealias BatchCompletion = ([TaggedOutcome]) -> Void

    /// One publish whose outcome is not known yet.
    private final class Pending {
        let subject: String
        /// nil for a tagged publish: its outcome goes to the batch completion.
        let completion: Completion?
        let tag: UInt64
        /// Set when the publish takes its slot: its ack's timeout counts from then.
        var deadline = Deadline.now()
        var token: RequestToken?
        var settled = false

        init(subject: String, completion: Completion?, tag: UInt64) {
            self.subject = subject
            self.completion = completion
            self.tag = tag
        }
    }

    private let connection: Connection
    private let timeoutMilliseconds: Int64
    public let window: Int
    private let completions: JobQueue
    private let condition = Condition()
    /// Publishes whose ack has not come, oldest first (settled ones leave at the front).
    private var order = FIFO<Pending>()
    private var inFlight = 0
    /// Publishes whose completion has not run yet (in flight, or waiting to run).
    private var unfinished = 0
    private var publishersWaiting = 0
    private var outcomes: [(Pending, Result<Message, NATSError>)] = []
    private var drainScheduled = false
    private var sweepArmed = false
    private var batchCompletion: BatchCompletion?

    init(jetStream: JetStream) {
        connection = jetStream.connection
        timeoutMilliseconds = jetStream.timeoutMilliseconds
        window = jetStream.maxPendingPublishes
        completions = jetStream.connection.makeJobQueue()
    }

    /// Acks awaited now.
    public var pending: Int { condition.withLock { inFlight } }

    /// Publishes; `completion` runs once with the outcome unless this throws. While `window`
    /// acks are in flight it blocks until one comes back, for up to the timeout (then
    /// `tooManyPending`).
    public func publish(
        _ subject: String, payload: [UInt8] = [], headers: Headers? = nil, options: PublishOptions = PublishOptions(),
        completion: @escaping Completion
    ) throws {
        try send(Pending(subject: subject, completion: completion, tag: 0), payload, headers, options)
    }

    /// Where the outcomes of tagged publishes go, in the order they come, as many per call as
    /// came together; runs as `publish`'s completions do (interleaved with them in order).
    /// Replaces the one set before.
    public func setBatchCompletion(_ completion: @escaping BatchCompletion) {
        condition.withLock { batchCompletion = completion }
    }

    /// As `publish`, the outcome going to the batch completion with `tag` (any value: the
    /// caller's key for this publish). Throws `illegalState` when no batch completion is set.
    public func publish(
        _ subject: String, payload: [UInt8] = [], headers: Headers? = nil, options: PublishOptions = PublishOptions(),
        tag: UInt64
    ) throws {
        try send(Pending(subject: subject, completion: nil, tag: tag), payload, headers, options)
    }

    private func send(_ entry: Pending, _ payload: [UInt8], _ headers: Headers?, _ options: PublishOptions) throws {
        let subject = entry.subject
        let block = try options.headerBlock(headers)
        // Armed even when the send fails below: `admit` marked the sweep armed, and without
        // it no later publish's ack would ever time out.
        let armSweep = try admit(entry)
        defer { if armSweep { scheduleSweep() } }
        do {
            let token = try withRequestBytes(subject, payload) { subjectBytes, payloadBytes in
                try block.withUnsafeBytes { blockBytes in
                    try connection.startRequest(
                        subject: subjectBytes, headers: block.isEmpty ? nil : blockBytes, payload: payloadBytes, sendNow: false
                    ) { result in
                        // Held until the outcome (the muxer fails what waits when the
                        // connection closes): no publish is left without one.
                        self.received(entry, result)
                    }
                }
            }
            // Expired by the sweep before its token was known: the muxer must forget it too.
            let expired: Bool = condition.withLock {
                if entry.settled { return true }
                entry.token = token
                return false
            }
            if expired { connection.cancelRequest(token: token) }
        } catch {
            // Not sent: no outcome will come, the caller gets the error.
            let undone: Bool = condition.withLock {
                guard !entry.settled else { return false }
                entry.settled = true
                inFlight -= 1
                unfinished -= 1
                if publishersWaiting > 0 { condition.broadcast() }
                return true
            }
            if undone { throw error }
        }
    }

    /// Waits until every publish made so far has its outcome and its completion has run.
    /// Throws `timeout` past `timeoutMilliseconds`, `illegalState` from a completion (which
    /// would wait for itself).
    public func waitComplete(timeoutMilliseconds: Int64) throws {
        guard timeoutMilliseconds > 0 else { throw NATSError.invalidArgument("timeout must be positive") }
        if completions.isCurrent {
            throw NATSError.illegalState("waiting for the publishes' completions from one of them")
        }
        let deadline = Deadline.after(milliseconds: timeoutMilliseconds)
        try condition.withLock {
            while unfinished > 0 {
                publishersWaiting += 1
                let woken = condition.wait(until: deadline)
                publishersWaiting -= 1
                if !woken && unfinished > 0 {
                    throw NATSError.timeout("\(unfinished) asynchronous publishes unfinished after \(timeoutMilliseconds) ms")
                }
            }
        }
    }

    /// Takes a slot for `entry`, waiting while the window is full; true when the deadline
    /// sweep must be armed.
    private func admit(_ entry: Pending) throws -> Bool {
        try condition.withLock {
            if entry.completion == nil && batchCompletion == nil {
                throw NATSError.illegalState("tagged publishes need a batch completion first")
            }
            var giveUp: Deadline?
            while inFlight >= window {
                // Long enough for the oldest ack to expire and the sweep to see it: a full
                // window frees by the timeout at the latest.
                let limit = giveUp ?? Deadline.after(milliseconds: timeoutMilliseconds + 2 * sweepMilliseconds)
                giveUp = limit
                publishersWaiting += 1
                let woken = condition.wait(until: limit)
                publishersWaiting -= 1
                if !woken && inFlight >= window && limit.remainingNanoseconds == 0 {
                    throw JetStreamError.tooManyPending(limit: window)
                }
            }
            inFlight += 1
            unfinished += 1
            entry.deadline = Deadline.after(milliseconds: timeoutMilliseconds)
            order.append(entry)
            if sweepArmed { return false }
            sweepArmed = true
            return true
        }
    }

    /// Where the ack (or the request's failure) is read: recorded, and one job scheduled for
    /// all recorded since the last ran.
    private func received(_ entry: Pending, _ result: Result<Message, NATSError>) {
        let schedule: Bool = condition.withLock {
            guard !entry.settled else { return false }
            entry.settled = true
            inFlight -= 1
            if publishersWaiting > 0 { condition.broadcast() }
            outcomes.append((entry, result))
            if drainScheduled { return false }
            drainScheduled = true
            return true
        }
        if schedule { post(drain) }
    }

    private func post(_ job: @escaping () -> Void) {
        if !completions.post(job) { job() }
    }

    /// On the completions' queue: decodes and completes what came, in order.
    private func drain() {
        let (taken, batchCompletion): ([(Pending, Result<Message, NATSError>)], BatchCompletion?) = condition.withLock {
            drainScheduled = false
            defer { outcomes.removeAll(keepingCapacity: true) }
            return (outcomes, self.batchCompletion)
        }
        var batch: [TaggedOutcome] = []
        for (entry, result) in taken {
            let outcome: Result<PubAck, Error>
            switch result {
            case .success(let reply): outcome = Result { try PubAck.decode(reply, subject: entry.subject) }
            case .failure(.noResponders): outcome = .failure(JetStreamError.noStreamResponse(subject: entry.subject))
            case .failure(let error): outcome = .failure(error)
            }
            if let completion = entry.completion {
                // In order: the tagged outcomes before this one go first.
                if let batchCompletion, !batch.isEmpty {
                    batchCompletion(batch)
                    batch.removeAll(keepingCapacity: true)
                }
                completion(outcome)
            } else {
                batch.append(TaggedOutcome(tag: entry.tag, outcome: outcome))
            }
        }
        if let batchCompletion, !batch.isEmpty { batchCompletion(batch) }
        condition.withLock {
            unfinished -= taken.count
            if unfinished == 0 || publishersWaiting > 0 { condition.broadcast() }
        }
    }

    // MARK: deadlines

    /// One timer for all deadlines: publishes leave `order` in publish order, and share the
    /// timeout, so the front is always the next to expire.
    private var sweepMilliseconds: Int64 { max(10, min(timeoutMilliseconds / 4, 250)) }

    private func scheduleSweep() {
        // Held strongly: the sweep runs while publishes wait for their outcome, and a weakly
        // referenced object pays for every retain (Swift moves its counts to a side table).
        _ = connection.afterDelay(milliseconds: sweepMilliseconds) { self.sweep() }
    }

    private func sweep() {
        var expired: [Pending] = []
        let again: Bool = condition.withLock {
            let now = Deadline.now()
            while let front = order.first {
                if front.settled {
                    _ = order.popFirst()
                    continue
                }
                guard front.deadline <= now else { break }
                _ = order.popFirst()
                front.settled = true
                inFlight -= 1
                expired.append(front)
            }
            if !expired.isEmpty && publishersWaiting > 0 { condition.broadcast() }
            sweepArmed = !order.isEmpty
            return sweepArmed
        }
        for entry in expired {
            if let token = entry.token { connection.cancelRequest(token: token) }
        }
        if !expired.isEmpty {
            let schedule: Bool = condition.withLock {
                for entry in expired {
                    outcomes.append((entry, .failure(.timeout(
                        "no ack for the publish on \"\(entry.subject)\" within \(timeoutMilliseconds) ms"))))
                }
                if drainScheduled { return false }
                drainScheduled = true
                return true
            }
            if schedule { post(drain) }
        }
        if again { scheduleSweep() }
    }
}
