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

    @inlinable
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\r")
            || byte == UInt8(ascii: "\n") || byte == 0
    }

    @inlinable
    static func validate(_ bytes: UnsafeRawBufferPointer, allowWildcards: Bool) -> Bool {
        let count = bytes.count
        if count == 0 { return false }
        var tokenStart = 0
        var index = 0
        while index <= count {
            if index == count || bytes[index] == UInt8(ascii: ".") {
                let tokenLength = index - tokenStart
                if tokenLength == 0 { return false }
                if tokenLength == 1 {
                    let byte = bytes[tokenStart]
                    if byte == UInt8(ascii: ">") {
                        if !allowWildcards || index != count { return false }
                    } else if byte == UInt8(ascii: "*") && !allowWildcards {
                        return false
                    }
                }
                // Longer tokens may hold '*' or '>' as ordinary characters: only whole tokens
                // are wildcards (as in nats.go).
                tokenStart = index + 1
            } else if isWhitespace(bytes[index]) {
                return false
            }
            index += 1
        }
        return true
    }
}
