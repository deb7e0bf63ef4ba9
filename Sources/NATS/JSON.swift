#if canImport(Glibc)
import Glibc
#endif
import CJansson

/// A thin owner of a Jansson value, for the few JSON documents the core handles itself
/// (INFO, CONNECT). Foundation stays out of the library; Jansson is already our JSON.
public final class JSONValue {
    public let raw: UnsafeMutablePointer<json_t>

    /// Takes ownership of a new reference.
    public init(taking raw: UnsafeMutablePointer<json_t>) { self.raw = raw }

    deinit { cjansson_decref(raw) }

    /// Parses any JSON value (JSONCodec: strict RFC 8259, depth-limited).
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        JSONValue(taking: try JSONCodec.decode(bytes))
    }

    public static func parse(_ text: String) throws -> JSONValue {
        var copy = text
        return try copy.withUTF8 { try parse(UnsafeRawBufferPointer($0)) }
    }

    public static func object() -> JSONValue {
        // json_object() returns NULL only when malloc fails.
        JSONValue(taking: json_object()!)
    }

    /// The string member `key`, whole: an embedded NUL stays in it (for the validators that
    /// refuse it), rather than cutting it short.
    public func string(_ key: String) -> String? {
        guard let value = json_object_get(raw, key), json_is_string(value),
            let text = json_string_value(value)
        else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: text, count: json_string_length(value)), as: UTF8.self)
    }

    public func int(_ key: String) -> Int? {
        guard let value = json_object_get(raw, key), json_is_integer(value) else { return nil }
        return Int(json_integer_value(value))
    }

    public func bool(_ key: String) -> Bool? {
        guard let value = json_object_get(raw, key), json_is_boolean(value) else { return nil }
        return json_is_true(value)
    }

    public func strings(_ key: String) -> [String] {
        guard let array = json_object_get(raw, key), json_is_array(array) else { return [] }
        var result: [String] = []
        for index in 0..<json_array_size(array) {
            if let item = json_array_get(array, index), let text = json_string_value(item) {
                result.append(String(cString: text))
            }
        }
        return result
    }

    public func set(_ key: String, _ value: String) { json_object_set_new(raw, key, json_string(value)) }
    public func set(_ key: String, _ value: Int) { json_object_set_new(raw, key, json_integer(json_int_t(value))) }
    public func set(_ key: String, _ value: Bool) { json_object_set_new(raw, key, json_boolean(value)) }

    /// Shares a value someone else owns (takes a new reference).
    public init(retaining raw: UnsafeMutablePointer<json_t>) {
        self.raw = cjansson_incref(raw) ?? raw
    }

    /// An array holding `items` (each shared, not copied).
    public static func array(of items: [JSONValue]) -> JSONValue {
        let array = JSONValue.array()
        for item in items { array.append(item) }
        return array
    }

    public static func array() -> JSONValue {
        // json_array() returns NULL only when malloc fails.
        JSONValue(taking: json_array()!)
    }

    public static func stringObject(_ pairs: [String: String]) -> JSONValue {
        let object = JSONValue.object()
        for key in pairs.keys.sorted() { object.set(key, pairs[key] ?? "") }
        return object
    }

    public func set(_ key: String, _ value: Int64) { json_object_set_new(raw, key, json_integer(json_int_t(value))) }
    public func set(_ key: String, _ value: JSONValue) { json_object_set(raw, key, value.raw) }
    public func setNull(_ key: String) { json_object_set_new(raw, key, json_null()) }
    /// Removes member `key`; false when there was none.
    @discardableResult
    public func remove(_ key: String) -> Bool { json_object_del(raw, key) == 0 }
    public func append(_ value: JSONValue) { json_array_append(raw, value.raw) }

    public var isObject: Bool { raw.pointee.type == JSON_OBJECT }
    public var isNull: Bool { raw.pointee.type == JSON_NULL }
    public var isArray: Bool { raw.pointee.type == JSON_ARRAY }

    /// The member `key` of an object, shared.
    public func value(_ key: String) -> JSONValue? {
        guard let member = json_object_get(raw, key) else { return nil }
        return JSONValue(retaining: member)
    }

    /// The keys of an object, in order.
    public var keys: [String] {
        guard isObject else { return [] }
        var keys: [String] = []
        var iterator = json_object_iter(raw)
        while let current = iterator {
            if let key = json_object_iter_key(current) { keys.append(String(cString: key)) }
            iterator = json_object_iter_next(raw, current)
        }
        return keys
    }

    /// The items of an array, shared.
    public var items: [JSONValue] {
        guard isArray else { return [] }
        return (0..<json_array_size(raw)).compactMap { index in json_array_get(raw, index).map { JSONValue(retaining: $0) } }
    }

    /// Compact serialisation, keys in insertion order; "null" for a value that cannot be
    /// written (one that contains itself).
    public func serialized() -> String {
        guard let bytes = try? JSONCodec.encode(raw) else { return "null" }
        return String(decoding: bytes, as: UTF8.self)
    }
}

// Jansson's type tests are macros; Swift sees none of them.
@inline(__always) func json_is_string(_ value: UnsafeMutablePointer<json_t>) -> Bool { value.pointee.type == JSON_STRING }
@inline(__always) func json_is_integer(_ value: UnsafeMutablePointer<json_t>) -> Bool { value.pointee.type == JSON_INTEGER }
@inline(__always) func json_is_array(_ value: UnsafeMutablePointer<json_t>) -> Bool { value.pointee.type == JSON_ARRAY }
@inline(__always) func json_is_boolean(_ value: UnsafeMutablePointer<json_t>) -> Bool {
    value.pointee.type == JSON_TRUE || value.pointee.type == JSON_FALSE
}
@inline(__always) func json_is_true(_ value: UnsafeMutablePointer<json_t>) -> Bool { value.pointee.type == JSON_TRUE }
@inline(__always) func json_boolean(_ flag: Bool) -> UnsafeMutablePointer<json_t>? { flag ? json_true() : json_false() }

/// The kind of a JSON value, for code that checks shapes (RPC parameter descriptions).
public enum JSONKind: String {
    case object, array, string, integer, real, boolean, null

    /// JSON Schema's names: "number" covers integers and reals.
    public var schemaName: String {
        switch self {
        case .integer: return "integer"
        case .real: return "number"
        default: return rawValue
        }
    }
}

extension JSONValue {
    public static func string(_ text: String) -> JSONValue {
        // json_stringn fails only for invalid UTF-8, which a Swift String never holds (or on malloc).
        var copy = text
        let made = copy.withUTF8 { bytes in
            bytes.withMemoryRebound(to: CChar.self) { json_stringn_nocheck($0.baseAddress, $0.count) }
        }
        return JSONValue(taking: made ?? json_null())
    }

    public static func integer(_ value: Int) -> JSONValue { JSONValue(taking: json_integer(json_int_t(value))) }
    public static func number(_ value: Double) -> JSONValue { JSONValue(taking: json_real(value) ?? json_null()) }

    /// The value of an integer.
    public var integerValue: Int? { kind == .integer ? Int(json_integer_value(raw)) : nil }

    /// The value of an integer or a real.
    public var numberValue: Double? {
        switch kind {
        case .integer, .real: return json_number_value(raw)
        default: return nil
        }
    }
    public static func null() -> JSONValue { JSONValue(taking: json_null()) }

    public var kind: JSONKind {
        switch raw.pointee.type {
        case JSON_OBJECT: return .object
        case JSON_ARRAY: return .array
        case JSON_STRING: return .string
        case JSON_INTEGER: return .integer
        case JSON_REAL: return .real
        case JSON_TRUE, JSON_FALSE: return .boolean
        default: return .null
        }
    }

    /// The text of a string value.
    public var stringValue: String? {
        guard kind == .string, let text = json_string_value(raw) else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: text, count: json_string_length(raw)), as: UTF8.self)
    }

    /// The number of an array's items or an object's members; 0 otherwise.
    public var count: Int {
        switch kind {
        case .array: return json_array_size(raw)
        case .object: return json_object_size(raw)
        default: return 0
        }
    }

    /// A deep copy: the caller may change it without touching the original.
    public func copy() -> JSONValue { JSONValue(taking: json_deep_copy(raw) ?? json_null()) }

    /// Serialised as UTF-8 bytes (a message payload). Throws for a value that contains itself.
    public func bytes() throws -> [UInt8] { try JSONCodec.encode(raw) }
}
