#if canImport(Glibc)
import Glibc
#endif
import CJansson
import NATS
import NATSRPC

// References of the header's RPC group: `snats_rpc_ref` is a box owned by the caller, holding
// the reference and the C text of its subject.

/// `snats_rpc_ref`.
final class CRPCReference {
    let reference: RPCReference
    let subjectText: UnsafeMutablePointer<CChar>

    init(_ reference: RPCReference) {
        self.reference = reference
        subjectText = strdup(reference.subject)
    }

    deinit { free(subjectText) }
}

/// The methods of `snats_rpc_ref_create`: an array of names, or an object of name -> null, a
/// parameter description, or `{"params", "stream", "description"}`.
private func lentMethods(_ methods: JSONValue, handler: @escaping (RPCRequest) -> Void) throws -> [RPCMethod] {
    if methods.isArray {
        return try methods.items.map { item in
            guard let name = item.stringValue else {
                throw NATSError.invalidArgument("methods: an array of names holds \(item.serialized())")
            }
            return RPCMethod(name: name, handler: handler)
        }
    }
    guard methods.isObject else {
        throw NATSError.invalidArgument("methods must be an array of names or an object, got \(methods.kind.schemaName)")
    }
    return try methods.keys.map { name in
        let value = methods.value(name) ?? JSONValue.null()
        var parameters: ParameterList?
        var streams = false
        var description = ""
        if value.isArray {
            parameters = try ParameterList(json: value)
        } else if value.isObject {
            if let described = value.value("params"), !described.isNull { parameters = try ParameterList(json: described) }
            if let stream = value.value("stream"), !stream.isNull {
                guard let flag = value.bool("stream") else { throw NATSError.invalidArgument("methods.\(name).stream must be a boolean") }
                streams = flag
            }
            if let text = value.value("description"), !text.isNull {
                guard let string = text.stringValue else { throw NATSError.invalidArgument("methods.\(name).description must be a string") }
                description = string
            }
        } else if !value.isNull {
            throw NATSError.invalidArgument("methods.\(name) must be null, a parameter description or an object")
        }
        return RPCMethod(name: name, parameters: parameters, description: description, streams: streams, handler: handler)
    }
}

@_cdecl("snats_rpc_ref_create")
public func snats_rpc_ref_create(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ connPointer: OpaquePointer?, _ methods: UnsafeMutablePointer<json_t>?,
    _ function: Int32, _ handler: CRPCHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withHandleOut(out, "ref") {
        let references = try Handle.get(connPointer, as: CConnection.self, "conn").rpcReferences()
        let handler = try required(handler, "handler")
        let described = JSONValue(retaining: try required(methods, "methods"))
        let list = try lentMethods(described) { request in handler(Handle.unretained(request), request.params.raw, closure) }
        return CRPCReference(try references.lend(list, function: function != 0))
    }
}

@_cdecl("snats_rpc_ref_json")
public func snats_rpc_ref_json(_ pointer: OpaquePointer?) -> UnsafeMutablePointer<json_t>? {
    guard let pointer else { return nil }
    return Handle.borrow(pointer, as: CRPCReference.self).reference.json.raw
}

@_cdecl("snats_rpc_ref_subject")
public func snats_rpc_ref_subject(_ pointer: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let pointer else { return nil }
    return UnsafePointer(Handle.borrow(pointer, as: CRPCReference.self).subjectText)
}

@_cdecl("snats_rpc_ref_destroy")
public func snats_rpc_ref_destroy(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    Handle.borrow(pointer, as: CRPCReference.self).reference.revoke()
    Handle.release(pointer, as: CRPCReference.self)
}

@_cdecl("snats_rpc_client_create_from_ref")
public func snats_rpc_client_create_from_ref(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ connPointer: OpaquePointer?, _ ref: UnsafeMutablePointer<json_t>?
) -> Int32 {
    withHandleOut(out, "client") {
        let reference = JSONValue(retaining: try required(ref, "ref"))
        return CRPCClient(try RPCClient(connection: try connection(connPointer), reference: reference))
    }
}
