#if canImport(Glibc)
import Glibc
#endif

/// Decodes the server side of the NATS protocol, one op per call, from bytes that start where
/// the op starts. It returns the op and its length, or `nil` for "need more bytes": the caller
/// keeps those bytes and calls again with them and what follows. Messages come back as ranges
/// into the bytes given (no copy, no reference counting); `ConnectionHandler` copies each one
/// once, into its `MessageStorage`.
///
/// Works on bytes only (no `String` until an op is complete), enforces the control-line limits
/// and max_payload, and resumes its line-feed search where it stopped so that a line dripping
/// in one byte at a time costs O(n), not O(n²).
public struct ProtocolParser {
    /// An op and how many bytes it spans. (A struct rather than a tuple: an optional tuple of
    /// an enum went through the runtime's generic value witnesses on every message.)
    public struct Frame {
        public var op: ServerOp
        public var length: Int
    }

    /// Longest control line other than INFO (MSG/HMSG/-ERR/...), as in nats.go and nats.c.
    public static let maxControlLine = 4096
    /// INFO grows with `connect_urls` in large clusters, so it has its own, larger cap.
    public static let maxInfoLine = 1 << 20

    /// Largest payload the server may send: its INFO `max_payload`.
    public var maxPayload: Int
    /// Bytes of the current op already searched for LF.
    private var scanned = 0
    /// Where the LF of the current control line is, once found, while its payload is still
    /// arriving: the payload may itself hold LFs, so the search must not run again.
    private var knownLineFeed: Int?
    /// After `decode` returned nil: how many more bytes complete the op, when the control line
    /// is already known (nil while the control line itself is incomplete).
    public private(set) var bytesNeeded: Int?

    public init(maxPayload: Int = 64 << 20) {
        self.maxPayload = maxPayload
    }

    /// The op at the start of `bytes` and how many bytes it spans, or nil when it is incomplete.
    /// After an error the parser starts afresh: nothing of the failed op is remembered.
    public mutating func decode(_ bytes: UnsafeRawBufferPointer) throws -> Frame? {
        do {
            return try decodeOp(bytes)
        } catch {
            scanned = 0
            knownLineFeed = nil
            bytesNeeded = nil
            throw error
        }
    }

    private mutating func decodeOp(_ bytes: UnsafeRawBufferPointer) throws -> Frame? {
        bytesNeeded = nil
        guard !bytes.isEmpty, let lineEnd = try findLineFeed(in: bytes) else { return nil }
        // Control line is [0, lineEnd) without the LF; drop a CR before it.
        var lineLength = lineEnd
        if lineLength > 0, bytes[lineLength - 1] == 13 { lineLength -= 1 }
        let consumedLine = lineEnd + 1

        let op: ServerOp
        var length = consumedLine
        switch try Self.parseControlLine(UnsafeRawBufferPointer(rebasing: bytes[0..<lineLength])) {
        case .ping: op = .ping
        case .pong: op = .pong
        case .ok: op = .ok
        case .err(let range):
            op = .err(Self.unquote(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)))
        case .info(let range):
            op = .info(try ServerInfo(json: UnsafeRawBufferPointer(rebasing: bytes[range])))
        case .message(let subject, let sid, let reply, let headerLength, let totalLength):
            if totalLength > maxPayload {
                throw NATSError.payloadTooLarge(limit: maxPayload, actual: totalLength)
            }
            // Payload plus its trailing CRLF must be here, or we wait with the whole op unread.
            length = consumedLine + totalLength + 2
            guard bytes.count >= length else {
                knownLineFeed = lineEnd
                bytesNeeded = length - bytes.count
                return nil
            }
            let bodyEnd = consumedLine + totalLength
            guard bytes[bodyEnd] == 13, bytes[bodyEnd + 1] == 10 else {
                throw NATSError.protocolError("message payload is not followed by CRLF")
            }
            op = .message(InboundMessage(
                subject: subject, sid: sid, reply: reply, headerLength: headerLength, body: consumedLine..<bodyEnd))
        }
        scanned = 0
        knownLineFeed = nil
        return Frame(op: op, length: length)
    }

    /// Finds the LF ending the control line, resuming after the bytes searched last time.
    private mutating func findLineFeed(in bytes: UnsafeRawBufferPointer) throws -> Int? {
        if let known = knownLineFeed {
            if known < bytes.count { return known }
            // Fewer bytes than last time: not the op we were waiting for, so search afresh.
            knownLineFeed = nil
            scanned = 0
        }
        let limit = bytes[0] | 0x20 == UInt8(ascii: "i") ? Self.maxInfoLine : Self.maxControlLine
        if scanned < bytes.count, let base = bytes.baseAddress,
            let found = memchr(base + scanned, 10, bytes.count - scanned)
        {
            let index = base.distance(to: UnsafeRawPointer(found))
            if index > limit { throw NATSError.controlLineTooLong(limit) }
            return index
        }
        if bytes.count > limit { throw NATSError.controlLineTooLong(limit) }
        scanned = bytes.count
        return nil
    }

    // MARK: control lines

    enum ParsedLine {
        case ping, pong, ok
        case err(Range<Int>)
        case info(Range<Int>)
        case message(subject: Range<Int>, sid: UInt64, reply: Range<Int>?, headerLength: Int, totalLength: Int)
    }

    @inline(__always)
    static func lower(_ byte: UInt8) -> UInt8 { byte | 0x20 }

    static func matches(_ line: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard line.count >= count else { return false }
        let bytes = word.utf8Start
        for index in 0..<count where lower(line[index]) != lower(bytes[index]) { return false }
        return true
    }

    static func parseControlLine(_ line: UnsafeRawBufferPointer) throws -> ParsedLine {
        guard let first = line.first else { throw NATSError.protocolError("empty control line") }
        switch lower(first) {
        case UInt8(ascii: "m"):
            guard matches(line, "MSG"), line.count > 3, isSpace(line[3]) else { break }
            return try parseMessageArguments(line, from: 4, withHeaders: false)
        case UInt8(ascii: "h"):
            guard matches(line, "HMSG"), line.count > 4, isSpace(line[4]) else { break }
            return try parseMessageArguments(line, from: 5, withHeaders: true)
        case UInt8(ascii: "p"):
            if matches(line, "PING") && trimmedCount(line) == 4 { return .ping }
            if matches(line, "PONG") && trimmedCount(line) == 4 { return .pong }
        case UInt8(ascii: "+"):
            if matches(line, "+OK") && trimmedCount(line) == 3 { return .ok }
        case UInt8(ascii: "-"):
            if matches(line, "-ERR") {
                var start = 4
                while start < line.count && isSpace(line[start]) { start += 1 }
                return .err(start..<line.count)
            }
        case UInt8(ascii: "i"):
            if matches(line, "INFO"), line.count > 4, isSpace(line[4]) {
                var start = 5
                while start < line.count && isSpace(line[start]) { start += 1 }
                return .info(start..<line.count)
            }
        default:
            break
        }
        throw NATSError.protocolError("unknown operation \"\(printable(line.prefix(32)))\"")
    }

    @inline(__always)
    static func isSpace(_ byte: UInt8) -> Bool { byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") }

    static func trimmedCount(_ line: UnsafeRawBufferPointer) -> Int {
        var count = line.count
        while count > 0 && isSpace(line[count - 1]) { count -= 1 }
        return count
    }

    /// `MSG <subject> <sid> [reply] <size>` / `HMSG <subject> <sid> [reply] <hdr> <total>`.
    static func parseMessageArguments(
        _ line: UnsafeRawBufferPointer, from offset: Int, withHeaders: Bool
    ) throws -> ParsedLine {
        var arguments: (Range<Int>, Range<Int>, Range<Int>, Range<Int>, Range<Int>) = (0..<0, 0..<0, 0..<0, 0..<0, 0..<0)
        var count = 0
        var index = offset
        while index < line.count {
            while index < line.count && isSpace(line[index]) { index += 1 }
            if index == line.count { break }
            let tokenStart = index
            while index < line.count && !isSpace(line[index]) { index += 1 }
            let token = tokenStart..<index
            switch count {
            case 0: arguments.0 = token
            case 1: arguments.1 = token
            case 2: arguments.2 = token
            case 3: arguments.3 = token
            case 4: arguments.4 = token
            default: throw NATSError.protocolError("too many arguments in \(withHeaders ? "HMSG" : "MSG")")
            }
            count += 1
        }
        let name = withHeaders ? "HMSG" : "MSG"
        let subject = arguments.0
        let sid = try parseNumber(line, arguments.1, name: name)
        let reply: Range<Int>?
        let headerLength: Int
        let totalLength: Int
        switch (withHeaders, count) {
        case (false, 3):
            reply = nil
            headerLength = 0
            totalLength = try parseNumber(line, arguments.2, name: name)
        case (false, 4):
            reply = arguments.2
            headerLength = 0
            totalLength = try parseNumber(line, arguments.3, name: name)
        case (true, 4):
            reply = nil
            headerLength = try parseNumber(line, arguments.2, name: name)
            totalLength = try parseNumber(line, arguments.3, name: name)
        case (true, 5):
            reply = arguments.2
            headerLength = try parseNumber(line, arguments.3, name: name)
            totalLength = try parseNumber(line, arguments.4, name: name)
        default:
            throw NATSError.protocolError("wrong number of arguments in \(name)")
        }
        if headerLength > totalLength {
            throw NATSError.protocolError("\(name) header size \(headerLength) exceeds total size \(totalLength)")
        }
        return .message(
            subject: subject, sid: UInt64(sid), reply: reply, headerLength: headerLength, totalLength: totalLength)
    }

    /// A non-negative decimal with overflow checks: hostile sizes must fail, not wrap or trap.
    static func parseNumber(_ line: UnsafeRawBufferPointer, _ range: Range<Int>, name: String) throws -> Int {
        guard !range.isEmpty, range.count <= 18 else {
            throw NATSError.protocolError("bad number in \(name)")
        }
        var value = 0
        for index in range {
            let digit = Int(line[index]) - 48
            guard digit >= 0 && digit <= 9 else { throw NATSError.protocolError("bad number in \(name)") }
            value = value * 10 + digit
        }
        return value
    }

    static func printable(_ bytes: Slice<UnsafeRawBufferPointer>) -> String {
        String(decoding: bytes.map { $0 >= 32 && $0 < 127 ? $0 : UInt8(ascii: "?") }, as: UTF8.self)
    }

    /// `-ERR 'Authorization Violation'` → `Authorization Violation`.
    static func unquote(_ text: String) -> String {
        var result = Substring(text)
        if result.hasPrefix("'") { result = result.dropFirst() }
        if result.hasSuffix("'") { result = result.dropLast() }
        return String(result)
    }
}
