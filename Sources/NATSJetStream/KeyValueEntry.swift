import NATS

/// What a key's entry says happened to it (the `KV-Operation` header; none is a put).
public enum KeyValueOperation: String, Equatable {
    case put = "PUT"
    case delete = "DEL"
    case purge = "PURGE"
}

/// One revision of a key (ADR-8).
public struct KeyValueEntry {
    public let bucket: String
    public let key: String
    public let value: [UInt8]
    /// The stream sequence of this revision.
    public let revision: UInt64
    /// Nanoseconds since the Unix epoch when it was stored (0 when unknown).
    public let createdNanoseconds: Int64
    /// How many later revisions (of the watched keys) were pending when it was delivered (0
    /// for a get).
    public let delta: UInt64
    public let operation: KeyValueOperation

    public init(
        bucket: String, key: String, value: [UInt8], revision: UInt64, createdNanoseconds: Int64, delta: UInt64,
        operation: KeyValueOperation
    ) {
        self.bucket = bucket
        self.key = key
        self.value = value
        self.revision = revision
        self.createdNanoseconds = createdNanoseconds
        self.delta = delta
        self.operation = operation
    }

    /// The same entry outside a watch (history, get): no delta.
    var withoutDelta: KeyValueEntry {
        KeyValueEntry(bucket: bucket, key: key, value: value, revision: revision, createdNanoseconds: createdNanoseconds,
                      delta: 0, operation: operation)
    }

    static func operation(of headers: Headers?) -> KeyValueOperation {
        headers?[KeyValue.operationHeader].flatMap(KeyValueOperation.init(rawValue:)) ?? .put
    }

    /// An entry from a consumer's message (a watch, keys, history).
    init?(bucket: String, consumed message: Message) {
        let prefix = KeyValue.subjectPrefix(bucket)
        let subject = message.subject
        guard subject.hasPrefix(prefix), let metadata = message.jetStreamMetadata else { return nil }
        self.init(
            bucket: bucket, key: String(subject.dropFirst(prefix.count)), value: message.payload,
            revision: metadata.streamSequence, createdNanoseconds: metadata.timestampNanoseconds, delta: metadata.pending,
            operation: Self.operation(of: message.storage.headerLength > 0 ? message.headers : nil))
    }

    /// An entry from a stored message (a get: headers `Nats-Subject`, `Nats-Sequence`,
    /// `Nats-Time-Stamp`).
    init?(bucket: String, stored message: Message) {
        let prefix = KeyValue.subjectPrefix(bucket)
        let headers = message.headers
        let subject = message.subject
        guard subject.hasPrefix(prefix), let sequence = headers?[StoredMessageHeader.sequence].flatMap(UInt64.init) else {
            return nil
        }
        self.init(
            bucket: bucket, key: String(subject.dropFirst(prefix.count)), value: message.payload, revision: sequence,
            createdNanoseconds: headers?[StoredMessageHeader.timeStamp].flatMap(RFC3339.nanoseconds) ?? 0, delta: 0,
            operation: Self.operation(of: headers))
    }
}

/// RFC 3339 times as the server writes them ("2024-05-01T10:20:30.123456789Z"), read without
/// Foundation.
enum RFC3339 {
    static func nanoseconds(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        func number(_ range: Range<Int>) -> Int64? {
            guard range.upperBound <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[range] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        guard bytes.count >= 20, let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
            let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19)
        else { return nil }
        var index = 19
        var fraction: Int64 = 0
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 48 && bytes[index] <= 57 {
                if digits < 9 { fraction = fraction * 10 + Int64(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            if digits < 9 { for _ in digits..<9 { fraction *= 10 } }
        }
        var offset: Int64 = 0
        if index < bytes.count && (bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-")) {
            guard let hours = number((index + 1)..<(index + 3)), let minutes = number((index + 4)..<(index + 6)) else { return nil }
            offset = (hours * 60 + minutes) * 60 * (bytes[index] == UInt8(ascii: "+") ? 1 : -1)
        }
        // Days from the civil date (Howard Hinnant's algorithm).
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = (month + 9) % 12
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset
        return seconds * 1_000_000_000 + fraction
    }
}

/// The RFC 3339 reader, for tests.
public enum RFC3339Probe {
    public static func nanoseconds(_ text: String) -> Int64? { RFC3339.nanoseconds(text) }
}
