import CJansson
import NATS
import NATSJetStream

// The object store without blocking (snats_obj_*_async): for event loops, which must not
// wait for an API round trip, nor for a transfer. Each callback runs once, as a connection
// event; puts and gets call their reader or writer as connection events too.

public typealias CObjectWatchStartedHandler = @convention(c) (OpaquePointer?, Int32, OpaquePointer?, UnsafeMutableRawPointer?)
    -> Void

@_cdecl("snats_obj_bucket_create_async")
public func snats_obj_bucket_create_async(
    _ pointer: OpaquePointer?, _ bucket: UnsafePointer<CChar>?, _ config: UnsafePointer<json_t>?,
    _ callback: CBucketHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    openBucketAsync(pointer, callback, closure, wrap: CObjectStore.init) { js, done in
        try ObjectStore.create(js, bucket: try requiredString(bucket, "bucket"), config: bucketSettings(config), completion: done)
    }
}

@_cdecl("snats_obj_bucket_bind_async")
public func snats_obj_bucket_bind_async(
    _ pointer: OpaquePointer?, _ bucket: UnsafePointer<CChar>?, _ callback: CBucketHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    openBucketAsync(pointer, callback, closure, wrap: CObjectStore.init) { js, done in
        try ObjectStore.bind(js, bucket: try requiredString(bucket, "bucket"), completion: done)
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
