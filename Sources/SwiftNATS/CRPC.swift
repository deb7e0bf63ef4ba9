#if canImport(Glibc)
import Glibc
#endif
import CJansson
import NATS
import NATSRPC

// The RPC API of the header: servers, method handlers and their requests, clients, streams.
// `snats_rpc_server`, `snats_rpc_client` and `snats_rpc_stream` are boxes owned by the
// caller; `snats_rpc_request` is the request object itself, so retain/release are reference
// counts.

public typealias CRPCHandler = @convention(c) (OpaquePointer?, UnsafeMutablePointer<json_t>?, UnsafeMutableRawPointer?) -> Void
public typealias CRPCCallback = @convention(c) (
    Int32, UnsafeMutablePointer<json_t>?, UnsafeMutablePointer<json_t>?, UnsafeMutableRawPointer?
) -> Void

public typealias JSONOut = UnsafeMutablePointer<UnsafeMutablePointer<json_t>?>

/// `snats_rpc_server`: the server, and the C text of its running instance's id.
final class CRPCServer {
    let server: RPCServer
    private let lock = Condition()
    private var idText: UnsafeMutablePointer<CChar>?

    init(_ server: RPCServer) { self.server = server }

    func refreshID() -> UnsafePointer<CChar>? {
        lock.withLock {
            let id = server.service?.id
            if let current = idText, let id, String(cString: current) == id { return UnsafePointer(current) }
            free(idText)
            idText = id.map { strdup($0) } ?? nil
            return UnsafePointer(idText)
        }
    }

    deinit { free(idText) }
}

/// `snats_rpc_client`.
final class CRPCClient {
    let client: RPCClient
    init(_ client: RPCClient) { self.client = client }
}

/// `snats_rpc_stream`: read with `snats_rpc_stream_next` (`stream`), or delivering to a
/// callback (`call`).
final class CRPCStream {
    let stream: RPCStream?
    let call: RPCStreamCall?
    init(_ stream: RPCStream) { (self.stream, call) = (stream, nil) }
    init(_ call: RPCStreamCall) { (stream, self.call) = (nil, call) }
}

private func rpcServer(_ pointer: OpaquePointer?) throws -> RPCServer {
    try Handle.get(pointer, as: CRPCServer.self, "server").server
}

private func rpcClient(_ pointer: OpaquePointer?) throws -> RPCClient {
    try Handle.get(pointer, as: CRPCClient.self, "client").client
}

private func rpcRequest(_ pointer: OpaquePointer?) throws -> RPCRequest {
    try Handle.get(pointer, as: RPCRequest.self, "req")
}

/// A borrowed `json_t *` as a shared value; NULL stays nil.
private func shared(_ json: UnsafeMutablePointer<json_t>?) -> JSONValue? {
    json.map { JSONValue(retaining: $0) }
}

private func handOut(_ value: JSONValue, to out: JSONOut) {
    out.pointee = withExtendedLifetime(value) { cjansson_incref(value.raw) }
}

/// The shape of every call whose outcome is a result or an RPC error: `*result` on SNATS_OK,
/// `*error` (when asked for) on SNATS_RPC_ERROR. A nil result (the end of a stream) leaves
/// `*result` NULL with SNATS_OK.
private func withRPCOutcome(_ result: JSONOut?, _ error: JSONOut?, _ body: () throws -> JSONValue?) -> Int32 {
    result?.pointee = nil
    error?.pointee = nil
    return withStatus {
        let out = try required(result, "result")
        do {
            if let value = try body() { handOut(value, to: out) }
        } catch let failure as RPCError {
            if let error { handOut(failure.json, to: error) }
            throw failure
        }
    }
}

// MARK: servers

@_cdecl("snats_rpc_server_create")
public func snats_rpc_server_create(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ connPointer: OpaquePointer?, _ namespace: UnsafePointer<CChar>?,
    _ root: UnsafePointer<CChar>?
) -> Int32 {
    withHandleOut(out, "server") {
        let server = try RPCServer(
            connection: try connection(connPointer), namespace: try requiredString(namespace, "namespace"),
            root: optionalString(root) ?? MethodNames.defaultRoot)
        return CRPCServer(server)
    }
}

@_cdecl("snats_rpc_server_destroy")
public func snats_rpc_server_destroy(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    Handle.borrow(pointer, as: CRPCServer.self).server.stop()
    Handle.release(pointer, as: CRPCServer.self)
}

private func register(
    _ pointer: OpaquePointer?, _ method: UnsafePointer<CChar>?, _ params: UnsafeMutablePointer<json_t>?,
    _ description: UnsafePointer<CChar>?, _ concurrency: Int32, streams: Bool, _ handler: CRPCHandler?,
    _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let server = try rpcServer(pointer)
        let method = try requiredString(method, "method")
        let handler = try required(handler, "handler")
        let parameters = try shared(params).map { try ParameterList(json: $0) }
        try server.register(
            method, parameters: parameters, description: optionalString(description) ?? "",
            concurrency: concurrency == 0 ? 1 : Int(concurrency), streams: streams
        ) { request in
            handler(Handle.unretained(request), request.params.raw, closure)
        }
    }
}

@_cdecl("snats_rpc_server_register")
public func snats_rpc_server_register(
    _ pointer: OpaquePointer?, _ method: UnsafePointer<CChar>?, _ params: UnsafeMutablePointer<json_t>?,
    _ description: UnsafePointer<CChar>?, _ concurrency: Int32, _ handler: CRPCHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    register(pointer, method, params, description, concurrency, streams: false, handler, closure)
}

@_cdecl("snats_rpc_server_register_stream")
public func snats_rpc_server_register_stream(
    _ pointer: OpaquePointer?, _ method: UnsafePointer<CChar>?, _ params: UnsafeMutablePointer<json_t>?,
    _ description: UnsafePointer<CChar>?, _ concurrency: Int32, _ handler: CRPCHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    register(pointer, method, params, description, concurrency, streams: true, handler, closure)
}

@_cdecl("snats_rpc_server_start")
public func snats_rpc_server_start(_ pointer: OpaquePointer?, _ prefix: UnsafePointer<CChar>?) -> Int32 {
    withStatus { try rpcServer(pointer).start(prefix: optionalString(prefix) ?? "") }
}

@_cdecl("snats_rpc_server_stop")
public func snats_rpc_server_stop(_ pointer: OpaquePointer?) -> Int32 {
    withStatus { try rpcServer(pointer).stop() }
}

@_cdecl("snats_rpc_server_id")
public func snats_rpc_server_id(_ pointer: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let pointer else { return nil }
    return Handle.borrow(pointer, as: CRPCServer.self).refreshID()
}

// MARK: requests

@_cdecl("snats_rpc_request_method")
public func snats_rpc_request_method(_ pointer: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let pointer else { return nil }
    let request = Handle.borrow(pointer, as: RPCRequest.self)
    return request.cMethod
}

@_cdecl("snats_rpc_request_params")
public func snats_rpc_request_params(_ pointer: OpaquePointer?) -> UnsafeMutablePointer<json_t>? {
    guard let pointer else { return nil }
    return Handle.borrow(pointer, as: RPCRequest.self).params.raw
}

@_cdecl("snats_rpc_request_respond")
public func snats_rpc_request_respond(_ pointer: OpaquePointer?, _ result: UnsafeMutablePointer<json_t>?) -> Int32 {
    withStatus { try rpcRequest(pointer).respond(shared(result) ?? JSONValue.null()) }
}

@_cdecl("snats_rpc_request_send_item")
public func snats_rpc_request_send_item(_ pointer: OpaquePointer?, _ item: UnsafeMutablePointer<json_t>?) -> Int32 {
    withStatus { try rpcRequest(pointer).sendItem(shared(item) ?? JSONValue.null()) }
}

@_cdecl("snats_rpc_request_end_stream")
public func snats_rpc_request_end_stream(_ pointer: OpaquePointer?) -> Int32 {
    withStatus { try rpcRequest(pointer).endStream() }
}

@_cdecl("snats_rpc_request_fail")
public func snats_rpc_request_fail(
    _ pointer: OpaquePointer?, _ message: UnsafePointer<CChar>?, _ traceback: UnsafePointer<CChar>?
) -> Int32 {
    withStatus {
        try rpcRequest(pointer).fail(internal: try requiredString(message, "message"), traceback: optionalString(traceback))
    }
}

@_cdecl("snats_rpc_request_error")
public func snats_rpc_request_error(
    _ pointer: OpaquePointer?, _ code: Int32, _ message: UnsafePointer<CChar>?, _ details: UnsafeMutablePointer<json_t>?
) -> Int32 {
    withStatus {
        try rpcRequest(pointer).fail(code: Int(code), message: try requiredString(message, "message"), details: shared(details))
    }
}

@_cdecl("snats_rpc_request_retain")
public func snats_rpc_request_retain(_ pointer: OpaquePointer?) -> OpaquePointer? {
    guard let pointer else { return nil }
    let request = Unmanaged<RPCRequest>.fromOpaque(UnsafeRawPointer(pointer)).retain().takeUnretainedValue()
    request.keep()
    return pointer
}

@_cdecl("snats_rpc_request_release")
public func snats_rpc_request_release(_ pointer: OpaquePointer?) {
    if let pointer { Handle.release(pointer, as: RPCRequest.self) }
}

// MARK: clients

@_cdecl("snats_rpc_client_create")
public func snats_rpc_client_create(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ connPointer: OpaquePointer?, _ namespace: UnsafePointer<CChar>?
) -> Int32 {
    withHandleOut(out, "client") {
        let client = try RPCClient(connection: try connection(connPointer), namespace: try requiredString(namespace, "namespace"))
        return CRPCClient(client)
    }
}

@_cdecl("snats_rpc_client_create_group")
public func snats_rpc_client_create_group(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ connPointer: OpaquePointer?,
    _ namespaces: UnsafePointer<UnsafePointer<CChar>?>?, _ count: Int32, _ root: UnsafePointer<CChar>?
) -> Int32 {
    withHandleOut(out, "client") {
        let list = try required(namespaces, "namespaces")
        guard count > 0 else { throw NATSError.invalidArgument("count must be at least 1, got \(count)") }
        let names = try (0..<Int(count)).map { try requiredString(list[$0], "namespaces[\($0)]") }
        let client = try RPCClient(
            connection: try connection(connPointer), namespaces: names, root: optionalString(root) ?? MethodNames.defaultRoot)
        return CRPCClient(client)
    }
}

@_cdecl("snats_rpc_client_destroy")
public func snats_rpc_client_destroy(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    Handle.borrow(pointer, as: CRPCClient.self).client.close()
    Handle.release(pointer, as: CRPCClient.self)
}

@_cdecl("snats_rpc_client_set_heartbeat")
public func snats_rpc_client_set_heartbeat(_ pointer: OpaquePointer?, _ interval: Int64) -> Int32 {
    withStatus { try rpcClient(pointer).setHeartbeat(milliseconds: interval) }
}

@_cdecl("snats_rpc_client_call")
public func snats_rpc_client_call(
    _ result: JSONOut?, _ error: JSONOut?, _ pointer: OpaquePointer?, _ method: UnsafePointer<CChar>?,
    _ params: UnsafeMutablePointer<json_t>?, _ timeout: Int64
) -> Int32 {
    withRPCOutcome(result, error) {
        try rpcClient(pointer).call(try requiredString(method, "method"), params: shared(params), timeoutMilliseconds: timeout)
    }
}

@_cdecl("snats_rpc_client_call_async")
public func snats_rpc_client_call_async(
    _ out: UnsafeMutablePointer<UInt64>?, _ pointer: OpaquePointer?, _ method: UnsafePointer<CChar>?,
    _ params: UnsafeMutablePointer<json_t>?
) -> Int32 {
    out?.pointee = 0
    return withStatus {
        let out = try required(out, "id")
        out.pointee = try rpcClient(pointer).callAsync(try requiredString(method, "method"), params: shared(params))
    }
}

@_cdecl("snats_rpc_client_get_response")
public func snats_rpc_client_get_response(
    _ result: JSONOut?, _ error: JSONOut?, _ pointer: OpaquePointer?, _ id: UInt64, _ timeout: Int64
) -> Int32 {
    withRPCOutcome(result, error) { try rpcClient(pointer).response(to: id, timeoutMilliseconds: timeout) }
}

@_cdecl("snats_rpc_client_cancel")
public func snats_rpc_client_cancel(_ pointer: OpaquePointer?, _ id: UInt64) -> Int32 {
    withStatus { try rpcClient(pointer).cancel(id) }
}

@_cdecl("snats_rpc_client_call_cb")
public func snats_rpc_client_call_cb(
    _ pointer: OpaquePointer?, _ method: UnsafePointer<CChar>?, _ params: UnsafeMutablePointer<json_t>?, _ timeout: Int64,
    _ callback: CRPCCallback?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let callback = try required(callback, "cb")
        try rpcClient(pointer).call(try requiredString(method, "method"), params: shared(params), timeoutMilliseconds: timeout) { outcome in
            switch outcome {
            case .success(let value): report(value, to: callback, closure)
            case .failure(let error): report(error, to: callback, closure)
            }
        }
    }
}

/// Hands a result (nil: the end of a stream) to a `snats_rpc_callback`.
private func report(_ value: JSONValue?, to callback: CRPCCallback, _ closure: UnsafeMutableRawPointer?) {
    lastErrorText.set("")
    withExtendedLifetime(value) { callback(CStatus.ok.rawValue, value?.raw, nil, closure) }
}

/// Hands a failure to a `snats_rpc_callback`: an RPC error with its object, any other with its
/// status (and `snats_last_error()` text).
private func report(_ error: Error, to callback: CRPCCallback, _ closure: UnsafeMutableRawPointer?) {
    let status = fail(error)
    guard let error = error as? RPCError else { return callback(status, nil, nil, closure) }
    let object = error.json
    withExtendedLifetime(object) { callback(status, nil, object.raw, closure) }
}

/// Reads `[["method", params], {"method": ..., "params": ...}, ...]`.
private func batchCalls(_ json: UnsafeMutablePointer<json_t>?) throws -> [(method: String, params: JSONValue?)] {
    let calls = try required(shared(json), "calls")
    guard calls.isArray else { throw NATSError.invalidArgument("calls must be a JSON array") }
    return try calls.items.enumerated().map { index, entry in
        if entry.isArray, let method = entry.items.first?.stringValue, entry.count <= 2 {
            return (method, entry.count == 2 ? entry.items[1] : nil)
        }
        if entry.isObject, let method = entry.string("method") { return (method, entry.value("params")) }
        throw NATSError.invalidArgument("calls[\(index)] must be [\"method\", params] or {\"method\": ..., \"params\": ...}")
    }
}

@_cdecl("snats_rpc_client_call_batch")
public func snats_rpc_client_call_batch(
    _ out: JSONOut?, _ pointer: OpaquePointer?, _ calls: UnsafeMutablePointer<json_t>?, _ timeout: Int64
) -> Int32 {
    withJSONOut(out, "results") {
        let outcomes = try rpcClient(pointer).callBatch(try batchCalls(calls), timeoutMilliseconds: timeout)
        let array = JSONValue.array()
        for outcome in outcomes {
            let entry = JSONValue.object()
            switch outcome {
            case .success(let value):
                entry.set("status", Int(CStatus.ok.rawValue))
                entry.set("result", value)
            case .failure(let error as RPCError):
                entry.set("status", Int(CStatus.rpcError.rawValue))
                entry.set("error", error.json)
            case .failure(let error):
                let status = fail(error)
                entry.set("status", Int(status))
                entry.set("message", String(cString: lastErrorText.current))
            }
            array.append(entry)
        }
        return array
    }
}

// MARK: streams

@_cdecl("snats_rpc_client_call_stream")
public func snats_rpc_client_call_stream(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ method: UnsafePointer<CChar>?,
    _ params: UnsafeMutablePointer<json_t>?, _ timeout: Int64
) -> Int32 {
    withHandleOut(out, "stream") {
        let stream = try rpcClient(pointer).callStream(
            try requiredString(method, "method"), params: shared(params), timeoutMilliseconds: timeout)
        return CRPCStream(stream)
    }
}

@_cdecl("snats_rpc_client_call_stream_cb")
public func snats_rpc_client_call_stream_cb(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ method: UnsafePointer<CChar>?,
    _ params: UnsafeMutablePointer<json_t>?, _ timeout: Int64, _ callback: CRPCCallback?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let callback = try required(callback, "cb")
        let call = try rpcClient(pointer).callStream(
            try requiredString(method, "method"), params: shared(params), timeoutMilliseconds: timeout
        ) { event in
            switch event {
            case .item(let item): report(item, to: callback, closure)
            case .end: report(nil, to: callback, closure)
            case .failure(let error): report(error, to: callback, closure)
            }
        }
        if let out { out.pointee = Handle.make(CRPCStream(call)) }
    }
}

@_cdecl("snats_rpc_stream_next")
public func snats_rpc_stream_next(_ item: JSONOut?, _ error: JSONOut?, _ pointer: OpaquePointer?) -> Int32 {
    withRPCOutcome(item, error) {
        guard let stream = try Handle.get(pointer, as: CRPCStream.self, "stream").stream else {
            throw NATSError.illegalState("this RPC stream hands its items to its callback")
        }
        return try stream.next()
    }
}

@_cdecl("snats_rpc_stream_destroy")
public func snats_rpc_stream_destroy(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    let box = Handle.borrow(pointer, as: CRPCStream.self)
    box.stream?.close()
    box.call?.cancel()
    Handle.release(pointer, as: CRPCStream.self)
}

// MARK: describe

@_cdecl("snats_rpc_client_describe")
public func snats_rpc_client_describe(_ out: JSONOut?, _ pointer: OpaquePointer?, _ timeout: Int64) -> Int32 {
    withJSONOut(out, "methods") {
        let array = JSONValue.array()
        for method in try rpcClient(pointer).describe(timeoutMilliseconds: timeout) { array.append(method.json) }
        return array
    }
}

@_cdecl("snats_rpc_client_describe_cb")
public func snats_rpc_client_describe_cb(
    _ pointer: OpaquePointer?, _ timeout: Int64, _ callback: CJSONHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let callback = try required(callback, "cb")
        try rpcClient(pointer).describe(timeoutMilliseconds: timeout) { outcome in
            report(outcome.map { methods in
                let array = JSONValue.array()
                for method in methods { array.append(method.json) }
                return array
            }, to: callback, closure)
        }
    }
}
