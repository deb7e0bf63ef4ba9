import CJansson

/// A thin owner of a Jansson value, for the few JSON documents the core handles itself
/// (INFO, CONNECT). Foundation stays out of the library; Jansson is already our JSON.
public final class JSONValue {
    public let raw: UnsafeMutablePointer<json_t>

    /// Takes ownership of a new reference.
    public init(taking raw: UnsafeMutablePointer<json_t>) { self.raw = raw }

    deinit { cjansson_decref(raw) }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws -> JSONValue {
        var error = json_error_t()
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self),
            let value = json_loadb(base, bytes.count, 0, &error)
        else {
            let text = withUnsafeBytes(of: &error.text) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw NATSError.invalidJSON("\(text) (line \(error.line), column \(error.column))")
        }
        return JSONValue(taking: value)
    }

    public static func parse(_ text: String) throws -> JSONValue {
        var copy = text
        return try copy.withUTF8 { try parse(UnsafeRawBufferPointer($0)) }
    }

    public static func object() -> JSONValue {
        // json_object() returns NULL only when malloc fails.
        JSONValue(taking: json_object()!)
    }

    public func string(_ key: String) -> String? {
        guard let value = json_object_get(raw, key), json_is_string(value),
            let text = json_string_value(value)
        else { return nil }
        return String(cString: text)
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

    /// Compact serialisation, keys in insertion order.
    public func serialized() -> String {
        guard let text = json_dumps(raw, Int(JSON_COMPACT) | Int(JSON_PRESERVE_ORDER) | Int(JSON_ENCODE_ANY)) else { return "null" }
        defer { free(text) }
        return String(cString: text)
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
