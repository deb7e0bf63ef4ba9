import CJansson
import NATS
import NATSRPC
import NIOConcurrencyHelpers

/// `snats_conn`: the connection, and the map from its subscriptions to their C handles (for
/// the error callback's `sub` argument).
final class CConnection {
    private(set) var connection: Connection?
    /// The same connection, for the publish path: lending it costs no reference counting.
    /// Set once, before the handle reaches the caller; `connection` keeps it alive.
    fileprivate var lentConnection: Unmanaged<Connection>?
    private let subscriptionHandles = NIOLockedValueBox<[ObjectIdentifier: OpaquePointer]>([:])
    /// The RPC references lent on this connection (`snats_rpc_ref_create`), made with the first.
    private let references = NIOLockedValueBox<RPCReferences?>(nil)

    func attach(_ connection: Connection) {
        self.connection = connection
        lentConnection = .passUnretained(connection)
    }

    /// At destroy: the handle no longer reaches its connection (callbacks still queued in a
    /// dispatch queue may hold the box, never the connection through it).
    func detach() {
        references.withLockedValue { references in
            references?.close()
            references = nil
        }
        connection = nil
        lentConnection = nil
    }

    func rpcReferences() throws -> RPCReferences {
        let connection = try connected()
        return references.withLockedValue { references in
            if let references { return references }
            let made = RPCReferences(connection: connection)
            references = made
            return made
        }
    }

    func connected() throws -> Connection {
        guard let connection else { throw NATSError.connectionClosed }
        return connection
    }

    func remember(_ subscription: Subscription, handle: OpaquePointer) {
        subscriptionHandles.withLockedValue { $0[ObjectIdentifier(subscription)] = handle }
    }

    func forget(_ subscription: Subscription) {
        _ = subscriptionHandles.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(subscription)) }
    }

    func handle(for subscription: Subscription) -> OpaquePointer? {
        subscriptionHandles.withLockedValue { $0[ObjectIdentifier(subscription)] }
    }
}

@inline(__always)
func connection(_ pointer: OpaquePointer?) throws -> Connection {
    try Handle.get(pointer, as: CConnection.self, "conn").connected()
}

/// Runs `body` with the handle's connection borrowed: no retain or release, which is a
/// tenth of a small publish. The caller's handle keeps both alive for the call.
@inline(__always)
func withConnection<T>(_ pointer: OpaquePointer?, _ body: (Connection) throws -> T) throws -> T {
    guard let pointer else { throw NATSError.nullArgument("conn") }
    return try Unmanaged<CConnection>.fromOpaque(UnsafeRawPointer(pointer))._withUnsafeGuaranteedRef { box in
        guard let lent = box.lentConnection else { throw NATSError.connectionClosed }
        return try lent._withUnsafeGuaranteedRef(body)
    }
}

/// Builds the Swift options, turning the C callbacks into closures that hand back the box's
/// handle. They hold the box: a connection bound to a dispatch queue may run its last events
/// after `snats_conn_destroy` (at its owner's next dispatch), with a handle that must still be
/// valid memory (its connection detached: calls on it fail with SNATS_CONNECTION_CLOSED).
/// `snats_conn_destroy` breaks the cycle box -> connection -> options -> box (`detach`).
private func swiftOptions(_ cOptions: COptions?, box: CConnection) -> Options {
    guard let cOptions else { return Options() }
    var options = cOptions.options
    if let callback = cOptions.closed {
        options.onClosed = { _ in callback.function(Handle.unretained(box), callback.closure) }
    }
    if let callback = cOptions.disconnected {
        options.onDisconnected = { _ in callback.function(Handle.unretained(box), callback.closure) }
    }
    if let callback = cOptions.reconnected {
        options.onReconnected = { _ in callback.function(Handle.unretained(box), callback.closure) }
    }
    if let callback = cOptions.connected {
        options.onConnected = { _ in callback.function(Handle.unretained(box), callback.closure) }
    }
    if let callback = cOptions.discoveredServers {
        options.onDiscoveredServers = { _ in callback.function(Handle.unretained(box), callback.closure) }
    }
    if let callback = cOptions.lameDuckMode {
        options.onLameDuckMode = { _ in callback.function(Handle.unretained(box), callback.closure) }
    }
    if let callback = cOptions.userJWT {
        options.userJWT = {
            var text: UnsafeMutablePointer<CChar>?
            let status = callback.function(&text, callback.closure)
            defer { free(text) }
            guard status == CStatus.ok.rawValue, let text else {
                throw NATSError.authorizationViolation("the user JWT handler failed (status \(status))")
            }
            return String(cString: text)
        }
    }
    if let callback = cOptions.signature {
        options.signature = { nonce in
            var signature = [UInt8](repeating: 0, count: 64)
            var nonceText = nonce + [0]
            let status = nonceText.withUnsafeMutableBytes { nonceBytes in
                callback.function(&signature, nonceBytes.baseAddress?.assumingMemoryBound(to: CChar.self), callback.closure)
            }
            guard status == CStatus.ok.rawValue else {
                throw NATSError.authorizationViolation("the signature handler failed (status \(status))")
            }
            return signature
        }
    }
    if let callback = cOptions.reconnectDelay {
        options.customReconnectDelay = { _, passes in
            callback.function(Handle.unretained(box), Int32(clamping: passes), callback.closure)
        }
    }
    if let callback = cOptions.error {
        options.onError = { _, subscription, error in
            let subHandle = subscription.flatMap { box.handle(for: $0) }
            error.description.withCString { text in
                callback.function(Handle.unretained(box), subHandle, CStatus(error).rawValue, text, callback.closure)
            }
        }
    }
    return options
}

private func connect(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ cOptions: COptions?, urls: String?) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let out = try required(out, "conn")
        let box = CConnection()
        var options = swiftOptions(cOptions, box: box)
        if let urls { options.servers = try ServerAddress.parseList(urls) }
        box.attach(try Connection.connect(options))
        out.pointee = Handle.make(box)
    }
}

@_cdecl("snats_conn_connect")
public func snats_conn_connect(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ options: OpaquePointer?) -> Int32 {
    let cOptions = options.map { Handle.borrow($0, as: COptions.self) }
    return connect(out, cOptions, urls: nil)
}

@_cdecl("snats_conn_connect_to")
public func snats_conn_connect_to(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ urls: UnsafePointer<CChar>?) -> Int32 {
    connect(out, nil, urls: optionalString(urls))
}

@_cdecl("snats_conn_close")
public func snats_conn_close(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    Handle.borrow(pointer, as: CConnection.self).connection?.close()
}

@_cdecl("snats_conn_destroy")
public func snats_conn_destroy(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    let box = Handle.borrow(pointer, as: CConnection.self)
    box.connection?.close()
    box.detach()
    Handle.release(pointer, as: CConnection.self)
}

@_cdecl("snats_conn_drain")
public func snats_conn_drain(_ pointer: OpaquePointer?, _ timeout: Int64) -> Int32 {
    withStatus { try connection(pointer).drain(timeoutMilliseconds: positiveTimeout(timeout)) }
}

@_cdecl("snats_conn_get_state")
public func snats_conn_get_state(_ out: UnsafeMutablePointer<Int32>?, _ pointer: OpaquePointer?) -> Int32 {
    withStatus {
        let out = try required(out, "state")
        out.pointee = Int32(try connection(pointer).connectionStatus.rawValue)
    }
}

@_cdecl("snats_conn_wait_connected")
public func snats_conn_wait_connected(_ pointer: OpaquePointer?, _ timeout: Int64) -> Int32 {
    withStatus { try connection(pointer).waitConnected(timeoutMilliseconds: timeout) }
}

@_cdecl("snats_conn_is_closed")
public func snats_conn_is_closed(_ pointer: OpaquePointer?) -> Bool {
    guard let pointer, let connection = Handle.borrow(pointer, as: CConnection.self).connection else { return true }
    return connection.isClosed
}

@_cdecl("snats_publish")
public func snats_publish(
    _ pointer: OpaquePointer?, _ subject: UnsafePointer<CChar>?, _ data: UnsafeRawPointer?, _ length: Int
) -> Int32 {
    withStatus {
        try withConnection(pointer) {
            try $0.publish(
                subject: cBytes(required(subject, "subject")), reply: nil, headers: nil,
                payload: payloadBytes(data, length))
        }
    }
}

@_cdecl("snats_publish_packed")
public func snats_publish_packed(
    _ published: UnsafeMutablePointer<Int>?, _ pointer: OpaquePointer?, _ records: UnsafeRawPointer?, _ length: Int
) -> Int32 {
    published?.pointee = 0
    return withStatus {
        do {
            let count = try withConnection(pointer) { try $0.publish(packed: payloadBytes(records, length)) }
            published?.pointee = count
        } catch let failure as PackedPublishFailure {
            published?.pointee = failure.published
            throw failure.error
        }
    }
}

@_cdecl("snats_publish_request")
public func snats_publish_request(
    _ pointer: OpaquePointer?, _ subject: UnsafePointer<CChar>?, _ reply: UnsafePointer<CChar>?,
    _ data: UnsafeRawPointer?, _ length: Int
) -> Int32 {
    withStatus {
        try withConnection(pointer) {
            try $0.publish(
                subject: cBytes(required(subject, "subject")), reply: reply.map(cBytes), headers: nil,
                payload: payloadBytes(data, length))
        }
    }
}

@_cdecl("snats_publish_msg")
public func snats_publish_msg(
    _ pointer: OpaquePointer?, _ subject: UnsafePointer<CChar>?, _ reply: UnsafePointer<CChar>?,
    _ headers: OpaquePointer?, _ data: UnsafeRawPointer?, _ length: Int
) -> Int32 {
    withStatus {
        let conn = try connection(pointer)
        let subjectBytes = cBytes(try required(subject, "subject"))
        let payload = try payloadBytes(data, length)
        try CHeaders.withEncoded(headers) { headerBytes in
            try conn.publish(subject: subjectBytes, reply: reply.map(cBytes), headers: headerBytes, payload: payload)
        }
    }
}

private func request(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ subject: UnsafePointer<CChar>?,
    _ headers: OpaquePointer?, _ data: UnsafeRawPointer?, _ length: Int, _ timeout: Int64
) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let out = try required(out, "reply")
        let conn = try connection(pointer)
        let subjectBytes = cBytes(try required(subject, "subject"))
        let payload = try payloadBytes(data, length)
        let timeout = try positiveTimeout(timeout)
        let reply = try CHeaders.withEncoded(headers) { headerBytes in
            try conn.request(subject: subjectBytes, headers: headerBytes, payload: payload, timeoutMilliseconds: timeout)
        }
        out.pointee = ownedMessageHandle(reply)
    }
}

@_cdecl("snats_request")
public func snats_request(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ subject: UnsafePointer<CChar>?,
    _ data: UnsafeRawPointer?, _ length: Int, _ timeout: Int64
) -> Int32 {
    request(out, pointer, subject, nil, data, length, timeout)
}

@_cdecl("snats_request_msg")
public func snats_request_msg(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ subject: UnsafePointer<CChar>?,
    _ headers: OpaquePointer?, _ data: UnsafeRawPointer?, _ length: Int, _ timeout: Int64
) -> Int32 {
    request(out, pointer, subject, headers, data, length, timeout)
}

@_cdecl("snats_conn_flush")
public func snats_conn_flush(_ pointer: OpaquePointer?, _ timeout: Int64) -> Int32 {
    withStatus { try connection(pointer).flush(timeoutMilliseconds: positiveTimeout(timeout)) }
}

@_cdecl("snats_conn_rtt")
public func snats_conn_rtt(_ out: UnsafeMutablePointer<Int64>?, _ pointer: OpaquePointer?, _ timeout: Int64) -> Int32 {
    out?.pointee = 0
    return withStatus {
        let out = try required(out, "rtt_us")
        out.pointee = try connection(pointer).rtt(timeoutMilliseconds: positiveTimeout(timeout)) / 1_000
    }
}

@_cdecl("snats_conn_get_stats")
public func snats_conn_get_stats(
    _ inMessages: UnsafeMutablePointer<UInt64>?, _ inBytes: UnsafeMutablePointer<UInt64>?,
    _ outMessages: UnsafeMutablePointer<UInt64>?, _ outBytes: UnsafeMutablePointer<UInt64>?,
    _ pointer: OpaquePointer?
) -> Int32 {
    withStatus {
        let stats = try connection(pointer).statistics
        inMessages?.pointee = stats.inMessages
        inBytes?.pointee = stats.inBytes
        outMessages?.pointee = stats.outMessages
        outBytes?.pointee = stats.outBytes
    }
}

@_cdecl("snats_conn_get_reconnects")
public func snats_conn_get_reconnects(_ out: UnsafeMutablePointer<UInt64>?, _ pointer: OpaquePointer?) -> Int32 {
    withStatus {
        let out = try required(out, "reconnects")
        out.pointee = try connection(pointer).statistics.reconnects
    }
}

@_cdecl("snats_conn_get_lost_publishes")
public func snats_conn_get_lost_publishes(_ out: UnsafeMutablePointer<UInt64>?, _ pointer: OpaquePointer?) -> Int32 {
    withStatus {
        let out = try required(out, "lost")
        out.pointee = try connection(pointer).statistics.lostPublishes
    }
}

@_cdecl("snats_conn_last_error")
public func snats_conn_last_error(_ text: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ pointer: OpaquePointer?) -> Int32 {
    text?.pointee = nil
    do {
        let reason = try connection(pointer).disconnectReason
        let status = reason.map { CStatus($0) } ?? .ok
        text?.pointee = disconnectReasonText.set(reason?.description ?? "")
        return status.rawValue
    } catch {
        return fail(error)
    }
}

/// A new JSON array of strings, for the server-list getters.
private func jsonStrings(_ strings: [String]) throws -> JSONValue {
    let array = JSONValue.array()
    for string in strings {
        guard let item = json_string(string) else { throw NATSError.invalidJSON("server URL is not valid UTF-8") }
        array.append(JSONValue(taking: item))
    }
    return array
}

/// A server-list getter: a new JSON array of `list`'s URLs in `out`.
private func serverList(
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<json_t>?>?, _ pointer: OpaquePointer?,
    _ list: (Connection) -> [String]
) -> Int32 {
    withJSONOut(out, "servers") { try jsonStrings(list(try connection(pointer))) }
}

@_cdecl("snats_conn_get_servers")
public func snats_conn_get_servers(
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<json_t>?>?, _ pointer: OpaquePointer?
) -> Int32 {
    serverList(out, pointer) { $0.servers }
}

@_cdecl("snats_conn_get_discovered_servers")
public func snats_conn_get_discovered_servers(
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<json_t>?>?, _ pointer: OpaquePointer?
) -> Int32 {
    serverList(out, pointer) { $0.discoveredServers }
}

@_cdecl("snats_conn_get_connected_url")
public func snats_conn_get_connected_url(
    _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int, _ pointer: OpaquePointer?
) -> Int32 {
    withStatus {
        _ = try required(buffer, "buffer")
        guard let url = try connection(pointer).connectedURL else { throw NATSError.notConnected }
        try copyOut(url, to: buffer, capacity: capacity)
    }
}

@_cdecl("snats_conn_get_server_info")
public func snats_conn_get_server_info(
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<json_t>?>?, _ pointer: OpaquePointer?
) -> Int32 {
    withJSONOut(out, "info") { try JSONValue.parse(try connection(pointer).serverInfo.json) }
}

@_cdecl("snats_conn_get_max_payload")
public func snats_conn_get_max_payload(_ out: UnsafeMutablePointer<Int64>?, _ pointer: OpaquePointer?) -> Int32 {
    withStatus {
        let out = try required(out, "max_payload")
        out.pointee = Int64(try connection(pointer).maxPayload)
    }
}

@_cdecl("snats_conn_new_inbox")
public func snats_conn_new_inbox(_ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int, _ pointer: OpaquePointer?) -> Int32 {
    withStatus {
        _ = try required(buffer, "buffer")
        try copyOut(try connection(pointer).newInbox(), to: buffer, capacity: capacity)
    }
}
