import NATSTestSupport
import XCTest

@testable import NATS

/// `Connection.publish(packed:)`: many messages in one buffer, the call bindings use instead of
/// one publish per message.
final class PackedPublishTests: ServerTestCase {
    /// Records laid out as `PackedPublish` reads them.
    private struct Records {
        var bytes: [UInt8] = []

        mutating func append(_ subject: String, reply: String = "", header: String = "", payload: [UInt8]) {
            let parts = [Array(subject.utf8), Array(reply.utf8), Array(header.utf8), payload]
            for part in parts { withUnsafeBytes(of: UInt32(part.count)) { bytes += $0 } }
            for part in parts { bytes += part }
        }

        func publish(on conn: Connection, count: Int? = nil) throws -> Int {
            try bytes.withUnsafeBytes { all in
                try conn.publish(packed: UnsafeRawBufferPointer(rebasing: all.prefix(count ?? all.count)))
            }
        }
    }

    func testRecordsArriveInOrderWithRepliesAndHeaders() throws {
        let conn = try Connection.connect(url: server.url)
        defer { conn.close() }
        let sub = try conn.subscribeSync("packed.>")
        var records = Records()
        records.append("packed.a", payload: Array("one".utf8))
        records.append("packed.a", reply: "packed.reply", payload: Array("two".utf8))
        records.append("packed.b", header: "NATS/1.0\r\nK: v\r\nK: w\r\n\r\n", payload: Array("three".utf8))
        records.append("packed.b", payload: [])
        XCTAssertEqual(try records.publish(on: conn), 4)

        let received = try (0..<4).map { _ in try sub.next(timeoutMilliseconds: 2_000) }
        XCTAssertEqual(received.map(\.subject), ["packed.a", "packed.a", "packed.b", "packed.b"])
        XCTAssertEqual(received.map { String(decoding: $0.payload, as: UTF8.self) }, ["one", "two", "three", ""])
        XCTAssertEqual(received[1].reply, "packed.reply")
        XCTAssertEqual(received[2].headers?.values(for: "K"), ["v", "w"])
        XCTAssertNil(received[0].headers)
        XCTAssertEqual(conn.statistics.outMessages, 4)
        XCTAssertEqual(conn.statistics.outBytes, 11)
    }

    func testBadRecordEndsTheCallAndCountsThoseBefore() throws {
        let conn = try Connection.connect(url: server.url)
        defer { conn.close() }
        let cases: [(subject: String, reply: String, header: String, expected: NATSError)] = [
            ("bad subject", "", "", .invalidSubject("bad subject")),
            ("pk", "pk.>", "", .invalidSubject("pk.>")),
            ("pk", "", "K: v\r\n\r\n", .invalidArgument("")),
        ]
        for bad in cases {
            var records = Records()
            records.append("pk", payload: [1])
            records.append(bad.subject, reply: bad.reply, header: bad.header, payload: [2])
            records.append("pk", payload: [3])
            XCTAssertThrowsError(try records.publish(on: conn)) { error in
                guard let failure = error as? PackedPublishFailure else { return XCTFail("\(error)") }
                XCTAssertEqual(failure.published, 1)
                if case .invalidArgument = bad.expected {
                    guard case .invalidArgument = failure.error else { return XCTFail("\(failure.error)") }
                } else {
                    XCTAssertEqual(failure.error, bad.expected)
                }
            }
        }
        var records = Records()
        records.append("pk", payload: [1])
        records.append("pk", payload: [2, 3])
        for cut in [records.bytes.count - 1, 16 + 2 + 1 + 5] {
            XCTAssertThrowsError(try records.publish(on: conn, count: cut)) { error in
                XCTAssertEqual((error as? PackedPublishFailure)?.published, 1)
            }
        }
        XCTAssertEqual(conn.statistics.outMessages, 5)
    }

    /// One call far larger than the outbound buffer's limit: it waits for the socket between
    /// records instead of growing without bound, and every record arrives.
    func testBatchLargerThanTheOutboundLimitArrivesWhole() throws {
        try checkBatchLargerThanTheOutboundLimit(sendAsap: false)
    }

    /// The same with send-asap, where a batch is written at its end: a wait for room in the
    /// middle of it first starts writing what is buffered (else it waits for itself).
    func testBatchLargerThanTheOutboundLimitArrivesWholeWithSendAsap() throws {
        try checkBatchLargerThanTheOutboundLimit(sendAsap: true)
    }

    private func checkBatchLargerThanTheOutboundLimit(sendAsap: Bool) throws {
        var options = try Options(url: server.url)
        options.sendAsap = sendAsap
        let conn = try Connection.connect(options)
        defer { conn.close() }
        let reader = try Connection.connect(url: server.url)
        defer { reader.close() }
        let sub = try reader.subscribeSync("bulk")
        try sub.setPendingLimits(messages: 0, bytes: 0)
        try reader.flush(timeoutMilliseconds: 2_000)
        var records = Records()
        let count = 20_000
        for index in 0..<count { records.append("bulk", payload: [UInt8](repeating: UInt8(index & 0xff), count: 100)) }
        XCTAssertGreaterThan(records.bytes.count, 4 * WritePath.publisherWriteThreshold)
        XCTAssertEqual(try records.publish(on: conn), count)
        try conn.flush(timeoutMilliseconds: 5_000)
        XCTAssertTrue(eventually(10) { sub.delivered + UInt64(sub.pendingCount.messages) == count })
    }

    func testHeaderBlockFraming() {
        func check(_ text: String) -> Bool {
            Array(text.utf8).withUnsafeBytes { PackedPublish.isHeaderBlock($0) }
        }
        XCTAssertTrue(check("NATS/1.0\r\n\r\n"))
        XCTAssertTrue(check("NATS/1.0 503\r\n\r\n"))
        XCTAssertTrue(check("NATS/1.0\r\nA: b\r\n\r\n"))
        XCTAssertFalse(check(""))
        XCTAssertFalse(check("NATS/1.0\r\n"))
        XCTAssertFalse(check("NATS/1.0\r\nA: b\r\n"))
        XCTAssertFalse(check("HTTP/1.1\r\n\r\n"))
    }
}
