import NATSTestSupport
import XCTest

@testable import NATS

/// Where callbacks run: the bounded delivery pool (and the thread it lends while a callback
/// blocks), dedicated threads, dispatch queues with their descriptor and batches.
final class DeliveryTests: ServerTestCase {
    private func connect(_ configure: (inout Options) -> Void = { _ in }) throws -> Connection {
        var options = try Options(url: server.url)
        configure(&options)
        return try Connection.connect(options)
    }

    private func processThreads() -> Int {
        let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") } ?? ""
        return Int(line.split(separator: "\t").last.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? "") ?? -1
    }

    /// Lanes run that many callbacks at once also when the messages come one by one: a message
    /// arriving while every running lane is inside a callback starts another lane (it waited
    /// for a busy lane, so a service endpoint with concurrency N ran one call at a time when
    /// calls did not come in a burst).
    func testAMessageArrivingWhileTheLanesAreBusyStartsAnotherLane() throws {
        // The shared pool has at least two threads; a dedicated pool has one per lane. (A callback
        // blocking outside the library gets no thread lent.)
        for (delivery, lanes) in [(SubscriptionDelivery.connectionDefault, 2), (.dedicatedThread, 3)] {
            let conn = try connect()
            defer { conn.close() }
            let lock = NSCondition()
            var running = 0
            var most = 0
            var released = false
            let sub = try conn.subscribe("lanes", delivery: delivery, lanes: lanes) { _ in
                lock.lock()
                running += 1
                most = max(most, running)
                lock.broadcast()
                let until = Date().addingTimeInterval(5)
                while !released && Date() < until { lock.wait(until: until) }
                running -= 1
                lock.unlock()
            }
            defer { try? sub.unsubscribe() }
            try conn.flush(timeoutMilliseconds: 2_000)
            for expected in 1...lanes {
                try conn.publish("lanes", payload: [UInt8(expected)])
                lock.lock()
                let deadline = Date().addingTimeInterval(2)
                while running < expected && Date() < deadline { lock.wait(until: deadline) }
                let now = running
                lock.unlock()
                XCTAssertEqual(now, expected, "\(delivery): message \(expected) runs beside the \(expected - 1) still running")
            }
            lock.lock()
            released = true
            lock.broadcast()
            lock.unlock()
            XCTAssertEqual(most, lanes)
        }
    }

    /// Without sockets: a task that blocks in the library (a `Condition` wait) on a pool of one
    /// thread gets a thread lent for the task behind it, which is what unblocks it.
    func testPoolLendsAThreadWhileATaskBlocks() {
        final class Task: DeliveryTask {
            let body: () -> Void
            init(_ body: @escaping () -> Void) { self.body = body }
            func runDelivery(budget: Int) -> (ran: Int, more: Bool) { body(); return (1, false) }
        }
        let pool = DeliveryPool(size: 1)
        let gate = Completion<Void>()
        let done = DispatchSemaphore(value: 0)
        let opened = ManagedAtomicCounter()
        pool.schedule(Task {
            if gate.wait(until: .after(milliseconds: 3_000)) != nil { opened.increment() }
            done.signal()
        })
        pool.schedule(Task { gate.complete(.success(())) })
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(opened.value, 1, "the second task ran only after the first gave up: no thread was lent")
        XCTAssertTrue(eventually { pool.threadCounts.alive <= 1 }, "the lent thread did not end")
        pool.shutdown(wait: true)
        XCTAssertEqual(pool.threadCounts.alive, 0)
    }

    func testTenThousandSubscriptionsOnAFewThreads() throws {
        let before = processThreads()
        let conn = try connect { $0.deliveryPoolSize = 3 }
        defer { conn.close() }
        let count = 10_000
        let received = ManagedAtomicCounter()
        var subs: [Subscription] = []
        for index in 0..<count {
            subs.append(try conn.subscribe("scale.\(index)") { _ in received.increment() })
        }
        try conn.flush(timeoutMilliseconds: 10_000)
        for index in 0..<count { try conn.publish("scale.\(index)", payload: [1]) }
        XCTAssertTrue(eventually(20) { received.value == count }, "received \(received.value) of \(count)")
        let pool = try XCTUnwrap(conn.deliveryTarget as? DeliveryPool)
        XCTAssertLessThanOrEqual(pool.threadCounts.alive, 3)
        XCTAssertLessThanOrEqual(processThreads() - before, 3, "threads grew with the subscriptions")
    }

    /// request -> handler -> request ... deeper than the pool: no deadlock, every level answers.
    func testNestedRequestsDeeperThanThePool() throws {
        let conn = try connect { $0.deliveryPoolSize = 2 }
        defer { conn.close() }
        let depth = 8
        var subs: [Subscription] = []
        for level in 0..<depth {
            subs.append(try conn.subscribe("chain.\(level)") { message in
                var answer = [UInt8(level)]
                if level + 1 < depth, let deeper = try? conn.request("chain.\(level + 1)", timeoutMilliseconds: 5_000) {
                    answer += deeper.payload
                }
                try? conn.respond(to: message, payload: answer)
            })
        }
        try conn.flush(timeoutMilliseconds: 2_000)
        let reply = try conn.request("chain.0", timeoutMilliseconds: 10_000)
        XCTAssertEqual(reply.payload, (0..<depth).map(UInt8.init))
        let pool = try XCTUnwrap(conn.deliveryTarget as? DeliveryPool)
        XCTAssertTrue(eventually { pool.threadCounts.alive <= 2 }, "lent threads stayed: \(pool.threadCounts.alive)")
    }

    func testOrderAndOneAtATimeOnEveryDelivery() throws {
        let queue = try DeliveryQueue()
        let conn = try connect()
        defer { conn.close() }
        let deliveries: [(String, SubscriptionDelivery)] = [
            ("pool", .connectionDefault), ("thread", .dedicatedThread), ("queue", .queue(queue)),
        ]
        for (name, delivery) in deliveries {
            let seen = Collector<UInt16>()
            let inside = ManagedAtomicCounter()
            let overlapped = ManagedAtomicCounter()
            let sub = try conn.subscribe("order.\(name)", delivery: delivery) { message in
                if inside.increment() != 1 { overlapped.increment() }
                seen.append(UInt16(message.payload[0]) << 8 | UInt16(message.payload[1]))
                _ = inside.decrement()
            }
            try conn.flush(timeoutMilliseconds: 2_000)
            for index in 0..<2_000 { try conn.publish("order.\(name)", payload: [UInt8(index >> 8), UInt8(index & 0xff)]) }
            let pump = name == "queue"
            XCTAssertTrue(eventually(10) {
                if pump { _ = try? queue.dispatch(maxCallbacks: 500, timeoutMilliseconds: 10) }
                return seen.count == 2_000
            }, "\(name): \(seen.count) delivered")
            XCTAssertEqual(seen.all, (0..<2_000).map(UInt16.init), name)
            XCTAssertEqual(overlapped.value, 0, "\(name): two callbacks at once")
            try sub.unsubscribe()
        }
    }

    func testQueueDescriptorAndDispatchOnTheOwnersThread() throws {
        let queue = try DeliveryQueue()
        let conn = try connect { $0.dispatchQueue = queue }
        let threads = Collector<pthread_t>()
        let sub = try conn.subscribe("fd") { _ in threads.append(pthread_self()) }
        try conn.flush(timeoutMilliseconds: 2_000)
        XCTAssertFalse(readable(queue.fileDescriptor), "readable with nothing queued")
        for _ in 0..<10 { try conn.publish("fd", payload: [1]) }
        XCTAssertTrue(eventually { self.readable(queue.fileDescriptor) })
        XCTAssertEqual(threads.count, 0, "a callback ran before dispatch")
        var ran = 0
        while ran < 10 { ran += try queue.dispatch(maxCallbacks: 4, timeoutMilliseconds: 1_000) }
        XCTAssertEqual(ran, 10)
        XCTAssertTrue(threads.all.allSatisfy { pthread_equal($0, pthread_self()) != 0 })
        XCTAssertFalse(readable(queue.fileDescriptor), "still readable once empty")
        XCTAssertEqual(try queue.dispatch(maxCallbacks: 1, timeoutMilliseconds: 0), 0)
        // Connection events too: the closed callback waits for the owner.
        try sub.unsubscribe()
        let closed = ManagedAtomicCounter()
        let other = try connect {
            $0.dispatchQueue = queue
            $0.onClosed = { _ in closed.increment() }
        }
        other.close()
        conn.close()
        XCTAssertEqual(closed.value, 0)
        XCTAssertGreaterThan(try queue.dispatch(maxCallbacks: 10, timeoutMilliseconds: 1_000), 0)
        XCTAssertEqual(closed.value, 1)
    }

    func testQueueBatchesAreTaggedInOrderAndDrain() throws {
        let queue = try DeliveryQueue()
        let conn = try connect()
        defer { conn.close() }
        let first = try conn.subscribeBatches("tag.a", on: queue, token: 1)
        let second = try conn.subscribeBatches("tag.b", on: queue, token: 2)
        try conn.flush(timeoutMilliseconds: 2_000)
        for index in 0..<20 { try conn.publish(index % 2 == 0 ? "tag.a" : "tag.b", payload: [UInt8(index)]) }
        try conn.flush(timeoutMilliseconds: 2_000)
        XCTAssertTrue(eventually { queue.pending.messages == 20 })
        var byToken: [UInt64: [UInt8]] = [:]
        while byToken.values.map(\.count).reduce(0, +) < 20 {
            let batch = try queue.nextBatch(maxMessages: 7, maxBytes: 1 << 20, size: { $0.payloadCount }, timeoutMilliseconds: 1_000)
            XCTAssertFalse(batch.isEmpty)
            XCTAssertLessThanOrEqual(batch.count, 7)
            for (tag, message) in batch { byToken[tag, default: []] += message.payload }
        }
        XCTAssertEqual(byToken[1], stride(from: 0, to: 20, by: 2).map(UInt8.init))
        XCTAssertEqual(byToken[2], stride(from: 1, to: 20, by: 2).map(UInt8.init))
        XCTAssertEqual(queue.pending.messages, 0)
        XCTAssertTrue(try queue.nextBatch(maxMessages: 7, maxBytes: 100, size: { _ in 1 }, timeoutMilliseconds: 0).isEmpty)
        try conn.publish("tag.a", payload: [99])
        try conn.flush(timeoutMilliseconds: 2_000)
        XCTAssertEqual(try queue.nextBatch(maxMessages: 7, maxBytes: 100, size: { _ in 1 }, timeoutMilliseconds: 1_000).count, 1)
        // The batch is being handled until the next take: a drain waits for it.
        let drained = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? conn.drain(first, timeoutMilliseconds: 5_000)
            drained.signal()
        }
        XCTAssertEqual(drained.wait(timeout: .now() + 0.3), .timedOut, "drain must wait for the batch")
        XCTAssertTrue(try queue.nextBatch(maxMessages: 7, maxBytes: 100, size: { _ in 1 }, timeoutMilliseconds: 0).isEmpty)
        XCTAssertEqual(drained.wait(timeout: .now() + 5), .success)
        XCTAssertFalse(first.isValid)
        XCTAssertTrue(second.isValid)
    }

    func testQueueLimitsDropAndReportSlowConsumer() throws {
        let queue = try DeliveryQueue(maxMessages: 10)
        let errors = Collector<NATSError>()
        let conn = try connect { $0.onError = { _, _, error in errors.append(error) } }
        defer { conn.close() }
        let sub = try conn.subscribe("slow", delivery: .queue(queue)) { _ in }
        try conn.flush(timeoutMilliseconds: 2_000)
        for _ in 0..<50 { try conn.publish("slow", payload: [1]) }
        try conn.flush(timeoutMilliseconds: 2_000)
        XCTAssertTrue(eventually { sub.dropped == 40 })
        XCTAssertEqual(queue.pending.messages, 10)
        XCTAssertTrue(eventually { errors.all.contains(.slowConsumer(subject: "slow")) })
        XCTAssertEqual(try queue.dispatch(maxCallbacks: 100, timeoutMilliseconds: 1_000), 10)
        XCTAssertEqual(queue.pending.messages, 0)
    }

    func testCloseAndDrainFromCallbacksOnThePoolAndAQueue() throws {
        let queue = try DeliveryQueue()
        for delivery in [SubscriptionDelivery.connectionDefault, .queue(queue)] {
            let conn = try connect()
            let done = ManagedAtomicCounter()
            var drainer: Subscription?
            drainer = try conn.subscribe("drain.self", delivery: delivery) { _ in
                try? conn.drain(drainer!, timeoutMilliseconds: 2_000)
                done.increment()
            }
            _ = try conn.subscribe("close.conn", delivery: delivery) { _ in
                conn.close()
                done.increment()
            }
            try conn.flush(timeoutMilliseconds: 2_000)
            try conn.publish("drain.self", payload: [1])
            try conn.flush(timeoutMilliseconds: 2_000)
            try conn.publish("close.conn", payload: [1])
            XCTAssertTrue(eventually {
                if case .queue = delivery { _ = try? queue.dispatch(maxCallbacks: 10, timeoutMilliseconds: 10) }
                return done.value == 2 && conn.isClosed
            })
            XCTAssertFalse(drainer?.isValid ?? true)
            conn.close()
        }
    }

    /// Requests and flushes that do not block complete as connection events: here, in the
    /// dispatch queue of an event loop; a reply, no responders and a timeout each once.
    func testAsyncRequestAndFlushCompleteInTheQueue() throws {
        let queue = try DeliveryQueue()
        let conn = try connect { $0.dispatchQueue = queue }
        defer { conn.close() }
        let responder = try connect()
        defer { responder.close() }
        _ = try responder.subscribe("echo") { try? responder.respond(to: $0, payload: $0.payload) }
        try responder.flush(timeoutMilliseconds: 2_000)
        let outcomes = Collector<String>()
        func send(_ subject: String, timeout: Int64) throws {
            var subjectCopy = subject
            try subjectCopy.withUTF8 { bytes in
                try [UInt8]([7]).withUnsafeBytes { payload in
                    try conn.requestAsync(subject: UnsafeRawBufferPointer(bytes), headers: nil, payload: payload,
                                          timeoutMilliseconds: timeout) { result in
                        XCTAssertTrue(pthread_equal(pthread_self(), owner) != 0, "completed off the owner's thread")
                        switch result {
                        case .success(let reply): outcomes.append("reply \(reply.payload)")
                        case .failure(let error): outcomes.append("\(error)")
                        }
                    }
                }
            }
        }
        let owner = pthread_self()
        try send("echo", timeout: 2_000)
        try send("nobody.home", timeout: 2_000)
        try conn.flushAsync(timeoutMilliseconds: 2_000) { result in
            outcomes.append((try? result.get()) != nil ? "flushed" : "flush failed")
        }
        XCTAssertTrue(eventually {
            _ = try? queue.dispatch(maxCallbacks: 10, timeoutMilliseconds: 10)
            return outcomes.count == 3
        })
        XCTAssertEqual(Set(outcomes.all), ["reply [7]", "\(NATSError.noResponders("nobody.home"))", "flushed"])
        // A responder that never answers: the timer completes it, once.
        _ = try responder.subscribe("silent") { _ in }
        try responder.flush(timeoutMilliseconds: 2_000)
        try send("silent", timeout: 100)
        XCTAssertTrue(eventually {
            _ = try? queue.dispatch(maxCallbacks: 10, timeoutMilliseconds: 10)
            return outcomes.count == 4
        })
        XCTAssertTrue(outcomes.all[3].contains("no reply to request on \"silent\" within 100 ms"), outcomes.all[3])
        usleep(200_000)
        _ = try queue.dispatch(maxCallbacks: 10, timeoutMilliseconds: 0)
        XCTAssertEqual(outcomes.count, 4, "completed twice")
    }

    /// The closed callback runs as a job on the pool: close() returns only after it has run,
    /// also when a callback of the connection asked for the close first.
    func testClosedCallbackHasRunWhenCloseReturns() throws {
        for _ in 0..<20 {
            let closed = ManagedAtomicCounter()
            let conn = try connect { $0.onClosed = { _ in usleep(2_000); closed.increment() } }
            let asked = DispatchSemaphore(value: 0)
            _ = try conn.subscribe("close.me") { _ in
                conn.close()
                asked.signal()
            }
            try conn.flush(timeoutMilliseconds: 2_000)
            try conn.publish("close.me", payload: [])
            XCTAssertEqual(asked.wait(timeout: .now() + 5), .success)
            conn.close()
            XCTAssertEqual(closed.value, 1, "close() returned before the closed callback ran")
        }
    }

    private func readable(_ fd: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) == 1
    }
}

/// A counter for callbacks on several threads.
final class ManagedAtomicCounter {
    private let lock = NSLock()
    private var count = 0
    @discardableResult func increment() -> Int { lock.lock(); defer { lock.unlock() }; count += 1; return count }
    @discardableResult func decrement() -> Int { lock.lock(); defer { lock.unlock() }; count -= 1; return count }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
