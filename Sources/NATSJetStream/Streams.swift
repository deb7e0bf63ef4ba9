import NATS

/// Stream management: configurations and infos are the server's own JSON documents
/// (`StreamConfig`, `StreamInfo` of the JetStream API), so every field the server knows —
/// limits, retention, storage, replicas, mirrors, sources — passes through unchanged.
extension APICall where Value == JSONValue {
    public static func addStream(_ config: JSONValue) throws -> APICall {
        APICall(subject: "STREAM.CREATE." + (try streamName(of: config)), body: config) { $0 }
    }

    public static func updateStream(_ config: JSONValue) throws -> APICall {
        APICall(subject: "STREAM.UPDATE." + (try streamName(of: config)), body: config) { $0 }
    }

    /// `subjectsFilter` asks for the subjects and their counts (`state.subjects`);
    /// `deletedDetails` for the deleted sequences.
    public static func streamInfo(_ name: String, subjectsFilter: String? = nil, deletedDetails: Bool = false) throws
        -> APICall
    {
        try Names.check(name, "stream")
        var body: JSONValue?
        if subjectsFilter != nil || deletedDetails {
            let request = JSONValue.object()
            if let subjectsFilter { request.set("subjects_filter", subjectsFilter) }
            if deletedDetails { request.set("deleted_details", true) }
            body = request
        }
        return APICall(subject: "STREAM.INFO." + name, body: body) { $0 }
    }

    private static func streamName(of config: JSONValue) throws -> String {
        guard config.isObject else { throw NATSError.invalidArgument("a stream configuration is a JSON object") }
        guard let name = config.string("name") else { throw NATSError.invalidArgument("the stream configuration has no name") }
        try Names.check(name, "stream")
        return name
    }
}

extension APICall where Value == Void {
    public static func deleteStream(_ name: String) throws -> APICall {
        try Names.check(name, "stream")
        return APICall(subject: "STREAM.DELETE." + name) { try requireSuccess($0) }
    }

    /// Deletes one stored message; `erase` overwrites its bytes too (slower).
    public static func deleteMessage(stream: String, sequence: UInt64, erase: Bool = false) throws -> APICall {
        try Names.check(stream, "stream")
        guard sequence > 0 else { throw NATSError.invalidArgument("sequences start at 1") }
        let body = JSONValue.object()
        body.set("seq", Int64(bitPattern: sequence))
        if !erase { body.set("no_erase", true) }
        return APICall<Void>(subject: "STREAM.MSG.DELETE." + stream, body: body) { try requireSuccess($0) }.mapError { error in
            // Servers answer a missing message with a 500 (2.9: 10057 "no message found") or a
            // 400 (10043 "sequence not found"); it is a not-found like the others.
            guard case .api(let code, _, let text) = error, code == 400 || code == 500,
                text.lowercased().contains("not found") || text.lowercased().contains("no message found")
            else { return error }
            return .api(code: 404, errorCode: JetStreamError.ErrorCode.messageNotFound, description: text)
        }
    }

    static func requireSuccess(_ reply: JSONValue) throws {
        guard reply.bool("success") == true else { throw JetStreamError.invalidResponse("the server did not report success") }
    }
}

/// What a purge removes: everything, a subject's messages, those below a sequence, or all but
/// the last `keep`.
public struct PurgeRequest {
    public var filter: String?
    public var sequence: UInt64?
    public var keep: UInt64?

    public init(filter: String? = nil, sequence: UInt64? = nil, keep: UInt64? = nil) {
        self.filter = filter
        self.sequence = sequence
        self.keep = keep
    }
}

extension APICall where Value == UInt64 {
    /// Answers how many messages went.
    public static func purgeStream(_ name: String, _ request: PurgeRequest = PurgeRequest()) throws -> APICall {
        try Names.check(name, "stream")
        if request.sequence != nil && request.keep != nil {
            throw NATSError.invalidArgument("a purge takes a sequence or a count to keep, not both")
        }
        var body: JSONValue?
        if request.filter != nil || request.sequence != nil || request.keep != nil {
            let object = JSONValue.object()
            if let filter = request.filter {
                guard Subject.isValidSubscribeSubject(filter) else { throw NATSError.invalidSubject(filter) }
                object.set("filter", filter)
            }
            if let sequence = request.sequence { object.set("seq", Int64(bitPattern: sequence)) }
            if let keep = request.keep { object.set("keep", Int64(bitPattern: keep)) }
            body = object
        }
        return APICall(subject: "STREAM.PURGE." + name, body: body) { reply in
            guard reply.bool("success") == true else { throw JetStreamError.invalidResponse("the purge did not report success") }
            return UInt64(max(0, reply.int("purged") ?? 0))
        }
    }
}

/// Which stored message a get asks for.
public enum MessageSelector {
    case sequence(UInt64)
    /// The last message stored on a subject.
    case lastBySubject(String)
    /// The first message on a subject at or after a sequence.
    case nextBySubject(String, after: UInt64)

    func body() throws -> JSONValue {
        let body = JSONValue.object()
        switch self {
        case .sequence(let sequence):
            guard sequence > 0 else { throw NATSError.invalidArgument("sequences start at 1") }
            body.set("seq", Int64(bitPattern: sequence))
        case .lastBySubject(let subject):
            guard Subject.isValidSubscribeSubject(subject) else { throw NATSError.invalidSubject(subject) }
            body.set("last_by_subj", subject)
        case .nextBySubject(let subject, let sequence):
            guard Subject.isValidSubscribeSubject(subject) else { throw NATSError.invalidSubject(subject) }
            body.set("next_by_subj", subject)
            body.set("seq", Int64(bitPattern: max(sequence, 1)))
        }
        return body
    }
}

/// The headers a stored message carries when a get returns it, the same for both kinds of get
/// (the server adds them to direct gets; the library to the others).
public enum StoredMessageHeader {
    public static let stream = "Nats-Stream"
    public static let subject = "Nats-Subject"
    public static let sequence = "Nats-Sequence"
    public static let timeStamp = "Nats-Time-Stamp"
}

extension APICall where Value == Message {
    /// A stored message through the stream leader (`STREAM.MSG.GET`).
    public static func getMessage(stream: String, _ selector: MessageSelector) throws -> APICall {
        try Names.check(stream, "stream")
        return APICall(subject: "STREAM.MSG.GET." + stream, body: try selector.body()) { reply in
            guard let stored = reply.value("message"), stored.isObject, let subject = stored.string("subject"),
                let sequence = stored.int("seq")
            else { throw JetStreamError.invalidResponse("a stored message without subject or sequence") }
            guard let payload = Base64.decode(stored.string("data") ?? "") else {
                throw JetStreamError.invalidResponse("stored data is not base64")
            }
            var headers = Headers()
            if let encoded = stored.string("hdrs"), !encoded.isEmpty {
                guard let block = Base64.decode(encoded) else {
                    throw JetStreamError.invalidResponse("stored headers are not base64")
                }
                headers = try block.withUnsafeBytes { try Headers.parse($0) }
            }
            try headers.set(StoredMessageHeader.stream, stream)
            try headers.set(StoredMessageHeader.subject, subject)
            try headers.set(StoredMessageHeader.sequence, String(sequence))
            if let time = stored.string("time") { try headers.set(StoredMessageHeader.timeStamp, time) }
            return Message(subject: subject, headerBlock: headers.encoded(), payload: payload, connection: nil)
        }
    }

    /// A stored message from any replica (`DIRECT.GET`), for streams with `allow_direct`.
    public static func directGet(stream: String, _ selector: MessageSelector) throws -> APICall {
        try Names.check(stream, "stream")
        return APICall(subject: "DIRECT.GET." + stream, body: try selector.body()) { (reply: Message) in
            let headers = reply.headers ?? Headers()
            if headers.statusCode == 404 {
                throw JetStreamError.api(code: 404, errorCode: JetStreamError.ErrorCode.messageNotFound, description: "message not found")
            }
            if headers.statusCode != 0 {
                throw JetStreamError.api(code: headers.statusCode, errorCode: 0, description: headers.statusDescription)
            }
            guard let subject = headers[StoredMessageHeader.subject] else {
                throw JetStreamError.invalidResponse("a direct get reply without \(StoredMessageHeader.subject)")
            }
            let block = reply.storage.withHeaderBlock { Array($0) }
            return Message(subject: subject, headerBlock: block, payload: reply.payload, connection: nil)
        }
    }
}

/// One page of a listing: its items and the total the server reports.
public struct Page {
    public var items: [JSONValue]
    public var total: Int
}

extension APICall where Value == Page {
    /// A page of `STREAM.LIST` (infos) or `STREAM.NAMES` (names as JSON strings) from `offset`.
    public static func streams(names: Bool, subject: String?, offset: Int) throws -> APICall {
        let body = JSONValue.object()
        body.set("offset", offset)
        if let subject {
            guard Subject.isValidSubscribeSubject(subject) else { throw NATSError.invalidSubject(subject) }
            body.set("subject", subject)
        }
        return APICall(subject: names ? "STREAM.NAMES" : "STREAM.LIST", body: body) { try Page(reply: $0, key: "streams") }
    }
}

extension Page {
    init(reply: JSONValue, key: String) throws {
        // A listing of nothing may carry `null` for the array.
        let array = reply.value(key)
        if let array, !array.isArray && !array.isNull {
            throw JetStreamError.invalidResponse("\"\(key)\" is not an array")
        }
        items = array?.isArray == true ? array!.items : []
        total = reply.int("total") ?? items.count
    }
}

extension JetStream {
    public func addStream(_ config: JSONValue) throws -> JSONValue { try perform(.addStream(config)) }
    public func updateStream(_ config: JSONValue) throws -> JSONValue { try perform(.updateStream(config)) }
    public func deleteStream(_ name: String) throws { try perform(.deleteStream(name)) }
    public func streamInfo(_ name: String, subjectsFilter: String? = nil, deletedDetails: Bool = false) throws -> JSONValue {
        try perform(.streamInfo(name, subjectsFilter: subjectsFilter, deletedDetails: deletedDetails))
    }
    public func purgeStream(_ name: String, _ request: PurgeRequest = PurgeRequest()) throws -> UInt64 {
        try perform(.purgeStream(name, request))
    }
    public func getMessage(stream: String, _ selector: MessageSelector) throws -> Message {
        try perform(.getMessage(stream: stream, selector))
    }
    public func directGet(stream: String, _ selector: MessageSelector) throws -> Message {
        try perform(.directGet(stream: stream, selector))
    }
    /// The last message stored on `subject`: a direct get when `direct` (any replica answers),
    /// falling back to the leader's get when nobody answers the direct one (the stream was
    /// deleted, or does not allow direct gets): its error then says what is wrong (10059).
    public func lastMessage(stream: String, subject: String, direct: Bool) throws -> Message {
        guard direct else { return try getMessage(stream: stream, .lastBySubject(subject)) }
        do {
            return try directGet(stream: stream, .lastBySubject(subject))
        } catch JetStreamError.notEnabled {
            return try getMessage(stream: stream, .lastBySubject(subject))
        }
    }

    public func deleteMessage(stream: String, sequence: UInt64, erase: Bool = false) throws {
        try perform(.deleteMessage(stream: stream, sequence: sequence, erase: erase))
    }
    /// Every stream's info (all pages), optionally only those listening on `subject`.
    public func streams(subject: String? = nil) throws -> [JSONValue] {
        try collectPages { try .streams(names: false, subject: subject, offset: $0) }
    }
    public func streamNames(subject: String? = nil) throws -> [String] {
        try collectPages { try .streams(names: true, subject: subject, offset: $0) }.compactMap(\.stringValue)
    }

    /// Walks a listing's pages until the server's total is reached (or a page comes back empty).
    public func collectPages(_ page: (Int) throws -> APICall<Page>) throws -> [JSONValue] {
        var items: [JSONValue] = []
        while true {
            let next = try perform(try page(items.count))
            items += next.items
            if next.items.isEmpty || items.count >= next.total { return items }
        }
    }

    /// As `collectPages`, without blocking: `completion` runs once, as a connection event,
    /// unless the first request cannot be sent (then this throws and it never runs).
    public func collectPages(
        _ page: @escaping (Int) throws -> APICall<Page>, completion: @escaping (Result<[JSONValue], Error>) -> Void
    ) throws {
        func fetch(from items: [JSONValue]) throws {
            try perform(try page(items.count)) { result in
                switch result {
                case .failure(let error): completion(.failure(error))
                case .success(let next):
                    let all = items + next.items
                    if next.items.isEmpty || all.count >= next.total { return completion(.success(all)) }
                    do { try fetch(from: all) } catch { completion(.failure(error)) }
                }
            }
        }
        try fetch(from: [])
    }
}
