import NATS

/// What an upload does next, decided under its lock: the pump reads a chunk, stops (the
/// window is full, or it waits for the last acks), or finishes once nothing is in flight.
struct UploadState {
    enum Step: Equatable {
        case read
        case pause
        case finish
    }

    private(set) var inFlight = 0
    private(set) var failure: Error?
    private var readerDone = false
    private var pumping = false
    private var finished = false

    /// True for the one caller that becomes the pump; the others leave it to that one.
    mutating func claimPump() -> Bool {
        if pumping || finished { return false }
        pumping = true
        return true
    }

    /// The pump's next step; `.read` takes a slot in the window, which `read` or `acked`
    /// gives back.
    mutating func next(window: Int) -> Step {
        if readerDone || failure != nil {
            guard inFlight == 0, !finished else {
                pumping = false
                return .pause
            }
            finished = true
            pumping = false
            return .finish
        }
        guard inFlight < window else {
            pumping = false
            return .pause
        }
        inFlight += 1
        return .read
    }

    /// The reader came back: with a chunk (its slot stays until the ack), at the end, or
    /// failing (the slot is given back).
    mutating func read(_ outcome: Result<Int, Error>) {
        switch outcome {
        case .success(let count) where count > 0:
            return
        case .success:
            readerDone = true
        case .failure(let error):
            if failure == nil { failure = error }
        }
        inFlight -= 1
    }

    /// Before any read: the put will not go on.
    mutating func abandon() {
        finished = true
    }

    mutating func acked(_ error: Error?) {
        inFlight -= 1
        if let error, failure == nil { failure = error }
    }
}

/// One put without blocking (`ObjectStore.put(_:reader:completion:)`): the reader is called
/// by whichever connection event finds room in the window (the previous info's lookup, then
/// each chunk's ack), one call at a time; once it is at its end and every chunk is acked, the
/// info is published and the replaced object's chunks purged. A failure purges this put's
/// chunks, after the last of them is acked (a chunk landing after the purge would stay).
public final class ObjectUpload {
    /// Fills the buffer it is given; returns how many bytes it put there, 0 at the end.
    public typealias Reader = (UnsafeMutableRawBufferPointer) throws -> Int

    /// Chunks awaiting their acks at most (2 MiB of the default chunk size).
    static let window = 16

    private let store: ObjectStore
    private let meta: ObjectMeta
    private let reader: Reader
    private let completion: ObjectStore.Completion<JSONValue>
    private let nuid = SharedNUID.next()
    private let lock = Condition()
    private var state = UploadState()
    private var previous: JSONValue?
    // Touched by the pump only (one at a time, its claim made under `lock`).
    private var hasher = SHA256Hasher()
    private var size = 0
    private var chunks = 0
    private var buffer: [UInt8] = []

    init(store: ObjectStore, meta: ObjectMeta, reader: @escaping Reader, completion: @escaping ObjectStore.Completion<JSONValue>) {
        self.store = store
        self.meta = meta
        self.reader = reader
        self.completion = completion
    }

    private var chunkSubject: String { store.chunkSubject(nuid) }

    /// Starts the reads once the lookup of the info this put replaces came back (a lookup
    /// that failed otherwise than not-found fails the put: the chunks it would leave behind
    /// are unknown).
    func begin(replacing lookup: Result<JSONValue, Error>) {
        do {
            let previous = try ObjectStore.existing(lookup)
            lock.withLock { self.previous = previous }
        } catch {
            lock.withLock { state.abandon() }
            return completion(.failure(error))
        }
        pump()
    }

    private func pump() {
        guard lock.withLock({ state.claimPump() }) else { return }
        while true {
            switch lock.withLock({ state.next(window: Self.window) }) {
            case .pause:
                return
            case .finish:
                return finish()
            case .read:
                sendChunk()
            }
        }
    }

    private func sendChunk() {
        if buffer.isEmpty { buffer = [UInt8](repeating: 0, count: meta.chunkSize) }
        let outcome = Result<Int, Error> {
            let count = try buffer.withUnsafeMutableBytes { try reader($0) }
            guard count <= meta.chunkSize else { throw NATSError.invalidArgument("the reader returned more than it was given") }
            guard count >= 0 else { throw NATSError.io("the reader failed (it returned \(count))") }
            return count
        }
        let count = (try? outcome.get()) ?? 0
        lock.withLock { state.read(outcome) }
        guard count > 0 else { return }
        let chunk = Array(buffer[0..<count])
        hasher.update(chunk)
        size += count
        chunks += 1
        do {
            try store.jetStream.publisher.publish(chunkSubject, payload: chunk) { [self] ack in
                lock.withLock { state.acked(ack.failure) }
                pump()
            }
        } catch {
            lock.withLock { state.acked(error) }
        }
    }

    private func finish() {
        if let failure = lock.withLock({ state.failure }) { return abandon(failure) }
        let info = store.objectInfo(meta, nuid: nuid, size: size, chunks: chunks, digest: &hasher)
        do {
            try store.publishMeta(info) { [self] published in
                guard case .failure(let error) = published else { return stored(info) }
                guard ObjectStore.outcomeUnknown(error) else { return abandon(error) }
                // No ack: the info may be stored all the same, and its chunks must then stay.
                do {
                    try store.info(meta.name, showDeleted: true) { [self] found in
                        if (try? found.get())?.string("nuid") == nuid { return stored(info) }
                        abandon(error)
                    }
                } catch {
                    abandon(error)
                }
            }
        } catch {
            abandon(error)
        }
    }

    /// The info is in: the replaced object's chunks go (as the blocking put, their purge
    /// failing leaves the put done).
    private func stored(_ info: JSONValue) {
        guard let old = ObjectStore.replacedChunks(lock.withLock({ previous }), by: nuid) else {
            return completion(.success(info))
        }
        purge(old) { [self] in completion(.success(info)) }
    }

    /// Chunks nothing refers to go with the failed put.
    private func abandon(_ error: Error) {
        purge(nuid) { [self] in completion(.failure(error)) }
    }

    private func purge(_ chunksOf: String, then: @escaping () -> Void) {
        do {
            try store.jetStream.perform(try .purgeStream(store.streamName, PurgeRequest(filter: store.chunkSubject(chunksOf)))) { _ in
                then()
            }
        } catch {
            then()
        }
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
