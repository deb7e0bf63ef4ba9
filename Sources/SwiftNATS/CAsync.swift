import CJansson
import NATS

// Requests and flushes that do not block (`Connection+Async.swift`): the outcome reaches a
// callback run as a connection event.

public typealias CReplyHandler = @convention(c) (OpaquePointer?, Int32, OpaquePointer?, UnsafeMutableRawPointer?) -> Void
public typealias CFlushHandler = @convention(c) (OpaquePointer?, Int32, UnsafeMutableRawPointer?) -> Void
/// `snats_json_handler`: the outcome of a gathering that did not block (discovery, describe).
public typealias CJSONHandler = @convention(c) (Int32, UnsafeMutablePointer<json_t>?, UnsafeMutableRawPointer?) -> Void

/// Hands a gathering's outcome to a `snats_json_handler`: the value borrowed for the call, or
/// a failure's status with its `snats_last_error()` text.
func report(_ outcome: Result<JSONValue, Error>, to callback: CJSONHandler, _ closure: UnsafeMutableRawPointer?) {
    switch outcome {
    case .success(let value):
        lastErrorText.set("")
        withExtendedLifetime(value) { callback(CStatus.ok.rawValue, value.raw, closure) }
    case .failure(let error):
        callback(fail(error), nil, closure)
    }
}

/// The status a completion reports, with `snats_last_error()` set to its text on the
/// callback's thread.
private func completionStatus(_ error: NATSError?) -> Int32 {
    guard let error else { return CStatus.ok.rawValue }
    return fail(error)
}

/// The arguments every asynchronous request checks: the connection's box (held by the
/// completion: it may run after snats_conn_destroy, queued in a dispatch queue, with a handle
/// that must still be valid memory), its connection, the callback, subject, payload and
/// timeout.
private func requestArguments(
    _ pointer: OpaquePointer?, _ subject: UnsafePointer<CChar>?, _ data: UnsafeRawPointer?, _ length: Int,
    _ timeout: Int64, _ callback: CReplyHandler?
) throws -> (box: CConnection, conn: Connection, callback: CReplyHandler, subject: UnsafeRawBufferPointer,
             payload: UnsafeRawBufferPointer, timeout: Int64) {
    let box = try Handle.get(pointer, as: CConnection.self, "conn")
    return (box, try box.connected(), try required(callback, "cb"), cBytes(try required(subject, "subject")),
            try payloadBytes(data, length), try positiveTimeout(timeout))
}

private func requestAsync(
    _ pointer: OpaquePointer?, _ subject: UnsafePointer<CChar>?, _ headers: OpaquePointer?,
    _ data: UnsafeRawPointer?, _ length: Int, _ timeout: Int64, _ callback: CReplyHandler?,
    _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let request = try requestArguments(pointer, subject, data, length, timeout, callback)
        let (box, callback) = (request.box, request.callback)
        try CHeaders.withEncoded(headers) { headerBytes in
            try request.conn.requestAsync(
                subject: request.subject, headers: headerBytes, payload: request.payload, timeoutMilliseconds: request.timeout
            ) { result in
                switch result {
                case .success(let reply):
                    lastErrorText.set("")
                    callback(Handle.unretained(box), CStatus.ok.rawValue, OpaquePointer(Unmanaged.passUnretained(reply.storage).toOpaque()), closure)
                    withExtendedLifetime(reply) {}
                case .failure(let error):
                    callback(Handle.unretained(box), completionStatus(error), nil, closure)
                }
            }
        }
    }
}

@_cdecl("snats_request_async")
public func snats_request_async(
    _ pointer: OpaquePointer?, _ subject: UnsafePointer<CChar>?, _ data: UnsafeRawPointer?, _ length: Int,
    _ timeout: Int64, _ callback: CReplyHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    requestAsync(pointer, subject, nil, data, length, timeout, callback, closure)
}

@_cdecl("snats_request_msg_async")
public func snats_request_msg_async(
    _ pointer: OpaquePointer?, _ subject: UnsafePointer<CChar>?, _ headers: OpaquePointer?, _ data: UnsafeRawPointer?,
    _ length: Int, _ timeout: Int64, _ callback: CReplyHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    requestAsync(pointer, subject, headers, data, length, timeout, callback, closure)
}

@_cdecl("snats_request_tagged")
public func snats_request_tagged(
    _ pointer: OpaquePointer?, _ subject: UnsafePointer<CChar>?, _ headers: OpaquePointer?, _ data: UnsafeRawPointer?,
    _ length: Int, _ timeout: Int64, _ tag: UInt64, _ callback: CReplyHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let request = try requestArguments(pointer, subject, data, length, timeout, callback)
        let (box, callback) = (request.box, request.callback)
        try CHeaders.withEncoded(headers) { headerBytes in
            try request.conn.requestTagged(
                subject: request.subject, headers: headerBytes, payload: request.payload, timeoutMilliseconds: request.timeout,
                tag: tag
            ) { error in
                callback(Handle.unretained(box), completionStatus(error), nil, closure)
            }
        }
    }
}

@_cdecl("snats_conn_flush_async")
public func snats_conn_flush_async(
    _ pointer: OpaquePointer?, _ timeout: Int64, _ callback: CFlushHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let box = try Handle.get(pointer, as: CConnection.self, "conn")
        let conn = try box.connected()
        let callback = try required(callback, "cb")
        try conn.flushAsync(timeoutMilliseconds: try positiveTimeout(timeout)) { result in
            switch result {
            case .success: callback(Handle.unretained(box), CStatus.ok.rawValue, closure)
            case .failure(let error): callback(Handle.unretained(box), completionStatus(error), closure)
            }
        }
    }
}
