import NATS

/// The items a watch delivers before its marker ("the initial values are all here"), gathered
/// by a watch whose handler collects, without waiting: `completion` runs once, with the items,
/// or with the watch's failure, its end (its consumer gone) or a timeout when the marker does
/// not come within the context's timeout. `start` starts the watch with the handler and the
/// started-callback it is given. Key-Value keys and history, and object lists, are this.
func gatherInitialItems<Item>(
    _ jetStream: JetStream, completion: @escaping (Result<[Item], Error>) -> Void,
    start: (_ handler: @escaping (Item?) -> Void, _ started: @escaping (Result<OrderedWatch<Item>, Error>) -> Void) throws
        -> Void
) throws {
    let gathered = Gathered<Item>(completion)
    try start({ item in
        guard let item else { return gathered.finish() }
        gathered.add(item)
    }, { outcome in
        switch outcome {
        case .success(let watcher):
            gathered.whenFinished { watcher.stop() }
            // A watch whose consumer went must not leave the caller waiting.
            watcher.whenEnded { gathered.fail(NATSError.connectionClosed) }
        case .failure(let error):
            gathered.fail(error)
        }
    })
    // Nor one that stays silent.
    let timeout = jetStream.timeoutMilliseconds
    _ = jetStream.connection.afterDelay(milliseconds: timeout) {
        gathered.fail(NATSError.timeout("the initial values did not all come within \(timeout) ms"))
    }
}

/// The items of a gathering watch, and its one outcome.
private final class Gathered<Item> {
    private let lock = Condition()
    private var items: [Item] = []
    private var done = false
    private var onFinish: (() -> Void)?
    private let completion: (Result<[Item], Error>) -> Void

    init(_ completion: @escaping (Result<[Item], Error>) -> Void) { self.completion = completion }

    func add(_ item: Item) { lock.withLock { items.append(item) } }

    func finish() { settle { .success($0) } }

    func fail(_ error: Error) { settle { _ in .failure(error) } }

    private func settle(_ outcome: ([Item]) -> Result<[Item], Error>) {
        let claimed: ([Item], (() -> Void)?)? = lock.withLock {
            guard !done else { return nil }
            done = true
            defer { onFinish = nil }
            return (items, onFinish)
        }
        guard let (all, after) = claimed else { return }
        completion(outcome(all))
        after?()
    }

    /// Runs `body` once the gathering is over (at once when it is).
    func whenFinished(_ body: @escaping () -> Void) {
        let now: Bool = lock.withLock {
            if done { return true }
            onFinish = body
            return false
        }
        if now { body() }
    }
}
