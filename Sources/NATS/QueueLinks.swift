#if canImport(Glibc)
import Glibc
#endif
import CEpoll
import NIOConcurrencyHelpers

/// The sockets a dispatch queue's owner reads: the links of the connections that read on the
/// queue (`LinkReader`). Two epoll sets:
/// - `ownerSet` holds the queue's work signal and every link: the queue's descriptor, readable
///   while work waits or a link has bytes, so the owner's event loop wakes for either;
/// - `linkSet` holds the links alone: which of them to read now, and what a blocked owner
///   waits on while it reads them (`Condition.wait`).
public final class QueueLinks {
    let ownerSet: CInt
    private let linkSet: CInt
    private let readers = NIOLockedValueBox([CInt: LinkReader]())
    /// How long a blocked owner's wait sleeps between looks at its condition: a wait that a
    /// link's bytes end is woken by them; one that another thread ends notices within this.
    static let blockedSliceMilliseconds: CInt = 2

    /// `signal`: the queue's descriptor readable while work waits.
    init(signal: CInt) throws {
        ownerSet = epoll_create1(CInt(EPOLL_CLOEXEC))
        linkSet = epoll_create1(CInt(EPOLL_CLOEXEC))
        guard ownerSet >= 0, linkSet >= 0 else {
            let code = errno
            if ownerSet >= 0 { close(ownerSet) }
            if linkSet >= 0 { close(linkSet) }
            throw NATSError.io("cannot create the queue's epoll sets (errno \(code))")
        }
        guard Self.add(signal, to: ownerSet) else {
            let code = errno
            close(ownerSet)
            close(linkSet)
            throw NATSError.io("cannot watch the queue's signal (errno \(code))")
        }
    }

    deinit {
        close(ownerSet)
        close(linkSet)
    }

    /// Whether any link is read here now.
    var hasReaders: Bool { readers.withLockedValue { !$0.isEmpty } }

    func attach(_ reader: LinkReader) {
        readers.withLockedValue { readers in
            readers[reader.fileDescriptor] = reader
            _ = Self.add(reader.fileDescriptor, to: ownerSet)
            _ = Self.add(reader.fileDescriptor, to: linkSet)
        }
    }

    func detach(_ reader: LinkReader) {
        readers.withLockedValue { readers in
            guard readers[reader.fileDescriptor] === reader else { return }
            readers.removeValue(forKey: reader.fileDescriptor)
            _ = epoll_ctl(ownerSet, EPOLL_CTL_DEL, reader.fileDescriptor, nil)
            _ = epoll_ctl(linkSet, EPOLL_CTL_DEL, reader.fileDescriptor, nil)
        }
    }

    /// Reads every link that has bytes, waiting up to `timeoutMilliseconds` (0: not at all)
    /// for one to have some. Returns how many links were read. Callers look at `hasReaders`
    /// first: without links this is an empty epoll wait.
    @discardableResult
    func readReady(timeoutMilliseconds: CInt = 0) -> Int {
        var events = [epoll_event](repeating: epoll_event(), count: 8)
        let ready = events.withUnsafeMutableBufferPointer { buffer in
            epoll_wait(linkSet, buffer.baseAddress, CInt(buffer.count), timeoutMilliseconds)
        }
        guard ready > 0 else { return 0 }
        let found: [LinkReader] = readers.withLockedValue { readers in
            (0..<Int(ready)).compactMap { readers[CInt(truncatingIfNeeded: events[$0].data.fd)] }
        }
        for reader in found { reader.readAvailable() }
        return found.count
    }

    /// Waits up to `timeoutMilliseconds` for any of `sets` to have a link with bytes, then
    /// reads every such link.
    static func readReady(_ sets: [QueueLinks], timeoutMilliseconds: CInt) {
        if sets.count == 1 {
            sets[0].readReady(timeoutMilliseconds: timeoutMilliseconds)
            return
        }
        var entries = sets.map { pollfd(fd: $0.linkSet, events: Int16(POLLIN), revents: 0) }
        guard poll(&entries, nfds_t(entries.count), timeoutMilliseconds) > 0 else { return }
        for (index, entry) in entries.enumerated() where entry.revents != 0 { sets[index].readReady() }
    }

    private static func add(_ descriptor: CInt, to set: CInt) -> Bool {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = descriptor
        return epoll_ctl(set, EPOLL_CTL_ADD, descriptor, &event) == 0
    }
}
