import NATS

/// A Key-Value bucket (ADR-8): the stream `KV_<bucket>` on subjects `$KV.<bucket>.<key>`, one
/// message per revision, the last `history` kept per key; deletes and purges are markers
/// (`KV-Operation: DEL | PURGE`). The same layout as nats.go's and nats.py's, so their
/// buckets and these are one.
public final class KeyValue {
    public let jetStream: JetStream
    public let bucket: String
    public let streamName: String
    /// Gets ask any replica (the bucket's stream allows direct gets).
    public let direct: Bool

    static let operationHeader = "KV-Operation"
    static func subjectPrefix(_ bucket: String) -> String { "$KV.\(bucket)." }

    /// Creates a bucket (or accepts an identical one). `config` holds nats.go's
    /// `KeyValueConfig`: `history` (1...64, default 1), `ttl` (nanoseconds), `max_value_size`,
    /// `max_bytes`, `storage` ("file" or "memory"), `replicas`, `description`.
    public static func create(_ jetStream: JetStream, bucket: String, config: JSONValue = JSONValue.object()) throws -> KeyValue {
        try jetStream.perform(try creating(jetStream, bucket: bucket, config: config))
    }

    /// Binds to an existing bucket; `notFound` (10059) when there is none.
    public static func bind(_ jetStream: JetStream, bucket: String) throws -> KeyValue {
        try jetStream.perform(try binding(jetStream, bucket: bucket))
    }

    /// The API call of `create` (blocking or not): the bucket's stream made, the bucket.
    static func creating(_ jetStream: JetStream, bucket: String, config: JSONValue) throws -> APICall<KeyValue> {
        try APICall<JSONValue>.addStream(try streamConfig(bucket: bucket, config))
            .map { KeyValue(jetStream: jetStream, bucket: bucket, info: $0) }
    }

    /// The API call of `bind`: the bucket's stream looked up, the bucket.
    static func binding(_ jetStream: JetStream, bucket: String) throws -> APICall<KeyValue> {
        try checkBucket(bucket)
        return try APICall<JSONValue>.streamInfo("KV_" + bucket).map { KeyValue(jetStream: jetStream, bucket: bucket, info: $0) }
    }

    public static func delete(_ jetStream: JetStream, bucket: String) throws {
        try checkBucket(bucket)
        try jetStream.deleteStream("KV_" + bucket)
    }

    /// The buckets' names (streams named `KV_...`).
    public static func buckets(_ jetStream: JetStream) throws -> [String] {
        try jetStream.streamNames().filter { $0.hasPrefix("KV_") }.map { String($0.dropFirst(3)) }
    }

    /// The bucket of the stream `info` describes (reads use direct gets when it allows them).
    convenience init(jetStream: JetStream, bucket: String, info: JSONValue) {
        self.init(jetStream: jetStream, bucket: bucket, direct: info.value("config")?.bool("allow_direct") ?? false)
    }

    init(jetStream: JetStream, bucket: String, direct: Bool) {
        self.jetStream = jetStream
        self.bucket = bucket
        self.direct = direct
        streamName = "KV_" + bucket
    }

    // MARK: writing

    /// Stores `value` under `key`; returns the new revision.
    @discardableResult
    public func put(_ key: String, _ value: [UInt8]) throws -> UInt64 {
        try publish(key, value, headers: nil, options: PublishOptions())
    }

    /// Stores `value` only if `key` has no value (never written, deleted or purged); the
    /// revision, or `JetStreamError.api` with 10071 when it has one.
    @discardableResult
    public func create(_ key: String, _ value: [UInt8]) throws -> UInt64 {
        do {
            return try publish(key, value, headers: nil, options: PublishOptions(expectedLastSubjectSequence: 0))
        } catch let error as JetStreamError where error.errorCode == JetStreamError.ErrorCode.streamWrongLastSequence {
            // A deleted or purged key has a marker as its last revision: creating it again is
            // an update of that marker.
            guard let last = try? lastRevision(key), last.operation != .put else { throw error }
            return try update(key, value, last: last.revision)
        }
    }

    /// Stores `value` only if `key`'s last revision is `last` (compare-and-set); 10071 otherwise.
    @discardableResult
    public func update(_ key: String, _ value: [UInt8], last: UInt64) throws -> UInt64 {
        try publish(key, value, headers: nil, options: PublishOptions(expectedLastSubjectSequence: last))
    }

    /// Marks `key` deleted (its history stays); with `last`, only if that is its revision.
    public func delete(_ key: String, last: UInt64? = nil) throws {
        var headers = Headers()
        try headers.set(Self.operationHeader, KeyValueOperation.delete.rawValue)
        _ = try publish(key, [], headers: headers, options: PublishOptions(expectedLastSubjectSequence: last))
    }

    /// Marks `key` purged and drops its earlier revisions.
    public func purge(_ key: String, last: UInt64? = nil) throws {
        var headers = Headers()
        try headers.set(Self.operationHeader, KeyValueOperation.purge.rawValue)
        try headers.set("Nats-Rollup", "sub")
        _ = try publish(key, [], headers: headers, options: PublishOptions(expectedLastSubjectSequence: last))
    }

    private func publish(_ key: String, _ value: [UInt8], headers: Headers?, options: PublishOptions) throws -> UInt64 {
        try Self.checkKey(key, wildcards: false)
        return try jetStream.publish(subject(key), payload: value, headers: headers, options: options).sequence
    }

    // MARK: reading

    /// The current value of `key` (or the one at `revision`); `JetStreamError.api` 404 with
    /// 10037 when it has none (never written, deleted, purged, or another key's revision).
    public func get(_ key: String, revision: UInt64? = nil) throws -> KeyValueEntry {
        let entry = try revision.map { try self.revision(key, $0) } ?? lastRevision(key)
        guard entry.operation == .put else { throw Self.keyNotFound(key, deleted: true) }
        return entry
    }

    /// The last revision of `key` whatever its operation.
    func lastRevision(_ key: String) throws -> KeyValueEntry {
        try Self.checkKey(key, wildcards: false)
        let message: Message
        do {
            message = try jetStream.lastMessage(stream: streamName, subject: subject(key), direct: direct)
        } catch let error as JetStreamError where error.apiCode == 404 && error.errorCode != JetStreamError.ErrorCode.streamNotFound {
            throw Self.keyNotFound(key, deleted: false)
        }
        guard let entry = KeyValueEntry(bucket: bucket, stored: message) else {
            throw JetStreamError.invalidResponse("a stored message of bucket \"\(bucket)\" that is no entry")
        }
        return entry
    }

    private func revision(_ key: String, _ revision: UInt64) throws -> KeyValueEntry {
        try Self.checkKey(key, wildcards: false)
        let message: Message
        do {
            message = direct
                ? try jetStream.directGet(stream: streamName, .sequence(revision))
                : try jetStream.getMessage(stream: streamName, .sequence(revision))
        } catch let error as JetStreamError where error.apiCode == 404 && error.errorCode != JetStreamError.ErrorCode.streamNotFound {
            throw Self.keyNotFound(key, deleted: false)
        }
        guard let entry = KeyValueEntry(bucket: bucket, stored: message), entry.key == key else {
            throw Self.keyNotFound(key, deleted: false)
        }
        return entry
    }

    static func keyNotFound(_ key: String, deleted: Bool) -> JetStreamError {
        .api(code: 404, errorCode: JetStreamError.ErrorCode.messageNotFound,
             description: deleted ? "key \"\(key)\" was deleted" : "key \"\(key)\" not found")
    }

    /// The bucket's stream info with its KV reading: `bucket`, `values`, `history`, `ttl`,
    /// `bytes`, `backing_store`, `is_compressed`, and the stream's `info`.
    public func status() throws -> JSONValue { status(of: try jetStream.streamInfo(streamName)) }

    func status(of info: JSONValue) -> JSONValue {
        let status = JSONValue.object()
        status.set("bucket", bucket)
        let config = info.value("config")
        let state = info.value("state")
        status.set("values", state?.int("messages") ?? 0)
        status.set("history", config?.int("max_msgs_per_subject") ?? 1)
        status.set("ttl", config?.int("max_age") ?? 0)
        status.set("bytes", state?.int("bytes") ?? 0)
        status.set("backing_store", "JetStream")
        status.set("is_compressed", (config?.string("compression") ?? "none") != "none")
        status.set("info", info)
        return status
    }

    // MARK: names

    func subject(_ key: String) -> String { Self.subjectPrefix(bucket) + key }

    static func checkBucket(_ bucket: String) throws {
        let allowed = bucket.utf8.allSatisfy { isWordByte($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
        guard !bucket.isEmpty, allowed else { throw NATSError.invalidArgument("invalid bucket name \"\(bucket)\"") }
    }

    /// Keys: `[-/_=.a-zA-Z0-9]+`, not starting or ending with `.`; `*` and `>` only in a
    /// watch's or listing's filter.
    static func checkKey(_ key: String, wildcards: Bool) throws {
        let bytes = Array(key.utf8)
        let valid = !bytes.isEmpty && bytes.first != UInt8(ascii: ".") && bytes.last != UInt8(ascii: ".")
            && bytes.allSatisfy { byte in
                isWordByte(byte) || "-/_=.".utf8.contains(byte) || (wildcards && (byte == UInt8(ascii: "*") || byte == UInt8(ascii: ">")))
            }
        guard valid, Subject.isValidSubscribeSubject(key) else { throw NATSError.invalidArgument("invalid key \"\(key)\"") }
    }

    private static func isWordByte(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
    }

    /// The bucket's stream configuration, as nats.go makes it.
    static func streamConfig(bucket: String, _ config: JSONValue) throws -> JSONValue {
        try checkBucket(bucket)
        guard config.isObject else { throw NATSError.invalidArgument("a bucket configuration is a JSON object") }
        let allowed: Set<String> = ["history", "ttl", "max_value_size", "max_bytes", "storage", "replicas", "description",
                                    "compression", "metadata"]
        for key in config.keys where !allowed.contains(key) && key != "bucket" {
            throw NATSError.invalidArgument("unknown bucket setting \"\(key)\"")
        }
        try BucketSettings.check(config, integers: ["history", "ttl", "max_value_size", "max_bytes", "replicas"],
                                 strings: ["storage", "description"], booleans: ["compression"])
        let history = config.int("history") ?? 1
        guard (1...64).contains(history) else { throw NATSError.invalidArgument("history must be 1 to 64") }
        let ttl = config.int("ttl") ?? 0
        guard ttl >= 0 else { throw NATSError.invalidArgument("ttl cannot be negative") }
        let stream = JSONValue.object()
        stream.set("name", "KV_" + bucket)
        let subjects = JSONValue.array()
        subjects.append(JSONValue.string("$KV.\(bucket).>"))
        stream.set("subjects", subjects)
        stream.set("max_msgs_per_subject", history)
        stream.set("max_age", ttl)
        stream.set("max_bytes", config.int("max_bytes") ?? -1)
        stream.set("max_msg_size", config.int("max_value_size") ?? -1)
        stream.set("storage", config.string("storage") ?? "file")
        stream.set("num_replicas", config.int("replicas") ?? 1)
        stream.set("discard", "new")
        stream.set("allow_rollup_hdrs", true)
        stream.set("deny_delete", true)
        stream.set("allow_direct", true)
        stream.set("max_msgs", -1)
        stream.set("max_consumers", -1)
        let twoMinutes = 120_000_000_000
        stream.set("duplicate_window", ttl > 0 && ttl < twoMinutes ? ttl : twoMinutes)
        if let description = config.string("description") { stream.set("description", description) }
        if let compression = config.bool("compression"), compression { stream.set("compression", "s2") }
        if let metadata = config.value("metadata") { stream.set("metadata", metadata) }
        return stream
    }
}

/// Types of a bucket's settings: a setting of another type is refused, not ignored.
enum BucketSettings {
    static func check(_ config: JSONValue, integers: [String], strings: [String], booleans: [String]) throws {
        func refuse(_ key: String, _ kind: String) -> NATSError {
            NATSError.invalidArgument("bucket setting \"\(key)\" must be \(kind)")
        }
        for key in integers { if let value = config.value(key), value.kind != .integer { throw refuse(key, "an integer") } }
        for key in strings { if let value = config.value(key), value.kind != .string { throw refuse(key, "a string") } }
        for key in booleans { if let value = config.value(key), value.kind != .boolean { throw refuse(key, "true or false") } }
        if let metadata = config.value("metadata") {
            guard metadata.isObject, metadata.keys.allSatisfy({ metadata.value($0)?.kind == .string }) else {
                throw refuse("metadata", "an object of strings")
            }
        }
    }
}
