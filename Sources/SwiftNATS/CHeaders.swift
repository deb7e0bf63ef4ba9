#if canImport(Glibc)
import Glibc
#endif
import NATS

/// `snats_headers`: a header set and, built on first read after each change, C copies of its
/// strings, so getters can return pointers that stay valid until the next change.
final class CHeaders {
    private(set) var headers: Headers
    let readOnly: Bool
    private var table: [(key: UnsafeMutablePointer<CChar>, values: [UnsafeMutablePointer<CChar>])]?
    private var description: UnsafeMutablePointer<CChar>?

    init(headers: Headers = Headers(), readOnly: Bool = false) {
        self.headers = headers
        self.readOnly = readOnly
    }

    deinit { dropTable() }

    func encoded() -> [UInt8] { headers.isEmpty ? [] : headers.encoded() }

    /// Lends the encoded block of an optional header handle; NULL or empty lends nil.
    static func withEncoded<T>(_ pointer: OpaquePointer?, _ body: (UnsafeRawBufferPointer?) throws -> T) rethrows -> T {
        let encoded = pointer.map { Handle.borrow($0, as: CHeaders.self).encoded() } ?? []
        return try encoded.withUnsafeBytes { try body($0.isEmpty ? nil : $0) }
    }

    func mutate(_ body: (inout Headers) throws -> Void) throws {
        guard !readOnly else { throw NATSError.illegalState("a received message's headers are read-only") }
        try body(&headers)
        dropTable()
    }

    private func dropTable() {
        if let table {
            for entry in table {
                free(entry.key)
                entry.values.forEach { free($0) }
            }
        }
        table = nil
        free(description)
        description = nil
    }

    /// strdup fails only when malloc does.
    private static func copy(_ text: String) -> UnsafeMutablePointer<CChar> { strdup(text)! }

    private func built() -> [(key: UnsafeMutablePointer<CChar>, values: [UnsafeMutablePointer<CChar>])] {
        if let table { return table }
        let made = headers.entries.map { entry in (key: Self.copy(entry.name), values: entry.values.map(Self.copy)) }
        table = made
        return made
    }

    func entry(named key: UnsafePointer<CChar>) -> [UnsafeMutablePointer<CChar>]? {
        built().first { strcmp($0.key, key) == 0 }?.values
    }

    func key(at index: Int) -> UnsafeMutablePointer<CChar>? {
        let table = built()
        return index < table.count ? table[index].key : nil
    }

    var keyCount: Int { headers.entries.count }

    var statusDescription: UnsafeMutablePointer<CChar> {
        if let description { return description }
        let made = Self.copy(headers.statusDescription)
        description = made
        return made
    }
}

/// Message headers are shared by every reader of the message, so their lazily built C table
/// is guarded like the message's other derived data.
private func reading<T>(_ box: CHeaders, _ body: () throws -> T) rethrows -> T {
    if box.readOnly { return try MessageStorage.cacheLock.withLock(body) }
    return try body()
}

@inline(__always)
private func headers(_ pointer: OpaquePointer?) throws -> CHeaders {
    try Handle.get(pointer, as: CHeaders.self, "headers")
}

@_cdecl("snats_headers_create")
public func snats_headers_create(_ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    withStatus { try required(out, "headers").pointee = Handle.make(CHeaders()) }
}

@_cdecl("snats_headers_parse")
public func snats_headers_parse(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ block: UnsafeRawPointer?, _ length: Int
) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let out = try required(out, "headers")
        let start = try required(block, "block")
        guard length >= 0 else { throw NATSError.invalidArgument("len must not be negative") }
        let parsed = try Headers.parse(UnsafeRawBufferPointer(start: start, count: length))
        out.pointee = Handle.make(CHeaders(headers: parsed))
    }
}

@_cdecl("snats_headers_destroy")
public func snats_headers_destroy(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    // A message's headers belong to the message; releasing them here would free them early.
    if Handle.borrow(pointer, as: CHeaders.self).readOnly { return }
    Handle.release(pointer, as: CHeaders.self)
}

@_cdecl("snats_headers_set")
public func snats_headers_set(_ pointer: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?) -> Int32 {
    withStatus {
        let key = try requiredString(key, "key")
        let value = try requiredString(value, "value")
        try headers(pointer).mutate { try $0.set(key, value) }
    }
}

@_cdecl("snats_headers_add")
public func snats_headers_add(_ pointer: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?) -> Int32 {
    withStatus {
        let key = try requiredString(key, "key")
        let value = try requiredString(value, "value")
        try headers(pointer).mutate { try $0.add(key, value) }
    }
}

@_cdecl("snats_headers_delete")
public func snats_headers_delete(_ pointer: OpaquePointer?, _ key: UnsafePointer<CChar>?) -> Int32 {
    withStatus {
        let key = try requiredString(key, "key")
        var removed = false
        try headers(pointer).mutate { removed = $0.remove(key) }
        if !removed { throw NotFound(what: "header \"\(key)\"") }
    }
}

struct NotFound: Error, CustomStringConvertible {
    let what: String
    var description: String { "\(what) not found" }
}

@_cdecl("snats_headers_get")
public func snats_headers_get(
    _ out: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ pointer: OpaquePointer?, _ key: UnsafePointer<CChar>?
) -> Int32 {
    snats_headers_value_at(out, pointer, key, 0)
}

@_cdecl("snats_headers_value_count")
public func snats_headers_value_count(_ pointer: OpaquePointer?, _ key: UnsafePointer<CChar>?) -> Int {
    guard let pointer, let key else { return 0 }
    let box = Handle.borrow(pointer, as: CHeaders.self)
    return reading(box) { box.entry(named: key)?.count ?? 0 }
}

@_cdecl("snats_headers_value_at")
public func snats_headers_value_at(
    _ out: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ pointer: OpaquePointer?, _ key: UnsafePointer<CChar>?,
    _ index: Int
) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let out = try required(out, "value")
        let box = try headers(pointer)
        let key = try required(key, "key")
        let value: UnsafeMutablePointer<CChar>? = reading(box) {
            guard let values = box.entry(named: key), index >= 0, index < values.count else { return nil }
            return values[index]
        }
        guard let value else { throw NotFound(what: "header \"\(String(cString: key))\" value \(index)") }
        out.pointee = UnsafePointer(value)
    }
}

@_cdecl("snats_headers_key_count")
public func snats_headers_key_count(_ pointer: OpaquePointer?) -> Int {
    guard let pointer else { return 0 }
    return Handle.borrow(pointer, as: CHeaders.self).keyCount
}

@_cdecl("snats_headers_key_at")
public func snats_headers_key_at(
    _ out: UnsafeMutablePointer<UnsafePointer<CChar>?>?, _ pointer: OpaquePointer?, _ index: Int
) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let out = try required(out, "key")
        let box = try headers(pointer)
        guard let key = reading(box, { box.key(at: index) }) else { throw NotFound(what: "header key \(index)") }
        out.pointee = UnsafePointer(key)
    }
}

@_cdecl("snats_headers_status")
public func snats_headers_status(_ pointer: OpaquePointer?) -> Int32 {
    guard let pointer else { return 0 }
    return Int32(Handle.borrow(pointer, as: CHeaders.self).headers.statusCode)
}

@_cdecl("snats_headers_description")
public func snats_headers_description(_ pointer: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let pointer else { return nil }
    let box = Handle.borrow(pointer, as: CHeaders.self)
    return reading(box) { UnsafePointer(box.statusDescription) }
}
