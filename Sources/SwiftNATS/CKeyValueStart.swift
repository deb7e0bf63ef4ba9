#if canImport(Glibc)
import Glibc
#endif
import CJansson
import NATS
import NATSJetStream

// Opening a bucket and starting a watch without waiting (snats_kv_bucket_create_async,
// snats_kv_bucket_bind_async, snats_kv_watch_async): for event loops, which must not block
// on an API round trip.

public typealias CKeyValueBucketHandler = @convention(c) (OpaquePointer?, Int32, OpaquePointer?, UnsafeMutableRawPointer?) -> Void
public typealias CKeyValueWatchStartedHandler = @convention(c) (OpaquePointer?, Int32, OpaquePointer?, UnsafeMutableRawPointer?)
    -> Void

/// Hands an opened bucket to its handler: an owned `snats_kv`, or the failure's status.
private func opened(
    _ outcome: Result<KeyValue, Error>, box: CJetStream, to callback: CKeyValueBucketHandler, _ closure: UnsafeMutableRawPointer?
) {
    switch outcome {
    case .success(let bucket):
        lastErrorText.set("")
        callback(Handle.unretained(box), CStatus.ok.rawValue, Handle.make(CKeyValue(bucket)), closure)
    case .failure(let error):
        callback(Handle.unretained(box), fail(error), nil, closure)
    }
}

@_cdecl("snats_kv_bucket_create_async")
public func snats_kv_bucket_create_async(
    _ pointer: OpaquePointer?, _ bucket: UnsafePointer<CChar>?, _ config: UnsafePointer<json_t>?,
    _ callback: CKeyValueBucketHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let box = try Handle.get(pointer, as: CJetStream.self, "js")
        let callback = try required(callback, "cb")
        let settings = config.map { JSONValue(retaining: UnsafeMutablePointer(mutating: $0)) } ?? JSONValue.object()
        // The box, held by the completion, keeps the handle valid memory after destroy.
        try KeyValue.create(box.jetStream, bucket: try requiredString(bucket, "bucket"), config: settings) { outcome in
            opened(outcome, box: box, to: callback, closure)
        }
    }
}

@_cdecl("snats_kv_bucket_bind_async")
public func snats_kv_bucket_bind_async(
    _ pointer: OpaquePointer?, _ bucket: UnsafePointer<CChar>?, _ callback: CKeyValueBucketHandler?,
    _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let box = try Handle.get(pointer, as: CJetStream.self, "js")
        let callback = try required(callback, "cb")
        try KeyValue.bind(box.jetStream, bucket: try requiredString(bucket, "bucket")) { outcome in
            opened(outcome, box: box, to: callback, closure)
        }
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
