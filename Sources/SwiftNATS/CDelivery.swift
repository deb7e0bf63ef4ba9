#if canImport(Glibc)
import Glibc
#endif
import NATS

// Where callbacks run: the delivery pool, dedicated threads, dispatch queues
// (`snats_dispatch_queue`, a `DeliveryQueue` handle).

@inline(__always)
private func dispatchQueue(_ pointer: OpaquePointer?) throws -> DeliveryQueue {
    try Handle.get(pointer, as: DeliveryQueue.self, "queue")
}

@_cdecl("snats_set_delivery_pool_size")
public func snats_set_delivery_pool_size(_ threads: Int32) -> Int32 {
    withStatus { try DeliveryPool.shared.setSize(Int(threads)) }
}

@_cdecl("snats_get_delivery_pool_threads")
public func snats_get_delivery_pool_threads(
    _ alive: UnsafeMutablePointer<Int32>?, _ size: UnsafeMutablePointer<Int32>?
) -> Int32 {
    withStatus {
        let alive = try required(alive, "alive")
        let size = try required(size, "size")
        alive.pointee = Int32(clamping: DeliveryPool.shared.threadCounts.alive)
        size.pointee = Int32(clamping: DeliveryPool.shared.size)
    }
}

@_cdecl("snats_options_set_delivery_pool_size")
public func snats_options_set_delivery_pool_size(_ pointer: OpaquePointer?, _ threads: Int32) -> Int32 {
    withStatus {
        let box = try Handle.get(pointer, as: COptions.self, "opts")
        guard threads >= 0 else { throw NATSError.invalidArgument("delivery pool size must not be negative") }
        box.options.deliveryPoolSize = Int(threads)
    }
}

@_cdecl("snats_options_set_dedicated_delivery")
public func snats_options_set_dedicated_delivery(_ pointer: OpaquePointer?, _ dedicated: Bool) -> Int32 {
    withStatus { try Handle.get(pointer, as: COptions.self, "opts").options.dedicatedDeliveryThreads = dedicated }
}

@_cdecl("snats_options_set_dispatch_queue")
public func snats_options_set_dispatch_queue(_ pointer: OpaquePointer?, _ queue: OpaquePointer?) -> Int32 {
    withStatus {
        let box = try Handle.get(pointer, as: COptions.self, "opts")
        box.options.dispatchQueue = try queue.map { try dispatchQueue($0) }
    }
}

@_cdecl("snats_options_set_read_on_dispatch_queue")
public func snats_options_set_read_on_dispatch_queue(_ pointer: OpaquePointer?, _ read: Bool) -> Int32 {
    withStatus { try Handle.get(pointer, as: COptions.self, "opts").options.readOnDispatchQueue = read }
}

@_cdecl("snats_dispatch_queue_create")
public func snats_dispatch_queue_create(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ maxMessages: Int32, _ maxBytes: Int64
) -> Int32 {
    withHandleOut(out, "queue") { try DeliveryQueue(maxMessages: Int(maxMessages), maxBytes: Int(maxBytes)) }
}

@_cdecl("snats_dispatch_queue_destroy")
public func snats_dispatch_queue_destroy(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    Handle.release(pointer, as: DeliveryQueue.self)
}

@_cdecl("snats_dispatch_queue_fd")
public func snats_dispatch_queue_fd(_ fd: UnsafeMutablePointer<Int32>?, _ pointer: OpaquePointer?) -> Int32 {
    withStatus {
        let fd = try required(fd, "fd")
        fd.pointee = try dispatchQueue(pointer).fileDescriptor
    }
}

@_cdecl("snats_dispatch_queue_dispatch")
public func snats_dispatch_queue_dispatch(
    _ ran: UnsafeMutablePointer<Int32>?, _ pointer: OpaquePointer?, _ maxCallbacks: Int32, _ timeout: Int64
) -> Int32 {
    ran?.pointee = 0
    return withStatus {
        let count = try dispatchQueue(pointer).dispatch(maxCallbacks: Int(maxCallbacks), timeoutMilliseconds: timeout)
        ran?.pointee = Int32(clamping: count)
    }
}

@_cdecl("snats_dispatch_queue_wake")
public func snats_dispatch_queue_wake(_ pointer: OpaquePointer?) -> Int32 {
    withStatus { try dispatchQueue(pointer).wake() }
}

/// A batch record: the tag (the subscription's, or a tagged request's), then the message as
/// `PackedMessage` writes it.
private let tagSize = MemoryLayout<UInt64>.size
private let recordSize: (Message) -> Int = { tagSize + PackedMessage.size(of: $0.storage) }

private func writeRecord(_ item: (tag: UInt64, message: Message), at cursor: UnsafeMutableRawPointer) -> UnsafeMutableRawPointer {
    cursor.storeBytes(of: item.tag, as: UInt64.self)
    return PackedMessage.write(item.message.storage, at: cursor + tagSize)
}

@_cdecl("snats_dispatch_queue_next_msgs")
public func snats_dispatch_queue_next_msgs(
    _ buffer: UnsafeMutableRawPointer?, _ capacity: Int, _ used: UnsafeMutablePointer<Int>?,
    _ count: UnsafeMutablePointer<Int>?, _ pointer: OpaquePointer?, _ maxMessages: Int, _ timeout: Int64
) -> Int32 {
    copyOutBatch(buffer, capacity, maxMessages, used, count) { limit in
        try dispatchQueue(pointer).nextBatch(
            maxMessages: maxMessages, maxBytes: limit, size: recordSize, timeoutMilliseconds: timeout)
    } write: { writeRecord($0, at: $1) }
}

@_cdecl("snats_dispatch_queue_turn")
public func snats_dispatch_queue_turn(
    _ buffer: UnsafeMutableRawPointer?, _ capacity: Int, _ used: UnsafeMutablePointer<Int>?,
    _ count: UnsafeMutablePointer<Int>?, _ ran: UnsafeMutablePointer<Int32>?, _ pointer: OpaquePointer?,
    _ maxCallbacks: Int32, _ maxMessages: Int
) -> Int32 {
    var callbacks = 0
    defer { ran?.pointee = Int32(clamping: callbacks) }
    return copyOutBatch(buffer, capacity, maxMessages, used, count) { limit in
        try dispatchQueue(pointer).turn(
            maxCallbacks: Int(maxCallbacks), maxMessages: maxMessages, maxBytes: limit, size: recordSize, ran: &callbacks)
    } write: { writeRecord($0, at: $1) }
}

@_cdecl("snats_dispatch_queue_get_pending")
public func snats_dispatch_queue_get_pending(
    _ messages: UnsafeMutablePointer<Int32>?, _ bytes: UnsafeMutablePointer<Int64>?, _ pointer: OpaquePointer?
) -> Int32 {
    withStatus {
        let pending = try dispatchQueue(pointer).pending
        messages?.pointee = Int32(clamping: pending.messages)
        bytes?.pointee = Int64(pending.bytes)
    }
}
