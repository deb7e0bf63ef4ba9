import NATS

/// Finds services, ours or any other NATS client's: sends one `$SRV` request and gathers
/// every answer that arrives within the timeout (or until `maxReplies`).
public struct DiscoveryClient {
    public let connection: Connection

    public init(connection: Connection) { self.connection = connection }

    public func ping(name: String? = nil, id: String? = nil, timeoutMilliseconds: Int64 = 1_000, maxReplies: Int = 0) throws -> [PingResponse] {
        try gather(.ping, name: name, id: id, timeoutMilliseconds: timeoutMilliseconds, maxReplies: maxReplies).map(PingResponse.init)
    }

    public func info(name: String? = nil, id: String? = nil, timeoutMilliseconds: Int64 = 1_000, maxReplies: Int = 0) throws -> [InfoResponse] {
        try gather(.info, name: name, id: id, timeoutMilliseconds: timeoutMilliseconds, maxReplies: maxReplies).map(InfoResponse.init)
    }

    public func stats(name: String? = nil, id: String? = nil, timeoutMilliseconds: Int64 = 1_000, maxReplies: Int = 0) throws -> [StatsResponse] {
        try gather(.stats, name: name, id: id, timeoutMilliseconds: timeoutMilliseconds, maxReplies: maxReplies).map(StatsResponse.init)
    }

    /// The raw documents (what the C API returns). A reply counts when it is a JSON object of
    /// the verb's type, or one with no `type` at all that names a service (`name` and `id`:
    /// older micro services sent no type). Any other reply (not JSON, another type: other
    /// software may answer on `$SRV` too) is left out, never silently: `ignoredReplies`
    /// receives the count and why, or, without it, the connection's error callback.
    public func gather(
        _ verb: MonitoringVerb, name: String?, id: String?, timeoutMilliseconds: Int64, maxReplies: Int,
        ignoredReplies: ((IgnoredReplies) -> Void)? = nil
    ) throws -> [JSONValue] {
        let subject = try checked(verb, name: name, id: id, timeoutMilliseconds: timeoutMilliseconds, maxReplies: maxReplies)
        let inbox = connection.newInbox()
        let replies = try connection.subscribeSync(inbox)
        defer { try? replies.unsubscribe() }
        try connection.publish(subject, reply: inbox)
        let deadline = Deadline.after(milliseconds: timeoutMilliseconds)
        var gathering = Gathering(verb: verb, subject: subject, maxReplies: maxReplies)
        while !gathering.isComplete {
            let remaining = deadline.remainingNanoseconds / 1_000_000
            if remaining <= 0 { break }
            do {
                gathering.take(try replies.next(timeoutMilliseconds: remaining))
            } catch NATSError.timeout {
                break
            }
        }
        gathering.reportIgnored(to: ignoredReplies, connection: connection)
        return gathering.found
    }

    /// As the blocking `gather`, without waiting: `completion` gets the documents once, on the
    /// connection's delivery pool or dispatch queue (a `connectionClosed` failure when the
    /// connection closes first). Throws, and never calls `completion`, when the request
    /// cannot be sent.
    public func gather(
        _ verb: MonitoringVerb, name: String?, id: String?, timeoutMilliseconds: Int64, maxReplies: Int,
        ignoredReplies: ((IgnoredReplies) -> Void)? = nil,
        completion: @escaping (Result<[JSONValue], NATSError>) -> Void
    ) throws {
        let subject = try checked(verb, name: name, id: id, timeoutMilliseconds: timeoutMilliseconds, maxReplies: maxReplies)
        var gathering = Gathering(verb: verb, subject: subject, maxReplies: maxReplies)
        let connection = connection
        _ = try InboxReplies(connection: connection, timeoutMilliseconds: timeoutMilliseconds, handler: { replies, event in
            switch event {
            case .message(let message):
                gathering.take(message)
                guard gathering.isComplete else { return }
                replies.finish()
            case .timedOut: break
            case .ended:
                completion(.failure(.connectionClosed))
                return
            }
            gathering.reportIgnored(to: ignoredReplies, connection: connection)
            completion(.success(gathering.found))
        }, send: { inbox in try connection.publish(subject, reply: inbox) })
    }

    private func checked(
        _ verb: MonitoringVerb, name: String?, id: String?, timeoutMilliseconds: Int64, maxReplies: Int
    ) throws -> String {
        guard timeoutMilliseconds > 0 else { throw NATSError.invalidArgument("timeout must be positive") }
        guard maxReplies >= 0 else { throw NATSError.invalidArgument("max replies must not be negative") }
        return try verb.checkedSubject(name: name, id: id)
    }
}

/// What one discovery has gathered: the documents that count, the replies left out and why,
/// and whether it is complete (`maxReplies` reached, or a no-responders answer: no service at
/// all, so no point waiting). Fed by the blocking and the asynchronous gather alike.
struct Gathering {
    let verb: MonitoringVerb
    let maxReplies: Int
    private(set) var found: [JSONValue] = []
    private(set) var ignored: IgnoredReplies
    private(set) var noService = false

    init(verb: MonitoringVerb, subject: String, maxReplies: Int) {
        self.verb = verb
        self.maxReplies = maxReplies
        ignored = IgnoredReplies(subject: subject)
    }

    var isComplete: Bool { noService || (maxReplies > 0 && found.count >= maxReplies) }

    mutating func take(_ message: Message) {
        if message.isNoResponders {
            noService = true
            return
        }
        guard let document = try? message.storage.withPayload({ try JSONValue.parse($0) }), document.isObject else {
            ignored.add("not a JSON object")
            return
        }
        switch document.string("type") {
        case verb.responseType?:
            found.append(document)
        case nil where document.string("name") != nil && document.string("id") != nil:
            found.append(document)
        case let other:
            ignored.add(other.map { "of type \"\($0)\"" } ?? "with no type and no service name and id")
        }
    }

    func reportIgnored(to ignoredReplies: ((IgnoredReplies) -> Void)?, connection: Connection) {
        guard ignored.count > 0 else { return }
        if let ignoredReplies { ignoredReplies(ignored) } else { connection.reportError(.invalidJSON(ignored.description)) }
    }
}

/// The replies a discovery left out, and why ("3 replies to $SRV.INFO ignored: 2 not a JSON
/// object, 1 of type ...").
public struct IgnoredReplies: CustomStringConvertible {
    public let subject: String
    /// Each distinct reason with how many replies it left out, in order of first sight.
    public private(set) var reasons: [(reason: String, count: Int)] = []

    init(subject: String) { self.subject = subject }

    public var count: Int { reasons.reduce(0) { $0 + $1.count } }

    mutating func add(_ reason: String) {
        if let index = reasons.firstIndex(where: { $0.reason == reason }) {
            reasons[index].count += 1
        } else {
            reasons.append((reason, 1))
        }
    }

    public var description: String {
        "micro discovery: \(count) repl\(count == 1 ? "y" : "ies") to \(subject) ignored: "
            + reasons.map { "\($0.count) \($0.reason)" }.joined(separator: ", ")
    }
}
