#if canImport(Glibc)
import Glibc
#endif
import CJansson
import NATS
import NATSJetStream

// Opening a bucket and starting a watch without waiting (snats_kv_bucket_create_async,
// snats_kv_bucket_bind_async, snats_kv_watch_async): for event loops, which must not block
// on an API round trip.

public typealias CKeyValueWatchStartedHandler = @convention(c) (OpaquePointer?, Int32, OpaquePointer?, UnsafeMutableRawPointer?)
    -> Void

@_cdecl("snats_kv_bucket_create_async")
public func snats_kv_bucket_create_async(
    _ pointer: OpaquePointer?, _ bucket: UnsafePointer<CChar>?, _ config: UnsafePointer<json_t>?,
    _ callback: CBucketHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    openBucketAsync(pointer, callback, closure, wrap: CKeyValue.init) { js, done in
        try KeyValue.create(js, bucket: try requiredString(bucket, "bucket"), config: bucketSettings(config), completion: done)
    }
}

@_cdecl("snats_kv_bucket_bind_async")
public func snats_kv_bucket_bind_async(
    _ pointer: OpaquePointer?, _ bucket: UnsafePointer<CChar>?, _ callback: CBucketHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    openBucketAsync(pointer, callback, closure, wrap: CKeyValue.init) { js, done in
        try KeyValue.bind(js, bucket: try requiredString(bucket, "bucket"), completion: done)
    }
}

@_cdecl("snats_kv_watch_async")
public func snats_kv_watch_async(
    _ pointer: OpaquePointer?, _ keys: UnsafePointer<CChar>?, _ options: UnsafePointer<json_t>?,
    _ callback: CKeyValueWatchHandler?, _ started: CKeyValueWatchStartedHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let kvBox = try Handle.get(pointer, as: CKeyValue.self, "kv")
        let started = try required(started, "started")
        let request = try WatchRequest(pointer, keys, options, callback, closure)
        let box = request.box
        try request.bucket.watch(request.filters, options: request.options, handler: request.handler) { outcome in
            switch outcome {
            case .success(let watch):
                box.attach(watch)
                lastErrorText.set("")
                started(Handle.unretained(kvBox), CStatus.ok.rawValue, Handle.make(box), closure)
            case .failure(let error):
                started(Handle.unretained(kvBox), fail(error), nil, closure)
            }
        }
    }
}
