/// A message as one flat record, for bindings that take many messages per call
/// (snats_sub_next_msgs()): four native-endian uint32 lengths
/// (subject, reply, header block, payload), then those bytes, unpadded.
public enum PackedMessage {
    public static let prefix = 4 * MemoryLayout<UInt32>.size

    public static func size(of storage: MessageStorage) -> Int {
        prefix + storage.header.subjectLength + max(0, storage.header.replyLength)
            + storage.header.headerLength + storage.header.payloadLength
    }

    /// Writes `storage` at `cursor`; returns the position after it.
    public static func write(_ storage: MessageStorage, at cursor: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
        let header = storage.header
        let lengths = [header.subjectLength, max(0, header.replyLength), header.headerLength, header.payloadLength]
        var position = cursor
        for length in lengths {
            position.storeBytes(of: UInt32(truncatingIfNeeded: length), as: UInt32.self)
            position += MemoryLayout<UInt32>.size
        }
        let ranges = [storage.subjectRange, storage.replyRange, storage.headerRange, storage.payloadRange]
        for range in ranges where !range.isEmpty {
            position.copyMemory(from: storage.pointer(at: range.lowerBound), byteCount: range.count)
            position += range.count
        }
        return position
    }
}

