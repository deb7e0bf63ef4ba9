#if canImport(Glibc)
import Glibc
#endif

/// One client op this library encoded into an `OutboundBuffer`, read back: where it ends and,
/// for a publish, its subject and size. Used off the hot path only: to replay the reconnect
/// buffer against a new server's max_payload, to find where the next whole op starts after a
/// partial socket write, and to count the publishes dropped with a dead link. The bytes are
/// our own encoding, so the reading is short; anything else reads as "not an op" (nil).
struct OutboundOp {
    /// Control line, payload and the payload's CRLF.
    let length: Int
    let isPublish: Bool
    /// Where the subject lies in the bytes read (publishes only).
    let subject: Range<Int>
    /// The bytes the server counts against max_payload: PUB's size, HPUB's total size.
    let size: Int

    static func read(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> OutboundOp? {
        guard let base = bytes.baseAddress, offset < bytes.count,
            let found = memchr(base + offset, 0x0A, bytes.count - offset)
        else { return nil }
        let lineFeed = UnsafeRawPointer(found) - base
        let lineLength = lineFeed + 1 - offset
        let isPublish = bytes[offset] == UInt8(ascii: "P") && lineLength > 4 && bytes[offset + 1] == UInt8(ascii: "U")
            || bytes[offset] == UInt8(ascii: "H") && lineLength > 5
        guard isPublish else { return OutboundOp(length: lineLength, isPublish: false, subject: 0..<0, size: 0) }
        // "PUB subject [reply] size\r\n" or "HPUB subject [reply] hsize tsize\r\n": the subject
        // is the second token, the last one the size that follows the line.
        let subjectStart = offset + (bytes[offset] == UInt8(ascii: "H") ? 5 : 4)
        var subjectEnd = subjectStart
        while subjectEnd < lineFeed && bytes[subjectEnd] != UInt8(ascii: " ") { subjectEnd += 1 }
        var sizeStart = lineFeed - 1  // the CR
        while sizeStart > subjectEnd && bytes[sizeStart - 1] != UInt8(ascii: " ") { sizeStart -= 1 }
        var size = 0
        for index in sizeStart..<(lineFeed - 1) {
            let digit = Int(bytes[index]) - 48
            guard digit >= 0 && digit <= 9, size < Int.max / 20 else { return nil }
            size = size * 10 + digit
        }
        let length = lineLength + size + 2
        guard offset + length <= bytes.count else { return nil }
        return OutboundOp(length: length, isPublish: true, subject: subjectStart..<subjectEnd, size: size)
    }
}

extension OutboundBuffer {
    /// Appends the publishes of `buffered` (the reconnect buffer) that a server with
    /// `maxPayload` takes, in order, and returns the subjects of those it does not: sending one
    /// would make the server close the link, and lose every publish behind it.
    mutating func appendPublishes(of buffered: OutboundBuffer, upTo maxPayload: Int) -> [String] {
        buffered.withBytes { bytes in
            var refused: [String] = []
            var offset = 0
            while offset < bytes.count {
                guard let op = OutboundOp.read(bytes, at: offset) else {
                    // Not ours to judge: passed on as it is.
                    appendBytes(UnsafeRawBufferPointer(rebasing: bytes[offset...]), publishes: 0)
                    break
                }
                let whole = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + op.length)])
                if op.isPublish && maxPayload > 0 && op.size > maxPayload {
                    refused.append(String(decoding: UnsafeRawBufferPointer(rebasing: bytes[op.subject]), as: UTF8.self))
                } else {
                    appendBytes(whole, publishes: op.isPublish ? 1 : 0)
                }
                offset += op.length
            }
            return refused
        }
    }

    /// How many publishes end in `bytes[from..<upTo]` (whole ops from `from` on), and where
    /// the op that straddles `upTo` (if any) ends and whether it is a publish: the walk of a
    /// partial write.
    static func publishesWritten(
        _ bytes: UnsafeRawBufferPointer, from start: Int, upTo written: Int
    ) -> (count: Int, nextOp: Int, straddlerIsPublish: Bool) {
        var offset = start
        var count = 0
        while offset < written {
            // Not ours to read (cannot happen): the rest counts as one unknown op.
            guard let op = OutboundOp.read(bytes, at: offset) else { return (count, bytes.count, false) }
            if offset + op.length > written { return (count, offset + op.length, op.isPublish) }
            if op.isPublish { count += 1 }
            offset += op.length
        }
        return (count, offset, false)
    }
}
