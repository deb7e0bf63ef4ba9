import NATS

/// What `put` stores about an object besides its bytes.
public struct ObjectMeta {
    public var name: String
    public var description: String?
    /// Headers kept with the object (nats.go's `ObjectMeta.Headers`).
    public var headers: Headers?
    public var metadata: [String: String]
    /// Bytes per chunk message (nats.go's default, 128 KiB).
    public var chunkSize: Int

    public init(name: String, description: String? = nil, headers: Headers? = nil, metadata: [String: String] = [:],
                chunkSize: Int = 128 * 1024) {
        self.name = name
        self.description = description
        self.headers = headers
        self.metadata = metadata
        self.chunkSize = chunkSize
    }
}

/// An object store (ADR-20), as nats.go and nats.py make it: the stream `OBJ_<bucket>`, an
/// object's chunks on `$O.<bucket>.C.<nuid>` and its info (JSON, the last message) on
/// `$O.<bucket>.M.<name in URL-safe base64>`; the digest is `SHA-256=<URL-safe base64>`.
/// Infos are that JSON document: `name`, `description`, `headers`, `metadata`, `options`
/// (`max_chunk_size`, `link`), `bucket`, `nuid`, `size`, `mtime`, `chunks`, `digest`, `deleted`.
public final class ObjectStore {
    public let jetStream: JetStream
    public let bucket: String
    public let streamName: String

    /// Creates a bucket (or accepts an identical one): `config` may hold `description`, `ttl`
    /// (nanoseconds), `max_bytes`, `storage`, `replicas`, `compression` (bool), `metadata`.
    public static func create(_ jetStream: JetStream, bucket: String, config: JSONValue = JSONValue.object()) throws -> ObjectStore {
        try jetStream.perform(try creating(jetStream, bucket: bucket, config: config))
    }

    public static func bind(_ jetStream: JetStream, bucket: String) throws -> ObjectStore {
        try jetStream.perform(try binding(jetStream, bucket: bucket))
    }

    /// The API call of `create`: the bucket's stream added (or found identical), the bucket.
    static func creating(_ jetStream: JetStream, bucket: String, config: JSONValue) throws -> APICall<ObjectStore> {
        try KeyValue.checkBucket(bucket)
        guard config.isObject else { throw NATSError.invalidArgument("a bucket configuration is a JSON object") }
        let allowed: Set<String> = ["description", "ttl", "max_bytes", "storage", "replicas", "compression", "metadata", "bucket"]
        for key in config.keys where !allowed.contains(key) {
            throw NATSError.invalidArgument("unknown bucket setting \"\(key)\"")
        }
        try BucketSettings.check(config, integers: ["ttl", "max_bytes", "replicas"], strings: ["storage", "description"],
                                 booleans: ["compression"])
        let stream = JSONValue.object()
        stream.set("name", "OBJ_" + bucket)
        let subjects = JSONValue.array()
        subjects.append(JSONValue.string("$O.\(bucket).C.>"))
        subjects.append(JSONValue.string("$O.\(bucket).M.>"))
        stream.set("subjects", subjects)
        stream.set("max_age", config.int("ttl") ?? 0)
        stream.set("max_bytes", config.int("max_bytes") ?? -1)
        stream.set("storage", config.string("storage") ?? "file")
        stream.set("num_replicas", config.int("replicas") ?? 1)
        stream.set("discard", "new")
        stream.set("allow_rollup_hdrs", true)
        stream.set("allow_direct", true)
        if let description = config.string("description") { stream.set("description", description) }
        if config.bool("compression") == true { stream.set("compression", "s2") }
        if let metadata = config.value("metadata") { stream.set("metadata", metadata) }
        return try APICall<JSONValue>.addStream(stream).map { _ in ObjectStore(jetStream: jetStream, bucket: bucket) }
    }

    /// The API call of `bind`: the bucket's stream looked up, the bucket.
    static func binding(_ jetStream: JetStream, bucket: String) throws -> APICall<ObjectStore> {
        try KeyValue.checkBucket(bucket)
        return try APICall<JSONValue>.streamInfo("OBJ_" + bucket).map { _ in ObjectStore(jetStream: jetStream, bucket: bucket) }
    }

    public static func delete(_ jetStream: JetStream, bucket: String) throws {
        try KeyValue.checkBucket(bucket)
        try jetStream.deleteStream("OBJ_" + bucket)
    }

    public static func buckets(_ jetStream: JetStream) throws -> [String] {
        try jetStream.streamNames().filter { $0.hasPrefix("OBJ_") }.map { String($0.dropFirst(4)) }
    }

    init(jetStream: JetStream, bucket: String) {
        self.jetStream = jetStream
        self.bucket = bucket
        streamName = "OBJ_" + bucket
    }

    func metaSubject(_ name: String) -> String { "$O.\(bucket).M.\(Base64.encode(Array(name.utf8), urlSafe: true))" }
    func chunkSubject(_ nuid: String) -> String { "$O.\(bucket).C.\(nuid)" }

    static func checkName(_ name: String) throws {
        guard !name.isEmpty else { throw NATSError.invalidArgument("an object needs a name") }
    }

    // MARK: writing

    /// Stores an object read from `reader` (which fills the buffer it is given and returns how
    /// many bytes it put there; 0 at the end), in chunks, with its digest; replaces an object
    /// of that name (whose chunks then go). Returns the new info. A failure (the reader's, or
    /// a chunk the stream refused) removes the chunks already stored.
    public func put(_ meta: ObjectMeta, reader: (UnsafeMutableRawBufferPointer) throws -> Int) throws -> JSONValue {
        try Self.checkName(meta.name)
        guard meta.chunkSize > 0 else { throw NATSError.invalidArgument("chunk size must be positive") }
        let previous = try Self.existing(Result { try self.info(meta.name, showDeleted: true) })
        let nuid = SharedNUID.next()
        let chunks = chunkSubject(nuid)
        var hasher = SHA256Hasher()
        var size = 0
        var count = 0
        let chunksInFlight = ChunkAcks()
        var buffer = [UInt8](repeating: 0, count: meta.chunkSize)
        let waitMilliseconds = max(jetStream.timeoutMilliseconds, 10_000)
        do {
            while true {
                let read = try buffer.withUnsafeMutableBytes { try reader($0) }
                guard read > 0 else { break }
                guard read <= meta.chunkSize else { throw NATSError.invalidArgument("the reader returned more than it was given") }
                let chunk = Array(buffer[0..<read])
                hasher.update(chunk)
                size += read
                count += 1
                chunksInFlight.sent()
                do {
                    try jetStream.publisher.publish(chunks, payload: chunk) { chunksInFlight.acked($0) }
                } catch {
                    chunksInFlight.acked(.failure(error))
                    throw error
                }
                if let failure = chunksInFlight.failure { throw failure }
            }
            try chunksInFlight.waitAll(timeoutMilliseconds: waitMilliseconds)
        } catch {
            // This put's chunks still in flight would land after the purge: wait for them first.
            try? chunksInFlight.waitAll(timeoutMilliseconds: waitMilliseconds)
            _ = try? jetStream.purgeStream(streamName, PurgeRequest(filter: chunks))
            throw error
        }
        let info = objectInfo(meta, nuid: nuid, size: size, chunks: count, digest: &hasher)
        do {
            try publishMeta(info)
        } catch {
            // An info whose ack did not come may be stored: its chunks must then stay.
            let stored = Self.outcomeUnknown(error) ? try? self.info(meta.name, showDeleted: true) : nil
            if stored?.string("nuid") != nuid {
                // Chunks nothing refers to: gone with the failed put.
                _ = try? jetStream.purgeStream(streamName, PurgeRequest(filter: chunks))
                throw error
            }
        }
        if let old = Self.replacedChunks(previous, by: nuid) {
            _ = try? jetStream.purgeStream(streamName, PurgeRequest(filter: chunkSubject(old)))
        }
        return info
    }

    /// The info a put stores once its chunks are in.
    func objectInfo(_ meta: ObjectMeta, nuid: String, size: Int, chunks: Int, digest hasher: inout SHA256Hasher) -> JSONValue {
        let info = JSONValue.object()
        info.set("name", meta.name)
        if let description = meta.description { info.set("description", description) }
        if let headers = meta.headers, !headers.isEmpty { info.set("headers", Self.json(headers)) }
        if !meta.metadata.isEmpty { info.set("metadata", JSONValue.stringObject(meta.metadata)) }
        let options = JSONValue.object()
        options.set("max_chunk_size", meta.chunkSize)
        info.set("options", options)
        info.set("bucket", bucket)
        info.set("nuid", nuid)
        info.set("size", size)
        info.set("mtime", WallClock.rfc3339(nanoseconds: WallClock.nowNanoseconds()))
        info.set("chunks", chunks)
        info.set("digest", Self.digestText(&hasher))
        return info
    }

    static func digestText(_ hasher: inout SHA256Hasher) -> String {
        "SHA-256=" + Base64.encode(hasher.finish(), urlSafe: true)
    }

    /// The nuid of the chunks a put of `nuid` leaves behind: the object's before it (a
    /// link has none).
    static func replacedChunks(_ previous: JSONValue?, by nuid: String) -> String? {
        guard let previous, previous.string("nuid") != nuid, previous.value("options")?.value("link") == nil else { return nil }
        return previous.string("nuid")
    }

    /// Stores `bytes` as object `name`.
    @discardableResult
    public func put(_ name: String, _ bytes: [UInt8]) throws -> JSONValue {
        var offset = 0
        return try put(ObjectMeta(name: name)) { buffer in
            let count = min(buffer.count, bytes.count - offset)
            if count > 0, let base = buffer.baseAddress {
                bytes.withUnsafeBytes { source in
                    if let start = source.baseAddress { base.copyMemory(from: start + offset, byteCount: count) }
                }
            }
            offset += count
            return count
        }
    }

    private func publishMeta(_ info: JSONValue) throws {
        let (subject, payload, headers) = try metaMessage(info)
        _ = try jetStream.publish(subject, payload: payload, headers: headers)
    }

    /// The message that stores `info`: it replaces the object's earlier infos (a rollup).
    func metaMessage(_ info: JSONValue) throws -> (subject: String, payload: [UInt8], headers: Headers) {
        guard let name = info.string("name") else { throw NATSError.invalidArgument("an info without a name") }
        var headers = Headers()
        try headers.set("Nats-Rollup", "sub")
        return (metaSubject(name), try info.bytes(), headers)
    }

    /// Marks the object deleted and removes its chunks.
    public func delete(_ name: String) throws {
        let info = try self.info(name)
        let nuid = Self.markDeleted(info)
        try publishMeta(info)
        if let nuid { _ = try jetStream.purgeStream(streamName, PurgeRequest(filter: chunkSubject(nuid))) }
    }

    /// Turns `info` into its object's deletion marker; the nuid of the chunks to remove.
    static func markDeleted(_ info: JSONValue) -> String? {
        let nuid = info.string("nuid")
        info.set("deleted", true)
        info.set("size", 0)
        info.set("chunks", 0)
        info.set("digest", "")
        info.set("mtime", WallClock.rfc3339(nanoseconds: WallClock.nowNanoseconds()))
        return nuid
    }

    /// Adds `name` as a link to `object` (an info of this or another bucket's object).
    @discardableResult
    public func addLink(_ name: String, to object: JSONValue) throws -> JSONValue {
        let target = try Self.linkTarget(object)
        return try addLink(name, bucket: target.bucket, object: target.name)
    }

    /// The bucket and name a link to the object of info `object` names.
    static func linkTarget(_ object: JSONValue) throws -> (bucket: String, name: String) {
        guard let target = object.string("name"), let targetBucket = object.string("bucket") else {
            throw NATSError.invalidArgument("a link needs the target's info (name and bucket)")
        }
        guard object.value("options")?.value("link") == nil else { throw NATSError.invalidArgument("a link cannot point to a link") }
        return (targetBucket, target)
    }

    /// Adds `name` as a link to the whole bucket `bucket`.
    @discardableResult
    public func addBucketLink(_ name: String, to bucket: String) throws -> JSONValue {
        try KeyValue.checkBucket(bucket)
        return try addLink(name, bucket: bucket, object: nil)
    }

    private func addLink(_ name: String, bucket targetBucket: String, object: String?) throws -> JSONValue {
        try Self.checkName(name)
        try Self.checkReplaceable(name, by: try Self.existing(Result { try self.info(name) }))
        let info = linkInfo(name, bucket: targetBucket, object: object)
        try publishMeta(info)
        return info
    }

    /// A link replaces a link, never an object.
    static func checkReplaceable(_ name: String, by existing: JSONValue?) throws {
        if let existing, existing.value("options")?.value("link") == nil {
            throw NATSError.invalidArgument("\"\(name)\" is an object, not a link: delete it first")
        }
    }

    /// The info of link `name` to `object` of `targetBucket` (the whole bucket when nil).
    func linkInfo(_ name: String, bucket targetBucket: String, object: String?) -> JSONValue {
        let link = JSONValue.object()
        link.set("bucket", targetBucket)
        if let object { link.set("name", object) }
        let options = JSONValue.object()
        options.set("link", link)
        let info = JSONValue.object()
        info.set("name", name)
        info.set("options", options)
        info.set("bucket", bucket)
        info.set("nuid", SharedNUID.next())
        info.set("size", 0)
        info.set("chunks", 0)
        info.set("mtime", WallClock.rfc3339(nanoseconds: WallClock.nowNanoseconds()))
        return info
    }

    // MARK: reading

    /// The object's info; `notFound` (404, 10037) when there is none or it was deleted (unless
    /// `showDeleted`).
    public func info(_ name: String, showDeleted: Bool = false) throws -> JSONValue {
        try jetStream.perform(try infoCall(name, showDeleted: showDeleted))
    }

    /// The API call of `info`.
    func infoCall(_ name: String, showDeleted: Bool) throws -> APICall<JSONValue> {
        try Self.checkName(name)
        // The leader answers, on every server, what a missing bucket is (10059); infos are small.
        return try APICall<Message>.getMessage(stream: streamName, .lastBySubject(metaSubject(name)))
            .mapError { error in
                error.apiCode == 404 && error.errorCode != JetStreamError.ErrorCode.streamNotFound ? Self.notFound(name) : error
            }
            .map { message in
                let info: JSONValue
                do {
                    info = try message.storage.withPayload { try JSONValue.parse($0) }
                } catch {
                    throw JetStreamError.invalidResponse("the info of object \"\(name)\" is not JSON")
                }
                guard info.isObject else { throw JetStreamError.invalidResponse("the info of object \"\(name)\" is not an object") }
                if info.bool("deleted") == true && !showDeleted { throw Self.notFound(name) }
                return info
            }
    }

    /// A lookup's outcome as the object's info or none; a failure other than not-found leaves
    /// what is stored unknown, and is thrown.
    static func existing(_ lookup: Result<JSONValue, Error>) throws -> JSONValue? {
        do {
            return try lookup.get()
        } catch let error as JetStreamError where error.apiCode == 404 && error.errorCode == JetStreamError.ErrorCode.messageNotFound {
            return nil
        }
    }

    /// Whether a publish failed without knowing if the server stored it (no ack came).
    static func outcomeUnknown(_ error: Error) -> Bool {
        switch error as? NATSError {
        case .timeout, .connectionLost, .connectionClosed: return true
        default: return false
        }
    }

    static func notFound(_ name: String) -> JetStreamError {
        .api(code: 404, errorCode: JetStreamError.ErrorCode.messageNotFound, description: "object \"\(name)\" not found")
    }

    /// Reads the object into `writer`, chunk by chunk, following a link to an object; checks
    /// size and digest at the end (`JetStreamError.invalidResponse` when they differ from the
    /// info's). Returns its info.
    @discardableResult
    public func get(_ name: String, writer: (UnsafeRawBufferPointer) throws -> Void) throws -> JSONValue {
        try get(name, writer: writer, followingLink: true)
    }

    private func get(_ name: String, writer: (UnsafeRawBufferPointer) throws -> Void, followingLink: Bool) throws -> JSONValue {
        let info = try self.info(name)
        if let link = info.value("options")?.value("link") {
            let target = try Self.linkedObject(name, link, following: followingLink)
            return try linked(link.string("bucket")).get(target, writer: writer, followingLink: false)
        }
        let chunks = info.int("chunks") ?? 0
        guard chunks > 0, let nuid = info.string("nuid") else { return info }
        let consumer = try MessageConsumer.start(
            jetStream: jetStream, stream: streamName, consumer: nil, ordered: chunkConsumer(nuid), options: Self.chunkConsumeOptions
        ) { inbox, filter in try self.jetStream.connection.subscribeSync(inbox, filter: filter) }
        defer { consumer.stop() }
        guard let subscription = consumer.subscription else { throw NATSError.connectionClosed }
        var hasher = SHA256Hasher()
        var read = 0
        for _ in 0..<chunks {
            let message = try subscription.next(timeoutMilliseconds: jetStream.timeoutMilliseconds)
            try message.storage.withPayload { bytes in
                hasher.update(bytes)
                read += bytes.count
                try writer(bytes)
            }
        }
        try Self.checkReadBack(name, info, size: read, digest: &hasher)
        return info
    }

    /// The ordered consumer of an object's chunks.
    func chunkConsumer(_ nuid: String) -> JSONValue {
        let config = JSONValue.object()
        config.set("filter_subject", chunkSubject(nuid))
        config.set("deliver_policy", "all")
        return config
    }

    static var chunkConsumeOptions: ConsumeOptions { ConsumeOptions(maxMessages: 64, maxBytes: 0) }

    /// `invalidResponse` unless what was read has the size and digest the info says.
    static func checkReadBack(_ name: String, _ info: JSONValue, size read: Int, digest hasher: inout SHA256Hasher) throws {
        let digest = digestText(&hasher)
        let size = info.int("size") ?? 0
        guard read == size, digest == info.string("digest") else {
            throw JetStreamError.invalidResponse(
                "object \"\(name)\" read back as \(read) bytes with digest \(digest); its info says \(size) bytes, \(info.string("digest") ?? "no digest")")
        }
    }

    /// The object a link names. Links are followed one hop: a link to a link is refused when
    /// it is made, and one that became so later (its target deleted and made a link) must not
    /// send a get round in circles.
    static func linkedObject(_ name: String, _ link: JSONValue, following: Bool) throws -> String {
        guard following else { throw JetStreamError.invalidResponse("\"\(name)\" is a link reached through another link") }
        guard let target = link.string("name") else {
            throw NATSError.invalidArgument("\"\(name)\" links a whole bucket: open that bucket")
        }
        return target
    }

    /// The store an info's link points into (this one, or another bucket of its context).
    func linked(_ bucketName: String?) -> ObjectStore {
        guard let bucketName, bucketName != bucket else { return self }
        return ObjectStore(jetStream: jetStream, bucket: bucketName)
    }

    /// The whole object in memory.
    public func get(_ name: String) throws -> (info: JSONValue, data: [UInt8]) {
        var data: [UInt8] = []
        let info = try get(name) { data.append(contentsOf: $0) }
        return (info, data)
    }

    /// The objects' infos (deleted ones only with `showDeleted`).
    public func list(showDeleted: Bool = false) throws -> [JSONValue] {
        let watcher = try watch(options: WatchOptions(ignoreDeletes: !showDeleted))
        defer { watcher.stop() }
        var infos: [JSONValue] = []
        while let info = try watcher.next(timeoutMilliseconds: jetStream.timeoutMilliseconds) { infos.append(info) }
        return infos
    }

    /// Watches the objects' infos: the current ones, `nil` once, then each change.
    public func watch(options: WatchOptions = WatchOptions(), handler: OrderedWatch<JSONValue>.Handler? = nil) throws
        -> OrderedWatch<JSONValue>
    {
        let (config, decode) = watchSetup(options)
        return try OrderedWatch(
            jetStream: jetStream, stream: streamName, config: config, updatesOnly: options.updatesOnly, decode: decode,
            handler: handler)
    }

    /// A watch's consumer configuration, and what its messages become.
    func watchSetup(_ options: WatchOptions) -> (JSONValue, (Message) -> (item: JSONValue, delta: UInt64, skip: Bool)?) {
        let config = JSONValue.object()
        config.set("filter_subject", "$O.\(bucket).M.>")
        config.set("deliver_policy", options.updatesOnly ? "new" : options.includeHistory ? "all" : "last_per_subject")
        return (config, { message in
            guard let metadata = message.jetStreamMetadata,
                let info = try? message.storage.withPayload({ try JSONValue.parse($0) }), info.isObject
            else { return nil }
            return (info, metadata.pending, options.ignoreDeletes && info.bool("deleted") == true)
        })
    }

    /// The bucket's status: `bucket`, `description`, `ttl`, `storage`, `replicas`, `size`,
    /// `sealed`, and the stream's `info`.
    public func status() throws -> JSONValue {
        status(of: try jetStream.streamInfo(streamName))
    }

    /// The bucket's status from its stream's info.
    func status(of info: JSONValue) -> JSONValue {
        let config = info.value("config")
        let status = JSONValue.object()
        status.set("bucket", bucket)
        if let description = config?.string("description") { status.set("description", description) }
        status.set("ttl", config?.int("max_age") ?? 0)
        status.set("storage", config?.string("storage") ?? "file")
        status.set("replicas", config?.int("num_replicas") ?? 1)
        status.set("size", info.value("state")?.int("bytes") ?? 0)
        status.set("sealed", config?.bool("sealed") ?? false)
        status.set("info", info)
        return status
    }

    /// Headers as nats.go writes them in an info: `{"Name": ["value", ...]}`.
    static func json(_ headers: Headers) -> JSONValue {
        let object = JSONValue.object()
        for entry in headers {
            let values = JSONValue.array()
            for value in entry.values { values.append(JSONValue.string(value)) }
            object.set(entry.name, values)
        }
        return object
    }
}

/// One put's chunks awaiting their acks, and the first that failed (the context's publisher
/// is shared: waiting for all of its publishes would wait for other callers').
final class ChunkAcks {
    private let lock = Condition()
    private var inFlight = 0
    private var firstFailure: Error?

    func sent() { lock.withLock { inFlight += 1 } }

    func acked(_ outcome: Result<PubAck, Error>) {
        lock.withLock {
            inFlight -= 1
            if case .failure(let error) = outcome, firstFailure == nil { firstFailure = error }
            if inFlight == 0 { lock.broadcast() }
        }
    }

    var failure: Error? { lock.withLock { firstFailure } }

    /// Waits for every ack; throws the first failure, or a timeout.
    func waitAll(timeoutMilliseconds: Int64) throws {
        let deadline = Deadline.after(milliseconds: timeoutMilliseconds)
        try lock.withLock {
            while inFlight > 0 {
                if !lock.wait(until: deadline) && inFlight > 0 {
                    throw NATSError.timeout("\(inFlight) chunks unacknowledged after \(timeoutMilliseconds) ms")
                }
            }
            if let firstFailure { throw firstFailure }
        }
    }
}
