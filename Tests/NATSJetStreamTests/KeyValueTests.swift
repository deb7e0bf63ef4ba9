import Foundation
import NATS
import NATSJetStream
import NATSTestSupport
import XCTest

final class KeyValueTests: JetStreamTestCase {
    func bucket(_ name: String = "CFG", _ settings: String = #"{"history":5,"storage":"memory"}"#) throws -> KeyValue {
        try KeyValue.create(js, bucket: name, config: try json(settings))
    }

    func text(_ entry: KeyValueEntry) -> String { String(decoding: entry.value, as: UTF8.self) }

    func testPutGetCreateUpdateDeletePurge() throws {
        let kv = try bucket()
        let first = try kv.put("db.host", Array("a".utf8))
        XCTAssertEqual(text(try kv.get("db.host")), "a")
        XCTAssertEqual(try kv.get("db.host").revision, first)
        let second = try kv.put("db.host", Array("b".utf8))
        XCTAssertEqual(text(try kv.get("db.host")), "b")
        XCTAssertEqual(text(try kv.get("db.host", revision: first)), "a")
        XCTAssertEqual(apiError { _ = try kv.get("db.port", revision: first) }?.apiCode, 404)  // another key's revision

        XCTAssertEqual(apiError { _ = try kv.create("db.host", Array("c".utf8)) }?.errorCode,
                       JetStreamError.ErrorCode.streamWrongLastSequence)
        XCTAssertEqual(apiError { _ = try kv.update("db.host", Array("c".utf8), last: first) }?.errorCode,
                       JetStreamError.ErrorCode.streamWrongLastSequence)
        let third = try kv.update("db.host", Array("c".utf8), last: second)
        XCTAssertGreaterThan(third, second)

        try kv.delete("db.host")
        XCTAssertEqual(apiError { _ = try kv.get("db.host") }?.apiCode, 404)
        // A deleted key can be created again.
        XCTAssertGreaterThan(try kv.create("db.host", Array("d".utf8)), third)
        XCTAssertEqual(try kv.history("db.host").map(\.operation), [.put, .put, .put, .delete, .put])

        try kv.purge("db.host")
        XCTAssertEqual(apiError { _ = try kv.get("db.host") }?.apiCode, 404)
        XCTAssertEqual(try kv.history("db.host").map(\.operation), [.purge])
        XCTAssertEqual(apiError { _ = try kv.get("never") }?.errorCode, JetStreamError.ErrorCode.messageNotFound)
        XCTAssertEqual(apiError { _ = try kv.history("never") }?.apiCode, 404)
    }

    func testKeysStatusBindAndBuckets() throws {
        let kv = try bucket()
        XCTAssertEqual(try kv.keys(), [])
        for key in ["a", "b.c", "b.d", "e"] { try kv.put(key, [1]) }
        try kv.put("a", [2])
        try kv.delete("e")
        XCTAssertEqual(Set(try kv.keys()), ["a", "b.c", "b.d"])
        XCTAssertEqual(Set(try kv.keys(["b.*"])), ["b.c", "b.d"])
        let status = try kv.status()
        XCTAssertEqual(status.string("bucket"), "CFG")
        XCTAssertEqual(status.int("values"), 6)
        XCTAssertEqual(status.int("history"), 5)
        let bound = try KeyValue.bind(js, bucket: "CFG")
        XCTAssertEqual(try bound.get("a").value, [2])
        XCTAssertEqual(try KeyValue.buckets(js), ["CFG"])
        XCTAssertEqual(apiError { _ = try KeyValue.bind(js, bucket: "NONE") }?.errorCode, JetStreamError.ErrorCode.streamNotFound)
        try KeyValue.delete(js, bucket: "CFG")
        XCTAssertEqual(try KeyValue.buckets(js), [])
    }

    func testBadNamesAndSettings() throws {
        XCTAssertThrowsError(try KeyValue.create(js, bucket: "a.b"))
        XCTAssertThrowsError(try KeyValue.create(js, bucket: "ok", config: try json(#"{"history":65}"#)))
        XCTAssertThrowsError(try KeyValue.create(js, bucket: "ok", config: try json(#"{"histroy":2}"#)))
        let kv = try bucket()
        for key in ["", ".a", "a.", "a b", "a*", "a>", "ü"] {
            XCTAssertThrowsError(try kv.put(key, [1]), key)
        }
    }

    func testTTLAndMaxValueSize() throws {
        let kv = try bucket("T", #"{"ttl":500000000,"max_value_size":8,"storage":"memory"}"#)
        try kv.put("k", Array("small".utf8))
        XCTAssertThrowsError(try kv.put("k", Array("much too large".utf8)))
        XCTAssertTrue(eventually(5) { (try? kv.get("k")) == nil })
        XCTAssertEqual(try kv.status().int("ttl"), 500_000_000)
    }

    func testWatchInitialValuesMarkerThenUpdates() throws {
        let kv = try bucket()
        try kv.put("a", Array("1".utf8))
        try kv.put("b", Array("2".utf8))
        try kv.put("a", Array("3".utf8))
        let watcher = try kv.watch()
        defer { watcher.stop() }
        var initial: [String] = []
        while let entry = try watcher.next(timeoutMilliseconds: 2_000) { initial.append("\(entry.key)=\(text(entry))") }
        XCTAssertEqual(initial, ["b=2", "a=3"])
        try kv.put("c", Array("4".utf8))
        try kv.delete("b")
        let put = try XCTUnwrap(try watcher.next(timeoutMilliseconds: 2_000))
        XCTAssertEqual(put.key, "c")
        XCTAssertEqual(put.operation, .put)
        let deleted = try XCTUnwrap(try watcher.next(timeoutMilliseconds: 2_000))
        XCTAssertEqual(deleted.key, "b")
        XCTAssertEqual(deleted.operation, .delete)
        XCTAssertThrowsError(try watcher.next(timeoutMilliseconds: 200))
    }

    func testWatchOfAnEmptyBucketAndUpdatesOnlyGiveTheMarkerFirst() throws {
        let kv = try bucket()
        let empty = try kv.watch()
        defer { empty.stop() }
        XCTAssertNil(try empty.next(timeoutMilliseconds: 2_000))
        try kv.put("x", [1])
        XCTAssertEqual(try empty.next(timeoutMilliseconds: 2_000)?.key, "x")

        let updates = try kv.watch(["x"], options: WatchOptions(updatesOnly: true))
        defer { updates.stop() }
        XCTAssertNil(try updates.next(timeoutMilliseconds: 2_000))
        try kv.put("x", [2])
        XCTAssertEqual(try updates.next(timeoutMilliseconds: 2_000)?.value, [2])
    }

    func testWatchWithHandlerHistoryAndIgnoreDeletes() throws {
        let kv = try bucket()
        try kv.put("h", [1])
        try kv.put("h", [2])
        try kv.delete("h")
        try kv.put("other", [9])
        let seen = Collector<String>()
        let watcher = try kv.watch(["h"], options: WatchOptions(includeHistory: true, ignoreDeletes: true)) { entry in
            seen.append(entry.map { "\($0.key):\($0.value)" } ?? "marker")
        }
        defer { watcher.stop() }
        XCTAssertTrue(eventually(5) { seen.count == 3 })
        XCTAssertEqual(seen.all, ["h:[1]", "h:[2]", "marker"])
        try kv.put("h", [3])
        XCTAssertTrue(eventually(5) { seen.count == 4 })
        XCTAssertEqual(seen.all.last, "h:[3]")
    }

    func testAWatchEndsWithItsConnection() throws {
        let other = try Connection.connect(url: server.url)
        let kv = try KeyValue.bind(try JetStream(connection: other), bucket: try bucket().bucket)
        let watcher = try kv.watch()
        XCTAssertNil(try watcher.next(timeoutMilliseconds: 2_000))
        other.close()
        // Not a timeout after the next one: the watch knows its consumer is gone.
        let start = Date()
        XCTAssertThrowsError(try watcher.next(timeoutMilliseconds: 5_000)) { error in
            guard case NATSError.invalidSubscription = error else { return XCTFail("\(error)") }
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 2)
        XCTAssertTrue(watcher.isEnded)
    }

    func testGatheringsEndWithTheirConnection() throws {
        let other = try Connection.connect(url: server.url)
        let kv = try KeyValue.bind(try JetStream(connection: other), bucket: try bucket().bucket)
        try kv.put("k", [1])
        let done = expectation(description: "keys")
        try kv.keys { outcome in
            XCTAssertEqual(try? outcome.get(), ["k"])
            done.fulfill()
        }
        wait(for: [done], timeout: 5)
    }

    func testBucketsAndWatchesStartWithoutWaiting() throws {
        let made = expectation(description: "created")
        var created: KeyValue?
        try KeyValue.create(js, bucket: "ASYNC", config: try JSONValue.parse(#"{"storage": "memory", "history": 3}"#)) {
            created = try? $0.get()
            made.fulfill()
        }
        wait(for: [made], timeout: 5)
        let kv = try XCTUnwrap(created)
        try kv.put("a", [1])
        try kv.put("a", [2])

        let bound = expectation(description: "bound")
        try KeyValue.bind(js, bucket: "ASYNC") { outcome in
            XCTAssertEqual(try? outcome.get().get("a").value, [2])
            bound.fulfill()
        }
        let missing = expectation(description: "missing")
        try KeyValue.bind(js, bucket: "NOPE") { outcome in
            guard case .failure(let error as JetStreamError) = outcome else { return XCTFail("\(outcome)") }
            XCTAssertEqual(error.errorCode, JetStreamError.ErrorCode.streamNotFound)
            missing.fulfill()
        }
        wait(for: [bound, missing], timeout: 5)

        let entries = Collector<String>()
        let started = expectation(description: "started")
        var watcher: KeyValueWatcher?
        try kv.watch(options: WatchOptions(includeHistory: true), handler: { entry in
            entries.append(entry.map { "\($0.key)=\($0.value)" } ?? "marker")
        }, started: { outcome in
            watcher = try? outcome.get()
            started.fulfill()
        })
        wait(for: [started], timeout: 5)
        defer { watcher?.stop() }
        XCTAssertNotNil(watcher)
        // The marker first: a change made before the initial values are read joins them.
        var deadline = Date().addingTimeInterval(5)
        while entries.count < 3 && Date() < deadline { usleep(10_000) }
        try kv.put("b", [3])
        deadline = Date().addingTimeInterval(5)
        while entries.count < 4 && Date() < deadline { usleep(10_000) }
        XCTAssertEqual(entries.all, ["a=[1]", "a=[2]", "marker", "b=[3]"])

        // A watch whose consumer cannot be made says so to `started`, and nothing else comes.
        try KeyValue.delete(js, bucket: "ASYNC")
        let failed = expectation(description: "failed")
        try kv.watch(handler: { _ in XCTFail("an entry of a watch that never started") }, started: { outcome in
            if case .success = outcome { XCTFail("a watch of a deleted bucket started") }
            failed.fulfill()
        })
        wait(for: [failed], timeout: 5)
    }

    func testRFC3339() {
        XCTAssertEqual(RFC3339Probe.nanoseconds("1970-01-01T00:00:01Z"), 1_000_000_000)
        XCTAssertEqual(RFC3339Probe.nanoseconds("2024-02-29T12:00:00.5Z"), 1_709_208_000_500_000_000)
        XCTAssertEqual(RFC3339Probe.nanoseconds("2024-02-29T13:00:00.000000001+01:00"), 1_709_208_000_000_000_001)
        XCTAssertNil(RFC3339Probe.nanoseconds("yesterday"))
        XCTAssertNotNil(RFC3339Probe.nanoseconds("2024-02-29T12:00:00.1234567891234Z"))
    }

    func testEntriesOfGetCarryTheirTime() throws {
        let kv = try bucket()
        try kv.put("t", [1])
        let created = try kv.get("t").createdNanoseconds
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        XCTAssertLessThan(abs(now - created), 10_000_000_000)
    }
}
