import NIOConcurrencyHelpers
import NIOCore

/// The timeouts of a connection's asynchronous operations (requests, flushes, RPC calls) on
/// one event-loop timer. A timer per operation would cost a wake-up of the event loop per
/// operation (scheduling from another thread wakes its selector) and another to cancel it;
/// here the timer is re-armed only when a deadline earlier than the armed one arrives, so a
/// stream of operations with the same timeout arms it about once per
/// `granularityNanoseconds`.
///
/// A cancelled timeout leaves its deadline in the heap until it is due or the heap is
/// compacted (when cancelled ones outnumber the live ones). Timeouts run on the event loop,
/// at most `granularityNanoseconds` after they are due.
final class TimeoutQueue {
    /// How late a timeout may run, so that one timer serves the deadlines close together.
    static let granularityNanoseconds: UInt64 = 10_000_000

    private struct Entry {
        let deadline: UInt64
        let id: UInt64
    }

    private struct State {
        var heap: [Entry] = []
        var live: [UInt64: (deadline: UInt64, body: () -> Void)] = [:]
        var nextID: UInt64 = 0
        /// The deadline the scheduled timer fires at, if one is scheduled.
        var armedFor: UInt64?
        var timer: Scheduled<Void>?
    }

    private let eventLoop: EventLoop
    private let state = NIOLockedValueBox(State())

    init(eventLoop: EventLoop) { self.eventLoop = eventLoop }

    /// Runs `body` on the event loop once `milliseconds` have passed, unless the returned
    /// cancel runs first.
    func add(milliseconds: Int64, _ body: @escaping () -> Void) -> () -> Void {
        let deadline = Deadline.after(milliseconds: milliseconds).uptimeNanoseconds
        let id: UInt64 = state.withLockedValue { state in
            state.nextID &+= 1
            let id = state.nextID
            state.live[id] = (deadline, body)
            Self.push(Entry(deadline: deadline, id: id), into: &state.heap)
            if state.heap.count > 1024 && state.heap.count > 2 * state.live.count {
                Self.compact(&state)
            }
            armLocked(&state, notBefore: 0)
            return id
        }
        return { [weak self] in
            self?.state.withLockedValue { _ = $0.live.removeValue(forKey: id) }
        }
    }

    /// Operations with a timeout still waiting (for tests).
    var count: Int { state.withLockedValue { $0.live.count } }

    /// With the lock held: makes sure a timer fires at the earliest deadline, or at
    /// `notBefore` if that is later.
    private func armLocked(_ state: inout State, notBefore: UInt64) {
        // Cancelled timeouts at the head would only wake the loop for nothing.
        while let first = state.heap.first, state.live[first.id] == nil { Self.popFirst(from: &state.heap) }
        guard let first = state.heap.first else { return }
        if let armed = state.armedFor, armed <= first.deadline { return }
        state.timer?.cancel()
        let at = max(first.deadline, notBefore)
        state.armedFor = at
        state.timer = eventLoop.scheduleTask(deadline: .uptimeNanoseconds(at)) { [weak self] in self?.fire() }
    }

    /// On the event loop: runs what is due, then re-arms for the rest.
    private func fire() {
        let due: [() -> Void] = state.withLockedValue { state in
            state.armedFor = nil
            state.timer = nil
            let now = Deadline.now().uptimeNanoseconds
            var due: [() -> Void] = []
            while let first = state.heap.first, first.deadline <= now {
                Self.popFirst(from: &state.heap)
                if let entry = state.live.removeValue(forKey: first.id) { due.append(entry.body) }
            }
            // The next wake-up serves every deadline of the granularity after now.
            armLocked(&state, notBefore: now + Self.granularityNanoseconds)
            return due
        }
        for body in due { body() }
    }

    private static func compact(_ state: inout State) {
        state.heap = state.live.map { Entry(deadline: $0.value.deadline, id: $0.key) }
        state.heap.sort { ($0.deadline, $0.id) < ($1.deadline, $1.id) }  // a sorted array is a heap
    }

    // A binary min-heap on (deadline, id).

    private static func less(_ a: Entry, _ b: Entry) -> Bool { (a.deadline, a.id) < (b.deadline, b.id) }

    private static func push(_ entry: Entry, into heap: inout [Entry]) {
        heap.append(entry)
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard less(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    private static func popFirst(from heap: inout [Entry]) {
        let last = heap.removeLast()
        guard !heap.isEmpty else { return }
        heap[0] = last
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && less(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count && less(heap[right], heap[smallest]) { smallest = right }
            if smallest == parent { return }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
    }
}
