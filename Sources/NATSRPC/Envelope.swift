import NATS

/// The JSON bodies of the RPC wire format (docs/RPC.md).
///
/// request:  {"id": "...", "method": "math.add", "params": {...} | [...]}   (+ "stream": true)
/// reply:    {"id": "...", "result": ..., "error": null}
///           {"id": "...", "result": null, "error": {"code": ..., "message": ..., "data": ...}}
/// streamed: {"id": "...", "stream": "item", "seq": 0, "result": ...}   (one per item)
///           {"id": "...", "stream": "end", "seq": n, "result": null, "error": null | {...}}
/// liveness: {"id": "...", "heartbeat": n}   (every interval the request's "heartbeat" asked for)
enum Envelope {
    static func request(id: String, method: String, params: JSONValue?, stream: Bool, heartbeat: Int64? = nil) throws -> [UInt8] {
        let body = JSONValue.object()
        body.set("id", id)
        body.set("method", method)
        body.set("params", params ?? JSONValue.object())
        if stream { body.set("stream", true) }
        if let heartbeat { body.set("heartbeat", Int(heartbeat)) }
        return try body.bytes()
    }

    static func heartbeat(id: JSONValue?, count: Int) throws -> [UInt8] {
        let body = JSONValue.object()
        body.set("id", id ?? JSONValue.null())
        body.set("heartbeat", count)
        return try body.bytes()
    }

    static func reply(id: JSONValue?, result: JSONValue) throws -> [UInt8] {
        let body = JSONValue.object()
        body.set("id", id ?? JSONValue.null())
        body.set("result", result)
        body.setNull("error")
        return try body.bytes()
    }

    static func reply(id: JSONValue?, error: RPCError) throws -> [UInt8] {
        let body = JSONValue.object()
        body.set("id", id ?? JSONValue.null())
        body.setNull("result")
        body.set("error", error.json)
        return try body.bytes()
    }

    static func streamItem(id: JSONValue?, seq: Int, item: JSONValue) throws -> [UInt8] {
        let body = JSONValue.object()
        body.set("id", id ?? JSONValue.null())
        body.set("stream", "item")
        body.set("seq", seq)
        body.set("result", item)
        return try body.bytes()
    }

    static func streamEnd(id: JSONValue?, seq: Int, error: RPCError?) throws -> [UInt8] {
        let body = JSONValue.object()
        body.set("id", id ?? JSONValue.null())
        body.set("stream", "end")
        body.set("seq", seq)
        body.setNull("result")
        if let error { body.set("error", error.json) } else { body.setNull("error") }
        return try body.bytes()
    }
}

/// A request as the server reads it.
struct IncomingCall {
    /// The caller's id, echoed back as it came (a string or a number).
    var id: JSONValue
    var method: String
    /// An object or an array; `{}` when the request has none.
    var params: JSONValue
    var wantsStream: Bool

    /// Reads a request body. The thrown error carries the id when there was one, so that the
    /// error reply can echo it.
    static func parse(_ message: Message) throws -> IncomingCall {
        let body: JSONValue
        do {
            body = try message.storage.withPayload { try JSONValue.parse($0) }
        } catch {
            throw IncomingFailure(id: nil, error: RPCError(code: RPCError.parseError, message: "Parse error: \(detail(error))"))
        }
        guard body.isObject else {
            throw IncomingFailure(id: nil, error: invalid("the request must be a JSON object"))
        }
        let id = body.value("id")
        guard let id, id.kind == .string || id.kind == .integer else {
            throw IncomingFailure(id: nil, error: invalid("the request needs an \"id\" (a string or an integer)"))
        }
        guard let method = body.value("method")?.stringValue else {
            throw IncomingFailure(id: id, error: invalid("the request needs a \"method\" string"))
        }
        var params = body.value("params") ?? JSONValue.object()
        if params.isNull { params = JSONValue.object() }
        guard params.isObject || params.isArray else {
            throw IncomingFailure(id: id, error: invalid("\"params\" must be an object or an array"))
        }
        return IncomingCall(id: id, method: method, params: params, wantsStream: body.bool("stream") ?? false)
    }

    private static func invalid(_ text: String) -> RPCError {
        RPCError(code: RPCError.invalidRequest, message: "Invalid Request: \(text)")
    }

    private static func detail(_ error: Error) -> String {
        if case NATSError.invalidJSON(let text) = error { return text }
        return "\(error)"
    }
}

struct IncomingFailure: Error {
    var id: JSONValue?
    var error: RPCError
}

/// A reply (or one frame of a stream) as the client reads it.
enum ReplyFrame {
    /// Whether `message` is a liveness frame: an object with `heartbeat` and neither `result`,
    /// `error` nor `stream`. Cheap for answers, which are parsed only when the word is in them.
    static func isHeartbeat(_ message: Message) -> Bool {
        message.storage.withPayload { payload in
            guard payload.count < 4096, Self.contains(payload, Self.heartbeatKey),
                  let body = try? JSONValue.parse(payload), body.isObject
            else { return false }
            return body.value("heartbeat") != nil && body.value("result") == nil && body.value("error") == nil
                && body.value("stream") == nil
        }
    }

    private static let heartbeatKey = Array("\"heartbeat\"".utf8)

    private static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count, let first = needle.first else { return false }
        var index = 0
        while index <= haystack.count - needle.count {
            if haystack[index] == first {
                var matched = 1
                while matched < needle.count && haystack[index + matched] == needle[matched] { matched += 1 }
                if matched == needle.count { return true }
            }
            index += 1
        }
        return false
    }

    case result(JSONValue)
    case error(RPCError)
    case item(JSONValue, seq: Int)
    case end(seq: Int, error: RPCError?)
    /// A liveness frame: the server still works on the call.
    case heartbeat

    /// Reads a reply. A body that is not an RPC reply becomes an error: with the micro error
    /// headers when the responder set them (a plain micro endpoint on the subject), else -32603.
    static func parse(_ message: Message) -> ReplyFrame {
        guard let body = try? message.storage.withPayload({ try JSONValue.parse($0) }), body.isObject else {
            return .error(foreign(message, "the reply is not a JSON object"))
        }
        if body.value("heartbeat") != nil && body.value("result") == nil && body.value("error") == nil
            && body.value("stream") == nil
        {
            return .heartbeat
        }
        if let stream = body.string("stream") {
            let seq = body.int("seq") ?? -1
            switch stream {
            case "item": return .item(body.value("result") ?? JSONValue.null(), seq: seq)
            case "end":
                // An error that is not an error object still ends the stream with an error.
                guard let error = body.value("error"), !error.isNull else { return .end(seq: seq, error: nil) }
                return .end(seq: seq, error: RPCError(json: error) ?? foreign(message, "the end frame's error is not an error object"))
            default: return .error(foreign(message, "unknown stream frame \"\(stream)\""))
            }
        }
        if let error = body.value("error"), !error.isNull {
            return .error(RPCError(json: error) ?? foreign(message, "the reply's error is not an error object"))
        }
        guard let result = body.value("result") else { return .error(foreign(message, "the reply has no \"result\"")) }
        return .result(result)
    }

    private static func foreign(_ message: Message, _ text: String) -> RPCError {
        if let headers = message.headers, let description = headers.values(for: "Nats-Service-Error").first {
            let code = headers.values(for: "Nats-Service-Error-Code").first.flatMap { Int($0) } ?? RPCError.internalError
            return RPCError(code: code, message: description)
        }
        return RPCError(code: RPCError.internalError, message: "Internal error: \(text)")
    }
}
