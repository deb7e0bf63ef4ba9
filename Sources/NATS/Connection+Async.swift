/// Requests and flushes that do not block: their outcome is handed to a callback that runs as
/// a connection event (on the delivery pool, or in the connection's dispatch queue, where an
/// event loop such as asyncio's completes a future from it). Timeouts are event-loop timers.
extension Connection {
    /// Sends a request; `completion` runs once with the first reply, `noResponders`, a
    /// timeout, or `connectionClosed`.
    public func requestAsync(
        subject: UnsafeRawBufferPointer, headers: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer,
        timeoutMilliseconds: Int64, completion: @escaping (Result<Message, NATSError>) -> Void
    ) throws {
        let outcome = OneShot(completion)
        try startAsyncRequest(
            subject: subject, headers: headers, payload: payload, timeoutMilliseconds: timeoutMilliseconds,
            outcome: outcome
        ) { [weak self] reply in
            if let self { deliverCompletion { outcome.run(.success(reply)) } } else { outcome.run(.success(reply)) }
        }
    }

    /// Sends a request whose reply is taken with the messages of the connection's dispatch
    /// queue (`DeliveryQueue.nextBatch` / `turn`), under `tag`, as it is read: what an event
    /// loop that takes batches uses, with no callback per reply. When no reply comes
    /// (`noResponders`, a timeout, the link lost, `connectionClosed`), `failure` runs once
    /// instead, as a connection event. Throws `illegalState` without a dispatch queue.
    public func requestTagged(
        subject: UnsafeRawBufferPointer, headers: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer,
        timeoutMilliseconds: Int64, tag: UInt64, failure: @escaping (NATSError) -> Void
    ) throws {
        guard let queue = options.dispatchQueue else {
            throw NATSError.illegalState("a tagged request needs a connection bound to a dispatch queue")
        }
        let outcome = OneShot<Message> { result in
            if case .failure(let error) = result { failure(error) }
        }
        try startAsyncRequest(
            subject: subject, headers: headers, payload: payload, timeoutMilliseconds: timeoutMilliseconds,
            outcome: outcome
        ) { reply in queue.deliverReply(tag: tag, reply) }
    }

    /// The request of `requestAsync` and `requestTagged`: `outcome` is claimed once, by the
    /// reply (then `onReply` runs where it was read) or by a failure (run as a connection
    /// event). The timeout is judged after the answers' read (`afterDelay`).
    private func startAsyncRequest(
        subject: UnsafeRawBufferPointer, headers: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer,
        timeoutMilliseconds: Int64, outcome: OneShot<Message>, onReply: @escaping (Message) -> Void
    ) throws {
        guard timeoutMilliseconds > 0 else { throw NATSError.invalidArgument("timeout must be positive") }
        let subjectText = String(decoding: subject, as: UTF8.self)
        let token = Box<RequestToken?>(nil)
        let cancelTimer = afterDelay(milliseconds: timeoutMilliseconds) { [weak self] in
            guard let self, outcome.claim() else { return }
            if let issued = token.value { muxer.cancel(token: issued) }
            deliverCompletion {
                outcome.run(.failure(.timeout("no reply to request on \"\(subjectText)\" within \(timeoutMilliseconds) ms")))
            }
        }
        do {
            token.value = try startRequest(subject: subject, headers: headers, payload: payload) { [weak self] result in
                guard outcome.claim() else { return }
                cancelTimer()
                switch result {
                case .success(let reply): onReply(reply)
                case .failure(let error):
                    let mapped: NATSError
                    if case .noResponders = error { mapped = .noResponders(subjectText) } else { mapped = error }
                    if let self { deliverCompletion { outcome.run(.failure(mapped)) } } else { outcome.run(.failure(mapped)) }
                }
            }
        } catch {
            cancelTimer()
            throw error
        }
    }

    /// Sends a PING; `completion` runs once with success when its PONG arrives (everything
    /// published before has reached the server), or with a timeout or `connectionClosed`.
    public func flushAsync(timeoutMilliseconds: Int64, completion: @escaping (Result<Void, NATSError>) -> Void) throws {
        guard timeoutMilliseconds > 0 else { throw NATSError.invalidArgument("timeout must be positive") }
        let outcome = OneShot(completion)
        let cancelTimer = afterDelay(milliseconds: timeoutMilliseconds) { [weak self] in
            guard let self, outcome.claim() else { return }
            deliverCompletion { outcome.run(.failure(.timeout("no PONG within \(timeoutMilliseconds) ms"))) }
        }
        let pong = Completion<Void> { [weak self] result in
            guard outcome.claim() else { return }
            cancelTimer()
            if let self { deliverCompletion { outcome.run(result) } } else { outcome.run(result) }
        }
        do {
            try sendPing(for: pong)
        } catch {
            cancelTimer()
            throw error
        }
    }

    /// Runs a completion as a connection event; once events are no longer taken (the
    /// connection ended), on this thread: a completion is never dropped.
    func deliverCompletion(_ job: @escaping () -> Void) {
        let queue = lock.withLock { callbacks }
        if queue?.post(job) != true { job() }
    }
}

/// A callback that runs at most once, whoever of a reply and a timer claims it first.
final class OneShot<Value> {
    private let lock = Condition()
    private var claimed = false
    private let body: (Result<Value, NATSError>) -> Void

    init(_ body: @escaping (Result<Value, NATSError>) -> Void) { self.body = body }

    /// True for the first caller only.
    func claim() -> Bool {
        lock.withLock {
            if claimed { return false }
            claimed = true
            return true
        }
    }

    func run(_ result: Result<Value, NATSError>) { body(result) }
}

/// A mutable value shared by closures.
final class Box<Value> {
    private let lock = Condition()
    private var stored: Value
    init(_ value: Value) { stored = value }
    var value: Value {
        get { lock.withLock { stored } }
        set { lock.withLock { stored = newValue } }
    }
}
