import NATS

/// A request as an endpoint's handler sees it. It may be answered inside the handler or kept
/// (`keep()`) and answered later from another thread: once, with data, JSON, or an error.
///
/// The endpoint counts a request once it is finished: when its handler returns, or, for a
/// kept request, when it is answered or dropped. Until then it is in flight: its processing
/// time runs on, and `Service.stop()` waits for it.
public final class MicroRequest {
    public let message: Message
    public weak var endpoint: Endpoint?
    private let lock = Condition()
    private var recordedFailure: String?
    private var handlerReturned = false
    private var kept = false
    private var answered = false
    /// The endpoint has counted it.
    private var counted = false
    private let received = Deadline.now()

    init(message: Message, endpoint: Endpoint?) {
        self.message = message
        self.endpoint = endpoint
    }

    /// A request that reached no endpoint (an RPC reference's call): answered the same way,
    /// counted nowhere.
    public convenience init(unattached message: Message) { self.init(message: message, endpoint: nil) }

    deinit {
        // Kept and never answered: counted as a handler that returns without answering is
        // (nats.go counts no error for it either).
        if handlerReturned && !counted { endpoint?.finish(elapsed: elapsed, failure: recordedFailure) }
    }

    /// Keeps the request for an answer after the handler returns (from another thread, an
    /// event loop): the endpoint counts it in flight until then.
    public func keep() { lock.withLock { kept = true } }

    private var elapsed: Int64 { Int64(Deadline.now().uptimeNanoseconds - received.uptimeNanoseconds) }

    public var subject: String { message.subject }
    public var reply: String? { message.reply }
    public var headers: Headers? { message.headers }
    public var data: [UInt8] { message.payload }

    /// Marks the handler call over. Returns what to count now (its time and error), or nil
    /// for a request kept and not answered yet: its answer counts it.
    func finishHandler() -> (elapsed: Int64, failure: String?)? {
        lock.withLock {
            handlerReturned = true
            if kept && !answered { return nil }
            counted = true
            return (elapsed, recordedFailure)
        }
    }

    /// An answer went out (or failed): a kept request whose handler has returned is counted now.
    private func finishAnswer() {
        let outcome: (elapsed: Int64, failure: String?)? = lock.withLock {
            answered = true
            guard handlerReturned, !counted else { return nil }
            counted = true
            return (elapsed, recordedFailure)
        }
        if let outcome { endpoint?.finish(elapsed: outcome.elapsed, failure: outcome.failure) }
    }

    func recordFailure(_ text: String) {
        let late: Bool = lock.withLock {
            if counted { return true }
            recordedFailure = text
            return false
        }
        if late { endpoint?.recordError(text) }
    }

    /// Sends `payload` (and headers) to the requester.
    public func respond(_ payload: [UInt8], headers: Headers? = nil) throws {
        defer { finishAnswer() }
        guard let connection = message.connection else { throw NATSError.connectionClosed }
        if message.reply?.isEmpty ?? true {
            recordFailure("request on \"\(subject)\" has no reply subject")
            throw MicroError.invalidArgument("the request has no reply subject")
        }
        try send(payload, headers: headers, on: connection)
    }

    /// Sends, or reports why not: a reply that cannot go out is counted in the endpoint's
    /// errors, reported to the connection's error callback and thrown to the handler.
    private func send(_ payload: [UInt8], headers: Headers?, on connection: Connection) throws {
        do {
            try connection.respond(to: message, payload: payload, headers: headers)
        } catch {
            notSent(error, counted: "NATS error when sending response: \(error)")
            throw error
        }
    }

    /// Counts a reply that did not go out in the endpoint's errors and reports it to the
    /// connection's error callback.
    private func notSent(_ error: Error, counted text: String) {
        recordFailure(text)
        let failure = error as? NATSError ?? .illegalState("\(error)")
        message.connection?.reportError(.during("micro: the reply to a request on \"\(subject)\" was not sent", failure))
    }

    /// Sends a JSON document. One that cannot be written (it contains itself, or nests too
    /// deep) is not sent as `null`: it fails like a reply that cannot be sent.
    public func respondJSON(_ value: JSONValue, headers: Headers? = nil) throws {
        defer { finishAnswer() }
        let body: [UInt8]
        do {
            body = try value.bytes()
        } catch {
            notSent(error, counted: "the response is not JSON: \(error)")
            throw error
        }
        try respond(body, headers: headers)
    }

    /// Sends an error: `Nats-Service-Error` and `Nats-Service-Error-Code` headers (plus
    /// `headers`), `data` as the body; counted in the endpoint's `num_errors` and `last_error`
    /// ("code:description", as nats.go). A header value holds no line break, so a
    /// multi-line description (an exception's text) goes in the header as one line
    /// (`MicroHeaders.headerValue`); `last_error` keeps it whole.
    public func respondError(code: String, description: String, data: [UInt8] = [], headers: Headers? = nil) throws {
        guard !code.isEmpty, !description.isEmpty else {
            throw MicroError.invalidArgument("an error response needs a code and a description")
        }
        defer { finishAnswer() }
        var all = Headers()
        try all.set(MicroHeaders.error, MicroHeaders.headerValue(description))
        try all.set(MicroHeaders.errorCode, MicroHeaders.headerValue(code))
        for entry in headers ?? Headers() {
            for (index, value) in entry.values.enumerated() {
                if index == 0 { try all.set(entry.name, value) } else { try all.add(entry.name, value) }
            }
        }
        recordFailure("\(code):\(description)")
        guard let connection = message.connection else { throw NATSError.connectionClosed }
        if message.reply?.isEmpty ?? true { throw MicroError.invalidArgument("the request has no reply subject") }
        try send(data, headers: all, on: connection)
    }
}

/// ADR-32's error headers.
public enum MicroHeaders {
    public static let error = "Nats-Service-Error"
    public static let errorCode = "Nats-Service-Error-Code"
    /// The longest header value `headerValue` makes, in bytes ("..." included).
    public static let maxValueBytes = 1024

    /// `text` as one header line: CR, LF and every other control byte become a space, and a
    /// text longer than `maxValueBytes` is cut on a character boundary and ends in "...".
    public static func headerValue(_ text: String) -> String {
        // A control byte becomes one space, so the length in bytes does not change.
        let fits = text.utf8.count <= maxValueBytes
        let budget = fits ? maxValueBytes : maxValueBytes - 3
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(text.utf8.count, maxValueBytes))
        for scalar in text.unicodeScalars {
            if bytes.count + UTF8.width(scalar) > budget { break }
            if scalar.value < 0x20 || scalar.value == 0x7F {
                bytes.append(0x20)
            } else {
                bytes.append(contentsOf: String(scalar).utf8)
            }
        }
        if !fits { bytes.append(contentsOf: "...".utf8) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
