/// A `NATS/1.0` header block: ordered keys, each with one or more values, plus the optional
/// inline status (`NATS/1.0 503`) servers use for no-responders and similar signals.
/// Keys compare exactly, as nats.go and nats.c do since headers stopped being MIME-canonical.
public struct Headers: Equatable, Sequence {
    public struct Entry: Equatable {
        public var name: String
        public var values: [String]
    }

    public private(set) var entries: [Entry] = []
    /// The inline status code, 0 when the block has none.
    public var statusCode: Int = 0
    /// Text after the status code, empty when none.
    public var statusDescription: String = ""

    public init() {}

    public var isEmpty: Bool { entries.isEmpty && statusCode == 0 }

    public func makeIterator() -> IndexingIterator<[Entry]> { entries.makeIterator() }

    public subscript(name: String) -> String? { values(for: name).first }

    public func values(for name: String) -> [String] {
        entries.first { $0.name == name }?.values ?? []
    }

    /// Adds a value after the existing ones of `name`.
    public mutating func add(_ name: String, _ value: String) throws {
        try Self.check(name: name, value: value)
        if let index = entries.firstIndex(where: { $0.name == name }) {
            entries[index].values.append(value)
        } else {
            entries.append(Entry(name: name, values: [value]))
        }
    }

    /// Replaces every value of `name` with `value`.
    public mutating func set(_ name: String, _ value: String) throws {
        try Self.check(name: name, value: value)
        if let index = entries.firstIndex(where: { $0.name == name }) {
            entries[index].values = [value]
        } else {
            entries.append(Entry(name: name, values: [value]))
        }
    }

    /// Removes `name`; returns whether it was present.
    @discardableResult
    public mutating func remove(_ name: String) -> Bool {
        guard let index = entries.firstIndex(where: { $0.name == name }) else { return false }
        entries.remove(at: index)
        return true
    }

    /// Keys are tokens (no whitespace, no ':'), values one line: anything else would let a
    /// caller inject headers or break framing.
    static func check(name: String, value: String) throws {
        if name.isEmpty { throw NATSError.invalidArgument("header name is empty") }
        for byte in name.utf8 where byte <= 32 || byte == 127 || byte == UInt8(ascii: ":") {
            throw NATSError.invalidArgument("header name \"\(name)\" contains a space, control character or ':'")
        }
        for byte in value.utf8 where byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n") {
            throw NATSError.invalidArgument("header value for \"\(name)\" contains CR or LF")
        }
    }

    // MARK: wire form

    static let versionLine = Array("NATS/1.0".utf8)

    /// The encoded block, `NATS/1.0[ status]\r\n` + `Name: value\r\n`... + `\r\n`.
    public func encoded() -> [UInt8] {
        var bytes = Self.versionLine
        if statusCode != 0 {
            bytes.append(UInt8(ascii: " "))
            bytes.append(contentsOf: String(statusCode).utf8)
            if !statusDescription.isEmpty {
                bytes.append(UInt8(ascii: " "))
                bytes.append(contentsOf: statusDescription.utf8)
            }
        }
        bytes.append(contentsOf: [13, 10])
        for entry in entries {
            for value in entry.values {
                bytes.append(contentsOf: entry.name.utf8)
                bytes.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: " ")])
                bytes.append(contentsOf: value.utf8)
                bytes.append(contentsOf: [13, 10])
            }
        }
        bytes.append(contentsOf: [13, 10])
        return bytes
    }

    /// Parses a block as it arrives in HMSG. Malformed lines are skipped rather than failing
    /// the whole message: one bad header from a peer must not lose the payload.
    public static func parse(_ block: UnsafeRawBufferPointer) throws -> Headers {
        var headers = Headers()
        var lines = splitLines(block)
        guard !lines.isEmpty else { throw NATSError.protocolError("empty header block") }
        let first = lines.removeFirst()
        guard first.starts(with: versionLine) else {
            throw NATSError.protocolError("header block does not start with NATS/1.0")
        }
        let rest = first.dropFirst(versionLine.count).drop { $0 == UInt8(ascii: " ") }
        if !rest.isEmpty {
            let codeBytes = rest.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
            if codeBytes.count == 3, let code = Int(String(decoding: codeBytes, as: UTF8.self)) {
                headers.statusCode = code
                let description = rest.dropFirst(3).drop { $0 == UInt8(ascii: " ") }
                headers.statusDescription = String(decoding: description, as: UTF8.self)
            }
        }
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let name = String(decoding: line[line.startIndex..<colon], as: UTF8.self)
            let valueBytes = line[(colon + 1)...].drop { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
            var trimmed = valueBytes[...]
            while let last = trimmed.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") {
                trimmed = trimmed.dropLast()
            }
            guard !name.isEmpty else { continue }
            let value = String(decoding: trimmed, as: UTF8.self)
            if let index = headers.entries.firstIndex(where: { $0.name == name }) {
                headers.entries[index].values.append(value)
            } else {
                headers.entries.append(Entry(name: name, values: [value]))
            }
        }
        return headers
    }

    private static func splitLines(_ block: UnsafeRawBufferPointer) -> [ArraySlice<UInt8>] {
        let bytes = Array(block)
        var lines: [ArraySlice<UInt8>] = []
        var start = 0
        var index = 0
        while index < bytes.count {
            if bytes[index] == 10 {
                var end = index
                if end > start && bytes[end - 1] == 13 { end -= 1 }
                lines.append(bytes[start..<end])
                start = index + 1
            }
            index += 1
        }
        if start < bytes.count { lines.append(bytes[start..<bytes.count]) }
        return lines
    }
}
