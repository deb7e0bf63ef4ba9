import CJansson
import NATS
import NATSJetStream

// The object store without blocking (snats_obj_*_async): for event loops, which must not
// wait for an API round trip, nor for a transfer. Each callback runs once, as a connection
// event; puts and gets call their reader or writer as connection events too.

public typealias CObjectBucketHandler = @convention(c) (OpaquePointer?, Int32, OpaquePointer?, UnsafeMutableRawPointer?) -> Void
public typealias CObjectWatchStartedHandler = @convention(c) (OpaquePointer?, Int32, OpaquePointer?, UnsafeMutableRawPointer?)
    -> Void

/// Hands an opened bucket to its handler: an owned `snats_obj`, or the failure's status.
private func opened(
    _ outcome: Result<ObjectStore, Error>, box: CJetStream, to callback: CObjectBucketHandler, _ closure: UnsafeMutableRawPointer?
) {
    switch outcome {
    case .success(let store):
        lastErrorText.set("")
        callback(Handle.unretained(box), CStatus.ok.rawValue, Handle.make(CObjectStore(store)), closure)
    case .failure(let error):
        callback(Handle.unretained(box), fail(error), nil, closure)
    }
}

@_cdecl("snats_obj_bucket_create_async")
public func snats_obj_bucket_create_async(
    _ pointer: OpaquePointer?, _ bucket: UnsafePointer<CChar>?, _ config: UnsafePointer<json_t>?,
    _ callback: CObjectBucketHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let box = try Handle.get(pointer, as: CJetStream.self, "js")
        let callback = try required(callback, "cb")
        let settings = config.map { JSONValue(retaining: UnsafeMutablePointer(mutating: $0)) } ?? JSONValue.object()
        // The box, held by the completion, keeps the handle valid memory after destroy.
        try ObjectStore.create(box.jetStream, bucket: try requiredString(bucket, "bucket"), config: settings) { outcome in
            opened(outcome, box: box, to: callback, closure)
        }
    }
}

@_cdecl("snats_obj_bucket_bind_async")
public func snats_obj_bucket_bind_async(
    _ pointer: OpaquePointer?, _ bucket: UnsafePointer<CChar>?, _ callback: CObjectBucketHandler?,
    _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let box = try Handle.get(pointer, as: CJetStream.self, "js")
        let callback = try required(callback, "cb")
        try ObjectStore.bind(box.jetStream, bucket: try requiredString(bucket, "bucket")) { outcome in
            opened(outcome, box: box, to: callback, closure)
        }
    }
}

/// A call whose outcome is JSON, to a `snats_json_handler`.
private func jsonCall(
    _ pointer: OpaquePointer?, _ callback: CJSONHandler?, _ closure: UnsafeMutableRawPointer?,
    _ start: (ObjectStore, @escaping (Result<JSONValue, Error>) -> Void) throws -> Void
) -> Int32 {
    withStatus {
        let store = try objectStore(pointer)
        let callback = try required(callback, "cb")
        try start(store) { report($0, to: callback, closure) }
    }
}

@_cdecl("snats_obj_status_async")
public func snats_obj_status_async(_ pointer: OpaquePointer?, _ callback: CJSONHandler?, _ closure: UnsafeMutableRawPointer?) -> Int32 {
    jsonCall(pointer, callback, closure) { store, done in try store.status(completion: done) }
}

@_cdecl("snats_obj_info_async")
public func snats_obj_info_async(
    _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ showDeleted: Bool, _ callback: CJSONHandler?,
    _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    jsonCall(pointer, callback, closure) { store, done in
        try store.info(try requiredString(name, "name"), showDeleted: showDeleted, completion: done)
    }
}

@_cdecl("snats_obj_delete_async")
public func snats_obj_delete_async(
    _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ callback: CJSONHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    jsonCall(pointer, callback, closure) { store, done in try store.delete(try requiredString(name, "name"), completion: done) }
}

@_cdecl("snats_obj_list_async")
public func snats_obj_list_async(
    _ pointer: OpaquePointer?, _ showDeleted: Bool, _ callback: CJSONHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    jsonCall(pointer, callback, closure) { store, done in
        try store.list(showDeleted: showDeleted) { done($0.map { JSONValue.array(of: $0) }) }
    }
}

@_cdecl("snats_obj_add_link_async")
public func snats_obj_add_link_async(
    _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ target: UnsafePointer<json_t>?, _ callback: CJSONHandler?,
    _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    jsonCall(pointer, callback, closure) { store, done in
        let info = JSONValue(retaining: UnsafeMutablePointer(mutating: try required(target, "target")))
        try store.addLink(try requiredString(name, "name"), to: info, completion: done)
    }
}

@_cdecl("snats_obj_add_bucket_link_async")
public func snats_obj_add_bucket_link_async(
    _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ bucket: UnsafePointer<CChar>?, _ callback: CJSONHandler?,
    _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    jsonCall(pointer, callback, closure) { store, done in
        try store.addBucketLink(try requiredString(name, "name"), to: try requiredString(bucket, "bucket"), completion: done)
    }
}

@_cdecl("snats_obj_put_async")
public func snats_obj_put_async(
    _ pointer: OpaquePointer?, _ meta: UnsafePointer<json_t>?, _ reader: CObjectReader?, _ callback: CJSONHandler?,
    _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    jsonCall(pointer, callback, closure) { store, done in
        try store.put(try objectMeta(meta), reader: objectReader(try required(reader, "reader"), closure), completion: done)
    }
}

@_cdecl("snats_obj_get_async")
public func snats_obj_get_async(
    _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ writer: CObjectWriter?, _ callback: CJSONHandler?,
    _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    jsonCall(pointer, callback, closure) { store, done in
        try store.get(try requiredString(name, "name"), writer: objectWriter(try required(writer, "writer"), closure), completion: done)
    }
}

@_cdecl("snats_obj_watch_async")
public func snats_obj_watch_async(
    _ pointer: OpaquePointer?, _ options: UnsafePointer<json_t>?, _ callback: CObjectWatchHandler?,
    _ started: CObjectWatchStartedHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let storeBox = try Handle.get(pointer, as: CObjectStore.self, "obs")
        let started = try required(started, "started")
        let request = try ObjectWatchRequest(pointer, options, callback, closure)
        let box = request.box
        try request.store.watch(options: request.options, handler: request.handler) { outcome in
            switch outcome {
            case .success(let watch):
                box.attach(watch)
                lastErrorText.set("")
                started(Handle.unretained(storeBox), CStatus.ok.rawValue, Handle.make(box), closure)
            case .failure(let error):
                started(Handle.unretained(storeBox), fail(error), nil, closure)
            }
        }
    }
}
