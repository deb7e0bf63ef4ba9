/// A connection's life, as a state machine with no socket and no lock of its own: the
/// connection holds it under its lock, calls a transition for each event, and carries out
/// the action returned (SwiftNIO's style: the decisions are unit-tested without a server).
///
///     connecting ──adopt──▶ connected ◀──adopt── reconnecting
///          │                 │  │   ╰──linkLost (reconnect on)──╯ │
///          │                 │  ╰──beginDrain──▶ draining          │
///          ╰──────────────── close / closeFromLibrary ──────────────┴──▶ closed
///
/// Teardown (the closing work: flush, socket, subscriptions, callbacks) runs once: `none`
/// until a close claims it, `running` while it runs, `done` after.
struct ConnectionLifecycle {
    enum Teardown { case none, running, done }

    private(set) var status: ConnectionStatus = .connecting
    private(set) var teardown = Teardown.none
    /// The error that ended the connection (`closeReason`).
    private(set) var closeReason: NATSError?
    /// Why the current or last link went down (a server -ERR before it closes, a failed
    /// reconnect attempt): becomes the close reason if reconnecting gives up.
    var linkError: NATSError?
    /// Why the link was lost, for `disconnectReason`; cleared when a new link is adopted.
    private(set) var lastDisconnect: NATSError?
    /// Whether a handshake ever completed: INFOs after that announce discovered servers.
    private(set) var hasConnected = false

    var isClosedOrClosing: Bool { teardown != .none }

    // MARK: transitions

    enum AdoptAction: Equatable {
        /// The connection is closed or closing: close the new link.
        case refuse
        case firstConnect
        /// The first link of a connect retrying in the background: replay what was made
        /// meanwhile, as after a reconnect, but it is the connect that completed.
        case connectedInBackground
        /// Replay subscriptions and the reconnect buffer on the new link.
        case reconnected
    }

    /// A handshake completed on a new link.
    mutating func adopt() -> AdoptAction {
        guard teardown == .none, status == .connecting || status == .reconnecting else { return .refuse }
        let action: AdoptAction = status == .connecting ? .firstConnect : hasConnected ? .reconnected : .connectedInBackground
        status = .connected
        hasConnected = true
        linkError = nil
        lastDisconnect = nil
        return action
    }

    enum LinkLostAction: Equatable {
        /// Not the current link, or already closing.
        case ignore
        case close(NATSError)
        case reconnect(NATSError)
    }

    /// The current link stopped working (`error` nil: the server closed it without a word).
    mutating func linkLost(_ error: NATSError?, allowReconnect: Bool) -> LinkLostAction {
        guard teardown == .none, status == .connected || status == .draining else { return .ignore }
        let reason = error ?? linkError ?? .io("the server closed the connection")
        lastDisconnect = reason
        if !allowReconnect || status == .draining { return .close(reason) }
        linkError = reason
        status = .reconnecting
        return .reconnect(reason)
    }

    /// No server answered the first connect, and the connection retries in the background:
    /// from then on it is as if reconnecting (publishes buffer, subscriptions wait).
    mutating func retryFirstConnect(_ error: NATSError) -> Bool {
        guard teardown == .none, status == .connecting else { return false }
        linkError = error
        status = .reconnecting
        return true
    }

    /// Reconnecting found no server left: the error to close with (nil when no longer
    /// reconnecting: closed meanwhile).
    func reconnectGaveUp() -> NATSError? {
        guard status == .reconnecting else { return nil }
        let last = linkError.map { ": last failure: \($0)" } ?? ""
        return .connectFailed("reconnect gave up, no server left to try\(last)")
    }

    enum CloseAction: Equatable {
        /// This caller runs the teardown.
        case runTeardown
        /// Another caller claimed it (it may still be running).
        case alreadyClosing
    }

    /// The application closes (close, drain's end, destroy).
    mutating func close() -> CloseAction {
        guard teardown == .none else { return .alreadyClosing }
        teardown = .running
        status = .closed
        return .runTeardown
    }

    /// The library closes (server gone without reconnect, reconnect given up): the first
    /// error is kept as the close reason.
    mutating func closeFromLibrary(_ error: NATSError) -> CloseAction {
        guard teardown == .none else { return .alreadyClosing }
        if closeReason == nil { closeReason = error }
        teardown = .running
        status = .closed
        return .runTeardown
    }

    mutating func teardownFinished() { teardown = .done }

    /// A connection-wide drain starts: only from `connected`.
    mutating func beginDrain() throws {
        switch status {
        case .closed: throw NATSError.connectionClosed
        case .draining: throw NATSError.draining
        case .connected: status = .draining
        case .reconnecting: throw NATSError.reconnecting
        case .connecting, .disconnected: throw NATSError.notConnected
        }
    }

    // MARK: what each state allows

    /// New subscriptions: while connected or reconnecting (replayed on the next link).
    func checkSubscribe() throws {
        switch status {
        case .closed: throw NATSError.connectionClosed
        case .draining: throw NATSError.draining
        case .connected, .reconnecting: return
        case .connecting, .disconnected: throw NATSError.notConnected
        }
    }

    /// A PING for a flush: while a link is up or will be (the reconnect replays it).
    func checkFlush() throws {
        switch status {
        case .closed: throw NATSError.connectionClosed
        case .connected, .draining, .reconnecting: return
        case .connecting, .disconnected: throw NATSError.notConnected
        }
    }

    enum PublishRoute: Equatable {
        /// Onto the link (waiting while the outbound buffer is full).
        case link
        /// Into the reconnect buffer.
        case reconnectBuffer
    }

    /// Where a publish goes now, or why it cannot.
    func publishRoute() throws -> PublishRoute {
        switch status {
        case .closed: throw NATSError.connectionClosed
        case .reconnecting: return .reconnectBuffer
        case .connecting, .disconnected: throw NATSError.notConnected
        case .connected, .draining: return .link
        }
    }
}
