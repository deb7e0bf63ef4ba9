import NATS
import NATSMicro

/// Calls the methods of a namespace, or of a namespace group: an ordered list of namespaces
/// where the first one with a server for the method answers (no responders in one sends the
/// call on to the next). A method no server has fails at once with -32601, not by timing out.
/// Thread-safe; many clients and servers may share one connection.
public final class RPCClient {
    public let connection: Connection
    public let namespaces: [String]
    public let root: String
    /// The subject of the reference this client calls, nil for a client of namespaces.
    public let reference: String?
    let target: CallTarget

    private let lock = Condition()
    private let idBase = SharedNUID.next()
    private var lastID: UInt64 = 0
    private var pending: [UInt64: PendingCall] = [:]
    private var dispatcher: CallbackDispatcher?
    private var observer: Int?
    private var closed = false
    private var heartbeat: Int64 = RPCClient.defaultHeartbeatMilliseconds

    /// The liveness interval calls ask for unless set otherwise.
    public static let defaultHeartbeatMilliseconds: Int64 = 1_000

    /// The interval at which a call asks its server for liveness frames (docs/RPC.md
    /// "Liveness"): a call whose server sends neither its answer nor a frame for two
    /// intervals fails with `NATSError.callLost` instead of waiting out its timeout. A call
    /// whose timeout is no longer than two intervals asks for none (its timeout comes
    /// first). 0 turns them off (for servers that do not send them); otherwise from 100 ms to
    /// a day.
    public var heartbeatMilliseconds: Int64 { lock.withLock { heartbeat } }

    public func setHeartbeat(milliseconds: Int64) throws {
        let allowed = HeartbeatSchedule.minimumIntervalMilliseconds...HeartbeatSchedule.maximumIntervalMilliseconds
        guard milliseconds == 0 || allowed.contains(milliseconds) else {
            throw NATSError.invalidArgument(
                "the heartbeat interval must be 0 (none) or from \(allowed.lowerBound) to \(allowed.upperBound) ms, got \(milliseconds)")
        }
        lock.withLock { heartbeat = milliseconds }
    }

    public init(connection: Connection, namespaces: [String], root: String = MethodNames.defaultRoot) throws {
        guard !namespaces.isEmpty else { throw RPCConfigError("an RPC client needs at least one namespace") }
        for namespace in namespaces { try MethodNames.checkNamespace(namespace) }
        try MethodNames.checkMethod(root, what: "root")
        self.connection = connection
        self.namespaces = namespaces
        self.root = root
        reference = nil
        target = CallTarget(connection: connection, root: root, namespaces: namespaces)
    }

    public convenience init(connection: Connection, namespace: String, root: String = MethodNames.defaultRoot) throws {
        try self.init(connection: connection, namespaces: [namespace], root: root)
    }

    /// A client of a reference another process lent (docs/RPC.md "References"): `reference`
    /// is `{"$ref": {"subject": ...}}` (or its inner object) as found in a call's params. Its
    /// calls go to `<subject>.<method>`; a method the reference does not lend, or a reference
    /// revoked or whose process is gone, answers -32601 at once. The subject must lie under
    /// this connection's inbox prefix, where references are lent: a caller cannot make a server
    /// send requests to any other subject (a service of its choosing) with the server's rights.
    public init(connection: Connection, reference: JSONValue) throws {
        guard let subject = RPCReference.subject(of: reference) else {
            throw NATSError.invalidArgument(
                "not a reference: expected {\"$ref\": {\"subject\": <subject>, ...}}, got \(reference.serialized().prefix(200))")
        }
        let inboxes = connection.options.inboxPrefix + "."
        guard subject.hasPrefix(inboxes), subject.utf8.count > inboxes.utf8.count else {
            throw NATSError.invalidArgument(
                "reference subject \"\(subject.prefix(200))\" is not under the inbox prefix \"\(connection.options.inboxPrefix)\": "
                    + "references are lent there, and a server calls nothing else")
        }
        self.connection = connection
        namespaces = []
        root = ""
        self.reference = subject
        target = CallTarget(connection: connection, reference: subject)
    }

    deinit {
        dispatcher?.stop(NATSError.illegalState("the RPC client was destroyed"))
        if let observer { connection.removeObserver(observer) }
    }

    /// Forgets every pending call and fails every callback call still waiting.
    public func close() {
        let (calls, dispatcher, observer): ([PendingCall], CallbackDispatcher?, Int?) = lock.withLock {
            closed = true
            defer {
                pending.removeAll()
                self.dispatcher = nil
                self.observer = nil
            }
            return (Array(pending.values), self.dispatcher, self.observer)
        }
        for call in calls { call.cancel() }
        dispatcher?.stop(NATSError.illegalState("the RPC client was closed"))
        if let observer { connection.removeObserver(observer) }
    }

    // MARK: calls

    /// Calls `method` and waits for its result. Throws `RPCError` for an error reply (and
    /// -32601 when no namespace has the method), `NATSError.timeout` when no reply came in time.
    public func call(_ method: String, params: JSONValue? = nil, timeoutMilliseconds: Int64) throws -> JSONValue {
        let timeout = try checkedTimeout(timeoutMilliseconds)
        let call = try makeCall(method, params: params, timeoutMilliseconds: timeout)
        try call.launch()
        guard let outcome = call.wait(until: .after(milliseconds: timeout)) else {
            call.cancel()
            throw call.timeoutError(timeout)
        }
        return try outcome.get()
    }

    /// Sends a call and returns its id at once; `response(to:)` collects the result.
    public func callAsync(_ method: String, params: JSONValue? = nil) throws -> UInt64 {
        let call = try makeCall(method, params: params, timeoutMilliseconds: nil)
        try lock.withLock {
            if closed { throw NATSError.illegalState("the RPC client is closed") }
            pending[call.id] = call
        }
        do {
            try call.launch()
        } catch {
            _ = lock.withLock { pending.removeValue(forKey: call.id) }
            throw error
        }
        return call.id
    }

    /// The result of a call sent with `callAsync`, waiting up to the timeout. Once a result
    /// (or error) is returned the id is forgotten; after a timeout the call stays pending, so
    /// it can be asked for again (or `cancel`led).
    public func response(to id: UInt64, timeoutMilliseconds: Int64) throws -> JSONValue {
        let timeout = try checkedTimeout(timeoutMilliseconds)
        // Taken out while waiting, so that two threads cannot read the same reply.
        guard let call = lock.withLock({ pending.removeValue(forKey: id) }) else {
            throw RPCClientError.unknownCall(id)
        }
        guard let outcome = call.wait(until: .after(milliseconds: timeout)) else {
            lock.withLock { pending[id] = call }
            throw call.timeoutError(timeout)
        }
        return try outcome.get()
    }

    /// Forgets a pending call (its reply, if any, is dropped).
    public func cancel(_ id: UInt64) throws {
        guard let call = lock.withLock({ pending.removeValue(forKey: id) }) else { throw RPCClientError.unknownCall(id) }
        call.cancel()
    }

    /// The number of calls sent with `callAsync` and not yet collected.
    public var pendingCount: Int { lock.withLock { pending.count } }

    /// Calls `method` and hands the outcome to `callback` on the client's callback thread
    /// (one callback at a time), or a timeout after `timeoutMilliseconds`.
    public func call(
        _ method: String, params: JSONValue? = nil, timeoutMilliseconds: Int64,
        callback: @escaping (Result<JSONValue, Error>) -> Void
    ) throws {
        let timeout = try checkedTimeout(timeoutMilliseconds)
        let call = try makeCall(method, params: params, timeoutMilliseconds: timeout)
        try callbackDispatcher().start(call, timeoutMilliseconds: timeout, callback: callback)
    }

    /// Sends every call at once and waits for all of them (up to the timeout in total).
    /// The outcomes are in the order of `calls`; one failing does not affect the others.
    public func callBatch(
        _ calls: [(method: String, params: JSONValue?)], timeoutMilliseconds: Int64
    ) throws -> [Result<JSONValue, Error>] {
        let timeout = try checkedTimeout(timeoutMilliseconds)
        var launched: [Result<PendingCall, Error>] = []
        for (method, params) in calls {
            launched.append(Result {
                let call = try makeCall(method, params: params, timeoutMilliseconds: timeout)
                try call.launch()
                return call
            })
        }
        let deadline = Deadline.after(milliseconds: timeout)
        return launched.map { entry in
            switch entry {
            case .failure(let error): return .failure(error)
            case .success(let call):
                guard let outcome = call.wait(until: deadline) else {
                    call.cancel()
                    return .failure(call.timeoutError(timeout))
                }
                return outcome
            }
        }
    }

    /// Calls a streaming method: items arrive in order through the returned stream; the
    /// timeout applies to each wait for the next item.
    public func callStream(_ method: String, params: JSONValue? = nil, timeoutMilliseconds: Int64) throws -> RPCStream {
        let timeout = try checkedTimeout(timeoutMilliseconds)
        let (_, payload) = try request(method, params: params, stream: true)
        return try RPCStream(target: target, method: method, payload: payload, timeoutMilliseconds: timeout)
    }

    /// Calls a streaming method without waiting: `onEvent` gets each item, then the end or the
    /// error, one at a time, in order, on the connection's delivery (`RPCStreamCall`).
    @discardableResult
    public func callStream(
        _ method: String, params: JSONValue? = nil, timeoutMilliseconds: Int64,
        onEvent: @escaping (RPCStreamCall.Event) -> Void
    ) throws -> RPCStreamCall {
        let timeout = try checkedTimeout(timeoutMilliseconds)
        let (_, payload) = try request(method, params: params, stream: true)
        return try RPCStreamCall(target: target, method: method, payload: payload, timeoutMilliseconds: timeout, onEvent: onEvent)
    }

    // MARK: describe

    /// The methods the namespaces' servers offer, from micro INFO: the first namespace that
    /// has a method is the one that answers it. Waits the whole timeout for every instance,
    /// namespace after namespace.
    public func describe(timeoutMilliseconds: Int64 = 1_000) throws -> [MethodDescription] {
        let timeout = try checkedTimeout(timeoutMilliseconds)
        try checkDescribable()
        let discovery = DiscoveryClient(connection: connection)
        let infos = try namespaces.map { try discovery.info(name: $0, timeoutMilliseconds: timeout) }
        return MethodDescription.listing(root: root, namespaces: namespaces, infos: infos)
    }

    /// As the blocking `describe`, without waiting: every namespace is asked at once, and
    /// `completion` gets the listing (or the first failure) once, on the connection's delivery,
    /// after `timeoutMilliseconds`. Throws, and never calls `completion`, when a request
    /// cannot be sent.
    public func describe(
        timeoutMilliseconds: Int64 = 1_000, completion: @escaping (Result<[MethodDescription], Error>) -> Void
    ) throws {
        let timeout = try checkedTimeout(timeoutMilliseconds)
        try checkDescribable()
        let discovery = DiscoveryClient(connection: connection)
        let (root, namespaces) = (self.root, self.namespaces)
        // Each namespace's answers come on a job queue of their own: gathered under a lock.
        let lock = Condition()
        var outcomes = [Result<[JSONValue], NATSError>?](repeating: nil, count: namespaces.count)
        var left = namespaces.count
        for (index, namespace) in namespaces.enumerated() {
            try discovery.gather(.info, name: namespace, id: nil, timeoutMilliseconds: timeout, maxReplies: 0) { outcome in
                let all: [Result<[JSONValue], NATSError>?]? = lock.withLock {
                    outcomes[index] = outcome
                    left -= 1
                    return left == 0 ? outcomes : nil
                }
                guard let all else { return }
                completion(Result {
                    let infos = try all.map { try ($0 ?? .failure(.connectionClosed)).get().map(InfoResponse.init) }
                    return MethodDescription.listing(root: root, namespaces: namespaces, infos: infos)
                })
            }
        }
    }

    // MARK: helpers

    /// A reference is no service: its methods are listed in the reference itself.
    private func checkDescribable() throws {
        if let reference {
            throw NATSError.illegalState("a reference (\(reference)) cannot be described: its methods are listed in the reference")
        }
    }

    private func nextID() -> (UInt64, String) {
        let number: UInt64 = lock.withLock {
            lastID += 1
            return lastID
        }
        return (number, idBase + "." + String(number))
    }

    /// A call asking for liveness frames unless its timeout (nil: not known yet, a call
    /// collected later) comes within two intervals.
    private func makeCall(_ method: String, params: JSONValue?, timeoutMilliseconds: Int64?) throws -> PendingCall {
        let interval = heartbeatMilliseconds
        let heartbeat: Int64? = interval > 0 && (timeoutMilliseconds ?? Int64.max) > 2 * interval ? interval : nil
        let (number, payload) = try request(method, params: params, stream: false, heartbeat: heartbeat)
        return PendingCall(id: number, method: method, payload: payload, target: target, heartbeatMilliseconds: heartbeat)
    }

    /// A checked call's number and request body.
    private func request(_ method: String, params: JSONValue?, stream: Bool, heartbeat: Int64? = nil) throws -> (UInt64, [UInt8]) {
        try MethodNames.checkMethod(method)
        let (number, id) = nextID()
        return (number, try Envelope.request(
            id: id, method: method, params: try checkedParams(params), stream: stream, heartbeat: heartbeat))
    }

    private func checkedParams(_ params: JSONValue?) throws -> JSONValue? {
        guard let params, !params.isNull else { return nil }
        guard params.isObject || params.isArray else {
            throw NATSError.invalidArgument("params must be a JSON object or array, got \(params.kind.schemaName)")
        }
        return params
    }

    private func checkedTimeout(_ milliseconds: Int64) throws -> Int64 {
        guard milliseconds > 0 else { throw NATSError.invalidArgument("timeout must be positive, got \(milliseconds)") }
        return milliseconds
    }

    private func callbackDispatcher() throws -> CallbackDispatcher {
        try lock.withLock {
            if closed { throw NATSError.illegalState("the RPC client is closed") }
            if let dispatcher { return dispatcher }
            let made = CallbackDispatcher(connection: connection)
            dispatcher = made
            // Calls still waiting when the connection closes fail with it.
            observer = connection.addObserver(closed: { [weak made] _ in made?.stop(NATSError.connectionClosed) }, error: nil)
            return made
        }
    }
}

/// A method as `describe()` finds it.
public struct MethodDescription: Equatable {
    /// The name to call (with the server's prefix).
    public var method: String
    public var namespace: String
    public var subject: String
    public var parameters: ParameterList?
    public var description: String
    /// How many server instances of the namespace offer it.
    public var instances: Int
    /// Whether it streams its result (`callStream` reads it item by item).
    public var streams: Bool = false

    /// The methods that the INFO answers of each namespace (in the order of `namespaces`)
    /// offer, sorted by name; a method offered in several namespaces is the first one's.
    static func listing(root: String, namespaces: [String], infos: [[InfoResponse]]) -> [MethodDescription] {
        var found: [MethodDescription] = []
        for (namespace, instances) in zip(namespaces, infos) {
            let subjectPrefix = root + "." + namespace + "."
            for instance in instances {
                for endpoint in instance.endpoints {
                    guard let metadata = endpoint.metadata, let method = metadata[RPCMetadata.method],
                        endpoint.subject.hasPrefix(subjectPrefix)
                    else { continue }
                    if let index = found.firstIndex(where: { $0.method == method }) {
                        if found[index].namespace == namespace { found[index].instances += 1 }
                        continue
                    }
                    let parameters = metadata[RPCMetadata.params].flatMap { try? ParameterList(json: JSONValue.parse($0)) }
                    found.append(MethodDescription(
                        method: method, namespace: namespace, subject: endpoint.subject, parameters: parameters,
                        description: metadata[RPCMetadata.description] ?? "", instances: 1,
                        streams: metadata[RPCMetadata.stream] == "true"))
                }
            }
        }
        return found.sorted { $0.method < $1.method }
    }

    public var json: JSONValue {
        let object = JSONValue.object()
        object.set("method", method)
        object.set("namespace", namespace)
        object.set("subject", subject)
        if let parameters { object.set("params", parameters.json) } else { object.setNull("params") }
        object.set("description", description)
        object.set("instances", instances)
        object.set("stream", streams)
        return object
    }
}

/// Client-side mistakes that are not about the wire.
public enum RPCClientError: Error, Equatable, CustomStringConvertible {
    case unknownCall(UInt64)

    public var description: String {
        switch self {
        case .unknownCall(let id): return "no pending RPC call with id \(id)"
        }
    }
}
