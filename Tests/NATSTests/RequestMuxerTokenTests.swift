@testable import NATS
import XCTest

/// Reply tokens are matched on bytes: decode must invert encode, and refuse anything else.
final class RequestMuxerTokenTests: XCTestCase {
    func testDecodeInvertsEncode() {
        for value: UInt64 in [1, 9, 10, 61, 62, 63, 3_843, 3_844, 1_000_000, 123_456_789_012, UInt64.max] {
            withUnsafeTemporaryAllocation(byteCount: RequestMuxer.tokenDigitsMax, alignment: 1) { buffer in
                let count = RequestMuxer.encode(value, into: buffer)
                let digits = UnsafeRawBufferPointer(rebasing: buffer[..<count])
                XCTAssertEqual(RequestMuxer.decode(digits), value, "\(value) as \(String(decoding: digits, as: UTF8.self))")
            }
        }
    }

    func testDecodeRefusesOtherTokens() {
        for bad in ["", "a-b", "ab.c", "é", "zzzzzzzzzzzz"] {
            var text = bad
            XCTAssertNil(text.withUTF8 { RequestMuxer.decode(UnsafeRawBufferPointer($0)) }, bad)
        }
    }

    func testTheReplySubjectIsThePrefixAndTheToken() {
        let muxer = RequestMuxer(inboxPrefix: "_INBOX")
        let first = muxer.register { _ in }
        let second = muxer.register { _ in }
        XCTAssertNotEqual(first, second)
        let subject = muxer.withReplySubject(second) { String(decoding: $0, as: UTF8.self) }
        XCTAssertTrue(subject.hasPrefix(muxer.replyPrefix), subject)
        var token = String(subject.dropFirst(muxer.replyPrefix.count))
        XCTAssertEqual(token.withUTF8 { RequestMuxer.decode(UnsafeRawBufferPointer($0)) }, second.value)
        XCTAssertTrue(muxer.cancel(token: second))
        XCTAssertFalse(muxer.cancel(token: second), "a token is forgotten once")
    }
}
