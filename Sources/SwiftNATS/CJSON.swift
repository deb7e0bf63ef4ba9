#if canImport(Glibc)
import Glibc
#endif
import CJansson
import NATS

@_cdecl("snats_json_decref")
public func snats_json_decref(_ json: UnsafeMutablePointer<json_t>?) {
    if let json { cjansson_decref(json) }
}

@_cdecl("snats_json_incref")
public func snats_json_incref(_ json: UnsafeMutablePointer<json_t>?) -> UnsafeMutablePointer<json_t>? {
    guard let json else { return nil }
    return cjansson_incref(json)
}

@_cdecl("snats_json_loads")
public func snats_json_loads(_ out: UnsafeMutablePointer<UnsafeMutablePointer<json_t>?>?, _ text: UnsafePointer<CChar>?) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let out = try required(out, "json")
        let text = try required(text, "text")
        var error = json_error_t()
        guard let value = json_loads(text, Int(JSON_DECODE_ANY), &error) else {
            let detail = withUnsafeBytes(of: &error.text) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw NATSError.invalidJSON("\(detail) (line \(error.line), column \(error.column))")
        }
        out.pointee = value
    }
}

@_cdecl("snats_json_dumps")
public func snats_json_dumps(_ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ json: UnsafePointer<json_t>?) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let out = try required(out, "text")
        let json = try required(json, "json")
        guard let text = json_dumps(json, Int(JSON_COMPACT) | Int(JSON_PRESERVE_ORDER) | Int(JSON_ENCODE_ANY)) else {
            throw NATSError.invalidJSON("value cannot be serialised")
        }
        out.pointee = text
    }
}

@_cdecl("snats_free")
public func snats_free(_ pointer: UnsafeMutableRawPointer?) {
    free(pointer)
}

/// The shape of every getter whose result is a `json_t **` out-parameter: NULL on failure, a new
/// reference on success. The document is kept alive across the incref: ARC may otherwise free
/// it right after `raw` is read, handing the caller freed memory.
func withJSONOut(
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<json_t>?>?, _ name: String, _ make: () throws -> JSONValue
) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let out = try required(out, name)
        let made = try make()
        out.pointee = withExtendedLifetime(made) { cjansson_incref(made.raw) }
    }
}
