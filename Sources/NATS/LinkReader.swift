#if canImport(Glibc)
import Glibc
#endif
import NIOConcurrencyHelpers
import NIOCore

/// Reads a link's socket on the thread of a dispatch queue's owner, for a connection that
/// reads on its queue (`Options.readOnDispatchQueue`): the bytes go to the link's
/// `InboundProcessor` right there, so a message or reply reaches the owner with no thread
/// between the socket and it (the event loop would otherwise read it and wake the owner).
///
/// One read at a time: a thread that finds another reading leaves the socket to it (the
/// descriptor stays readable, so nothing is missed). `close()` never waits: during a read it
/// leaves the descriptor to the reader, which closes it on its way out.
final class LinkReader {
    /// How much one read takes at most.
    static let readSize = 64 * 1024

    let processor: InboundProcessor
    /// The link's write-only channel: what the processor reports the link as.
    let channel: Channel
    /// A duplicate of the socket, this reader's own.
    let fileDescriptor: CInt

    private struct State {
        var reading = false
        var closed = false
        var descriptorClosed = false
        var queue: QueueLinks?
    }
    private let state = NIOLockedValueBox(State())
    /// Only the thread that set `reading` touches it.
    private var buffer: ByteBuffer

    init(fileDescriptor: CInt, processor: InboundProcessor, channel: Channel) {
        self.fileDescriptor = fileDescriptor
        self.processor = processor
        self.channel = channel
        self.buffer = channel.allocator.buffer(capacity: Self.readSize)
    }

    /// Reads what the socket holds now (one read, without blocking) and processes it. Returns
    /// false when another thread is reading or the reader is closed.
    @discardableResult
    func readAvailable() -> Bool {
        let mine: Bool = state.withLockedValue { state in
            guard !state.reading, !state.closed else { return false }
            state.reading = true
            return true
        }
        guard mine else { return false }
        defer {
            let closing: QueueLinks?? = state.withLockedValue { state in
                state.reading = false
                guard state.closed, !state.descriptorClosed else { return nil }
                state.descriptorClosed = true
                defer { state.queue = nil }
                return .some(state.queue)
            }
            if case .some(let queue) = closing { closeDescriptor(leaving: queue) }
        }
        buffer.clear()
        var failure: Int32 = 0
        let count = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.readSize) { space -> Int in
            while true {
                let got = recv(fileDescriptor, space.baseAddress, space.count, CInt(MSG_DONTWAIT))
                if got >= 0 { return got }
                if errno == EINTR { continue }
                failure = errno
                return 0
            }
        }
        if count > 0 {
            processor.process(&buffer, from: channel)
        } else if failure == EAGAIN || failure == EWOULDBLOCK {
            return true
        } else if failure != 0 {
            processor.fail(link: channel, error: .io("read failed: \(String(cString: strerror(failure)))"))
        } else {
            processor.linkEnded(channel)
            channel.close(promise: nil)
        }
        return true
    }

    /// Joins `queue`: its owner reads this link from now on.
    func attach(to queue: QueueLinks) {
        // Under the lock, so a close cannot come between (lock order: reader, then queue).
        state.withLockedValue { state in
            guard !state.closed else { return }
            state.queue = queue
            queue.attach(self)
        }
    }

    /// The link ended: leaves the queue, and the descriptor is closed (now, or by the read in
    /// progress as it ends). Never waits.
    func close() {
        let closing: QueueLinks?? = state.withLockedValue { state in
            guard !state.closed else { return nil }
            state.closed = true
            guard !state.reading else { return nil }
            state.descriptorClosed = true
            defer { state.queue = nil }
            return .some(state.queue)
        }
        if case .some(let queue) = closing { closeDescriptor(leaving: queue) }
    }

    /// Leaves the queue's epoll sets while the descriptor is still open (epoll forgets a
    /// closed descriptor only once every duplicate of the socket is closed), then closes it.
    private func closeDescriptor(leaving queue: QueueLinks?) {
        queue?.detach(self)
        Glibc.close(fileDescriptor)
    }
}
