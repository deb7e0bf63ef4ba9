#if canImport(Glibc)
import Glibc
#endif
import CNIOBoringSSL

/// An nkey seed (`SU...`, `SA...`, ...): Ed25519 key material in NATS's encoding (base32 of a
/// two-byte prefix, the 32-byte seed and a CRC-16). Signs the server's nonce for nkey and JWT
/// authentication. The secret bytes live in one allocation that is zeroed when the key is
/// dropped (`wipe()` or deinit), as nats.c and nats.go wipe theirs after signing.
///
/// Ed25519 comes from the BoringSSL that swift-nio-ssl already links for TLS: swift-crypto
/// would bring FoundationEssentials (about 6.6 MB) into the library for one function.
final class NKey {
    private let secret: UnsafeMutablePointer<UInt8>  // 64 bytes: BoringSSL's private key (seed ‖ public)
    let publicKey: String

    private static let seedPrefix: UInt8 = 18 << 3  // 'S'

    /// Decodes `seed` (its bytes are not kept: the caller wipes its own copy).
    init<Bytes: Sequence>(seed: Bytes) throws where Bytes.Element == UInt8 {
        var raw = try Base32.decode(seed)
        defer { Secret.wipe(&raw) }
        guard raw.count == 36 else { throw NATSError.invalidArgument("nkey seed has the wrong length") }
        guard CRC16.checksum(raw[0..<34]) == UInt16(raw[34]) | UInt16(raw[35]) << 8 else {
            throw NATSError.invalidArgument("nkey seed checksum does not match")
        }
        guard raw[0] & 0xf8 == Self.seedPrefix else { throw NATSError.invalidArgument("not an nkey seed") }
        let type = (raw[0] & 0x07) << 5 | (raw[1] & 0xf8) >> 3
        let secret = UnsafeMutablePointer<UInt8>.allocate(capacity: 64)
        self.secret = secret
        var publicBytes = [UInt8](repeating: 0, count: 32)
        raw.withUnsafeBufferPointer { raw in
            // raw[2..<34] is the 32-byte Ed25519 seed (the count was checked above).
            ED25519_keypair_from_seed(&publicBytes, secret, raw.baseAddress! + 2)
        }
        var encoded = [type] + publicBytes
        let crc = CRC16.checksum(encoded[...])
        encoded += [UInt8(crc & 0xff), UInt8(crc >> 8)]
        publicKey = String(decoding: Base32.encode(encoded), as: UTF8.self)
    }

    deinit {
        wipe()
        secret.deallocate()
    }

    /// Zeroes the secret; signing afterwards is a programming error caught by `assert`.
    func wipe() {
        Secret.wipe(secret, count: 64)
    }

    /// The 64-byte Ed25519 signature of `message`.
    func sign(_ message: [UInt8]) -> [UInt8] {
        var signature = [UInt8](repeating: 0, count: 64)
        _ = ED25519_sign(&signature, message, message.count, secret)
        return signature
    }

    /// The signature of the server's nonce as CONNECT's `sig` wants it: base64url, no padding.
    func signNonce(_ nonce: String) -> String {
        String(decoding: Base64URL.encode(sign(Array(nonce.utf8))), as: UTF8.self)
    }
}

/// Secret bytes (an nkey seed given in memory) in one allocation of their own, zeroed when the
/// last reference goes. Options are values: their copies share this object, so the bytes are
/// wiped once no copy (the caller's options, a connection made from them) needs them.
public final class SecretBytes {
    private let storage: UnsafeMutableRawBufferPointer

    public convenience init(_ bytes: [UInt8]) {
        self.init(copying: bytes.withUnsafeBytes { $0 })
    }

    /// Copies `bytes` straight into the secret storage (no intermediate array).
    public init(copying bytes: UnsafeRawBufferPointer) {
        storage = .allocate(byteCount: max(1, bytes.count), alignment: 1)
        storage.copyMemory(from: bytes)
        count = bytes.count
    }

    public let count: Int

    func withBytes<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        try body(UnsafeRawBufferPointer(rebasing: storage[0..<count]))
    }

    deinit {
        if let base = storage.baseAddress { explicit_bzero(base, storage.count) }
        storage.deallocate()
    }
}

/// Zeroing of secret bytes in a way the optimiser keeps.
public enum Secret {
    static func wipe(_ pointer: UnsafeMutablePointer<UInt8>, count: Int) {
        explicit_bzero(pointer, count)
    }

    /// Zeroes the array's storage in place (when it is the only owner) and empties it.
    public static func wipe(_ bytes: inout [UInt8]) {
        bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { explicit_bzero(base, $0.count) } }
        bytes.removeAll()
    }
}

/// RFC 4648 base32 without padding, as nkeys use it.
enum Base32 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 8 + 4) / 5)
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = buffer << 8 | UInt32(byte)
            bits += 8
            while bits >= 5 {
                out.append(alphabet[Int(buffer >> UInt32(bits - 5) & 31)])
                bits -= 5
            }
        }
        if bits > 0 { out.append(alphabet[Int(buffer << UInt32(5 - bits) & 31)]) }
        return out
    }

    static func decode<Bytes: Sequence>(_ text: Bytes) throws -> [UInt8] where Bytes.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(64)  // seeds decode to 36 bytes: no reallocation leaves copies behind
        var buffer: UInt32 = 0
        var bits = 0
        for character in text {
            let value: UInt32
            switch character {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(character - UInt8(ascii: "A"))
            case UInt8(ascii: "2")...UInt8(ascii: "7"): value = UInt32(character - UInt8(ascii: "2")) + 26
            default: throw NATSError.invalidArgument("nkey contains a character that is not base32")
            }
            buffer = buffer << 5 | value
            bits += 5
            if bits >= 8 {
                out.append(UInt8(buffer >> UInt32(bits - 8) & 0xff))
                bits -= 8
            }
        }
        buffer = 0
        return out
    }
}

/// Base64url without padding (RFC 4648 §5), for signatures and JWT parts.
enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func encode(_ bytes: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var index = 0
        while index + 3 <= bytes.count {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            for shift in [18, 12, 6, 0] { out.append(alphabet[Int(chunk >> UInt32(shift) & 63)]) }
            index += 3
        }
        let rest = bytes.count - index
        if rest == 1 {
            let chunk = UInt32(bytes[index]) << 16
            for shift in [18, 12] { out.append(alphabet[Int(chunk >> UInt32(shift) & 63)]) }
        } else if rest == 2 {
            let chunk = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8
            for shift in [18, 12, 6] { out.append(alphabet[Int(chunk >> UInt32(shift) & 63)]) }
        }
        return out
    }
}

/// CRC-16/XMODEM (polynomial 0x1021), the checksum at the end of every nkey.
enum CRC16 {
    static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc ^= UInt16(byte) << 8
            for _ in 0..<8 { crc = crc & 0x8000 != 0 ? crc << 1 ^ 0x1021 : crc << 1 }
        }
        return crc
    }
}
