import Foundation
import NATS
import NATSJetStream
import NATSTestSupport
import XCTest

/// A server with JetStream, one connection and a context on it.
class JetStreamTestCase: ServerTestCase {
    override var jetStream: Bool { true }
    var conn: Connection!
    var js: JetStream!

    override func setUpWithError() throws {
        try super.setUpWithError()
        conn = try Connection.connect(url: server.url)
        js = try JetStream(connection: conn, timeoutMilliseconds: 3_000)
    }

    override func tearDown() {
        conn?.close()
        super.tearDown()
    }

    @discardableResult
    func addStream(_ name: String, subjects: [String], _ extra: [String: Any] = [:]) throws -> JSONValue {
        var document: [String: Any] = ["name": name, "subjects": subjects, "storage": "memory"]
        for (key, value) in extra { document[key] = value }
        return try js.addStream(try JSONValue.parse(String(decoding: try JSONSerialization.data(withJSONObject: document), as: UTF8.self)))
    }

    func json(_ text: String) throws -> JSONValue { try JSONValue.parse(text) }

    func apiError(_ body: () throws -> Void) -> JetStreamError? {
        do {
            try body()
            XCTFail("expected a JetStream error")
        } catch let error as JetStreamError {
            return error
        } catch {
            XCTFail("expected a JetStream error, got \(error)")
        }
        return nil
    }
}

final class StreamTests: JetStreamTestCase {
    func testAccountInfo() throws {
        let info = try js.accountInfo()
        XCTAssertEqual(info.int("streams"), 0)
        try addStream("ORDERS", subjects: ["orders.>"])
        XCTAssertEqual(try js.accountInfo().int("streams"), 1)
    }

    func testStreamLifecycle() throws {
        let info = try addStream("ORDERS", subjects: ["orders.>"], ["max_msgs": 100])
        XCTAssertEqual(info.value("config")?.string("name"), "ORDERS")
        XCTAssertEqual(info.value("config")?.int("max_msgs"), 100)
        XCTAssertEqual(info.value("state")?.int("messages"), 0)

        let update = try json(#"{"name":"ORDERS","subjects":["orders.>","returns.>"],"storage":"memory","max_msgs":200}"#)
        let updated = try js.updateStream(update)
        XCTAssertEqual(updated.value("config")?.strings("subjects"), ["orders.>", "returns.>"])
        XCTAssertEqual(updated.value("config")?.int("max_msgs"), 200)

        XCTAssertEqual(try js.streamNames(), ["ORDERS"])
        XCTAssertEqual(try js.streams().count, 1)
        XCTAssertEqual(try js.streamNames(subject: "returns.x"), ["ORDERS"])
        XCTAssertEqual(try js.streamNames(subject: "other"), [])

        try js.deleteStream("ORDERS")
        let missing = apiError { _ = try js.streamInfo("ORDERS") }
        XCTAssertEqual(missing?.apiCode, 404)
        XCTAssertEqual(missing?.errorCode, JetStreamError.ErrorCode.streamNotFound)
    }

    func testStreamNameInUseAndBadNames() throws {
        try addStream("S", subjects: ["a"])
        let clash = apiError { try addStream("S", subjects: ["b"]) }
        XCTAssertEqual(clash?.errorCode, JetStreamError.ErrorCode.streamNameInUse)
        for bad in ["", "a.b", "a*", "a>", "a b"] {
            XCTAssertThrowsError(try js.streamInfo(bad)) { XCTAssertEqual($0 as? NATSError, .invalidArgument("invalid stream name \"\(bad)\"")) }
        }
        XCTAssertThrowsError(try js.addStream(try json(#"{"subjects":["x"]}"#)))
    }

    func testListingPagesPastTheServersLimit() throws {
        // The server answers at most 256 names a page (1024 on newer servers: then one page).
        for index in 0..<260 { try addStream("S\(index)", subjects: ["s.\(index)"]) }
        let names = try js.streamNames()
        XCTAssertEqual(names.count, 260)
        XCTAssertEqual(Set(names).count, 260)
        XCTAssertEqual(try js.streams().count, 260)
    }

    func testPurgeGetAndDeleteMessages() throws {
        try addStream("P", subjects: ["p.*"], ["allow_direct": true])
        for index in 1...10 {
            var headers = Headers()
            try headers.set("Index", String(index))
            _ = try js.publish(index % 2 == 0 ? "p.even" : "p.odd", payload: Array("m\(index)".utf8), headers: headers)
        }
        let third = try js.getMessage(stream: "P", .sequence(3))
        XCTAssertEqual(third.subject, "p.odd")
        XCTAssertEqual(third.payload, Array("m3".utf8))
        XCTAssertEqual(third.headers?["Index"], "3")
        XCTAssertEqual(third.headers?["Nats-Sequence"], "3")
        XCTAssertEqual(third.headers?["Nats-Stream"], "P")
        XCTAssertNotNil(third.headers?["Nats-Time-Stamp"])

        let lastEven = try js.getMessage(stream: "P", .lastBySubject("p.even"))
        XCTAssertEqual(lastEven.payload, Array("m10".utf8))
        let nextOdd = try js.getMessage(stream: "P", .nextBySubject("p.odd", after: 4))
        XCTAssertEqual(nextOdd.payload, Array("m5".utf8))

        let direct = try js.directGet(stream: "P", .sequence(4))
        XCTAssertEqual(direct.subject, "p.even")
        XCTAssertEqual(direct.payload, Array("m4".utf8))
        XCTAssertEqual(direct.headers?["Index"], "4")
        XCTAssertEqual(direct.headers?["Nats-Sequence"], "4")
        let directLast = try js.directGet(stream: "P", .lastBySubject("p.odd"))
        XCTAssertEqual(directLast.payload, Array("m9".utf8))
        XCTAssertEqual(apiError { _ = try js.directGet(stream: "P", .sequence(99)) }?.apiCode, 404)

        try js.deleteMessage(stream: "P", sequence: 3)
        XCTAssertEqual(apiError { _ = try js.getMessage(stream: "P", .sequence(3)) }?.errorCode,
                       JetStreamError.ErrorCode.messageNotFound)
        try js.deleteMessage(stream: "P", sequence: 5, erase: true)

        XCTAssertEqual(try js.purgeStream("P", PurgeRequest(filter: "p.even", keep: 1)), 4)
        XCTAssertEqual(try js.purgeStream("P", PurgeRequest(sequence: 9)), 2)  // 1 and 7 go
        XCTAssertEqual(try js.streamInfo("P").value("state")?.int("messages"), 2)
        XCTAssertEqual(try js.purgeStream("P"), 2)
        XCTAssertEqual(try js.streamInfo("P").value("state")?.int("messages"), 0)
    }

    func testNotEnabled() throws {
        let plain = try NATSServer()
        let other = try Connection.connect(url: plain.url)
        defer { other.close() }
        let context = try JetStream(connection: other, timeoutMilliseconds: 1_000)
        XCTAssertThrowsError(try context.accountInfo()) { error in
            guard case JetStreamError.notEnabled = error else { return XCTFail("\(error)") }
        }
    }

    func testDomainAndPrefix() throws {
        XCTAssertEqual(try JetStream(connection: conn, domain: "hub").apiPrefix, "$JS.hub.API.")
        XCTAssertEqual(try JetStream(connection: conn, apiPrefix: "imported.js").apiPrefix, "imported.js.")
        XCTAssertThrowsError(try JetStream(connection: conn, domain: "a.b"))
        XCTAssertThrowsError(try JetStream(connection: conn, domain: "d", apiPrefix: "p"))
    }

    func testAsynchronousCallsAndListing() throws {
        let done = expectation(description: "info")
        try js.perform(try .streamInfo("NOPE")) { result in
            if case .failure(let error as JetStreamError) = result { XCTAssertEqual(error.apiCode, 404) } else { XCTFail("\(result)") }
            done.fulfill()
        }
        wait(for: [done], timeout: 5)
        for index in 0..<3 { try addStream("A\(index)", subjects: ["a.\(index)"]) }
        let listed = expectation(description: "list")
        try js.collectPages({ try .streams(names: true, subject: nil, offset: $0) }) { result in
            XCTAssertEqual((try? result.get())?.compactMap(\.stringValue).sorted(), ["A0", "A1", "A2"])
            listed.fulfill()
        }
        wait(for: [listed], timeout: 5)
    }

    func testBase64() {
        for text in ["", "f", "fo", "foo", "foob", "fooba", "foobar"] {
            let encoded = Base64.encode(Array(text.utf8))
            XCTAssertEqual(encoded, Data(text.utf8).base64EncodedString())
            XCTAssertEqual(Base64.decode(encoded), Array(text.utf8))
        }
        XCTAssertEqual(Base64.encode([0xfb, 0xff], urlSafe: true), "-_8=")
        XCTAssertEqual(Base64.decode("-_8"), [0xfb, 0xff])
        XCTAssertNil(Base64.decode("ab$c"))
        XCTAssertNil(Base64.decode("a=b"))
    }
}
