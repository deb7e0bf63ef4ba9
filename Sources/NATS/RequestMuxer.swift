#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers

/// A request in flight, as the muxer knows it: what `Connection.cancelRequest` takes.
public struct RequestToken: Hashable, Sendable {
    let value: UInt64
}

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
    /// The same, as bytes: replies are matched on the bytes of their subject, no String made
    /// (a reply is matched per message on the event loop: an asynchronous publish's ack).
    private let prefixBytes: [UInt8]
    private struct State {
        var waiters: [UInt64: Entry] = [:]
        var nextToken: UInt64 = 0
        var subscription: Subscription?
    }
    private let state = NIOLockedValueBox(State())

    init(inboxPrefix: String) {
        replyPrefix = inboxPrefix + "." + SharedNUID.next() + "."
        prefixBytes = Array(replyPrefix.utf8)
    }

    var subscription: Subscription? { state.withLockedValue { $0.subscription } }

    /// Installs the wildcard subscription once; `make` runs under the muxer's lock at most once.
    func ensureSubscription(_ make: () throws -> Subscription) rethrows {
        try state.withLockedValue { state in
            if state.subscription == nil { state.subscription = try make() }
        }
    }

    /// Registers a waiter; `withReplySubject` gives the subject to publish with.
    func register(interim: Interim? = nil, _ waiter: @escaping Waiter) -> RequestToken {
        state.withLockedValue { state in
            state.nextToken += 1
            state.waiters[state.nextToken] = Entry(waiter: waiter, interim: interim)
            return RequestToken(value: state.nextToken)
        }
    }

    /// Lends the reply subject of `token` (`<prefix>.<nuid>.<token>`), built on the stack: a
    /// request costs no String (an asynchronous publish is one).
    func withReplySubject<Result>(_ token: RequestToken, _ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try withUnsafeTemporaryAllocation(byteCount: prefixBytes.count + Self.tokenDigitsMax, alignment: 1) { buffer in
            prefixBytes.withUnsafeBytes { buffer.copyMemory(from: $0) }
            let digits = Self.encode(token.value, into: UnsafeMutableRawBufferPointer(rebasing: buffer[prefixBytes.count...]))
            return try body(UnsafeRawBufferPointer(rebasing: buffer[..<(prefixBytes.count + digits)]))
        }
    }

    /// Forgets a waiter (timeout, failed publish); returns whether it was still waiting.
    @discardableResult
    func cancel(token: RequestToken) -> Bool {
        state.withLockedValue { $0.waiters.removeValue(forKey: token.value) != nil }
    }

    /// Runs on the event loop for each message on the inbox subscription.
    func deliver(_ message: Message) {
        let storage = message.storage
        let length = storage.header.subjectLength
        guard length > prefixBytes.count else { return }
        let subject = UnsafeRawPointer(storage.subjectPointer)
        let matches = prefixBytes.withUnsafeBytes { prefix in
            prefix.baseAddress.map { memcmp(subject, $0, prefix.count) == 0 } ?? false
        }
        guard matches, let token = Self.decode(
            UnsafeRawBufferPointer(start: subject + prefixBytes.count, count: length - prefixBytes.count))
        else { return }
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

    /// The token's value: base 62, least significant digit first (as `encode` writes it); nil
    /// for anything else.
    static func decode(_ bytes: UnsafeRawBufferPointer) -> UInt64? {
        guard !bytes.isEmpty, bytes.count <= tokenDigitsMax else { return nil }
        var value: UInt64 = 0
        var scale: UInt64 = 1
        for byte in bytes {
            let digit: UInt64
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): digit = UInt64(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): digit = UInt64(byte - UInt8(ascii: "A")) + 36
            default: return nil
            }
            let (part, overflow) = digit.multipliedReportingOverflow(by: scale)
            let (sum, carry) = value.addingReportingOverflow(part)
            guard !overflow, !carry else { return nil }
            value = sum
            scale = scale.multipliedReportingOverflow(by: 62).partialValue
        }
        return value
    }

    /// The most base-62 digits a token has (UInt64.max).
    static let tokenDigitsMax = 11

    /// Writes `value` in base 62, least significant digit first, into `out` (at least
    /// `tokenDigitsMax` bytes); returns how many bytes it wrote.
    static func encode(_ value: UInt64, into out: UnsafeMutableRawBufferPointer) -> Int {
        var remaining = value
        var count = 0
        repeat {
            out[count] = alphabet[Int(remaining % 62)]
            count += 1
            remaining /= 62
        } while remaining > 0
        return count
    }
}
