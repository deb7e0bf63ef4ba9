import NATSTestSupport
import XCTest

@testable import NATS

final class ConnectionTests: ServerTestCase {
    func connect(_ configure: (inout Options) -> Void = { _ in }) throws -> Connection {
        var options = try Options(url: server.url)
        configure(&options)
        return try Connection.connect(options)
    }

    func testConnectReportsServerAndState() throws {
        let conn = try connect()
        defer { conn.close() }
        XCTAssertEqual(conn.connectionStatus, .connected)
        XCTAssertEqual(conn.connectedURL, "nats://127.0.0.1:\(server.port)")
        XCTAssertFalse(conn.serverInfo.serverID.isEmpty)
        XCTAssertTrue(conn.serverInfo.headers)
        XCTAssertGreaterThan(conn.maxPayload, 0)
    }

    /// A subject (with its reply subject or queue group) longer than the server's control line
    /// made the server close the connection, losing everything on it; it is refused instead.
    func testAControlLinePastTheServersLimitIsRefusedAndTheConnectionLives() throws {
        let conn = try connect()
        defer { conn.close() }
        let long = Array(repeating: "token", count: 800).joined(separator: ".")  // 4,799 bytes
        let fits = Array(repeating: "token", count: 600).joined(separator: ".")  // 3,599 bytes
        let refused: (Error) -> Void = { error in
            guard case NATSError.invalidSubject(let text) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(text.contains("4096-byte control line"), text)
        }
        XCTAssertThrowsError(try conn.publish(long, payload: [1]), "", refused)
        XCTAssertThrowsError(try conn.publish(fits, payload: [1], reply: fits), "", refused)
        XCTAssertThrowsError(try conn.request(long, timeoutMilliseconds: 500), "", refused)
        XCTAssertThrowsError(try conn.subscribe(long) { _ in }, "", refused)
        XCTAssertThrowsError(try conn.subscribe(fits, queue: fits) { _ in }, "", refused)
        let sub = try conn.subscribeSync(fits)
        try conn.publish(fits, payload: [7])
        XCTAssertEqual(try sub.next(timeoutMilliseconds: 2_000).payload, [7])
        XCTAssertEqual(conn.connectionStatus, .connected)
    }

    func testNoServer() throws {
        let port = server.port
        server.stop()
        XCTAssertThrowsError(try Connection.connect(url: "nats://127.0.0.1:\(port)")) { error in
            guard case .connectFailed = error as? NATSError else { return XCTFail("got \(error)") }
        }
    }

    func testCloseIsIdempotentAndFailsLaterCalls() throws {
        let closed = Collector<Int>()
        let conn = try connect { $0.onClosed = { _ in closed.append(1) } }
        conn.close()
        conn.close()
        XCTAssertEqual(closed.count, 1, "closed callback runs once, before close returns")
        XCTAssertNil(conn.closeReason, "closed by the application, not by an error")
        XCTAssertTrue(conn.isClosed)
        XCTAssertThrowsError(try conn.publish("foo")) { XCTAssertEqual($0 as? NATSError, .connectionClosed) }
        XCTAssertThrowsError(try conn.flush(timeoutMilliseconds: 100)) { XCTAssertEqual($0 as? NATSError, .connectionClosed) }
        XCTAssertThrowsError(try conn.subscribeSync("foo")) { XCTAssertEqual($0 as? NATSError, .connectionClosed) }
    }

    func testFlushRttAndStatistics() throws {
        let conn = try connect()
        defer { conn.close() }
        let sub = try conn.subscribeSync("stats.>")
        for index in 0..<10 { try conn.publish("stats.\(index)", payload: Array("12345".utf8)) }
        try conn.flush(timeoutMilliseconds: 2_000)
        for _ in 0..<10 { _ = try sub.next(timeoutMilliseconds: 2_000) }
        let stats = conn.statistics
        XCTAssertEqual(stats.outMessages, 10)
        XCTAssertEqual(stats.outBytes, 50)
        XCTAssertEqual(stats.inMessages, 10)
        XCTAssertEqual(stats.inBytes, 50)
        XCTAssertGreaterThan(try conn.rtt(timeoutMilliseconds: 2_000), 0)
    }

    func testMaxPayloadEnforcedOnPublish() throws {
        let conn = try connect()
        defer { conn.close() }
        let limit = conn.maxPayload
        XCTAssertThrowsError(try conn.publish("big", payload: [UInt8](repeating: 0, count: limit + 1))) {
            XCTAssertEqual($0 as? NATSError, .maxPayload(limit: limit, actual: limit + 1))
        }
        try conn.publish("big", payload: [UInt8](repeating: 0, count: limit))
        try conn.flush(timeoutMilliseconds: 2_000)
    }

    func testInvalidSubjects() throws {
        let conn = try connect()
        defer { conn.close() }
        for subject in ["", "foo bar", "foo.*", "a..b"] {
            XCTAssertThrowsError(try conn.publish(subject), subject) {
                XCTAssertEqual($0 as? NATSError, .invalidSubject(subject))
            }
        }
        XCTAssertThrowsError(try conn.subscribeSync("foo..bar"))
        XCTAssertThrowsError(try conn.subscribeSync("foo", queue: "bad queue"))
    }

    func testServerShutdownClosesWithCallbacks() throws {
        let events = Collector<String>()
        let conn = try connect {
            $0.allowReconnect = false
            $0.onDisconnected = { _ in events.append("disconnected") }
            $0.onClosed = { _ in events.append("closed") }
        }
        server.stop()
        XCTAssertTrue(eventually { events.count == 2 })
        XCTAssertEqual(events.all, ["disconnected", "closed"])
        XCTAssertTrue(conn.isClosed)
        XCTAssertEqual(conn.closeReason, .io("the server closed the connection"))
        conn.close()
    }

    func testNoEcho() throws {
        let conn = try connect { $0.echo = false }
        defer { conn.close() }
        let sub = try conn.subscribeSync("echo")
        try conn.publish("echo")
        try conn.flush(timeoutMilliseconds: 2_000)
        XCTAssertThrowsError(try sub.next(timeoutMilliseconds: 200)) {
            guard case .timeout = $0 as? NATSError else { return XCTFail("got \($0)") }
        }
    }

    func testPendingRequestsFailWhenClosed() throws {
        let conn = try connect()
        _ = try conn.subscribeSync("silent")
        let result = Collector<NATSError>()
        let thread = Thread {
            do { _ = try conn.request("silent", timeoutMilliseconds: 10_000) } catch let error as NATSError { result.append(error) } catch {}
        }
        thread.start()
        usleep(200_000)
        conn.close()
        XCTAssertTrue(eventually(2) { result.count == 1 })
        XCTAssertEqual(result.all.first, .connectionClosed)
    }
}

final class AuthTests: ServerTestCase {
    override var serverArguments: [String] { ["--user", "alice", "--pass", "s3cret"] }

    func testUserPasswordInURL() throws {
        let conn = try Connection.connect(url: "nats://alice:s3cret@127.0.0.1:\(server.port)")
        defer { conn.close() }
        XCTAssertEqual(conn.connectedURL, "nats://127.0.0.1:\(server.port)", "no credentials in the URL getter")
    }

    func testWrongPassword() throws {
        XCTAssertThrowsError(try Connection.connect(url: "nats://alice:wrong@127.0.0.1:\(server.port)")) { error in
            guard case .authorizationViolation = error as? NATSError else { return XCTFail("got \(error)") }
            XCTAssertFalse("\(error)".contains("wrong"))
        }
    }

    func testUserPasswordInOptions() throws {
        var options = try Options(url: server.url)
        options.user = "alice"
        options.password = "s3cret"
        let conn = try Connection.connect(options)
        conn.close()
    }
}

final class TokenAuthTests: ServerTestCase {
    override var serverArguments: [String] { ["--auth", "t0ken"] }

    func testToken() throws {
        var options = try Options(url: server.url)
        options.token = "t0ken"
        let conn = try Connection.connect(options)
        conn.close()
        options.token = "nope"
        XCTAssertThrowsError(try Connection.connect(options))
    }
}

/// A publish the server refuses is reported through the error callback; the connection stays up.
final class PermissionTests: XCTestCase {
    func testPermissionViolationIsAsyncErrorAndConnectionSurvives() throws {
        let server = try NATSServer(config: """
            authorization {
              users = [ { user: "bob", password: "pw", permissions: { publish: { deny: ["secret.>"] } } } ]
            }
            """)
        defer { server.stop() }
        let errors = Collector<NATSError>()
        var options = try Options(url: "nats://bob:pw@127.0.0.1:\(server.port)")
        options.onError = { _, _, error in errors.append(error) }
        let conn = try Connection.connect(options)
        defer { conn.close() }
        try conn.publish("secret.plans")
        XCTAssertTrue(eventually { errors.count == 1 })
        guard case .permissionViolation(let text)? = errors.all.first else { return XCTFail("got \(errors.all)") }
        XCTAssertTrue(text.contains("secret.plans"), text)
        try conn.flush(timeoutMilliseconds: 2_000)
        XCTAssertEqual(conn.connectionStatus, .connected)
    }
}
