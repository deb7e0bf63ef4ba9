/// A MSG or HMSG located in the bytes the parser was given, not yet copied: every range
/// indexes those bytes, so the receive path copies each message once, into its storage.
public struct InboundMessage {
    public var subject: Range<Int>
    public var sid: UInt64
    public var reply: Range<Int>?
    /// Bytes at the start of `body` that are the header block; 0 for MSG.
    public var headerLength: Int
    /// Header block followed by the payload.
    public var body: Range<Int>
}

/// One operation sent by the server. Kept small (INFO is boxed) because one is returned per
/// message on the hot path.
public enum ServerOp {
    indirect case info(ServerInfo)
    case message(InboundMessage)
    case ping
    case pong
    case ok
    case err(String)
}
