import NATS

/// A JetStream context on a connection: where the API is (`$JS.API.`, or a domain's or an
/// account import's prefix), how long its calls wait, and the asynchronous publisher. Cheap;
/// any number may share a connection. Every call of the API exists blocking and with a
/// completion (for event loops); both build the same `APICall`.
public final class JetStream {
    public let connection: Connection
    /// The API subject prefix, ending with a dot.
    public let apiPrefix: String
    public let domain: String?
    /// How long an API call, a publish's ack, or an acknowledgement's confirmation waits.
    public let timeoutMilliseconds: Int64
    /// How many asynchronous publishes may wait for their acks at once.
    public let maxPendingPublishes: Int
    private let publisherBox = LazyPublisher()
    /// Where the completions of fetches run: one at a time, in order, as connection callbacks.
    let events: JobQueue

    public init(
        connection: Connection, domain: String? = nil, apiPrefix: String? = nil, timeoutMilliseconds: Int64 = 5_000,
        maxPendingPublishes: Int = 4_000
    ) throws {
        guard timeoutMilliseconds > 0 else { throw NATSError.invalidArgument("timeout must be positive") }
        guard maxPendingPublishes > 0 else { throw NATSError.invalidArgument("the publish window must be positive") }
        if domain != nil && apiPrefix != nil {
            throw NATSError.invalidArgument("give a domain or an API prefix, not both")
        }
        if let domain {
            guard !domain.isEmpty, Subject.isValidPublishSubject(domain), !domain.utf8.contains(UInt8(ascii: ".")) else {
                throw NATSError.invalidArgument("invalid JetStream domain \"\(domain)\"")
            }
            self.apiPrefix = "$JS.\(domain).API."
        } else if let apiPrefix {
            var prefix = apiPrefix
            if prefix.hasSuffix(".") { prefix.removeLast() }
            guard Subject.isValidPublishSubject(prefix) else {
                throw NATSError.invalidArgument("invalid JetStream API prefix \"\(apiPrefix)\"")
            }
            self.apiPrefix = prefix + "."
        } else {
            self.apiPrefix = "$JS.API."
        }
        self.connection = connection
        self.domain = domain
        self.timeoutMilliseconds = timeoutMilliseconds
        self.maxPendingPublishes = maxPendingPublishes
        events = connection.makeJobQueue()
    }

    /// The asynchronous publisher of this context, made on first use.
    public var publisher: AsyncPublisher {
        publisherBox.get { AsyncPublisher(jetStream: self) }
    }

    /// Runs an API call and waits for its answer.
    public func perform<Value>(_ call: APICall<Value>) throws -> Value {
        try checkServer(call)
        let reply: Message
        do {
            reply = try connection.request(
                apiPrefix + call.subject, payload: try call.body?.bytes() ?? [], timeoutMilliseconds: timeoutMilliseconds)
        } catch NATSError.noResponders {
            throw JetStreamError.notEnabled("nobody answers \(apiPrefix)\(call.subject)")
        }
        return try call.decode(reply)
    }

    /// Runs an API call; `completion` runs once with its answer or failure, as a connection
    /// event (the delivery pool, or the connection's dispatch queue).
    public func perform<Value>(_ call: APICall<Value>, completion: @escaping (Result<Value, Error>) -> Void) throws {
        try checkServer(call)
        let subject = apiPrefix + call.subject
        let prefix = apiPrefix
        let payload = try call.body?.bytes() ?? []
        try withRequestBytes(subject, payload) { subjectBytes, payloadBytes in
            try connection.requestAsync(
                subject: subjectBytes, headers: nil, payload: payloadBytes, timeoutMilliseconds: timeoutMilliseconds
            ) { result in
                switch result {
                case .success(let reply):
                    completion(Result { try call.decode(reply) })
                case .failure(.noResponders):
                    completion(.failure(JetStreamError.notEnabled("nobody answers \(prefix)\(call.subject)")))
                case .failure(let error):
                    completion(.failure(error))
                }
            }
        }
    }

    /// Refuses a request the connected server would not do whole.
    private func checkServer<Value>(_ call: APICall<Value>) throws {
        guard let (version, what) = call.requires else { return }
        let running = connection.serverInfo.version
        guard !ServerVersion(running).isAtLeast(version.0, version.1, version.2) else { return }
        throw NATSError.invalidArgument(
            "\(what) needs nats-server \(version.0).\(version.1).\(version.2) or later (this one is \(running), which ignores it)")
    }

    /// The JSON body of an API reply, or the error it carries.
    static func decodeReply(_ reply: Message) throws -> JSONValue {
        if reply.isNoResponders { throw JetStreamError.notEnabled("no responders") }
        let body: JSONValue
        do {
            body = try reply.storage.withPayload { try JSONValue.parse($0) }
        } catch {
            throw JetStreamError.invalidResponse("not JSON: \(error)")
        }
        guard body.isObject else { throw JetStreamError.invalidResponse("not a JSON object") }
        if let error = JetStreamError.fromReply(body) { throw error }
        return body
    }

    /// The account's JetStream usage and limits (`$JS.API.INFO`).
    public func accountInfo() throws -> JSONValue { try perform(.accountInfo) }
}

/// One JetStream API request: the subject after the prefix, the JSON body, and what the
/// answer becomes.
public struct APICall<Value> {
    public let subject: String
    public let body: JSONValue?
    public let decode: (Message) throws -> Value
    /// The oldest server that does what the request asks (older ones ignore a part of it:
    /// `filter_subjects` before 2.10), with what needs it; refused before it is sent.
    public var requires: (version: (Int, Int, Int), what: String)?

    /// A call whose answer is a JSON document (all but direct gets).
    public init(subject: String, body: JSONValue? = nil, decode: @escaping (JSONValue) throws -> Value) {
        self.subject = subject
        self.body = body
        self.decode = { try decode(try JetStream.decodeReply($0)) }
    }

    /// A call whose answer is a message (a direct get).
    public init(subject: String, body: JSONValue?, decodeMessage: @escaping (Message) throws -> Value) {
        self.subject = subject
        self.body = body
        self.decode = decodeMessage
    }
}

extension APICall {
    /// The same request, its JetStream errors turned into others.
    public func mapError(_ transform: @escaping (JetStreamError) -> JetStreamError) -> APICall<Value> {
        let decode = self.decode
        var mapped = APICall<Value>(subject: subject, body: body) { (reply: Message) in
            do {
                return try decode(reply)
            } catch let error as JetStreamError {
                throw transform(error)
            }
        }
        mapped.requires = requires
        return mapped
    }

    /// The same request, its answer turned into something else.
    public func map<Other>(_ transform: @escaping (Value) throws -> Other) -> APICall<Other> {
        let decode = self.decode
        var mapped = APICall<Other>(subject: subject, body: body) { (reply: Message) in try transform(try decode(reply)) }
        mapped.requires = requires
        return mapped
    }
}

extension APICall where Value == JSONValue {
    public static var accountInfo: APICall { APICall(subject: "INFO") { $0 } }
}

/// Lends the UTF-8 bytes of a subject and a payload to a byte-level request.
func withRequestBytes<T>(
    _ subject: String, _ payload: [UInt8], _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws -> T
) rethrows -> T {
    var subjectCopy = subject
    return try subjectCopy.withUTF8 { subjectBytes in
        try payload.withUnsafeBytes { try body(UnsafeRawBufferPointer(subjectBytes), $0) }
    }
}

/// A value made once, on first use, under a lock.
final class LazyPublisher {
    private let lock = Condition()
    private var value: AsyncPublisher?

    func get(_ make: () -> AsyncPublisher) -> AsyncPublisher {
        lock.withLock {
            if let value { return value }
            let made = make()
            value = made
            return made
        }
    }
}

/// Name rules of streams and consumers: not empty, no `.`, `*`, `>`, whitespace or path
/// separators (the server stores them as directories).
enum Names {
    static func check(_ name: String, _ what: String) throws {
        let forbidden: Set<UInt8> = [UInt8(ascii: "."), UInt8(ascii: "*"), UInt8(ascii: ">"), UInt8(ascii: "/"),
                                     UInt8(ascii: "\\"), UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"),
                                     UInt8(ascii: "\n"), 0]
        guard !name.isEmpty, !name.utf8.contains(where: { forbidden.contains($0) }) else {
            throw NATSError.invalidArgument("invalid \(what) name \"\(name)\"")
        }
    }
}
