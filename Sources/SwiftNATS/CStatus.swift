#if canImport(Glibc)
import Glibc
#endif
import NATS
import NATSMicro
import NATSJetStream
import NATSRPC

/// The `snats_status` values of Include/swiftnats.h.
enum CStatus: Int32, CaseIterable {
    case ok = 0, err, invalidArg, invalidSubject, timeout, noResponders, maxPayload,
        connectionClosed, notConnected, noServer, ioError, protocolError, staleConnection,
        slowConsumer, permissionViolation, authFailed, invalidSubscription, draining,
        illegalState, maxDelivered, serverError, invalidJSON, notFound, bufferTooSmall,
        reconnectBufferFull, tlsError, rpcError, publishRefused, callLost, jsAPIError, jsNotEnabled, missedHeartbeat

    var name: String {
        switch self {
        case .ok: return "SNATS_OK: success"
        case .err: return "SNATS_ERR: error"
        case .invalidArg: return "SNATS_INVALID_ARG: invalid argument"
        case .invalidSubject: return "SNATS_INVALID_SUBJECT: invalid subject"
        case .timeout: return "SNATS_TIMEOUT: timeout"
        case .noResponders: return "SNATS_NO_RESPONDERS: no responders"
        case .maxPayload: return "SNATS_MAX_PAYLOAD: payload exceeds max_payload"
        case .connectionClosed: return "SNATS_CONNECTION_CLOSED: connection closed"
        case .notConnected: return "SNATS_NOT_CONNECTED: not connected"
        case .noServer: return "SNATS_NO_SERVER: no server available"
        case .ioError: return "SNATS_IO_ERROR: I/O error"
        case .protocolError: return "SNATS_PROTOCOL_ERROR: protocol error"
        case .staleConnection: return "SNATS_STALE_CONNECTION: stale connection"
        case .slowConsumer: return "SNATS_SLOW_CONSUMER: slow consumer, messages dropped"
        case .permissionViolation: return "SNATS_PERMISSION_VIOLATION: permissions violation"
        case .authFailed: return "SNATS_AUTH_FAILED: authorization violation"
        case .invalidSubscription: return "SNATS_INVALID_SUBSCRIPTION: invalid subscription"
        case .draining: return "SNATS_DRAINING: draining"
        case .illegalState: return "SNATS_ILLEGAL_STATE: illegal state"
        case .maxDelivered: return "SNATS_MAX_DELIVERED: maximum messages delivered"
        case .serverError: return "SNATS_SERVER_ERROR: server error"
        case .invalidJSON: return "SNATS_INVALID_JSON: invalid JSON"
        case .notFound: return "SNATS_NOT_FOUND: not found"
        case .bufferTooSmall: return "SNATS_BUFFER_TOO_SMALL: buffer too small"
        case .reconnectBufferFull: return "SNATS_RECONNECT_BUFFER_FULL: reconnect buffer full"
        case .tlsError: return "SNATS_TLS_ERROR: TLS error"
        case .rpcError: return "SNATS_RPC_ERROR: the remote procedure answered with an error"
        case .publishRefused: return "SNATS_PUBLISH_REFUSED: buffered publishes the new server cannot take were not sent"
        case .callLost: return "SNATS_CALL_LOST: the server working on the call went away"
        case .jsAPIError: return "SNATS_JS_API_ERROR: the JetStream API answered with an error"
        case .jsNotEnabled: return "SNATS_JS_NOT_ENABLED: JetStream is not enabled"
        case .missedHeartbeat: return "SNATS_MISSED_HEARTBEAT: the consumer's idle heartbeats stopped"
        }
    }

    /// The one place where core errors become C statuses.
    init(_ error: NATSError) {
        switch error {
        case .invalidArgument: self = .invalidArg
        case .invalidSubject: self = .invalidSubject
        case .timeout: self = .timeout
        case .noResponders: self = .noResponders
        case .maxPayload: self = .maxPayload
        case .connectionClosed: self = .connectionClosed
        case .notConnected: self = .notConnected
        case .connectFailed: self = .noServer
        case .io: self = .ioError
        case .protocolError, .controlLineTooLong, .payloadTooLarge: self = .protocolError
        case .staleConnection: self = .staleConnection
        case .slowConsumer: self = .slowConsumer
        case .permissionViolation: self = .permissionViolation
        case .authorizationViolation: self = .authFailed
        case .invalidSubscription: self = .invalidSubscription
        case .draining: self = .draining
        case .illegalState: self = .illegalState
        case .maxMessagesDelivered: self = .maxDelivered
        case .serverError: self = .serverError
        case .invalidJSON: self = .invalidJSON
        case .reconnecting, .connectionLost: self = .notConnected
        case .reconnectBufferExceeded: self = .reconnectBufferFull
        case .tls: self = .tlsError
        case .publishesRefused: self = .publishRefused
        case .callLost: self = .callLost
        case .missedHeartbeat: self = .missedHeartbeat
        case .during(_, let reason): self = CStatus(reason)
        }
    }
}

/// A malloc'd C string per thread, replaced by the next `set` on that thread and freed when the
/// thread ends: what the library hands out as "valid until this thread's next call".
struct ThreadLocalText {
    private let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    private static let empty: StaticString = ""

    @discardableResult
    func set(_ text: String) -> UnsafePointer<CChar>? {
        let copy = strdup(text)
        free(pthread_getspecific(key))
        pthread_setspecific(key, copy)
        return UnsafePointer(copy)
    }

    var current: UnsafePointer<CChar> {
        if let text = pthread_getspecific(key) { return UnsafePointer(text.assumingMemoryBound(to: CChar.self)) }
        return UnsafeRawPointer(Self.empty.utf8Start).assumingMemoryBound(to: CChar.self)
    }
}

/// The text behind `snats_last_error()`.
let lastErrorText = ThreadLocalText()
/// The text behind `snats_conn_last_error()`'s out-parameter: kept apart from
/// `snats_last_error()`, which the call must not overwrite.
let disconnectReasonText = ThreadLocalText()

/// Records a failure for `snats_last_error()` and returns its status.
@inline(never)
func fail(_ status: CStatus, _ text: String) -> Int32 {
    lastErrorText.set(text)
    LastAPIError.set(code: 0, errorCode: 0)
    return status.rawValue
}

@inline(never)
func fail(_ error: Error) -> Int32 {
    if let error = error as? NATSError { return fail(CStatus(error), error.description) }
    if let error = error as? CopyOutError { return fail(.bufferTooSmall, error.description) }
    if let error = error as? NotFound { return fail(.notFound, error.description) }
    if let error = error as? MicroError {
        switch error {
        case .invalidConfig, .invalidArgument: return fail(.invalidArg, error.description)
        case .stopped: return fail(.illegalState, error.description)
        }
    }
    if let error = error as? RPCError { return fail(.rpcError, error.description) }
    if let error = error as? JetStreamError {
        let status = fail(jetStreamStatus(error), error.description)
        LastAPIError.set(code: error.apiCode, errorCode: error.errorCode)
        return status
    }
    if let error = error as? RPCConfigError { return fail(.invalidArg, error.description) }
    if let error = error as? RPCClientError { return fail(.notFound, error.description) }
    return fail(.err, "\(error)")
}

/// Runs a body whose Swift errors become statuses.
@inline(__always)
func withStatus(_ body: () throws -> Void) -> Int32 {
    do {
        try body()
        return CStatus.ok.rawValue
    } catch {
        return fail(error)
    }
}

/// Indexed by raw value: the cases' values run from 0 without a gap.
let statusTexts: [UnsafeMutablePointer<CChar>] = CStatus.allCases.map { strdup($0.name)! }
let unknownStatusText = strdup("unknown status")!
let versionText = strdup(SwiftNATSVersion.string)!

@_cdecl("snats_version")
public func snats_version() -> UnsafePointer<CChar> { UnsafePointer(versionText) }

@_cdecl("snats_status_text")
public func snats_status_text(_ status: Int32) -> UnsafePointer<CChar> {
    guard status >= 0, Int(status) < statusTexts.count else { return UnsafePointer(unknownStatusText) }
    return UnsafePointer(statusTexts[Int(status)])
}

@_cdecl("snats_last_error")
public func snats_last_error() -> UnsafePointer<CChar> { lastErrorText.current }
