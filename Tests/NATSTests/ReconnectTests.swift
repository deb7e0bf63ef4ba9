import Foundation
import NATS
import NATSTestSupport
import XCTest

/// The 4-byte big-endian sequence number our tests put in payloads.
private func sequenced(_ value: Int) -> [UInt8] {
    [UInt8(value >> 24 & 0xff), UInt8(value >> 16 & 0xff), UInt8(value >> 8 & 0xff), UInt8(value & 0xff)]
}

private func sequence(_ payload: [UInt8]) -> Int {
    payload.prefix(4).reduce(0) { $0 << 8 | Int($1) }
}

/// Server restart on the same port, reconnect buffer, requests and flushes across a reconnect,
/// giving up, closing while reconnecting.
final class ReconnectTests: RestartableServerTestCase {
    private func options(_ configure: (inout Options) -> Void = { _ in }) throws -> Options {
        var options = try Options(url: "nats://127.0.0.1:\(port)")
        options.reconnectWaitMilliseconds = 50
        options.reconnectJitterMilliseconds = 0
        options.maxReconnectAttempts = -1
        configure(&options)
        return options
    }

    func testRestartResubscribesAndDeliversBufferedPublishesExactlyOnce() throws {
        let events = Collector<String>()
        let conn = try Connection.connect(options {
            $0.onDisconnected = { _ in events.append("disconnected") }
            $0.onReconnected = { _ in events.append("reconnected") }
            $0.onClosed = { _ in events.append("closed") }
        })
        defer { conn.close() }
        let plain = try conn.subscribeSync("buffered.>")
        let queued = try conn.subscribeSync("buffered.>", queue: "workers")
        let limited = try conn.subscribeSync("buffered.>")
        try limited.autoUnsubscribe(after: 10)
        try conn.publish("buffered.before", payload: sequenced(0))
        XCTAssertEqual(sequence(try limited.next(timeoutMilliseconds: 2_000).payload), 0)
        _ = try plain.next(timeoutMilliseconds: 2_000)
        _ = try queued.next(timeoutMilliseconds: 2_000)

        server.stop()
        XCTAssertTrue(eventually { conn.connectionStatus == .reconnecting })
        XCTAssertEqual(events.all, ["disconnected"])
        XCTAssertNil(conn.connectedURL)
        let count = 1_000
        for value in 1...count { try conn.publish("buffered.gap", payload: sequenced(value)) }
        let started = Date()
        try restartServer()
        XCTAssertTrue(eventually(10) { events.all.contains("reconnected") })
        print("reconnected \(Int(Date().timeIntervalSince(started) * 1000)) ms after the server restarted")
        XCTAssertEqual(conn.connectionStatus, .connected)
        XCTAssertEqual(conn.statistics.reconnects, 1)
        XCTAssertEqual(conn.connectedURL, "nats://127.0.0.1:\(port)")

        for subscription in [plain, queued] {
            for value in 1...count {
                XCTAssertEqual(sequence(try subscription.next(timeoutMilliseconds: 2_000).payload), value)
            }
            XCTAssertThrowsError(try subscription.next(timeoutMilliseconds: 100), "nothing duplicated") { error in
                guard case .timeout = error as? NATSError else { return XCTFail("got \(error)") }
            }
        }
        // The auto-unsubscribe limit carried over: 10 in all, one before the restart.
        for value in 1...9 { XCTAssertEqual(sequence(try limited.next(timeoutMilliseconds: 2_000).payload), value) }
        XCTAssertThrowsError(try limited.next(timeoutMilliseconds: 100))
        XCTAssertFalse(events.all.contains("closed"))
    }

    func testSubscribeAndUnsubscribeWhileReconnecting() throws {
        let conn = try Connection.connect(options())
        defer { conn.close() }
        let dropped = try conn.subscribeSync("while.down")
        server.stop()
        XCTAssertTrue(eventually { conn.connectionStatus == .reconnecting })
        let added = try conn.subscribeSync("while.down")
        try dropped.unsubscribe()
        try restartServer()
        try conn.flush(timeoutMilliseconds: 5_000)
        try conn.publish("while.down", payload: [1])
        XCTAssertEqual(try added.next(timeoutMilliseconds: 2_000).payload, [1])
        XCTAssertFalse(dropped.isValid)
    }

    func testReconnectBufferFullFailsWithoutBlocking() throws {
        let conn = try Connection.connect(options { $0.reconnectBufferBytes = 4_096 })
        defer { conn.close() }
        server.stop()
        XCTAssertTrue(eventually { conn.connectionStatus == .reconnecting })
        var accepted = 0
        var failure: Error?
        while failure == nil && accepted < 1_000 {
            do {
                try conn.publish("full", payload: [UInt8](repeating: 7, count: 100))
                accepted += 1
            } catch {
                failure = error
            }
        }
        XCTAssertEqual(failure as? NATSError, .reconnectBufferExceeded(limit: 4_096))
        XCTAssertGreaterThan(accepted, 20)
        XCTAssertLessThan(accepted, 41)
    }

    func testReconnectBufferDisabledRefusesPublishes() throws {
        let conn = try Connection.connect(options { $0.reconnectBufferBytes = 0 })
        defer { conn.close() }
        server.stop()
        XCTAssertTrue(eventually { conn.connectionStatus == .reconnecting })
        XCTAssertThrowsError(try conn.publish("x", payload: [1])) { XCTAssertEqual($0 as? NATSError, .reconnecting) }
        XCTAssertThrowsError(try conn.drain(timeoutMilliseconds: 1_000)) { XCTAssertEqual($0 as? NATSError, .reconnecting) }
    }

    func testRequestWaitingWhenServerGoesFailsAtOnce() throws {
        let conn = try Connection.connect(options())
        defer { conn.close() }
        let silent = try conn.subscribeSync("never.answered")
        defer { silent.unsubscribeQuietly() }
        let result = Collector<Result<Message, Error>>()
        let started = Date()
        Thread.detachNewThread {
            result.append(Result { try conn.request("never.answered", payload: [1], timeoutMilliseconds: 20_000) })
        }
        _ = try silent.next(timeoutMilliseconds: 2_000)  // the request reached the server
        server.stop()
        XCTAssertTrue(eventually(5) { result.count == 1 })
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        guard case .failure(let error) = result.all.first, case .connectionLost = error as? NATSError else {
            return XCTFail("expected connectionLost, got \(String(describing: result.all.first))")
        }
    }

    func testRequestAndFlushMadeWhileReconnectingCompleteAfterIt() throws {
        let conn = try Connection.connect(options())
        defer { conn.close() }
        let responder = try conn.subscribe("echo") { message in try? conn.respond(to: message, payload: message.payload) }
        defer { responder.unsubscribeQuietly() }
        server.stop()
        XCTAssertTrue(eventually { conn.connectionStatus == .reconnecting })
        let reply = Collector<Result<Message, Error>>()
        let flushed = Collector<Result<Void, Error>>()
        Thread.detachNewThread {
            reply.append(Result { try conn.request("echo", payload: [42], timeoutMilliseconds: 20_000) })
        }
        Thread.detachNewThread { flushed.append(Result { try conn.flush(timeoutMilliseconds: 20_000) }) }
        usleep(100_000)
        XCTAssertEqual(reply.count + flushed.count, 0, "both wait for the server")
        try restartServer()
        XCTAssertTrue(eventually(10) { reply.count == 1 && flushed.count == 1 })
        XCTAssertEqual(try reply.all.first?.get().payload, [42])
        XCTAssertNoThrow(try flushed.all.first?.get())
    }

    func testGivesUpAfterMaxAttemptsAndCloses() throws {
        let events = Collector<String>()
        let attempts = Collector<Int>()
        let conn = try Connection.connect(options {
            $0.maxReconnectAttempts = 3
            $0.customReconnectDelay = { _, passes in
                attempts.append(passes)
                return 10
            }
            $0.onDisconnected = { _ in events.append("disconnected") }
            $0.onClosed = { _ in events.append("closed") }
        })
        server.stop()
        XCTAssertTrue(eventually(10) { conn.isClosed && events.count == 2 })
        XCTAssertEqual(events.all, ["disconnected", "closed"])
        XCTAssertEqual(attempts.all, [1, 2, 3])
        guard case .connectFailed = conn.closeReason else { return XCTFail("got \(String(describing: conn.closeReason))") }
        conn.close()
    }

    func testCloseWhileReconnectingEndsPromptly() throws {
        let events = Collector<String>()
        let conn = try Connection.connect(options {
            $0.reconnectWaitMilliseconds = 60_000
            $0.onClosed = { _ in events.append("closed") }
        })
        let sub = try conn.subscribeSync("x")
        server.stop()
        XCTAssertTrue(eventually { conn.connectionStatus == .reconnecting })
        // A pass through the one-server list pauses 60 s: close must cut it short.
        usleep(50_000)
        let started = Date()
        conn.close()
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
        XCTAssertEqual(events.all, ["closed"])
        XCTAssertTrue(conn.isClosed)
        XCTAssertFalse(sub.isValid)
        XCTAssertThrowsError(try conn.publish("x", payload: [1])) { XCTAssertEqual($0 as? NATSError, .connectionClosed) }
    }

    func testAllowReconnectOffClosesOnLoss() throws {
        let conn = try Connection.connect(options { $0.allowReconnect = false })
        server.stop()
        XCTAssertTrue(eventually { conn.isClosed })
        XCTAssertEqual(conn.statistics.reconnects, 0)
        conn.close()
    }

    func testOptionsValidation() throws {
        for (name, configure) in [
            ("max attempts", { (o: inout Options) in o.maxReconnectAttempts = -2 }),
            ("wait", { (o: inout Options) in o.reconnectWaitMilliseconds = -1 }),
            ("jitter", { (o: inout Options) in o.reconnectJitterMilliseconds = -1 }),
            ("buffer", { (o: inout Options) in o.reconnectBufferBytes = -1 }),
        ] as [(String, (inout Options) -> Void)] {
            var options = try options()
            configure(&options)
            XCTAssertThrowsError(try Connection.connect(options), name) { error in
                guard case .invalidArgument = error as? NATSError else { return XCTFail("\(name): \(error)") }
            }
        }
    }
}

/// A cluster of nats-servers on loopback, joined by routes.
final class ClusterTests: XCTestCase {
    var nodes: [NATSServer] = []
    var clientPorts: [Int] = []

    override func tearDown() {
        if let run = testRun, run.failureCount > 0 {
            for (index, node) in nodes.enumerated() { print("--- node \(index) log ---\n\(node.log())") }
        }
        for node in nodes { node.stop() }
        nodes = []
    }

    private var routePorts: [Int] = []

    /// Plans `size` nodes and starts the first `started` of them.
    private func startCluster(size: Int, started: Int? = nil) throws {
        clientPorts = (0..<size).map { _ in freePort() }
        routePorts = (0..<size).map { _ in freePort() }
        for index in 0..<(started ?? size) { try startNode(index) }
    }

    private func startNode(_ index: Int) throws {
        let routes = routePorts.map { "nats://127.0.0.1:\($0)" }.joined(separator: ",")
        nodes.append(try NATSServer(
            arguments: ["--cluster_name", "snats", "--cluster", "nats://127.0.0.1:\(routePorts[index])",
                        "--routes", routes, "-n", "node\(index)"],
            fixedPort: clientPorts[index]))
    }

    private func url(_ index: Int) -> String { "nats://127.0.0.1:\(clientPorts[index])" }

    private func options(url: String, _ configure: (inout Options) -> Void = { _ in }) throws -> Options {
        var options = try Options(url: url)
        options.reconnectWaitMilliseconds = 50
        options.reconnectJitterMilliseconds = 0
        configure(&options)
        return options
    }

    func testFailoverToDiscoveredServersKeepsDelivering() throws {
        try startCluster(size: 3)
        let reconnected = Collector<String>()
        let disconnected = Collector<String>()
        // The publisher knows only node 0; the other two come from its INFO connect_urls.
        let publisher = try Connection.connect(options(url: url(0)) {
            $0.onDisconnected = { _ in disconnected.append("disconnected") }
            $0.onReconnected = { _ in reconnected.append("reconnected") }
        })
        defer { publisher.close() }
        XCTAssertTrue(eventually(10) { publisher.discoveredServers.count == 2 }, "\(publisher.servers)")
        XCTAssertEqual(Set(publisher.servers), Set((0..<3).map(url)))
        // One subscriber on node 1, one on the publisher's own connection.
        let remote = try Connection.connect(options(url: url(1)))
        defer { remote.close() }
        let remoteSub = try remote.subscribeSync("cluster.>")
        let ownSub = try publisher.subscribeSync("cluster.>")
        try remote.flush(timeoutMilliseconds: 2_000)
        // Interest on node 1 must have reached node 0 before publishing.
        XCTAssertTrue(eventually(10) {
            try? publisher.publish("cluster.probe", payload: [0xff, 0xff, 0xff, 0xff])
            return (try? remoteSub.next(timeoutMilliseconds: 50)) != nil
        })
        while (try? remoteSub.next(timeoutMilliseconds: 50)) != nil {}
        while (try? ownSub.next(timeoutMilliseconds: 50)) != nil {}

        let total = 600
        let killAt = 200
        let started = Date()
        var killedAt = Date()
        for value in 0..<total {
            if value == killAt {
                try publisher.flush(timeoutMilliseconds: 5_000)
                nodes[0].stop()
                killedAt = Date()
                XCTAssertTrue(eventually(5) { disconnected.count == 1 })
            }
            try publisher.publish("cluster.seq", payload: sequenced(value))
            if value % 50 == 0 { usleep(1_000) }
        }
        XCTAssertTrue(eventually(10) { reconnected.count == 1 })
        print("fail-over: reconnected \(Int(Date().timeIntervalSince(killedAt) * 1000)) ms after the kill; run took \(Int(Date().timeIntervalSince(started) * 1000)) ms")
        XCTAssertNotEqual(publisher.connectedURL, url(0))
        try publisher.flush(timeoutMilliseconds: 5_000)
        // Everything published after the client knew the node was gone arrives, in order,
        // once: on the surviving node's subscriber and on the publisher's own subscription.
        // Messages written into the dead socket before that may be lost (at most once).
        for subscription in [remoteSub, ownSub] {
            var seen: [Int] = []
            while let message = try? subscription.next(timeoutMilliseconds: 500) { seen.append(sequence(message.payload)) }
            XCTAssertEqual(seen, seen.sorted(), "in order")
            XCTAssertEqual(Set(seen).count, seen.count, "no duplicates")
            let afterLoss = seen.filter { $0 >= killAt }
            XCTAssertEqual(afterLoss, Array(killAt..<total), "every publish made during and after the gap")
            XCTAssertEqual(seen.filter { $0 < killAt }.count, killAt, "published before the kill and flushed")
        }
    }

    func testServersJoiningLaterAreDiscoveredAndReported() throws {
        try startCluster(size: 2, started: 1)
        let discovered = Collector<String>()
        let conn = try Connection.connect(options(url: url(0)) {
            $0.onDiscoveredServers = { _ in discovered.append("discovered") }
        })
        defer { conn.close() }
        XCTAssertEqual(conn.discoveredServers, [])
        try startNode(1)
        XCTAssertTrue(eventually(10) { discovered.count >= 1 })
        XCTAssertEqual(conn.discoveredServers, [url(1)])
        XCTAssertEqual(Set(conn.servers), Set([url(0), url(1)]))
    }

    func testLameDuckModeMovesTheClient() throws {
        try startCluster(size: 2)
        let events = Collector<String>()
        let conn = try Connection.connect(options(url: url(0)) {
            $0.onLameDuckMode = { _ in events.append("lame duck") }
            $0.onReconnected = { _ in events.append("reconnected") }
        })
        defer { conn.close() }
        XCTAssertTrue(eventually(10) { conn.discoveredServers.count == 1 })
        let sub = try conn.subscribeSync("ldm")
        let signalled = Date()
        kill(nodes[0].process.processIdentifier, SIGUSR2)  // nats-server --signal ldm
        XCTAssertTrue(eventually(10) { events.all == ["lame duck", "reconnected"] }, "\(events.all)")
        print("lame duck: moved \(Int(Date().timeIntervalSince(signalled) * 1000)) ms after the signal")
        XCTAssertEqual(conn.connectedURL, url(1))
        try conn.publish("ldm", payload: [9])
        XCTAssertEqual(try sub.next(timeoutMilliseconds: 2_000).payload, [9])
        kill(nodes[0].process.processIdentifier, SIGKILL)  // a lame duck takes its time to stop
    }

    func testNoRandomizeKeepsOrderAndIgnoreDiscovered() throws {
        try startCluster(size: 2)
        let conn = try Connection.connect(options(url: "\(url(1)),\(url(0))") {
            $0.noRandomize = true
            $0.ignoreDiscoveredServers = true
        })
        defer { conn.close() }
        XCTAssertEqual(conn.connectedURL, url(1))
        XCTAssertEqual(conn.servers, [url(1), url(0)])
        try conn.flush(timeoutMilliseconds: 2_000)
        XCTAssertEqual(conn.discoveredServers, [])
    }
}
