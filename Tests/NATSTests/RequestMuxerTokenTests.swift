@testable import NATS
import XCTest

/// Reply tokens are matched on bytes: decode must invert encode, and refuse anything else.
final class RequestMuxerTokenTests: XCTestCase {
    func testDecodeInvertsEncode() {
        for value: UInt64 in [1, 9, 10, 61, 62, 63, 3_843, 3_844, 1_000_000, 123_456_789_012, UInt64.max] {
            var text = RequestMuxer.encode(value)
            XCTAssertEqual(text.withUTF8 { RequestMuxer.decode(UnsafeRawBufferPointer($0)) }, value, "\(value) as \(text)")
        }
    }

    func testDecodeRefusesOtherTokens() {
        for bad in ["", "a-b", "ab.c", "é", "zzzzzzzzzzzz"] {
            var text = bad
            XCTAssertNil(text.withUTF8 { RequestMuxer.decode(UnsafeRawBufferPointer($0)) }, bad)
        }
    }
}
