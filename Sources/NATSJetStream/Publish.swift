import NATS

/// What a publish asks of the stream: a message id for de-duplication, and expectations the
/// stream checks before it stores the message (each failing with its own `err_code`).
public struct PublishOptions: Equatable {
    public var messageID: String?
    /// Store only if the subject's stream is this one (`err_code` 10060).
    public var expectedStream: String?
    /// Store only if the stream's last sequence is this (10071).
    public var expectedLastSequence: UInt64?
    /// Store only if the last message on this subject has this sequence; 0: no message yet (10071).
    public var expectedLastSubjectSequence: UInt64?
    /// Store only if the stream's last message id is this (10070).
    public var expectedLastMessageID: String?

    public init(
        messageID: String? = nil, expectedStream: String? = nil, expectedLastSequence: UInt64? = nil,
        expectedLastSubjectSequence: UInt64? = nil, expectedLastMessageID: String? = nil
    ) {
        self.messageID = messageID
        self.expectedStream = expectedStream
        self.expectedLastSequence = expectedLastSequence
        self.expectedLastSubjectSequence = expectedLastSubjectSequence
        self.expectedLastMessageID = expectedLastMessageID
    }

    public var isEmpty: Bool { self == PublishOptions() }

    /// The headers that carry the options (ADR-31's names), added to `headers`.
    public func apply(to headers: inout Headers) throws {
        if let messageID { try headers.set("Nats-Msg-Id", messageID) }
        if let expectedStream { try headers.set("Nats-Expected-Stream", expectedStream) }
        if let expectedLastSequence { try headers.set("Nats-Expected-Last-Sequence", String(expectedLastSequence)) }
        if let expectedLastSubjectSequence {
            try headers.set("Nats-Expected-Last-Subject-Sequence", String(expectedLastSubjectSequence))
        }
        if let expectedLastMessageID { try headers.set("Nats-Expected-Last-Msg-Id", expectedLastMessageID) }
    }

    /// The encoded header block of `headers` with the options added; empty for none.
    func headerBlock(_ headers: Headers?) throws -> [UInt8] {
        if isEmpty { return headers.map { $0.isEmpty ? [] : $0.encoded() } ?? [] }
        var merged = headers ?? Headers()
        try apply(to: &merged)
        return merged.encoded()
    }
}

/// The stream's answer to a publish.
public struct PubAck: Equatable {
    public var stream: String
    public var sequence: UInt64
    /// The message id was seen within the duplicate window: the message was not stored again.
    public var duplicate: Bool
    public var domain: String?

    public init(stream: String, sequence: UInt64, duplicate: Bool = false, domain: String? = nil) {
        self.stream = stream
        self.sequence = sequence
        self.duplicate = duplicate
        self.domain = domain
    }

    /// Decodes a publish's reply: the ack, or the stream's refusal.
    static func decode(_ reply: Message, subject: String) throws -> PubAck {
        if reply.isNoResponders { throw JetStreamError.noStreamResponse(subject: subject) }
        if let ack = reply.storage.withPayload(PubAckScanner.scan) { return ack }
        let body = try JetStream.decodeReply(reply)
        guard let stream = body.string("stream"), let sequence = body.int("seq"), sequence >= 0 else {
            throw JetStreamError.invalidResponse("a publish ack without stream or sequence")
        }
        return PubAck(stream: stream, sequence: UInt64(sequence), duplicate: body.bool("duplicate") ?? false, domain: body.string("domain"))
    }
}

extension JetStream {
    /// Publishes to a stream and waits for its ack. No responders (no stream on the subject,
    /// or one between leaders) is tried again twice, 250 ms apart, within the timeout, as
    /// nats.go does.
    public func publish(
        _ subject: String, payload: [UInt8] = [], headers: Headers? = nil, options: PublishOptions = PublishOptions(),
        timeoutMilliseconds: Int64? = nil
    ) throws -> PubAck {
        let timeout = timeoutMilliseconds ?? self.timeoutMilliseconds
        guard timeout > 0 else { throw NATSError.invalidArgument("timeout must be positive") }
        let block = try options.headerBlock(headers)
        let deadline = Deadline.after(milliseconds: timeout)
        var attempt = 0
        while true {
            let remaining = max(1, deadline.remainingNanoseconds / 1_000_000)
            let reply: Message
            do {
                reply = try withRequestBytes(subject, payload) { subjectBytes, payloadBytes in
                    try block.withUnsafeBytes { blockBytes in
                        try connection.request(
                            subject: subjectBytes, headers: block.isEmpty ? nil : blockBytes, payload: payloadBytes,
                            timeoutMilliseconds: remaining)
                    }
                }
            } catch NATSError.noResponders {
                attempt += 1
                guard attempt <= 2, deadline.remainingNanoseconds > 250_000_000 else {
                    throw JetStreamError.noStreamResponse(subject: subject)
                }
                sleepMilliseconds(250)
                continue
            }
            return try PubAck.decode(reply, subject: subject)
        }
    }
}

func sleepMilliseconds(_ milliseconds: Int64) {
    let condition = Condition()
    let deadline = Deadline.after(milliseconds: milliseconds)
    condition.withLock {
        while condition.wait(until: deadline) {}
    }
}
