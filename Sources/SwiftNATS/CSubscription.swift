#if canImport(Glibc)
import Glibc
#endif
import NATS

/// `snats_sub`: the subscription, its subject as a C string, and its connection's box (kept
/// alive for as long as the subscription handle is).
final class CSubscription {
    let connectionBox: CConnection
    let subject: UnsafeMutablePointer<CChar>
    var subscription: Subscription?

    init(connectionBox: CConnection, subject: String) {
        self.connectionBox = connectionBox
        // strdup fails only when malloc does.
        self.subject = strdup(subject)!
    }

    deinit { free(subject) }

    func active() throws -> Subscription {
        guard let subscription else { throw NATSError.invalidSubscription("subscription is not set up") }
        return subscription
    }
}

@inline(__always)
private func subscription(_ pointer: OpaquePointer?) throws -> Subscription {
    try Handle.get(pointer, as: CSubscription.self, "sub").active()
}

/// How a C subscription delivers: read with `snats_sub_next_msg`, a callback run as
/// `delivery` says, or batches taken from a dispatch queue.
enum CDelivery {
    case synchronous
    case callback(SubscriptionDelivery)
    case batchCallback(CBatchHandler)
    case batches(DeliveryQueue)
}

/// Makes the subscription behind the handle `box`, delivering as `delivery` says; `filter`
/// for a library layer's own messages (a JetStream consumer's statuses).
func makeSubscription(
    _ conn: Connection, connHandle: OpaquePointer?, box: CSubscription, subject: String, queue: String?,
    delivery: CDelivery, callback: CMsgHandler?, closure: UnsafeMutableRawPointer?, filter: Subscription.Filter? = nil
) throws -> Subscription {
    let handle = Handle.unretained(box)
    switch delivery {
    case .synchronous:
        return try conn.subscribeSync(subject, queue: queue, filter: filter)
    case .batches(let dispatchQueue):
        return try conn.subscribeBatches(
            subject, queue: queue, on: dispatchQueue, token: UInt64(UInt(bitPattern: closure)), filter: filter)
    case .batchCallback(let callback):
        return try conn.subscribeInBatches(subject, queue: queue, filter: filter) { messages in
            // One buffer for the batch, in the records of snats_sub_next_msgs().
            let size = messages.reduce(0) { $0 + PackedMessage.size(of: $1.storage) }
            let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(1, size), alignment: 8)
            defer { buffer.deallocate() }
            var cursor = buffer
            for message in messages { cursor = PackedMessage.write(message.storage, at: cursor) }
            callback(connHandle, handle, buffer, size, messages.count, closure)
        }
    case .callback(let where_):
        let callback = try required(callback, "cb")
        return try conn.subscribe(subject, queue: queue, delivery: where_, filter: filter) { message in
            callback(connHandle, handle, Handle.unretained(message.storage), closure)
        }
    }
}

private func subscribe(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ connPointer: OpaquePointer?, _ subject: UnsafePointer<CChar>?,
    _ queue: UnsafePointer<CChar>?, queueRequired: Bool, _ callback: CMsgHandler?, _ closure: UnsafeMutableRawPointer?,
    _ delivery: CDelivery
) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let out = try required(out, "sub")
        let connectionBox = try Handle.get(connPointer, as: CConnection.self, "conn")
        let conn = try connectionBox.connected()
        let subject = try requiredString(subject, "subject")
        let queue = queueRequired ? try requiredString(queue, "queue") : optionalString(queue)
        let box = CSubscription(connectionBox: connectionBox, subject: subject)
        let made = try makeSubscription(
            conn, connHandle: connPointer, box: box, subject: subject, queue: queue, delivery: delivery, callback: callback,
            closure: closure)
        box.subscription = made
        connectionBox.remember(made, handle: Handle.unretained(box))
        out.pointee = Handle.make(box)
    }
}

@_cdecl("snats_subscribe_on")
public func snats_subscribe_on(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ conn: OpaquePointer?, _ subject: UnsafePointer<CChar>?,
    _ queueGroup: UnsafePointer<CChar>?, _ dispatchQueue: OpaquePointer?, _ callback: CMsgHandler?,
    _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    guard let dispatchQueue else {
        out?.pointee = nil
        return withStatus { throw NATSError.nullArgument("queue") }
    }
    let queue = Handle.borrow(dispatchQueue, as: DeliveryQueue.self)
    let delivery: CDelivery = callback == nil ? .batches(queue) : .callback(.queue(queue))
    return subscribe(out, conn, subject, queueGroup, queueRequired: false, callback, closure, delivery)
}

@_cdecl("snats_subscribe_batch")
public func snats_subscribe_batch(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ conn: OpaquePointer?, _ subject: UnsafePointer<CChar>?,
    _ queueGroup: UnsafePointer<CChar>?, _ callback: CBatchHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    guard let callback else {
        out?.pointee = nil
        return withStatus { throw NATSError.nullArgument("cb") }
    }
    return subscribe(out, conn, subject, queueGroup, queueRequired: false, nil, closure, .batchCallback(callback))
}

@_cdecl("snats_subscribe_dedicated")
public func snats_subscribe_dedicated(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ conn: OpaquePointer?, _ subject: UnsafePointer<CChar>?,
    _ queueGroup: UnsafePointer<CChar>?, _ callback: CMsgHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    subscribe(out, conn, subject, queueGroup, queueRequired: false, callback, closure, .callback(.dedicatedThread))
}

@_cdecl("snats_subscribe")
public func snats_subscribe(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ conn: OpaquePointer?, _ subject: UnsafePointer<CChar>?,
    _ callback: CMsgHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    subscribe(out, conn, subject, nil, queueRequired: false, callback, closure, .callback(.connectionDefault))
}

@_cdecl("snats_queue_subscribe")
public func snats_queue_subscribe(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ conn: OpaquePointer?, _ subject: UnsafePointer<CChar>?,
    _ queue: UnsafePointer<CChar>?, _ callback: CMsgHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    subscribe(out, conn, subject, queue, queueRequired: true, callback, closure, .callback(.connectionDefault))
}

@_cdecl("snats_subscribe_sync")
public func snats_subscribe_sync(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ conn: OpaquePointer?, _ subject: UnsafePointer<CChar>?
) -> Int32 {
    subscribe(out, conn, subject, nil, queueRequired: false, nil, nil, .synchronous)
}

@_cdecl("snats_queue_subscribe_sync")
public func snats_queue_subscribe_sync(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ conn: OpaquePointer?, _ subject: UnsafePointer<CChar>?,
    _ queue: UnsafePointer<CChar>?
) -> Int32 {
    subscribe(out, conn, subject, queue, queueRequired: true, nil, nil, .synchronous)
}

@_cdecl("snats_sub_next_msg")
public func snats_sub_next_msg(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ timeout: Int64
) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let out = try required(out, "msg")
        let message = try subscription(pointer).next(timeoutMilliseconds: pollOrTimeout(timeout))
        out.pointee = ownedMessageHandle(message)
    }
}

@_cdecl("snats_sub_next_msgs")
public func snats_sub_next_msgs(
    _ buffer: UnsafeMutableRawPointer?, _ capacity: Int, _ used: UnsafeMutablePointer<Int>?,
    _ count: UnsafeMutablePointer<Int>?, _ pointer: OpaquePointer?, _ maxMessages: Int, _ timeout: Int64
) -> Int32 {
    copyOutBatch(buffer, capacity, maxMessages, used, count) { limit in
        try subscription(pointer).next(
            maxMessages: maxMessages, maxBytes: limit, size: { PackedMessage.size(of: $0.storage) },
            timeoutMilliseconds: pollOrTimeout(timeout))
    } write: { message, cursor in
        PackedMessage.write(message.storage, at: cursor)
    }
}

/// The shape of the batch copy-outs (snats_sub_next_msgs, snats_dispatch_queue_next_msgs):
/// checks the arguments, takes up to `capacity` bytes of records (`take` gets the byte
/// limit), reports a first record that does not fit as SNATS_BUFFER_TOO_SMALL with its size
/// in `*used`, and writes the records one after the other.
func copyOutBatch<Item>(
    _ buffer: UnsafeMutableRawPointer?, _ capacity: Int, _ maxMessages: Int,
    _ used: UnsafeMutablePointer<Int>?, _ count: UnsafeMutablePointer<Int>?, take: (Int) throws -> [Item],
    write: (Item, UnsafeMutableRawPointer) -> UnsafeMutableRawPointer
) -> Int32 {
    used?.pointee = 0
    count?.pointee = 0
    return withStatus {
        let buffer = try required(buffer, "buffer")
        let used = try required(used, "used")
        let count = try required(count, "count")
        guard capacity >= 0 else { throw NATSError.invalidArgument("capacity must not be negative") }
        guard maxMessages > 0 else { throw NATSError.invalidArgument("max_msgs must be positive") }
        let items: [Item]
        do {
            items = try take(capacity)
        } catch let tooLarge as Subscription.MessageTooLarge {
            used.pointee = tooLarge.size
            throw CopyOutError.tooSmall(needed: tooLarge.size, capacity: capacity)
        }
        var cursor = buffer
        for item in items { cursor = write(item, cursor) }
        used.pointee = cursor - buffer
        count.pointee = items.count
    }
}

@_cdecl("snats_sub_unsubscribe")
public func snats_sub_unsubscribe(_ pointer: OpaquePointer?) -> Int32 {
    withStatus { try subscription(pointer).unsubscribe() }
}

@_cdecl("snats_sub_auto_unsubscribe")
public func snats_sub_auto_unsubscribe(_ pointer: OpaquePointer?, _ max: Int32) -> Int32 {
    withStatus { try subscription(pointer).autoUnsubscribe(after: Int(max)) }
}

@_cdecl("snats_sub_drain")
public func snats_sub_drain(_ pointer: OpaquePointer?, _ timeout: Int64) -> Int32 {
    withStatus {
        let sub = try subscription(pointer)
        try sub.connection.drain(sub, timeoutMilliseconds: positiveTimeout(timeout))
    }
}

@_cdecl("snats_sub_set_pending_limits")
public func snats_sub_set_pending_limits(_ pointer: OpaquePointer?, _ messages: Int32, _ bytes: Int64) -> Int32 {
    withStatus { try subscription(pointer).setPendingLimits(messages: Int(messages), bytes: Int(bytes)) }
}

@_cdecl("snats_sub_get_pending")
public func snats_sub_get_pending(
    _ messages: UnsafeMutablePointer<Int32>?, _ bytes: UnsafeMutablePointer<Int64>?, _ pointer: OpaquePointer?
) -> Int32 {
    withStatus {
        let pending = try subscription(pointer).pendingCount
        messages?.pointee = Int32(clamping: pending.messages)
        bytes?.pointee = Int64(pending.bytes)
    }
}

@_cdecl("snats_sub_get_delivered")
public func snats_sub_get_delivered(_ out: UnsafeMutablePointer<UInt64>?, _ pointer: OpaquePointer?) -> Int32 {
    withStatus { try required(out, "delivered").pointee = try subscription(pointer).delivered }
}

@_cdecl("snats_sub_get_dropped")
public func snats_sub_get_dropped(_ out: UnsafeMutablePointer<UInt64>?, _ pointer: OpaquePointer?) -> Int32 {
    withStatus { try required(out, "dropped").pointee = try subscription(pointer).dropped }
}

@_cdecl("snats_sub_is_valid")
public func snats_sub_is_valid(_ pointer: OpaquePointer?) -> Bool {
    (try? subscription(pointer).isValid) ?? false
}

@_cdecl("snats_sub_subject")
public func snats_sub_subject(_ pointer: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let pointer else { return nil }
    return UnsafePointer(Handle.borrow(pointer, as: CSubscription.self).subject)
}

@_cdecl("snats_sub_destroy")
public func snats_sub_destroy(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    let box = Handle.borrow(pointer, as: CSubscription.self)
    if let sub = box.subscription {
        if sub.isValid { try? sub.unsubscribe() }
        // A callback still running (the connection closed without waiting for it) was given
        // this handle and the connection's: they stay valid until it returns.
        sub.waitForRunningCallbacks()
        box.connectionBox.forget(sub)
    }
    Handle.release(pointer, as: CSubscription.self)
}
