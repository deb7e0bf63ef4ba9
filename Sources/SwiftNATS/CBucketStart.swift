import CJansson
import NATS
import NATSJetStream

// Opening a bucket without waiting, Key-Value or objects alike
// (snats_kv_bucket_create_async, snats_obj_bucket_bind_async, ...): the handler gets an owned
// handle of the bucket, or the failure's status.

public typealias CBucketHandler = @convention(c) (OpaquePointer?, Int32, OpaquePointer?, UnsafeMutableRawPointer?) -> Void

/// Checks the context and handler, then `start`s the opening; its outcome goes to `callback`
/// as a `wrap`ped handle.
func openBucketAsync<Bucket>(
    _ pointer: OpaquePointer?, _ callback: CBucketHandler?, _ closure: UnsafeMutableRawPointer?,
    wrap: @escaping (Bucket) -> AnyObject,
    start: (JetStream, @escaping (Result<Bucket, Error>) -> Void) throws -> Void
) -> Int32 {
    withStatus {
        let box = try Handle.get(pointer, as: CJetStream.self, "js")
        let callback = try required(callback, "cb")
        // The box, held by the completion, keeps the handle valid memory after destroy.
        try start(box.jetStream) { outcome in
            switch outcome {
            case .success(let bucket):
                lastErrorText.set("")
                callback(Handle.unretained(box), CStatus.ok.rawValue, Handle.make(wrap(bucket)), closure)
            case .failure(let error):
                callback(Handle.unretained(box), fail(error), nil, closure)
            }
        }
    }
}

/// A bucket configuration borrowed from the caller (an empty one for NULL).
func bucketSettings(_ config: UnsafePointer<json_t>?) -> JSONValue {
    config.map { JSONValue(retaining: UnsafeMutablePointer(mutating: $0)) } ?? JSONValue.object()
}
