#if canImport(Glibc)
import Glibc
#endif
import NATS
import NATSMicro

/// The objects a process lends to the servers it calls, so that they can call it back
/// (docs/RPC.md "References"). One wildcard subscription, `<inbox prefix>.<nuid>.>`, serves
/// every reference of this registry: a reference is the subject `<inbox prefix>.<nuid>.<token>`
/// with a random token (a server given one reference cannot guess another), and its method
/// `m` is called with an ordinary request to `<subject>.<m>`, answered (and sent liveness
/// frames) as an RPC server's calls are. Lending and revoking cost no SUB or UNSUB, so a
/// reference may live for one call only. Up to `lanes` calls run at once, so that a call back
/// that calls a server that calls back again does not wait for itself. Thread-safe.
public final class RPCReferences {
    public let connection: Connection
    /// `<inbox prefix>.<nuid>`.
    public let base: String
    let heartbeats: CallHeartbeats
    private let lock = Condition()
    private var lent: [String: Lent] = [:]
    private var subscription: Subscription?
    private var closed = false
    /// The handlers still running of references being revoked, by token.
    private var revoking: [String: [pthread_t]] = [:]

    private struct Lent {
        let methods: [String: RPCMethod]
        /// Threads running one of its handlers now: a revoke waits for them (but not on them).
        var running: [pthread_t] = []
    }

    /// How many calls of the references may run at once.
    public static let lanes = 32

    public init(connection: Connection) {
        self.connection = connection
        base = connection.newInbox()
        heartbeats = CallHeartbeats(connection: connection)
    }

    deinit { try? subscription?.unsubscribe() }

    /// Lends `methods` (handlers as an RPC server's, dotted names allowed) as one reference;
    /// `function` says that the reference stands for one function (its method `call`). The
    /// reference answers until it is revoked (or the registry closed): its callers get -32601
    /// after that.
    public func lend(_ methods: [RPCMethod], function: Bool = false) throws -> RPCReference {
        guard !methods.isEmpty else { throw NATSError.invalidArgument("a reference needs at least one method") }
        var table: [String: RPCMethod] = [:]
        for method in methods {
            try MethodNames.checkMethod(method.name)
            guard table.updateValue(method, forKey: method.name) == nil else {
                throw NATSError.invalidArgument("method \"\(method.name)\" is lent twice")
            }
        }
        if function && (table.count != 1 || table["call"] == nil) {
            throw NATSError.invalidArgument("a function reference lends exactly one method, named \"call\"")
        }
        try ensureSubscription()
        let token: String = try lock.withLock {
            if closed { throw NATSError.illegalState("the RPC references are closed") }
            var token = Self.randomToken()
            while lent[token] != nil { token = Self.randomToken() }
            lent[token] = Lent(methods: table)
            return token
        }
        return RPCReference(subject: base + "." + token, methods: methods, function: function) { [weak self] in
            self?.revoke(token)
        }
    }

    /// References answering now.
    public var count: Int { lock.withLock { lent.count } }

    /// Revokes every reference and stops answering.
    public func close() {
        let subscription: Subscription? = lock.withLock {
            closed = true
            lent.removeAll()
            defer { self.subscription = nil }
            return self.subscription
        }
        try? subscription?.unsubscribe()
    }

    /// Forgets reference `token`; then waits for its handlers running on other threads, so
    /// that what they use may be freed once this returns.
    private func revoke(_ token: String) {
        lock.withLock {
            guard let entry = lent.removeValue(forKey: token) else { return }
            var others = entry.running.filter { pthread_equal($0, pthread_self()) == 0 }
            if others.isEmpty { return }
            revoking[token] = entry.running
            while !others.isEmpty {
                lock.wait(until: nil)
                let still = revoking[token] ?? []
                others = still.filter { pthread_equal($0, pthread_self()) == 0 }
            }
            revoking.removeValue(forKey: token)
        }
    }

    /// A handler of reference `token` returned on this thread.
    private func finishedRunning(_ token: String) {
        lock.withLock {
            if let index = lent[token]?.running.firstIndex(where: { pthread_equal($0, pthread_self()) != 0 }) {
                lent[token]?.running.remove(at: index)
            } else if let index = revoking[token]?.firstIndex(where: { pthread_equal($0, pthread_self()) != 0 }) {
                revoking[token]?.remove(at: index)
                lock.broadcast()
            }
        }
    }

    /// 128 random bits (the system's generator), as 22 base-62 characters.
    static func randomToken() -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes: [UInt8] = []
        for _ in 0..<2 {
            var value = generator.next() as UInt64
            for _ in 0..<11 {
                bytes.append(tokenAlphabet[Int(value % 62)])
                value /= 62
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let tokenAlphabet = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)

    /// The subscription that serves every reference, made with the first. A reference lent on
    /// a closed connection would be one nobody can call: refused.
    private func ensureSubscription() throws {
        try lock.withLock {
            if closed { throw NATSError.illegalState("the RPC references are closed") }
            if connection.isClosed { throw NATSError.connectionClosed }
            guard subscription == nil else { return }
            let heartbeats = heartbeats
            subscription = try connection.subscribe(
                base + ".>", lanes: Self.lanes, arrival: { heartbeats.arrived($0) }
            ) { [weak self] message in
                self?.dispatch(message)
            }
        }
        // The SUB goes out before anything published after this returns, so before a call that
        // carries the reference.
    }

    /// On the connection's delivery: `<base>.<n>.<method>` to the method of reference `n`, or
    /// -32601 for a reference revoked or a method it does not lend.
    private func dispatch(_ message: Message) {
        let subject = message.subject
        let tail = subject.utf8.dropFirst(base.utf8.count + 1)
        let tokenBytes = tail.prefix { $0 != UInt8(ascii: ".") }
        let name = String(decoding: tail.dropFirst(tokenBytes.count + 1), as: UTF8.self)
        let token = String(decoding: tokenBytes, as: UTF8.self)
        let reference = base + "." + token
        let found: RPCMethod? = lock.withLock {
            guard let method = lent[token]?.methods[name] else { return nil }
            lent[token]?.running.append(pthread_self())
            return method
        }
        defer { if found != nil { finishedRunning(token) } }
        let method = found ?? RPCMethod(name: name, parameters: nil, description: "", concurrency: 1, streams: false) { request in
            let error = RPCError.notFound(name, reference: reference)
            try? request.fail(code: error.code, message: error.message)
        }
        let origin = RPCOrigin(namespace: "", instance: "", host: Host.name, reference: reference)
        RPCServer.handle(MicroRequest(unattached: message), method: method, called: name, origin: origin, heartbeats: heartbeats)
    }
}

/// One lent object: what a caller puts in a call's params (`json`) so that the server can call
/// it back (`RPCClient(connection:reference:)`). It answers until `revoke()`, or until it is
/// freed.
public final class RPCReference {
    /// `<inbox prefix>.<nuid>.<n>`: its methods are called on `<subject>.<method>`.
    public let subject: String
    public let function: Bool
    /// `{"$ref": {"subject": ..., "methods": {name: {"params": description or null, "stream": bool}},
    /// "function": bool}}`.
    public let json: JSONValue
    private let revoker: () -> Void
    private let lock = Condition()
    private var revoked = false

    init(subject: String, methods: [RPCMethod], function: Bool, revoker: @escaping () -> Void) {
        self.subject = subject
        self.function = function
        self.revoker = revoker
        let described = JSONValue.object()
        for method in methods {
            let entry = JSONValue.object()
            if let parameters = method.parameters { entry.set("params", parameters.json) } else { entry.setNull("params") }
            entry.set("stream", method.streams)
            if !method.description.isEmpty { entry.set("description", method.description) }
            described.set(method.name, entry)
        }
        let inner = JSONValue.object()
        inner.set("subject", subject)
        inner.set("methods", described)
        inner.set("function", function)
        let outer = JSONValue.object()
        outer.set(RPCReference.key, inner)
        json = outer
    }

    deinit { revoke() }

    /// The key that marks a reference in params.
    public static let key = "$ref"

    public var isRevoked: Bool { lock.withLock { revoked } }

    /// Stops answering: later calls get -32601. Idempotent.
    public func revoke() {
        let first: Bool = lock.withLock {
            defer { revoked = true }
            return !revoked
        }
        if first { revoker() }
    }

    /// The subject of a reference as found in params: `{"$ref": {"subject": ...}}` or the inner
    /// object; nil when `value` is not one.
    public static func subject(of value: JSONValue) -> String? {
        guard value.isObject else { return nil }
        let inner = value.value(key) ?? value
        guard inner.isObject, let subject = inner.string("subject"), Subject.isValidPublishSubject(subject),
              !subject.contains("*"), !subject.contains(">")
        else { return nil }
        return subject
    }
}
