import NIOCore

/// The event loop's side of a link: feeds what NIO reads to the link's `InboundProcessor`,
/// and reports errors and the channel's end to it. A connection that reads on its dispatch
/// queue keeps this handler on its write-only channel after the handshake, for those reports;
/// the handshake's channel is then `detached` (its closing is no failure).
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let inbound: InboundProcessor
    private let server: ServerAddress
    /// Set on the event loop when the link moved to another channel: nothing of this one
    /// reaches the processor any more.
    var detached = false

    init(inbound: InboundProcessor, server: ServerAddress) {
        self.inbound = inbound
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if detached { return }
        var buffer = unwrapInboundIn(data)
        inbound.process(&buffer, from: context.channel)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if !detached, context.channel.isWritable { inbound.connection.flushOutbound() }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if detached { return }
        let failure: NATSError
        if let error = error as? NATSError {
            failure = error
        } else if let tls = NATSError.tls(error, server: server) {
            failure = tls
        } else {
            failure = .io("\(error)")
        }
        inbound.fail(link: context.channel, error: failure)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if !detached { inbound.linkEnded(context.channel) }
        context.fireChannelInactive()
    }
}
