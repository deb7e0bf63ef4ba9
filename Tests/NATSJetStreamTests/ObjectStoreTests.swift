import Foundation
import NATS
import NATSJetStream
import NATSTestSupport
import XCTest

final class ObjectStoreTests: JetStreamTestCase {
    func store(_ name: String = "FILES") throws -> ObjectStore {
        try ObjectStore.create(js, bucket: name, config: try json(#"{"storage":"memory","description":"test files"}"#))
    }

    func testDigestIsNatsGosFormat() throws {
        let objects = try store()
        let info = try objects.put("hello.txt", Array("hello".utf8))
        // sha256("hello"), URL-safe base64 with padding, as nats.go writes it.
        XCTAssertEqual(info.string("digest"), "SHA-256=LPJNul-wow4m6DsqxbninhsWHlwfp0JecwQzYpOLmCQ=")
        XCTAssertEqual(info.int("size"), 5)
        XCTAssertEqual(info.int("chunks"), 1)
        XCTAssertEqual(info.string("bucket"), "FILES")
        XCTAssertNotNil(info.string("mtime").flatMap(RFC3339Probe.nanoseconds))
    }

    func testPutGetManyChunksAndReplace() throws {
        let objects = try store()
        let data = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        var offset = 0
        let info = try objects.put(ObjectMeta(name: "big.bin", description: "big", metadata: ["kind": "test"], chunkSize: 65_536)) { buffer in
            let count = min(buffer.count, data.count - offset, 10_000)  // a reader that returns less than asked
            data.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: count) }
            offset += count
            return count
        }
        XCTAssertEqual(info.int("chunks"), 30)
        let (readInfo, readData) = try objects.get("big.bin")
        XCTAssertEqual(readData, data)
        XCTAssertEqual(readInfo.string("description"), "big")
        XCTAssertEqual(readInfo.value("metadata")?.string("kind"), "test")
        // Replacing it removes the old chunks.
        let before = try js.streamInfo("OBJ_FILES").value("state")?.int("messages") ?? 0
        try objects.put("big.bin", Array("small".utf8))
        XCTAssertEqual(try objects.get("big.bin").data, Array("small".utf8))
        let after = try js.streamInfo("OBJ_FILES").value("state")?.int("messages") ?? 0
        XCTAssertEqual(after, 2, "chunk + info: the 30 old chunks went (had \(before))")
    }

    func testEmptyObjectInfoListDeleteAndStatus() throws {
        let objects = try store()
        try objects.put("empty", [])
        XCTAssertEqual(try objects.get("empty").data, [])
        try objects.put("a", [1])
        try objects.put("b", [2])
        XCTAssertEqual(Set(try objects.list().compactMap { $0.string("name") }), ["empty", "a", "b"])
        try objects.delete("a")
        XCTAssertEqual(apiError { _ = try objects.info("a") }?.apiCode, 404)
        XCTAssertEqual(apiError { _ = try objects.get("a") }?.apiCode, 404)
        XCTAssertEqual(try objects.info("a", showDeleted: true).bool("deleted"), true)
        XCTAssertEqual(Set(try objects.list().compactMap { $0.string("name") }), ["empty", "b"])
        XCTAssertEqual(try objects.list(showDeleted: true).count, 3)
        XCTAssertEqual(apiError { try objects.delete("never") }?.apiCode, 404)
        let status = try objects.status()
        XCTAssertEqual(status.string("bucket"), "FILES")
        XCTAssertEqual(status.string("description"), "test files")
        XCTAssertEqual(try ObjectStore.buckets(js), ["FILES"])
        XCTAssertEqual(apiError { _ = try ObjectStore.bind(js, bucket: "NONE") }?.errorCode, JetStreamError.ErrorCode.streamNotFound)
        try ObjectStore.delete(js, bucket: "FILES")
        XCTAssertEqual(try ObjectStore.buckets(js), [])
    }

    func testLinks() throws {
        let objects = try store()
        let other = try store("OTHER")
        let target = try other.put("real", Array("content".utf8))
        try objects.addLink("alias", to: target)
        XCTAssertEqual(try objects.get("alias").data, Array("content".utf8))
        try objects.addBucketLink("all", to: "OTHER")
        XCTAssertThrowsError(try objects.get("all"))
        try objects.put("plain", [1])
        XCTAssertThrowsError(try objects.addLink("plain", to: target))
        let link = try objects.info("alias")
        XCTAssertEqual(link.value("options")?.value("link")?.string("bucket"), "OTHER")
        XCTAssertEqual(link.value("options")?.value("link")?.string("name"), "real")
        XCTAssertThrowsError(try objects.addLink("again", to: link))
    }

    func testWatch() throws {
        let objects = try store()
        try objects.put("first", [1])
        let watcher = try objects.watch()
        defer { watcher.stop() }
        XCTAssertEqual(try watcher.next(timeoutMilliseconds: 2_000)?.string("name"), "first")
        XCTAssertNil(try watcher.next(timeoutMilliseconds: 2_000))
        try objects.put("second", [2])
        XCTAssertEqual(try watcher.next(timeoutMilliseconds: 2_000)?.string("name"), "second")
        try objects.delete("first")
        let deleted = try watcher.next(timeoutMilliseconds: 2_000)
        XCTAssertEqual(deleted?.string("name"), "first")
        XCTAssertEqual(deleted?.bool("deleted"), true)
    }

    func testReaderFailureRemovesTheChunks() throws {
        let objects = try store()
        struct Broken: Error {}
        var calls = 0
        XCTAssertThrowsError(try objects.put(ObjectMeta(name: "broken", chunkSize: 10)) { buffer in
            calls += 1
            if calls == 3 { throw Broken() }
            buffer.baseAddress!.initializeMemory(as: UInt8.self, repeating: 7, count: 10)
            return 10
        })
        XCTAssertEqual(apiError { _ = try objects.info("broken") }?.apiCode, 404)
        XCTAssertTrue(eventually(2) { (try? self.js.streamInfo("OBJ_FILES").value("state")?.int("messages")) == 0 })
    }

    func testRFC3339Writer() {
        XCTAssertEqual(WallClock.rfc3339(nanoseconds: 0), "1970-01-01T00:00:00.000000000Z")
        XCTAssertEqual(WallClock.rfc3339(nanoseconds: 1_709_208_000_500_000_001), "2024-02-29T12:00:00.500000001Z")
        let now = WallClock.nowNanoseconds()
        XCTAssertEqual(RFC3339Probe.nanoseconds(WallClock.rfc3339(nanoseconds: now)), now)
    }
}
