/// One server URL: `nats://[user[:password]@]host[:port]`, `tls://...`, or a bare `host:port`.
/// Credentials stay here and never appear in `description`.
public struct ServerAddress: Equatable, CustomStringConvertible {
    public var scheme: String
    public var host: String
    public var port: Int
    public var user: String?
    public var password: String?
    /// For servers learned from the cluster, usually by IP address: the host name of the
    /// server that announced them, which their TLS certificates are expected to carry.
    public var tlsName: String?

    public static let defaultPort = 4222

    public init(scheme: String = "nats", host: String, port: Int = ServerAddress.defaultPort) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    public init(parsing text: String) throws {
        var rest = Substring(text.trimmingSpaces())
        if rest.isEmpty { throw NATSError.invalidArgument("empty server URL") }
        scheme = "nats"
        if let separator = rest.firstRange(of: "://") {
            scheme = rest[rest.startIndex..<separator.lowerBound].lowercased()
            rest = rest[separator.upperBound...]
        }
        guard ["nats", "tls"].contains(scheme) else {
            throw NATSError.invalidArgument("unsupported URL scheme \"\(scheme)\" (use nats:// or tls://)")
        }
        // User info first: a password may hold a "/", which must not be taken for a path
        // (the rest of the password would then show up as a host or port in messages).
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[rest.startIndex..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                user = Self.percentDecoded(userInfo[userInfo.startIndex..<colon])
                password = Self.percentDecoded(userInfo[userInfo.index(after: colon)...])
            } else {
                user = Self.percentDecoded(userInfo)
            }
        }
        if let slash = rest.firstIndex(of: "/") { rest = rest[rest.startIndex..<slash] }
        var hostPart = rest
        var portPart: Substring?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw NATSError.invalidArgument("bad IPv6 address in URL") }
            hostPart = rest[rest.index(after: rest.startIndex)..<close]
            let after = rest[rest.index(after: close)...]
            if after.hasPrefix(":") { portPart = after.dropFirst() } else if !after.isEmpty {
                throw NATSError.invalidArgument("bad server URL")
            }
        } else if let colon = rest.lastIndex(of: ":") {
            hostPart = rest[rest.startIndex..<colon]
            portPart = rest[rest.index(after: colon)...]
        }
        guard !hostPart.isEmpty else { throw NATSError.invalidArgument("no host in server URL \"\(Self.redacted(text))\"") }
        host = String(hostPart)
        port = Self.defaultPort
        if let portPart {
            guard let value = Int(portPart), (1...65535).contains(value) else {
                throw NATSError.invalidArgument("bad port \"\(portPart)\" in server URL")
            }
            port = value
        }
    }

    /// `nats://host:port`, with any credentials left out.
    public var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(shownHost):\(port)"
    }

    /// `text` with any `user:password@` removed, for error messages.
    static func redacted(_ text: String) -> String {
        guard let at = text.lastIndex(of: "@") else { return text }
        let schemeEnd = text.firstRange(of: "://")?.upperBound ?? text.startIndex
        return String(text[..<schemeEnd]) + String(text[text.index(after: at)...])
    }

    static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            {
                bytes.append(value)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Splits a comma-separated list such as `nats://a:4222, nats://b:4222`.
    public static func parseList(_ text: String) throws -> [ServerAddress] {
        let parts = text.split(separator: ",").map { String($0).trimmingSpaces() }.filter { !$0.isEmpty }
        if parts.isEmpty { throw NATSError.invalidArgument("no server URL given") }
        return try parts.map { try ServerAddress(parsing: $0) }
    }
}

extension String {
    func trimmingSpaces() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        return String(self.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}
