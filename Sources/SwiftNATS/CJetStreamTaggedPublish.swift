#if canImport(Glibc)
import Glibc
#endif
import CJansson
import NATS
import NATSJetStream

// Tagged asynchronous publishes: their acks reach the caller as arrays, one call per batch of
// acks read together (snats_js_set_tagged_ack_handler), for bindings where each callback costs
// more than the ack it carries.

public typealias CTaggedAcksHandler = @convention(c) (OpaquePointer?, UnsafeRawPointer?, Int, UnsafeMutableRawPointer?) -> Void

/// The layout of `snats_js_pub_outcome` in swiftnats.h (x86-64 and aarch64 alike: the C harness
/// checks size and offsets against the compiler's).
private enum OutcomeLayout {
    static let tag = 0
    static let sequence = 8
    static let stream = 16
    static let domain = 24
    static let error = 32
    static let status = 40
    static let apiCode = 44
    static let apiErrorCode = 48
    static let duplicate = 52
    static let size = 56
}

/// The C text of one batch: a stream's name is made once for the records that share it.
private struct BatchTexts {
    private var made: [UnsafeMutablePointer<CChar>] = []
    private var lastStream: (name: String, text: UnsafeMutablePointer<CChar>)?

    mutating func text(_ string: String) -> UnsafeMutablePointer<CChar>? {
        guard let text = strdup(string) else { return nil }
        made.append(text)
        return text
    }

    mutating func stream(_ name: String) -> UnsafeMutablePointer<CChar>? {
        if let lastStream, lastStream.name == name { return lastStream.text }
        guard let text = text(name) else { return nil }
        lastStream = (name, text)
        return text
    }

    func free() { made.forEach { Glibc.free($0) } }
}

/// Lays the outcomes out as `snats_js_pub_outcome` records and hands them to `handler`.
private func deliver(
    _ outcomes: [AsyncPublisher.TaggedOutcome], to handler: CTaggedAcksHandler, box: CJetStream,
    closure: UnsafeMutableRawPointer?
) {
    let records = UnsafeMutableRawPointer.allocate(byteCount: outcomes.count * OutcomeLayout.size, alignment: 8)
    records.initializeMemory(as: UInt8.self, repeating: 0, count: outcomes.count * OutcomeLayout.size)
    var texts = BatchTexts()
    defer {
        texts.free()
        records.deallocate()
    }
    for (index, item) in outcomes.enumerated() {
        let record = records + index * OutcomeLayout.size
        record.storeBytes(of: item.tag, toByteOffset: OutcomeLayout.tag, as: UInt64.self)
        switch item.outcome {
        case .success(let ack):
            record.storeBytes(of: ack.sequence, toByteOffset: OutcomeLayout.sequence, as: UInt64.self)
            record.storeBytes(of: texts.stream(ack.stream), toByteOffset: OutcomeLayout.stream, as: UnsafeMutablePointer<CChar>?.self)
            if let domain = ack.domain {
                record.storeBytes(of: texts.text(domain), toByteOffset: OutcomeLayout.domain, as: UnsafeMutablePointer<CChar>?.self)
            }
            record.storeBytes(of: CStatus.ok.rawValue, toByteOffset: OutcomeLayout.status, as: Int32.self)
            record.storeBytes(of: ack.duplicate ? 1 : 0, toByteOffset: OutcomeLayout.duplicate, as: UInt8.self)
        case .failure(let error):
            // As snats_js_publish_async() reports it: the status, snats_last_error()'s text and
            // snats_js_last_api_error()'s codes, here per record.
            let status = fail(error)
            let (code, errorCode) = LastAPIError.current
            record.storeBytes(of: texts.text(String(cString: lastErrorText.current)), toByteOffset: OutcomeLayout.error,
                              as: UnsafeMutablePointer<CChar>?.self)
            record.storeBytes(of: status, toByteOffset: OutcomeLayout.status, as: Int32.self)
            record.storeBytes(of: code, toByteOffset: OutcomeLayout.apiCode, as: Int32.self)
            record.storeBytes(of: errorCode, toByteOffset: OutcomeLayout.apiErrorCode, as: Int32.self)
        }
    }
    handler(Handle.unretained(box), UnsafeRawPointer(records), outcomes.count, closure)
}

@_cdecl("snats_js_set_tagged_ack_handler")
public func snats_js_set_tagged_ack_handler(
    _ pointer: OpaquePointer?, _ callback: CTaggedAcksHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let box = try Handle.get(pointer, as: CJetStream.self, "js")
        let callback = try required(callback, "cb")
        // Not held by the completion (the box holds the publisher that holds it): each tagged
        // publish holds the box instead, from its send until its record was handed over, so
        // that the handle stays valid memory after destroy while outcomes are to come.
        box.jetStream.publisher.setBatchCompletion { [unowned(unsafe) box] outcomes in
            deliver(outcomes, to: callback, box: box, closure: closure)
            for _ in outcomes { Unmanaged.passUnretained(box).release() }
        }
    }
}

@_cdecl("snats_js_publish_async_tagged")
public func snats_js_publish_async_tagged(
    _ pointer: OpaquePointer?, _ subject: UnsafePointer<CChar>?, _ headerPointer: OpaquePointer?, _ data: UnsafeRawPointer?,
    _ length: Int, _ options: UnsafePointer<json_t>?, _ tag: UInt64
) -> Int32 {
    withStatus {
        let box = try Handle.get(pointer, as: CJetStream.self, "js")
        let held = Unmanaged.passRetained(box)  // released once the outcome was handed over
        do {
            try box.jetStream.publisher.publish(
                try requiredString(subject, "subject"), payload: try bytes(data, length),
                headers: swiftHeaders(headerPointer), options: try asyncPublishOptions(options), tag: tag)
        } catch {
            held.release()  // no outcome will come
            throw error
        }
    }
}
