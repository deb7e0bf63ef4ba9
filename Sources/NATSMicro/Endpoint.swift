#if canImport(Glibc)
import Glibc
#endif
import NATS

/// An endpoint's counters (ADR-32 STATS), updated after each handler call returns.
public struct EndpointStats: Equatable {
    public var numRequests: Int64 = 0
    public var numErrors: Int64 = 0
    public var lastError = ""
    /// Total handler time, nanoseconds.
    public var processingTime: Int64 = 0
    /// `processingTime / numRequests`, 0 before the first request (nats.go's integer division).
    public var averageProcessingTime: Int64 { numRequests == 0 ? 0 : processingTime / numRequests }

    public init() {}
}

/// What INFO and STATS say about an endpoint.
public struct EndpointInfo: Equatable {
    public var name: String
    public var subject: String
    /// "" when queue groups are disabled (nats.go writes "" too).
    public var queueGroup: String
    public var metadata: [String: String]?
    public var stats: EndpointStats
}

/// One handler on one subject, with its own subscription (one request at a time, in order)
/// and counters. Made by `Service.addEndpoint` / `Group.addEndpoint`.
public final class Endpoint {
    public let name: String
    public let subject: String
    /// nil: a plain subscription (every instance gets every request).
    public let queueGroup: String?
    public let metadata: [String: String]?
    public private(set) weak var service: Service?

    private let handler: (MicroRequest) -> Void
    private let lock = Condition()
    private var counters = EndpointStats()
    var subscription: Subscription?

    init(name: String, subject: String, queueGroup: String?, metadata: [String: String]?, service: Service,
         handler: @escaping (MicroRequest) -> Void) {
        self.name = name
        self.subject = subject
        self.queueGroup = queueGroup
        self.metadata = metadata
        self.service = service
        self.handler = handler
    }

    public var stats: EndpointStats { lock.withLock { counters } }

    public var info: EndpointInfo {
        EndpointInfo(name: name, subject: subject, queueGroup: queueGroup ?? "", metadata: metadata, stats: stats)
    }

    /// On the endpoint's delivery thread: runs the handler, then counts the request, its time,
    /// and its error (an error response, or a response that could not be sent).
    func handle(_ message: Message) {
        let request = MicroRequest(message: message, endpoint: self)
        let start = Deadline.now()
        if message.reply == nil || message.reply?.isEmpty == true {
            // ADR-32 (nats.go, nats.py): a request nobody can answer is a request and an error.
            request.recordFailure("request on \"\(message.subject)\" has no reply subject")
        } else {
            handler(request)
        }
        let elapsed = Int64(Deadline.now().uptimeNanoseconds - start.uptimeNanoseconds)
        let failure = request.finishHandler()
        lock.withLock {
            counters.numRequests += 1
            counters.processingTime += elapsed
            if let failure {
                counters.numErrors += 1
                counters.lastError = failure
            }
        }
    }

    /// Counts a failure outside a handler call (an asynchronous subscription error).
    func recordError(_ text: String) {
        lock.withLock {
            counters.numErrors += 1
            counters.lastError = text
        }
    }

    func reset() { lock.withLock { counters = EndpointStats() } }
}
