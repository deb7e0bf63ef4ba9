import NATS

/// The items of a streaming call, in order. The request goes out with its own reply inbox;
/// each item is one message (`"stream": "item"`, numbered from 0) and an end message closes
/// the stream, with an error or without. A method that does not stream answers once: its
/// result is the only item. A gap in the numbering (items dropped by a slow reader) ends the
/// stream with an error instead of skipping silently.
public final class RPCStream {
    public let method: String
    private let target: CallTarget
    private let payload: [UInt8]
    private let timeoutMilliseconds: Int64
    private let inbox: String
    private let subscription: Subscription
    private let lock = Condition()
    private var namespaceIndex = 0
    private var expectedSeq = 0
    private var finished = false

    init(target: CallTarget, method: String, payload: [UInt8], timeoutMilliseconds: Int64) throws {
        self.target = target
        self.method = method
        self.payload = payload
        self.timeoutMilliseconds = timeoutMilliseconds
        inbox = target.connection.newInbox()
        subscription = try target.connection.subscribeSync(inbox)
        do {
            try send()
        } catch {
            try? subscription.unsubscribe()
            throw error
        }
    }

    deinit { close() }

    private func send() throws {
        try target.connection.publish(target.subject(namespaceIndex, method), payload: payload, reply: inbox)
    }

    /// The next item, or nil once the stream has ended. Throws the stream's `RPCError`, or a
    /// timeout when no item came within the timeout (the stream stays open).
    public func next() throws -> JSONValue? {
        try lock.withLock {
            while !finished {
                let message: Message
                do {
                    message = try subscription.next(timeoutMilliseconds: timeoutMilliseconds)
                } catch NATSError.timeout {
                    throw NATSError.timeout("no item of RPC stream \"\(method)\" within \(timeoutMilliseconds) ms")
                }
                if message.isNoResponders {
                    namespaceIndex += 1
                    guard namespaceIndex < target.namespaces.count else {
                        finish()
                        throw RPCError.notFound(method, namespaces: target.namespaces)
                    }
                    try send()
                    continue
                }
                switch ReplyFrame.parse(message) {
                case .item(let item, let seq):
                    try checkSeq(seq)
                    return item
                case .end(let seq, let error):
                    try checkSeq(seq)
                    finish()
                    if let error { throw error }
                    return nil
                case .result(let value):
                    // A method that does not stream: its result is the one item.
                    finish()
                    return value
                case .error(let error):
                    finish()
                    throw error
                }
            }
            return nil
        }
    }

    /// Every remaining item.
    public func collect() throws -> [JSONValue] {
        var items: [JSONValue] = []
        while let item = try next() { items.append(item) }
        return items
    }

    public var isFinished: Bool { lock.withLock { finished } }

    /// Stops reading; items still coming are dropped.
    public func close() {
        lock.withLock { finish() }
    }

    private func checkSeq(_ seq: Int) throws {
        guard seq == expectedSeq else {
            finish()
            throw NATSError.protocolError(
                "RPC stream \"\(method)\" lost items: expected item \(expectedSeq), got \(seq)")
        }
        expectedSeq += 1
    }

    private func finish() {
        if finished { return }
        finished = true
        try? subscription.unsubscribe()
    }
}
