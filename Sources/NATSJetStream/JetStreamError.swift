import NATS

/// A failure of the JetStream layer that is not a core one (core failures, a timeout or a
/// closed connection, stay `NATSError`s).
public enum JetStreamError: Error, Equatable, CustomStringConvertible {
    /// The JetStream API answered with an error object: `code` is HTTP-like (400, 404, 503...),
    /// `errorCode` the server's precise `err_code` (10059 stream not found, ...).
    case api(code: Int, errorCode: Int, description: String)
    /// Nobody answers the JetStream API: the server runs without JetStream (or the domain or
    /// prefix names none).
    case notEnabled(String)
    /// A publish reached no stream: no stream listens on the subject.
    case noStreamResponse(subject: String)
    /// A reply that is not what the API promises (not JSON, a field missing).
    case invalidResponse(String)
    /// The message was acknowledged already, or is not a JetStream message.
    case ackRefused(String)
    /// A pull request ended on the server's side with a status (409 consumer deleted,
    /// leadership change, max waiting exceeded...).
    case pullTerminated(status: Int, description: String)
    /// The consumer stopped sending its idle heartbeats: the server or the consumer went away.
    case missedHeartbeat(String)
    /// More asynchronous publishes than the window allows were waiting for too long.
    case tooManyPending(limit: Int)

    /// The `err_code` values callers commonly test, as the server defines them.
    public enum ErrorCode {
        public static let jetStreamNotEnabledForAccount = 10039
        public static let jetStreamNotEnabled = 10076
        public static let streamNotFound = 10059
        public static let streamNameInUse = 10058
        public static let consumerNotFound = 10014
        public static let consumerNameExists = 10013
        public static let consumerAlreadyExists = 10105
        public static let messageNotFound = 10037
        public static let streamWrongLastSequence = 10071
        public static let streamWrongLastMessageID = 10070
        public static let streamNotMatch = 10060
        public static let streamDuplicateMessageIDInProgress = 10187
    }

    public var description: String {
        switch self {
        case .api(let code, let errorCode, let text):
            return "JetStream API error \(code) (err_code \(errorCode)): \(text)"
        case .notEnabled(let text): return "JetStream not enabled: \(text)"
        case .noStreamResponse(let subject): return "no stream answered the publish on \"\(subject)\""
        case .invalidResponse(let text): return "invalid JetStream response: \(text)"
        case .ackRefused(let text): return "acknowledgement refused: \(text)"
        case .pullTerminated(let status, let text): return "pull request ended by the server: \(status) \(text)"
        case .missedHeartbeat(let text): return "missed idle heartbeats: \(text)"
        case .tooManyPending(let limit):
            return "asynchronous publish window of \(limit) stayed full: acks are not coming back"
        }
    }

    /// The HTTP-like code of an API error (or the status that ended a pull), 0 for the others.
    public var apiCode: Int {
        switch self {
        case .api(let code, _, _), .pullTerminated(let code, _): return code
        default: return 0
        }
    }

    /// The server's `err_code` of an API error, 0 for the others.
    public var errorCode: Int {
        if case .api(_, let errorCode, _) = self { return errorCode }
        return 0
    }

    /// The error object of an API reply, if it holds one.
    static func fromReply(_ body: JSONValue) -> JetStreamError? {
        guard let error = body.value("error"), error.isObject else { return nil }
        let code = error.int("code") ?? 0
        let errorCode = error.int("err_code") ?? 0
        let text = error.string("description") ?? "(no description)"
        if errorCode == ErrorCode.jetStreamNotEnabledForAccount || errorCode == ErrorCode.jetStreamNotEnabled {
            return .notEnabled(text)
        }
        return .api(code: code, errorCode: errorCode, description: text)
    }
}
