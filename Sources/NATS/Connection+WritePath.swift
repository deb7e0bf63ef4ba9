import NIOCore

/// The write path's state, guarded by the connection's lock. Publishers append to `outbound`;
/// the event loop swaps it with the connection's `writing` (which only the loop touches
/// otherwise, so it lives outside this lock-guarded value) and copies that into one socket
/// write. A publisher in a burst writes whole batches itself (`writeNow`) and
/// a timer on the loop sends the tail (nats.c's flusher); otherwise the loop is asked once.
struct WritePath {
    var outbound = OutboundBuffer()
    /// A flush is queued on the event loop.
    var flushScheduled = false
    /// Writes handed to NIO and not yet done; while any is, every write must go through NIO.
    var writesInFlight = 0
    /// Counts links (sockets); a write completing for an older link is not counted down.
    var linkGeneration: UInt64 = 0
    /// Batches publishers wrote themselves, and whether the tail-flush timer runs.
    var publisherWrites: UInt64 = 0
    var tailFlushArmed = false
    var publishersWaiting = 0

    /// A publisher that has buffered this much writes it itself, as nats.c does: a loop of
    /// publishes then costs one syscall per 64 KiB and no thread wake-ups.
    static let publisherWriteThreshold = 64 * 1024
    static let tailFlushDelay = TimeAmount.milliseconds(1)

    /// Buffers beyond this are freed once written, so a burst does not keep its memory.
    static let retainedBufferCapacity = 4 * 1024 * 1024

    enum AfterPublish: Equatable {
        /// Write the buffer on the publisher's thread, and arm the tail timer (unless armed).
        case writeNow(armTailTimer: Bool)
        /// Ask the event loop for one flush (unless one is queued).
        case scheduleFlush
        /// The armed tail timer will send it.
        case leaveToTailTimer
    }

    /// What to do after a publish was buffered.
    mutating func afterPublish() -> AfterPublish {
        if outbound.count >= Self.publisherWriteThreshold {
            publisherWrites &+= 1
            let arm = !tailFlushArmed
            tailFlushArmed = true
            return .writeNow(armTailTimer: arm)
        }
        return tailFlushArmed ? .leaveToTailTimer : .scheduleFlush
    }

    /// The tail timer fired having seen `seenWrites` publisher writes: nil disarms it (the
    /// burst ended: the caller flushes what is left), else it re-arms with the new count.
    mutating func tailTimerFired(seenWrites: UInt64, linkUp: Bool) -> UInt64? {
        if linkUp && publisherWrites != seenWrites { return publisherWrites }
        tailFlushArmed = false
        return nil
    }

    /// Whether a flush must be queued on the event loop (none is yet); marks it queued.
    mutating func claimFlush() -> Bool {
        if flushScheduled { return false }
        flushScheduled = true
        return true
    }
}

/// Publishing and the write path of a connection: buffering under the lock, writes on the
/// publisher's thread when the socket is idle, coalesced writes on the event loop.
extension Connection {
    /// The byte-level publish that the C ABI calls without building Swift strings.
    /// `sendNow`: write on this thread when the socket is idle, instead of waking the event
    /// loop: for a request or a reply, where someone waits for the answer. Publishers in a
    /// loop keep the default, which coalesces their messages into few writes.
    public func publish(
        subject: UnsafeRawBufferPointer, reply: UnsafeRawBufferPointer?,
        headers: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, sendNow: Bool = false
    ) throws {
        guard Subject.isValidPublishSubject(subject) else {
            throw NATSError.invalidSubject(String(decoding: subject, as: UTF8.self))
        }
        if let reply, !Subject.isValidPublishSubject(reply) {
            throw NATSError.invalidSubject(String(decoding: reply, as: UTF8.self))
        }
        lock.lock()
        defer { lock.unlock() }
        try bufferPublishLocked(subject: subject, reply: reply, headers: headers, payload: payload)
        if sendNow || options.sendAsap {
            writeNowLocked()
        } else {
            sendPublishedLocked()
        }
    }

    /// Publishes a small frame of the library's own from the event loop (a liveness frame),
    /// where waiting for outbound room would wait for the loop itself: it is buffered even
    /// past the outbound limit, and goes out with the loop's next write.
    public func publishFromEventLoop(_ subject: String, reply: String? = nil, payload: [UInt8]) throws {
        var subjectText = subject
        var replyText = reply ?? ""
        try subjectText.withUTF8 { subjectBytes in
            try replyText.withUTF8 { replyBytes in
                try payload.withUnsafeBytes { payloadBytes in
                    let subjectBuffer = UnsafeRawBufferPointer(subjectBytes)
                    let replyBuffer = reply == nil ? nil : UnsafeRawBufferPointer(replyBytes)
                    guard Subject.isValidPublishSubject(subjectBuffer) else { throw NATSError.invalidSubject(subject) }
                    if let replyBuffer, !Subject.isValidPublishSubject(replyBuffer) {
                        throw NATSError.invalidSubject(reply ?? "")
                    }
                    lock.lock()
                    defer { lock.unlock() }
                    try bufferPublishLocked(
                        subject: subjectBuffer, reply: replyBuffer, headers: nil, payload: payloadBytes, mayWait: false)
                    scheduleFlushLocked()
                }
            }
        }
    }

    /// Publishes the records of a `PackedPublish` buffer in order, holding the lock once for
    /// all of them. Returns how many were published (all of them); a bad record, or one the
    /// connection refuses, ends the call with a `PackedPublishFailure` that counts the
    /// records published before it.
    @discardableResult
    public func publish(packed records: UnsafeRawBufferPointer) throws -> Int {
        var published = 0
        var offset = 0
        var checkedSubject: UnsafeRawBufferPointer?
        lock.lock()
        defer {
            // Send-asap: the whole batch in one write, even when a record failed.
            if options.sendAsap && published > 0 { writeNowLocked() }
            lock.unlock()
        }
        while offset < records.count {
            do {
                let record = try PackedPublish.record(in: records, at: offset, checkedSubject: &checkedSubject)
                try bufferPublishLocked(
                    subject: record.subject, reply: record.reply, headers: record.headers, payload: record.payload)
                offset = record.end
            } catch let error as NATSError {
                throw PackedPublishFailure(published: published, error: error)
            }
            published += 1
            if !options.sendAsap { sendPublishedLocked() }
        }
        return published
    }

    /// With the lock held: checks one checked-subject message against the connection and
    /// appends it to the write.outbound buffer.
    func bufferPublishLocked(
        subject: UnsafeRawBufferPointer, reply: UnsafeRawBufferPointer?,
        headers: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer, mayWait: Bool = true
    ) throws {
        let size = (headers?.count ?? 0) + payload.count
        if size > info.maxPayload { throw NATSError.maxPayload(limit: info.maxPayload, actual: size) }
        try Subject.checkControlLine(subject: subject.count, other: reply?.count ?? 0, String(decoding: subject, as: UTF8.self))
        try waitForOutboundSpace(adding: size + subject.count + (reply?.count ?? 0) + 32, mayWait: mayWait)
        write.outbound.appendPublish(subject: subject, reply: reply, headers: headers, payload: payload)
        stats.outMessages &+= 1
        stats.outBytes &+= UInt64(payload.count)
    }

    /// With the lock held, after buffering a publish: a publisher in a loop writes whole
    /// batches itself and leaves the tail to a timer; otherwise the event loop is asked once.
    func sendPublishedLocked() {
        switch write.afterPublish() {
        case .writeNow(let armTailTimer):
            writeNowLocked()
            if armTailTimer { armTailTimerLocked() }
        case .scheduleFlush:
            scheduleFlushLocked()
        case .leaveToTailTimer:
            break
        }
    }

    /// With the lock held: fails unless the connection takes publishes, and waits while the
    /// outbound buffer is over its limit (the socket is not keeping up). While reconnecting,
    /// `outbound` is the reconnect buffer: it never waits then, and fails once full.
    /// `mayWait` false (the event loop, which drains the buffer, publishing a small frame):
    /// the buffer may go past its limit instead.
    func waitForOutboundSpace(adding opSize: Int, mayWait: Bool = true) throws {
        while true {
            if try lifecycle.publishRoute() == .reconnectBuffer {
                let limit = options.reconnectBufferBytes
                if limit == 0 { throw NATSError.reconnecting }
                if write.outbound.count + opSize > limit { throw NATSError.reconnectBufferExceeded(limit: limit) }
                return
            }
            if write.outbound.count < options.maxOutboundBytes || !mayWait { return }
            // Something must be draining the buffer while this waits (a send-asap batch
            // writes only at its end).
            if options.sendAsap { writeNowLocked() } else { scheduleFlushLocked() }
            if write.outbound.count < options.maxOutboundBytes { return }
            write.publishersWaiting += 1
            lock.wait(until: nil)
            write.publishersWaiting -= 1
        }
    }

    /// A publisher writing its own batches is in a burst: rather than waking the event loop
    /// for every batch begun, a timer on the loop sends the tail that no batch write took,
    /// at most `tailFlushDelay` late (nats.c's flusher always waits that long).
    private func armTailTimerLocked() {
        let seen = write.publisherWrites
        eventLoop.scheduleTask(in: WritePath.tailFlushDelay) { self.flushTail(seenWrites: seen) }
    }

    /// On the event loop: sends what is buffered; stays armed while publishers still write.
    private func flushTail(seenWrites: UInt64) {
        let stillBursting: UInt64? = lock.withLock {
            write.tailTimerFired(seenWrites: seenWrites, linkUp: channel != nil)
        }
        flushOutbound()
        if let seen = stillBursting {
            eventLoop.scheduleTask(in: WritePath.tailFlushDelay) { self.flushTail(seenWrites: seen) }
        }
    }

    func scheduleFlushLocked() {
        if write.claimFlush() { eventLoop.execute { self.flushOutbound() } }
    }

    /// With the lock held, on any thread: writes the write.outbound buffer straight to the socket
    /// when NIO holds none of our bytes (everything before `write.outbound` is on the wire, so the
    /// order holds); whatever the socket does not take now goes through the event loop.
    func writeNowLocked() {
        guard write.writesInFlight == 0, channel != nil, let writer else {
            scheduleFlushLocked()
            return
        }
        let written = write.outbound.withBytes { writer.writeNow($0) } ?? 0
        write.outbound.removeFirst(written)
        if !write.outbound.isEmpty { scheduleFlushLocked() }
    }

    /// On the event loop: hands everything buffered to the channel in one write; returns when
    /// that write is done, or nil when nothing was written.
    @discardableResult
    func flushOutbound() -> EventLoopFuture<Void>? {
        let taken: (Channel, UInt64)? = lock.withLock {
            write.flushScheduled = false
            guard let current = channel, !write.outbound.isEmpty, current.isWritable else { return nil }
            swap(&write.outbound, &writing)
            write.writesInFlight += 1
            if write.publishersWaiting > 0 { lock.broadcast() }
            return (current, write.linkGeneration)
        }
        guard let (target, generation) = taken else { return nil }
        var data = target.allocator.buffer(capacity: writing.count)
        _ = writing.withBytes { data.writeBytes($0) }
        let publishes = writing.publishes
        writing.removeAll()
        writing.shrinkIfLarge(keeping: WritePath.retainedBufferCapacity)
        let written = target.writeAndFlush(data)
        written.whenComplete { result in
            self.lock.withLock {
                if self.write.linkGeneration == generation { self.write.writesInFlight -= 1 }
                if case .failure = result { self.stats.lostPublishes &+= UInt64(publishes) }
            }
        }
        return written
    }

    /// Appends a control op to the outbound buffer (SUB, UNSUB, PING, PONG). Dropped while
    /// reconnecting: the new link gets the subscriptions and PINGs it needs from `adopt`.
    func enqueueControlLocked(_ append: (inout OutboundBuffer) -> Void) {
        if status == .reconnecting { return }
        append(&write.outbound)
        if options.sendAsap { writeNowLocked() } else { scheduleFlushLocked() }
    }

}
