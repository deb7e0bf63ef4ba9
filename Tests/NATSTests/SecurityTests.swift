import Foundation
@testable import NATS
import NATSTestSupport
import XCTest

/// Tests/fixtures: TLS certificates are made per test by tls/make_certs.sh (openssl); the
/// authentication fixtures in auth/ were made once by auth/make_fixtures.py.
private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("fixtures")

private func auth(_ name: String) -> String { fixtures.appendingPathComponent("auth/\(name)").path }

/// nkey encoding, checked against the pair published in the NATS documentation.
final class NKeyTests: XCTestCase {
    func testDocumentedSeedGivesDocumentedPublicKey() throws {
        let key = try NKey(seed: Array("SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY".utf8))
        XCTAssertEqual(key.publicKey, "UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4")
        XCTAssertEqual(key.sign(Array("nonce".utf8)).count, 64)
        XCTAssertEqual(key.signNonce("nonce").count, 86)  // 64 bytes in base64url, unpadded
    }

    func testDamagedSeedsAreRejected() {
        let good = Array("SUACSSL3UAHUDXKFSNVUZRF5UHPMWZ6BFDTJ7M6USDXIEDNPPQYYYCU3VY".utf8)
        var flipped = good
        flipped[10] = flipped[10] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        let publicKeyNotSeed = Array("UDXU4RCSJNZOIQHZNWXHXORDPRTGNJAHAHFRGZNEEJCPQTT2M7NLCNF4".utf8)
        for (name, seed) in [
            ("checksum", flipped), ("short", Array(good.prefix(20))), ("not base32", good.map { _ in UInt8(ascii: "1") }),
            ("public key", publicKeyNotSeed), ("empty", []),
        ] {
            XCTAssertThrowsError(try NKey(seed: seed), name) { error in
                guard case .invalidArgument(let text) = error as? NATSError else { return XCTFail("\(name): \(error)") }
                XCTAssertFalse(text.contains(String(decoding: seed, as: UTF8.self)) && !seed.isEmpty, "\(name) echoed")
            }
        }
    }

    func testBase64URLAndBase32() {
        XCTAssertEqual(String(decoding: Base64URL.encode(Array("f".utf8)), as: UTF8.self), "Zg")
        XCTAssertEqual(String(decoding: Base64URL.encode(Array("fo".utf8)), as: UTF8.self), "Zm8")
        XCTAssertEqual(String(decoding: Base64URL.encode(Array("foo".utf8)), as: UTF8.self), "Zm9v")
        XCTAssertEqual(String(decoding: Base64URL.encode([0xfb, 0xff]), as: UTF8.self), "-_8")
        XCTAssertEqual(String(decoding: Base32.encode(Array("foobar".utf8)), as: UTF8.self), "MZXW6YTBOI")
        XCTAssertEqual(try Base32.decode(Array("MZXW6YTBOI".utf8)), Array("foobar".utf8))
    }

    func testCredentialsFileBlocks() throws {
        let contents = try FileContents.read(auth("user.creds"), what: "creds")
        let blocks = CredentialsFile.blockRanges(contents)
        XCTAssertEqual(blocks.count, 2)
        XCTAssertTrue(contents[blocks[0]].starts(with: Array("eyJ".utf8)))
        XCTAssertTrue(contents[blocks[1]].starts(with: Array("SU".utf8)))
        XCTAssertEqual(contents[blocks[1]].count, 58, "a seed, trimmed")
    }
}

/// TLS and authentication against servers configured for them.
final class SecurityTests: XCTestCase {
    var server: NATSServer?
    var pki: URL!

    override func setUpWithError() throws {
        pki = FileManager.default.temporaryDirectory.appendingPathComponent("snats-pki-\(UUID().uuidString)")
        let make = Process()
        make.executableURL = URL(fileURLWithPath: "/bin/sh")
        make.arguments = [fixtures.appendingPathComponent("tls/make_certs.sh").path, pki.path]
        try make.run()
        make.waitUntilExit()
        XCTAssertEqual(make.terminationStatus, 0, "make_certs.sh")
    }

    override func tearDown() {
        if let run = testRun, run.failureCount > 0, let server { print("--- nats-server log ---\n\(server.log())") }
        server?.stop()
        server = nil
        try? FileManager.default.removeItem(at: pki)
    }

    private func file(_ name: String) -> String { pki.appendingPathComponent(name).path }

    private func start(config: String) throws -> NATSServer {
        let started = try NATSServer(arguments: ["-c", config])
        server = started
        return started
    }

    private func connect(_ url: String, _ configure: (inout Options) -> Void) throws -> Connection {
        var options = try Options(url: url)
        options.allowReconnect = false
        configure(&options)
        return try Connection.connect(options)
    }

    private func roundTrip(_ conn: Connection) throws {
        let sub = try conn.subscribeSync("secure")
        try conn.publish("secure", payload: [1, 2])
        XCTAssertEqual(try sub.next(timeoutMilliseconds: 2_000).payload, [1, 2])
    }

    private func assertFails(_ body: @autoclosure () throws -> Connection, _ check: (NATSError) -> Bool,
                             _ name: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), name, file: file, line: line) { error in
            guard let error = error as? NATSError, check(error) else {
                return XCTFail("\(name): got \(error)", file: file, line: line)
            }
        }
    }

    private static func isTLS(_ error: NATSError) -> Bool { if case .tls = error { return true }; return false }
    private static func isAuth(_ error: NATSError) -> Bool {
        if case .authorizationViolation = error { return true }
        return false
    }

    /// A TLS link is read by the event loop even when the connection asks to read on its
    /// dispatch queue (TLS decrypts there): it works with nobody draining the queue.
    func testTLSLinksAreReadByTheEventLoopWhateverTheQueueOption() throws {
        let plain = try start(config: file("server.conf"))
        let queue = try DeliveryQueue()
        let conn = try connect(plain.url) {
            $0.tls.caFile = file("ca.pem")
            $0.dispatchQueue = queue
            $0.readOnDispatchQueue = true
        }
        defer { conn.close() }
        try roundTrip(conn)
    }

    func testTLSUpgradeVerificationAndClientCertificates() throws {
        let plain = try start(config: file("server.conf"))
        let conn = try connect(plain.url) { $0.tls.caFile = file("ca.pem") }
        try roundTrip(conn)
        XCTAssertEqual(conn.connectedURL, plain.url)
        conn.close()
        let named = try connect("tls://localhost:\(plain.port)") { $0.tls.caFile = file("ca.pem") }
        try roundTrip(named)
        named.close()

        assertFails(try connect(plain.url) { $0.tls.caFile = file("other-ca.pem") }, Self.isTLS, "wrong CA")
        assertFails(try connect(plain.url) { _ in }, Self.isTLS, "system CAs do not know the test CA")
        assertFails(try connect(plain.url) { $0.tls.caFile = "/nonexistent.pem" }, Self.isTLS, "missing CA file")
        XCTAssertNoThrow(try connect(plain.url) { $0.tls.skipVerification = true }.close())
        plain.stop()

        let mutual = try start(config: file("mtls.conf"))
        XCTAssertThrowsError(try connect(mutual.url) { $0.tls.caFile = file("ca.pem") }, "no client certificate")
        let withCertificate = try connect(mutual.url) {
            $0.tls.caFile = file("ca.pem")
            $0.tls.certificateFile = file("client.pem")
            $0.tls.keyFile = file("client-key.pem")
        }
        try roundTrip(withCertificate)
        withCertificate.close()
        assertFails(try connect(mutual.url) { $0.tls.certificateFile = file("client.pem") }, {
            if case .invalidArgument = $0 { return true }
            return false
        }, "certificate without key")
    }

    func testHostnameVerification() throws {
        let named = try start(config: file("dns.conf"))  // a certificate for "localhost" only
        assertFails(try connect(named.url) { $0.tls.caFile = file("ca.pem") }, Self.isTLS, "IP not in certificate")
        assertFails(try connect(named.url) {
            $0.tls.caFile = file("ca.pem")
            $0.tls.serverName = "nats.example.com"
        }, Self.isTLS, "wrong name")
        XCTAssertNoThrow(try connect(named.url) {
            $0.tls.caFile = file("ca.pem")
            $0.tls.serverName = "nats.example.com"
            $0.tls.verifyHostname = false
        }.close())
        let right = try connect(named.url) {
            $0.tls.caFile = file("ca.pem")
            $0.tls.serverName = "localhost"
        }
        try roundTrip(right)
        right.close()
    }

    func testSecureRequiredAgainstPlainServer() throws {
        let plain = try NATSServer()
        server = plain
        assertFails(try connect(plain.url) { $0.tls.required = true }, Self.isTLS, "server offers no TLS")
    }

    func testTLSReconnectsToRestartedServer() throws {
        let port = freePort()
        var node = try NATSServer(arguments: ["-c", file("server.conf")], fixedPort: port)
        server = node
        let reconnected = Collector<String>()
        var options = try Options(url: node.url)
        options.tls.caFile = file("ca.pem")
        options.reconnectWaitMilliseconds = 50
        options.reconnectJitterTLSMilliseconds = 0
        options.onReconnected = { _ in reconnected.append("reconnected") }
        let conn = try Connection.connect(options)
        defer { conn.close() }
        let sub = try conn.subscribeSync("tls.back")
        node.stop()
        XCTAssertTrue(eventually { conn.connectionStatus == .reconnecting })
        try conn.publish("tls.back", payload: [5])
        node = try NATSServer(arguments: ["-c", file("server.conf")], fixedPort: port)
        server = node
        XCTAssertTrue(eventually(10) { reconnected.count == 1 })
        XCTAssertEqual(try sub.next(timeoutMilliseconds: 2_000).payload, [5])
    }

    func testNkeySeedFileAndMemory() throws {
        let nkeyServer = try start(config: auth("nkey_server.conf"))
        let fromFile = try connect(nkeyServer.url) { $0.nkeySeedFile = auth("nkey_user.seed") }
        try roundTrip(fromFile)
        fromFile.close()
        let seed = try String(contentsOfFile: auth("nkey_user.seed"), encoding: .utf8)
        XCTAssertNoThrow(try connect(nkeyServer.url) { $0.nkeySeed = SecretBytes(Array(seed.utf8)) }.close())
        assertFails(try connect(nkeyServer.url) { $0.nkeySeedFile = auth("nkey_other.seed") }, Self.isAuth, "unknown key")
        assertFails(try connect(nkeyServer.url) { _ in }, Self.isAuth, "no credentials")
    }

    func testCredentialsFileAndHandlers() throws {
        let jwtServer = try start(config: auth("jwt_server.conf"))
        let conn = try connect(jwtServer.url) { $0.credentialsFile = auth("user.creds") }
        try roundTrip(conn)
        conn.close()
        assertFails(try connect(jwtServer.url) { $0.credentialsFile = auth("stranger.creds") }, Self.isAuth, "stranger")

        // The application's own handlers, signing with the fixture's seed.
        let jwt = try String(contentsOfFile: auth("user.jwt"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let seed = try String(contentsOfFile: auth("user.seed"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let calls = Collector<String>()
        let viaHandlers = try connect(jwtServer.url) {
            $0.userJWT = { calls.append("jwt"); return jwt }
            $0.signature = { nonce in calls.append("sig"); return try NKey(seed: Array(seed.utf8)).sign(nonce) }
        }
        try roundTrip(viaHandlers)
        viaHandlers.close()
        XCTAssertEqual(calls.all, ["jwt", "sig"])
        assertFails(try connect(jwtServer.url) {
            $0.userJWT = { jwt }
            $0.signature = { _ in [UInt8](repeating: 1, count: 64) }
        }, Self.isAuth, "bad signature")
    }

    func testCredentialsNeverAppearInStrings() throws {
        let tokenServer = try NATSServer(arguments: ["--user", "alice", "--pass", "s3cret"])
        server = tokenServer
        let url = "nats://alice:s3cret@127.0.0.1:\(tokenServer.port)"
        let conn = try connect(url) { _ in }
        XCTAssertEqual(conn.connectedURL, tokenServer.url)
        XCTAssertFalse(conn.servers.joined().contains("s3cret"))
        conn.close()
        XCTAssertThrowsError(try connect("nats://alice:wrong@127.0.0.1:\(tokenServer.port)") { _ in }) { error in
            XCTAssertFalse("\(error)".contains("wrong"))
        }
    }
}
