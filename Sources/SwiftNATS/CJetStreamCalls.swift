import CJansson
import NATS
import NATSJetStream

// `snats_js_call` and `snats_js_call_async`: every management call of the JetStream API named
// by an operation and its arguments as one JSON object, answered with JSON. The typed
// functions of the header are the C programmer's way; this is the bindings' (one entry point,
// blocking or not, and no subject or reply format in the binding).

/// What an operation sends: one request, or a listing walked page by page.
private enum Operation {
    case call(APICall<JSONValue>)
    case pages((Int) throws -> APICall<Page>)
}

private let success: () -> JSONValue = {
    let value = JSONValue.object()
    value.set("success", true)
    return value
}

private func operation(_ name: String, _ arguments: UnsafePointer<json_t>?) throws -> Operation {
    func args(_ allowed: Set<String>) throws -> JSONOptions { try JSONOptions(arguments, allowed: allowed, "arguments") }
    func text(_ options: JSONOptions, _ key: String) throws -> String {
        guard let value = try options.string(key) else { throw NATSError.invalidArgument("\(name) needs \"\(key)\"") }
        return value
    }
    func object(_ options: JSONOptions, _ key: String) throws -> JSONValue {
        guard let value = options.value?.value(key), value.isObject else {
            throw NATSError.invalidArgument("\(name) needs the object \"\(key)\"")
        }
        return value.copy()
    }
    switch name {
    case "account_info":
        _ = try args([])
        return .call(.accountInfo)
    case "stream_add", "stream_update":
        let config = try object(try args(["config"]), "config")
        return .call(name == "stream_add" ? try .addStream(config) : try .updateStream(config))
    case "stream_delete":
        return .call(try APICall<Void>.deleteStream(try text(try args(["name"]), "name")).map { success() })
    case "stream_info":
        let options = try args(["name", "subjects_filter", "deleted_details"])
        return .call(
            try .streamInfo(
                try text(options, "name"), subjectsFilter: try options.string("subjects_filter"),
                deletedDetails: try options.bool("deleted_details") ?? false))
    case "stream_list", "stream_names":
        let subject = try args(["subject"]).string("subject")
        return .pages { try .streams(names: name == "stream_names", subject: subject, offset: $0) }
    case "stream_purge":
        let options = try args(["name", "filter", "seq", "keep"])
        let request = PurgeRequest(
            filter: try options.string("filter"), sequence: try options.unsigned("seq"), keep: try options.unsigned("keep"))
        return .call(
            try APICall<UInt64>.purgeStream(try text(options, "name"), request).map { purged in
                let value = success()
                value.set("purged", Int64(bitPattern: purged))
                return value
            })
    case "stream_delete_msg":
        let options = try args(["name", "seq", "erase"])
        guard let sequence = try options.unsigned("seq") else { throw NATSError.invalidArgument("\(name) needs \"seq\"") }
        return .call(
            try APICall<Void>.deleteMessage(
                stream: try text(options, "name"), sequence: sequence, erase: try options.bool("erase") ?? false
            ).map { success() })
    case "consumer_add", "consumer_create", "consumer_update":
        let options = try args(["stream", "config"])
        let action: ConsumerAction = name == "consumer_add" ? .createOrUpdate : name == "consumer_create" ? .create : .update
        return .call(try .addConsumer(stream: try text(options, "stream"), try object(options, "config"), action: action))
    case "consumer_info", "consumer_delete":
        let options = try args(["stream", "name"])
        let (stream, consumer) = (try text(options, "stream"), try text(options, "name"))
        if name == "consumer_info" { return .call(try .consumerInfo(stream: stream, consumer: consumer)) }
        return .call(try APICall<Void>.deleteConsumer(stream: stream, consumer: consumer).map { success() })
    case "consumer_list", "consumer_names":
        let stream = try text(try args(["stream"]), "stream")
        return .pages { try .consumers(stream: stream, names: name == "consumer_names", offset: $0) }
    default:
        throw NATSError.invalidArgument("unknown JetStream operation \"\(name)\"")
    }
}

@_cdecl("snats_js_call")
public func snats_js_call(
    _ out: JSONOut?, _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ arguments: UnsafePointer<json_t>?
) -> Int32 {
    withJSONOut(out, "result") {
        let context = try jetStream(pointer)
        switch try operation(try requiredString(name, "operation"), arguments) {
        case .call(let call): return try context.perform(call)
        case .pages(let page): return JSONValue.array(of: try context.collectPages(page))
        }
    }
}

@_cdecl("snats_js_call_async")
public func snats_js_call_async(
    _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ arguments: UnsafePointer<json_t>?,
    _ callback: CJSONHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let context = try jetStream(pointer)
        let callback = try required(callback, "cb")
        switch try operation(try requiredString(name, "operation"), arguments) {
        case .call(let call):
            try context.perform(call) { report($0, to: callback, closure) }
        case .pages(let page):
            try context.collectPages(page) { outcome in report(outcome.map(JSONValue.array(of:)), to: callback, closure) }
        }
    }
}
