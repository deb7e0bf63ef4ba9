#if canImport(Glibc)
import Glibc
#endif
import NATS
import NATSMicro

/// One call as a method's handler sees it. Answer it once, inside the handler or later from
/// any thread after `keep()`: `respond` with a result, `fail` with an error, and before that
/// as many `sendItem`s as the method streams.
public final class RPCRequest {
    /// The name the caller used (with the server's prefix).
    public let method: String
    /// An object or an array (`{}` when the caller sent none), checked against the method's
    /// parameter description.
    public let params: JSONValue
    /// The caller's id (a string or a number).
    public let id: JSONValue
    public let micro: MicroRequest
    /// Whether the caller reads a stream (`call_stream`); a plain caller of a streaming method
    /// gets every item in one array instead.
    public let wantsStream: Bool
    let origin: RPCOrigin
    private let heartbeats: CallHeartbeats?

    private let lock = Condition()
    /// Held while a frame is numbered and published, so frames leave in their order.
    private let sending = Condition()
    private var answered = false
    private var kept = false
    private var sent = 0
    private var collected: [JSONValue] = []
    private var methodText: UnsafeMutablePointer<CChar>?

    init(call: IncomingCall, method: String, micro: MicroRequest, origin: RPCOrigin, heartbeats: CallHeartbeats? = nil) {
        self.heartbeats = heartbeats
        self.method = method
        self.params = call.params
        self.id = call.id
        self.micro = micro
        self.wantsStream = call.wantsStream
        self.origin = origin
    }

    deinit { free(methodText) }

    public var isAnswered: Bool { lock.withLock { answered } }

    /// The method as a C string, valid as long as the request (for the C API).
    public var cMethod: UnsafePointer<CChar>? {
        lock.withLock {
            if methodText == nil { methodText = strdup(method) }
            return UnsafePointer(methodText)
        }
    }

    /// Says the handler answers later (from another thread); otherwise a handler that returns
    /// without answering is answered with -32603 for it. The method's endpoint counts the
    /// call in flight until it is answered (`MicroRequest.keep`).
    public func keep() {
        lock.withLock { kept = true }
        micro.keep()
    }

    var isKeptOrAnswered: Bool { lock.withLock { kept || answered } }

    /// Sends one item of a streamed result. A plain caller gets the items in one array when
    /// the handler responds or ends the stream.
    public func sendItem(_ item: JSONValue) throws {
        // Numbered and published in one step: two threads sending items of a kept request
        // (or an item racing the answer) must not publish out of their order.
        try sending.withLock {
            let seq: Int? = try lock.withLock {
                if answered { throw alreadyAnswered }
                if !wantsStream {
                    collected.append(item)
                    return nil
                }
                return sent
            }
            guard let seq else { return }
            try micro.respond(try Envelope.streamItem(id: id, seq: seq, item: item))
            lock.withLock { sent += 1 }
        }
    }

    /// Answers with `result`. After streamed items a non-null `result` is one more item and
    /// the stream then ends. A result that cannot be sent (not JSON, larger than the server's
    /// max_payload) answers -32603 instead, and throws.
    public func respond(_ result: JSONValue) throws {
        try answer { streamed, items in try send(result, streamed: streamed, items: items) }
    }

    /// Ends a streamed result: a caller reading the stream gets the end frame (after zero or
    /// more items), a plain caller every item sent, in one array (`[]` for none). What a
    /// streaming method's handler calls when its items are done.
    public func endStream() throws {
        try answer { streamed, items in
            if wantsStream {
                try micro.respond(try Envelope.streamEnd(id: id, seq: streamed, error: nil))
            } else {
                try micro.respond(try Envelope.reply(id: id, result: array(items)))
            }
        }
    }

    /// Marks the call answered and sends the answer `body` makes of the items sent (numbered
    /// frames) or collected (a plain caller's); an answer that cannot be sent is replaced by a
    /// -32603, and the handler gets the error.
    private func answer(_ body: (_ streamed: Int, _ items: [JSONValue]) throws -> Void) throws {
        try sending.withLock {
            let (streamed, items) = try take()
            do {
                try body(streamed, items)
            } catch {
                try? sendError(notSent(error), streamed: streamed)
                throw error
            }
        }
    }

    private func array(_ items: [JSONValue]) -> JSONValue {
        let array = JSONValue.array()
        for item in items { array.append(item) }
        return array
    }

    private func send(_ result: JSONValue, streamed: Int, items: [JSONValue]) throws {
        if wantsStream && streamed > 0 {
            var seq = streamed
            if !result.isNull {
                try micro.respond(try Envelope.streamItem(id: id, seq: seq, item: result))
                seq += 1
            }
            try micro.respond(try Envelope.streamEnd(id: id, seq: seq, error: nil))
            return
        }
        if !items.isEmpty {
            let all = array(items)
            if !result.isNull { all.append(result) }
            try micro.respond(try Envelope.reply(id: id, result: all))
            return
        }
        try micro.respond(try Envelope.reply(id: id, result: result))
    }

    /// The -32603 that replaces an answer that could not be sent.
    private func notSent(_ error: Error) -> RPCError {
        RPCError(code: RPCError.internalError, message: "Internal error: the reply could not be sent: \(error)",
                 data: origin.data(method: method, traceback: nil, details: nil))
    }

    /// Answers with an error. Its `data` becomes an object with the origin (namespace,
    /// instance, host, method), `traceback` when given, and the handler's own `details`.
    /// A stream ends with it. Also sets the micro error headers, so the endpoint counts it.
    public func fail(code: Int, message: String, details: JSONValue? = nil, traceback: String? = nil) throws {
        // Details that are not JSON, or an error larger than max_payload: a plain -32603.
        try answer { streamed, _ in
            try sendError(RPCError(code: code, message: message, data: origin.data(method: method, traceback: traceback, details: details)),
                          streamed: streamed)
        }
    }

    /// The error reply (or end frame): the whole message in the body; the micro error
    /// headers carry it as one line, or the code's name when it is empty.
    private func sendError(_ error: RPCError, streamed: Int) throws {
        let body = wantsStream && streamed > 0
            ? try Envelope.streamEnd(id: id, seq: streamed, error: error) : try Envelope.reply(id: id, error: error)
        try micro.respondError(code: String(error.code), description: error.message.isEmpty ? "error \(error.code)" : error.message,
                               data: body)
    }

    /// Fails the way a crashed handler does: -32603 `Internal error: <message>`.
    public func fail(internal message: String, details: JSONValue? = nil, traceback: String? = nil) throws {
        try fail(code: RPCError.internalError, message: "Internal error: \(message)", details: details, traceback: traceback)
    }

    /// Marks the call answered; returns how many items went out, and what a plain caller's
    /// array holds.
    private func take() throws -> (Int, [JSONValue]) {
        try lock.withLock {
            if answered { throw alreadyAnswered }
            answered = true
            heartbeats?.answered(micro.message)
            let items = collected
            collected.removeAll()
            return (sent, items)
        }
    }

    private var alreadyAnswered: NATSError { .illegalState("the RPC request \(id.serialized()) has already been answered") }
}

/// Who answered: what an error's `data` tells the caller about the server.
struct RPCOrigin {
    let namespace: String
    let instance: String
    let host: String
    /// The subject of the reference that answered, for a reference's calls (no namespace then).
    var reference: String?

    func data(method: String, traceback: String?, details: JSONValue?) -> JSONValue {
        let data = JSONValue.object()
        if let reference {
            data.set("reference", reference)
        } else {
            data.set("namespace", namespace)
            data.set("instance", instance)
        }
        data.set("host", host)
        data.set("method", method)
        if let traceback { data.set("traceback", traceback) }
        if let details, !details.isNull { data.set("details", details) }
        return data
    }
}
