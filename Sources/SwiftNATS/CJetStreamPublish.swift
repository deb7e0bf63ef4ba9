#if canImport(Glibc)
import Glibc
#endif
import CJansson
import NATS
import NATSJetStream
import NIOConcurrencyHelpers

// Publishing to streams, pulling from consumers, acknowledging: the hot paths of JetStream.

/// `snats_js_pub_ack`: a stream's ack, its strings made C text when first asked for (most
/// callers read only the sequence).
final class CPubAck {
    let ack: PubAck
    private var streamText: UnsafeMutablePointer<CChar>?
    private var domainText: UnsafeMutablePointer<CChar>?
    /// One lock for every ack: an ack's strings are made at most once, and rarely.
    private static let lock = NIOLock()
    private var lock: NIOLock { Self.lock }

    init(_ ack: PubAck) { self.ack = ack }

    var stream: UnsafePointer<CChar>? {
        lock.withLock {
            if streamText == nil { streamText = strdup(ack.stream) }
            return UnsafePointer(streamText)
        }
    }

    var domain: UnsafePointer<CChar>? {
        lock.withLock {
            guard let domain = ack.domain else { return nil }
            if domainText == nil { domainText = strdup(domain) }
            return UnsafePointer(domainText)
        }
    }

    deinit {
        free(streamText)
        free(domainText)
    }
}

public typealias CPubAckHandler = @convention(c) (OpaquePointer?, Int32, OpaquePointer?, UnsafeMutableRawPointer?) -> Void
public typealias CFetchHandler = @convention(c) (
    OpaquePointer?, Int32, UnsafeMutablePointer<OpaquePointer?>?, Int32, UnsafeMutableRawPointer?
) -> Void

private let publishOptionNames: Set<String> = [
    "msg_id", "expected_stream", "expected_last_seq", "expected_last_subject_seq", "expected_last_msg_id", "timeout_ms",
]

private func publishOptions(_ json: UnsafePointer<json_t>?) throws -> (PublishOptions, Int64?) {
    guard json != nil else { return (PublishOptions(), nil) }
    let options = try JSONOptions(json, allowed: publishOptionNames, "options")
    return (
        PublishOptions(
            messageID: try options.string("msg_id"), expectedStream: try options.string("expected_stream"),
            expectedLastSequence: try options.unsigned("expected_last_seq"),
            expectedLastSubjectSequence: try options.unsigned("expected_last_subject_seq"),
            expectedLastMessageID: try options.string("expected_last_msg_id")),
        try options.int("timeout_ms")
    )
}

/// The options of an asynchronous publish: those of a publish but `timeout_ms` (its ack
/// waits the context's timeout).
func asyncPublishOptions(_ json: UnsafePointer<json_t>?) throws -> PublishOptions {
    let (options, timeout) = try publishOptions(json)
    if timeout != nil {
        throw NATSError.invalidArgument("an asynchronous publish waits as long as the context's timeout_ms")
    }
    return options
}

func swiftHeaders(_ pointer: OpaquePointer?) -> Headers? {
    pointer.map { Handle.borrow($0, as: CHeaders.self).headers }
}

/// The caller's bytes, copied.
func bytes(_ data: UnsafeRawPointer?, _ length: Int) throws -> [UInt8] {
    Array(try payloadBytes(data, length))
}

// MARK: publish

@_cdecl("snats_js_publish")
public func snats_js_publish(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ subject: UnsafePointer<CChar>?,
    _ headerPointer: OpaquePointer?, _ data: UnsafeRawPointer?, _ length: Int, _ options: UnsafePointer<json_t>?
) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let context = try jetStream(pointer)
        let (publishOptions, timeout) = try publishOptions(options)
        let ack = try context.publish(
            try requiredString(subject, "subject"), payload: try bytes(data, length), headers: swiftHeaders(headerPointer),
            options: publishOptions, timeoutMilliseconds: timeout)
        out?.pointee = Handle.make(CPubAck(ack))
    }
}

@_cdecl("snats_js_publish_async")
public func snats_js_publish_async(
    _ pointer: OpaquePointer?, _ subject: UnsafePointer<CChar>?, _ headerPointer: OpaquePointer?, _ data: UnsafeRawPointer?,
    _ length: Int, _ options: UnsafePointer<json_t>?, _ callback: CPubAckHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let box = try Handle.get(pointer, as: CJetStream.self, "js")
        let callback = try required(callback, "cb")
        try box.jetStream.publisher.publish(
            try requiredString(subject, "subject"), payload: try bytes(data, length), headers: swiftHeaders(headerPointer),
            options: try asyncPublishOptions(options)
        ) { outcome in
            // The box, held by this closure, keeps the handle valid memory after destroy.
            switch outcome {
            case .success(let ack):
                lastErrorText.set("")
                let handle = CPubAck(ack)
                withExtendedLifetime(handle) {
                    callback(Handle.unretained(box), CStatus.ok.rawValue, Handle.unretained(handle), closure)
                }
            case .failure(let error):
                callback(Handle.unretained(box), fail(error), nil, closure)
            }
        }
    }
}

@_cdecl("snats_js_publish_async_complete")
public func snats_js_publish_async_complete(_ pointer: OpaquePointer?, _ timeout: Int64) -> Int32 {
    withStatus { try jetStream(pointer).publisher.waitComplete(timeoutMilliseconds: try positiveTimeout(timeout)) }
}

@_cdecl("snats_js_publish_async_pending")
public func snats_js_publish_async_pending(_ pointer: OpaquePointer?, _ pending: UnsafeMutablePointer<Int32>?) -> Int32 {
    pending?.pointee = 0
    return withStatus {
        let count = try jetStream(pointer).publisher.pending
        try required(pending, "pending").pointee = Int32(clamping: count)
    }
}

@_cdecl("snats_js_pub_ack_stream")
public func snats_js_pub_ack_stream(_ pointer: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let pointer else { return nil }
    return Handle.borrow(pointer, as: CPubAck.self).stream
}

@_cdecl("snats_js_pub_ack_seq")
public func snats_js_pub_ack_seq(_ pointer: OpaquePointer?) -> UInt64 {
    guard let pointer else { return 0 }
    return Handle.borrow(pointer, as: CPubAck.self).ack.sequence
}

@_cdecl("snats_js_pub_ack_duplicate")
public func snats_js_pub_ack_duplicate(_ pointer: OpaquePointer?) -> Bool {
    guard let pointer else { return false }
    return Handle.borrow(pointer, as: CPubAck.self).ack.duplicate
}

@_cdecl("snats_js_pub_ack_domain")
public func snats_js_pub_ack_domain(_ pointer: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let pointer else { return nil }
    return Handle.borrow(pointer, as: CPubAck.self).domain
}

@_cdecl("snats_js_pub_ack_destroy")
public func snats_js_pub_ack_destroy(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    Handle.release(pointer, as: CPubAck.self)
}

// MARK: fetch

private func fetchRequest(_ batch: Int32, _ expires: Int64, _ json: UnsafePointer<json_t>?) throws -> FetchRequest {
    let options = try JSONOptions(json, allowed: ["max_bytes", "heartbeat_ms", "no_wait"], "options")
    guard batch > 0 else { throw NATSError.invalidArgument("batch must be positive") }
    return FetchRequest(
        batch: Int(batch), maxBytes: Int(clamping: try options.int("max_bytes") ?? 0), expiresMilliseconds: try positiveTimeout(expires),
        heartbeatMilliseconds: try options.int("heartbeat_ms") ?? 0, noWait: try options.bool("no_wait") ?? false)
}

/// The status of a fetch: OK with messages, else why none came.
private func fetchStatus(_ result: FetchResult) -> Int32 {
    if !result.messages.isEmpty || result.error == nil {
        lastErrorText.set("")
        return CStatus.ok.rawValue
    }
    return fail(result.error!)
}

@_cdecl("snats_js_fetch")
public func snats_js_fetch(
    _ messages: UnsafeMutablePointer<OpaquePointer?>?, _ batch: Int32, _ count: UnsafeMutablePointer<Int32>?,
    _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?, _ consumer: UnsafePointer<CChar>?, _ expires: Int64,
    _ options: UnsafePointer<json_t>?
) -> Int32 {
    count?.pointee = 0
    var status = CStatus.ok.rawValue
    let setup = withStatus {
        let messages = try required(messages, "msgs")
        let count = try required(count, "count")
        let request = try fetchRequest(batch, expires, options)
        let result = try jetStream(pointer).fetch(
            stream: try requiredString(stream, "stream"), consumer: try requiredString(consumer, "consumer"), request)
        for (index, message) in result.messages.prefix(Int(batch)).enumerated() {
            messages[index] = ownedMessageHandle(message)
        }
        count.pointee = Int32(min(result.messages.count, Int(batch)))
        status = fetchStatus(result)
    }
    return setup == CStatus.ok.rawValue ? status : setup
}

@_cdecl("snats_js_fetch_async")
public func snats_js_fetch_async(
    _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?, _ consumer: UnsafePointer<CChar>?, _ batch: Int32,
    _ expires: Int64, _ options: UnsafePointer<json_t>?, _ callback: CFetchHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let box = try Handle.get(pointer, as: CJetStream.self, "js")
        let callback = try required(callback, "cb")
        let request = try fetchRequest(batch, expires, options)
        try box.jetStream.fetch(
            stream: try requiredString(stream, "stream"), consumer: try requiredString(consumer, "consumer"), request
        ) { result in
            var handles = result.messages.map { Optional(ownedMessageHandle($0)) }
            let status = fetchStatus(result)
            handles.withUnsafeMutableBufferPointer { buffer in
                // NULL when empty, as the header says (an empty buffer may have an address).
                let messages = buffer.isEmpty ? nil : buffer.baseAddress
                callback(Handle.unretained(box), status, messages, Int32(buffer.count), closure)
            }
        }
    }
}

// MARK: acknowledgements

/// `snats_js_ack_kind` of the header.
private func ackKind(_ kind: Int32, _ delay: Int64, _ reason: UnsafePointer<CChar>?) throws -> AckKind {
    switch kind {
    case 0: return .ack
    case 1:
        guard delay >= 0 else { throw NATSError.invalidArgument("a nak's delay cannot be negative") }
        guard delay <= Int64.max / 1_000_000 else { throw NATSError.invalidArgument("a nak's delay of \(delay) ms is too long") }
        return .nak(delayNanoseconds: delay > 0 ? delay * 1_000_000 : nil)
    case 2: return .term(reason: optionalString(reason))
    case 3: return .inProgress
    default: throw NATSError.invalidArgument("unknown acknowledgement kind \(kind)")
    }
}

private func message(_ pointer: OpaquePointer?) throws -> Message {
    Message(storage: Handle.borrow(try required(pointer, "msg"), as: MessageStorage.self))
}

@_cdecl("snats_js_msg_ack")
public func snats_js_msg_ack(_ pointer: OpaquePointer?) -> Int32 {
    withStatus { try message(pointer).acknowledge(.ack) }
}

@_cdecl("snats_js_msg_ack_sync")
public func snats_js_msg_ack_sync(_ pointer: OpaquePointer?, _ timeout: Int64) -> Int32 {
    withStatus { try message(pointer).acknowledgeSync(timeoutMilliseconds: try positiveTimeout(timeout)) }
}

@_cdecl("snats_js_msg_nak")
public func snats_js_msg_nak(_ pointer: OpaquePointer?, _ delay: Int64) -> Int32 {
    withStatus { try message(pointer).acknowledge(try ackKind(1, delay, nil)) }
}

@_cdecl("snats_js_msg_term")
public func snats_js_msg_term(_ pointer: OpaquePointer?, _ reason: UnsafePointer<CChar>?) -> Int32 {
    withStatus { try message(pointer).acknowledge(.term(reason: optionalString(reason))) }
}

@_cdecl("snats_js_msg_in_progress")
public func snats_js_msg_in_progress(_ pointer: OpaquePointer?) -> Int32 {
    withStatus { try message(pointer).acknowledge(.inProgress) }
}

/// Acknowledges by reply subject, for bindings that hold a message's parts rather than its
/// handle; `timeout` > 0 waits for the server's confirmation (ack only).
@_cdecl("snats_js_ack_reply")
public func snats_js_ack_reply(
    _ connPointer: OpaquePointer?, _ reply: UnsafePointer<CChar>?, _ kind: Int32, _ delay: Int64,
    _ reason: UnsafePointer<CChar>?, _ timeout: Int64
) -> Int32 {
    withStatus {
        let conn = try connection(connPointer)
        let subject = try requiredString(reply, "reply")
        let ack = try ackKind(kind, delay, reason)
        let carrier = Message(subject: "ack", reply: subject, payload: [], connection: conn)
        if timeout > 0 {
            guard ack == .ack else { throw NATSError.invalidArgument("only an ack waits for its confirmation") }
            try carrier.acknowledgeSync(timeoutMilliseconds: timeout)
        } else {
            try carrier.acknowledge(ack)
        }
    }
}

@_cdecl("snats_js_ack_sync_async")
public func snats_js_ack_sync_async(
    _ connPointer: OpaquePointer?, _ reply: UnsafePointer<CChar>?, _ timeout: Int64, _ callback: CFlushHandler?,
    _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let box = try Handle.get(connPointer, as: CConnection.self, "conn")
        let conn = try box.connected()
        let subject = try requiredString(reply, "reply")
        let callback = try required(callback, "cb")
        let carrier = Message(subject: "ack", reply: subject, payload: [], connection: conn)
        try carrier.acknowledgeSync(timeoutMilliseconds: try positiveTimeout(timeout)) { outcome in
            switch outcome {
            case .success:
                lastErrorText.set("")
                callback(Handle.unretained(box), CStatus.ok.rawValue, closure)
            case .failure(let error):
                callback(Handle.unretained(box), fail(error), closure)
            }
        }
    }
}

@_cdecl("snats_js_metadata")
public func snats_js_metadata(_ out: JSONOut?, _ reply: UnsafePointer<CChar>?) -> Int32 {
    withJSONOut(out, "meta") {
        let subject = try requiredString(reply, "reply")
        guard let meta = MessageMetadata(reply: subject) else {
            throw NATSError.invalidArgument("not the reply subject of a JetStream consumer's message")
        }
        return meta.json
    }
}

@_cdecl("snats_js_msg_metadata")
public func snats_js_msg_metadata(_ out: JSONOut?, _ pointer: OpaquePointer?) -> Int32 {
    withJSONOut(out, "meta") {
        guard let meta = try message(pointer).jetStreamMetadata else {
            throw NATSError.invalidArgument("not a message of a JetStream consumer")
        }
        return meta.json
    }
}

extension MessageMetadata {
    /// nats.py's names: `sequence.stream`, `sequence.consumer`, `num_delivered`, `num_pending`,
    /// `timestamp` (nanoseconds since the epoch), `stream`, `consumer`, `domain`.
    var json: JSONValue {
        let value = JSONValue.object()
        let sequence = JSONValue.object()
        sequence.set("stream", Int64(bitPattern: streamSequence))
        sequence.set("consumer", Int64(bitPattern: consumerSequence))
        value.set("sequence", sequence)
        value.set("num_delivered", Int64(bitPattern: delivered))
        value.set("num_pending", Int64(bitPattern: pending))
        value.set("timestamp", timestampNanoseconds)
        value.set("stream", stream)
        value.set("consumer", consumer)
        if let domain { value.set("domain", domain) } else { value.setNull("domain") }
        return value
    }
}
