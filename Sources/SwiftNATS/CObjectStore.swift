#if canImport(Glibc)
import Glibc
#endif
import CJansson
import NATS
import NATSJetStream

// The object store: `snats_obj` (a bucket), objects streamed from readers to writers (or
// bytes, files, descriptors), infos as the JSON the bucket stores, `snats_obj_watcher`.

final class CObjectStore {
    let store: ObjectStore
    init(_ store: ObjectStore) { self.store = store }
}

typealias CObjectWatcher = CWatcherBox<JSONValue>

public typealias CObjectReader = @convention(c) (UnsafeMutableRawPointer?, Int, UnsafeMutableRawPointer?) -> Int64
public typealias CObjectWriter = @convention(c) (UnsafeRawPointer?, Int, UnsafeMutableRawPointer?) -> Int32
public typealias CObjectWatchHandler = @convention(c) (OpaquePointer?, UnsafeMutablePointer<json_t>?, UnsafeMutableRawPointer?) -> Void

func objectStore(_ pointer: OpaquePointer?) throws -> ObjectStore {
    try Handle.get(pointer, as: CObjectStore.self, "obs").store
}

/// `meta` of a put: `name` (required), `description`, `headers` ({"Key": ["value"...]}),
/// `metadata` ({"key": "value"}), `chunk_size`.
func objectMeta(_ json: UnsafePointer<json_t>?) throws -> ObjectMeta {
    let options = try JSONOptions(json, allowed: ["name", "description", "headers", "metadata", "chunk_size"], "meta")
    guard let name = try options.string("name") else { throw NATSError.invalidArgument("meta needs \"name\"") }
    var meta = ObjectMeta(name: name, description: try options.string("description"))
    if let size = try options.int("chunk_size") { meta.chunkSize = Int(clamping: size) }
    if let headers = options.value?.value("headers"), !headers.isNull {
        guard headers.isObject else { throw NATSError.invalidArgument("\"headers\" must be an object of string arrays") }
        var parsed = Headers()
        for key in headers.keys {
            guard let values = headers.value(key), values.isArray else {
                throw NATSError.invalidArgument("header \"\(key)\" must be an array of strings")
            }
            for value in values.items {
                guard let text = value.stringValue else { throw NATSError.invalidArgument("header \"\(key)\": not a string") }
                try parsed.add(key, text)
            }
        }
        meta.headers = parsed
    }
    if let metadata = options.value?.value("metadata"), !metadata.isNull {
        guard metadata.isObject else { throw NATSError.invalidArgument("\"metadata\" must be an object of strings") }
        for key in metadata.keys {
            guard let value = metadata.string(key) else { throw NATSError.invalidArgument("metadata \"\(key)\": not a string") }
            meta.metadata[key] = value
        }
    }
    return meta
}

private func infoOut(_ out: JSONOut?, _ body: () throws -> JSONValue) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let info = try body()
        if let out { out.pointee = withExtendedLifetime(info) { cjansson_incref(info.raw) } }
    }
}

/// A C reader as a put's: a negative count (or one past the buffer) fails the put.
func objectReader(_ reader: @escaping CObjectReader, _ closure: UnsafeMutableRawPointer?) -> ObjectUpload.Reader {
    { buffer in
        let count = reader(buffer.baseAddress, buffer.count, closure)
        guard count >= 0, count <= Int64(buffer.count) else { throw NATSError.io("the reader failed (it returned \(count))") }
        return Int(count)
    }
}

/// A C writer as a get's: anything but 0 stops the get.
func objectWriter(_ writer: @escaping CObjectWriter, _ closure: UnsafeMutableRawPointer?) -> ObjectDownload.Writer {
    { bytes in
        if writer(bytes.baseAddress, bytes.count, closure) != 0 { throw NATSError.io("the writer stopped the get") }
    }
}

/// A descriptor read until its end; EINTR retried.
private func readDescriptor(_ fd: Int32) -> (UnsafeMutableRawBufferPointer) throws -> Int {
    { buffer in
        while true {
            let count = read(fd, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno != EINTR { throw NATSError.io("reading descriptor \(fd): \(String(cString: strerror(errno)))") }
        }
    }
}

private func writeDescriptor(_ fd: Int32) -> (UnsafeRawBufferPointer) throws -> Void {
    { bytes in
        var offset = 0
        while offset < bytes.count {
            let count = write(fd, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            if count < 0 {
                if errno == EINTR { continue }
                throw NATSError.io("writing descriptor \(fd): \(String(cString: strerror(errno)))")
            }
            offset += count
        }
    }
}

// MARK: buckets

@_cdecl("snats_obj_bucket_create")
public func snats_obj_bucket_create(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ bucket: UnsafePointer<CChar>?,
    _ config: UnsafePointer<json_t>?
) -> Int32 {
    withHandleOut(out, "obs") {
        let settings = bucketSettings(config)
        return CObjectStore(try ObjectStore.create(try jetStream(pointer), bucket: try requiredString(bucket, "bucket"), config: settings))
    }
}

@_cdecl("snats_obj_bucket_bind")
public func snats_obj_bucket_bind(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ bucket: UnsafePointer<CChar>?
) -> Int32 {
    withHandleOut(out, "obs") { CObjectStore(try ObjectStore.bind(try jetStream(pointer), bucket: try requiredString(bucket, "bucket"))) }
}

@_cdecl("snats_obj_bucket_delete")
public func snats_obj_bucket_delete(_ pointer: OpaquePointer?, _ bucket: UnsafePointer<CChar>?) -> Int32 {
    withStatus { try ObjectStore.delete(try jetStream(pointer), bucket: try requiredString(bucket, "bucket")) }
}

@_cdecl("snats_obj_bucket_names")
public func snats_obj_bucket_names(_ out: JSONOut?, _ pointer: OpaquePointer?) -> Int32 {
    withJSONOut(out, "names") {
        JSONValue.array(of: try ObjectStore.buckets(try jetStream(pointer)).map(JSONValue.string))
    }
}

@_cdecl("snats_obj_destroy")
public func snats_obj_destroy(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    Handle.release(pointer, as: CObjectStore.self)
}

@_cdecl("snats_obj_status")
public func snats_obj_status(_ out: JSONOut?, _ pointer: OpaquePointer?) -> Int32 {
    withJSONOut(out, "status") { try objectStore(pointer).status() }
}

// MARK: objects

@_cdecl("snats_obj_put")
public func snats_obj_put(
    _ out: JSONOut?, _ pointer: OpaquePointer?, _ meta: UnsafePointer<json_t>?, _ reader: CObjectReader?,
    _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    infoOut(out) {
        let store = try objectStore(pointer)
        return try store.put(try objectMeta(meta), reader: objectReader(try required(reader, "reader"), closure))
    }
}

@_cdecl("snats_obj_put_bytes")
public func snats_obj_put_bytes(
    _ out: JSONOut?, _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ data: UnsafeRawPointer?, _ length: Int
) -> Int32 {
    infoOut(out) { try objectStore(pointer).put(try requiredString(name, "name"), Array(try payloadBytes(data, length))) }
}

@_cdecl("snats_obj_put_fd")
public func snats_obj_put_fd(_ out: JSONOut?, _ pointer: OpaquePointer?, _ meta: UnsafePointer<json_t>?, _ fd: Int32) -> Int32 {
    infoOut(out) {
        guard fd >= 0 else { throw NATSError.invalidArgument("fd must not be negative") }
        return try objectStore(pointer).put(try objectMeta(meta), reader: readDescriptor(fd))
    }
}

@_cdecl("snats_obj_put_file")
public func snats_obj_put_file(
    _ out: JSONOut?, _ pointer: OpaquePointer?, _ meta: UnsafePointer<json_t>?, _ path: UnsafePointer<CChar>?
) -> Int32 {
    infoOut(out) {
        let store = try objectStore(pointer)
        let objectMeta = try objectMeta(meta)
        let file = try requiredString(path, "path")
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw NATSError.io("opening \"\(file)\": \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        return try store.put(objectMeta, reader: readDescriptor(fd))
    }
}

@_cdecl("snats_obj_get")
public func snats_obj_get(
    _ out: JSONOut?, _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ writer: CObjectWriter?,
    _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    infoOut(out) {
        let store = try objectStore(pointer)
        return try store.get(try requiredString(name, "name"), writer: objectWriter(try required(writer, "writer"), closure))
    }
}

@_cdecl("snats_obj_get_bytes")
public func snats_obj_get_bytes(
    _ out: JSONOut?, _ data: UnsafeMutablePointer<UnsafeMutableRawPointer?>?, _ length: UnsafeMutablePointer<Int>?,
    _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?
) -> Int32 {
    data?.pointee = nil
    length?.pointee = 0
    return infoOut(out) {
        let data = try required(data, "data")
        let length = try required(length, "len")
        let (info, bytes) = try objectStore(pointer).get(try requiredString(name, "name"))
        // malloc'd for snats_free(); one byte at least, so that an empty object is not NULL.
        guard let copy = malloc(max(1, bytes.count)) else { throw NATSError.io("out of memory for \(bytes.count) bytes") }
        bytes.withUnsafeBytes { if let base = $0.baseAddress { copy.copyMemory(from: base, byteCount: bytes.count) } }
        data.pointee = copy
        length.pointee = bytes.count
        return info
    }
}

@_cdecl("snats_obj_get_fd")
public func snats_obj_get_fd(_ out: JSONOut?, _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ fd: Int32) -> Int32 {
    infoOut(out) {
        guard fd >= 0 else { throw NATSError.invalidArgument("fd must not be negative") }
        return try objectStore(pointer).get(try requiredString(name, "name"), writer: writeDescriptor(fd))
    }
}

@_cdecl("snats_obj_get_file")
public func snats_obj_get_file(
    _ out: JSONOut?, _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ path: UnsafePointer<CChar>?
) -> Int32 {
    infoOut(out) {
        let store = try objectStore(pointer)
        let object = try requiredString(name, "name")
        let file = try requiredString(path, "path")
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw NATSError.io("opening \"\(file)\": \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        return try store.get(object, writer: writeDescriptor(fd))
    }
}

@_cdecl("snats_obj_info")
public func snats_obj_info(
    _ out: JSONOut?, _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ showDeleted: Bool
) -> Int32 {
    withJSONOut(out, "info") { try objectStore(pointer).info(try requiredString(name, "name"), showDeleted: showDeleted) }
}

@_cdecl("snats_obj_delete")
public func snats_obj_delete(_ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?) -> Int32 {
    withStatus { try objectStore(pointer).delete(try requiredString(name, "name")) }
}

@_cdecl("snats_obj_list")
public func snats_obj_list(_ out: JSONOut?, _ pointer: OpaquePointer?, _ showDeleted: Bool) -> Int32 {
    withJSONOut(out, "infos") {
        JSONValue.array(of: try objectStore(pointer).list(showDeleted: showDeleted))
    }
}

@_cdecl("snats_obj_add_link")
public func snats_obj_add_link(
    _ out: JSONOut?, _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ target: UnsafePointer<json_t>?
) -> Int32 {
    infoOut(out) {
        let info = JSONValue(retaining: UnsafeMutablePointer(mutating: try required(target, "target")))
        return try objectStore(pointer).addLink(try requiredString(name, "name"), to: info)
    }
}

@_cdecl("snats_obj_add_bucket_link")
public func snats_obj_add_bucket_link(
    _ out: JSONOut?, _ pointer: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ bucket: UnsafePointer<CChar>?
) -> Int32 {
    infoOut(out) { try objectStore(pointer).addBucketLink(try requiredString(name, "name"), to: try requiredString(bucket, "bucket")) }
}

// MARK: watches

@_cdecl("snats_obj_watch")
public func snats_obj_watch(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ options: UnsafePointer<json_t>?,
    _ callback: CObjectWatchHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withHandleOut(out, "watcher") {
        let request = try ObjectWatchRequest(pointer, options, callback, closure)
        request.box.attach(try request.store.watch(options: request.options, handler: request.handler))
        return request.box
    }
}

/// The arguments of snats_obj_watch(_async), checked, and the box the watcher's handle is.
struct ObjectWatchRequest {
    let store: ObjectStore
    let options: WatchOptions
    let box = CObjectWatcher()
    let handler: OrderedWatch<JSONValue>.Handler?

    init(_ pointer: OpaquePointer?, _ json: UnsafePointer<json_t>?, _ callback: CObjectWatchHandler?, _ closure: UnsafeMutableRawPointer?)
        throws
    {
        store = try objectStore(pointer)
        let settings = try JSONOptions(json, allowed: ["include_history", "ignore_deletes", "updates_only"], "options")
        options = WatchOptions(
            includeHistory: try settings.bool("include_history") ?? false, ignoreDeletes: try settings.bool("ignore_deletes") ?? false,
            updatesOnly: try settings.bool("updates_only") ?? false)
        guard let callback else {
            handler = nil
            return
        }
        handler = { [box] info in
            guard !box.isStopped else { return }
            guard let info else { return callback(Handle.unretained(box), nil, closure) }
            withExtendedLifetime(info) { callback(Handle.unretained(box), info.raw, closure) }
        }
    }
}

@_cdecl("snats_obj_watcher_next")
public func snats_obj_watcher_next(_ out: JSONOut?, _ pointer: OpaquePointer?, _ timeout: Int64) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let out = try required(out, "info")
        let box = try Handle.get(pointer, as: CObjectWatcher.self, "watcher")
        guard let watcher = box.current, !box.isStopped || watcher.pendingCount > 0 else {
            throw NATSError.invalidSubscription("the watch is stopped")
        }
        if let info = try watcher.next(timeoutMilliseconds: try positiveTimeout(timeout)) {
            out.pointee = withExtendedLifetime(info) { cjansson_incref(info.raw) }
        }
    }
}

@_cdecl("snats_obj_watcher_stop")
public func snats_obj_watcher_stop(_ pointer: OpaquePointer?) -> Int32 {
    withStatus { try Handle.get(pointer, as: CObjectWatcher.self, "watcher").stop() }
}

@_cdecl("snats_obj_watcher_destroy")
public func snats_obj_watcher_destroy(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    Handle.borrow(pointer, as: CObjectWatcher.self).detach()
    Handle.release(pointer, as: CObjectWatcher.self)
}
