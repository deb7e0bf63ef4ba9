import NATS

/// The bucket's calls without blocking, for event loops: each `completion` runs once, as a
/// connection event (the delivery pool, or the connection's dispatch queue), unless the call
/// throws (then it never runs). Puts and gets move their bytes as connection events too:
/// `ObjectUpload` and `ObjectDownload`.
extension ObjectStore {
    public typealias Completion<Value> = (Result<Value, Error>) -> Void

    /// As the blocking `create`: `completion` gets the bucket or the error.
    public static func create(
        _ jetStream: JetStream, bucket: String, config: JSONValue = JSONValue.object(), completion: @escaping Completion<ObjectStore>
    ) throws {
        try jetStream.perform(try creating(jetStream, bucket: bucket, config: config), completion: completion)
    }

    /// As the blocking `bind`: `completion` gets the bucket or the error.
    public static func bind(_ jetStream: JetStream, bucket: String, completion: @escaping Completion<ObjectStore>) throws {
        try jetStream.perform(try binding(jetStream, bucket: bucket), completion: completion)
    }

    public func info(_ name: String, showDeleted: Bool = false, completion: @escaping Completion<JSONValue>) throws {
        try jetStream.perform(try infoCall(name, showDeleted: showDeleted), completion: completion)
    }

    public func status(completion: @escaping Completion<JSONValue>) throws {
        try jetStream.perform(try .streamInfo(streamName)) { [self] outcome in
            completion(outcome.map { status(of: $0) })
        }
    }

    /// As the blocking `delete`: `completion` gets the deletion marker's info once the
    /// object's chunks are gone.
    public func delete(_ name: String, completion: @escaping Completion<JSONValue>) throws {
        try info(name) { [self] found in
            Self.then(found, completion) { info in
                let nuid = Self.markDeleted(info)
                try publishMeta(info) { [self] published in
                    Self.then(published, completion) { _ in
                        guard let nuid else { return completion(.success(info)) }
                        try jetStream.perform(try .purgeStream(streamName, PurgeRequest(filter: chunkSubject(nuid)))) { purged in
                            completion(purged.map { _ in info })
                        }
                    }
                }
            }
        }
    }

    /// As the blocking `addLink(_:to:)`: `completion` gets the link's info.
    public func addLink(_ name: String, to object: JSONValue, completion: @escaping Completion<JSONValue>) throws {
        let target = try Self.linkTarget(object)
        try addLink(name, bucket: target.bucket, object: target.name, completion: completion)
    }

    /// As the blocking `addBucketLink(_:to:)`: `completion` gets the link's info.
    public func addBucketLink(_ name: String, to bucket: String, completion: @escaping Completion<JSONValue>) throws {
        try KeyValue.checkBucket(bucket)
        try addLink(name, bucket: bucket, object: nil, completion: completion)
    }

    private func addLink(_ name: String, bucket targetBucket: String, object: String?, completion: @escaping Completion<JSONValue>)
        throws
    {
        try Self.checkName(name)
        try info(name) { [self] existing in
            Self.then(Result { try Self.checkReplaceable(name, by: try Self.existing(existing)) }, completion) {
                let info = linkInfo(name, bucket: targetBucket, object: object)
                try publishMeta(info) { completion($0.map { _ in info }) }
            }
        }
    }

    /// As the blocking `list`: the infos a watch finds before its marker.
    public func list(showDeleted: Bool = false, completion: @escaping Completion<[JSONValue]>) throws {
        try gatherInitialItems(jetStream, completion: completion) { handler, started in
            try watch(options: WatchOptions(ignoreDeletes: !showDeleted), handler: handler, started: started)
        }
    }

    /// As the blocking `watch`, without waiting for its consumer: `started` gets the watch (or
    /// the error) as a connection event; infos may reach `handler` before it does.
    public func watch(
        options: WatchOptions = WatchOptions(), handler: OrderedWatch<JSONValue>.Handler?,
        started: @escaping (Result<OrderedWatch<JSONValue>, Error>) -> Void
    ) throws {
        let (config, decode) = watchSetup(options)
        try OrderedWatch.start(
            jetStream: jetStream, stream: streamName, config: config, updatesOnly: options.updatesOnly, decode: decode,
            handler: handler, completion: started)
    }

    /// As the blocking `put`: `reader` is called as a connection event, one call at a time,
    /// while at most `ObjectUpload.window` chunks await their acks (it should not block for
    /// long: it holds up that connection's other events). `completion` gets the new info, or
    /// the error once the chunks already stored are removed.
    public func put(
        _ meta: ObjectMeta, reader: @escaping ObjectUpload.Reader, completion: @escaping Completion<JSONValue>
    ) throws {
        try Self.checkName(meta.name)
        guard meta.chunkSize > 0 else { throw NATSError.invalidArgument("chunk size must be positive") }
        let upload = ObjectUpload(store: self, meta: meta, reader: reader, completion: completion)
        try info(meta.name, showDeleted: true) { previous in upload.begin(replacing: previous) }
    }

    /// As the blocking `get`: `writer` is called with each chunk, in order, as the chunks
    /// come (a connection event; it should not block for long). `completion` gets the info
    /// once size and digest are checked, or the error; no chunk reaches `writer` after it.
    public func get(
        _ name: String, writer: @escaping ObjectDownload.Writer, completion: @escaping Completion<JSONValue>
    ) throws {
        try get(name, writer: writer, followingLink: true, completion: completion)
    }

    private func get(
        _ name: String, writer: @escaping ObjectDownload.Writer, followingLink: Bool, completion: @escaping Completion<JSONValue>
    ) throws {
        try info(name) { [self] found in
            Self.then(found, completion) { info in
                if let link = info.value("options")?.value("link") {
                    let target = try Self.linkedObject(name, link, following: followingLink)
                    return try linked(link.string("bucket")).get(target, writer: writer, followingLink: false, completion: completion)
                }
                try ObjectDownload(store: self, name: name, info: info, writer: writer, completion: completion).start()
            }
        }
    }

    func publishMeta(_ info: JSONValue, completion: @escaping AsyncPublisher.Completion) throws {
        let (subject, payload, headers) = try metaMessage(info)
        try jetStream.publisher.publish(subject, payload: payload, headers: headers, completion: completion)
    }

    /// Goes on with a success's value; a failure, or what `next` throws (before it started
    /// anything), goes to `completion`.
    static func then<Value, Final>(
        _ outcome: Result<Value, Error>, _ completion: Completion<Final>, _ next: (Value) throws -> Void
    ) {
        do {
            try next(try outcome.get())
        } catch {
            completion(.failure(error))
        }
    }
}
