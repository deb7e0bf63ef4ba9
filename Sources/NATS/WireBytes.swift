/// Lends the raw bytes of a message's parts to the byte-level publish and request calls, which
/// the C ABI uses directly. An absent or empty header set lends nil (a plain PUB).
func withWireBytes<T>(
    subject: String, reply: String?, headers: Headers?, payload: [UInt8],
    _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer?, UnsafeRawBufferPointer?, UnsafeRawBufferPointer) throws -> T
) rethrows -> T {
    var subjectCopy = subject
    var replyCopy = reply ?? ""
    let headerBytes = headers.map { $0.isEmpty ? [] : $0.encoded() } ?? []
    return try subjectCopy.withUTF8 { subjectBytes in
        try replyCopy.withUTF8 { replyBytes in
            try headerBytes.withUnsafeBytes { headerBuffer in
                try payload.withUnsafeBytes { payloadBytes in
                    try body(
                        UnsafeRawBufferPointer(subjectBytes),
                        reply == nil ? nil : UnsafeRawBufferPointer(replyBytes),
                        headerBuffer.isEmpty ? nil : headerBuffer,
                        payloadBytes)
                }
            }
        }
    }
}
