import NATS

/// Who settles a download, decided under its lock: the chunks (the last one read, or the
/// writer failing), the timer (no chunk for a whole timeout), the consumer's end. A decision
/// made while the writer runs waits for it to return, so that nothing reaches the writer
/// after the completion.
struct DownloadState {
    private(set) var received = 0
    private var writing = false
    private var settled = false
    private var deferred: Error?
    /// `received` when the timer last looked.
    private var receivedAtLastTick = 0

    /// Whether a chunk goes to the writer (not once the download is settled).
    mutating func startWriting() -> Bool {
        guard !settled, deferred == nil else { return false }
        writing = true
        return true
    }

    /// The writer returned; the failure to settle with now, if one came while it ran.
    mutating func wrote() -> Error? {
        writing = false
        received += 1
        guard let deferred, !settled else { return nil }
        settled = true
        return deferred
    }

    /// True for the one call that settles the download; a failure while the writer runs is
    /// kept for `wrote`.
    mutating func settle(failing error: Error?) -> Bool {
        guard !settled else { return false }
        if writing, let error {
            if deferred == nil { deferred = error }
            return false
        }
        settled = true
        return true
    }

    /// The timer's look: true when no chunk came since the last.
    mutating func stalled() -> Bool {
        defer { receivedAtLastTick = received }
        return !settled && !writing && received == receivedAtLastTick
    }

    var isSettled: Bool { settled }
}

/// One get without blocking (`ObjectStore.get(_:writer:completion:)`): an ordered consumer of
/// the object's chunks delivers them to a subscription handler, which hashes each and hands it
/// to the writer; after the last one the size and digest are checked and the consumer stops.
/// The get fails when no chunk comes for a whole timeout of the context, or the consumer ends.
public final class ObjectDownload {
    /// Takes one chunk; throwing stops the get (its error goes to the completion).
    public typealias Writer = (UnsafeRawBufferPointer) throws -> Void

    private let store: ObjectStore
    private let name: String
    private let info: JSONValue
    private let writer: Writer
    private let completion: ObjectStore.Completion<JSONValue>
    private let chunks: Int
    private let lock = Condition()
    private var state = DownloadState()
    private var consumer: MessageConsumer?
    private var cancelTimer: (() -> Void)?
    // Touched by the subscription's handler only (one message at a time).
    private var hasher = SHA256Hasher()
    private var size = 0

    init(store: ObjectStore, name: String, info: JSONValue, writer: @escaping Writer,
         completion: @escaping ObjectStore.Completion<JSONValue>) {
        self.store = store
        self.name = name
        self.info = info
        self.writer = writer
        self.completion = completion
        chunks = info.int("chunks") ?? 0
    }

    func start() throws {
        guard chunks > 0, let nuid = info.string("nuid") else {
            // No chunks: the blocking get returns the info as it is too.
            return settle(.success(info))
        }
        let connection = store.jetStream.connection
        try MessageConsumer.start(
            jetStream: store.jetStream, stream: store.streamName, consumer: nil, ordered: store.chunkConsumer(nuid),
            options: ObjectStore.chunkConsumeOptions,
            subscribe: { [self] inbox, filter in try connection.subscribe(inbox, filter: filter) { [self] in deliver($0) } }
        ) { [self] outcome in
            switch outcome {
            case .success(let made): attach(made)
            case .failure(let error): settle(.failure(error))
            }
        }
        armTimer()
    }

    private func attach(_ made: MessageConsumer) {
        let stopNow: Bool = lock.withLock {
            if state.isSettled { return true }
            consumer = made
            return false
        }
        if stopNow { return made.stop() }
        made.subscription?.whenEnded { [weak self] in self?.settle(.failure(NATSError.connectionClosed)) }
        if made.subscription == nil { settle(.failure(NATSError.connectionClosed)) }
    }

    private func armTimer() {
        let timeout = store.jetStream.timeoutMilliseconds
        let cancel = store.jetStream.connection.afterDelay(milliseconds: timeout) { [weak self] in
            guard let self else { return }
            if lock.withLock({ self.state.stalled() }) {
                settle(.failure(NATSError.timeout("no chunk of object \"\(name)\" within \(timeout) ms")))
            } else if !lock.withLock({ self.state.isSettled }) {
                armTimer()
            }
        }
        lock.withLock { cancelTimer = cancel }
    }

    // On the subscription's handler, one chunk at a time, in order.
    private func deliver(_ message: Message) {
        guard lock.withLock({ state.startWriting() }) else { return }
        let outcome = Result<Void, Error> {
            try message.storage.withPayload { bytes in
                hasher.update(bytes)
                size += bytes.count
                try writer(bytes)
            }
        }
        let (pending, received) = lock.withLock { (state.wrote(), state.received) }
        if let pending { return conclude(.failure(pending)) }
        if case .failure(let error) = outcome { return settle(.failure(error)) }
        guard received == chunks else { return }
        settle(Result {
            try ObjectStore.checkReadBack(name, info, size: size, digest: &hasher)
            return info
        })
    }

    private func settle(_ outcome: Result<JSONValue, Error>) {
        let error: Error? = { if case .failure(let error) = outcome { return error }; return nil }()
        guard lock.withLock({ state.settle(failing: error) }) else { return }
        conclude(outcome)
    }

    /// Once settled: the consumer and timer go, the completion runs.
    private func conclude(_ outcome: Result<JSONValue, Error>) {
        let (made, cancel): (MessageConsumer?, (() -> Void)?) = lock.withLock {
            defer { (consumer, cancelTimer) = (nil, nil) }
            return (consumer, cancelTimer)
        }
        cancel?()
        made?.stop()
        completion(outcome)
    }
}
