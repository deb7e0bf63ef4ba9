import NATS

/// What a JetStream message's reply subject says about it (ADR-15):
/// `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>` or, from 2.9
/// servers, `$JS.ACK.<domain>.<account hash>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>.<token>`.
public struct MessageMetadata: Equatable {
    public var stream: String
    public var consumer: String
    /// nil when the server has none (`_`).
    public var domain: String?
    /// How many times this message was delivered, this time included.
    public var delivered: UInt64
    public var streamSequence: UInt64
    public var consumerSequence: UInt64
    /// When it was stored, in nanoseconds since the Unix epoch.
    public var timestampNanoseconds: Int64
    /// Messages left for the consumer after this one.
    public var pending: UInt64

    /// nil when `reply` is not a JetStream acknowledgement subject.
    public init?(reply: String) {
        let tokens = reply.split(separator: ".", omittingEmptySubsequences: false)
        guard tokens.count >= 9, tokens[0] == "$JS", tokens[1] == "ACK" else { return nil }
        let base: Int
        if tokens.count == 9 {
            base = 2
            domain = nil
        } else if tokens.count >= 11 {
            base = 4
            domain = tokens[2] == "_" ? nil : String(tokens[2])
        } else {
            return nil
        }
        guard let delivered = UInt64(tokens[base + 2]), let streamSequence = UInt64(tokens[base + 3]),
            let consumerSequence = UInt64(tokens[base + 4]), let timestamp = Int64(tokens[base + 5]),
            let pending = UInt64(tokens[base + 6])
        else { return nil }
        stream = String(tokens[base])
        consumer = String(tokens[base + 1])
        self.delivered = delivered
        self.streamSequence = streamSequence
        self.consumerSequence = consumerSequence
        timestampNanoseconds = timestamp
        self.pending = pending
    }
}

/// The acknowledgements a consumer's message takes (ADR-15's bodies).
public enum AckKind: Equatable {
    /// Done: the message is not delivered again.
    case ack
    /// Not now: deliver again, after `delayNanoseconds` when given.
    case nak(delayNanoseconds: Int64?)
    /// Never: stop delivering it, with an optional reason (the advisory carries it).
    case term(reason: String?)
    /// Still working: the ack wait starts again. Not final; may be sent any number of times.
    case inProgress

    /// The body for a server of `version`: a term's reason needs 2.10.4 or later (an older
    /// server takes "+TERM <reason>" for no acknowledgement at all).
    func body(serverVersion version: String) -> [UInt8] {
        if case .term(let reason?) = self, !reason.isEmpty, !ServerVersion(version).isAtLeast(2, 10, 4) {
            return AckKind.term(reason: nil).body
        }
        return body
    }

    var body: [UInt8] {
        switch self {
        case .ack: return Array("+ACK".utf8)
        case .nak(let delay):
            guard let delay, delay > 0 else { return Array("-NAK".utf8) }
            return Array("-NAK {\"delay\": \(delay)}".utf8)
        case .term(let reason):
            guard let reason, !reason.isEmpty else { return Array("+TERM".utf8) }
            return Array("+TERM \(reason)".utf8)
        case .inProgress: return Array("+WPI".utf8)
        }
    }

    var isFinal: Bool { self != .inProgress }
}

extension Message {
    /// The JetStream metadata of a consumer's message; nil for any other message.
    public var jetStreamMetadata: MessageMetadata? { reply.flatMap(MessageMetadata.init(reply:)) }

    /// Sends `kind` for this message on its connection. A second final acknowledgement
    /// (ack, nak, term) is refused with `ackRefused`; so is a message not from a consumer.
    public func acknowledge(_ kind: AckKind) throws {
        let (connection, reply) = try ackTarget()
        if kind.isFinal && !storage.markAcknowledged() { throw JetStreamError.ackRefused("the message was acknowledged already") }
        if !kind.isFinal && storage.isAcknowledged { throw JetStreamError.ackRefused("the message was acknowledged already") }
        do {
            try connection.publish(reply, payload: kind.body(serverVersion: connection.serverInfo.version))
        } catch {
            if kind.isFinal { storage.clearAcknowledged() }
            throw error
        }
    }

    /// Acknowledges and waits for the server to confirm it has recorded the ack (a double
    /// ack): once this returns, the message will not be delivered again.
    public func acknowledgeSync(timeoutMilliseconds: Int64) throws {
        let (connection, reply) = try ackTarget()
        if !storage.markAcknowledged() { throw JetStreamError.ackRefused("the message was acknowledged already") }
        do {
            _ = try connection.request(reply, payload: AckKind.ack.body, timeoutMilliseconds: timeoutMilliseconds)
        } catch {
            storage.clearAcknowledged()
            throw error
        }
    }

    /// As `acknowledgeSync(timeoutMilliseconds:)`, without blocking: `completion` runs once
    /// with the confirmation or the failure (then the message counts as unacknowledged again),
    /// as a connection event, unless this throws.
    public func acknowledgeSync(timeoutMilliseconds: Int64, completion: @escaping (Result<Void, Error>) -> Void) throws {
        let (connection, reply) = try ackTarget()
        if !storage.markAcknowledged() { throw JetStreamError.ackRefused("the message was acknowledged already") }
        let storage = self.storage
        do {
            try withRequestBytes(reply, AckKind.ack.body) { subject, payload in
                try connection.requestAsync(
                    subject: subject, headers: nil, payload: payload, timeoutMilliseconds: timeoutMilliseconds
                ) { result in
                    switch result {
                    case .success: completion(.success(()))
                    case .failure(let error):
                        storage.clearAcknowledged()
                        completion(.failure(error))
                    }
                }
            }
        } catch {
            storage.clearAcknowledged()
            throw error
        }
    }

    private func ackTarget() throws -> (Connection, String) {
        guard let reply, reply.hasPrefix("$JS.ACK.") else {
            throw JetStreamError.ackRefused("not a message of a JetStream consumer")
        }
        guard let connection else { throw JetStreamError.ackRefused("the message has no connection to answer on") }
        return (connection, reply)
    }
}

/// A server's version as numbers ("2.10.4-beta" is 2.10.4); unparsable parts count as 0.
struct ServerVersion {
    let parts: [Int]

    init(_ text: String) {
        let core = text.split(separator: "-").first ?? ""
        parts = core.split(separator: ".").map { Int($0) ?? 0 }
    }

    func isAtLeast(_ major: Int, _ minor: Int, _ patch: Int) -> Bool {
        let padded = parts + [0, 0, 0]
        return (padded[0], padded[1], padded[2]) >= (major, minor, patch)
    }
}
