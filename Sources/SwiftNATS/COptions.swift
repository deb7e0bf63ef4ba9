#if canImport(Glibc)
import Glibc
#endif
import NATS

/// `snats_options`: core options plus the C callbacks, which become Swift closures only at
/// connect time, when the connection handle they receive exists.
final class COptions {
    var options = Options()
    var closed: CCallback<CConnHandler>?
    var disconnected: CCallback<CConnHandler>?
    var reconnected: CCallback<CConnHandler>?
    var connected: CCallback<CConnHandler>?
    var discoveredServers: CCallback<CConnHandler>?
    var lameDuckMode: CCallback<CConnHandler>?
    var reconnectDelay: CCallback<CReconnectDelayHandler>?
    var userJWT: CCallback<CUserJWTHandler>?
    var signature: CCallback<CSignatureHandler>?
    var error: CCallback<CErrorHandler>?
}

/// The callback setters: a NULL function clears the callback.
private func setting<Function>(
    _ pointer: OpaquePointer?, _ callback: Function?, _ closure: UnsafeMutableRawPointer?,
    _ field: ReferenceWritableKeyPath<COptions, CCallback<Function>?>
) -> Int32 {
    updating(pointer) { box in box[keyPath: field] = callback.map { CCallback(function: $0, closure: closure) } }
}

/// Shared shape of the setters: check the handle, apply, map errors.
@inline(__always)
private func updating(_ pointer: OpaquePointer?, _ body: (COptions) throws -> Void) -> Int32 {
    withStatus { try body(Handle.get(pointer, as: COptions.self, "opts")) }
}

@_cdecl("snats_options_create")
public func snats_options_create(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    withStatus { try required(out, "opts").pointee = Handle.make(COptions()) }
}

@_cdecl("snats_options_destroy")
public func snats_options_destroy(_ pointer: OpaquePointer?) {
    if let pointer { Handle.release(pointer, as: COptions.self) }
}

@_cdecl("snats_options_set_url")
public func snats_options_set_url(_ pointer: OpaquePointer?, _ urls: UnsafePointer<CChar>?) -> Int32 {
    updating(pointer) { $0.options.servers = try ServerAddress.parseList(requiredString(urls, "urls")) }
}

@_cdecl("snats_options_set_servers")
public func snats_options_set_servers(
    _ pointer: OpaquePointer?, _ urls: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int32
) -> Int32 {
    updating(pointer) { box in
        let urls = try required(urls, "urls")
        guard count > 0 else { throw NATSError.invalidArgument("count must be greater than 0") }
        box.options.servers = try (0..<Int(count)).map { index in
            try ServerAddress(parsing: requiredString(urls[index], "urls[\(index)]"))
        }
    }
}

@_cdecl("snats_options_set_name")
public func snats_options_set_name(_ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?) -> Int32 {
    updating(pointer) { $0.options.name = optionalString(name) }
}

@_cdecl("snats_options_set_connect_timeout")
public func snats_options_set_connect_timeout(_ pointer: OpaquePointer?, _ timeout: Int64) -> Int32 {
    updating(pointer) { $0.options.connectTimeoutMilliseconds = try positiveTimeout(timeout) }
}

@_cdecl("snats_options_set_ping_interval")
public func snats_options_set_ping_interval(_ pointer: OpaquePointer?, _ interval: Int64) -> Int32 {
    updating(pointer) { $0.options.pingIntervalMilliseconds = try positiveTimeout(interval) }
}

@_cdecl("snats_options_set_max_pings_out")
public func snats_options_set_max_pings_out(_ pointer: OpaquePointer?, _ maxPingsOut: Int32) -> Int32 {
    updating(pointer) { box in
        guard maxPingsOut >= 1 else { throw NATSError.invalidArgument("max_pings_out must be at least 1") }
        box.options.maxPingsOut = Int(maxPingsOut)
    }
}

@_cdecl("snats_options_set_no_echo")
public func snats_options_set_no_echo(_ pointer: OpaquePointer?, _ noEcho: Bool) -> Int32 {
    updating(pointer) { $0.options.echo = !noEcho }
}

@_cdecl("snats_options_set_send_asap")
public func snats_options_set_send_asap(_ pointer: OpaquePointer?, _ sendAsap: Bool) -> Int32 {
    updating(pointer) { $0.options.sendAsap = sendAsap }
}

@_cdecl("snats_options_set_verbose")
public func snats_options_set_verbose(_ pointer: OpaquePointer?, _ verbose: Bool) -> Int32 {
    updating(pointer) { $0.options.verbose = verbose }
}

@_cdecl("snats_options_set_pedantic")
public func snats_options_set_pedantic(_ pointer: OpaquePointer?, _ pedantic: Bool) -> Int32 {
    updating(pointer) { $0.options.pedantic = pedantic }
}

@_cdecl("snats_options_set_inbox_prefix")
public func snats_options_set_inbox_prefix(_ pointer: OpaquePointer?, _ prefix: UnsafePointer<CChar>?) -> Int32 {
    updating(pointer) { box in
        let prefix = try requiredString(prefix, "prefix")
        guard Subject.isValidPublishSubject(prefix) else {
            throw NATSError.invalidArgument("inbox prefix \"\(prefix)\" is not a subject without wildcards")
        }
        box.options.inboxPrefix = prefix
    }
}

@_cdecl("snats_options_set_pending_limits")
public func snats_options_set_pending_limits(_ pointer: OpaquePointer?, _ messages: Int32, _ bytes: Int64) -> Int32 {
    updating(pointer) { box in
        guard messages >= 0, bytes >= 0 else { throw NATSError.invalidArgument("pending limits must not be negative") }
        box.options.pendingMessagesLimit = Int(messages)
        box.options.pendingBytesLimit = Int(bytes)
    }
}

@_cdecl("snats_options_set_user_info")
public func snats_options_set_user_info(
    _ pointer: OpaquePointer?, _ user: UnsafePointer<CChar>?, _ password: UnsafePointer<CChar>?
) -> Int32 {
    updating(pointer) { box in
        box.options.user = optionalString(user)
        box.options.password = user == nil ? nil : optionalString(password)
    }
}

@_cdecl("snats_options_set_token")
public func snats_options_set_token(_ pointer: OpaquePointer?, _ token: UnsafePointer<CChar>?) -> Int32 {
    updating(pointer) { $0.options.token = optionalString(token) }
}

@_cdecl("snats_options_set_closed_cb")
public func snats_options_set_closed_cb(
    _ pointer: OpaquePointer?, _ callback: CConnHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    setting(pointer, callback, closure, \.closed)
}

@_cdecl("snats_options_set_disconnected_cb")
public func snats_options_set_disconnected_cb(
    _ pointer: OpaquePointer?, _ callback: CConnHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    setting(pointer, callback, closure, \.disconnected)
}

@_cdecl("snats_options_set_error_cb")
public func snats_options_set_error_cb(
    _ pointer: OpaquePointer?, _ callback: CErrorHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    setting(pointer, callback, closure, \.error)
}

@_cdecl("snats_options_set_reconnected_cb")
public func snats_options_set_reconnected_cb(
    _ pointer: OpaquePointer?, _ callback: CConnHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    setting(pointer, callback, closure, \.reconnected)
}

@_cdecl("snats_options_set_retry_on_failed_connect")
public func snats_options_set_retry_on_failed_connect(
    _ pointer: OpaquePointer?, _ retry: Bool, _ callback: CConnHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    updating(pointer) { box in
        box.options.retryOnFailedConnect = retry
        box.connected = callback.map { CCallback(function: $0, closure: closure) }
    }
}

@_cdecl("snats_options_set_discovered_servers_cb")
public func snats_options_set_discovered_servers_cb(
    _ pointer: OpaquePointer?, _ callback: CConnHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    setting(pointer, callback, closure, \.discoveredServers)
}

@_cdecl("snats_options_set_lame_duck_cb")
public func snats_options_set_lame_duck_cb(
    _ pointer: OpaquePointer?, _ callback: CConnHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    setting(pointer, callback, closure, \.lameDuckMode)
}

@_cdecl("snats_options_set_allow_reconnect")
public func snats_options_set_allow_reconnect(_ pointer: OpaquePointer?, _ allow: Bool) -> Int32 {
    updating(pointer) { $0.options.allowReconnect = allow }
}

@_cdecl("snats_options_set_max_reconnect")
public func snats_options_set_max_reconnect(_ pointer: OpaquePointer?, _ attempts: Int32) -> Int32 {
    updating(pointer) { box in
        guard attempts >= -1 else { throw NATSError.invalidArgument("max_reconnect must be -1 (forever) or more") }
        box.options.maxReconnectAttempts = Int(attempts)
    }
}

@_cdecl("snats_options_set_reconnect_wait")
public func snats_options_set_reconnect_wait(_ pointer: OpaquePointer?, _ wait: Int64) -> Int32 {
    updating(pointer) { box in
        guard wait >= 0 else { throw NATSError.invalidArgument("reconnect wait must not be negative") }
        box.options.reconnectWaitMilliseconds = wait
    }
}

@_cdecl("snats_options_set_reconnect_jitter")
public func snats_options_set_reconnect_jitter(_ pointer: OpaquePointer?, _ jitter: Int64, _ jitterTLS: Int64) -> Int32 {
    updating(pointer) { box in
        guard jitter >= 0, jitterTLS >= 0 else { throw NATSError.invalidArgument("reconnect jitter must not be negative") }
        box.options.reconnectJitterMilliseconds = jitter
        box.options.reconnectJitterTLSMilliseconds = jitterTLS
    }
}

@_cdecl("snats_options_set_custom_reconnect_delay")
public func snats_options_set_custom_reconnect_delay(
    _ pointer: OpaquePointer?, _ callback: CReconnectDelayHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    setting(pointer, callback, closure, \.reconnectDelay)
}

@_cdecl("snats_options_set_reconnect_buffer_size")
public func snats_options_set_reconnect_buffer_size(_ pointer: OpaquePointer?, _ bytes: Int64) -> Int32 {
    updating(pointer) { box in
        guard bytes >= 0, bytes <= Int64(Int32.max) else {
            throw NATSError.invalidArgument("reconnect buffer size must be between 0 and 2 GiB")
        }
        box.options.reconnectBufferBytes = Int(bytes)
    }
}

@_cdecl("snats_options_set_no_randomize")
public func snats_options_set_no_randomize(_ pointer: OpaquePointer?, _ noRandomize: Bool) -> Int32 {
    updating(pointer) { $0.options.noRandomize = noRandomize }
}

@_cdecl("snats_options_set_ignore_discovered_servers")
public func snats_options_set_ignore_discovered_servers(_ pointer: OpaquePointer?, _ ignore: Bool) -> Int32 {
    updating(pointer) { $0.options.ignoreDiscoveredServers = ignore }
}

// MARK: TLS

@_cdecl("snats_options_set_secure")
public func snats_options_set_secure(_ pointer: OpaquePointer?, _ secure: Bool) -> Int32 {
    updating(pointer) { $0.options.tls.required = secure }
}

@_cdecl("snats_options_set_tls_ca_file")
public func snats_options_set_tls_ca_file(_ pointer: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    updating(pointer) { $0.options.tls.caFile = optionalString(path) }
}

@_cdecl("snats_options_set_tls_client_cert")
public func snats_options_set_tls_client_cert(
    _ pointer: OpaquePointer?, _ certificate: UnsafePointer<CChar>?, _ key: UnsafePointer<CChar>?
) -> Int32 {
    updating(pointer) { box in
        guard (certificate == nil) == (key == nil) else {
            throw NATSError.invalidArgument("give both the certificate and the key file, or neither")
        }
        box.options.tls.certificateFile = optionalString(certificate)
        box.options.tls.keyFile = optionalString(key)
    }
}

@_cdecl("snats_options_set_tls_hostname")
public func snats_options_set_tls_hostname(_ pointer: OpaquePointer?, _ hostname: UnsafePointer<CChar>?) -> Int32 {
    updating(pointer) { $0.options.tls.serverName = optionalString(hostname) }
}

@_cdecl("snats_options_set_tls_verify_hostname")
public func snats_options_set_tls_verify_hostname(_ pointer: OpaquePointer?, _ verify: Bool) -> Int32 {
    updating(pointer) { $0.options.tls.verifyHostname = verify }
}

@_cdecl("snats_options_set_tls_skip_verify")
public func snats_options_set_tls_skip_verify(_ pointer: OpaquePointer?, _ skip: Bool) -> Int32 {
    updating(pointer) { $0.options.tls.skipVerification = skip }
}

@_cdecl("snats_options_set_tls_handshake_first")
public func snats_options_set_tls_handshake_first(_ pointer: OpaquePointer?, _ first: Bool) -> Int32 {
    updating(pointer) { $0.options.tls.handshakeFirst = first }
}

// MARK: authentication

@_cdecl("snats_options_set_nkey_seed")
public func snats_options_set_nkey_seed(_ pointer: OpaquePointer?, _ seed: UnsafePointer<CChar>?) -> Int32 {
    updating(pointer) { box in
        box.options.nkeySeed = seed.map { SecretBytes(copying: UnsafeRawBufferPointer(start: $0, count: strlen($0))) }
    }
}

@_cdecl("snats_options_set_nkey_seed_file")
public func snats_options_set_nkey_seed_file(_ pointer: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    updating(pointer) { $0.options.nkeySeedFile = optionalString(path) }
}

@_cdecl("snats_options_set_credentials_file")
public func snats_options_set_credentials_file(_ pointer: OpaquePointer?, _ path: UnsafePointer<CChar>?) -> Int32 {
    updating(pointer) { $0.options.credentialsFile = optionalString(path) }
}

@_cdecl("snats_options_set_user_credentials_callbacks")
public func snats_options_set_user_credentials_callbacks(
    _ pointer: OpaquePointer?, _ jwt: CUserJWTHandler?, _ jwtClosure: UnsafeMutableRawPointer?,
    _ signature: CSignatureHandler?, _ signatureClosure: UnsafeMutableRawPointer?
) -> Int32 {
    updating(pointer) { box in
        guard (jwt == nil) == (signature == nil) else {
            throw NATSError.invalidArgument("give both the JWT and the signature handler, or neither")
        }
        box.userJWT = jwt.map { CCallback(function: $0, closure: jwtClosure) }
        box.signature = signature.map { CCallback(function: $0, closure: signatureClosure) }
        box.options.nkeyPublicKey = nil
    }
}

@_cdecl("snats_options_set_nkey")
public func snats_options_set_nkey(
    _ pointer: OpaquePointer?, _ publicKey: UnsafePointer<CChar>?, _ signature: CSignatureHandler?,
    _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    updating(pointer) { box in
        guard (publicKey == nil) == (signature == nil) else {
            throw NATSError.invalidArgument("give both the public key and the signature handler, or neither")
        }
        box.options.nkeyPublicKey = optionalString(publicKey)
        box.signature = signature.map { CCallback(function: $0, closure: closure) }
        box.userJWT = nil
    }
}
