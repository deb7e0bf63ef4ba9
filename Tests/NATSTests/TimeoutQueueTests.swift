import Foundation
import NIOCore
import NATSTestSupport
import XCTest

@testable import NATS

/// The timeouts of asynchronous operations on one event-loop timer, without sockets.
final class TimeoutQueueTests: XCTestCase {
    private let loop = Connection.eventLoopGroup.next()

    private final class Log {
        private let lock = NSLock()
        private var entries: [(String, UInt64)] = []
        func add(_ name: String) { lock.lock(); entries.append((name, Deadline.now().uptimeNanoseconds)); lock.unlock() }
        var names: [String] { lock.lock(); defer { lock.unlock() }; return entries.map(\.0) }
        func time(of name: String) -> UInt64? { lock.lock(); defer { lock.unlock() }; return entries.first { $0.0 == name }?.1 }
    }

    func testTimeoutsRunInDeadlineOrderNeverEarly() {
        let queue = TimeoutQueue(eventLoop: loop)
        let log = Log()
        let start = Deadline.now().uptimeNanoseconds
        _ = queue.add(milliseconds: 120) { log.add("late") }
        _ = queue.add(milliseconds: 40) { log.add("early") }
        _ = queue.add(milliseconds: 80) { log.add("middle") }
        XCTAssertTrue(eventually(3) { log.names.count == 3 })
        XCTAssertEqual(log.names, ["early", "middle", "late"])
        for (name, ms) in [("early", 40), ("middle", 80), ("late", 120)] {
            let elapsed = (log.time(of: name) ?? 0) - start
            XCTAssertGreaterThanOrEqual(elapsed, UInt64(ms) * 1_000_000, "\(name) ran before its deadline")
        }
        XCTAssertEqual(queue.count, 0)
    }

    func testCancelledTimeoutsNeverRun() {
        let queue = TimeoutQueue(eventLoop: loop)
        let log = Log()
        let cancel = queue.add(milliseconds: 30) { log.add("cancelled") }
        _ = queue.add(milliseconds: 60) { log.add("kept") }
        cancel()
        XCTAssertEqual(queue.count, 1)
        XCTAssertTrue(eventually(3) { log.names == ["kept"] })
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertEqual(log.names, ["kept"], "a cancelled timeout ran")
    }

    /// Many operations that end before their timeout (the common case) leave cancelled
    /// deadlines behind: compaction keeps the heap near the live count, and the live ones
    /// still run.
    func testCompactionKeepsLiveTimeouts() {
        let queue = TimeoutQueue(eventLoop: loop)
        let log = Log()
        for _ in 0..<10_000 {
            let cancel = queue.add(milliseconds: 60_000) { log.add("cancelled") }
            cancel()
        }
        _ = queue.add(milliseconds: 50) { log.add("live") }
        XCTAssertEqual(queue.count, 1)
        XCTAssertTrue(eventually(3) { log.names == ["live"] })
    }

    /// A timeout earlier than the armed timer re-arms it: a short timeout is not held up by a
    /// long one added first.
    func testAnEarlierDeadlineRearmsTheTimer() {
        let queue = TimeoutQueue(eventLoop: loop)
        let log = Log()
        _ = queue.add(milliseconds: 5_000) { log.add("long") }
        let start = Deadline.now().uptimeNanoseconds
        _ = queue.add(milliseconds: 30) { log.add("short") }
        XCTAssertTrue(eventually(2) { log.names == ["short"] })
        let elapsed = (log.time(of: "short") ?? 0) - start
        XCTAssertLessThan(elapsed, 1_000_000_000, "the short timeout waited for the long one's timer")
    }
}
