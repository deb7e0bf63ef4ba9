import NATS

/// Failures of the micro layer. Core failures (closed connection, timeouts) stay `NATSError`s.
public enum MicroError: Error, Equatable, CustomStringConvertible {
    /// A name, version, subject or queue group that ADR-32 does not allow.
    case invalidConfig(String)
    /// The service has stopped: it takes no new endpoints.
    case stopped(String)
    /// A respond call without what it needs (no reply subject, empty error code).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case .invalidConfig(let text): return "invalid service configuration: \(text)"
        case .stopped(let text): return "service stopped: \(text)"
        case .invalidArgument(let text): return "invalid argument: \(text)"
        }
    }
}
