import NATSTestSupport
import XCTest

@testable import NATS

/// The parser alone, fed bytes directly: every split of a stream must give the same ops, and
/// hostile input must fail with a specific error, never trap or allocate what it announces.
final class ProtocolParserTests: XCTestCase {
    static let stream =
        "INFO {\"server_id\":\"S1\",\"max_payload\":1048576,\"headers\":true}\r\n"
        + "PING\r\nPONG\r\n+OK\r\n"
        + "MSG foo.bar 1 5\r\nhello\r\n"
        + "MSG foo.bar 2 reply.to 0\r\n\r\n"
        + "msg lower 3 2\r\nhi\r\n"
        + "HMSG h.s 4 26 31\r\nNATS/1.0\r\nA: one\r\nB: 2\r\n\r\nworld\r\n"
        + "HMSG h.s 4 _INBOX.x 16 16\r\nNATS/1.0 503\r\n\r\n\r\n"
        + "MSG bin 5 4\r\n\r\n\r\n\r\n"
        + "-ERR 'Permissions Violation for Publish to \"x\"'\r\n"

    /// A compact, comparable rendering of an op; a message's ranges index `bytes`.
    static func render(_ op: ServerOp, in bytes: UnsafeRawBufferPointer) -> String {
        func text(_ range: Range<Int>) -> String {
            String(decoding: UnsafeRawBufferPointer(rebasing: bytes[range]), as: UTF8.self)
        }
        switch op {
        case .info(let info): return "INFO \(info.serverID) \(info.maxPayload) \(info.headers)"
        case .ping: return "PING"
        case .pong: return "PONG"
        case .ok: return "OK"
        case .err(let text): return "ERR \(text)"
        case .message(let message):
            let reply = message.reply.map(text) ?? "-"
            return "MSG \(text(message.subject)) \(message.sid) \(reply) \(message.headerLength) [\(text(message.body))]"
        }
    }

    /// Decodes every complete op at the front of `pending` and removes them, as the connection
    /// handler does; an incomplete op stays.
    static func decodeAll(_ pending: inout [UInt8], parser: inout ProtocolParser) throws -> [String] {
        var ops: [String] = []
        let consumed = try pending.withUnsafeBytes { bytes -> Int in
            var offset = 0
            while let frame = try parser.decode(UnsafeRawBufferPointer(rebasing: bytes[offset...])) {
                XCTAssertGreaterThan(frame.length, 0)
                let end = offset + frame.length
                ops.append(render(frame.op, in: UnsafeRawBufferPointer(rebasing: bytes[offset..<end])))
                offset = end
            }
            return offset
        }
        pending.removeFirst(consumed)
        return ops
    }

    /// The single op `bytes` start with, or nil when it is incomplete.
    static func decodeOne(_ bytes: [UInt8], parser: inout ProtocolParser) throws -> ProtocolParser.Frame? {
        try bytes.withUnsafeBytes { try parser.decode($0) }
    }

    static let expected = [
        "INFO S1 1048576 true", "PING", "PONG", "OK",
        "MSG foo.bar 1 - 0 [hello]",
        "MSG foo.bar 2 reply.to 0 []",
        "MSG lower 3 - 0 [hi]",
        "MSG h.s 4 - 26 [NATS/1.0\r\nA: one\r\nB: 2\r\n\r\nworld]",
        "MSG h.s 4 _INBOX.x 16 [NATS/1.0 503\r\n\r\n]",
        "MSG bin 5 - 0 [\r\n\r\n]",
        "ERR Permissions Violation for Publish to \"x\"",
    ]

    /// Feeds `chunks` the way the connection handler does: keep the unread tail, append the next.
    func parse(_ chunks: [[UInt8]], parser: inout ProtocolParser) throws -> [String] {
        var ops: [String] = []
        var pending: [UInt8] = []
        for chunk in chunks {
            pending += chunk
            ops += try Self.decodeAll(&pending, parser: &parser)
        }
        XCTAssertEqual(pending, [], "bytes left over")
        return ops
    }

    func testWholeStream() throws {
        var parser = ProtocolParser()
        XCTAssertEqual(try parse([Array(Self.stream.utf8)], parser: &parser), Self.expected)
    }

    func testEverySplitPoint() throws {
        let bytes = Array(Self.stream.utf8)
        for split in 1..<bytes.count {
            var parser = ProtocolParser()
            let ops = try parse([Array(bytes[..<split]), Array(bytes[split...])], parser: &parser)
            XCTAssertEqual(ops, Self.expected, "split at \(split)")
        }
    }

    func testByteByByte() throws {
        var parser = ProtocolParser()
        let chunks = Array(Self.stream.utf8).map { [$0] }
        XCTAssertEqual(try parse(chunks, parser: &parser), Self.expected)
    }

    func testRandomChunks() throws {
        let bytes = Array(Self.stream.utf8)
        var generator = SystemRandomNumberGenerator()
        for round in 0..<200 {
            var chunks: [[UInt8]] = []
            var index = 0
            while index < bytes.count {
                let size = Int.random(in: 1...17, using: &generator)
                chunks.append(Array(bytes[index..<min(bytes.count, index + size)]))
                index += size
            }
            var parser = ProtocolParser()
            XCTAssertEqual(try parse(chunks, parser: &parser), Self.expected, "round \(round)")
        }
    }

    func testIncompleteOpReportsWhatItNeeds() throws {
        var parser = ProtocolParser()
        XCTAssertNil(try Self.decodeOne(Array("MSG foo 1 10\r\nhel".utf8), parser: &parser))
        XCTAssertEqual(parser.bytesNeeded, 9)
        let whole = Array("MSG foo 1 10\r\nhello12345\r\nPING\r\n".utf8)
        guard let frame = try Self.decodeOne(whole, parser: &parser), case .message(let message) = frame.op else {
            return XCTFail("no message")
        }
        XCTAssertEqual(frame.length, 26)
        XCTAssertEqual(message.body, 14..<24)
        XCTAssertNil(parser.bytesNeeded)
    }

    struct Hostile {
        let name: String
        let input: String
        let maxPayload: Int
        let check: (NATSError) -> Bool
    }

    static let hostile: [Hostile] = [
        Hostile(name: "empty line", input: "\r\n", maxPayload: 1024) { if case .protocolError = $0 { return true }; return false },
        Hostile(name: "bare LF", input: "\n", maxPayload: 1024) { if case .protocolError = $0 { return true }; return false },
        Hostile(name: "MSG without arguments", input: "MSG\r\n", maxPayload: 1024) { if case .protocolError = $0 { return true }; return false },
        Hostile(name: "INFO without a body", input: "INFO\r\n", maxPayload: 1024) { if case .protocolError = $0 { return true }; return false },
        Hostile(name: "unknown op", input: "HELLO\r\n", maxPayload: 1024) { if case .protocolError = $0 { return true }; return false },
        Hostile(name: "garbage instead of INFO", input: "\u{1}\u{2}garbage\r\n", maxPayload: 1024) { if case .protocolError = $0 { return true }; return false },
        Hostile(name: "control line too long", input: "MSG " + String(repeating: "a", count: 5000), maxPayload: 1024) { $0 == .controlLineTooLong(4096) },
        Hostile(name: "size beyond max_payload", input: "MSG foo 1 999999999\r\n", maxPayload: 1024) { $0 == .payloadTooLarge(limit: 1024, actual: 999_999_999) },
        Hostile(name: "size overflows", input: "MSG foo 1 99999999999999999999999\r\n", maxPayload: 1024) { if case .protocolError = $0 { return true }; return false },
        Hostile(name: "negative size", input: "MSG foo 1 -5\r\n", maxPayload: 1024) { if case .protocolError = $0 { return true }; return false },
        Hostile(name: "non-numeric sid", input: "MSG foo x 5\r\nhello\r\n", maxPayload: 1024) { if case .protocolError = $0 { return true }; return false },
        Hostile(name: "too few arguments", input: "MSG foo\r\n", maxPayload: 1024) { if case .protocolError = $0 { return true }; return false },
        Hostile(name: "too many arguments", input: "MSG a 1 b c d e\r\n", maxPayload: 1024) { if case .protocolError = $0 { return true }; return false },
        Hostile(name: "payload without CRLF", input: "MSG foo 1 2\r\nhiXX", maxPayload: 1024) { if case .protocolError = $0 { return true }; return false },
        Hostile(name: "header size beyond total", input: "HMSG foo 1 10 5\r\n", maxPayload: 1024) { if case .protocolError = $0 { return true }; return false },
        Hostile(name: "INFO not JSON", input: "INFO {nope\r\n", maxPayload: 1024) { if case .invalidJSON = $0 { return true }; return false },
        Hostile(name: "INFO not an object", input: "INFO [1,2]\r\n", maxPayload: 1024) { if case .protocolError = $0 { return true }; return false },
    ]

    func testHostileInput() {
        for item in Self.hostile {
            var parser = ProtocolParser(maxPayload: item.maxPayload)
            var pending = Array(item.input.utf8)
            do {
                _ = try Self.decodeAll(&pending, parser: &parser)
                XCTFail("\(item.name): no error")
            } catch let error as NATSError {
                XCTAssertTrue(item.check(error), "\(item.name): got \(error)")
            } catch {
                XCTFail("\(item.name): unexpected \(error)")
            }
        }
    }

    /// A failed op leaves nothing behind: the same parser then decodes a good stream.
    func testFreshAfterError() throws {
        var parser = ProtocolParser(maxPayload: 1024)
        var bad = Array("MSG foo 1 2\r\nhiXX".utf8)
        XCTAssertNil(try Self.decodeOne(Array("MSG foo 1 2\r\nh".utf8), parser: &parser))
        XCTAssertThrowsError(try Self.decodeAll(&bad, parser: &parser))
        XCTAssertNil(parser.bytesNeeded)
        XCTAssertEqual(try parse([Array(Self.stream.utf8)], parser: &parser), Self.expected)
    }

    /// An INFO line may be long (connect_urls of a big cluster), up to its own cap.
    func testLongInfoAccepted() throws {
        let urls = (0..<200).map { "\"10.0.0.\($0):4222\"" }.joined(separator: ",")
        var parser = ProtocolParser()
        let line = Array("INFO {\"server_id\":\"X\",\"connect_urls\":[\(urls)]}\r\n".utf8)
        guard case .info(let info)? = try Self.decodeOne(line, parser: &parser)?.op else { return XCTFail("no INFO") }
        XCTAssertEqual(info.connectURLs.count, 200)
    }

    /// A line that never ends costs O(n) overall: the LF search resumes where it stopped.
    func testDrippingLineIsLinear() throws {
        var parser = ProtocolParser()
        var bytes: [UInt8] = []
        for byte in Array("MSG some.subject 1 3".utf8) {
            bytes.append(byte)
            XCTAssertNil(try Self.decodeOne(bytes, parser: &parser))
        }
        bytes += Array("\r\nabc\r\n".utf8)
        XCTAssertNotNil(try Self.decodeOne(bytes, parser: &parser))
    }
}
