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

    /// The raw documents (what the C API returns). Replies that are not JSON objects of the
    /// verb's type are skipped: other software may answer on `$SRV` too.
    public func gather(
        _ verb: MonitoringVerb, name: String?, id: String?, timeoutMilliseconds: Int64, maxReplies: Int
    ) throws -> [JSONValue] {
        guard timeoutMilliseconds > 0 else { throw NATSError.invalidArgument("timeout must be positive") }
        guard maxReplies >= 0 else { throw NATSError.invalidArgument("max replies must not be negative") }
        let subject = try verb.checkedSubject(name: name, id: id)
        let inbox = connection.newInbox()
        let replies = try connection.subscribeSync(inbox)
        defer { try? replies.unsubscribe() }
        try connection.publish(subject, reply: inbox)
        let deadline = Deadline.after(milliseconds: timeoutMilliseconds)
        var found: [JSONValue] = []
        while maxReplies == 0 || found.count < maxReplies {
            let remaining = deadline.remainingNanoseconds / 1_000_000
            if remaining <= 0 { break }
            let message: Message
            do {
                message = try replies.next(timeoutMilliseconds: remaining)
            } catch NATSError.timeout {
                break
            }
            if message.isNoResponders { break }  // no service at all: no point waiting
            guard let document = try? message.storage.withPayload({ try JSONValue.parse($0) }),
                document.isObject, document.string("type") == verb.responseType
            else { continue }
            found.append(document)
        }
        return found
    }
}
