import NIOCore

/// A MSG or HMSG as it comes off the wire: slices of the read buffer, not yet copied.
public struct InboundMessage {
    public var subject: ByteBuffer
    public var sid: UInt64
    public var reply: ByteBuffer?
    /// Bytes of `body` that are the header block; 0 for MSG.
    public var headerLength: Int
    /// Header block followed by the payload.
    public var body: ByteBuffer
}

/// One operation sent by the server.
public enum ServerOp {
    case info(ServerInfo)
    case message(InboundMessage)
    case ping
    case pong
    case ok
    case err(String)
}
