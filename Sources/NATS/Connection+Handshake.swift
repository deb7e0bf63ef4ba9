#if canImport(Glibc)
import Glibc
#endif
import NIOCore
import NIOPosix
import NIOSSL

/// Opening a link to one server: TCP, the server's INFO, TLS when wanted or required, then
/// CONNECT and a PING whose PONG ends the handshake. The event loop only reports INFO and
/// PONG; CONNECT is built here, on the connecting thread (the caller's, or the reconnect
/// thread), because authentication may read files and run the application's handlers.
extension Connection {
    /// Opens a TCP connection to `server` and completes the handshake within the connect
    /// timeout. Touches no connection state but the pool (servers its INFO announces) and the
    /// TLS context.
    func open(_ server: ServerAddress) throws -> Link {
        let deadline = Deadline.after(milliseconds: options.connectTimeoutMilliseconds)
        let tlsFirst = options.tls.handshakeFirst
        // Made before anything that must be cleaned up: building it may fail (files, names).
        let firstTLSHandler = tlsFirst ? UncheckedSendable(try makeTLSHandler(for: server)) : nil
        let infoPromise = eventLoop.makePromise(of: ServerInfo.self)
        let handshake = eventLoop.makePromise(of: Void.self)
        let processor = InboundProcessor(connection: self, server: server, info: infoPromise, handshake: handshake)
        let handler = ConnectionHandler(inbound: processor, server: server)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let firstTLSHandler { try channel.pipeline.syncOperations.addHandler(firstTLSHandler.value) }
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        let channel: Channel
        var writer: SocketWriter?
        // The socket the dispatch queue's owner reads once the handshake is done (plain TCP).
        var queueSocket: CInt = -1
        do {
            let socket = try TCPConnector.connect(host: server.host, port: server.port, deadline: deadline)
            // Writes on the caller's thread go around TLS, so TLS links make none.
            if !tlsFirst { writer = SocketWriter(duplicating: socket) }
            if !tlsFirst && options.readOnDispatchQueue { queueSocket = fcntl(socket, F_DUPFD_CLOEXEC, 0) }
            // From here NIO owns the socket: a failed setup closes it.
            channel = try bootstrap.withConnectedSocket(socket).wait()
        } catch {
            writer?.close()
            if queueSocket >= 0 { Glibc.close(queueSocket) }
            let failure = (error as? NATSError) ?? NATSError.connectFailed("\(server): \(error)")
            infoPromise.fail(failure)
            handshake.fail(failure)
            throw failure
        }
        let timer = eventLoop.scheduleTask(deadline: NIODeadline.uptimeNanoseconds(deadline.uptimeNanoseconds)) {
            let timeout = NATSError.timeout("handshake with \(server) took longer than \(self.options.connectTimeoutMilliseconds) ms")
            infoPromise.fail(timeout)
            handshake.fail(timeout)
        }
        do {
            let info = try infoPromise.futureResult.wait()
            let useTLS = tlsFirst || server.scheme == "tls" || options.tls.wantsTLS || info.tlsRequired
            if useTLS && !tlsFirst {
                guard info.tlsRequired || info.tlsAvailable else {
                    throw NATSError.tls("\(server) does not offer TLS, and the options require it")
                }
                writer?.close()
                writer = nil
                if queueSocket >= 0 { Glibc.close(queueSocket) }
                queueSocket = -1
                let tlsHandler = UncheckedSendable(try makeTLSHandler(for: server))
                try channel.eventLoop.submit {
                    try channel.pipeline.syncOperations.addHandler(tlsHandler.value, position: .first)
                }.wait()
            }
            let document = try connectDocument(for: info, server: server, tls: useTLS)
            var out = channel.allocator.buffer(capacity: document.utf8.count + 32)
            out.writeConnect(document)
            out.writePing()
            channel.writeAndFlush(out, promise: nil)
            try handshake.futureResult.wait()
            timer.cancel()
            guard queueSocket >= 0 else { return Link(channel: channel, writer: writer, info: info) }
            let (writeChannel, reader) = try moveToQueueReader(
                from: channel, handler: handler, processor: processor, socket: queueSocket, server: server)
            return Link(channel: writeChannel, writer: writer, info: info, reader: reader)
        } catch {
            timer.cancel()
            // Whichever step is still waiting ends with this error, not a late one.
            infoPromise.fail(error)
            handshake.fail(error)
            writer?.close()
            if queueSocket >= 0 { Glibc.close(queueSocket) }
            channel.close(promise: nil)
            if let error = error as? NATSError { throw error }
            if let tls = NATSError.tls(error, server: server) { throw tls }
            throw NATSError.connectFailed("\(server): \(error)")
        }
    }

    /// After the handshake of a connection that reads on its dispatch queue: the socket's
    /// reading moves from the event loop to a `LinkReader` on `socket` (a duplicate the
    /// reader owns from here), and its event-loop writes to a write-only channel on another
    /// duplicate. The handshake's channel is closed on the event loop in the same step that
    /// detaches it, so what the loop read before is processed first and nothing is read twice;
    /// the socket stays open through the duplicates.
    private func moveToQueueReader(
        from channel: Channel, handler: ConnectionHandler, processor: InboundProcessor, socket: CInt,
        server: ServerAddress
    ) throws -> (Channel, LinkReader) {
        let output = fcntl(socket, F_DUPFD_CLOEXEC, 0)
        guard output >= 0 else { throw NATSError.io("cannot duplicate the socket (errno \(errno))") }
        let writeHandler = ConnectionHandler(inbound: processor, server: server)
        let writeChannel: Channel
        do {
            writeChannel = try NIOPipeBootstrap(group: eventLoop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(writeHandler) }
                }
                .takingOwnershipOfDescriptor(output: output).wait()
        } catch {
            Glibc.close(output)
            throw NATSError.connectFailed("\(server): cannot make the write channel: \(error)")
        }
        do {
            try channel.eventLoop.submit {
                handler.detached = true
                channel.close(promise: nil)
            }.wait()
        } catch {
            writeChannel.close(promise: nil)
            throw NATSError.connectFailed("\(server): \(error)")
        }
        return (writeChannel, LinkReader(fileDescriptor: socket, processor: processor, channel: writeChannel))
    }

    /// A TLS client handler for `server`, from the connection's context.
    private func makeTLSHandler(for server: ServerAddress) throws -> NIOSSLClientHandler {
        let context = try tlsContextForConnection()
        do {
            return try NIOSSLClientHandler(context: context, serverHostname: sniName(for: server))
        } catch {
            throw NATSError.tls(error, server: server) ?? .tls("\(server): \(error)")
        }
    }

    /// The connection's TLS context, made on first use (it reads the certificate files).
    private func tlsContextForConnection() throws -> NIOSSLContext {
        if let made = lock.withLock({ tlsContext }) { return made }
        // Files are read outside the lock, which the event loop needs meanwhile.
        let made = try options.tls.makeContext()
        return lock.withLock {
            if let tlsContext { return tlsContext }
            tlsContext = made
            return made
        }
    }

    /// The name to send as SNI and verify: the TLS server name, else the name the server was
    /// known by (a discovered server's announcing host, as nats.go's tlsName), else the URL's
    /// host. An IP address is no valid SNI name; NIOSSL then checks the certificate against the
    /// peer's address instead.
    private func sniName(for server: ServerAddress) -> String? {
        let name = options.tls.serverName ?? server.tlsName ?? server.host
        return Self.isIPAddress(name) ? nil : name
    }

    private static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// The CONNECT document for `info`: protocol 1 with headers and no-responders, and the
    /// credentials: a signed nonce (JWT or nkey), and the URL's user and password (or token),
    /// else the options' user and password, else the options' token.
    func connectDocument(for info: ServerInfo, server: ServerAddress, tls: Bool) throws -> String {
        let document = JSONValue.object()
        document.set("verbose", options.verbose)
        document.set("pedantic", options.pedantic)
        document.set("tls_required", tls)
        if let name = options.name { document.set("name", name) }
        document.set("lang", "swift")
        document.set("version", SwiftNATSVersion.string)
        document.set("protocol", 1)
        document.set("echo", options.echo)
        document.set("headers", true)
        document.set("no_responders", true)
        if let signed = try NonceAuthentication.make(options: options, nonce: info.nonce) {
            if let jwt = signed.jwt { document.set("jwt", jwt) }
            if let nkey = signed.nkey { document.set("nkey", nkey) }
            document.set("sig", signed.signature)
        }
        if let user = server.user, let password = server.password {
            document.set("user", user)
            document.set("pass", password)
        } else if let token = server.user {
            // `nats://TOKEN@host`: user info without a password is a token, as in nats.go and nats.c.
            document.set("auth_token", token)
        } else if let user = options.user {
            document.set("user", user)
            if let password = options.password { document.set("pass", password) }
        } else if let token = options.token {
            document.set("auth_token", token)
        }
        return document.serialized()
    }
}

/// Hands a value that is not `Sendable` to the event loop, which alone uses it from then on.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
