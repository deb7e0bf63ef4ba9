import NATS

/// Which of a server's calls are owed a liveness frame, and when (docs/RPC.md "Liveness"):
/// a call is followed from the moment its endpoint accepts it (queued behind other calls
/// included) until it is answered. A caller that asked for frames every `heartbeat`
/// milliseconds gets `{"id": ..., "heartbeat": n}` on its reply subject every interval while
/// its call is unanswered; a call answered sooner costs no frame and no parse. A state
/// machine without sockets or clocks: `tick` says what to send.
struct HeartbeatSchedule {
    /// A frame is looked at no sooner than this after its arrival: calls answered within it
    /// (almost all) are never parsed for their interval.
    static let tickMilliseconds: Int64 = 50
    /// The shortest interval a server honours.
    static let minimumIntervalMilliseconds: Int64 = 100
    /// The longest: a day. A caller may ask for more (or for any number: the request is not
    /// to be trusted), and gets this.
    static let maximumIntervalMilliseconds: Int64 = 86_400_000

    struct Frame: Equatable {
        let reply: String
        let body: [UInt8]
    }

    private struct Entry {
        /// Weak: a call dropped unanswered (its subscription closed with it queued, a request
        /// released without an answer) ends its frames with it.
        weak var storage: MessageStorage?
        let arrived: UInt64
        /// Read from the request at its first tick: nil before, 0 when it asked for none.
        var intervalNanoseconds: UInt64?
        var id: JSONValue?
        var reply = ""
        var sent = 0
        var lastFrame: UInt64
    }

    private var entries: [ObjectIdentifier: Entry] = [:]

    var count: Int { entries.count }
    var isEmpty: Bool { entries.isEmpty }

    /// A call accepted by its endpoint; one without a reply subject is owed nothing.
    mutating func arrived(_ message: Message, now: UInt64) {
        guard message.storage.replyPointer != nil else { return }
        entries[ObjectIdentifier(message.storage)] = Entry(storage: message.storage, arrived: now, lastFrame: now)
    }

    /// A call answered (or failed): no more frames.
    mutating func answered(_ message: Message) {
        entries.removeValue(forKey: ObjectIdentifier(message.storage))
    }

    /// The frames due at `now`; forgets the calls that were dropped.
    mutating func tick(now: UInt64) -> [Frame] {
        var due: [Frame] = []
        let tick = UInt64(Self.tickMilliseconds) * 1_000_000
        for (key, var entry) in entries {
            guard let storage = entry.storage else {
                entries.removeValue(forKey: key)
                continue
            }
            if now &- entry.arrived < tick { continue }
            if entry.intervalNanoseconds == nil { Self.read(storage, into: &entry) }
            guard let interval = entry.intervalNanoseconds, interval > 0, now &- entry.lastFrame >= interval,
                  let body = try? Envelope.heartbeat(id: entry.id, count: entry.sent + 1)
            else {
                entries[key] = entry
                continue
            }
            entry.sent += 1
            entry.lastFrame = now
            entries[key] = entry
            due.append(Frame(reply: entry.reply, body: body))
        }
        return due
    }

    /// The interval the caller asked for (at least the minimum), its id and reply subject.
    private static func read(_ storage: MessageStorage, into entry: inout Entry) {
        entry.intervalNanoseconds = 0
        guard let body = try? storage.withPayload({ try JSONValue.parse($0) }), body.isObject,
              let asked = body.int("heartbeat"), asked > 0
        else { return }
        let bounded = min(max(Int64(asked), minimumIntervalMilliseconds), maximumIntervalMilliseconds)
        entry.intervalNanoseconds = UInt64(bounded) * 1_000_000
        entry.id = body.value("id")
        entry.reply = storage.replySubject ?? ""
    }
}

/// A server's `HeartbeatSchedule` on its connection: told of calls by the endpoints'
/// `onArrival` and by the answers, it ticks on the event loop while calls are unanswered
/// (whoever reads the link: an owner busy elsewhere does not silence its calls) and
/// publishes the frames from there without waiting for outbound room.
final class CallHeartbeats {
    private let connection: Connection
    private let lock = Condition()
    private var schedule = HeartbeatSchedule()
    private var armed = false

    init(connection: Connection) { self.connection = connection }

    func arrived(_ message: Message) {
        let arm: Bool = lock.withLock {
            schedule.arrived(message, now: Deadline.now().uptimeNanoseconds)
            guard !armed, !schedule.isEmpty else { return false }
            armed = true
            return true
        }
        if arm { armTimer() }
    }

    func answered(_ message: Message) {
        lock.withLock { schedule.answered(message) }
    }

    /// Calls followed now (for tests).
    var count: Int { lock.withLock { schedule.count } }

    private func armTimer() {
        _ = connection.onEventLoop(afterMilliseconds: HeartbeatSchedule.tickMilliseconds) { [weak self] in self?.tick() }
    }

    private func tick() {
        let (frames, again): ([HeartbeatSchedule.Frame], Bool) = lock.withLock {
            let frames = schedule.tick(now: Deadline.now().uptimeNanoseconds)
            armed = !schedule.isEmpty
            return (frames, armed)
        }
        // A frame that cannot go out (the connection closed or reconnecting) is not retried:
        // the caller's own liveness check is what fails the call then.
        for frame in frames { try? connection.publishFromEventLoop(frame.reply, payload: frame.body) }
        if again { armTimer() }
    }
}
