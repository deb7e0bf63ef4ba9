import NATS

/// A streaming call read through a callback, the non-blocking form of `RPCStream`: each item,
/// then the end or the error, reaches the callback one at a time, in order, on the
/// connection's delivery pool or dispatch queue, and no thread waits. No item within the
/// timeout ends the stream with a timeout error (`RPCStream.next` may be called again instead:
/// here nobody would). The connection closing ends it with `connectionClosed`.
public final class RPCStreamCall {
    public enum Event {
        case item(JSONValue)
        /// The last event of a stream that ended well.
        case end
        /// The last event of a stream that ended with an error.
        case failure(Error)
    }

    public let method: String
    private let replies: InboxReplies

    init(
        target: CallTarget, method: String, payload: [UInt8], timeoutMilliseconds: Int64,
        onEvent: @escaping (Event) -> Void
    ) throws {
        self.method = method
        var reading = StreamReading(method: method, target: target)
        func send(_ namespaceIndex: Int, _ inbox: String) throws {
            try target.connection.publish(target.subject(namespaceIndex, method), payload: payload, reply: inbox)
        }
        replies = try InboxReplies(connection: target.connection, timeoutMilliseconds: timeoutMilliseconds, handler: { replies, event in
            switch event {
            case .message(let message):
                switch reading.read(message) {
                case .item(let item):
                    if reading.isFinished {  // a plain result: the one item, then the end
                        replies.finish()
                        onEvent(.item(item))
                        onEvent(.end)
                    } else {
                        replies.armDeadline(milliseconds: timeoutMilliseconds)
                        onEvent(.item(item))
                    }
                case .resend(let namespaceIndex):
                    do {
                        replies.armDeadline(milliseconds: timeoutMilliseconds)
                        try send(namespaceIndex, replies.inbox)
                    } catch {
                        replies.finish()
                        onEvent(.failure(error))
                    }
                case .alive: break
                case .end:
                    replies.finish()
                    onEvent(.end)
                case .fail(let error):
                    replies.finish()
                    onEvent(.failure(error))
                }
            case .timedOut:
                onEvent(.failure(NATSError.timeout("no item of RPC stream \"\(method)\" within \(timeoutMilliseconds) ms")))
            case .ended:
                onEvent(.failure(NATSError.connectionClosed))
            }
        }, send: { inbox in try send(0, inbox) })
    }

    /// Stops reading: items still coming are dropped and no event starts after this returns
    /// (one being handled on another thread has ended). Idempotent.
    public func cancel() { replies.finish() }

    public var isFinished: Bool { replies.isFinished }
}
