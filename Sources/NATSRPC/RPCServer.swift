#if canImport(Glibc)
import Glibc
#endif
import NATS
import NATSMicro

/// A method as registered.
public struct RPCMethod {
    public var name: String
    public var parameters: ParameterList?
    public var description: String
    /// How many calls the handler may work on at once (1: one at a time, in order).
    public var concurrency: Int
    /// Whether it streams its result (items, then the end): `describe()` says so.
    public var streams: Bool
    let handler: (RPCRequest) -> Void

    public init(
        name: String, parameters: ParameterList? = nil, description: String = "", concurrency: Int = 1, streams: Bool = false,
        handler: @escaping (RPCRequest) -> Void
    ) {
        self.name = name
        self.parameters = parameters
        self.description = description
        self.concurrency = concurrency
        self.streams = streams
        self.handler = handler
    }
}

/// The server of one namespace: a micro service named after it, one endpoint per method on
/// `<root>.<namespace>.[<prefix>.]<method>`, queue group "q", so that every process serving
/// the namespace shares the calls. Many servers and clients may share a connection.
public final class RPCServer {
    public let connection: Connection
    public let namespace: String
    public let root: String
    public let version: String
    public let description: String

    private let lock = Condition()
    private var methods: [RPCMethod] = []
    /// The liveness frames owed to the callers of calls not yet answered.
    let heartbeats: CallHeartbeats
    private var running: (service: Service, prefix: String)?

    public init(connection: Connection, namespace: String, root: String = MethodNames.defaultRoot,
                version: String = "1.0.0", description: String = "") throws {
        try MethodNames.checkNamespace(namespace)
        try MethodNames.checkMethod(root, what: "root")
        self.connection = connection
        self.namespace = namespace
        self.root = root
        self.version = version
        self.description = description
        heartbeats = CallHeartbeats(connection: connection)
    }

    /// The micro service while running.
    public var service: Service? { lock.withLock { running?.service } }
    public var isRunning: Bool { service?.isRunning ?? false }
    public var prefix: String? { lock.withLock { running?.prefix } }

    /// Registers `method` (dotted names allowed). The handler answers through the request;
    /// `streams` declares that it answers with items and an end. Allowed before and after
    /// `start`.
    public func register(
        _ method: String, parameters: ParameterList? = nil, description: String = "", concurrency: Int = 1,
        streams: Bool = false, handler: @escaping (RPCRequest) -> Void
    ) throws {
        try MethodNames.checkMethod(method)
        guard (1...1024).contains(concurrency) else {
            throw RPCConfigError("concurrency must be between 1 and 1024, got \(concurrency)")
        }
        let entry = RPCMethod(name: method, parameters: parameters, description: description, concurrency: concurrency,
                              streams: streams, handler: handler)
        let service: (Service, String)? = try lock.withLock {
            let name = MethodNames.endpointName(method)
            if let clash = methods.first(where: { MethodNames.endpointName($0.name) == name }) {
                throw RPCConfigError(clash.name == method
                    ? "method \"\(method)\" is already registered"
                    : "methods \"\(clash.name)\" and \"\(method)\" would share the endpoint name \"\(name)\"")
            }
            methods.append(entry)
            return running.map { ($0.service, $0.prefix) }
        }
        guard let (running, prefix) = service else { return }
        do {
            try addEndpoint(entry, to: running, prefix: prefix)
            try? connection.flush(timeoutMilliseconds: 5_000)
        } catch {
            lock.withLock { methods.removeAll { $0.name == method } }
            throw error
        }
    }

    /// Registers a handler that returns the result or throws: an `RPCError` answers with its
    /// code, anything else with -32603.
    public func register(
        _ method: String, parameters: ParameterList? = nil, description: String = "", concurrency: Int = 1,
        _ body: @escaping (JSONValue) throws -> JSONValue
    ) throws {
        try register(method, parameters: parameters, description: description, concurrency: concurrency) { request in
            do {
                let result = try body(request.params)
                try? request.respond(result)
            } catch let error as RPCError {
                try? request.fail(code: error.code, message: error.message, details: error.data)
            } catch {
                try? request.fail(internal: "\(error)")
            }
        }
    }

    public var registered: [RPCMethod] { lock.withLock { methods } }

    /// Starts serving: `prefix` ("api") puts every method under it (`api.math.add`).
    public func start(prefix: String = "") throws {
        if !prefix.isEmpty { try MethodNames.checkMethod(prefix, what: "prefix") }
        var config = ServiceConfig(name: namespace, version: version)
        config.description = description
        config.metadata = [RPCMetadata.root: root]
        let list: [RPCMethod] = try lock.withLock {
            if running != nil { throw NATSError.illegalState("the RPC server of \"\(namespace)\" is already running") }
            return methods
        }
        let service = try Service.add(to: connection, config: config)
        do {
            for method in list { try addEndpoint(method, to: service, prefix: prefix) }
        } catch {
            service.stop()
            throw error
        }
        // In one step: from here on `register` adds endpoints itself; what it registered while
        // the endpoints above were being added is added here.
        let late: [RPCMethod]? = lock.withLock {
            guard running == nil else { return nil }
            running = (service, prefix)
            return methods.filter { method in !list.contains { $0.name == method.name } }
        }
        guard let late else {
            service.stop()
            throw NATSError.illegalState("the RPC server of \"\(namespace)\" is already running")
        }
        for method in late { try addEndpoint(method, to: service, prefix: prefix) }
        // Once start returns, a client on any connection finds the methods. While reconnecting
        // the subscriptions go out with the new link instead.
        try? connection.flush(timeoutMilliseconds: 5_000)
    }

    /// Stops serving: calls already received are still answered (see `Service.stop`). The
    /// server may be started again.
    public func stop() {
        let service: Service? = lock.withLock {
            defer { running = nil }
            return running?.service
        }
        service?.stop()
    }

    private func addEndpoint(_ method: RPCMethod, to service: Service, prefix: String) throws {
        let called = MethodNames.joined(prefix: prefix, method.name)
        var metadata = [RPCMetadata.method: called]
        if let parameters = method.parameters { metadata[RPCMetadata.params] = parameters.json.serialized() }
        if !method.description.isEmpty { metadata[RPCMetadata.description] = method.description }
        if method.streams { metadata[RPCMetadata.stream] = "true" }
        var config = EndpointConfig(
            subject: MethodNames.subject(root: root, namespace: namespace, method: called), metadata: metadata)
        config.concurrency = method.concurrency
        let heartbeats = heartbeats
        config.onArrival = { heartbeats.arrived($0) }
        let origin = RPCOrigin(namespace: namespace, instance: service.id, host: Host.name)
        try service.addEndpoint(MethodNames.endpointName(called), config: config) { micro in
            RPCServer.handle(micro, method: method, called: called, origin: origin, heartbeats: heartbeats)
        }
    }

    /// On the endpoint's thread: reads the call, checks its params, runs the handler, and
    /// answers for a handler that returned without answering or keeping the request.
    static func handle(
        _ micro: MicroRequest, method: RPCMethod, called: String, origin: RPCOrigin, heartbeats: CallHeartbeats
    ) {
        let call: IncomingCall
        do {
            call = try IncomingCall.parse(micro.message)
        } catch {
            heartbeats.answered(micro.message)
            let failure = error as? IncomingFailure
            answer(micro, id: failure?.id, error: failure?.error ?? RPCError(code: RPCError.internalError, message: "Internal error: \(error)"),
                   origin: origin, method: called)
            return
        }
        do {
            try method.parameters?.check(call.params)
        } catch {
            heartbeats.answered(micro.message)
            answer(micro, id: call.id, error: error as? RPCError ?? RPCError(code: RPCError.invalidParams, message: "\(error)"),
                   origin: origin, method: called)
            return
        }
        let request = RPCRequest(call: call, method: called, micro: micro, origin: origin, heartbeats: heartbeats)
        method.handler(request)
        if !request.isKeptOrAnswered {
            try? request.fail(internal: "the handler of \"\(called)\" returned without a result")
        }
    }

    private static func answer(_ micro: MicroRequest, id: JSONValue?, error: RPCError, origin: RPCOrigin, method: String) {
        var error = error
        error.data = origin.data(method: method, traceback: nil, details: error.data)
        try? micro.respondError(code: String(error.code), description: error.message,
                                data: try Envelope.reply(id: id, error: error))
    }
}

/// This machine's name, for error origins.
enum Host {
    static let name: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "unknown" }
        return String(cString: buffer)
    }()
}
