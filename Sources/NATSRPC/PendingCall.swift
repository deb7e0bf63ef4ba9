import NATS

/// Where a client's calls go: `<root>.<namespace>.<method>`, namespaces tried in order; or,
/// for a client of a reference, `<reference subject>.<method>`.
struct CallTarget {
    let connection: Connection
    /// The subject before the method, for each place tried in order.
    let prefixes: [String]
    let namespaces: [String]
    /// The subject of the reference the calls go to, if they do.
    let reference: String?

    init(connection: Connection, root: String, namespaces: [String]) {
        self.connection = connection
        self.namespaces = namespaces
        prefixes = namespaces.map { root + "." + $0 }
        reference = nil
    }

    init(connection: Connection, reference: String) {
        self.connection = connection
        namespaces = []
        prefixes = [reference]
        self.reference = reference
    }

    func subject(_ index: Int, _ method: String) -> String { prefixes[index] + "." + method }

    /// No place has the method: -32601.
    func notFound(_ method: String) -> RPCError {
        guard let reference else { return RPCError.notFound(method, namespaces: namespaces) }
        return RPCError.notFound(method, reference: reference)
    }
}

/// One call in flight: its request, the namespace it was sent to, and the reply to come.
/// A no-responders reply sends it on to the next namespace of the group; past the last it is
/// -32601. Waited for by one thread at a time (the caller, or the client's callback thread),
/// but a relaunch on the callback thread may overlap the first launch on the caller's: the
/// attempt, its token and the namespace index are kept under a lock.
final class PendingCall {
    let id: UInt64
    let method: String
    let payload: [UInt8]
    let target: CallTarget
    /// The liveness frames the request asked for (docs/RPC.md "Liveness"), nil for none.
    let heartbeatMilliseconds: Int64?
    private let lock = Condition()
    private var namespaceIndex = 0
    private var attempt = ReplySlot()
    private var token: RequestToken?
    /// When the server was last heard of (the launch, or a liveness frame).
    private var lastHeard: UInt64 = 0

    init(id: UInt64, method: String, payload: [UInt8], target: CallTarget, heartbeatMilliseconds: Int64? = nil) {
        self.id = id
        self.method = method
        self.payload = payload
        self.target = target
        self.heartbeatMilliseconds = heartbeatMilliseconds
    }

    /// The silence after which the call is lost: two intervals.
    var silenceLimitNanoseconds: UInt64? { heartbeatMilliseconds.map { UInt64($0) * 2_000_000 } }

    /// When the call is lost unless a frame comes first; nil without liveness frames.
    var lostAt: Deadline? {
        guard let limit = silenceLimitNanoseconds else { return nil }
        return Deadline(uptimeNanoseconds: lock.withLock { lastHeard } &+ limit)
    }

    /// The error of a call whose server went silent, or nil while it is not.
    func lostError() -> NATSError? {
        guard let lostAt, let heartbeatMilliseconds, Deadline.now() >= lostAt else { return nil }
        return .callLost("neither the answer to \"\(method)\" nor a liveness frame came for \(2 * heartbeatMilliseconds) ms "
            + "(two heartbeat intervals): its server went away")
    }

    private func heard() { lock.withLock { lastHeard = Deadline.now().uptimeNanoseconds } }

    /// What a reply means for the call.
    enum Outcome {
        case finished(Result<JSONValue, Error>)
        /// No server in this namespace: the call went on to the next one.
        case relaunched
    }

    /// Sends the request to the current namespace. `onReply` runs where the reply arrives (the
    /// event loop): it must not block.
    func launch(onReply: ((Result<Message, NATSError>) -> Void)? = nil) throws {
        let attempt = ReplySlot()
        var subject: String = lock.withLock {
            self.attempt = attempt
            lastHeard = Deadline.now().uptimeNanoseconds
            return target.subject(namespaceIndex, method)
        }
        let interim: ((Message) -> Bool)? = heartbeatMilliseconds == nil ? nil : { [weak self] message in
            guard ReplyFrame.isHeartbeat(message) else { return false }
            self?.heard()
            return true
        }
        let sent = try subject.withUTF8 { subjectBytes in
            try payload.withUnsafeBytes { payloadBytes in
                try target.connection.startRequest(
                    subject: UnsafeRawBufferPointer(subjectBytes), headers: nil, payload: payloadBytes, interim: interim
                ) { result in
                    attempt.fill(result)
                    onReply?(result)
                }
            }
        }
        // Unless the reply came already and the call went on to another namespace.
        lock.withLock { if self.attempt === attempt { token = sent } }
    }

    /// Reads a reply; on no responders, launches the call in the next namespace.
    func handle(_ result: Result<Message, NATSError>, onReply: ((Result<Message, NATSError>) -> Void)? = nil) -> Outcome {
        switch result {
        case .success(let message):
            switch ReplyFrame.parse(message) {
            case .result(let value): return .finished(.success(value))
            case .error(let error): return .finished(.failure(error))
            case .heartbeat:
                return .finished(.failure(RPCError(
                    code: RPCError.internalError, message: "Internal error: a liveness frame that \"\(method)\" did not ask for")))
            case .item, .end:
                return .finished(.failure(RPCError(
                    code: RPCError.internalError, message: "Internal error: a stream answered a plain call of \"\(method)\"")))
            }
        case .failure(.noResponders):
            let next: Int = lock.withLock {
                namespaceIndex += 1
                return namespaceIndex
            }
            guard next < target.prefixes.count else { return .finished(.failure(target.notFound(method))) }
            do {
                try launch(onReply: onReply)
                return .relaunched
            } catch {
                return .finished(.failure(error))
            }
        case .failure(let error):
            return .finished(.failure(error))
        }
    }

    /// Waits for the outcome until `deadline`; nil when it passed first (the call stays in
    /// flight: wait again, or `cancel`). A call whose server went silent fails with
    /// `NATSError.callLost` as soon as it is (and is forgotten).
    func wait(until deadline: Deadline) -> Result<JSONValue, Error>? {
        while true {
            let until = lostAt.map { min($0, deadline) } ?? deadline
            guard let result = lock.withLock({ attempt }).wait(until: until) else {
                if let lost = lostError() {
                    cancel()
                    return .failure(lost)
                }
                if Deadline.now() >= deadline { return nil }
                continue
            }
            if case .finished(let outcome) = handle(result) { return outcome }
        }
    }

    /// Forgets the reply to come.
    func cancel() {
        if let token = lock.withLock({ token }) { target.connection.cancelRequest(token: token) }
    }

    func timeoutError(_ milliseconds: Int64) -> NATSError {
        .timeout("no reply to RPC call \"\(method)\" within \(milliseconds) ms")
    }
}

/// The reply to one attempt of a call, filled on the event loop and awaited by the caller.
/// (Not the core's generic `Completion`: a generic `Result<Message, NATSError>?` returned
/// across the module boundary left bits valgrind reads as uninitialised.)
final class ReplySlot {
    private let condition = Condition()
    private var message: Message?
    private var failure: NATSError?

    func fill(_ result: Result<Message, NATSError>) {
        condition.withLock {
            guard message == nil && failure == nil else { return }
            switch result {
            case .success(let reply): message = reply
            case .failure(let error): failure = error
            }
        }
        condition.broadcast()
    }

    /// The reply, or nil when `deadline` passed first.
    func wait(until deadline: Deadline) -> Result<Message, NATSError>? {
        condition.withLock {
            while message == nil && failure == nil {
                if !condition.wait(until: deadline) { break }
            }
            if let message { return .success(message) }
            if let failure { return .failure(failure) }
            return nil
        }
    }
}
