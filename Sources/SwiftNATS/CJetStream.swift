#if canImport(Glibc)
import Glibc
#endif
import CJansson
import NATS
import NATSJetStream

// The JetStream API of the header: the context, streams, consumers. `snats_jetstream` is a box
// owned by the caller; configurations and infos are the server's JSON documents, borrowed in
// and handed out as new references.

/// `snats_jetstream`: the context, and the connection's box, which callbacks hand back.
final class CJetStream {
    let jetStream: JetStream
    let connectionBox: CConnection

    init(_ jetStream: JetStream, connectionBox: CConnection) {
        self.jetStream = jetStream
        self.connectionBox = connectionBox
    }
}

func jetStream(_ pointer: OpaquePointer?) throws -> JetStream {
    try Handle.get(pointer, as: CJetStream.self, "js").jetStream
}

/// The `code` and `err_code` of the last JetStream API error on this thread, for
/// `snats_js_last_api_error()`; every recorded failure replaces them.
struct LastAPIError {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key) { free($0) }
        return key
    }()

    static func set(code: Int, errorCode: Int) {
        var slot = pthread_getspecific(key)?.assumingMemoryBound(to: Int32.self)
        if slot == nil {
            guard code != 0 || errorCode != 0 else { return }
            slot = malloc(2 * MemoryLayout<Int32>.size)?.assumingMemoryBound(to: Int32.self)
            pthread_setspecific(key, slot)
        }
        slot?[0] = Int32(clamping: code)
        slot?[1] = Int32(clamping: errorCode)
    }

    static var current: (code: Int32, errorCode: Int32) {
        guard let slot = pthread_getspecific(key)?.assumingMemoryBound(to: Int32.self) else { return (0, 0) }
        return (slot[0], slot[1])
    }
}

/// The status of a JetStream failure (its codes are `apiCode` and `errorCode`).
func jetStreamStatus(_ error: JetStreamError) -> CStatus {
    switch error {
    case .api(let code, _, _): return code == 404 ? .notFound : .jsAPIError
    case .notEnabled: return .jsNotEnabled
    case .noStreamResponse: return .noResponders
    case .invalidResponse: return .protocolError
    case .ackRefused: return .illegalState
    case .pullTerminated: return .jsAPIError
    case .missedHeartbeat: return .missedHeartbeat
    case .tooManyPending: return .timeout
    }
}

/// The members of a borrowed options object, refusing members it does not know (a typo would
/// otherwise pass unnoticed).
struct JSONOptions {
    let value: JSONValue?

    init(_ json: UnsafePointer<json_t>?, allowed: Set<String>, _ what: String) throws {
        guard let json else {
            value = nil
            return
        }
        let shared = JSONValue(retaining: UnsafeMutablePointer(mutating: json))
        guard shared.isObject else { throw NATSError.invalidArgument("\(what) must be a JSON object") }
        for key in shared.keys where !allowed.contains(key) {
            throw NATSError.invalidArgument("\(what): unknown member \"\(key)\"")
        }
        value = shared
    }

    func string(_ key: String) throws -> String? {
        guard let member = value?.value(key), !member.isNull else { return nil }
        guard let text = member.stringValue else { throw NATSError.invalidArgument("\"\(key)\" must be a string") }
        return text
    }

    func int(_ key: String) throws -> Int64? {
        guard let member = value?.value(key), !member.isNull else { return nil }
        guard let number = member.integerValue else { throw NATSError.invalidArgument("\"\(key)\" must be an integer") }
        return Int64(number)
    }

    func unsigned(_ key: String) throws -> UInt64? {
        guard let number = try int(key) else { return nil }
        guard number >= 0 else { throw NATSError.invalidArgument("\"\(key)\" cannot be negative") }
        return UInt64(number)
    }

    func bool(_ key: String) throws -> Bool? {
        guard let member = value?.value(key), !member.isNull else { return nil }
        guard member.kind == .boolean else { throw NATSError.invalidArgument("\"\(key)\" must be true or false") }
        return member.raw.pointee.type == JSON_TRUE
    }
}

/// A borrowed configuration document, required and an object.
private func document(_ json: UnsafePointer<json_t>?, _ name: String) throws -> JSONValue {
    let value = JSONValue(retaining: UnsafeMutablePointer(mutating: try required(json, name)))
    guard value.isObject else { throw NATSError.invalidArgument("\(name) must be a JSON object") }
    return value
}

/// Hands out a new reference when the caller asked for one (`out` may be NULL).
private func handOutOptional(_ value: JSONValue, _ out: JSONOut?) {
    out?.pointee = withExtendedLifetime(value) { cjansson_incref(value.raw) }
}


// MARK: the context

@_cdecl("snats_jetstream_create")
public func snats_jetstream_create(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ connPointer: OpaquePointer?, _ options: UnsafePointer<json_t>?
) -> Int32 {
    withHandleOut(out, "js") {
        let box = try Handle.get(connPointer, as: CConnection.self, "conn")
        if try box.connected().isClosed { throw NATSError.connectionClosed }
        let settings = try JSONOptions(
            options, allowed: ["domain", "api_prefix", "timeout_ms", "max_pending_publishes"], "options")
        let context = try JetStream(
            connection: try box.connected(), domain: try settings.string("domain"), apiPrefix: try settings.string("api_prefix"),
            timeoutMilliseconds: try settings.int("timeout_ms") ?? 5_000,
            maxPendingPublishes: Int(clamping: try settings.int("max_pending_publishes") ?? 4_000))
        return CJetStream(context, connectionBox: box)
    }
}

@_cdecl("snats_jetstream_destroy")
public func snats_jetstream_destroy(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    Handle.release(pointer, as: CJetStream.self)
}

@_cdecl("snats_js_last_api_error")
public func snats_js_last_api_error(_ code: UnsafeMutablePointer<Int32>?, _ errorCode: UnsafeMutablePointer<Int32>?) {
    let current = LastAPIError.current
    code?.pointee = current.code
    errorCode?.pointee = current.errorCode
}

@_cdecl("snats_js_account_info")
public func snats_js_account_info(_ out: JSONOut?, _ pointer: OpaquePointer?) -> Int32 {
    withJSONOut(out, "info") { try jetStream(pointer).accountInfo() }
}

// MARK: streams

@_cdecl("snats_js_stream_add")
public func snats_js_stream_add(_ out: JSONOut?, _ pointer: OpaquePointer?, _ config: UnsafePointer<json_t>?) -> Int32 {
    out?.pointee = nil
    return withStatus { handOutOptional(try jetStream(pointer).addStream(try document(config, "config")), out) }
}

@_cdecl("snats_js_stream_update")
public func snats_js_stream_update(_ out: JSONOut?, _ pointer: OpaquePointer?, _ config: UnsafePointer<json_t>?) -> Int32 {
    out?.pointee = nil
    return withStatus { handOutOptional(try jetStream(pointer).updateStream(try document(config, "config")), out) }
}

@_cdecl("snats_js_stream_delete")
public func snats_js_stream_delete(_ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?) -> Int32 {
    withStatus { try jetStream(pointer).deleteStream(try requiredString(name, "name")) }
}

@_cdecl("snats_js_stream_info")
public func snats_js_stream_info(
    _ out: JSONOut?, _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ options: UnsafePointer<json_t>?
) -> Int32 {
    withJSONOut(out, "info") {
        let settings = try JSONOptions(options, allowed: ["subjects_filter", "deleted_details"], "options")
        return try jetStream(pointer).streamInfo(
            try requiredString(name, "name"), subjectsFilter: try settings.string("subjects_filter"),
            deletedDetails: try settings.bool("deleted_details") ?? false)
    }
}

@_cdecl("snats_js_stream_list")
public func snats_js_stream_list(_ out: JSONOut?, _ pointer: OpaquePointer?, _ subject: UnsafePointer<CChar>?) -> Int32 {
    withJSONOut(out, "infos") { JSONValue.array(of: try jetStream(pointer).streams(subject: optionalString(subject))) }
}

@_cdecl("snats_js_stream_names")
public func snats_js_stream_names(_ out: JSONOut?, _ pointer: OpaquePointer?, _ subject: UnsafePointer<CChar>?) -> Int32 {
    withJSONOut(out, "names") {
        JSONValue.array(of: try jetStream(pointer).collectPages { try .streams(names: true, subject: optionalString(subject), offset: $0) })
    }
}

@_cdecl("snats_js_stream_purge")
public func snats_js_stream_purge(
    _ purged: UnsafeMutablePointer<UInt64>?, _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?,
    _ options: UnsafePointer<json_t>?
) -> Int32 {
    purged?.pointee = 0
    return withStatus {
        let settings = try JSONOptions(options, allowed: ["filter", "seq", "keep"], "options")
        let request = PurgeRequest(
            filter: try settings.string("filter"), sequence: try settings.unsigned("seq"), keep: try settings.unsigned("keep"))
        let count = try jetStream(pointer).purgeStream(try requiredString(name, "name"), request)
        purged?.pointee = count
    }
}

/// The selector of the get functions: a sequence, the last message on a subject, or the
/// first on a subject from a sequence.
private func selector(_ sequence: UInt64, _ subject: UnsafePointer<CChar>?) throws -> MessageSelector {
    switch (sequence, optionalString(subject)) {
    case (0, nil): throw NATSError.invalidArgument("give a sequence, a subject, or both")
    case (let sequence, nil): return .sequence(sequence)
    case (0, let subject?): return .lastBySubject(subject)
    case (let sequence, let subject?): return .nextBySubject(subject, after: sequence)
    }
}

private func getMessage(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?,
    _ sequence: UInt64, _ subject: UnsafePointer<CChar>?, direct: Bool
) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let out = try required(out, "msg")
        let context = try jetStream(pointer)
        let name = try requiredString(stream, "stream")
        let which = try selector(sequence, subject)
        let message = direct ? try context.directGet(stream: name, which) : try context.getMessage(stream: name, which)
        out.pointee = ownedMessageHandle(message)
    }
}

@_cdecl("snats_js_stream_get_msg")
public func snats_js_stream_get_msg(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?,
    _ sequence: UInt64, _ subject: UnsafePointer<CChar>?
) -> Int32 {
    getMessage(out, pointer, stream, sequence, subject, direct: false)
}

@_cdecl("snats_js_stream_direct_get")
public func snats_js_stream_direct_get(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?,
    _ sequence: UInt64, _ subject: UnsafePointer<CChar>?
) -> Int32 {
    getMessage(out, pointer, stream, sequence, subject, direct: true)
}

public typealias CJSMsgHandler = @convention(c) (OpaquePointer?, Int32, OpaquePointer?, UnsafeMutableRawPointer?) -> Void

@_cdecl("snats_js_stream_get_msg_async")
public func snats_js_stream_get_msg_async(
    _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?, _ sequence: UInt64, _ subject: UnsafePointer<CChar>?,
    _ direct: Bool, _ callback: CJSMsgHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let box = try Handle.get(pointer, as: CJetStream.self, "js")
        let callback = try required(callback, "cb")
        let name = try requiredString(stream, "stream")
        let which = try selector(sequence, subject)
        let call: APICall<Message> = direct ? try .directGet(stream: name, which) : try .getMessage(stream: name, which)
        try box.jetStream.perform(call) { outcome in
            switch outcome {
            case .success(let message):
                lastErrorText.set("")
                callback(Handle.unretained(box), CStatus.ok.rawValue, ownedMessageHandle(message), closure)
            case .failure(let error):
                callback(Handle.unretained(box), fail(error), nil, closure)
            }
        }
    }
}

@_cdecl("snats_js_stream_delete_msg")
public func snats_js_stream_delete_msg(
    _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?, _ sequence: UInt64, _ erase: Bool
) -> Int32 {
    withStatus {
        try jetStream(pointer).deleteMessage(stream: try requiredString(stream, "stream"), sequence: sequence, erase: erase)
    }
}

// MARK: consumers

@_cdecl("snats_js_consumer_add")
public func snats_js_consumer_add(
    _ out: JSONOut?, _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?, _ config: UnsafePointer<json_t>?
) -> Int32 {
    out?.pointee = nil
    return withStatus {
        handOutOptional(
            try jetStream(pointer).addConsumer(stream: try requiredString(stream, "stream"), try document(config, "config")), out)
    }
}

@_cdecl("snats_js_consumer_update")
public func snats_js_consumer_update(
    _ out: JSONOut?, _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?, _ config: UnsafePointer<json_t>?
) -> Int32 {
    out?.pointee = nil
    return withStatus {
        handOutOptional(
            try jetStream(pointer).updateConsumer(stream: try requiredString(stream, "stream"), try document(config, "config")), out)
    }
}

@_cdecl("snats_js_consumer_delete")
public func snats_js_consumer_delete(
    _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?, _ consumer: UnsafePointer<CChar>?
) -> Int32 {
    withStatus {
        try jetStream(pointer).deleteConsumer(
            stream: try requiredString(stream, "stream"), consumer: try requiredString(consumer, "consumer"))
    }
}

@_cdecl("snats_js_consumer_info")
public func snats_js_consumer_info(
    _ out: JSONOut?, _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?, _ consumer: UnsafePointer<CChar>?
) -> Int32 {
    withJSONOut(out, "info") {
        try jetStream(pointer).consumerInfo(
            stream: try requiredString(stream, "stream"), consumer: try requiredString(consumer, "consumer"))
    }
}

@_cdecl("snats_js_consumer_list")
public func snats_js_consumer_list(_ out: JSONOut?, _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?) -> Int32 {
    withJSONOut(out, "infos") { JSONValue.array(of: try jetStream(pointer).consumers(stream: try requiredString(stream, "stream"))) }
}

@_cdecl("snats_js_consumer_names")
public func snats_js_consumer_names(_ out: JSONOut?, _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?) -> Int32 {
    withJSONOut(out, "names") {
        let name = try requiredString(stream, "stream")
        return JSONValue.array(of: try jetStream(pointer).collectPages { try .consumers(stream: name, names: true, offset: $0) })
    }
}
