/// Everything a connection is configured with. A value: `Connection.connect` copies it, so a
/// caller may change or drop its own copy afterwards (as nats.c clones `natsOptions`).
/// Defaults follow nats.c and nats.go.
public struct Options {
    public var servers: [ServerAddress] = [ServerAddress(host: "127.0.0.1")]
    public var name: String?
    public var connectTimeoutMilliseconds: Int64 = 2_000
    public var pingIntervalMilliseconds: Int64 = 120_000
    public var maxPingsOut = 2
    public var echo = true
    public var verbose = false
    public var pedantic = false
    public var inboxPrefix = "_INBOX"
    /// Per-subscription limits on messages waiting for delivery; past either, messages are
    /// dropped and the error callback hears `slowConsumer` (0 = no limit).
    public var pendingMessagesLimit = 65_536
    public var pendingBytesLimit = 64 * 1024 * 1024
    /// Publishers wait while this many bytes are queued for the socket. Small on purpose, as
    /// nats.c and nats.go block at 32 KB: batches of tens of MB cost more in page faults than
    /// they save in system calls (measured: 1 KiB publishes went from 0.75 to 1.3-1.8 M/s).
    public var maxOutboundBytes = 256 * 1024
    public var user: String?
    public var password: String?
    public var token: String?
    /// nkey authentication: the user's seed (`SU...`) in memory, or a file holding it. The
    /// public key goes in CONNECT and the seed signs the server's nonce.
    public var nkeySeed: SecretBytes?
    public var nkeySeedFile: String?
    /// JWT authentication: a `.creds` file with the user JWT and its nkey seed.
    public var credentialsFile: String?
    /// For keys kept elsewhere: the user JWT (nil with `signature` alone means plain nkey
    /// authentication with `nkeyPublicKey`), and a function that signs the server's nonce
    /// (returns the 64-byte Ed25519 signature). Called on the connecting thread at each
    /// handshake, reconnects included.
    public var userJWT: (() throws -> String)?
    public var nkeyPublicKey: String?
    public var signature: ((_ nonce: [UInt8]) throws -> [UInt8])?
    public var tls = TLSOptions()

    // Reconnect and fail-over (defaults as nats.c and nats.go).
    /// Whether a lost connection is re-established; off, losing the server closes it.
    public var allowReconnect = true
    /// Attempts per server before it leaves the pool; -1 tries forever.
    public var maxReconnectAttempts = 60
    /// Pause after every pass through the whole server list, plus a random jitter.
    public var reconnectWaitMilliseconds: Int64 = 2_000
    public var reconnectJitterMilliseconds: Int64 = 100
    public var reconnectJitterTLSMilliseconds: Int64 = 1_000
    /// Replaces wait + jitter: given how many passes through the list failed, returns the
    /// pause in milliseconds. Runs on the connection's reconnect thread.
    public var customReconnectDelay: ((Connection, Int) -> Int64)?
    /// Publishes made while reconnecting wait here and go out after the subscriptions once
    /// connected again; past it, publish fails with `reconnectBufferExceeded`. 0: no buffer,
    /// publish fails with `reconnecting`.
    public var reconnectBufferBytes = 8 * 1024 * 1024
    /// Keep the server list in the given order instead of shuffling it.
    public var noRandomize = false
    /// Do not add the servers a cluster announces (INFO `connect_urls`) to the pool.
    public var ignoreDiscoveredServers = false

    // Where callbacks run (DESIGN.md, threading model).
    /// 0: on the process-wide `DeliveryPool.shared`; more: on a pool of this many threads
    /// made for this connection alone.
    public var deliveryPoolSize = 0
    /// Every callback subscription gets a thread of its own (nats.c's default), unless it
    /// names another delivery.
    public var dedicatedDeliveryThreads = false
    /// Connection events, subscriptions, services and RPC callbacks of this connection wait
    /// in this queue for its owner to dispatch them, instead of running on a pool.
    public var dispatchQueue: DeliveryQueue?
    /// The owner of `dispatchQueue` reads this connection's socket too, when it dispatches
    /// (nats.c's event-loop mode, through the queue's descriptor): messages and replies reach
    /// the owner with no thread in between. The socket is then read only while the owner
    /// drains the queue or blocks in the library; TLS links are read by the event loop
    /// whatever this says.
    public var readOnDispatchQueue = false
    /// Publishes and protocol ops are written on the caller's thread when the socket is idle
    /// (nats.c's send-asap), instead of the event loop coalescing them: lower latency for a
    /// caller that batches itself (the language bindings do) or publishes rarely; a loop of
    /// single publishes then costs a syscall each.
    public var sendAsap = false

    public var onClosed: ((Connection) -> Void)?
    /// The connection to the server was lost (a reconnect may follow).
    public var onDisconnected: ((Connection) -> Void)?
    /// The connection is back, on the same or another server; subscriptions are restored.
    public var onReconnected: ((Connection) -> Void)?
    /// When no server answers the first connect: return the connection anyway, reconnecting
    /// in the background as after a lost link (subscribe and publish meanwhile: they wait for
    /// the server, publishes in the reconnect buffer), instead of failing (nats.c's and nats.go's
    /// retry-on-failed-connect). Needs `allowReconnect`. Credentials refused still fail at once.
    public var retryOnFailedConnect = false
    /// A connection returned by a connect that is retrying in the background reached a server
    /// (subscriptions made meanwhile are sent). Not called for a connect that succeeds at once.
    public var onConnected: ((Connection) -> Void)?
    /// The cluster announced servers that were not in the pool yet.
    public var onDiscoveredServers: ((Connection) -> Void)?
    /// The server entered lame-duck mode: it will shut down soon.
    public var onLameDuckMode: ((Connection) -> Void)?
    /// Asynchronous errors: slow consumers, permission violations, server `-ERR`s that do not
    /// close the connection. The subscription is set when the error concerns one.
    public var onError: ((Connection, Subscription?, NATSError) -> Void)?

    public init() {}

    public init(url: String) throws {
        servers = try ServerAddress.parseList(url)
    }

    func validate() throws {
        if servers.isEmpty { throw NATSError.invalidArgument("no server URL given") }
        if connectTimeoutMilliseconds <= 0 { throw NATSError.invalidArgument("connect timeout must be positive") }
        if pingIntervalMilliseconds <= 0 { throw NATSError.invalidArgument("ping interval must be positive") }
        if maxPingsOut < 1 { throw NATSError.invalidArgument("max pings out must be at least 1") }
        if !Subject.isValidPublishSubject(inboxPrefix) || inboxPrefix.contains("*") || inboxPrefix.contains(">") {
            throw NATSError.invalidArgument("inbox prefix \"\(inboxPrefix)\" is not a valid subject")
        }
        if pendingMessagesLimit < 0 || pendingBytesLimit < 0 {
            throw NATSError.invalidArgument("pending limits must not be negative")
        }
        if maxReconnectAttempts < -1 { throw NATSError.invalidArgument("max reconnect attempts must be -1 or more") }
        if reconnectWaitMilliseconds < 0 || reconnectJitterMilliseconds < 0 || reconnectJitterTLSMilliseconds < 0 {
            throw NATSError.invalidArgument("reconnect wait and jitter must not be negative")
        }
        if readOnDispatchQueue && dispatchQueue == nil {
            throw NATSError.invalidArgument("reading on the dispatch queue needs a dispatch queue")
        }
        if deliveryPoolSize < 0 { throw NATSError.invalidArgument("delivery pool size must not be negative") }
        if reconnectBufferBytes < 0 { throw NATSError.invalidArgument("reconnect buffer size must not be negative") }
        try tls.validate()
        if signature != nil && userJWT == nil && nkeyPublicKey == nil {
            throw NATSError.invalidArgument("a signature handler needs a user JWT handler or an nkey public key")
        }
        if (userJWT != nil || nkeyPublicKey != nil) && signature == nil {
            throw NATSError.invalidArgument("a user JWT or nkey public key needs a signature handler")
        }
    }
}
