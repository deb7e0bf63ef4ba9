/// Reads the ack a server sends for almost every publish, `{"stream":"S","seq":N}` (with
/// `domain` and `duplicate` when they apply), straight from the reply's bytes: an
/// asynchronous publish decodes one per message, and a JSON tree for each cost a fifth of the
/// client's time.
///
/// It only accepts what it can read exactly as the JSON decoder would: compact, ASCII, those
/// four members each at most once, nothing else. Anything more (an error, whitespace, escapes,
/// a member a newer server adds) is left to the full decoder: `scan` returns nil.
struct PubAckScanner {
    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    private init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    static func scan(_ bytes: UnsafeRawBufferPointer) -> PubAck? {
        var scanner = PubAckScanner(bytes)
        return scanner.ack()
    }

    private mutating func ack() -> PubAck? {
        var stream: String?
        var sequence: UInt64?
        var domain: String?
        var duplicate: Bool?
        guard take(UInt8(ascii: "{")) else { return nil }
        repeat {
            guard let key = string() else { return nil }
            guard take(UInt8(ascii: ":")) else { return nil }
            // A value it cannot read ends the scan: nothing after it is looked at.
            switch key {
            case "stream" where stream == nil:
                guard let value = string() else { return nil }
                stream = value
            case "seq" where sequence == nil:
                guard let value = unsigned() else { return nil }
                sequence = value
            case "domain" where domain == nil:
                guard let value = string() else { return nil }
                domain = value
            case "duplicate" where duplicate == nil:
                guard let value = boolean() else { return nil }
                duplicate = value
            default:
                return nil
            }
        } while take(UInt8(ascii: ","))
        guard take(UInt8(ascii: "}")), index == bytes.count, let stream, let sequence else { return nil }
        return PubAck(stream: stream, sequence: sequence, duplicate: duplicate ?? false, domain: domain)
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    /// A string of printable ASCII without escapes.
    private mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        let start = index
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                defer { index += 1 }
                return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
            }
            guard byte >= 0x20, byte < 0x7F, byte != UInt8(ascii: "\\") else { return nil }
            index += 1
        }
        return nil
    }

    /// A non-negative integer as JSON writes it (no leading zero), within Int64 as the decoder
    /// keeps integers.
    private mutating func unsigned() -> UInt64? {
        let start = index
        var value: UInt64 = 0
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
            let byte = bytes[index]
            let (times, overflow) = value.multipliedReportingOverflow(by: 10)
            let (sum, carry) = times.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow, !carry, sum <= UInt64(Int64.max) else { return nil }
            value = sum
            index += 1
        }
        let digits = index - start
        guard digits > 0, digits == 1 || bytes[start] != UInt8(ascii: "0") else { return nil }
        // A fraction or exponent makes it a real number: the full decoder's business.
        guard index == bytes.count || (bytes[index] != UInt8(ascii: ".") && bytes[index] | 0x20 != UInt8(ascii: "e")) else {
            return nil
        }
        return value
    }

    private mutating func boolean() -> Bool? {
        if matches("true") {
            index += 4
            return true
        }
        if matches("false") {
            index += 5
            return false
        }
        return nil
    }

    private func matches(_ word: StaticString) -> Bool {
        let count = word.utf8CodeUnitCount
        guard bytes.count - index >= count else { return false }
        return word.withUTF8Buffer { expected in
            (0..<count).allSatisfy { bytes[index + $0] == expected[$0] }
        }
    }
}
