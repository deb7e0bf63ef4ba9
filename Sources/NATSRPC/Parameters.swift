import NATS

/// One declared parameter of a method.
public struct Parameter: Equatable {
    /// What a parameter takes: one value, or the rest of the positional or keyword arguments
    /// (Python's `*args` and `**kwargs`).
    public enum Kind: String { case single, restPositional = "var_positional", restKeyword = "var_keyword" }

    public var name: String
    /// A JSON type ("string", "number", "integer", "boolean", "array", "object", "null"), or
    /// nil for any value.
    public var type: String?
    public var required: Bool
    public var kind: Kind

    public init(_ name: String, type: String? = nil, required: Bool = true, kind: Kind = .single) {
        self.name = name
        self.type = type
        self.required = required && kind == .single
        self.kind = kind
    }

    static let types: Set<String> = ["string", "number", "integer", "boolean", "array", "object", "null"]

    func accepts(_ value: JSONValue) -> Bool {
        guard let type else { return true }
        let kind = value.kind
        return type == kind.schemaName || (type == "number" && kind == .integer)
    }
}

/// A method's parameter list: what `describe()` shows, and what params are checked against
/// before the handler runs (a mismatch answers -32602 naming the parameter).
///
/// As JSON (the C API, and the endpoint metadata `rpc.params`): an array whose items are a
/// name (`"a"`: required, any type) or an object `{"name": "a", "type": "number",
/// "required": false, "kind": "var_positional" | "var_keyword"}`.
public struct ParameterList: Equatable {
    public var parameters: [Parameter]

    public init(_ parameters: [Parameter]) { self.parameters = parameters }

    public init(json: JSONValue) throws {
        guard json.isArray else { throw RPCConfigError("a parameter description must be a JSON array") }
        var parameters: [Parameter] = []
        for (index, item) in json.items.enumerated() {
            if let name = item.stringValue {
                guard !name.isEmpty, name != Self.positionalKey else {
                    throw RPCConfigError("parameter \(index) has an empty or reserved (\"\(Self.positionalKey)\") name")
                }
                parameters.append(Parameter(name))
                continue
            }
            guard item.isObject, let name = item.string("name"), !name.isEmpty else {
                throw RPCConfigError("parameter \(index) must be a name or an object with a \"name\"")
            }
            guard name != Self.positionalKey else {
                throw RPCConfigError("the parameter name \"\(name)\" is reserved for positional values")
            }
            let type = item.string("type").flatMap { $0 == "any" ? nil : $0 }
            if let type, !Parameter.types.contains(type) {
                throw RPCConfigError("parameter \"\(name)\" has unknown type \"\(type)\"")
            }
            var kind = Parameter.Kind.single
            if let text = item.string("kind") {
                guard let known = Parameter.Kind(rawValue: text) else {
                    throw RPCConfigError("parameter \"\(name)\" has unknown kind \"\(text)\"")
                }
                kind = known
            }
            parameters.append(Parameter(name, type: type, required: item.bool("required") ?? true, kind: kind))
        }
        var seen: Set<String> = []
        for parameter in parameters where !seen.insert(parameter.name).inserted {
            throw RPCConfigError("parameter \"\(parameter.name)\" is declared twice")
        }
        self.parameters = parameters
    }

    public var json: JSONValue {
        let array = JSONValue.array()
        for parameter in parameters {
            let item = JSONValue.object()
            item.set("name", parameter.name)
            if let type = parameter.type { item.set("type", type) }
            item.set("required", parameter.required)
            if parameter.kind != .single { item.set("kind", parameter.kind.rawValue) }
            array.append(item)
        }
        return array
    }

    private var singles: [Parameter] { parameters.filter { $0.kind == .single } }
    /// The one-value parameters a value by position may fill: those before `var_positional`.
    private var byPositionSingles: [Parameter] {
        Array(parameters.prefix { $0.kind != .restPositional }.filter { $0.kind == .single })
    }
    private func has(_ kind: Parameter.Kind) -> Bool { parameters.contains { $0.kind == kind } }

    /// The key of a params object that holds positional values, for a call that passes both
    /// (`{"*": [1, 2], "flag": true}`: Python's `f(1, 2, flag=True)` with `*args`).
    public static let positionalKey = "*"

    /// Checks `params`: an array (by position), an object (by name), or an object whose
    /// `positionalKey` holds the first values by position and whose other keys name the rest.
    /// The error names the first parameter at fault.
    public func check(_ params: JSONValue) throws {
        let positional: [JSONValue]
        let named: JSONValue?
        if params.isArray {
            (positional, named) = (params.items, nil)
        } else if let given = params.value(Self.positionalKey) {
            guard given.isArray else { throw invalid("'\(Self.positionalKey)' must be an array of positional values") }
            (positional, named) = (given.items, params)
        } else {
            (positional, named) = ([], params)
        }
        let singles = self.singles
        // Values by position fill the one-value parameters before `var_positional` (those
        // after it take names only, as in Python), then go to it.
        let byPosition = byPositionSingles
        if positional.count > byPosition.count && !has(.restPositional) {
            throw invalid("expected at most \(byPosition.count) parameter\(byPosition.count == 1 ? "" : "s"), got \(positional.count)")
        }
        for (parameter, value) in zip(byPosition, positional) where !parameter.accepts(value) {
            throw mistyped(parameter, value)
        }
        let filled = min(positional.count, byPosition.count)
        let rest = singles.dropFirst(filled)
        guard let named else {
            if let missing = rest.first(where: \.required) { throw invalid("missing required parameter '\(missing.name)'") }
            return
        }
        let given = named.keys.filter { $0 != Self.positionalKey }
        if let twice = given.first(where: { key in singles.prefix(filled).contains { $0.name == key } }) {
            throw invalid("parameter '\(twice)' given by position and by name")
        }
        if !has(.restKeyword), let unknown = given.first(where: { key in !singles.contains { $0.name == key } }) {
            throw invalid("unexpected parameter '\(unknown)'")
        }
        for parameter in rest {
            if let value = named.value(parameter.name) {
                if !parameter.accepts(value) { throw mistyped(parameter, value) }
            } else if parameter.required {
                throw invalid("missing required parameter '\(parameter.name)'")
            }
        }
    }

    private func invalid(_ text: String) -> RPCError {
        RPCError(code: RPCError.invalidParams, message: "Invalid params: \(text)")
    }

    private func mistyped(_ parameter: Parameter, _ value: JSONValue) -> RPCError {
        invalid("parameter '\(parameter.name)' must be \(parameter.type ?? "any"), got \(value.kind.schemaName)")
    }
}

/// A method, namespace or parameter description that cannot be used.
public struct RPCConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
