import NATS
import NATSMicro

/// Where methods live on the wire: `<root>.<namespace>.<method>`, and the micro endpoint name
/// a method gets (ADR-32 allows no dots there; the full name goes into the metadata).
public enum MethodNames {
    public static let defaultRoot = "rpc"

    /// A namespace names the micro service, so it follows the service-name rule.
    public static func checkNamespace(_ namespace: String) throws {
        guard MicroNames.isValidName(namespace) else {
            throw RPCConfigError(
                "namespace \"\(namespace)\" must be letters, digits, dashes and underscores (it is the micro service's name)")
        }
    }

    /// Methods, prefixes and roots are subject tokens without wildcards.
    public static func checkMethod(_ method: String, what: String = "method") throws {
        guard !method.isEmpty, Subject.isValidPublishSubject(method), !method.utf8.contains(UInt8(ascii: "*")),
            !method.utf8.contains(UInt8(ascii: ">"))
        else {
            throw RPCConfigError("\(what) \"\(method)\" must be dot-separated subject tokens without wildcards or spaces")
        }
    }

    public static func subject(root: String, namespace: String, method: String) -> String {
        root + "." + namespace + "." + method
    }

    /// `math.add` → `math_add`: every byte ADR-32 does not allow becomes `_`.
    public static func endpointName(_ method: String) -> String {
        String(decoding: method.utf8.map { byte in
            let allowed = (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
            return allowed ? byte : UInt8(ascii: "_")
        }, as: UTF8.self)
    }

    /// `api` + `math.add` → `api.math.add`.
    public static func joined(prefix: String, _ method: String) -> String {
        prefix.isEmpty ? method : prefix + "." + method
    }
}

/// The endpoint metadata keys of an RPC method.
public enum RPCMetadata {
    public static let method = "rpc.method"
    public static let params = "rpc.params"
    public static let root = "rpc.root"
    public static let description = "rpc.description"
    /// `"true"` for a method that streams its result (proxies iterate it).
    public static let stream = "rpc.stream"
}
