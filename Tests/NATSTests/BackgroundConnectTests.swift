import Foundation
import NATS
import NATSTestSupport
import XCTest

/// A first connect that finds no server, with `retryOnFailedConnect`: the connection comes back
/// at once and connects in the background; what was made meanwhile reaches the server.
final class BackgroundConnectTests: RestartableServerTestCase {
    private func options(_ configure: (inout Options) -> Void = { _ in }) throws -> Options {
        var options = try Options(url: "nats://127.0.0.1:\(port)")
        options.reconnectWaitMilliseconds = 50
        options.reconnectJitterMilliseconds = 0
        options.maxReconnectAttempts = -1
        options.connectTimeoutMilliseconds = 500
        options.retryOnFailedConnect = true
        configure(&options)
        return options
    }

    func testAConnectWithNoServerGoesOnInTheBackground() throws {
        server.stop()
        let events = Collector<String>()
        let conn = try Connection.connect(options {
            $0.onConnected = { _ in events.append("connected") }
            $0.onReconnected = { _ in events.append("reconnected") }
        })
        defer { conn.close() }
        XCTAssertEqual(conn.connectionStatus, .reconnecting)
        XCTAssertThrowsError(try conn.waitConnected(timeoutMilliseconds: 100)) { error in
            guard case NATSError.timeout = error else { return XCTFail("\(error)") }
        }
        // Made while no server is there: they wait for one.
        let sub = try conn.subscribeSync("early.>")
        try conn.publish("early.one", payload: [1])
        server = try NATSServer(fixedPort: port)
        try conn.waitConnected(timeoutMilliseconds: 5_000)
        XCTAssertEqual(conn.connectionStatus, .connected)
        XCTAssertEqual(try sub.next(timeoutMilliseconds: 2_000).payload, [1], "the buffered publish, after the replayed SUB")
        try conn.publish("early.two", payload: [2])
        XCTAssertEqual(try sub.next(timeoutMilliseconds: 2_000).payload, [2])
        XCTAssertTrue(eventually { events.all == ["connected"] }, "\(events.all)")
        XCTAssertEqual(conn.statistics.reconnects, 0, "a first connect, not a reconnect")
        try conn.waitConnected(timeoutMilliseconds: 0)
    }

    func testWithoutTheOptionTheConnectFails() throws {
        server.stop()
        XCTAssertThrowsError(try Connection.connect(options { $0.retryOnFailedConnect = false })) { error in
            guard case NATSError.connectFailed = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try Connection.connect(options { $0.allowReconnect = false })) { error in
            guard case NATSError.connectFailed = error else { return XCTFail("\(error)") }
        }
    }

    func testGivingUpClosesItAndAWaiterHearsOfIt() throws {
        server.stop()
        let closed = Collector<String>()
        let conn = try Connection.connect(options {
            $0.maxReconnectAttempts = 2
            $0.onClosed = { _ in closed.append("closed") }
        })
        XCTAssertThrowsError(try conn.waitConnected(timeoutMilliseconds: 10_000)) { error in
            XCTAssertEqual(error as? NATSError, .connectionClosed)
        }
        XCTAssertTrue(eventually { closed.count == 1 })
        XCTAssertTrue(conn.isClosed)
    }

    func testClosingWhileItRetriesWakesAWaiter() throws {
        server.stop()
        let conn = try Connection.connect(options())
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.3) { conn.close() }
        let started = Date()
        XCTAssertThrowsError(try conn.waitConnected(timeoutMilliseconds: 10_000)) { error in
            XCTAssertEqual(error as? NATSError, .connectionClosed)
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5)
    }

    func testAConnectThatSucceedsAtOnceCallsNoConnectedCallback() throws {
        let events = Collector<String>()
        let conn = try Connection.connect(options { $0.onConnected = { _ in events.append("connected") } })
        defer { conn.close() }
        try conn.waitConnected(timeoutMilliseconds: 0)
        try conn.flush(timeoutMilliseconds: 2_000)
        XCTAssertEqual(events.all, [])
    }
}
