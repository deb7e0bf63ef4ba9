import Foundation
import NATSTestSupport
import XCTest

@testable import NATS

/// Connections that read on their dispatch queue (`Options.readOnDispatchQueue`): the
/// socket is read by the queue's owner, when it drains the queue or blocks in the library.
final class QueueReadingTests: RestartableServerTestCase {
    private func connect(reading queue: DeliveryQueue, _ configure: (inout Options) -> Void = { _ in }) throws -> Connection {
        var options = try Options(url: "nats://127.0.0.1:\(port)")
        options.dispatchQueue = queue
        options.readOnDispatchQueue = true
        options.reconnectWaitMilliseconds = 50
        options.reconnectJitterMilliseconds = 0
        configure(&options)
        return try Connection.connect(options)
    }

    private func readable(_ fd: Int32) -> Bool {
        var entry = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        return poll(&entry, 1, 0) == 1
    }

    /// The owner reads: nothing is read while it neither drains the queue nor blocks in the
    /// library (the event loop would have read and counted the messages), the queue's
    /// descriptor is readable meanwhile, and a request made on the owner's thread gets its
    /// reply because its wait reads the socket.
    func testTheOwnerReadsTheSocket() throws {
        let queue = try DeliveryQueue()
        let conn = try connect(reading: queue)
        defer { conn.close() }
        XCTAssertEqual(try queue.dispatch(maxCallbacks: 1, timeoutMilliseconds: 0), 0)  // this thread owns it
        let threads = Collector<pthread_t>()
        _ = try conn.subscribe("inline") { _ in threads.append(pthread_self()) }
        try conn.flush(timeoutMilliseconds: 2_000)  // its PONG read by this thread, in the wait

        let other = try Connection.connect(url: "nats://127.0.0.1:\(port)")
        defer { other.close() }
        _ = try other.subscribe("svc") { message in
            if let reply = message.reply { try? other.publish(reply, payload: message.payload) }
        }
        // On another thread (a wait on this one would read the socket; a dispatch `sync` may
        // run its block right here).
        let published = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? other.flush(timeoutMilliseconds: 2_000)
            for _ in 0..<10 { try? other.publish("inline", payload: [1]) }
            try? other.flush(timeoutMilliseconds: 2_000)
            published.signal()
        }
        XCTAssertEqual(published.wait(timeout: .now() + 5), .success)
        XCTAssertTrue(eventually { self.readable(queue.fileDescriptor) }, "the socket's bytes do not wake the owner")
        Thread.sleep(forTimeInterval: 0.05)
        XCTAssertEqual(conn.statistics.inMessages, 0, "something other than the owner read the socket")

        var ran = 0
        let deadline = Deadline.after(milliseconds: 3_000)
        while ran < 10 && deadline.remainingNanoseconds > 0 { ran += try queue.dispatch(maxCallbacks: 4, timeoutMilliseconds: 100) }
        XCTAssertEqual(ran, 10)
        XCTAssertEqual(conn.statistics.inMessages, 10)
        XCTAssertTrue(threads.all.allSatisfy { pthread_equal($0, pthread_self()) != 0 })

        let reply = try conn.request("svc", payload: [7], timeoutMilliseconds: 2_000)
        XCTAssertEqual(reply.payload, [7])
    }

    /// An owner on a thread of its own, as an event loop: the queue's descriptor wakes it,
    /// it drains; other threads make blocking and asynchronous requests meanwhile. A server
    /// restart moves the reading to the new socket behind the same descriptor.
    func testAnEventLoopOwnerServesOtherThreadsAcrossAReconnect() throws {
        let queue = try DeliveryQueue()
        let owner = QueueOwner(queue)
        defer { owner.stop() }
        let reconnected = DispatchSemaphore(value: 0)
        let conn = try connect(reading: queue) { $0.onReconnected = { _ in reconnected.signal() } }
        defer { conn.close() }
        let received = ManagedAtomicCounter()
        _ = try conn.subscribe("echo") { message in
            owner.note()
            received.increment()
            if let reply = message.reply { try? message.connection?.publish(reply, payload: message.payload) }
        }
        try conn.flush(timeoutMilliseconds: 2_000)
        for round in 0..<20 {
            let reply = try conn.request("echo", payload: [UInt8(round)], timeoutMilliseconds: 2_000)
            XCTAssertEqual(reply.payload, [UInt8(round)])
        }
        let asyncReply = Completion<Message>()
        var subject = "echo"
        try subject.withUTF8 { subject in
            try [UInt8]([9]).withUnsafeBytes { payload in
                try conn.requestAsync(
                    subject: UnsafeRawBufferPointer(subject), headers: nil, payload: payload,
                    timeoutMilliseconds: 2_000) { asyncReply.complete($0) }
            }
        }
        XCTAssertEqual(try asyncReply.wait(until: .after(milliseconds: 3_000))?.get().payload, [9])
        XCTAssertTrue(owner.ranOnlyOnOwner)

        let descriptor = queue.fileDescriptor
        try restartServer()
        XCTAssertEqual(reconnected.wait(timeout: .now() + 10), .success, "no reconnect")
        let reply = try conn.request("echo", payload: [42], timeoutMilliseconds: 3_000)
        XCTAssertEqual(reply.payload, [42])
        XCTAssertEqual(queue.fileDescriptor, descriptor)
        XCTAssertEqual(received.value, 22)
    }

    /// The server closing the socket is seen by the owner's read: without reconnect the
    /// connection closes, and its closed callback runs on the owner.
    func testTheOwnerSeesTheServerGo() throws {
        let queue = try DeliveryQueue()
        let owner = QueueOwner(queue)
        defer { owner.stop() }
        let closed = DispatchSemaphore(value: 0)
        let conn = try connect(reading: queue) {
            $0.allowReconnect = false
            $0.onClosed = { _ in
                owner.note()
                closed.signal()
            }
        }
        defer { conn.close() }
        try conn.flush(timeoutMilliseconds: 2_000)
        server.stop()
        XCTAssertEqual(closed.wait(timeout: .now() + 5), .success, "the server's close went unnoticed")
        XCTAssertTrue(conn.isClosed)
        XCTAssertTrue(owner.ranOnlyOnOwner)
    }

    /// The option without a queue is refused (TLS links: `SecurityTests`).
    /// An owner that dispatches late (its loop was busy past the timeouts): replies and PONGs
    /// that reached the socket in time count, because a timeout is judged on the owner after
    /// its read; with nothing to read, the timeout still comes, at that dispatch.
    func testATimeoutIsJudgedAfterTheOwnersRead() throws {
        let queue = try DeliveryQueue()
        let conn = try connect(reading: queue)
        defer { conn.close() }
        XCTAssertEqual(try queue.dispatch(maxCallbacks: 1, timeoutMilliseconds: 0), 0)  // this thread owns it
        let other = try Connection.connect(url: "nats://127.0.0.1:\(port)")
        defer { other.close() }
        _ = try other.subscribe("svc") { message in
            if let reply = message.reply { try? other.publish(reply, payload: message.payload) }
        }
        _ = try other.subscribe("silent") { _ in }
        try other.flush(timeoutMilliseconds: 2_000)

        let outcomes = Collector<String>()
        func record(_ name: String) -> (Result<Message, NATSError>) -> Void {
            { result in outcomes.append("\(name) " + ((try? result.get()).map { String(decoding: $0.payload, as: UTF8.self) } ?? "\(result)")) }
        }
        func request(_ subject: String, _ payload: String) throws {
            try Array(subject.utf8).withUnsafeBytes { subject in
                try Array(payload.utf8).withUnsafeBytes { payload in
                    try conn.requestAsync(subject: subject, headers: nil, payload: payload, timeoutMilliseconds: 100,
                                          completion: record(String(decoding: subject, as: UTF8.self)))
                }
            }
        }
        try request("svc", "x")
        try request("silent", "")
        try conn.flushAsync(timeoutMilliseconds: 100) { result in outcomes.append("flush \(result)") }
        Thread.sleep(forTimeInterval: 0.4)  // the owner is busy: everything is due, nothing read
        let deadline = Deadline.after(milliseconds: 3_000)
        while outcomes.all.count < 3 && deadline.remainingNanoseconds > 0 {
            _ = try queue.dispatch(maxCallbacks: 16, timeoutMilliseconds: 50)
        }
        XCTAssertEqual(Set(outcomes.all.map { String($0.prefix(13)) }), ["svc x", "flush success", "silent failur"], "\(outcomes.all)")
        XCTAssertTrue(outcomes.all.contains { $0.hasPrefix("silent") && $0.contains("timed out") }, "\(outcomes.all)")
    }

    /// An event loop's turn: one call reads the socket, runs the completion the read made
    /// (no pipe byte written for it: the descriptor is quiet afterwards) and takes the batch:
    /// a subscription's messages and a tagged request's reply, under their tags, the reply
    /// first. A tagged request's failure comes to its callback instead; one needs a queue.
    func testATurnTakesRepliesAndMessagesAndRunsCompletions() throws {
        let queue = try DeliveryQueue()
        let conn = try connect(reading: queue)
        defer { conn.close() }
        XCTAssertEqual(try queue.dispatch(maxCallbacks: 1, timeoutMilliseconds: 0), 0)  // this thread owns it
        _ = try conn.subscribeBatches("feed", on: queue, token: 5)
        try conn.flush(timeoutMilliseconds: 2_000)
        let other = try Connection.connect(url: "nats://127.0.0.1:\(port)")
        defer { other.close() }
        _ = try other.subscribe("svc") { message in
            if let reply = message.reply { try? other.publish(reply, payload: message.payload) }
        }
        try other.flush(timeoutMilliseconds: 2_000)

        let completions = Collector<String>()
        let failures = Collector<NATSError>()
        try Array("svc".utf8).withUnsafeBytes { subject in
            try Array("tagged".utf8).withUnsafeBytes { payload in
                try conn.requestTagged(subject: subject, headers: nil, payload: payload, timeoutMilliseconds: 2_000, tag: 9) {
                    failures.append($0)
                }
            }
            try Array("plain".utf8).withUnsafeBytes { payload in
                try conn.requestAsync(subject: subject, headers: nil, payload: payload, timeoutMilliseconds: 2_000) {
                    completions.append((try? $0.get()).map { String(decoding: $0.payload, as: UTF8.self) } ?? "\($0)")
                }
            }
        }
        try other.publish("feed", payload: [1])
        try other.flush(timeoutMilliseconds: 2_000)
        XCTAssertTrue(eventually { self.readable(queue.fileDescriptor) })
        Thread.sleep(forTimeInterval: 0.05)  // both replies and the message are in the socket

        var ran = 0
        let batch = try queue.turn(maxCallbacks: 8, maxMessages: 16, maxBytes: 1 << 20, size: { _ in 1 }, ran: &ran)
        XCTAssertEqual(ran, 1)
        XCTAssertEqual(completions.all, ["plain"])
        XCTAssertEqual(batch.map(\.tag), [9, 5])
        XCTAssertEqual(batch.map { String(decoding: $0.message.payload, as: UTF8.self) }, ["tagged", "\u{1}"])
        XCTAssertFalse(readable(queue.fileDescriptor), "the descriptor stays readable after the turn took everything")
        XCTAssertTrue(failures.all.isEmpty)

        try Array("nobody".utf8).withUnsafeBytes { subject in
            try conn.requestTagged(subject: subject, headers: nil, payload: UnsafeRawBufferPointer(start: nil, count: 0),
                                   timeoutMilliseconds: 2_000, tag: 10) { failures.append($0) }
        }
        let deadline = Deadline.after(milliseconds: 3_000)
        while failures.all.isEmpty && deadline.remainingNanoseconds > 0 {
            XCTAssertTrue(try queue.turn(maxCallbacks: 8, maxMessages: 16, maxBytes: 1 << 20, size: { _ in 1 }, ran: &ran).isEmpty)
            Thread.sleep(forTimeInterval: 0.01)
        }
        XCTAssertEqual(failures.all, [.noResponders("nobody")])

        let unbound = try Connection.connect(url: "nats://127.0.0.1:\(port)")
        defer { unbound.close() }
        XCTAssertThrowsError(try Array("svc".utf8).withUnsafeBytes { subject in
            try unbound.requestTagged(subject: subject, headers: nil, payload: subject, timeoutMilliseconds: 100, tag: 1) { _ in }
        }) { XCTAssertEqual($0 as? NATSError, .illegalState("a tagged request needs a connection bound to a dispatch queue")) }
    }

    func testTheOptionNeedsAQueue() throws {
        var options = try Options(url: "nats://127.0.0.1:\(port)")
        options.readOnDispatchQueue = true
        XCTAssertThrowsError(try Connection.connect(options))
    }
}

/// A thread that owns a dispatch queue the way an event loop does: waits for its descriptor,
/// then dispatches what is pending.
final class QueueOwner {
    private let queue: DeliveryQueue
    private let lock = NSLock()
    private var stopping = false
    private var thread: pthread_t?
    private var foreignCallbacks = 0
    private let done = DispatchSemaphore(value: 0)

    init(_ queue: DeliveryQueue) {
        self.queue = queue
        let started = DispatchSemaphore(value: 0)
        Thread.detachNewThread { [self] in
            lock.lock(); thread = pthread_self(); lock.unlock()
            started.signal()
            while !isStopping {
                var entry = pollfd(fd: queue.fileDescriptor, events: Int16(POLLIN), revents: 0)
                if poll(&entry, 1, 50) > 0 { _ = try? queue.dispatch(maxCallbacks: 64, timeoutMilliseconds: 0) }
            }
            done.signal()
        }
        started.wait()
    }

    private var isStopping: Bool { lock.lock(); defer { lock.unlock() }; return stopping }

    /// Called by a callback: counts it if it runs on another thread than the owner.
    func note() {
        lock.lock(); defer { lock.unlock() }
        if let thread, pthread_equal(thread, pthread_self()) != 0 { return }
        foreignCallbacks += 1
    }

    /// Whether every callback that called `note()` ran on the owner.
    var ranOnlyOnOwner: Bool { lock.lock(); defer { lock.unlock() }; return foreignCallbacks == 0 }

    func stop() {
        lock.lock(); stopping = true; lock.unlock()
        done.wait()
        // What the connections' closing queued runs here, on the (former) owner's behalf.
        _ = try? queue.dispatch(maxCallbacks: 1_000, timeoutMilliseconds: 0)
    }
}
