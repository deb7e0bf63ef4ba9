/// A one-shot result that one thread waits for and another supplies, with a deadline.
final class Completion<Value> {
    private let condition = Condition()
    private var result: Result<Value, NATSError>?
    /// For a completion nobody waits on: called once, with the result, by whoever supplies it.
    private let onComplete: ((Result<Value, NATSError>) -> Void)?

    init(onComplete: ((Result<Value, NATSError>) -> Void)? = nil) {
        self.onComplete = onComplete
    }

    /// Supplies the result; later calls are ignored. Returns whether this call supplied it.
    @discardableResult
    func complete(_ value: Result<Value, NATSError>) -> Bool {
        let supplied: Bool = condition.withLock {
            guard result == nil else { return false }
            result = value
            return true
        }
        // Woken after the unlock, the waiter finds the mutex free instead of sleeping on it
        // once more (a second wake-up, which costs as much as the first).
        if supplied {
            condition.broadcast()
            onComplete?(value)
        }
        return supplied
    }

    /// Waits for the result; nil when `deadline` passed first.
    func wait(until deadline: Deadline?) -> Result<Value, NATSError>? {
        condition.withLock {
            while result == nil {
                if !condition.wait(until: deadline) { break }
            }
            return result
        }
    }
}
