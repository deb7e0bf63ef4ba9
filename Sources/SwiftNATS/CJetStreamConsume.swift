import CJansson
import NATS
import NATSJetStream

// Continuous consumes as subscriptions: the handle is a `snats_sub`, so unsubscribe, drain,
// pending limits, next_msg and destroy work as for any subscription.

private func consumeOptions(_ json: UnsafePointer<json_t>?) throws -> (ConsumeOptions, JSONValue?) {
    let options = try JSONOptions(
        json, allowed: ["max_messages", "max_bytes", "expires_ms", "heartbeat_ms", "threshold_messages", "ordered"], "options")
    var consume = ConsumeOptions()
    if let value = try options.int("max_messages") { consume.maxMessages = Int(clamping: value) }
    if let value = try options.int("max_bytes") { consume.maxBytes = Int(clamping: value) }
    if let value = try options.int("expires_ms") { consume.expiresMilliseconds = value }
    if let value = try options.int("heartbeat_ms") { consume.heartbeatMilliseconds = value }
    if let value = try options.int("threshold_messages") { consume.thresholdMessages = Int(clamping: value) }
    var ordered: JSONValue?
    if let member = options.value?.value("ordered"), !member.isNull {
        guard member.isObject else { throw NATSError.invalidArgument("\"ordered\" must be a consumer configuration object") }
        ordered = member.copy()
    }
    return (consume, ordered)
}

/// The shape of the functions that hand out a consumer's subscription as a `snats_sub`:
/// `start` starts the consumer with a maker of its subscription (subject, queue, filter) and
/// returns the subscription it made and how to stop it if the handle cannot be made.
private func withConsumerSubscription(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ callback: CMsgHandler?,
    _ closure: UnsafeMutableRawPointer?, _ delivery: CDelivery,
    start: (CJetStream, _ make: @escaping (String, String?, @escaping Subscription.Filter) throws -> Subscription) throws
        -> (Subscription?, () -> Void)
) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let out = try required(out, "sub")
        let jsBox = try Handle.get(pointer, as: CJetStream.self, "js")
        let connectionBox = jsBox.connectionBox
        let conn = try connectionBox.connected()
        var made: CSubscription?
        let (subscription, stop) = try start(jsBox) { subject, queue, filter in
            let box = CSubscription(connectionBox: connectionBox, subject: subject)
            made = box
            let subscription = try makeSubscription(
                conn, connHandle: Handle.unretained(connectionBox), box: box, subject: subject, queue: queue, delivery: delivery,
                callback: callback, closure: closure, filter: filter)
            // Wired before the consumer pulls: a callback may call snats_sub_* on its first
            // message, before the call that made the handle returns.
            box.subscription = subscription
            connectionBox.remember(subscription, handle: Handle.unretained(box))
            return subscription
        }
        // The consumer may have ended already (a callback unsubscribed on its first message):
        // the handle it used is handed out all the same.
        _ = subscription
        guard let box = made, box.subscription != nil else {
            stop()
            throw NATSError.connectionClosed
        }
        out.pointee = Handle.make(box)
    }
}

private func consume(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?,
    _ consumer: UnsafePointer<CChar>?, _ options: UnsafePointer<json_t>?, _ callback: CMsgHandler?,
    _ closure: UnsafeMutableRawPointer?, _ delivery: CDelivery
) -> Int32 {
    withConsumerSubscription(out, pointer, callback, closure, delivery) { jsBox, make in
        let name = optionalString(consumer)
        let (consumeOptions, ordered) = try consumeOptions(options)
        if name != nil && ordered != nil {
            throw NATSError.invalidArgument("\"ordered\" is for a consume without a consumer name")
        }
        let started = try MessageConsumer.start(
            jetStream: jsBox.jetStream, stream: try requiredString(stream, "stream"), consumer: name, ordered: ordered,
            options: consumeOptions
        ) { inbox, filter in try make(inbox, nil, filter) }
        return (started.subscription, started.stop)
    }
}

@_cdecl("snats_js_consume")
public func snats_js_consume(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?,
    _ consumer: UnsafePointer<CChar>?, _ options: UnsafePointer<json_t>?, _ callback: CMsgHandler?,
    _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    consume(out, pointer, stream, consumer, options, callback, closure, callback == nil ? .synchronous : .callback(.connectionDefault))
}

@_cdecl("snats_js_consume_batch")
public func snats_js_consume_batch(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?,
    _ consumer: UnsafePointer<CChar>?, _ options: UnsafePointer<json_t>?, _ callback: CBatchHandler?,
    _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    guard let callback else {
        out?.pointee = nil
        return withStatus { throw NATSError.nullArgument("cb") }
    }
    return consume(out, pointer, stream, consumer, options, nil, closure, .batchCallback(callback))
}

@_cdecl("snats_js_consume_on")
public func snats_js_consume_on(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?,
    _ consumer: UnsafePointer<CChar>?, _ options: UnsafePointer<json_t>?, _ dispatchQueue: OpaquePointer?,
    _ callback: CMsgHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    guard let dispatchQueue else {
        out?.pointee = nil
        return withStatus { throw NATSError.nullArgument("queue") }
    }
    let queue = Handle.borrow(dispatchQueue, as: DeliveryQueue.self)
    return consume(out, pointer, stream, consumer, options, callback, closure, callback == nil ? .batches(queue) : .callback(.queue(queue)))
}

private func pushSubscribe(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?,
    _ consumer: UnsafePointer<CChar>?, _ callback: CMsgHandler?, _ closure: UnsafeMutableRawPointer?, _ delivery: CDelivery
) -> Int32 {
    withConsumerSubscription(out, pointer, callback, closure, delivery) { jsBox, make in
        let started = try PushConsumer.start(
            jetStream: jsBox.jetStream, stream: try requiredString(stream, "stream"),
            consumer: try requiredString(consumer, "consumer"), subscribe: make)
        return (started.subscription, started.stop)
    }
}

@_cdecl("snats_js_push_subscribe")
public func snats_js_push_subscribe(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?,
    _ consumer: UnsafePointer<CChar>?, _ dispatchQueue: OpaquePointer?, _ callback: CMsgHandler?,
    _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    let delivery: CDelivery
    if let dispatchQueue {
        let queue = Handle.borrow(dispatchQueue, as: DeliveryQueue.self)
        delivery = callback == nil ? .batches(queue) : .callback(.queue(queue))
    } else {
        delivery = callback == nil ? .synchronous : .callback(.connectionDefault)
    }
    return pushSubscribe(out, pointer, stream, consumer, callback, closure, delivery)
}

@_cdecl("snats_js_push_subscribe_batch")
public func snats_js_push_subscribe_batch(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ stream: UnsafePointer<CChar>?,
    _ consumer: UnsafePointer<CChar>?, _ callback: CBatchHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    guard let callback else {
        out?.pointee = nil
        return withStatus { throw NATSError.nullArgument("cb") }
    }
    return pushSubscribe(out, pointer, stream, consumer, nil, closure, .batchCallback(callback))
}
