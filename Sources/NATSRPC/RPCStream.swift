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
    private var reading: StreamReading
    private var finished = false

    init(target: CallTarget, method: String, payload: [UInt8], timeoutMilliseconds: Int64) throws {
        self.target = target
        self.method = method
        self.payload = payload
        self.timeoutMilliseconds = timeoutMilliseconds
        reading = StreamReading(method: method, target: target)
        inbox = target.connection.newInbox()
        subscription = try target.connection.subscribeSync(inbox)
        do {
            try send(0)
        } catch {
            try? subscription.unsubscribe()
            throw error
        }
    }

    deinit { close() }

    private func send(_ namespaceIndex: Int) throws {
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
                switch reading.read(message) {
                case .item(let item):
                    if reading.isFinished { finish() }  // a plain result: the one item
                    return item
                case .resend(let namespaceIndex): try send(namespaceIndex)
                case .alive: continue
                case .end:
                    finish()
                    return nil
                case .fail(let error):
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

    private func finish() {
        if finished { return }
        finished = true
        try? subscription.unsubscribe()
    }
}

/// Reads the messages of one streaming call: items numbered from 0, then an end frame (with an
/// error or without); a plain result is the one item; no responders sends the call on to the
/// next namespace; a gap in the numbering (items dropped by a slow reader) ends the stream
/// with an error instead of skipping silently. Shared by the blocking and the callback stream.
struct StreamReading {
    enum Action {
        case item(JSONValue)
        /// Send the call again, to the namespace at this index.
        case resend(Int)
        case end
        case fail(Error)
        /// A liveness frame: nothing to hand on.
        case alive
    }

    let method: String
    let target: CallTarget
    private var namespaceIndex = 0
    private var expectedSeq = 0
    private(set) var isFinished = false

    init(method: String, target: CallTarget) {
        self.method = method
        self.target = target
    }

    mutating func read(_ message: Message) -> Action {
        guard !isFinished else { return .end }
        if message.isNoResponders {
            namespaceIndex += 1
            guard namespaceIndex < target.prefixes.count else { return finish(.fail(target.notFound(method))) }
            return .resend(namespaceIndex)
        }
        switch ReplyFrame.parse(message) {
        case .item(let item, let seq):
            if let gap = checkSeq(seq) { return finish(.fail(gap)) }
            return .item(item)
        case .end(let seq, let error):
            if let gap = checkSeq(seq) { return finish(.fail(gap)) }
            return finish(error.map { .fail($0) } ?? .end)
        case .result(let value):
            // A method that does not stream: its result is the one item, then the end.
            isFinished = true
            return .item(value)
        case .error(let error):
            return finish(.fail(error))
        case .heartbeat:
            return .alive
        }
    }

    private mutating func finish(_ action: Action) -> Action {
        isFinished = true
        return action
    }

    private mutating func checkSeq(_ seq: Int) -> Error? {
        guard seq == expectedSeq else {
            return NATSError.protocolError("RPC stream \"\(method)\" lost items: expected item \(expectedSeq), got \(seq)")
        }
        expectedSeq += 1
        return nil
    }
}
