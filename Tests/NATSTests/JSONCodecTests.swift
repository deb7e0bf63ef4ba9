import CJansson
import Foundation
import NATS
import XCTest

/// JSONCodec against Jansson's own loader and dumper: the same values from the same text,
/// the same refusals, and the limits that keep hostile input harmless.
final class JSONCodecTests: XCTestCase {
    private func decode(_ text: String) throws -> JSONValue {
        var copy = text
        return try copy.withUTF8 { JSONValue(taking: try JSONCodec.decode(UnsafeRawBufferPointer($0))) }
    }

    private func jansson(_ text: String) -> UnsafeMutablePointer<json_t>? {
        json_loadb(text, text.utf8.count, Int(JSON_DECODE_ANY), nil)
    }

    private func assertSameAsJansson(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws {
        let ours = try decode(text)
        guard let theirs = jansson(text) else { return XCTFail("Jansson refuses \(text)", file: file, line: line) }
        defer { cjansson_decref(theirs) }
        XCTAssertTrue(json_equal(ours.raw, theirs) != 0, "\(text) -> \(ours.serialized())", file: file, line: line)
        // What we write, Jansson reads back as the same value.
        let written = ours.serialized()
        guard let reread = jansson(written) else { return XCTFail("Jansson refuses our \(written)", file: file, line: line) }
        defer { cjansson_decref(reread) }
        XCTAssertTrue(json_equal(reread, theirs) != 0, "\(written)", file: file, line: line)
    }

    func testValuesMatchJansson() throws {
        let documents = [
            "0", "-0", "1", "-1", "9223372036854775807", "-9223372036854775808", "1.5", "-0.0", "1e3", "1E-7", "2.5e+10",
            "0.1", "1.7976931348623157e308", "5e-324", "true", "false", "null", "\"\"", "\"plain\"",
            #""esc \" \\ \/ \b \f \n \r \t""#, #""\u00e9\u4e2d\ud83d\ude00""#, "\"é中😀\"", #""\u001f""#,
            "[]", "{}", "[1,[2,[3,[]]],{}]", #"{"a":1,"b":[true,false,null],"c":{"d":"e"}}"#,
            #"{"dup":1,"dup":2}"#, #"{"":0}"#, " \t\n\r[ 1 , 2 ]\n ",
            #"{"id":"abc.1","method":"math.add","params":{"a":5,"b":3}}"#,
        ]
        for document in documents { try assertSameAsJansson(document) }
    }

    func testWritingIsCompactOrderedAndEscaped() throws {
        XCTAssertEqual(try decode(#"{ "zeta" : 1, "alpha" : [ 1.5 , "x" ] }"#).serialized(), #"{"zeta":1,"alpha":[1.5,"x"]}"#)
        XCTAssertEqual(try decode(#""a\"b\\c\n\u0001\u007f/é""#).serialized(), "\"a\\\"b\\\\c\\n\\u0001\u{7f}/é\"")
        XCTAssertEqual(try decode("-9223372036854775808").serialized(), "-9223372036854775808")
        XCTAssertEqual(try decode("0.1").serialized(), "0.1")
        XCTAssertEqual(try decode("5.0").serialized(), "5.0")
        let big = String(repeating: "x", count: 100_000)
        XCTAssertEqual(try decode("\"\(big)\"").stringValue, big)
    }

    func testRefusesWhatJanssonRefuses() {
        let bad = [
            "", " ", "[", "]", "{", "[1,]", "[,1]", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{a:1}", "{\"a\" 1}", "[1 2]",
            "01", "-", "1.", ".5", "1e", "1e+", "+1", "0x10", "NaN", "Infinity", "tru", "nul", "True",
            "\"unterminated", "\"bad \\x escape\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
            "\"\\u0000\"", "\"tab\there\"", "\"\u{1}\"", "[1] 2", "{} {}", "9223372036854775808", "-9223372036854775809",
            "1e400", "-1e400",
        ]
        for text in bad {
            XCTAssertThrowsError(try decode(text), text)
            XCTAssertNil(jansson(text).map { value -> Int in cjansson_decref(value); return 1 }, "Jansson accepts \(text)")
        }
        for invalidUTF8: [UInt8] in [[0x22, 0xC3, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22],
                                     [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22], [0x22, 0xE0, 0x80, 0x80, 0x22], [0x22, 0xFF, 0x22]] {
            XCTAssertThrowsError(try invalidUTF8.withUnsafeBytes { try JSONCodec.decode($0) }, "\(invalidUTF8)")
        }
    }

    func testWritingRefusesStringsThatAreNotUTF8() {
        for bytes: [CChar] in [[-1, -2], [-61], [-19, -96, -128]] {  // ff fe, a lone c3, a surrogate
            let value = JSONValue(taking: bytes.withUnsafeBufferPointer { json_stringn_nocheck($0.baseAddress, $0.count) }!)
            XCTAssertThrowsError(try value.bytes()) { error in
                XCTAssertEqual(error as? NATSError, .invalidJSON("a string is not valid UTF-8"))
            }
        }
        XCTAssertEqual(try JSONValue.string("é中😀").bytes(), Array("\"é中😀\"".utf8))
    }

    func testErrorsSayWhereAndWhat() {
        XCTAssertThrowsError(try decode("{\n  \"a\": tru\n}")) { error in
            XCTAssertEqual(error as? NATSError, .invalidJSON("invalid literal (line 2, column 8)"))
        }
        XCTAssertThrowsError(try decode("[1, 2] x")) { error in
            XCTAssertEqual(error as? NATSError, .invalidJSON("end of input expected (line 1, column 8)"))
        }
    }

    /// Keys are read like values: escapes and multi-byte characters, after a string that used
    /// the scratch buffer, and before one that reuses it.
    func testKeysWithEscapesAndNonASCII() throws {
        let documents = [
            #"{"café":1}"#, #"{"a\\b":2}"#, #"["a\nb",{"x\ty":1}]"#, #"{"名前":"x"}"#, #"{"\u00e9":"\u00e8","k\"q":"v\"w"}"#,
            #"{"a\nb":{"c\td":{"😀":[{"\u4e2d":"\n"}]}}}"#, #"[{"é":"ü"},{"é\n":"ü\n"}]"#,
        ]
        for document in documents { try assertSameAsJansson(document) }
        XCTAssertEqual(try decode(#"{"café":1}"#).serialized(), #"{"café":1}"#)
        XCTAssertEqual(try decode(#"["a\nb",{"x\ty":1}]"#).serialized(), #"["a\nb",{"x\ty":1}]"#)
        XCTAssertEqual(try decode(#"{"名前": "x"}"#).serialized(), #"{"名前":"x"}"#)
    }

    /// Jansson's rule, which the codec shares: every value is a level, scalars too.
    func testDepthIsLimitedBothWays() throws {
        func nested(_ count: Int, holding inner: String) -> String {
            String(repeating: "[", count: count) + inner + String(repeating: "]", count: count)
        }
        let deepest = nested(JSONCodec.maxDepth, holding: "")
        XCTAssertEqual(try decode(deepest).serialized(), deepest)
        let deepestHolding = nested(JSONCodec.maxDepth - 1, holding: "1")
        XCTAssertEqual(try decode(deepestHolding).serialized(), deepestHolding)
        for accepted in [deepest, deepestHolding] {
            XCTAssertNotNil(jansson(accepted).map { value -> Int in cjansson_decref(value); return 1 })
        }
        for refused in ["[" + deepest + "]", nested(JSONCodec.maxDepth, holding: "1"),
                        nested(JSONCodec.maxDepth - 1, holding: #"{"a":1}"#)] {
            XCTAssertThrowsError(try decode(refused))
            XCTAssertNil(jansson(refused).map { value -> Int in cjansson_decref(value); return 1 }, "Jansson accepts it")
        }
        // The writer refuses what the reader would: a number inside 2048 arrays built by hand.
        var built = JSONValue.array()
        built.append(JSONValue(taking: json_integer(1)!))
        for _ in 1..<JSONCodec.maxDepth {
            let outer = JSONValue.array()
            outer.append(built)
            built = outer
        }
        XCTAssertThrowsError(try built.bytes())
        let tooDeep = "[" + deepest + "]"
        // A million open brackets: an error, not a stack overflow.
        XCTAssertThrowsError(try decode(String(repeating: "[", count: 1_000_000)))
        // A value that contains itself cannot be written.
        let cyclic = JSONValue.array()
        let inner = JSONValue.array()
        cyclic.append(inner)
        inner.append(cyclic)  // Jansson refuses only a direct self-reference
        XCTAssertThrowsError(try cyclic.bytes())
        XCTAssertEqual(cyclic.serialized(), "null")
        json_array_clear(inner.raw)
    }

    /// Every special byte at every position of strings long enough for the 8-byte scan.
    func testSpecialBytesAtEveryPosition() throws {
        for special in ["\\\"", "\\\\", "\\n", "\\u0001", "é", "😀", "\\u00e9"] {
            for length in 0..<34 {
                for at in 0...length {
                    let plain = String(repeating: "a", count: length)
                    let text = "\"" + plain.prefix(at) + special + plain.dropFirst(at) + "\""
                    try assertSameAsJansson(text)
                }
            }
        }
        for bad in ["\u{1}", "\t"] {
            let text = "\"" + String(repeating: "b", count: 17) + bad + "\""
            XCTAssertThrowsError(try decode(text), text)
        }
    }

    func testRandomDocumentsRoundTrip() throws {
        var generator = SystemRandomNumberGenerator()
        func randomText() -> String {
            String((0..<Int.random(in: 0..<12, using: &generator)).map { _ in
                Character(Unicode.Scalar([0x22, 0x5C, 0x0A, 0x01, 0x41, 0xE9, 0x4E2D, 0x1F600].randomElement()!)!) })
        }
        func random(_ depth: Int) -> Any {
            switch Int.random(in: 0..<(depth > 3 ? 5 : 7), using: &generator) {
            case 0: return Int.random(in: Int.min...Int.max, using: &generator)
            case 1: return Double.random(in: -1e12...1e12, using: &generator)
            case 2: return randomText()
            case 3: return Bool.random()
            case 4: return NSNull()
            case 5: return (0..<Int.random(in: 0..<4)).map { _ in random(depth + 1) }
            default:
                // Keys with escapes and multi-byte characters, each made unique by its index.
                return Dictionary(uniqueKeysWithValues: (0..<Int.random(in: 0..<4)).map { index in
                    (randomText() + "\(index)", random(depth + 1)) })
            }
        }
        for _ in 0..<300 {
            let value = [random(0)]
            let text = String(decoding: try JSONSerialization.data(withJSONObject: value), as: UTF8.self)
            try assertSameAsJansson(text)
        }
    }
}
