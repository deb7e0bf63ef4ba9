import XCTest

@testable import NATS

/// The connection's state machine, without a socket: each event's transition and action.
final class ConnectionLifecycleTests: XCTestCase {
    func testFirstConnectThenReconnect() throws {
        var life = ConnectionLifecycle()
        XCTAssertEqual(life.status, .connecting)
        XCTAssertThrowsError(try life.checkSubscribe()) { XCTAssertEqual($0 as? NATSError, .notConnected) }
        XCTAssertEqual(life.adopt(), .firstConnect)
        XCTAssertEqual(life.status, .connected)
        XCTAssertTrue(life.hasConnected)
        XCTAssertEqual(try life.publishRoute(), .link)

        let lost = NATSError.staleConnection
        XCTAssertEqual(life.linkLost(lost, allowReconnect: true), .reconnect(lost))
        XCTAssertEqual(life.status, .reconnecting)
        XCTAssertEqual(life.lastDisconnect, lost)
        XCTAssertEqual(try life.publishRoute(), .reconnectBuffer)
        XCTAssertNoThrow(try life.checkSubscribe())
        XCTAssertNoThrow(try life.checkFlush())
        XCTAssertThrowsError(try life.beginDrain()) { XCTAssertEqual($0 as? NATSError, .reconnecting) }
        XCTAssertEqual(life.linkLost(nil, allowReconnect: true), .ignore, "no link to lose while reconnecting")

        XCTAssertEqual(life.adopt(), .reconnected)
        XCTAssertEqual(life.status, .connected)
        XCTAssertNil(life.lastDisconnect, "a new link clears the disconnect reason")
        XCTAssertNil(life.linkError)
    }

    func testLinkLostWithoutReconnectOrWhileDrainingCloses() throws {
        var life = ConnectionLifecycle()
        _ = life.adopt()
        life.linkError = .serverError("Some Server Trouble")
        // No error of its own: the server's last words are the reason.
        XCTAssertEqual(life.linkLost(nil, allowReconnect: false), .close(.serverError("Some Server Trouble")))

        var draining = ConnectionLifecycle()
        _ = draining.adopt()
        try draining.beginDrain()
        XCTAssertEqual(draining.status, .draining)
        XCTAssertThrowsError(try draining.checkSubscribe()) { XCTAssertEqual($0 as? NATSError, .draining) }
        XCTAssertThrowsError(try draining.beginDrain()) { XCTAssertEqual($0 as? NATSError, .draining) }
        XCTAssertEqual(draining.linkLost(nil, allowReconnect: true), .close(.io("the server closed the connection")))
    }

    func testTeardownRunsOnceAndKeepsTheFirstReason() throws {
        var life = ConnectionLifecycle()
        _ = life.adopt()
        XCTAssertEqual(life.closeFromLibrary(.staleConnection), .runTeardown)
        XCTAssertEqual(life.close(), .alreadyClosing)
        XCTAssertEqual(life.closeFromLibrary(.connectionClosed), .alreadyClosing)
        XCTAssertEqual(life.closeReason, .staleConnection)
        XCTAssertEqual(life.status, .closed)
        XCTAssertEqual(life.teardown, .running)
        life.teardownFinished()
        XCTAssertEqual(life.teardown, .done)
        XCTAssertEqual(life.adopt(), .refuse, "a link completing after the close is refused")
        XCTAssertThrowsError(try life.publishRoute()) { XCTAssertEqual($0 as? NATSError, .connectionClosed) }
        XCTAssertThrowsError(try life.checkFlush()) { XCTAssertEqual($0 as? NATSError, .connectionClosed) }
    }

    func testUserCloseHasNoReasonAndReconnectGivingUpHasOne() {
        var closed = ConnectionLifecycle()
        _ = closed.adopt()
        XCTAssertEqual(closed.close(), .runTeardown)
        XCTAssertNil(closed.closeReason)
        XCTAssertNil(closed.reconnectGaveUp(), "closed meanwhile: nothing to give up")

        var reconnecting = ConnectionLifecycle()
        _ = reconnecting.adopt()
        _ = reconnecting.linkLost(.io("reset"), allowReconnect: true)
        reconnecting.linkError = .connectFailed("127.0.0.1:1: refused")
        XCTAssertEqual(
            reconnecting.reconnectGaveUp(),
            .connectFailed("reconnect gave up, no server left to try: last failure: \(NATSError.connectFailed("127.0.0.1:1: refused"))"))
    }
}

/// The write path's decisions, without a socket.
final class WritePathDecisionTests: XCTestCase {
    func testSmallPublishesAskTheLoopOnceAndABurstWritesItself() {
        var path = WritePath()
        path.outbound.appendPing()
        XCTAssertEqual(path.afterPublish(), .scheduleFlush)
        XCTAssertTrue(path.claimFlush())
        XCTAssertFalse(path.claimFlush(), "one flush queued at a time")

        let big = [UInt8](repeating: 1, count: WritePath.publisherWriteThreshold)
        big.withUnsafeBytes { payload in
            "s".utf8CString.withUnsafeBytes { subject in
                path.outbound.appendPublish(
                    subject: UnsafeRawBufferPointer(rebasing: subject.dropLast()), reply: nil, headers: nil, payload: payload)
            }
        }
        XCTAssertEqual(path.afterPublish(), .writeNow(armTailTimer: true))
        XCTAssertEqual(path.afterPublish(), .writeNow(armTailTimer: false), "armed once per burst")
        path.outbound.removeAll()
        XCTAssertEqual(path.afterPublish(), .leaveToTailTimer, "the armed timer sends the tail")
        // The timer sees the burst go on, then end.
        let seen = path.publisherWrites
        XCTAssertNil(path.tailTimerFired(seenWrites: seen, linkUp: true))
        XCTAssertEqual(path.afterPublish(), .scheduleFlush)
        path.publisherWrites &+= 1
        XCTAssertEqual(path.tailTimerFired(seenWrites: seen, linkUp: true), seen &+ 1)
        XCTAssertNil(path.tailTimerFired(seenWrites: seen, linkUp: false), "no link: disarm")
    }
}
