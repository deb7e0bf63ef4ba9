#if canImport(Glibc)
import Glibc
#endif
import NATS

/// An endpoint's counters (ADR-32 STATS), updated as each request finishes: its handler
/// returned and, if it kept the request (`MicroRequest.keep`), the request was answered.
public struct EndpointStats: Equatable {
    public var numRequests: Int64 = 0
    public var numErrors: Int64 = 0
    public var lastError = ""
    /// Total time from receipt to finish, nanoseconds.
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
    /// Handler calls running, and kept requests whose handler returned, not answered yet.
    private var running = 0
    private var awaitingAnswer = 0
    var subscription: Subscription?

    /// No request in flight (a handler running, or a kept request not answered while its
    /// answer can still go out), and the subscription ended (drained: nothing left to deliver).
    var isIdle: Bool {
        let (calls, kept) = lock.withLock { (running, awaitingAnswer) }
        guard calls == 0, !(subscription?.isValid ?? false) else { return false }
        return kept == 0 || (service?.connection.isClosed ?? true)
    }

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
    /// and its error (an error response, or a response that could not be sent), unless the
    /// handler kept it for a later answer, which counts it.
    func handle(_ message: Message) {
        lock.withLock { running += 1 }
        let request = MicroRequest(message: message, endpoint: self)
        // A request without a reply subject still reaches the handler; answering it fails,
        // which counts as an error (as in nats.go and nats.py).
        HandlerContext.run(inside: service) { handler(request) }
        let outcome = request.finishHandler()
        lock.withLock {
            running -= 1
            if outcome == nil { awaitingAnswer += 1 }
            if let outcome { countLocked(elapsed: outcome.elapsed, failure: outcome.failure) }
        }
        if let service, !service.isRunning { service.finishIfIdle() }
    }

    /// A kept request finished (answered, or dropped): counted, and no longer in flight (a
    /// stopping service may finish).
    func finish(elapsed: Int64, failure: String?) {
        lock.withLock {
            awaitingAnswer -= 1
            countLocked(elapsed: elapsed, failure: failure)
        }
        if let service, !service.isRunning { service.finishIfIdle() }
    }

    private func countLocked(elapsed: Int64, failure: String?) {
        counters.numRequests += 1
        counters.processingTime += elapsed
        if let failure {
            counters.numErrors += 1
            counters.lastError = failure
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

/// Which service's handler the current thread is running, so that `stop()` called from a
/// handler does not wait for that very handler.
enum HandlerContext {
    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    static func run(inside service: Service?, _ body: () -> Void) {
        let previous = pthread_getspecific(key)
        pthread_setspecific(key, service.map { Unmanaged.passUnretained($0).toOpaque() })
        body()
        pthread_setspecific(key, previous)
    }

    static func isInside(_ service: Service) -> Bool {
        pthread_getspecific(key) == Unmanaged.passUnretained(service).toOpaque()
    }
}
