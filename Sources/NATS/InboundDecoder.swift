import NIOCore

/// The receive loop: decodes the ops of each read where they lie and carries an op that
/// straddles two reads over to the next one. `ConnectionHandler` feeds it every read; the
/// fuzz target in `Fuzz/` drives the same code with arbitrary splits (hence the SPI).
///
/// It applies an INFO's max_payload to its parser itself, before handing the op on: a handler
/// that set `parser.maxPayload` from inside the loop would modify the parser while the
/// mutating call running the loop still holds it (an overlapping access).
@_spi(Fuzzing) public struct InboundDecoder {
    public private(set) var parser = ProtocolParser()
    /// Bytes of an op that has not fully arrived yet, kept for the next read.
    public private(set) var leftover: ByteBuffer?

    public init() {}

    /// Handles every complete op of a read, in order: first the op left over from the previous
    /// read, then those of `buffer`. `handle` gets each op with the op's own bytes, which a
    /// message's ranges index (valid during the call only). An incomplete op at the end is
    /// copied out (so NIO can reuse its receive buffer) and kept for the next read.
    public mutating func read(
        _ buffer: inout ByteBuffer, allocator: ByteBufferAllocator,
        handle: (ServerOp, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        if leftover != nil, try !completeLeftover(from: &buffer, handle: handle) {
            return
        }
        try handleOps(in: &buffer, handle: handle)
        if buffer.readableBytes > 0 {
            var kept = allocator.buffer(capacity: buffer.readableBytes)
            kept.writeBuffer(&buffer)
            leftover = kept
        }
    }

    /// Forgets the op in progress (the link failed).
    public mutating func discardLeftover() {
        leftover = nil
    }

    /// Finishes the op that straddled the previous read by moving into `leftover` only the
    /// bytes it still needs (the rest of its control line, then its payload), so the new read
    /// is parsed where it lies instead of being copied behind the old tail. Returns false when
    /// the new read ended before the op did.
    private mutating func completeLeftover(
        from buffer: inout ByteBuffer, handle: (ServerOp, UnsafeRawBufferPointer) throws -> Void
    ) throws -> Bool {
        guard var kept = leftover else { return true }
        leftover = nil
        while kept.readableBytes > 0 {
            try handleOps(in: &kept, handle: handle)
            if kept.readableBytes == 0 { break }
            guard buffer.readableBytes > 0 else {
                leftover = kept
                return false
            }
            let take: Int
            if let needed = parser.bytesNeeded {
                take = min(needed, buffer.readableBytes)
            } else if let lineFeed = buffer.readableBytesView.firstIndex(of: 10) {
                take = lineFeed - buffer.readerIndex + 1
            } else {
                take = buffer.readableBytes
            }
            // `take` is at most the readable bytes, so the slice exists.
            guard var piece = buffer.readSlice(length: take) else { break }
            kept.writeBuffer(&piece)
        }
        return true
    }

    /// Handles every complete op in `buffer` where it lies, leaving an incomplete one unread.
    private mutating func handleOps(
        in buffer: inout ByteBuffer, handle: (ServerOp, UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let consumed = try buffer.withUnsafeReadableBytes { bytes -> Int in
            var offset = 0
            while let frame = try parser.decode(UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
                let end = offset + frame.length
                if case .info(let info) = frame.op { parser.maxPayload = max(info.maxPayload, 1) }
                try handle(frame.op, UnsafeRawBufferPointer(rebasing: bytes[offset..<end]))
                offset = end
            }
            return offset
        }
        buffer.moveReaderIndex(forwardBy: consumed)
    }
}
