/// Traffic counters of a connection, as nats.c's `natsStatistics` and nats.go's `Stats()`.
public struct Statistics: Equatable {
    public var inMessages: UInt64 = 0
    public var inBytes: UInt64 = 0
    public var outMessages: UInt64 = 0
    public var outBytes: UInt64 = 0
    /// Times the connection was re-established after losing its server.
    public var reconnects: UInt64 = 0
    /// Publishes accepted that never reached a server: still buffered (or handed to the socket
    /// and failed) when their link died, or refused on replay for the new server's
    /// max_payload. Bytes already in the kernel when a link dies are not known to be lost.
    public var lostPublishes: UInt64 = 0

    public init() {}
}

/// Where a connection is in its life.
public enum ConnectionStatus: Int, Equatable {
    case disconnected = 0
    case connecting = 1
    case connected = 2
    case reconnecting = 3
    case draining = 4
    case closed = 5
}
