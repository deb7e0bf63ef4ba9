#if canImport(Glibc)
import Glibc
#endif

/// Bytes waiting to be written: the client ops encoded back to back in one growable block
/// of raw memory, reused across flushes. Publishing is the hot path; plain `memcpy` appends
/// cost a fraction of `ByteBuffer` writes, which pay a uniqueness and exclusivity check each.
/// A value with one owner at a time: the connection keeps two and swaps them under its lock.
struct OutboundBuffer {
    private(set) var base: UnsafeMutableRawPointer?
    private(set) var count = 0
    private var capacity = 0
    /// Publishes with bytes in the buffer (one partly written included): what is lost when the
    /// buffer is dropped with a dead link.
    private(set) var publishes = 0
    /// Bytes at the head that finish an op a partial write began; whole ops follow them.
    private var partialHead = 0
    private var partialHeadIsPublish = false

    var isEmpty: Bool { count == 0 }

    /// Frees the memory; the buffer is empty and usable afterwards.
    mutating func release() {
        free(base)
        base = nil
        count = 0
        capacity = 0
        publishes = 0
        partialHead = 0
        partialHeadIsPublish = false
    }

    mutating func removeAll() {
        count = 0
        publishes = 0
        partialHead = 0
        partialHeadIsPublish = false
    }

    /// Drops the first `written` bytes, keeping the rest in order. A partial write (the socket
    /// took less than everything) walks the ops written, to keep `publishes` exact.
    mutating func removeFirst(_ written: Int) {
        guard written > 0, let base else { return }
        if written >= count {
            removeAll()
            return
        }
        if written < partialHead {
            partialHead -= written
        } else {
            let walk = withBytes { Self.publishesWritten($0, from: partialHead, upTo: written) }
            publishes -= walk.count + (partialHead > 0 && partialHeadIsPublish ? 1 : 0)
            partialHead = walk.nextOp - written
            partialHeadIsPublish = walk.straddlerIsPublish
        }
        memmove(base, base + written, count - written)
        count -= written
    }

    /// Gives back memory after a burst, so one large flush does not pin it for good.
    mutating func shrinkIfLarge(keeping limit: Int) {
        if capacity > limit && count == 0 { release() }
    }

    @inline(__always)
    private mutating func reserve(_ extra: Int) {
        let needed = count + extra
        if needed <= capacity { return }
        var newCapacity = max(capacity * 2, 64 * 1024)
        while newCapacity < needed { newCapacity *= 2 }
        // realloc fails only when memory is exhausted; there is no sensible recovery.
        base = realloc(base, newCapacity)
        capacity = newCapacity
    }

    @inline(__always)
    private mutating func appendUnchecked(_ bytes: UnsafeRawBufferPointer) {
        guard let source = bytes.baseAddress, bytes.count > 0, let base else { return }
        (base + count).copyMemory(from: source, byteCount: bytes.count)
        count += bytes.count
    }

    @inline(__always)
    private mutating func appendByte(_ byte: UInt8) {
        base?.storeBytes(of: byte, toByteOffset: count, as: UInt8.self)
        count += 1
    }

    @inline(__always)
    private mutating func appendCRLF() {
        base?.storeBytes(of: 0x0A0D, toByteOffset: count, as: UInt16.self)
        count += 2
    }

    /// At most 20 digits, reserved by the caller.
    @inline(__always)
    private mutating func appendDecimal(_ value: Int) {
        guard let base else { return }
        if value < 10 {
            appendByte(UInt8(48 + value))
            return
        }
        var digits = 0
        var remaining = value
        while remaining > 0 {
            digits += 1
            remaining /= 10
        }
        remaining = value
        var index = count + digits - 1
        while remaining > 0 {
            base.storeBytes(of: UInt8(48 + remaining % 10), toByteOffset: index, as: UInt8.self)
            remaining /= 10
            index -= 1
        }
        count += digits
    }

    private mutating func appendStatic(_ text: StaticString) {
        appendUnchecked(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private mutating func append(_ text: String) {
        var copy = text
        copy.withUTF8 { appendUnchecked(UnsafeRawBufferPointer($0)) }
    }

    // MARK: client ops

    /// `PUB subject [reply] size\r\npayload\r\n`, or `HPUB subject [reply] hsize tsize\r\n...`
    /// when `headers` is non-empty.
    mutating func appendPublish(
        subject: UnsafeRawBufferPointer, reply: UnsafeRawBufferPointer?,
        headers: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer
    ) {
        let headerCount = headers?.count ?? 0
        let replyCount = reply?.count ?? 0
        reserve(5 + subject.count + 1 + replyCount + 1 + 40 + 2 + headerCount + payload.count + 2)
        if headerCount > 0 {
            appendStatic("HPUB ")
        } else {
            appendStatic("PUB ")
        }
        appendUnchecked(subject)
        appendByte(UInt8(ascii: " "))
        if let reply, replyCount > 0 {
            appendUnchecked(reply)
            appendByte(UInt8(ascii: " "))
        }
        if let headers, headerCount > 0 {
            appendDecimal(headerCount)
            appendByte(UInt8(ascii: " "))
            appendDecimal(headerCount + payload.count)
            appendCRLF()
            appendUnchecked(headers)
        } else {
            appendDecimal(payload.count)
            appendCRLF()
        }
        appendUnchecked(payload)
        appendCRLF()
        publishes += 1
    }

    mutating func appendSubscribe(subject: String, queue: String?, sid: UInt64) {
        reserve(4 + subject.utf8.count + 1 + (queue?.utf8.count ?? 0) + 1 + 22)
        appendStatic("SUB ")
        append(subject)
        appendByte(UInt8(ascii: " "))
        if let queue, !queue.isEmpty {
            append(queue)
            appendByte(UInt8(ascii: " "))
        }
        appendDecimal(Int(sid))
        appendCRLF()
    }

    mutating func appendUnsubscribe(sid: UInt64, max: Int?) {
        reserve(6 + 22 + 22 + 2)
        appendStatic("UNSUB ")
        appendDecimal(Int(sid))
        if let max {
            appendByte(UInt8(ascii: " "))
            appendDecimal(max)
        }
        appendCRLF()
    }

    /// Appends bytes already encoded as client ops, holding `publishes` publishes.
    mutating func appendBytes(_ bytes: UnsafeRawBufferPointer, publishes added: Int) {
        reserve(bytes.count)
        appendUnchecked(bytes)
        publishes += added
    }

    mutating func appendPing() {
        reserve(6)
        appendStatic("PING\r\n")
    }

    mutating func appendPong() {
        reserve(6)
        appendStatic("PONG\r\n")
    }

    func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try body(UnsafeRawBufferPointer(start: base, count: count))
    }
}
