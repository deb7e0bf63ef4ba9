import NATS

/// An error a remote procedure answered with (JSON-RPC 2.0's error object): a code, a message
/// and optional data. Failures that never reached a server (timeouts, a closed connection)
/// stay `NATSError`s.
public struct RPCError: Error, CustomStringConvertible {
    public var code: Int
    public var message: String
    /// Anything JSON; swiftnats servers put an object here with the origin (`namespace`,
    /// `instance`, `host`) and, when the handler gave one, `traceback` and `details`.
    public var data: JSONValue?

    public init(code: Int, message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    public static let parseError = -32700
    public static let invalidRequest = -32600
    public static let methodNotFound = -32601
    public static let invalidParams = -32602
    public static let internalError = -32603
    /// JSON-RPC leaves -32000...-32099 to servers.
    public static let serverErrors = -32099 ... -32000

    public static func notFound(_ method: String, namespaces: [String]) -> RPCError {
        let data = JSONValue.object()
        data.set("method", method)
        let list = JSONValue.array()
        for namespace in namespaces { list.append(JSONValue.string(namespace)) }
        data.set("namespaces", list)
        return RPCError(code: methodNotFound, message: "Method not found: \(method)", data: data)
    }

    /// A reference's method that nobody answers: the reference was revoked (its process then
    /// answers this itself), or its process went away (no responders).
    public static func notFound(_ method: String, reference: String) -> RPCError {
        let data = JSONValue.object()
        data.set("method", method)
        data.set("reference", reference)
        return RPCError(code: methodNotFound, message: "Method not found: \(method) (the reference is revoked, or its process is gone)",
                        data: data)
    }

    /// `{"code": ..., "message": ..., "data": ...}` (no `data` key when there is none).
    public var json: JSONValue {
        let object = JSONValue.object()
        object.set("code", code)
        object.set("message", message)
        if let data { object.set("data", data) }
        return object
    }

    /// Reads an error object; nil when it is not one (no integer code or no string message).
    public init?(json: JSONValue) {
        guard json.isObject, let code = json.int("code"), let message = json.string("message") else { return nil }
        self.init(code: code, message: message, data: json.value("data"))
    }

    public var description: String { "RPC error \(code): \(message)" }
}
