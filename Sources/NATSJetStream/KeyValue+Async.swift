import NATS

/// The bucket's calls without blocking, for event loops: each `completion` runs once, as a
/// connection event (the delivery pool, or the connection's dispatch queue), unless the call
/// throws (then it never runs).
extension KeyValue {
    public typealias Completion<Value> = (Result<Value, Error>) -> Void

    public func put(_ key: String, _ value: [UInt8], completion: @escaping Completion<UInt64>) throws {
        try publish(key, value, headers: nil, options: PublishOptions(), completion: completion)
    }

    public func update(_ key: String, _ value: [UInt8], last: UInt64, completion: @escaping Completion<UInt64>) throws {
        try publish(key, value, headers: nil, options: PublishOptions(expectedLastSubjectSequence: last), completion: completion)
    }

    /// As `create(_:_:)`: a key whose last revision is a delete or purge marker is updated.
    public func create(_ key: String, _ value: [UInt8], completion: @escaping Completion<UInt64>) throws {
        try publish(key, value, headers: nil, options: PublishOptions(expectedLastSubjectSequence: 0)) { [self] outcome in
            guard case .failure(let error as JetStreamError) = outcome,
                error.errorCode == JetStreamError.ErrorCode.streamWrongLastSequence
            else { return completion(outcome) }
            do {
                try lastRevision(key) { last in
                    guard case .success(let entry) = last, entry.operation != .put else { return completion(outcome) }
                    do {
                        try self.update(key, value, last: entry.revision, completion: completion)
                    } catch {
                        completion(.failure(error))
                    }
                }
            } catch {
                completion(outcome)
            }
        }
    }

    public func delete(_ key: String, last: UInt64? = nil, purge: Bool = false, completion: @escaping Completion<UInt64>) throws {
        var headers = Headers()
        try headers.set(Self.operationHeader, (purge ? KeyValueOperation.purge : .delete).rawValue)
        if purge { try headers.set("Nats-Rollup", "sub") }
        try publish(key, [], headers: headers, options: PublishOptions(expectedLastSubjectSequence: last), completion: completion)
    }

    public func get(_ key: String, revision: UInt64? = nil, completion: @escaping Completion<KeyValueEntry>) throws {
        try Self.checkKey(key, wildcards: false)
        let selector: MessageSelector = revision.map { .sequence($0) } ?? .lastBySubject(subject(key))
        try stored(key, selector) { outcome in
            completion(outcome.flatMap { entry in
                guard entry.key == key else { return .failure(Self.keyNotFound(key, deleted: false)) }
                guard entry.operation == .put else { return .failure(Self.keyNotFound(key, deleted: true)) }
                return .success(entry)
            })
        }
    }

    public func status(completion: @escaping Completion<JSONValue>) throws {
        try jetStream.perform(try .streamInfo(streamName)) { [self] outcome in
            completion(outcome.map { status(of: $0) })
        }
    }

    public func keys(_ filters: [String] = [">"], completion: @escaping Completion<[String]>) throws {
        try initialEntries(filters, WatchOptions(ignoreDeletes: true, metaOnly: true)) { completion($0.map { $0.map(\.key) }) }
    }

    public func history(_ key: String, completion: @escaping Completion<[KeyValueEntry]>) throws {
        try Self.checkKey(key, wildcards: false)
        try initialEntries([key], WatchOptions(includeHistory: true)) { outcome in
            completion(outcome.flatMap {
                $0.isEmpty ? .failure(Self.keyNotFound(key, deleted: false)) : .success($0.map(\.withoutDelta))
            })
        }
    }

    /// As `keys` and `history`: what a watch delivers before its marker, without waiting.
    func initialEntries(_ filters: [String], _ options: WatchOptions, completion: @escaping Completion<[KeyValueEntry]>) throws {
        try gatherInitialItems(jetStream, completion: completion) { handler, started in
            try watch(filters, options: options, handler: handler, started: started)
        }
    }

    /// As the blocking `create`, without waiting: `completion` gets the bucket or the error.
    public static func create(
        _ jetStream: JetStream, bucket: String, config: JSONValue = JSONValue.object(), completion: @escaping Completion<KeyValue>
    ) throws {
        try jetStream.perform(try creating(jetStream, bucket: bucket, config: config), completion: completion)
    }

    /// As the blocking `bind`, without waiting: `completion` gets the bucket or the error.
    public static func bind(_ jetStream: JetStream, bucket: String, completion: @escaping Completion<KeyValue>) throws {
        try jetStream.perform(try binding(jetStream, bucket: bucket), completion: completion)
    }

    private func lastRevision(_ key: String, completion: @escaping Completion<KeyValueEntry>) throws {
        try stored(key, .lastBySubject(subject(key)), completion: completion)
    }

    private func stored(_ key: String, _ selector: MessageSelector, completion: @escaping Completion<KeyValueEntry>) throws {
        let call: APICall<Message> = direct
            ? try .directGet(stream: streamName, selector) : try .getMessage(stream: streamName, selector)
        let bucket = self.bucket
        try jetStream.perform(call) { outcome in
            switch outcome {
            case .success(let message):
                guard let entry = KeyValueEntry(bucket: bucket, stored: message) else {
                    return completion(.failure(JetStreamError.invalidResponse("a stored message that is no entry")))
                }
                completion(.success(entry))
            case .failure(let error as JetStreamError)
            where error.apiCode == 404 && error.errorCode != JetStreamError.ErrorCode.streamNotFound:
                completion(.failure(Self.keyNotFound(key, deleted: false)))
            case .failure(let error):
                completion(.failure(error))
            }
        }
    }

    private func publish(
        _ key: String, _ value: [UInt8], headers: Headers?, options: PublishOptions, completion: @escaping Completion<UInt64>
    ) throws {
        try Self.checkKey(key, wildcards: false)
        try jetStream.publisher.publish(subject(key), payload: value, headers: headers, options: options) { outcome in
            completion(outcome.map(\.sequence))
        }
    }
}
