/// Every failure the core client reports. Each case maps to exactly one `snats_status`
/// in the C ABI (`CStatus.swift`); the associated text is the detail for `snats_last_error()`.
public enum NATSError: Error, Equatable, CustomStringConvertible {
    case invalidArgument(String)
    case invalidSubject(String)
    case timeout(String)
    case noResponders(String)
    case maxPayload(limit: Int, actual: Int)
    case connectionClosed
    case notConnected
    case connectFailed(String)
    case io(String)
    case protocolError(String)
    case controlLineTooLong(Int)
    case payloadTooLarge(limit: Int, actual: Int)
    case staleConnection
    case slowConsumer(subject: String)
    case permissionViolation(String)
    case authorizationViolation(String)
    case invalidSubscription(String)
    case draining
    case illegalState(String)
    case maxMessagesDelivered
    case serverError(String)
    case invalidJSON(String)
    /// The connection is re-establishing itself; the call needs a live server.
    case reconnecting
    /// Publishes made while reconnecting would exceed the reconnect buffer.
    case reconnectBufferExceeded(limit: Int)
    /// The server went away while the call waited for it (a request's reply).
    case connectionLost(String)
    /// A remote call's server went silent: neither its answer nor the liveness frames the
    /// caller asked for came within two intervals (the server died, or lost its link).
    case callLost(String)
    /// A stream of messages that promised idle heartbeats (a JetStream consumer) went silent.
    case missedHeartbeat(String)
    /// TLS could not be set up: files, handshake, certificate verification.
    case tls(String)
    /// Publishes buffered while reconnecting that the new server cannot take (each larger than
    /// its max_payload): they were not sent; every other buffered publish was.
    case publishesRefused(count: Int, limit: Int, subjects: [String])
    /// `reason`, with what the library was doing when it happened (a reply that could not be
    /// sent, say). Maps to the status of `reason`.
    indirect case during(String, NATSError)

    /// The error without its `during` context.
    public var underlying: NATSError {
        if case .during(_, let reason) = self { return reason.underlying }
        return self
    }

    public var description: String {
        switch self {
        case .invalidArgument(let text): return "invalid argument: \(text)"
        case .invalidSubject(let subject): return "invalid subject: \"\(subject)\""
        case .timeout(let what): return "timed out: \(what)"
        case .noResponders(let subject): return "no responders available for request on \"\(subject)\""
        case .maxPayload(let limit, let actual):
            return "payload of \(actual) bytes exceeds the server's max_payload of \(limit) bytes"
        case .connectionClosed: return "connection closed"
        case .notConnected: return "not connected"
        case .connectFailed(let text): return "could not connect: \(text)"
        case .io(let text): return "I/O error: \(text)"
        case .protocolError(let text): return "protocol error: \(text)"
        case .controlLineTooLong(let limit): return "protocol error: control line longer than \(limit) bytes"
        case .payloadTooLarge(let limit, let actual):
            return "protocol error: server announced a \(actual)-byte message, limit is \(limit)"
        case .staleConnection: return "stale connection: the server did not answer PINGs"
        case .slowConsumer(let subject): return "slow consumer: messages dropped on subscription \"\(subject)\""
        case .permissionViolation(let text): return "permissions violation: \(text)"
        case .authorizationViolation(let text): return "authorization violation: \(text)"
        case .invalidSubscription(let text): return "invalid subscription: \(text)"
        case .draining: return "connection or subscription is draining"
        case .illegalState(let text): return "illegal state: \(text)"
        case .maxMessagesDelivered: return "subscription reached its auto-unsubscribe limit"
        case .serverError(let text): return "server error: \(text)"
        case .invalidJSON(let text): return "invalid JSON: \(text)"
        case .reconnecting: return "not connected: the connection is reconnecting"
        case .reconnectBufferExceeded(let limit):
            return "reconnect buffer of \(limit) bytes is full: publish again once reconnected"
        case .connectionLost(let text): return "connection lost: \(text)"
        case .callLost(let text): return "call lost: \(text)"
        case .missedHeartbeat(let text): return "missed idle heartbeats: \(text)"
        case .tls(let text): return "TLS error: \(text)"
        case .publishesRefused(let count, let limit, let subjects):
            let shown = subjects.prefix(8).map { "\"\($0)\"" }.joined(separator: ", ")
            let more = subjects.count > 8 ? " and \(subjects.count - 8) more" : ""
            return "\(count) publish\(count == 1 ? "" : "es") buffered while reconnecting not sent: larger than the "
                + "new server's max_payload of \(limit) bytes (subjects: \(shown)\(more))"
        case .during(let context, let reason): return "\(context): \(reason)"
        }
    }
}
