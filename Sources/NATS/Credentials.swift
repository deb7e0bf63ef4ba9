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
            let blocks = CredentialsFile.blockRanges(contents)
            guard blocks.count >= 2 else {
                throw NATSError.invalidArgument("credentials file \(path) does not hold a user JWT and a seed")
            }
            let key = try NKey(seed: contents[blocks[1]])
            return NonceAuthentication(
                jwt: String(decoding: contents[blocks[0]], as: UTF8.self), nkey: nil, signature: key.signNonce(nonce))
        }
        if let secret = options.nkeySeed {
            let key = try secret.withBytes { try NKey(seed: $0.lazy.filter { !CredentialsFile.isSpace($0) }) }
            return NonceAuthentication(jwt: nil, nkey: key.publicKey, signature: key.signNonce(nonce))
        }
        if let path = options.nkeySeedFile {
            var contents = try FileContents.read(path, what: "nkey seed file")
            defer { Secret.wipe(&contents) }
            // A bare seed, or the seed block of a .creds-style file.
            let key: NKey
            if let block = CredentialsFile.blockRanges(contents).last {
                key = try NKey(seed: contents[block])
            } else {
                key = try NKey(seed: contents.lazy.filter { !CredentialsFile.isSpace($0) })
            }
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

    /// Where each block's text lies in `contents`: the first non-empty line after each
    /// `---...BEGIN...` line, trimmed. Ranges rather than copies, so that the only copy of the
    /// seed is `contents`, which the caller wipes.
    static func blockRanges(_ contents: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var lineStart = 0
        var afterBegin = false
        while lineStart < contents.count {
            var lineEnd = lineStart
            while lineEnd < contents.count && contents[lineEnd] != 10 { lineEnd += 1 }
            var low = lineStart
            var high = lineEnd
            while low < high && isSpace(contents[low]) { low += 1 }
            while high > low && isSpace(contents[high - 1]) { high -= 1 }
            let line = contents[low..<high]
            if line.starts(with: "---".utf8) {
                afterBegin = containsBegin(line)
            } else if afterBegin && !line.isEmpty {
                ranges.append(low..<high)
                afterBegin = false
            }
            lineStart = lineEnd + 1
        }
        return ranges
    }

    private static func containsBegin(_ line: ArraySlice<UInt8>) -> Bool {
        let begin = Array("BEGIN".utf8)
        guard line.count >= begin.count else { return false }
        return (line.startIndex...(line.endIndex - begin.count)).contains {
            line[$0..<($0 + begin.count)].elementsEqual(begin)
        }
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
        // Sized up front: growing the array would leave copies of the secret in freed memory.
        var info = stat()
        if fstat(fd, &info) == 0 { bytes.reserveCapacity(min(Int(info.st_size), 1 << 20) + 4096) }
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
