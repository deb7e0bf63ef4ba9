// libFuzzer target: JSONCodec against Jansson's own loader and comparison.
//
// For any input:
//  - JSONCodec.decode accepts it iff json_loadb(..., JSON_DECODE_ANY) does;
//  - when both accept, the two values are json_equal;
//  - JSONCodec.encode never fails on a value either loader produced, and its text decodes,
//    with both loaders, to a value json_equal to the original, and encodes again to the same
//    text.
// Jansson 2.14 drops a NUL byte that directly follows a number or a literal (`[1\0]` loads as
// `[1]`), so inputs with a NUL right after an ASCII letter or digit skip the first two checks
// (a NUL there is an error for JSONCodec, and one anywhere else is an error for both).

#if canImport(Glibc)
import Glibc
#endif
import CJansson
import NATS

func hex(_ bytes: UnsafeRawBufferPointer, limit: Int = 512) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    for byte in bytes.prefix(limit) {
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 15)])
    }
    return String(decoding: out, as: UTF8.self) + (bytes.count > limit ? "... (\(bytes.count) bytes)" : "")
}

/// Jansson's compact text of a value, for messages.
func dump(_ value: UnsafeMutablePointer<json_t>) -> String {
    guard let text = json_dumps(value, Int(JSON_ENCODE_ANY | JSON_COMPACT)) else { return "(json_dumps failed)" }
    defer { free(text) }
    let string = String(cString: text)
    return string.count > 600 ? String(string.prefix(600)) + "..." : string
}

func violated(_ rule: String, _ input: UnsafeRawBufferPointer) -> Never {
    fatalError("FuzzJSON invariant violated: \(rule)\ninput (hex): \(hex(input))")
}

/// Jansson's loader, any value at the top level. The error text is empty on success.
func janssonLoad(_ bytes: UnsafeRawBufferPointer) -> (UnsafeMutablePointer<json_t>?, String) {
    var error = json_error_t()
    let base = (bytes.baseAddress ?? UnsafeRawPointer(("" as StaticString).utf8Start))
        .assumingMemoryBound(to: CChar.self)
    guard let value = json_loadb(base, bytes.count, Int(JSON_DECODE_ANY), &error) else {
        let text = withUnsafeBytes(of: &error.text) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        return (nil, "\(text) (line \(error.line), column \(error.column))")
    }
    return (value, "")
}

func codecLoad(_ bytes: UnsafeRawBufferPointer) -> (UnsafeMutablePointer<json_t>?, String) {
    do {
        return (try JSONCodec.decode(bytes), "")
    } catch {
        return (nil, String(describing: error))
    }
}

/// A NUL byte right after an ASCII letter or digit: where Jansson drops it.
func hasDroppedNul(_ bytes: UnsafeRawBufferPointer) -> Bool {
    guard bytes.count > 1 else { return false }
    for index in 1..<bytes.count where bytes[index] == 0 {
        let before = bytes[index - 1]
        if (before >= 0x30 && before <= 0x39) || ((before | 0x20) >= 0x61 && (before | 0x20) <= 0x7A) {
            return true
        }
    }
    return false
}

/// Encodes `value` and checks that the text reads back, with both loaders, as the same value.
func checkRoundTrip(_ value: UnsafeMutablePointer<json_t>, from whom: String, input: UnsafeRawBufferPointer) {
    let text: [UInt8]
    do {
        text = try JSONCodec.encode(value)
    } catch {
        violated("JSONCodec.encode failed on the value \(whom) decoded: \(error)", input)
    }
    text.withUnsafeBytes { encoded in
        // Both loaders read the encoding back as the same value.
        let loaders: [(name: String, load: (UnsafeRawBufferPointer) -> (UnsafeMutablePointer<json_t>?, String))] = [
            ("JSONCodec", codecLoad), ("Jansson", janssonLoad),
        ]
        for loader in loaders {
            let (again, error) = loader.load(encoded)
            guard let again else {
                violated("\(loader.name) rejects JSONCodec's encoding of the value \(whom) decoded: \(error)\n"
                    + "encoded (hex): \(hex(encoded))", input)
            }
            defer { cjansson_decref(again) }
            guard json_equal(value, again) == 1 else {
                violated("\(loader.name) decodes JSONCodec's encoding of the value \(whom) decoded to a different value\n"
                    + "encoded (hex): \(hex(encoded))\nvalue: \(dump(value))\nread back: \(dump(again))", input)
            }
            // Stable: what JSONCodec writes of its own reading is the same text.
            guard loader.name != "JSONCodec" || (try? JSONCodec.encode(again)) ?? [] == text else {
                violated("encoding is not stable: encode(decode(encode(v))) != encode(v)\n"
                    + "first (hex): \(hex(encoded))", input)
            }
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let (ours, ourError) = codecLoad(input)
    let (theirs, theirError) = janssonLoad(input)
    defer {
        if let ours { cjansson_decref(ours) }
        if let theirs { cjansson_decref(theirs) }
    }
    if !hasDroppedNul(input) {
        switch (ours, theirs) {
        case (nil, .some):
            violated("JSONCodec rejects what Jansson accepts: \(ourError)", input)
        case (.some, nil):
            violated("JSONCodec accepts what Jansson rejects: \(theirError)", input)
        case (let ours?, let theirs?):
            guard json_equal(ours, theirs) == 1 else {
                violated("JSONCodec and Jansson decode different values\n"
                    + "JSONCodec: \(dump(ours))\nJansson:   \(dump(theirs))", input)
            }
        case (nil, nil):
            break
        }
    }
    if let ours { checkRoundTrip(ours, from: "JSONCodec", input: input) }
    if let theirs { checkRoundTrip(theirs, from: "Jansson", input: input) }
    return 0
}
