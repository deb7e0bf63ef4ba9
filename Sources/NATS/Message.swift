#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers

/// One received message. A value type over `MessageStorage`, which holds subject, reply,
/// header block and payload in a single allocation, each NUL-terminated so that the C ABI can
/// hand out pointers into it without copying (as nats.c's `natsMsg` does).
public struct Message {
    public let storage: MessageStorage

    public init(storage: MessageStorage) { self.storage = storage }

    /// A message made from its parts rather than read from a link (a stored message that the
    /// JetStream API returned as JSON): `headerBlock` is an encoded `NATS/1.0` block or empty.
    public init(subject: String, reply: String? = nil, headerBlock: [UInt8] = [], payload: [UInt8], connection: Connection?) {
        var bytes = Array(subject.utf8)
        let subjectRange = 0..<bytes.count
        var replyRange: Range<Int>?
        if let reply {
            bytes += reply.utf8
            replyRange = subjectRange.upperBound..<bytes.count
        }
        let bodyStart = bytes.count
        bytes += headerBlock
        bytes += payload
        let inbound = InboundMessage(
            subject: subjectRange, sid: 0, reply: replyRange, headerLength: headerBlock.count,
            body: bodyStart..<bytes.count)
        storage = bytes.withUnsafeBytes { MessageStorage.make(inbound, in: $0, connection: connection) }
    }

    public var subject: String { storage.string(storage.subjectRange) }
    public var reply: String? { storage.replySubject }
    public var payload: [UInt8] { storage.withPayload { Array($0) } }
    public var payloadCount: Int { storage.header.payloadLength }

    /// The parsed header block, nil when the message carries none.
    public var headers: Headers? {
        guard storage.header.headerLength > 0 else { return nil }
        return storage.withHeaderBlock { try? Headers.parse($0) }
    }

    /// The inline status code (503 for no responders), 0 when none.
    public var statusCode: Int { headers?.statusCode ?? 0 }

    public var isNoResponders: Bool {
        storage.header.headerLength > 0 && storage.header.payloadLength == 0 && statusCode == 503
    }

    /// The connection it arrived on, if any: used to reply.
    public var connection: Connection? { storage.header.connection }
}

/// Offsets and lengths of the four NUL-terminated sections, and the message's origin.
public struct MessageLayout {
    var subjectLength: Int
    var replyLength: Int  // -1: no reply subject
    var headerLength: Int  // 0: no header block
    var payloadLength: Int
    var sid: UInt64
    var connection: Connection?
    /// A lazily built view derived from the header block (the C ABI keeps its C-string table
    /// here), guarded by `MessageStorage.cacheLock`.
    var derivedCache: AnyObject?
    /// How many references a C caller owns (handed out, or retained), guarded by
    /// `MessageStorage.ownershipLock`: a release beyond them (a message lent to a callback, or
    /// released twice while the library still holds it) is refused instead of freeing memory
    /// the library still uses.
    var callerReferences: Int = 0
    /// Set once a final acknowledgement (ack, nak, term) went for a JetStream message, guarded
    /// by `MessageStorage.ownershipLock`: the second is refused, as nats.go refuses it.
    var acknowledged = false
}

public final class MessageStorage: ManagedBuffer<MessageLayout, UInt8> {
    public static let cacheLock = NIOLock()
    static let ownershipLock = NIOLock()

    /// Records a final acknowledgement; false when one was recorded already.
    public func markAcknowledged() -> Bool {
        Self.ownershipLock.withLock {
            if header.acknowledged { return false }
            header.acknowledged = true
            return true
        }
    }

    /// Takes back `markAcknowledged` when the acknowledgement could not be sent.
    public func clearAcknowledged() {
        Self.ownershipLock.withLock { header.acknowledged = false }
    }

    public var isAcknowledged: Bool { Self.ownershipLock.withLock { header.acknowledged } }

    /// Counts one more reference owned by a C caller (a message handed out, or retained).
    public func addCallerReference() {
        Self.ownershipLock.withLock { header.callerReferences += 1 }
    }

    /// Gives back one reference owned by a C caller; false when the caller owns none, so the
    /// release must not happen: the message was lent (to a callback), or is released twice.
    public func dropCallerReference() -> Bool {
        Self.ownershipLock.withLock {
            guard header.callerReferences > 0 else { return false }
            header.callerReferences -= 1
            return true
        }
    }

    /// Copies the message `inbound` locates in `bytes` into one new storage.
    static func make(_ inbound: InboundMessage, in bytes: UnsafeRawBufferPointer, connection: Connection?) -> MessageStorage {
        let replyCount = inbound.reply?.count ?? 0
        let total = inbound.subject.count + 1 + replyCount + 1 + inbound.body.count + 2
        let buffer = MessageStorage.create(minimumCapacity: total) { _ in
            MessageLayout(
                subjectLength: inbound.subject.count, replyLength: inbound.reply == nil ? -1 : replyCount,
                headerLength: inbound.headerLength, payloadLength: inbound.body.count - inbound.headerLength,
                sid: inbound.sid, connection: connection, derivedCache: nil)
        }
        // `create` on a subclass returns an instance of that subclass.
        let storage = unsafeDowncast(buffer, to: MessageStorage.self)
        storage.withUnsafeMutablePointerToElements { base in
            var cursor = UnsafeMutableRawPointer(base)
            func put(_ range: Range<Int>) {
                if !range.isEmpty, let source = bytes.baseAddress {
                    cursor.copyMemory(from: source + range.lowerBound, byteCount: range.count)
                    cursor += range.count
                }
                cursor.storeBytes(of: 0, as: UInt8.self)
                cursor += 1
            }
            put(inbound.subject)
            put(inbound.reply ?? 0..<0)
            let body = inbound.body
            put(body.lowerBound..<(body.lowerBound + inbound.headerLength))
            put((body.lowerBound + inbound.headerLength)..<body.upperBound)
        }
        return storage
    }

    var subjectRange: Range<Int> { 0..<header.subjectLength }
    var hasReply: Bool { header.replyLength >= 0 }
    var replyRange: Range<Int> {
        let start = header.subjectLength + 1
        return start..<(start + max(0, header.replyLength))
    }
    var headerRange: Range<Int> {
        let start = replyRange.upperBound + 1
        return start..<(start + header.headerLength)
    }
    var payloadRange: Range<Int> {
        let start = headerRange.upperBound + 1
        return start..<(start + header.payloadLength)
    }

    public var sid: UInt64 { header.sid }

    /// Pointer to a NUL-terminated section; valid while this storage is alive.
    public func pointer(at offset: Int) -> UnsafePointer<CChar> {
        withUnsafeMutablePointerToElements { UnsafeRawPointer($0 + offset).assumingMemoryBound(to: CChar.self) }
    }

    public var subjectPointer: UnsafePointer<CChar> { pointer(at: subjectRange.lowerBound) }

    /// Whether the subject is exactly `bytes` (compared in place: no String made).
    public func subjectEquals(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard header.subjectLength == bytes.count else { return false }
        guard let expected = bytes.baseAddress else { return true }
        return memcmp(subjectPointer, expected, bytes.count) == 0
    }
    public var replyPointer: UnsafePointer<CChar>? { hasReply ? pointer(at: replyRange.lowerBound) : nil }
    public var payloadPointer: UnsafePointer<CChar> { pointer(at: payloadRange.lowerBound) }
    /// The reply subject, nil when the message has none.
    public var replySubject: String? { hasReply ? string(replyRange) : nil }
    public var payloadLength: Int { header.payloadLength }
    public var headerLength: Int { header.headerLength }

    func string(_ range: Range<Int>) -> String {
        withUnsafeMutablePointerToElements { base in
            String(decoding: UnsafeBufferPointer(start: base + range.lowerBound, count: range.count), as: UTF8.self)
        }
    }

    public func withPayload<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let range = payloadRange
        return try withUnsafeMutablePointerToElements { base in
            try body(UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count))
        }
    }

    public func withHeaderBlock<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let range = headerRange
        return try withUnsafeMutablePointerToElements { base in
            try body(UnsafeRawBufferPointer(start: base + range.lowerBound, count: range.count))
        }
    }

    /// Returns the cached derived object, building it once.
    public func derived<T: AnyObject>(_ build: () -> T) -> T {
        Self.cacheLock.withLock {
            if let cached = header.derivedCache as? T { return cached }
            let made = build()
            header.derivedCache = made
            return made
        }
    }
}
