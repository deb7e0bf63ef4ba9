import CJansson

/// The server's INFO, with the fields the client acts on; `json` keeps the whole document for
/// callers that want the rest.
public struct ServerInfo: Equatable {
    public var serverID = ""
    public var serverName = ""
    public var version = ""
    public var host = ""
    public var port = 0
    public var proto = 0
    public var maxPayload = 1_048_576
    public var headers = false
    public var authRequired = false
    public var tlsRequired = false
    public var tlsAvailable = false
    public var nonce: String?
    public var connectURLs: [String] = []
    public var lameDuckMode = false
    public var clientID = 0
    public var clientIP = ""
    public var json = "{}"

    public init() {}

    public init(json bytes: UnsafeRawBufferPointer) throws {
        let value = try JSONValue.parse(bytes)
        guard value.raw.pointee.type == JSON_OBJECT else { throw NATSError.protocolError("INFO is not a JSON object") }
        serverID = value.string("server_id") ?? ""
        serverName = value.string("server_name") ?? ""
        version = value.string("version") ?? ""
        host = value.string("host") ?? ""
        port = value.int("port") ?? 0
        proto = value.int("proto") ?? 0
        if let limit = value.int("max_payload"), limit > 0 { maxPayload = limit }
        headers = value.bool("headers") ?? false
        authRequired = value.bool("auth_required") ?? false
        tlsRequired = value.bool("tls_required") ?? false
        tlsAvailable = value.bool("tls_available") ?? false
        nonce = value.string("nonce")
        connectURLs = value.strings("connect_urls")
        lameDuckMode = value.bool("ldm") ?? false
        clientID = value.int("client_id") ?? 0
        clientIP = value.string("client_ip") ?? ""
        json = String(decoding: bytes, as: UTF8.self)
    }
}
