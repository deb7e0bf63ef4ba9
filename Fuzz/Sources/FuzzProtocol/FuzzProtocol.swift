// libFuzzer target: the receive path, driven through `InboundDecoder`, the loop that
// `ConnectionHandler.channelRead` runs on every read.
//
// Input: one split byte, then the bytes a server sends. The stream is decoded twice, as one
// read and as reads of lengths derived from the split byte (low two bits 0: one byte per read;
// else pseudo-random lengths up to 7, 61 or 1021 bytes), the way the handler decodes it:
// after an error no further read is handled. Checked on every op and after every read, and a
// trap with a message naming the rule when one fails:
//  - each op's bytes are the stream's next bytes, inside the bytes given so far;
//  - a message's subject, reply and body lie inside its op's bytes, the body ends with CRLF,
//    its header block fits in the body, and the body is within the parser's max_payload;
//  - an op is no longer than its control-line limit (plus max_payload and CRLF for a message),
//    and while an op is incomplete, the bytes the parser still asks for are within that bound
//    (a size above max_payload is refused before anything is read or reserved for it);
//  - every byte given is either part of a handled op or kept as the leftover, which is the
//    stream's tail;
//  - both decodings give the same ops (kinds, subjects, sids, replies, header and payload
//    bytes, INFO fields, -ERR texts), the same error if any, and the same leftover.

#if canImport(Glibc)
import Glibc
#endif
@_spi(Fuzzing) import NATS
import NIOCore

enum Event: Equatable {
    case info(ServerInfo)
    case message(subject: [UInt8], sid: UInt64, reply: [UInt8]?, headers: [UInt8], payload: [UInt8])
    case ping
    case pong
    case ok
    case err(String)
    /// The error that ended the link.
    case failed(String)
}

struct Outcome: Equatable {
    var events: [Event] = []
    /// Bytes of an incomplete op at the end of the stream.
    var leftover: [UInt8] = []
}

func violated(_ rule: String) -> Never {
    fatalError("FuzzProtocol invariant violated: \(rule)")
}

/// Largest message op with this max_payload: control line, LF, payload, CRLF. Saturating: an
/// INFO may announce a max_payload up to Int.max.
func messageLimit(maxPayload: Int) -> Int {
    let (sum, overflow) = maxPayload.addingReportingOverflow(ProtocolParser.maxControlLine + 1 + 2)
    return overflow ? Int.max : sum
}

/// Largest op the parser may accept, or ask bytes for, with this max_payload.
func opLimit(maxPayload: Int) -> Int {
    max(ProtocolParser.maxInfoLine + 1, messageLimit(maxPayload: maxPayload))
}

func bytes(_ buffer: UnsafeRawBufferPointer, _ range: Range<Int>) -> [UInt8] {
    Array(UnsafeRawBufferPointer(rebasing: buffer[range]))
}

/// Checks one op against the stream and records it. `consumed` is where the op starts in the
/// stream, `fed` how many stream bytes the decoder has been given.
func record(
    _ op: ServerOp, _ opBytes: UnsafeRawBufferPointer, stream: UnsafeRawBufferPointer,
    consumed: inout Int, fed: Int, maxPayload: inout Int, events: inout [Event]
) {
    let count = opBytes.count
    guard count > 0 else { violated("an op of 0 bytes") }
    guard consumed + count <= fed else {
        violated("op of \(count) bytes at stream offset \(consumed) runs past the \(fed) bytes given")
    }
    guard let base = opBytes.baseAddress, memcmp(base, stream.baseAddress! + consumed, count) == 0 else {
        violated("op bytes at stream offset \(consumed) are not the stream's bytes")
    }
    switch op {
    case .message(let message):
        guard count <= messageLimit(maxPayload: maxPayload) else {
            violated("message op of \(count) bytes exceeds control line + max_payload \(maxPayload) + CRLF")
        }
        let body = message.body
        guard body.lowerBound > 0, body.upperBound == count - 2,
            opBytes[count - 2] == 13, opBytes[count - 1] == 10
        else { violated("message body \(body) is not followed by CRLF at the end of its \(count)-byte op") }
        guard body.count <= maxPayload else {
            violated("message body of \(body.count) bytes above max_payload \(maxPayload)")
        }
        guard message.headerLength >= 0, message.headerLength <= body.count else {
            violated("header length \(message.headerLength) outside a body of \(body.count) bytes")
        }
        let subject = message.subject
        guard !subject.isEmpty, subject.lowerBound >= 0, subject.upperBound < body.lowerBound else {
            violated("subject range \(subject) outside the control line (body starts at \(body.lowerBound))")
        }
        if let reply = message.reply {
            guard !reply.isEmpty, reply.lowerBound >= subject.upperBound, reply.upperBound < body.lowerBound else {
                violated("reply range \(reply) outside the control line (subject \(subject), body \(body))")
            }
        }
        let headerEnd = body.lowerBound + message.headerLength
        events.append(.message(
            subject: bytes(opBytes, subject), sid: message.sid, reply: message.reply.map { bytes(opBytes, $0) },
            headers: bytes(opBytes, body.lowerBound..<headerEnd), payload: bytes(opBytes, headerEnd..<body.upperBound)))
    case .info(let info):
        guard count <= ProtocolParser.maxInfoLine + 1, opBytes[count - 1] == 10 else {
            violated("INFO op of \(count) bytes: over the INFO line limit or not ending in LF")
        }
        // What the handler's max_payload becomes (the decoder applies it to its parser).
        maxPayload = max(info.maxPayload, 1)
        events.append(.info(info))
    case .ping, .pong, .ok, .err:
        guard count <= ProtocolParser.maxControlLine + 1, opBytes[count - 1] == 10 else {
            violated("control op of \(count) bytes: over the control line limit or not ending in LF")
        }
        switch op {
        case .ping: events.append(.ping)
        case .pong: events.append(.pong)
        case .ok: events.append(.ok)
        case .err(let text): events.append(.err(text))
        default: break
        }
    }
    consumed += count
}

/// Decodes `stream` as reads of the given lengths, as ConnectionHandler does.
func decode(_ stream: UnsafeRawBufferPointer, reads: [Int]) -> Outcome {
    var decoder = InboundDecoder()
    let allocator = ByteBufferAllocator()
    var outcome = Outcome()
    var consumed = 0
    var fed = 0
    var maxPayload = decoder.parser.maxPayload
    for length in reads {
        var buffer = allocator.buffer(capacity: length)
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: stream[fed..<(fed + length)]))
        fed += length
        do {
            try decoder.read(&buffer, allocator: allocator) { op, opBytes in
                record(op, opBytes, stream: stream, consumed: &consumed, fed: fed, maxPayload: &maxPayload,
                       events: &outcome.events)
            }
        } catch {
            // The handler fails the link: the leftover is dropped, later reads are ignored.
            outcome.events.append(.failed(String(describing: error)))
            return outcome
        }
        guard buffer.readableBytes == 0 else {
            violated("\(buffer.readableBytes) bytes of a read neither handled nor kept")
        }
        let kept = decoder.leftover?.readableBytes ?? 0
        guard consumed + kept == fed else {
            violated("\(consumed) bytes handled + \(kept) kept != \(fed) bytes given")
        }
        let limit = opLimit(maxPayload: maxPayload)
        guard kept <= limit else { violated("leftover of \(kept) bytes above the op limit \(limit)") }
        // The whole tail is compared after the last read only (each read would be quadratic).
        if let leftover = decoder.leftover, fed == stream.count {
            let same = leftover.withUnsafeReadableBytes { tail in
                memcmp(tail.baseAddress!, stream.baseAddress! + consumed, kept) == 0
            }
            guard same else { violated("leftover is not the stream's unhandled tail") }
        }
        if let needed = decoder.parser.bytesNeeded {
            guard needed > 0, needed <= limit - kept else {
                violated("parser asks for \(needed) more bytes (\(kept) kept) with max_payload \(maxPayload)")
            }
        } else if kept > 0 {
            // Still in the control line: it may not grow past its limit unrefused.
            let first = stream[consumed] | 0x20
            let lineLimit = first == UInt8(ascii: "i") ? ProtocolParser.maxInfoLine : ProtocolParser.maxControlLine
            guard kept <= lineLimit else {
                violated("incomplete control line of \(kept) bytes kept, above its limit \(lineLimit)")
            }
        }
    }
    outcome.leftover = bytes(stream, consumed..<fed)
    return outcome
}

/// Read lengths covering `count` bytes, derived from `split`.
func readLengths(count: Int, split: UInt8) -> [Int] {
    let largest = [1, 7, 61, 1021][Int(split & 3)]
    var state = UInt64(split) &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(count)
    var lengths: [Int] = []
    var remaining = count
    while remaining > 0 {
        // splitmix64
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        let length = min(remaining, 1 + Int(z % UInt64(largest)))
        lengths.append(length)
        remaining -= length
    }
    return lengths
}

func describe(_ outcome: Outcome) -> String {
    var lines = outcome.events.enumerated().map { index, event -> String in
        let text = String(describing: event)
        return "  \(index): " + (text.count > 300 ? String(text.prefix(300)) + "..." : text)
    }
    lines.append("  leftover: \(outcome.leftover.count) bytes")
    return lines.joined(separator: "\n")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzProtocol(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 1 else { return 0 }
    let split = data[0]
    let stream = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    let whole = decode(stream, reads: [stream.count])
    let lengths = readLengths(count: stream.count, split: split)
    let pieces = decode(stream, reads: lengths)
    if whole != pieces {
        fatalError("""
            FuzzProtocol invariant violated: ops differ between one read and \(lengths.count) reads \
            (split byte \(split))
            one read:
            \(describe(whole))
            split reads:
            \(describe(pieces))
            """)
    }
    return 0
}
