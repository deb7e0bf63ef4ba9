import NATSTestSupport
import XCTest

@testable import NATS

final class SubjectTests: XCTestCase {
    func testPublishSubjects() {
        let cases: [(String, Bool)] = [
            ("foo", true), ("foo.bar", true), ("foo.*", false), ("foo.>", false), ("", false), (".foo", false),
            ("foo.", false), ("foo..bar", false), ("foo bar", false), ("foo\tbar", false), ("a*b.c>d", true),
        ]
        for (subject, valid) in cases {
            XCTAssertEqual(Subject.isValidPublishSubject(subject), valid, "publish \"\(subject)\"")
        }
    }

    func testSubscribeSubjects() {
        let cases: [(String, Bool)] = [
            ("foo.*", true), ("foo.>", true), (">", true), ("*.*", true), ("foo.>.bar", false), ("foo..*", false),
            ("foo bar", false), ("", false),
        ]
        for (subject, valid) in cases {
            XCTAssertEqual(Subject.isValidSubscribeSubject(subject), valid, "subscribe \"\(subject)\"")
        }
    }
}

final class HeadersTests: XCTestCase {
    func testRoundTripKeepsOrderAndValues() throws {
        var headers = Headers()
        try headers.add("B", "1")
        try headers.add("A", "x")
        try headers.add("B", "2")
        let encoded = headers.encoded()
        XCTAssertEqual(String(decoding: encoded, as: UTF8.self), "NATS/1.0\r\nB: 1\r\nB: 2\r\nA: x\r\n\r\n")
        let parsed = try encoded.withUnsafeBytes { try Headers.parse($0) }
        XCTAssertEqual(parsed, headers)
        XCTAssertEqual(parsed.values(for: "B"), ["1", "2"])
    }

    func testStatusLine() throws {
        let parsed = try Array("NATS/1.0 503 No Responders\r\n\r\n".utf8).withUnsafeBytes { try Headers.parse($0) }
        XCTAssertEqual(parsed.statusCode, 503)
        XCTAssertEqual(parsed.statusDescription, "No Responders")
    }

    func testRejectsInjection() {
        var headers = Headers()
        for (name, value) in [("a b", "v"), ("a:b", "v"), ("", "v"), ("k", "v\r\nX: y")] {
            XCTAssertThrowsError(try headers.set(name, value), "\(name)=\(value)")
        }
    }

    func testSetReplacesAndRemove() throws {
        var headers = Headers()
        try headers.add("K", "1")
        try headers.add("K", "2")
        try headers.set("K", "3")
        XCTAssertEqual(headers.values(for: "K"), ["3"])
        XCTAssertTrue(headers.remove("K"))
        XCTAssertFalse(headers.remove("K"))
    }
}

final class ServerAddressTests: XCTestCase {
    func testParsing() throws {
        let cases: [(String, String, Int, String?, String?)] = [
            ("nats://127.0.0.1:4333", "127.0.0.1", 4333, nil, nil),
            ("localhost", "localhost", 4222, nil, nil),
            ("nats://u:p%40ss@host:1234", "host", 1234, "u", "p@ss"),
            ("tls://[::1]:5000", "::1", 5000, nil, nil),
            ("nats://token@h", "h", 4222, "token", nil),
        ]
        for (text, host, port, user, password) in cases {
            let address = try ServerAddress(parsing: text)
            XCTAssertEqual(address.host, host, text)
            XCTAssertEqual(address.port, port, text)
            XCTAssertEqual(address.user, user, text)
            XCTAssertEqual(address.password, password, text)
        }
    }

    func testDescriptionHidesCredentials() throws {
        let address = try ServerAddress(parsing: "nats://alice:secret@example:4222")
        XCTAssertEqual(address.description, "nats://example:4222")
    }

    func testRejects() {
        for text in ["http://x", "nats://h:0", "nats://h:99999", "nats://h:abc", "", "nats://", "nats://:4222", "nats://u:p@:1"] {
            XCTAssertThrowsError(try ServerAddress(parsing: text), text)
        }
    }

    func testList() throws {
        XCTAssertEqual(try ServerAddress.parseList("nats://a:1, nats://b:2").map(\.host), ["a", "b"])
    }
}

final class NUIDTests: XCTestCase {
    func testShapeAndUniqueness() {
        var nuid = NUID()
        var seen = Set<String>()
        for _ in 0..<10_000 {
            let id = nuid.next()
            XCTAssertEqual(id.utf8.count, 22)
            XCTAssertTrue(seen.insert(id).inserted)
        }
    }
}
