#if canImport(Glibc)
import Glibc
#endif
import CJansson

/// JSON text to and from Jansson values, without Jansson's own loader and dumper.
///
/// Jansson reads and writes strings one character at a time through callbacks: about 28 µs to
/// load and 16 µs to dump a body holding a 1 KiB string (measured on this project's machine),
/// and an RPC call crosses JSON four times. This codec copies runs of plain bytes at once and
/// builds the same `json_t` values, so everything that takes or returns `json_t *` stays
/// Jansson's. It accepts exactly RFC 8259 JSON, as Jansson does with JSON_DECODE_ANY: any
/// value at the top level, nothing after it but whitespace, valid UTF-8, no `\u0000`,
/// integers within int64 (else an error, as Jansson), at most `maxDepth` levels of nesting,
/// where every value is a level, scalars included (Jansson's rule: 2047 nested arrays may hold
/// a number, 2048 may not; 2048 nested empty arrays are accepted). The writer refuses what the
/// reader would refuse, so everything written reads back.
public enum JSONCodec {
    /// Jansson's JSON_PARSER_MAX_DEPTH, counted as Jansson counts it (every value is a level):
    /// deeper documents are refused, never a stack overflow.
    public static let maxDepth = 2048

    /// Parses `bytes`; returns a new reference.
    public static func decode(_ bytes: UnsafeRawBufferPointer) throws -> UnsafeMutablePointer<json_t> {
        var reader = JSONReader(bytes)
        return try reader.document()
    }

    /// Appends the compact text of `value` to `out` (object keys in insertion order).
    public static func encode(_ value: UnsafeMutablePointer<json_t>, into out: inout [UInt8]) throws {
        var writer = JSONWriter(out: out)
        out = []
        defer { out = writer.out }
        try writer.write(value, depth: 0)
    }

    public static func encode(_ value: UnsafeMutablePointer<json_t>) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        try encode(value, into: &out)
        return out
    }
}

/// How many bytes from `offset` on are plain: printable ASCII other than `"` and `\`, the
/// bytes a string copies as they are. Eight at a time while it can (SWAR): a word is plain
/// when none of its bytes is below 0x20, at or above 0x80, `"` or `\`.
@inline(__always)
private func plainRun(_ bytes: UnsafeRawBufferPointer, from offset: Int) -> Int {
    guard let base = bytes.baseAddress else { return 0 }
    let end = bytes.count
    var index = offset
    let ones: UInt64 = 0x0101_0101_0101_0101
    let highs: UInt64 = 0x8080_8080_8080_8080
    while index + 8 <= end {
        let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
        let control = (word &- ones &* 0x20) & ~word & highs
        let quote = ((word ^ (ones &* 0x22)) &- ones) & ~(word ^ (ones &* 0x22)) & highs
        let backslash = ((word ^ (ones &* 0x5C)) &- ones) & ~(word ^ (ones &* 0x5C)) & highs
        if (control | quote | backslash | (word & highs)) != 0 { break }
        index += 8
    }
    while index < end {
        let byte = base.load(fromByteOffset: index, as: UInt8.self)
        if byte < 0x20 || byte >= 0x80 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { break }
        index += 1
    }
    return index - offset
}

/// The length of the valid UTF-8 sequence starting at `offset` (a byte >= 0x80): no overlong
/// forms, no surrogates, nothing above U+10FFFF. nil when it is not one.
private func utf8SequenceLength(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Int? {
    let lead = bytes[offset]
    let length: Int
    var scalar: UInt32
    switch lead {
    case 0xC2...0xDF: length = 2; scalar = UInt32(lead & 0x1F)
    case 0xE0...0xEF: length = 3; scalar = UInt32(lead & 0x0F)
    case 0xF0...0xF4: length = 4; scalar = UInt32(lead & 0x07)
    default: return nil
    }
    guard offset + length <= bytes.count else { return nil }
    for index in 1..<length {
        let byte = bytes[offset + index]
        guard byte & 0xC0 == 0x80 else { return nil }
        scalar = scalar << 6 | UInt32(byte & 0x3F)
    }
    let smallest: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000
    guard scalar >= smallest, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar) else { return nil }
    return length
}

// MARK: writing

private struct JSONWriter {
    var out: [UInt8]

    /// `depth` counts the values that enclose `value`; the reader's rule applies (every value
    /// is a level), so whatever is written here reads back. A value may contain itself
    /// (json_object_set of a parent): the depth ends that too.
    mutating func write(_ value: UnsafeMutablePointer<json_t>, depth: Int) throws {
        guard depth < JSONCodec.maxDepth else { throw tooDeep }
        switch value.pointee.type {
        case JSON_OBJECT:
            out.append(UInt8(ascii: "{"))
            var first = true
            var iterator = json_object_iter(value)
            while let current = iterator {
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                if let key = json_object_iter_key(current) {
                    try writeString(UnsafeRawBufferPointer(start: key, count: json_object_iter_key_len(current)))
                }
                out.append(UInt8(ascii: ":"))
                if let member = json_object_iter_value(current) { try write(member, depth: depth + 1) } else { writeNull() }
                iterator = json_object_iter_next(value, current)
            }
            out.append(UInt8(ascii: "}"))
        case JSON_ARRAY:
            out.append(UInt8(ascii: "["))
            let count = json_array_size(value)
            for index in 0..<count {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                if let item = json_array_get(value, index) { try write(item, depth: depth + 1) } else { writeNull() }
            }
            out.append(UInt8(ascii: "]"))
        case JSON_STRING:
            // json_string_nocheck lets a caller store bytes that are not UTF-8: never sent.
            try writeString(UnsafeRawBufferPointer(start: json_string_value(value), count: json_string_length(value)))
        case JSON_INTEGER:
            writeInteger(Int64(json_integer_value(value)))
        case JSON_REAL:
            let number = json_real_value(value)
            // Jansson holds no infinities or NaNs; the shortest text that reads back the same.
            if number.isFinite { out.append(contentsOf: number.description.utf8) } else { writeNull() }
        case JSON_TRUE:
            out.append(contentsOf: [0x74, 0x72, 0x75, 0x65])  // true
        case JSON_FALSE:
            out.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])  // false
        default:
            writeNull()
        }
    }

    private var tooDeep: NATSError {
        .invalidJSON("nesting deeper than \(JSONCodec.maxDepth) levels (or a value that contains itself)")
    }

    private mutating func writeNull() { out.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]) }

    private mutating func writeInteger(_ value: Int64) {
        if value == 0 { return out.append(UInt8(ascii: "0")) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes: room for 20 digits
        var magnitude = value.magnitude
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buffer in
            while magnitude > 0 {
                buffer[23 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            }
            if value < 0 { out.append(UInt8(ascii: "-")) }
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[(24 - count)...]))
        }
    }

    private static let hex: [UInt8] = Array("0123456789abcdef".utf8)

    /// Quotes and escapes a UTF-8 string; runs that need no escape are copied at once.
    private mutating func writeString(_ text: UnsafeRawBufferPointer) throws {
        out.append(UInt8(ascii: "\""))
        var runStart = 0
        var index = 0
        while index < text.count {
            index += plainRun(text, from: index)
            if index == text.count { break }
            let byte = text[index]
            if byte >= 0x80 {
                guard let length = utf8SequenceLength(text, at: index) else {
                    throw NATSError.invalidJSON("a string is not valid UTF-8")
                }
                index += length
                continue
            }
            index += 1
            guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
            let at = index - 1
            if runStart < at { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[runStart..<at])) }
            runStart = at + 1
            out.append(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(byte)
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            case 0x09: out.append(UInt8(ascii: "t"))
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            default:
                out.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                        Self.hex[Int(byte >> 4)], Self.hex[Int(byte & 0xF)]])
            }
        }
        if runStart < text.count { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: text[runStart...])) }
        out.append(UInt8(ascii: "\""))
    }
}

// MARK: reading

private struct JSONReader {
    let bytes: UnsafeRawBufferPointer
    var position = 0
    /// Unescaped string bytes, reused from string to string.
    var scratch: [UInt8] = []

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func document() throws -> UnsafeMutablePointer<json_t> {
        skipWhitespace()
        let value = try readValue(depth: 0)
        skipWhitespace()
        if position < bytes.count {
            cjansson_decref(value)
            throw failure("end of input expected")
        }
        return value
    }

    private var current: UInt8? { position < bytes.count ? bytes[position] : nil }

    private mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// `depth` counts the values that enclose this one. Every value is a level, scalars too,
    /// as in Jansson's parser: `[[1]]` is three levels deep.
    private mutating func readValue(depth: Int) throws -> UnsafeMutablePointer<json_t> {
        let level = depth + 1
        guard level <= JSONCodec.maxDepth else { throw failure("nesting deeper than \(JSONCodec.maxDepth) levels") }
        guard let byte = current else { throw failure("unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return try readObject(depth: level)
        case UInt8(ascii: "["): return try readArray(depth: level)
        case UInt8(ascii: "\""):
            let span = try readString()
            return try made(withBytes(span) { json_stringn_nocheck($0, $1) })
        case UInt8(ascii: "t"): return try readLiteral("true", json_true())
        case UInt8(ascii: "f"): return try readLiteral("false", json_false())
        case UInt8(ascii: "n"): return try readLiteral("null", json_null())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try readNumber()
        default: throw failure("unexpected character")
        }
    }

    private func made(_ value: UnsafeMutablePointer<json_t>?) throws -> UnsafeMutablePointer<json_t> {
        guard let value else { throw NATSError.invalidJSON("out of memory") }
        return value
    }

    private mutating func readLiteral(_ word: StaticString, _ value: UnsafeMutablePointer<json_t>?) throws -> UnsafeMutablePointer<json_t> {
        let length = word.utf8CodeUnitCount
        guard position + length <= bytes.count,
            memcmp(bytes.baseAddress! + position, word.utf8Start, length) == 0
        else { throw failure("invalid literal") }
        position += length
        return try made(value)
    }

    private mutating func readObject(depth: Int) throws -> UnsafeMutablePointer<json_t> {
        position += 1  // {
        let object = try made(json_object())
        do {
            skipWhitespace()
            if current == UInt8(ascii: "}") {
                position += 1
                return object
            }
            while true {
                guard current == UInt8(ascii: "\"") else { throw failure("string or '}' expected") }
                // Read first, as a statement of its own: `withBytes(try readString())` would
                // evaluate `self.withBytes` (capturing `scratch` as it was) before the read
                // fills it, and hand the previous string's bytes to the key.
                let keySpan = try readString()
                // Copied: the key may live in `scratch`, which the value's strings reuse.
                let key = withBytes(keySpan) { start, count in
                    [CChar](UnsafeBufferPointer(start: start, count: count))
                }
                let keyCount = key.count
                skipWhitespace()
                guard current == UInt8(ascii: ":") else { throw failure("':' expected") }
                position += 1
                skipWhitespace()
                let value = try readValue(depth: depth)
                let stored = key.withUnsafeBufferPointer { buffer in
                    json_object_setn_new_nocheck(
                        object, buffer.baseAddress ?? UnsafeRawPointer(Self.empty.utf8Start).assumingMemoryBound(to: CChar.self),
                        keyCount, value)
                }
                if stored != 0 { throw NATSError.invalidJSON("out of memory") }
                skipWhitespace()
                guard let separator = current else { throw failure("unexpected end of input") }
                position += 1
                if separator == UInt8(ascii: "}") { return object }
                guard separator == UInt8(ascii: ",") else {
                    position -= 1
                    throw failure("',' or '}' expected")
                }
                skipWhitespace()
            }
        } catch {
            cjansson_decref(object)
            throw error
        }
    }

    private mutating func readArray(depth: Int) throws -> UnsafeMutablePointer<json_t> {
        position += 1  // [
        let array = try made(json_array())
        do {
            skipWhitespace()
            if current == UInt8(ascii: "]") {
                position += 1
                return array
            }
            while true {
                let item = try readValue(depth: depth)
                if json_array_append_new(array, item) != 0 { throw NATSError.invalidJSON("out of memory") }
                skipWhitespace()
                guard let separator = current else { throw failure("unexpected end of input") }
                position += 1
                if separator == UInt8(ascii: "]") { return array }
                guard separator == UInt8(ascii: ",") else {
                    position -= 1
                    throw failure("',' or ']' expected")
                }
                skipWhitespace()
            }
        } catch {
            cjansson_decref(array)
            throw error
        }
    }

    /// Where a string's bytes are: in the input (no escapes), or unescaped in `scratch`.
    private enum Span {
        case input(offset: Int, count: Int)
        case scratch
    }

    /// Calls `body` with a string's bytes (valid during the call only).
    private func withBytes<T>(_ span: Span, _ body: (UnsafePointer<CChar>, Int) throws -> T) rethrows -> T {
        switch span {
        case .input(let offset, let count):
            return try body((bytes.baseAddress! + offset).assumingMemoryBound(to: CChar.self), count)
        case .scratch:
            return try scratch.withUnsafeBytes { buffer in
                try body((buffer.baseAddress ?? UnsafeRawPointer(Self.empty.utf8Start)).assumingMemoryBound(to: CChar.self),
                         buffer.count)
            }
        }
    }

    private static let empty: StaticString = ""

    /// Reads a string at its opening quote.
    private mutating func readString() throws -> Span {
        position += 1  // "
        let start = position
        // Fast path: plain bytes up to the closing quote, left where they are.
        position += plainRun(bytes, from: position)
        if current == UInt8(ascii: "\"") {
            position += 1
            return .input(offset: start, count: position - 1 - start)
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[start..<position]))
        while true {
            guard let byte = current else { throw failure("unterminated string") }
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return .scratch
            case UInt8(ascii: "\\"):
                position += 1
                try readEscape()
            case 0..<0x20:
                throw failure("control character in string")
            case 0x80...:
                try copyUTF8Sequence()
            default:
                let run = max(1, plainRun(bytes, from: position))
                scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + run)]))
                position += run
            }
        }
    }

    private mutating func readEscape() throws {
        guard let byte = current else { throw failure("unterminated string") }
        position += 1
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.append(byte)
        case UInt8(ascii: "b"): scratch.append(0x08)
        case UInt8(ascii: "f"): scratch.append(0x0C)
        case UInt8(ascii: "n"): scratch.append(0x0A)
        case UInt8(ascii: "r"): scratch.append(0x0D)
        case UInt8(ascii: "t"): scratch.append(0x09)
        case UInt8(ascii: "u"):
            var scalar = try readHex4()
            if (0xD800...0xDBFF).contains(scalar) {
                guard position + 1 < bytes.count, bytes[position] == UInt8(ascii: "\\"), bytes[position + 1] == UInt8(ascii: "u")
                else { throw failure("unpaired surrogate in \\u escape") }
                position += 2
                let low = try readHex4()
                guard (0xDC00...0xDFFF).contains(low) else { throw failure("unpaired surrogate in \\u escape") }
                scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(scalar) {
                throw failure("unpaired surrogate in \\u escape")
            }
            if scalar == 0 { throw failure("\\u0000 is not allowed") }
            appendUTF8(scalar)
        default:
            position -= 1
            throw failure("invalid escape")
        }
    }

    private mutating func readHex4() throws -> UInt32 {
        guard position + 4 <= bytes.count else { throw failure("invalid \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[position]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    private mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case ..<0x80:
            scratch.append(UInt8(scalar))
        case ..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case ..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Copies one multi-byte UTF-8 sequence after checking it.
    private mutating func copyUTF8Sequence() throws {
        guard let length = utf8SequenceLength(bytes, at: position) else { throw failure("invalid UTF-8") }
        scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[position..<(position + length)]))
        position += length
    }

    private mutating func readNumber() throws -> UnsafeMutablePointer<json_t> {
        let start = position
        var negative = false
        if current == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        guard let first = current, isDigit(first) else { throw failure("invalid number") }
        position += 1
        if first != UInt8(ascii: "0") {
            while let byte = current, isDigit(byte) { position += 1 }
        }
        var isReal = false
        if current == UInt8(ascii: ".") {
            isReal = true
            position += 1
            guard let byte = current, isDigit(byte) else { throw failure("invalid number") }
            while let byte = current, isDigit(byte) { position += 1 }
        }
        if current == UInt8(ascii: "e") || current == UInt8(ascii: "E") {
            isReal = true
            position += 1
            if current == UInt8(ascii: "+") || current == UInt8(ascii: "-") { position += 1 }
            guard let byte = current, isDigit(byte) else { throw failure("invalid number") }
            while let byte = current, isDigit(byte) { position += 1 }
        }
        if !isReal {
            // Accumulated negatively: int64's minimum fits, its negation does not.
            var value: Int64 = 0
            for index in (start + (negative ? 1 : 0))..<position {
                let digit = Int64(bytes[index] - UInt8(ascii: "0"))
                let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (next, overflow2) = times10.subtractingReportingOverflow(digit)
                if overflow1 || overflow2 { throw failure("too big integer", at: start) }
                value = next
            }
            if !negative {
                guard value != Int64.min else { throw failure("too big integer", at: start) }
                value = -value
            }
            return try made(json_integer(json_int_t(value)))
        }
        let text = [CChar](unsafeUninitializedCapacity: position - start + 1) { buffer, initialized in
            memcpy(buffer.baseAddress!, bytes.baseAddress! + start, position - start)
            buffer[position - start] = 0
            initialized = position - start + 1
        }
        let value = text.withUnsafeBufferPointer { strtod($0.baseAddress!, nil) }
        guard value.isFinite else { throw failure("real number overflow", at: start) }
        return try made(json_real(value))
    }

    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    /// An error at `offset` (default: the current position), with its line and column.
    private func failure(_ text: String, at offset: Int? = nil) -> NATSError {
        let at = min(offset ?? position, bytes.count)
        var line = 1
        var column = 1
        for index in 0..<at {
            if bytes[index] == 0x0A {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return .invalidJSON("\(text) (line \(line), column \(column))")
    }
}
