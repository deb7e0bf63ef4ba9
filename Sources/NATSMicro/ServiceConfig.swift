import NATS

/// What a service is created with (ADR-32 "config"). A value: `Service.add` copies it.
public struct ServiceConfig {
    /// The kind of service, shared by every instance: `^[A-Za-z0-9_-]+$`.
    public var name: String
    /// Semantic version (semver.org), checked.
    public var version: String
    public var description = ""
    public var metadata: [String: String] = [:]
    /// Queue group of the endpoints unless a group or endpoint says otherwise; nil means the
    /// default "q". `queueGroupDisabled` makes every instance receive every request.
    public var queueGroup: String?
    public var queueGroupDisabled = false
    /// Extra per-endpoint data for STATS (`data`); nil leaves `data` null.
    public var statsHandler: ((EndpointInfo) -> JSONValue?)?
    /// Runs once when the service has stopped (by `stop()`, or because its connection closed).
    public var doneHandler: ((Service) -> Void)?
    /// Asynchronous errors of the service's subscriptions (slow consumer, permission
    /// violation), with the endpoint concerned (nil for the `$SRV` ones). The service stops
    /// after such an error, as nats.go's and nats.c's do.
    public var errorHandler: ((Service, Endpoint?, NATSError) -> Void)?

    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }

    func validate() throws {
        guard MicroNames.isValidName(name) else {
            throw MicroError.invalidConfig("service name \(quoted(name)) must be letters, digits, dashes and underscores")
        }
        guard MicroNames.isValidSemVer(version) else {
            throw MicroError.invalidConfig("version \(quoted(version)) is not a semantic version (like 1.0.0)")
        }
        if let queueGroup { try MicroNames.checkQueueGroup(queueGroup) }
    }
}

/// Options of one endpoint; empty strings inherit.
public struct EndpointConfig {
    /// Defaults to the endpoint's name; prefixed by its groups.
    public var subject: String?
    public var metadata: [String: String]?
    public var queueGroup: String?
    public var queueGroupDisabled = false
    /// Pending limits of the endpoint's subscription (nil: the connection's defaults).
    public var pendingLimits: (messages: Int, bytes: Int)?
    /// How many requests the handler may work on at once, on as many library threads. 1 (the
    /// default) handles them one at a time, in order, as ADR-32 clients do; more suits slow
    /// handlers (waiting on a database, say), and gives up the ordering.
    public var concurrency = 1
    /// Told of each request the endpoint accepts, where it is read and before it waits for
    /// the handler (it must not block): for a layer that answers for requests still queued
    /// (RPC liveness frames).
    public var onArrival: ((Message) -> Void)?

    public init(subject: String? = nil, metadata: [String: String]? = nil, queueGroup: String? = nil,
                queueGroupDisabled: Bool = false) {
        self.subject = subject
        self.metadata = metadata
        self.queueGroup = queueGroup
        self.queueGroupDisabled = queueGroupDisabled
    }
}

/// The queue group settings of a level (service, group, endpoint), and ADR-32's precedence:
/// endpoint over group over service; an empty value inherits.
struct QueueSetting: Equatable {
    var group: String?
    var disabled: Bool

    static let `default` = QueueSetting(group: "q", disabled: false)

    /// This level's setting given its parent's.
    func resolved(under parent: QueueSetting) -> QueueSetting {
        if disabled { return QueueSetting(group: nil, disabled: true) }
        if let group, !group.isEmpty { return QueueSetting(group: group, disabled: false) }
        return parent
    }

    /// The queue group to subscribe with; nil for a plain subscription.
    var effective: String? { disabled ? nil : (group ?? "q") }
}

/// The name rules of ADR-32 (nats.go's regular expressions, written out by hand: no
/// Foundation, no regex engine).
public enum MicroNames {
    public static func isValidName(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
    }

    /// `^[^ >]*[>]?$`, plus what a NATS subject cannot have (empty tokens, whitespace).
    static func checkSubject(_ subject: String, what: String) throws {
        let bytes = Array(subject.utf8)
        let ok = !bytes.isEmpty && Subject.isValidSubscribeSubject(subject)
            && bytes.dropLast().allSatisfy { $0 != UInt8(ascii: ">") }
        if !ok { throw MicroError.invalidConfig("\(what) \(quoted(subject)) is not a valid subject") }
    }

    static func checkQueueGroup(_ queue: String) throws {
        if queue.isEmpty { return }  // inherits
        guard Subject.isValidQueueGroup(queue), !queue.utf8.contains(UInt8(ascii: ">")) else {
            throw MicroError.invalidConfig("queue group \(quoted(queue)) is not valid")
        }
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= 48 && byte <= 57) || (byte >= 65 && byte <= 90) || (byte >= 97 && byte <= 122)
    }

    /// semver.org's grammar: MAJOR.MINOR.PATCH without leading zeros, then an optional
    /// `-pre.release` (numeric identifiers without leading zeros) and `+build.metadata`.
    static func isValidSemVer(_ text: String) -> Bool {
        var rest = Substring(text)
        var build: Substring?
        if let plus = rest.firstIndex(of: "+") {
            build = rest[rest.index(after: plus)...]
            rest = rest[..<plus]
        }
        var pre: Substring?
        if let dash = rest.firstIndex(of: "-") {
            pre = rest[rest.index(after: dash)...]
            rest = rest[..<dash]
        }
        let core = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard core.count == 3, core.allSatisfy(isNumericIdentifier) else { return false }
        if let pre {
            let parts = pre.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.allSatisfy({ isNumericIdentifier($0) || isAlphanumericIdentifier($0) }) else { return false }
        }
        if let build {
            let parts = build.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") } }) else {
                return false
            }
        }
        return true
    }

    private static func isNumericIdentifier(_ part: Substring) -> Bool {
        guard !part.isEmpty, part.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return false }
        return part == "0" || part.first != "0"
    }

    /// An identifier with at least one non-digit (letters, digits, dashes).
    private static func isAlphanumericIdentifier(_ part: Substring) -> Bool {
        !part.isEmpty && part.utf8.allSatisfy { isAlphanumeric($0) || $0 == UInt8(ascii: "-") }
            && part.utf8.contains { !($0 >= 48 && $0 <= 57) }
    }
}

func quoted(_ text: String) -> String { "\"\(text)\"" }
