import NIOConcurrencyHelpers

/// Request/reply over one wildcard inbox subscription (`<prefix>.<nuid>.*`), as nats.go and
/// nats.c do: each request gets a token, and replies are matched on the event loop by the
/// last subject token, so a request costs no SUB/UNSUB round trip.
final class RequestMuxer {
    typealias Waiter = (Result<Message, NATSError>) -> Void
    /// Says whether a reply is an interim one (a liveness frame) that leaves the request
    /// waiting for its answer; runs on the event loop, outside the muxer's lock.
    typealias Interim = (Message) -> Bool

    private struct Entry {
        let waiter: Waiter
        let interim: Interim?
    }

    /// `<inbox prefix>.<nuid>.`
    let replyPrefix: String
    private struct State {
        var waiters: [String: Entry] = [:]
        var nextToken: UInt64 = 0
        var subscription: Subscription?
    }
    private let state = NIOLockedValueBox(State())

    init(inboxPrefix: String) {
        replyPrefix = inboxPrefix + "." + SharedNUID.next() + "."
    }

    var subscription: Subscription? { state.withLockedValue { $0.subscription } }

    /// Installs the wildcard subscription once; `make` runs under the muxer's lock at most once.
    func ensureSubscription(_ make: () throws -> Subscription) rethrows {
        try state.withLockedValue { state in
            if state.subscription == nil { state.subscription = try make() }
        }
    }

    /// Registers a waiter; returns the reply subject to publish with.
    func register(interim: Interim? = nil, _ waiter: @escaping Waiter) -> (token: String, reply: String) {
        state.withLockedValue { state in
            state.nextToken += 1
            let token = Self.encode(state.nextToken)
            state.waiters[token] = Entry(waiter: waiter, interim: interim)
            return (token, replyPrefix + token)
        }
    }

    /// Forgets a waiter (timeout, failed publish); returns whether it was still waiting.
    @discardableResult
    func cancel(token: String) -> Bool {
        state.withLockedValue { $0.waiters.removeValue(forKey: token) != nil }
    }

    /// Runs on the event loop for each message on the inbox subscription.
    func deliver(_ message: Message) {
        let subject = message.subject
        guard subject.count > replyPrefix.count, subject.hasPrefix(replyPrefix) else { return }
        let token = String(subject.dropFirst(replyPrefix.count))
        let found: (entry: Entry, taken: Bool)? = state.withLockedValue { state in
            guard let entry = state.waiters[token] else { return nil }
            guard entry.interim == nil else { return (entry, false) }
            state.waiters.removeValue(forKey: token)
            return (entry, true)
        }
        guard let (entry, taken) = found else { return }
        // Deliveries of one link are serial: nothing else takes this token in between, but a
        // cancel may have.
        if !taken {
            if !message.isNoResponders, let interim = entry.interim, interim(message) { return }
            guard state.withLockedValue({ $0.waiters.removeValue(forKey: token) }) != nil else { return }
        }
        let waiter = entry.waiter
        if message.isNoResponders {
            waiter(.failure(.noResponders("")))
        } else {
            waiter(.success(message))
        }
    }

    /// Fails the requests waiting now, when the link to the server is lost: their replies, if
    /// any come, went to a subscription the new server does not know. The inbox subscription
    /// stays, for requests made from now on.
    func failWaiting(_ error: NATSError) {
        let waiters = state.withLockedValue { state -> [Waiter] in
            let all = state.waiters.values.map(\.waiter)
            state.waiters.removeAll()
            return all
        }
        for waiter in waiters { waiter(.failure(error)) }
    }

    /// Fails every waiter, when the connection closes.
    func failAll(_ error: NATSError) {
        let waiters = state.withLockedValue { state -> [Waiter] in
            let all = state.waiters.values.map(\.waiter)
            state.waiters.removeAll()
            state.subscription = nil
            return all
        }
        for waiter in waiters { waiter(.failure(error)) }
    }

    private static let alphabet: [UInt8] = Array("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)

    static func encode(_ value: UInt64) -> String {
        var remaining = value
        var bytes: [UInt8] = []
        repeat {
            bytes.append(alphabet[Int(remaining % 62)])
            remaining /= 62
        } while remaining > 0
        return String(decoding: bytes, as: UTF8.self)
    }
}
