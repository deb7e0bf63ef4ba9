#if canImport(Glibc)
import Glibc
#endif
import CJansson
import NATS
import NATSJetStream

// Key-Value buckets: `snats_kv` (a bucket), `snats_kv_entry` (one revision, its strings as C
// text), `snats_kv_watcher`.

/// `snats_kv_entry`.
final class CKeyValueEntry {
    let entry: KeyValueEntry
    let bucket: UnsafeMutablePointer<CChar>?
    let key: UnsafeMutablePointer<CChar>?
    /// A C copy of the value: its address is handed out.
    let value: UnsafeMutableRawPointer?

    init(_ entry: KeyValueEntry) {
        self.entry = entry
        bucket = strdup(entry.bucket)
        key = strdup(entry.key)
        if entry.value.isEmpty {
            value = nil
        } else {
            let copy = malloc(entry.value.count)
            entry.value.withUnsafeBytes { bytes in
                if let base = bytes.baseAddress { copy?.copyMemory(from: base, byteCount: bytes.count) }
            }
            value = copy
        }
    }

    deinit {
        free(bucket)
        free(key)
        free(value)
    }
}

/// `snats_kv`: the bucket and its context's box (callbacks hand its handle back).
final class CKeyValue {
    let keyValue: KeyValue
    init(_ keyValue: KeyValue) { self.keyValue = keyValue }
}

/// `snats_kv_watcher`.
typealias CKeyValueWatcher = CWatcherBox<KeyValueEntry>

public typealias CKeyValueWatchHandler = @convention(c) (OpaquePointer?, OpaquePointer?, UnsafeMutableRawPointer?) -> Void

func keyValue(_ pointer: OpaquePointer?) throws -> KeyValue {
    try Handle.get(pointer, as: CKeyValue.self, "kv").keyValue
}

private func revisionOut(_ out: UnsafeMutablePointer<UInt64>?, _ body: () throws -> UInt64) -> Int32 {
    out?.pointee = 0
    return withStatus {
        let revision = try body()
        out?.pointee = revision
    }
}

// MARK: buckets

@_cdecl("snats_kv_bucket_create")
public func snats_kv_bucket_create(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ bucket: UnsafePointer<CChar>?,
    _ config: UnsafePointer<json_t>?
) -> Int32 {
    withHandleOut(out, "kv") {
        let settings = bucketSettings(config)
        return CKeyValue(try KeyValue.create(try jetStream(pointer), bucket: try requiredString(bucket, "bucket"), config: settings))
    }
}

@_cdecl("snats_kv_bucket_bind")
public func snats_kv_bucket_bind(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ bucket: UnsafePointer<CChar>?
) -> Int32 {
    withHandleOut(out, "kv") { CKeyValue(try KeyValue.bind(try jetStream(pointer), bucket: try requiredString(bucket, "bucket"))) }
}

@_cdecl("snats_kv_bucket_delete")
public func snats_kv_bucket_delete(_ pointer: OpaquePointer?, _ bucket: UnsafePointer<CChar>?) -> Int32 {
    withStatus { try KeyValue.delete(try jetStream(pointer), bucket: try requiredString(bucket, "bucket")) }
}

@_cdecl("snats_kv_bucket_names")
public func snats_kv_bucket_names(_ out: JSONOut?, _ pointer: OpaquePointer?) -> Int32 {
    withJSONOut(out, "names") {
        JSONValue.array(of: try KeyValue.buckets(try jetStream(pointer)).map(JSONValue.string))
    }
}

@_cdecl("snats_kv_destroy")
public func snats_kv_destroy(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    Handle.release(pointer, as: CKeyValue.self)
}

@_cdecl("snats_kv_status")
public func snats_kv_status(_ out: JSONOut?, _ pointer: OpaquePointer?) -> Int32 {
    withJSONOut(out, "status") { try keyValue(pointer).status() }
}

// MARK: keys

@_cdecl("snats_kv_put")
public func snats_kv_put(
    _ revision: UnsafeMutablePointer<UInt64>?, _ pointer: OpaquePointer?, _ key: UnsafePointer<CChar>?,
    _ data: UnsafeRawPointer?, _ length: Int
) -> Int32 {
    revisionOut(revision) { try keyValue(pointer).put(try requiredString(key, "key"), try bytes(data, length)) }
}

@_cdecl("snats_kv_create")
public func snats_kv_create(
    _ revision: UnsafeMutablePointer<UInt64>?, _ pointer: OpaquePointer?, _ key: UnsafePointer<CChar>?,
    _ data: UnsafeRawPointer?, _ length: Int
) -> Int32 {
    revisionOut(revision) { try keyValue(pointer).create(try requiredString(key, "key"), try bytes(data, length)) }
}

@_cdecl("snats_kv_update")
public func snats_kv_update(
    _ revision: UnsafeMutablePointer<UInt64>?, _ pointer: OpaquePointer?, _ key: UnsafePointer<CChar>?,
    _ data: UnsafeRawPointer?, _ length: Int, _ last: UInt64
) -> Int32 {
    revisionOut(revision) { try keyValue(pointer).update(try requiredString(key, "key"), try bytes(data, length), last: last) }
}

@_cdecl("snats_kv_delete")
public func snats_kv_delete(_ pointer: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ last: UInt64) -> Int32 {
    withStatus { try keyValue(pointer).delete(try requiredString(key, "key"), last: last == 0 ? nil : last) }
}

@_cdecl("snats_kv_purge")
public func snats_kv_purge(_ pointer: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ last: UInt64) -> Int32 {
    withStatus { try keyValue(pointer).purge(try requiredString(key, "key"), last: last == 0 ? nil : last) }
}

@_cdecl("snats_kv_get")
public func snats_kv_get(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ revision: UInt64
) -> Int32 {
    withHandleOut(out, "entry") {
        CKeyValueEntry(try keyValue(pointer).get(try requiredString(key, "key"), revision: revision == 0 ? nil : revision))
    }
}

@_cdecl("snats_kv_keys")
public func snats_kv_keys(_ out: JSONOut?, _ pointer: OpaquePointer?, _ filter: UnsafePointer<CChar>?) -> Int32 {
    withJSONOut(out, "keys") {
        JSONValue.array(of: try keyValue(pointer).keys([optionalString(filter) ?? ">"]).map(JSONValue.string))
    }
}

@_cdecl("snats_kv_history")
public func snats_kv_history(
    _ out: UnsafeMutablePointer<UnsafeMutablePointer<OpaquePointer?>?>?, _ count: UnsafeMutablePointer<Int32>?,
    _ pointer: OpaquePointer?, _ key: UnsafePointer<CChar>?
) -> Int32 {
    out?.pointee = nil
    count?.pointee = 0
    return withStatus {
        let out = try required(out, "entries")
        let count = try required(count, "count")
        let entries = try keyValue(pointer).history(try requiredString(key, "key"))
        let array = UnsafeMutablePointer<OpaquePointer?>.allocate(capacity: entries.count)
        for (index, entry) in entries.enumerated() { array[index] = Handle.make(CKeyValueEntry(entry)) }
        out.pointee = array
        count.pointee = Int32(entries.count)
    }
}

@_cdecl("snats_kv_entries_destroy")
public func snats_kv_entries_destroy(_ entries: UnsafeMutablePointer<OpaquePointer?>?, _ count: Int32) {
    guard let entries else { return }
    for index in 0..<Int(max(0, count)) { snats_kv_entry_destroy(entries[index]) }
    entries.deallocate()
}

// MARK: entries

private func entry(_ pointer: OpaquePointer) -> CKeyValueEntry { Handle.borrow(pointer, as: CKeyValueEntry.self) }

@_cdecl("snats_kv_entry_bucket")
public func snats_kv_entry_bucket(_ pointer: OpaquePointer?) -> UnsafePointer<CChar>? {
    pointer.flatMap { UnsafePointer(entry($0).bucket) }
}

@_cdecl("snats_kv_entry_key")
public func snats_kv_entry_key(_ pointer: OpaquePointer?) -> UnsafePointer<CChar>? {
    pointer.flatMap { UnsafePointer(entry($0).key) }
}

@_cdecl("snats_kv_entry_value")
public func snats_kv_entry_value(_ pointer: OpaquePointer?) -> UnsafeRawPointer? {
    guard let pointer else { return nil }
    return UnsafeRawPointer(entry(pointer).value)
}

@_cdecl("snats_kv_entry_value_len")
public func snats_kv_entry_value_len(_ pointer: OpaquePointer?) -> Int {
    pointer.map { entry($0).entry.value.count } ?? 0
}

@_cdecl("snats_kv_entry_revision")
public func snats_kv_entry_revision(_ pointer: OpaquePointer?) -> UInt64 {
    pointer.map { entry($0).entry.revision } ?? 0
}

@_cdecl("snats_kv_entry_delta")
public func snats_kv_entry_delta(_ pointer: OpaquePointer?) -> UInt64 {
    pointer.map { entry($0).entry.delta } ?? 0
}

@_cdecl("snats_kv_entry_created")
public func snats_kv_entry_created(_ pointer: OpaquePointer?) -> Int64 {
    pointer.map { entry($0).entry.createdNanoseconds } ?? 0
}

@_cdecl("snats_kv_entry_operation")
public func snats_kv_entry_operation(_ pointer: OpaquePointer?) -> Int32 {
    guard let pointer else { return 0 }
    switch entry(pointer).entry.operation {
    case .put: return 0
    case .delete: return 1
    case .purge: return 2
    }
}

@_cdecl("snats_kv_entry_destroy")
public func snats_kv_entry_destroy(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    Handle.release(pointer, as: CKeyValueEntry.self)
}

// MARK: watches

private func watchOptions(_ json: UnsafePointer<json_t>?) throws -> ([String]?, WatchOptions) {
    let options = try JSONOptions(
        json, allowed: ["keys", "include_history", "ignore_deletes", "meta_only", "updates_only"], "options")
    var keys: [String]?
    if let member = options.value?.value("keys"), !member.isNull {
        guard member.isArray, member.items.allSatisfy({ $0.stringValue != nil }) else {
            throw NATSError.invalidArgument("\"keys\" must be an array of strings")
        }
        keys = member.items.compactMap(\.stringValue)
    }
    return (keys, WatchOptions(
        includeHistory: try options.bool("include_history") ?? false, ignoreDeletes: try options.bool("ignore_deletes") ?? false,
        metaOnly: try options.bool("meta_only") ?? false, updatesOnly: try options.bool("updates_only") ?? false))
}

@_cdecl("snats_kv_watch")
public func snats_kv_watch(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ keys: UnsafePointer<CChar>?,
    _ options: UnsafePointer<json_t>?, _ callback: CKeyValueWatchHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withHandleOut(out, "watcher") {
        let request = try WatchRequest(pointer, keys, options, callback, closure)
        request.box.attach(try request.bucket.watch(request.filters, options: request.options, handler: request.handler))
        return request.box
    }
}

/// The arguments of snats_kv_watch(_async), checked, and the box the watcher's handle is.
struct WatchRequest {
    let bucket: KeyValue
    let filters: [String]
    let options: WatchOptions
    let box = CKeyValueWatcher()
    let handler: KeyValueWatcher.Handler?

    init(
        _ pointer: OpaquePointer?, _ keys: UnsafePointer<CChar>?, _ json: UnsafePointer<json_t>?,
        _ callback: CKeyValueWatchHandler?, _ closure: UnsafeMutableRawPointer?
    ) throws {
        bucket = try keyValue(pointer)
        let (listed, watch) = try watchOptions(json)
        if listed != nil && keys != nil { throw NATSError.invalidArgument("give the keys as the argument or in options, not both") }
        filters = listed ?? [optionalString(keys) ?? ">"]
        options = watch
        guard let callback else {
            handler = nil
            return
        }
        // The box is held by the handler: its handle stays valid for every call.
        handler = { [box] entry in
            guard !box.isStopped else { return }
            guard let entry else { return callback(Handle.unretained(box), nil, closure) }
            let made = CKeyValueEntry(entry)
            withExtendedLifetime(made) { callback(Handle.unretained(box), Handle.unretained(made), closure) }
        }
    }
}

@_cdecl("snats_kv_watcher_next")
public func snats_kv_watcher_next(
    _ out: UnsafeMutablePointer<OpaquePointer?>?, _ pointer: OpaquePointer?, _ timeout: Int64
) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let out = try required(out, "entry")
        let box = try Handle.get(pointer, as: CKeyValueWatcher.self, "watcher")
        guard let watcher = box.current, !box.isStopped || watcher.pendingCount > 0 else {
            throw NATSError.invalidSubscription("the watch is stopped")
        }
        if let entry = try watcher.next(timeoutMilliseconds: try positiveTimeout(timeout)) {
            out.pointee = Handle.make(CKeyValueEntry(entry))
        }
    }
}

@_cdecl("snats_kv_watcher_stop")
public func snats_kv_watcher_stop(_ pointer: OpaquePointer?) -> Int32 {
    withStatus { try Handle.get(pointer, as: CKeyValueWatcher.self, "watcher").stop() }
}

@_cdecl("snats_kv_watcher_destroy")
public func snats_kv_watcher_destroy(_ pointer: OpaquePointer?) {
    guard let pointer else { return }
    // Stopping waits for a handler call in progress on another thread; then the watcher,
    // whose handler holds the box, can go.
    Handle.borrow(pointer, as: CKeyValueWatcher.self).detach()
    Handle.release(pointer, as: CKeyValueWatcher.self)
}

// MARK: without blocking

public typealias CKeyValueRevisionHandler = @convention(c) (OpaquePointer?, Int32, UInt64, UnsafeMutableRawPointer?) -> Void
public typealias CKeyValueEntryHandler = @convention(c) (OpaquePointer?, Int32, OpaquePointer?, UnsafeMutableRawPointer?) -> Void
public typealias CKeyValueEntriesHandler = @convention(c) (
    OpaquePointer?, Int32, UnsafePointer<OpaquePointer?>?, Int32, UnsafeMutableRawPointer?
) -> Void

/// Reports a failure's status with `snats_last_error()` set on the callback's thread, or OK.
private func outcomeStatus<Value>(_ outcome: Result<Value, Error>) -> Int32 {
    switch outcome {
    case .success:
        lastErrorText.set("")
        return CStatus.ok.rawValue
    case .failure(let error): return fail(error)
    }
}

private func revisionCall(
    _ pointer: OpaquePointer?, _ callback: CKeyValueRevisionHandler?, _ closure: UnsafeMutableRawPointer?,
    _ start: (KeyValue, @escaping KeyValue.Completion<UInt64>) throws -> Void
) -> Int32 {
    withStatus {
        let box = try Handle.get(pointer, as: CKeyValue.self, "kv")
        let callback = try required(callback, "cb")
        try start(box.keyValue) { outcome in
            // The box, held here, keeps the handle valid memory for the call.
            let status = outcomeStatus(outcome)
            callback(Handle.unretained(box), status, (try? outcome.get()) ?? 0, closure)
        }
    }
}

@_cdecl("snats_kv_put_async")
public func snats_kv_put_async(
    _ pointer: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ data: UnsafeRawPointer?, _ length: Int,
    _ callback: CKeyValueRevisionHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    revisionCall(pointer, callback, closure) { kv, done in try kv.put(try requiredString(key, "key"), try bytes(data, length), completion: done) }
}

@_cdecl("snats_kv_create_async")
public func snats_kv_create_async(
    _ pointer: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ data: UnsafeRawPointer?, _ length: Int,
    _ callback: CKeyValueRevisionHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    revisionCall(pointer, callback, closure) { kv, done in
        try kv.create(try requiredString(key, "key"), try bytes(data, length), completion: done)
    }
}

@_cdecl("snats_kv_update_async")
public func snats_kv_update_async(
    _ pointer: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ data: UnsafeRawPointer?, _ length: Int, _ last: UInt64,
    _ callback: CKeyValueRevisionHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    revisionCall(pointer, callback, closure) { kv, done in
        try kv.update(try requiredString(key, "key"), try bytes(data, length), last: last, completion: done)
    }
}

@_cdecl("snats_kv_delete_async")
public func snats_kv_delete_async(
    _ pointer: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ last: UInt64, _ purge: Bool,
    _ callback: CKeyValueRevisionHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    revisionCall(pointer, callback, closure) { kv, done in
        try kv.delete(try requiredString(key, "key"), last: last == 0 ? nil : last, purge: purge, completion: done)
    }
}

@_cdecl("snats_kv_get_async")
public func snats_kv_get_async(
    _ pointer: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ revision: UInt64, _ callback: CKeyValueEntryHandler?,
    _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let box = try Handle.get(pointer, as: CKeyValue.self, "kv")
        let callback = try required(callback, "cb")
        try box.keyValue.get(try requiredString(key, "key"), revision: revision == 0 ? nil : revision) { outcome in
            let status = outcomeStatus(outcome)
            let made = (try? outcome.get()).map(CKeyValueEntry.init)
            withExtendedLifetime(made) { callback(Handle.unretained(box), status, made.map(Handle.unretained), closure) }
        }
    }
}

@_cdecl("snats_kv_status_async")
public func snats_kv_status_async(_ pointer: OpaquePointer?, _ callback: CJSONHandler?, _ closure: UnsafeMutableRawPointer?) -> Int32 {
    withStatus {
        let callback = try required(callback, "cb")
        try keyValue(pointer).status { report($0, to: callback, closure) }
    }
}

@_cdecl("snats_kv_keys_async")
public func snats_kv_keys_async(
    _ pointer: OpaquePointer?, _ filter: UnsafePointer<CChar>?, _ callback: CJSONHandler?, _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let callback = try required(callback, "cb")
        try keyValue(pointer).keys([optionalString(filter) ?? ">"]) { outcome in
            report(outcome.map { JSONValue.array(of: $0.map(JSONValue.string)) }, to: callback, closure)
        }
    }
}

@_cdecl("snats_kv_history_async")
public func snats_kv_history_async(
    _ pointer: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ callback: CKeyValueEntriesHandler?,
    _ closure: UnsafeMutableRawPointer?
) -> Int32 {
    withStatus {
        let box = try Handle.get(pointer, as: CKeyValue.self, "kv")
        let callback = try required(callback, "cb")
        try box.keyValue.history(try requiredString(key, "key")) { outcome in
            let status = outcomeStatus(outcome)
            let entries = ((try? outcome.get()) ?? []).map(CKeyValueEntry.init)
            var handles = entries.map { Optional(Handle.unretained($0)) }
            withExtendedLifetime(entries) {
                handles.withUnsafeMutableBufferPointer { buffer in
                    // NULL when empty, as the header says (an empty buffer may have an address).
                    let array = buffer.isEmpty ? nil : UnsafePointer(buffer.baseAddress)
                    callback(Handle.unretained(box), status, array, Int32(buffer.count), closure)
                }
            }
        }
    }
}
