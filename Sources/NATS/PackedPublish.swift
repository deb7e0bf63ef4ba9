/// Messages to publish as flat records, the mirror of `PackedMessage`, for bindings that
/// publish many messages per call (snats_publish_packed()): four native-endian uint32
/// lengths (subject, reply, header block, payload; 0 for no reply and no header block), then
/// those bytes, unpadded. Records follow each other.
public enum PackedPublish {
    /// One record's parts, lent from the caller's buffer.
    struct Record {
        let subject: UnsafeRawBufferPointer
        let reply: UnsafeRawBufferPointer?
        let headers: UnsafeRawBufferPointer?
        let payload: UnsafeRawBufferPointer
        /// Offset of the next record.
        let end: Int
    }

    /// Reads and checks the record at `offset`. `checkedSubject` is the subject of the record
    /// before, already checked: publishers repeat a few subjects, so an identical one is not
    /// scanned again.
    static func record(
        in records: UnsafeRawBufferPointer, at offset: Int, checkedSubject: inout UnsafeRawBufferPointer?
    ) throws -> Record {
        guard let base = records.baseAddress, records.count - offset >= PackedMessage.prefix else {
            throw NATSError.invalidArgument("packed record at byte \(offset) is cut short in its lengths")
        }
        let start = base + offset
        let subjectLength = Int(start.loadUnaligned(as: UInt32.self))
        let replyLength = Int(start.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
        let headerLength = Int(start.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
        let payloadLength = Int(start.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
        let bodyStart = offset + PackedMessage.prefix
        let end = bodyStart + subjectLength + replyLength + headerLength + payloadLength
        guard end <= records.count else {
            throw NATSError.invalidArgument("packed record at byte \(offset) runs past the end of the buffer")
        }
        var cursor = base + bodyStart
        func take(_ count: Int) -> UnsafeRawBufferPointer {
            defer { cursor += count }
            return UnsafeRawBufferPointer(start: cursor, count: count)
        }
        let subject = take(subjectLength)
        let reply = take(replyLength)
        let headers = take(headerLength)
        let payload = take(payloadLength)
        if !(checkedSubject.map { $0.elementsEqual(subject) } ?? false) {
            guard Subject.isValidPublishSubject(subject) else {
                throw NATSError.invalidSubject(String(decoding: subject, as: UTF8.self))
            }
            checkedSubject = subject
        }
        if replyLength > 0, !Subject.isValidPublishSubject(reply) {
            throw NATSError.invalidSubject(String(decoding: reply, as: UTF8.self))
        }
        if headerLength > 0, !isHeaderBlock(headers) {
            throw NATSError.invalidArgument(
                "packed record at byte \(offset): a header block starts with NATS/1.0 and ends with an empty line")
        }
        return Record(
            subject: subject, reply: replyLength > 0 ? reply : nil, headers: headerLength > 0 ? headers : nil,
            payload: payload, end: end)
    }

    /// The framing a server and the receivers rely on: the version line first, and the blank
    /// line that ends the block last. (Lines in between are the receivers' to interpret.)
    static func isHeaderBlock(_ block: UnsafeRawBufferPointer) -> Bool {
        let version: StaticString = "NATS/1.0"
        let terminator: [UInt8] = [13, 10, 13, 10]
        let versionBytes = UnsafeRawBufferPointer(start: version.utf8Start, count: version.utf8CodeUnitCount)
        return block.count >= versionBytes.count + terminator.count
            && block.starts(with: versionBytes)
            && block.suffix(terminator.count).elementsEqual(terminator)
    }
}

/// A packed publish that stopped at a record: the records before it were published.
public struct PackedPublishFailure: Error {
    public let published: Int
    public let error: NATSError
}
