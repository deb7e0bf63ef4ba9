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
        out.pointee = try JSONCodec.decode(cBytes(text))
    }
}

@_cdecl("snats_json_dumps")
public func snats_json_dumps(_ out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ json: UnsafePointer<json_t>?) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let out = try required(out, "text")
        let json = try required(json, "json")
        let bytes = try JSONCodec.encode(UnsafeMutablePointer(mutating: json))
        guard let text = malloc(bytes.count + 1)?.assumingMemoryBound(to: CChar.self) else {
            throw NATSError.invalidJSON("out of memory")
        }
        bytes.withUnsafeBytes { if $0.count > 0 { memcpy(text, $0.baseAddress!, $0.count) } }
        text[bytes.count] = 0
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
