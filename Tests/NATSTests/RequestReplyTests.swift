import NATSTestSupport
import XCTest

@testable import NATS

final class RequestReplyTests: ServerTestCase {
    var conn: Connection!

    override func setUpWithError() throws {
        try super.setUpWithError()
        conn = try Connection.connect(url: server.url)
    }

    override func tearDown() {
        conn?.close()
        super.tearDown()
    }

    func testRequestReply() throws {
        _ = try conn.subscribe("echo") { try? self.conn.respond(to: $0, payload: $0.payload) }
        try conn.flush(timeoutMilliseconds: 2_000)
        let reply = try conn.request("echo", payload: Array("ping".utf8), timeoutMilliseconds: 2_000)
        XCTAssertEqual(String(decoding: reply.payload, as: UTF8.self), "ping")
    }

    func testNoRespondersFailsAtOnce() throws {
        let start = Date()
        XCTAssertThrowsError(try conn.request("nobody.home", timeoutMilliseconds: 5_000)) {
            XCTAssertEqual($0 as? NATSError, .noResponders("nobody.home"))
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2.5, "must not wait for the timeout")
    }

    func testTimeout() throws {
        _ = try conn.subscribeSync("silent")
        try conn.flush(timeoutMilliseconds: 2_000)
        XCTAssertThrowsError(try conn.request("silent", timeoutMilliseconds: 100)) {
            guard case .timeout = $0 as? NATSError else { return XCTFail("got \($0)") }
        }
    }

    func testConcurrentRequestsAreMatched() throws {
        _ = try conn.subscribe("double") { message in
            let value = Int(String(decoding: message.payload, as: UTF8.self)) ?? -1
            try? self.conn.respond(to: message, payload: Array(String(value * 2).utf8))
        }
        try conn.flush(timeoutMilliseconds: 2_000)
        let failures = Collector<String>()
        DispatchQueue.concurrentPerform(iterations: 8) { worker in
            for index in 0..<50 {
                let value = worker * 1000 + index
                do {
                    let reply = try conn.request("double", payload: Array(String(value).utf8), timeoutMilliseconds: 5_000)
                    let got = String(decoding: reply.payload, as: UTF8.self)
                    if got != String(value * 2) { failures.append("\(value) -> \(got)") }
                } catch {
                    failures.append("\(value): \(error)")
                }
            }
        }
        XCTAssertEqual(failures.all, [])
    }

    func testRequestWithHeaders() throws {
        _ = try conn.subscribe("hdr.echo") { message in
            try? self.conn.respond(to: message, payload: [], headers: message.headers)
        }
        try conn.flush(timeoutMilliseconds: 2_000)
        var headers = Headers()
        try headers.set("Trace", "42")
        let reply = try conn.request("hdr.echo", headers: headers, timeoutMilliseconds: 2_000)
        XCTAssertEqual(reply.headers?["Trace"], "42")
    }
}
