#if canImport(Glibc)
import Glibc
#endif

/// A duplicate of the connection's socket, for writes made on the caller's thread when
/// waking the event loop would cost more than the write (a request, a reply). The caller
/// serializes every write: it uses this only while NIO has nothing of ours queued.
///
/// A duplicate rather than NIO's own descriptor: NIO may close its descriptor on the event
/// loop at any moment, and a write to a closed number could land in whatever file reuses it.
/// This one stays open, and the socket with it, until `close()`.
struct SocketWriter {
    private var fd: CInt

    /// Duplicates `socket`; nil when the process is out of descriptors.
    init?(duplicating socket: CInt) {
        let copy = fcntl(socket, F_DUPFD_CLOEXEC, 0)
        guard copy >= 0 else { return nil }
        fd = copy
    }

    /// Writes what the socket takes now without blocking: the count written, or nil when
    /// it took nothing (full, or failed: NIO's next write on the event loop reports why).
    func writeNow(_ bytes: UnsafeRawBufferPointer) -> Int? {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return 0 }
        while true {
            let written = send(fd, base, bytes.count, CInt(MSG_NOSIGNAL) | CInt(MSG_DONTWAIT))
            if written >= 0 { return written }
            if errno != EINTR { return nil }
        }
    }

    mutating func close() {
        if fd >= 0 { _ = Glibc.close(fd) }
        fd = -1
    }
}
