/// The servers a connection may use: the configured ones, shuffled unless the options say
/// not to, plus those the cluster announces in INFO `connect_urls` (implicit servers).
/// A value guarded by the connection's lock; no I/O.
///
/// Selection follows nats.go: the server in use stays at the head; choosing the next one moves
/// it to the tail (or drops it once it has used up its reconnect attempts) and returns the
/// new head.
struct ServerPool {
    struct Entry {
        var address: ServerAddress
        /// Failed attempts since the last successful connect to this server.
        var attempts = 0
        /// Learned from the cluster rather than configured.
        var isImplicit = false
        var lastAttempt: Deadline?
    }

    private(set) var entries: [Entry]

    init(_ servers: [ServerAddress], randomize: Bool) {
        entries = servers.map { Entry(address: $0) }
        if randomize { entries.shuffle() }
    }

    var isEmpty: Bool { entries.isEmpty }
    var count: Int { entries.count }
    var addresses: [ServerAddress] { entries.map(\.address) }
    var discovered: [ServerAddress] { entries.filter(\.isImplicit).map(\.address) }

    /// Moves the head (the server just used) to the tail, or drops it when `maxAttempts` (-1:
    /// no limit) are spent; returns the new head, or nil when the pool is empty.
    mutating func next(maxAttempts: Int) -> ServerAddress? {
        guard !entries.isEmpty else { return nil }
        let used = entries.removeFirst()
        if maxAttempts < 0 || used.attempts < maxAttempts { entries.append(used) }
        return entries.first?.address
    }

    /// Counts an attempt on the head server.
    mutating func recordAttempt() {
        guard !entries.isEmpty else { return }
        entries[0].attempts += 1
        entries[0].lastAttempt = .now()
    }

    /// When the head server was last tried, if ever.
    var headLastAttempt: Deadline? { entries.first?.lastAttempt }

    /// The head server connected: its attempts start over.
    mutating func recordSuccess() {
        guard !entries.isEmpty else { return }
        entries[0].attempts = 0
    }

    /// Makes `server` the head, for the first connect, which walks the list in order.
    mutating func moveToHead(_ server: ServerAddress) {
        guard let index = entries.firstIndex(where: { $0.address.sameEndpoint(as: server) }), index > 0 else { return }
        entries.insert(entries.remove(at: index), at: 0)
    }

    /// Adds the `host:port` entries of `connect_urls` that are not in the pool yet; they take
    /// the scheme and credentials of `template` (the server that announced them), as nats.go
    /// does. Returns whether any was new. Entries that do not parse are skipped: they come
    /// from the network.
    mutating func addDiscovered(_ urls: [String], template: ServerAddress, randomize: Bool) -> Bool {
        var added: [Entry] = []
        for url in urls {
            guard var address = try? ServerAddress(parsing: url) else { continue }
            if entries.contains(where: { $0.address.sameEndpoint(as: address) })
                || added.contains(where: { $0.address.sameEndpoint(as: address) })
            {
                continue
            }
            address.scheme = template.scheme
            address.user = template.user
            address.password = template.password
            address.tlsName = template.tlsName ?? template.host
            added.append(Entry(address: address, isImplicit: true))
        }
        if added.isEmpty { return false }
        if randomize { added.shuffle() }
        entries.append(contentsOf: added)
        return true
    }
}

extension ServerAddress {
    /// Same host and port, whatever the scheme and credentials.
    func sameEndpoint(as other: ServerAddress) -> Bool {
        host.lowercased() == other.host.lowercased() && port == other.port
    }
}
