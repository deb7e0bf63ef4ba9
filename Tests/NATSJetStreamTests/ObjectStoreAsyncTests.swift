import Foundation
import NATS
@testable import NATSJetStream
import NATSTestSupport
import XCTest

/// The object store's calls without blocking, and the state machines of their transfers.
final class ObjectStoreAsyncTests: JetStreamTestCase {
    private func store(_ name: String = "ASYNC") throws -> ObjectStore {
        try ObjectStore.create(js, bucket: name, config: try JSONValue.parse(#"{"storage":"memory"}"#))
    }

    /// Waits for a completion's outcome.
    private func outcome<Value>(
        _ what: String, _ start: (@escaping (Result<Value, Error>) -> Void) throws -> Void
    ) throws -> Result<Value, Error> {
        let done = expectation(description: what)
        let box = Collector<Result<Value, Error>>()
        try start { result in
            box.append(result)
            done.fulfill()
        }
        wait(for: [done], timeout: 10)
        return try XCTUnwrap(box.all.first)
    }

    private func pattern(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) } }

    /// A reader handing out `data` in pieces of at most `piece` bytes; it throws at `failAt`.
    private func reader(_ data: [UInt8], piece: Int, failAt: Int? = nil) -> ObjectUpload.Reader {
        var offset = 0
        return { buffer in
            if let failAt, offset >= failAt { throw NATSError.io("the reader broke") }
            let count = min(buffer.count, piece, data.count - offset)
            data.withUnsafeBytes { source in
                if count > 0, let base = buffer.baseAddress, let start = source.baseAddress {
                    base.copyMemory(from: start + offset, byteCount: count)
                }
            }
            offset += count
            return count
        }
    }

    func testPutAndGetMoreChunksThanTheWindow() throws {
        let objects = try store()
        let data = pattern(60_017)
        let info = try outcome("put") { done in
            try objects.put(ObjectMeta(name: "big", chunkSize: 1000), reader: reader(data, piece: 1000), completion: done)
        }.get()
        XCTAssertEqual(info.int("chunks"), 61)
        XCTAssertGreaterThan(61, ObjectUpload.window)
        XCTAssertEqual(info.string("digest"), try objects.put("same", data).string("digest"))

        let chunks = Collector<[UInt8]>()
        let read = try outcome("get") { done in
            try objects.get("big", writer: { chunks.append(Array($0)) }, completion: done)
        }.get()
        XCTAssertEqual(read.string("nuid"), info.string("nuid"))
        XCTAssertEqual(chunks.count, 61)
        XCTAssertEqual(Array(chunks.all.joined()), data)
        // The blocking get reads the same bytes.
        XCTAssertEqual(try objects.get("big").data, data)

        // Replacing it purges the old chunks once the new info is in.
        _ = try outcome("replace") { done in
            try objects.put(ObjectMeta(name: "big"), reader: reader([1, 2, 3], piece: 3), completion: done)
        }.get()
        let subjects = try js.streamInfo("OBJ_ASYNC", subjectsFilter: "$O.ASYNC.C.\(info.string("nuid") ?? "")")
        XCTAssertEqual(subjects.value("state")?.value("subjects")?.keys.count ?? 0, 0)
    }

    func testInfoStatusListLinksAndDelete() throws {
        let objects = try store()
        let target = try objects.put("target", Array("hello".utf8))
        let link = try outcome("link") { done in try objects.addLink("alias", to: target, completion: done) }.get()
        XCTAssertEqual(link.value("options")?.value("link")?.string("name"), "target")
        _ = try outcome("bucket link") { done in try objects.addBucketLink("all", to: "ASYNC", completion: done) }.get()
        guard case .failure(let refused) = try outcome("link over an object", { done in
            try objects.addLink("target", to: target, completion: done)
        }) else { return XCTFail("a link replaced an object") }
        XCTAssertTrue("\(refused)".contains("is an object"), "\(refused)")

        let through = Collector<[UInt8]>()
        let read = try outcome("get through a link") { done in
            try objects.get("alias", writer: { through.append(Array($0)) }, completion: done)
        }.get()
        XCTAssertEqual(read.string("name"), "target")
        XCTAssertEqual(Array(through.all.joined()), Array("hello".utf8))

        XCTAssertEqual(try outcome("info") { done in try objects.info("target", completion: done) }.get().int("size"), 5)
        XCTAssertEqual(try outcome("status") { done in try objects.status(completion: done) }.get().string("bucket"), "ASYNC")
        let names = try outcome("list") { done in try objects.list(completion: done) }.get().compactMap { $0.string("name") }
        XCTAssertEqual(Set(names), ["target", "alias", "all"])

        let marker = try outcome("delete") { done in try objects.delete("target", completion: done) }.get()
        XCTAssertEqual(marker.bool("deleted"), true)
        guard case .failure(let gone as JetStreamError) = try outcome("info of a deleted object", { done in
            try objects.info("target", completion: done)
        }) else { return XCTFail("a deleted object has an info") }
        XCTAssertEqual(gone.apiCode, 404)
        XCTAssertEqual(try outcome("info, deleted shown") { done in
            try objects.info("target", showDeleted: true, completion: done)
        }.get().bool("deleted"), true)
        XCTAssertEqual(try outcome("list with deleted") { done in try objects.list(showDeleted: true, completion: done) }.get().count, 3)
        guard case .failure = try outcome("get through a link to a deleted object", { done in
            try objects.get("alias", writer: { _ in XCTFail("bytes of a deleted object") }, completion: done)
        }) else { return XCTFail("a link to a deleted object read something") }
    }

    func testAFailingReaderRemovesItsChunksAndAFailingWriterStopsTheGet() throws {
        let objects = try store()
        let data = pattern(30_000)
        guard case .failure(let error) = try outcome("broken put", { done in
            try objects.put(ObjectMeta(name: "half", chunkSize: 1000), reader: reader(data, piece: 1000, failAt: 12_000), completion: done)
        }) else { return XCTFail("a put whose reader failed succeeded") }
        XCTAssertTrue("\(error)".contains("the reader broke"), "\(error)")
        XCTAssertEqual(try js.streamInfo("OBJ_ASYNC").value("state")?.int("messages"), 0)

        let whole = reader(data, piece: 1000)
        try objects.put(ObjectMeta(name: "whole", chunkSize: 1000), reader: whole)
        let calls = Collector<Int>()
        let settled = Collector<Bool>()
        guard case .failure(let stopped) = try outcome("broken get", { done in
            try objects.get("whole", writer: { _ in
                if !settled.all.isEmpty { XCTFail("a chunk after the completion") }
                calls.append(1)
                if calls.count == 3 { throw NATSError.io("the writer broke") }
            }, completion: { result in
                settled.append(true)
                done(result)
            })
        }) else { return XCTFail("a get whose writer failed succeeded") }
        XCTAssertTrue("\(stopped)".contains("the writer broke"), "\(stopped)")
        usleep(200_000)
        XCTAssertEqual(calls.count, 3)

        XCTAssertThrowsError(try objects.put(ObjectMeta(name: ""), reader: reader([], piece: 1)) { _ in XCTFail("ran") })
        XCTAssertThrowsError(try objects.put(ObjectMeta(name: "x", chunkSize: 0), reader: reader([], piece: 1)) { _ in XCTFail("ran") })
    }

    /// A lookup that fails otherwise than "no such object" says nothing of what is stored: a
    /// put or a link then fails with that cause (here the missing bucket, 10059) instead of
    /// going on as if the name were free.
    func testLookupsThatFailOtherwiseThanNotFoundStopPutsAndLinks() throws {
        let objects = try store()
        let target = try objects.put("target", [1])
        try ObjectStore.delete(js, bucket: "ASYNC")
        let isMissingBucket: (Error) -> Bool = { ($0 as? JetStreamError)?.errorCode == JetStreamError.ErrorCode.streamNotFound }
        XCTAssertThrowsError(try objects.put("x", [1])) { XCTAssertTrue(isMissingBucket($0), "\($0)") }
        XCTAssertThrowsError(try objects.addLink("l", to: target)) { XCTAssertTrue(isMissingBucket($0), "\($0)") }
        guard case .failure(let put) = try outcome("put", { done in
            try objects.put(ObjectMeta(name: "x"), reader: reader([1], piece: 1), completion: done)
        }) else { return XCTFail("a put into a deleted bucket succeeded") }
        XCTAssertTrue(isMissingBucket(put), "\(put)")
        guard case .failure(let link) = try outcome("link", { done in try objects.addLink("l", to: target, completion: done) })
        else { return XCTFail("a link in a deleted bucket succeeded") }
        XCTAssertTrue(isMissingBucket(link), "\(link)")
    }

    // MARK: the state machines, without sockets

    func testAnUploadReadsWithinItsWindowAndFinishesAfterTheLastAck() {
        var state = UploadState()
        XCTAssertTrue(state.claimPump())
        XCTAssertFalse(state.claimPump(), "one pump at a time")
        XCTAssertEqual(state.next(window: 2), .read)
        state.read(.success(10))
        XCTAssertEqual(state.next(window: 2), .read)
        state.read(.success(10))
        XCTAssertEqual(state.next(window: 2), .pause, "the window is full")
        state.acked(nil)
        XCTAssertTrue(state.claimPump(), "an ack makes room: a new pump")
        XCTAssertEqual(state.next(window: 2), .read)
        state.read(.success(10))
        XCTAssertEqual(state.next(window: 2), .pause)
        state.acked(nil)
        XCTAssertTrue(state.claimPump())
        XCTAssertEqual(state.next(window: 2), .read)
        state.read(.success(0))
        XCTAssertEqual(state.inFlight, 1, "the end gives its slot back")
        XCTAssertEqual(state.next(window: 2), .pause, "at the end, one chunk still in flight")
        state.acked(nil)
        XCTAssertTrue(state.claimPump())
        XCTAssertEqual(state.next(window: 2), .finish)
        XCTAssertNil(state.failure)
        XCTAssertFalse(state.claimPump(), "finished: nobody pumps again")
    }

    func testAnUploadFailsOnceItsChunksInFlightAreAcked() {
        var state = UploadState()
        XCTAssertTrue(state.claimPump())
        XCTAssertEqual(state.next(window: 4), .read)
        state.read(.success(5))
        XCTAssertEqual(state.next(window: 4), .read)
        state.read(.failure(NATSError.io("broken")))
        XCTAssertEqual(state.next(window: 4), .pause, "no more reads, one chunk in flight")
        state.acked(NATSError.timeout("late"))
        XCTAssertTrue(state.claimPump())
        XCTAssertEqual(state.next(window: 4), .finish)
        XCTAssertTrue("\(state.failure.map { "\($0)" } ?? "")".contains("broken"), "the first failure is kept")
    }

    func testADownloadSettlesOnceAndNeverWhileTheWriterRuns() {
        var state = DownloadState()
        XCTAssertTrue(state.startWriting())
        XCTAssertFalse(state.settle(failing: NATSError.timeout("timer")), "the writer runs: the failure waits")
        XCTAssertNotNil(state.wrote(), "and is settled when it returns")
        XCTAssertTrue(state.isSettled)
        XCTAssertFalse(state.startWriting(), "no chunk after the outcome")
        XCTAssertFalse(state.settle(failing: nil))

        var quiet = DownloadState()
        XCTAssertTrue(quiet.stalled(), "nothing came since the start")
        XCTAssertTrue(quiet.startWriting())
        XCTAssertNil(quiet.wrote())
        XCTAssertFalse(quiet.stalled(), "a chunk came")
        XCTAssertTrue(quiet.stalled(), "and none since")
        XCTAssertTrue(quiet.settle(failing: nil))
        XCTAssertFalse(quiet.stalled(), "settled: the timer stops")
    }
}
