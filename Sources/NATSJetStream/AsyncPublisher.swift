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
public final class AsyncPublisher {
    public typealias Completion = (Result<PubAck, Error>) -> Void

    private let connection: Connection
    private let timeoutMilliseconds: Int64
    public let window: Int
    private let completions: JobQueue
    private let condition = Condition()
    /// Publishes whose ack has not come.
    private var inFlight = 0
    /// Publishes whose completion has not run yet (in flight, or waiting to run).
    private var unfinished = 0

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
        let block = try options.headerBlock(headers)
        try takeSlot()
        let claim = Claim()
        let token = Token()
        let cancelTimer = connection.afterDelay(milliseconds: timeoutMilliseconds) { [weak self] in
            guard let self, claim.take() else { return }
            if let issued = token.value { connection.cancelRequest(token: issued) }
            finish(.failure(NATSError.timeout("no ack for the publish on \"\(subject)\" within \(timeoutMilliseconds) ms")), completion)
        }
        do {
            let issued = try withRequestBytes(subject, payload) { subjectBytes, payloadBytes in
                try block.withUnsafeBytes { blockBytes in
                    try connection.startRequest(
                        subject: subjectBytes, headers: block.isEmpty ? nil : blockBytes, payload: payloadBytes, sendNow: false
                    ) { [weak self] result in
                        guard claim.take() else { return }
                        cancelTimer()
                        let outcome: Result<PubAck, Error>
                        switch result {
                        case .success(let reply): outcome = Result { try PubAck.decode(reply, subject: subject) }
                        case .failure(.noResponders): outcome = .failure(JetStreamError.noStreamResponse(subject: subject))
                        case .failure(let error): outcome = .failure(error)
                        }
                        if let self { finish(outcome, completion) } else { completion(outcome) }
                    }
                }
            }
            token.set(issued)
        } catch {
            cancelTimer()
            // Only when the timer has not reported this publish already: one outcome each.
            if claim.take() {
                releaseUnrun()
                throw error
            }
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
                if !condition.wait(until: deadline) && unfinished > 0 {
                    throw NATSError.timeout("\(unfinished) asynchronous publishes unfinished after \(timeoutMilliseconds) ms")
                }
            }
        }
    }

    private func takeSlot() throws {
        let deadline = Deadline.after(milliseconds: timeoutMilliseconds)
        try condition.withLock {
            while inFlight >= window {
                if !condition.wait(until: deadline) && inFlight >= window {
                    throw JetStreamError.tooManyPending(limit: window)
                }
            }
            inFlight += 1
            unfinished += 1
        }
    }

    /// A publish that could not be sent: its slot back, and no completion will run.
    private func releaseUnrun() {
        condition.withLock {
            inFlight -= 1
            unfinished -= 1
            condition.broadcast()
        }
    }

    private func finish(_ outcome: Result<PubAck, Error>, _ completion: @escaping Completion) {
        condition.withLock {
            inFlight -= 1
            condition.broadcast()
        }
        let run = { [self] in
            completion(outcome)
            condition.withLock {
                unfinished -= 1
                if unfinished == 0 { condition.broadcast() }
            }
        }
        if !completions.post(run) { run() }
    }
}

/// True for the first taker only: a reply and a timer race for one outcome.
final class Claim {
    private let lock = Condition()
    private var taken = false

    func take() -> Bool {
        lock.withLock {
            if taken { return false }
            taken = true
            return true
        }
    }
}

/// A request token known once the request is sent, read by a timer that may fire first.
final class Token {
    private let lock = Condition()
    private var stored: String?

    var value: String? { lock.withLock { stored } }
    func set(_ token: String) { lock.withLock { stored = token } }
}
