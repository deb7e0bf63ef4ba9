#if canImport(Glibc)
import Glibc
#endif

/// The authentication fields of CONNECT that need the server's nonce: `jwt` and `sig` for JWT
/// (a `.creds` file, or the user's own JWT and signature handlers), `nkey` and `sig` for nkey
/// authentication. Built on the connecting thread, where reading files and running the
/// application's handlers is allowed; seeds are wiped once the nonce is signed.
struct NonceAuthentication {
    var jwt: String?
    var nkey: String?
    var signature: String

    /// nil when the options use no nonce-signing scheme. Fails when one is configured but the
    /// server sent no nonce (it does not support nkeys), or the keys cannot be read.
    static func make(options: Options, nonce: String?) throws -> NonceAuthentication? {
        let wantsNonce = options.credentialsFile != nil || options.nkeySeed != nil
            || options.nkeySeedFile != nil || options.signature != nil
        guard wantsNonce else { return nil }
        guard let nonce, !nonce.isEmpty else {
            throw NATSError.authorizationViolation("the server sent no nonce: it does not support nkey or JWT authentication")
        }
        if let path = options.credentialsFile {
            var contents = try FileContents.read(path, what: "credentials file")
            defer { Secret.wipe(&contents) }
            let blocks = CredentialsFile.blocks(contents)
            guard blocks.count >= 2 else {
                throw NATSError.invalidArgument("credentials file \(path) does not hold a user JWT and a seed")
            }
            var seed = blocks[1]
            defer { Secret.wipe(&seed) }
            let key = try NKey(seed: seed)
            return NonceAuthentication(
                jwt: String(decoding: blocks[0], as: UTF8.self), nkey: nil, signature: key.signNonce(nonce))
        }
        if let seedText = options.nkeySeed {
            var seed = seedText.filter { !CredentialsFile.isSpace($0) }  // a private copy, wiped below
            defer { Secret.wipe(&seed) }
            let key = try NKey(seed: seed)
            return NonceAuthentication(jwt: nil, nkey: key.publicKey, signature: key.signNonce(nonce))
        }
        if let path = options.nkeySeedFile {
            var contents = try FileContents.read(path, what: "nkey seed file")
            defer { Secret.wipe(&contents) }
            var seed = CredentialsFile.blocks(contents).last ?? contents.filter { !CredentialsFile.isSpace($0) }
            defer { Secret.wipe(&seed) }
            let key = try NKey(seed: seed)
            return NonceAuthentication(jwt: nil, nkey: key.publicKey, signature: key.signNonce(nonce))
        }
        guard let sign = options.signature else { return nil }
        let jwt = try options.userJWT?()
        let signature = try sign(Array(nonce.utf8))
        guard signature.count == 64 else {
            throw NATSError.invalidArgument("the signature handler returned \(signature.count) bytes, not 64")
        }
        return NonceAuthentication(
            jwt: jwt, nkey: jwt == nil ? options.nkeyPublicKey : nil,
            signature: String(decoding: Base64URL.encode(signature), as: UTF8.self))
    }
}

/// The `.creds` format: armoured blocks (`-----BEGIN NATS USER JWT-----` ... `------END ...`),
/// the JWT first and the seed second, as nats.go reads them.
enum CredentialsFile {
    static func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 10 || byte == 13 }

    /// The first non-empty line after each `---...BEGIN...` line.
    static func blocks(_ contents: [UInt8]) -> [[UInt8]] {
        let lines = contents.split(separator: 10, omittingEmptySubsequences: false).map {
            Array($0.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
        }
        var blocks: [[UInt8]] = []
        var index = 0
        while index < lines.count {
            let line = lines[index]
            index += 1
            guard line.starts(with: Array("---".utf8)), containsBegin(line) else { continue }
            while index < lines.count && lines[index].isEmpty { index += 1 }
            if index < lines.count && !lines[index].starts(with: Array("---".utf8)) {
                blocks.append(lines[index])
                index += 1
            }
        }
        return blocks
    }

    private static func containsBegin(_ line: [UInt8]) -> Bool {
        let begin = Array("BEGIN".utf8)
        guard line.count >= begin.count else { return false }
        return (0...(line.count - begin.count)).contains { line[$0..<($0 + begin.count)].elementsEqual(begin) }
    }
}

/// Whole-file reads without Foundation.
enum FileContents {
    static func read(_ path: String, what: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw NATSError.invalidArgument("cannot open \(what) \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        defer { Secret.wipe(&chunk) }
        while true {
            let count = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if count == 0 { return bytes }
            if count < 0 {
                if errno == EINTR { continue }
                Secret.wipe(&bytes)
                throw NATSError.invalidArgument("cannot read \(what) \(path): \(String(cString: strerror(errno)))")
            }
            if bytes.count + count > 1 << 20 {
                Secret.wipe(&bytes)
                throw NATSError.invalidArgument("\(what) \(path) is larger than 1 MiB")
            }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }
}
