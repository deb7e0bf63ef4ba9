#if canImport(Glibc)
import Glibc
#endif

/// Opens a TCP connection to `host:port` before a deadline, trying every address the name
/// resolves to in order. The connection owns its socket (rather than letting NIO connect) so
/// that it can keep a duplicate of it for `SocketWriter`.
enum TCPConnector {
    /// A connected, non-blocking, close-on-exec socket; the caller owns it.
    static func connect(host: String, port: Int, deadline: Deadline) throws -> CInt {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = CInt(SOCK_STREAM.rawValue)
        hints.ai_protocol = CInt(IPPROTO_TCP)
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else {
            throw NATSError.connectFailed("\(host):\(port): cannot resolve: \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(first) }
        var failure = "no address"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            entry = current.pointee.ai_next
            do {
                return try attempt(current.pointee, deadline: deadline)
            } catch let error as AttemptFailure {
                failure = error.reason
                if error.isTimeout { break }
            }
        }
        throw NATSError.connectFailed("\(host):\(port): \(failure)")
    }

    private struct AttemptFailure: Error {
        var reason: String
        var isTimeout = false
    }

    private static func attempt(_ address: addrinfo, deadline: Deadline) throws -> CInt {
        let fd = socket(address.ai_family, CInt(SOCK_STREAM.rawValue) | CInt(SOCK_NONBLOCK.rawValue) | CInt(SOCK_CLOEXEC.rawValue), address.ai_protocol)
        guard fd >= 0 else { throw AttemptFailure(reason: systemError("socket")) }
        var keep = false
        defer { if !keep { close(fd) } }
        if Glibc.connect(fd, address.ai_addr, address.ai_addrlen) != 0 {
            guard errno == EINPROGRESS else { throw AttemptFailure(reason: systemError("connect")) }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            while true {
                let remaining = deadline.remainingNanoseconds
                if remaining <= 0 { throw AttemptFailure(reason: "connect timed out", isTimeout: true) }
                let ready = poll(&poller, 1, CInt(min(Int64(CInt.max), (remaining + 999_999) / 1_000_000)))
                if ready > 0 { break }
                if ready < 0 && errno != EINTR { throw AttemptFailure(reason: systemError("poll")) }
            }
            var soError: CInt = 0
            var length = socklen_t(MemoryLayout<CInt>.size)
            if getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length) != 0 {
                throw AttemptFailure(reason: systemError("getsockopt"))
            }
            if soError != 0 { throw AttemptFailure(reason: String(cString: strerror(soError))) }
        }
        keep = true
        return fd
    }

    private static func systemError(_ call: String) -> String {
        "\(call): \(String(cString: strerror(errno)))"
    }
}
