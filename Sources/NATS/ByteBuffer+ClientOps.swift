import NIOCore

/// The handshake ops, written straight to the channel before the connection is published to
/// callers; everything later goes through `OutboundBuffer`.
extension ByteBuffer {
    mutating func writeConnect(_ json: String) {
        writeStaticString("CONNECT ")
        writeString(json)
        writeStaticString("\r\n")
    }

    mutating func writePing() { writeStaticString("PING\r\n") }
}
