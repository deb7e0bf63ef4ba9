import NATS

/// `snats_msg` is the message's storage object itself: one allocation holding subject, reply,
/// headers and payload, NUL-terminated, so accessors hand out pointers without copying and
/// retain/release are Swift reference counts.
@inline(__always)
private func storage(_ pointer: OpaquePointer) -> MessageStorage {
    Handle.borrow(pointer, as: MessageStorage.self)
}

@_cdecl("snats_msg_subject")
public func snats_msg_subject(_ pointer: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let pointer else { return nil }
    return storage(pointer).subjectPointer
}

@_cdecl("snats_msg_reply")
public func snats_msg_reply(_ pointer: OpaquePointer?) -> UnsafePointer<CChar>? {
    guard let pointer else { return nil }
    return storage(pointer).replyPointer
}

@_cdecl("snats_msg_data")
public func snats_msg_data(_ pointer: OpaquePointer?) -> UnsafeRawPointer? {
    guard let pointer else { return nil }
    return UnsafeRawPointer(storage(pointer).payloadPointer)
}

@_cdecl("snats_msg_data_len")
public func snats_msg_data_len(_ pointer: OpaquePointer?) -> Int {
    guard let pointer else { return 0 }
    return storage(pointer).payloadLength
}

@_cdecl("snats_msg_headers")
public func snats_msg_headers(_ pointer: OpaquePointer?) -> OpaquePointer? {
    guard let pointer else { return nil }
    let message = Message(storage: storage(pointer))
    guard message.storage.headerLength > 0 else { return nil }
    let box = message.storage.derived { CHeaders(headers: message.headers ?? Headers(), readOnly: true) }
    return Handle.unretained(box)
}

@_cdecl("snats_msg_status_code")
public func snats_msg_status_code(_ pointer: OpaquePointer?) -> Int32 {
    guard let pointer else { return 0 }
    return Int32(Message(storage: storage(pointer)).statusCode)
}

/// A message handed to a C caller to own: one Swift retain, counted as the caller's.
func ownedMessageHandle(_ message: Message) -> OpaquePointer {
    message.storage.addCallerReference()
    return Handle.make(message.storage)
}

@_cdecl("snats_msg_retain")
public func snats_msg_retain(_ pointer: OpaquePointer?) -> OpaquePointer? {
    guard let pointer else { return nil }
    let retained = Unmanaged<MessageStorage>.fromOpaque(UnsafeRawPointer(pointer)).retain()
    retained.takeUnretainedValue().addCallerReference()
    return pointer
}

@_cdecl("snats_msg_release")
public func snats_msg_release(_ pointer: OpaquePointer?) -> Int32 {
    withStatus {
        guard let pointer else { return }
        guard storage(pointer).dropCallerReference() else {
            throw NATSError.illegalState(
                "the message is not owned by the caller: it was lent to a callback (the library releases it; "
                    + "snats_msg_retain() keeps it) or it was already released")
        }
        Handle.release(pointer, as: MessageStorage.self)
    }
}

@_cdecl("snats_msg_respond")
public func snats_msg_respond(_ pointer: OpaquePointer?, _ data: UnsafeRawPointer?, _ length: Int) -> Int32 {
    withStatus {
        let message = Message(storage: storage(try required(pointer, "msg")))
        guard let reply = message.storage.replyPointer, reply.pointee != 0 else {
            throw NATSError.invalidArgument("message has no reply subject")
        }
        guard let conn = message.connection else {
            throw NATSError.invalidArgument("message was not received on a connection")
        }
        try conn.publish(subject: cBytes(reply), reply: nil, headers: nil, payload: payloadBytes(data, length), sendNow: true)
    }
}
