import NIOSSL

/// How a connection uses TLS. TLS is used for `tls://` URLs, when `required` is set, and when
/// the server's INFO says `tls_required`; otherwise the connection stays plain.
public struct TLSOptions: Equatable {
    /// Insist on TLS even for `nats://` URLs (nats.c's `natsOptions_SetSecure`).
    public var required = false
    /// PEM file of the certificate authorities to trust; nil trusts the system's.
    public var caFile: String?
    /// PEM files of the client certificate (chain) and its private key, for servers that
    /// verify clients.
    public var certificateFile: String?
    public var keyFile: String?
    /// Check that the server's certificate names the host of the URL (or `serverName`).
    public var verifyHostname = true
    /// Accept any server certificate. For tests only: it defeats the point of TLS.
    public var skipVerification = false
    /// The name to expect in the server's certificate (and to send as SNI) instead of the
    /// URL's host; useful when connecting by IP address to a server with a DNS name.
    public var serverName: String?
    /// Start TLS right after the TCP connect, before the server's INFO (servers configured
    /// with `handshake_first`, nats-server 2.10.3 and later).
    public var handshakeFirst = false

    public init() {}

    /// Whether any TLS setting asks for TLS by itself.
    var wantsTLS: Bool { required || handshakeFirst || caFile != nil || certificateFile != nil }

    func validate() throws {
        if (certificateFile == nil) != (keyFile == nil) {
            throw NATSError.invalidArgument("a client certificate needs both the certificate and the key file")
        }
    }

    /// The NIOSSL context for these settings: loads the files now, so a missing or malformed
    /// file is an error at connect time rather than during a handshake.
    func makeContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        do {
            if let caFile {
                configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile))
            }
            if let certificateFile, let keyFile {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
                configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            }
            if skipVerification {
                configuration.certificateVerification = .none
            } else if !verifyHostname {
                configuration.certificateVerification = .noHostnameVerification
            }
            return try NIOSSLContext(configuration: configuration)
        } catch {
            throw NATSError.tls("cannot load the TLS configuration: \(error)")
        }
    }
}

extension NATSError {
    /// A TLS failure talking to `server`, or nil when `error` is not one of NIOSSL's.
    /// BoringSSL's messages carry the source file of the failed check: the reason stays
    /// (`CERTIFICATE_VERIFY_FAILED`), the path goes.
    static func tls(_ error: Error, server: ServerAddress) -> NATSError? {
        guard error is NIOSSLError || error is NIOSSLExtraError || error is BoringSSLError else { return nil }
        var text = "\(error)"
        while let at = text.firstRange(of: " at /"), let end = text[at.upperBound...].firstIndex(of: "]") {
            text.removeSubrange(at.lowerBound..<end)
        }
        return .tls("\(server): \(text)")
    }
}
