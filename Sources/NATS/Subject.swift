/// Subject and queue-group validation, on bytes: the C ABI hands us `char *` and should not pay
/// for a `String` per publish.
public enum Subject {
    /// A subject to publish to: non-empty tokens separated by dots, no whitespace, no wildcards.
    @inlinable
    public static func isValidPublishSubject(_ bytes: UnsafeRawBufferPointer) -> Bool {
        validate(bytes, allowWildcards: false)
    }

    /// A subject to subscribe to: as for publish, but `*` may stand as a whole token and `>` as
    /// the whole last token.
    @inlinable
    public static func isValidSubscribeSubject(_ bytes: UnsafeRawBufferPointer) -> Bool {
        validate(bytes, allowWildcards: true)
    }

    /// A queue group name: non-empty, no whitespace.
    public static func isValidQueueGroup(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if bytes.isEmpty { return false }
        for byte in bytes where isWhitespace(byte) { return false }
        return true
    }

    public static func isValidPublishSubject(_ subject: String) -> Bool {
        var copy = subject
        return copy.withUTF8 { isValidPublishSubject(UnsafeRawBufferPointer($0)) }
    }

    public static func isValidSubscribeSubject(_ subject: String) -> Bool {
        var copy = subject
        return copy.withUTF8 { isValidSubscribeSubject(UnsafeRawBufferPointer($0)) }
    }

    public static func isValidQueueGroup(_ queue: String) -> Bool {
        var copy = queue
        return copy.withUTF8 { isValidQueueGroup(UnsafeRawBufferPointer($0)) }
    }

    /// Room left on a control line for the verb, the sid or sizes and the separators.
    static let controlLineOverhead = 64

    /// Refuses a subject that, with the reply subject or queue group of the same line, would
    /// make a control line longer than the server reads (`ProtocolParser.maxControlLine`, the
    /// server's default `max_control_line`): the server would close the connection for it,
    /// losing everything else on it.
    public static func checkControlLine(subject: Int, other: Int, _ text: @autoclosure () -> String) throws {
        let length = subject + other + controlLineOverhead
        guard length > ProtocolParser.maxControlLine else { return }
        let shown = text()
        throw NATSError.invalidSubject(
            "\(shown.prefix(64))... (\(subject + other) bytes with its reply subject or queue group: "
                + "past the server's \(ProtocolParser.maxControlLine)-byte control line)")
    }

    @inlinable
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
            || byte == UInt8(ascii: "\n") || byte == 0
    }

    /// Bytes that end a token or are never allowed, for one table lookup per byte.
    @usableFromInline
    static let special: [Bool] = (0..<256).map { byte in
        byte == 0x2E || byte == 0x20 || byte == 0x09 || byte == 0x0D || byte == 0x0A || byte == 0
    }

    @inlinable
    static func validate(_ bytes: UnsafeRawBufferPointer, allowWildcards: Bool) -> Bool {
        let count = bytes.count
        guard count > 0, let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else { return false }
        return special.withUnsafeBufferPointer { table in
            var tokenStart = 0
            var index = 0
            while true {
                // Scan one token: the common case is a run of ordinary bytes.
                while index < count && !table[Int(base[index])] { index += 1 }
                if index < count && base[index] != UInt8(ascii: ".") { return false }
                let tokenLength = index - tokenStart
                if tokenLength == 0 { return false }
                if tokenLength == 1 {
                    let byte = base[tokenStart]
                    if byte == UInt8(ascii: ">") {
                        if !allowWildcards || index != count { return false }
                    } else if byte == UInt8(ascii: "*") && !allowWildcards {
                        return false
                    }
                }
                // Longer tokens may hold '*' or '>' as ordinary characters: only whole tokens
                // are wildcards (as in nats.go).
                if index == count { return true }
                index += 1
                tokenStart = index
            }
        }
    }
}
