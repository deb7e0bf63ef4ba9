import Foundation
import NATS
@testable import NATSMicro
import NATSTestSupport
import XCTest

/// Parses a reply body into a Foundation dictionary, for exact comparisons.
private func object(_ payload: [UInt8]) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(payload))) as? [String: Any] ?? [:]
}

private func object(_ value: JSONValue) -> [String: Any] { object(Array(value.serialized().utf8)) }

/// Ports of the behaviours nats.go's micro tests check (shared/reference/micro.md §2.3), against
/// a real nats-server.
final class ServiceTests: ServerTestCase {
    var conn: Connection!

    override func setUpWithError() throws {
        try super.setUpWithError()
        conn = try Connection.connect(url: server.url)
    }

    override func tearDown() {
        conn?.close()
        super.tearDown()
    }

    private func echo(_ request: MicroRequest) { try? request.respond(request.data) }

    private func config(_ name: String = "test_service", version: String = "0.1.0") -> ServiceConfig {
        ServiceConfig(name: name, version: version)
    }

    func testConfigurationIsValidatedBeforeAnythingIsSubscribed() throws {
        let cases: [(String, ServiceConfig)] = [
            ("name with !", config("test_service!")),
            ("empty name", config("")),
            ("version abc", config(version: "abc")),
            ("version 01.0.0", config(version: "01.0.0")),
            ("version 1.0", config(version: "1.0")),
            ("queue group with >", { var c = config(); c.queueGroup = ">.abc"; return c }()),
        ]
        for (name, bad) in cases {
            XCTAssertThrowsError(try Service.add(to: conn, config: bad), name) { error in
                guard case .invalidConfig = error as? MicroError else { return XCTFail("\(name): \(error)") }
            }
        }
        let service = try Service.add(to: conn, config: config(version: "1.2.3-rc.1+build.5"))
        defer { service.stop() }
        for (name, subject) in [("bad name!", nil), ("ok", "endpoint subject"), ("ok2", "a.>.b"), ("ok3", "a..b")] as [(String, String?)] {
            XCTAssertThrowsError(try service.addEndpoint(name, config: EndpointConfig(subject: subject), handler: echo), name)
        }
        XCTAssertThrowsError(try service.addEndpoint("q", config: EndpointConfig(queueGroup: ">.abc"), handler: echo))
        XCTAssertEqual(service.endpoints.count, 0)
    }

    func testSemVerRules() {
        for good in ["0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-0.3.7", "1.0.0+20130313144700",
                     "1.0.0-beta+exp.sha.5114f85", "1.0.0-x-y-z.--"] {
            XCTAssertTrue(MicroNames.isValidSemVer(good), good)
        }
        for bad in ["", "1", "1.2", "1.2.3.4", "01.1.1", "1.01.1", "1.1.01", "1.2.3-0123", "1.2.3-", "1.2.3+", "a.b.c",
                    "1.2.3-alpha..1", "v1.2.3"] {
            XCTAssertFalse(MicroNames.isValidSemVer(bad), bad)
        }
    }

    func testMonitoringDocumentsAtEveryLevel() throws {
        var settings = config()
        settings.description = "a \"quoted\" service"
        settings.metadata = ["basic": "metadata"]
        let service = try Service.add(to: conn, config: settings)
        defer { service.stop() }
        try service.addEndpoint("func", config: EndpointConfig(subject: "test.func", metadata: ["basic": "schema"]), handler: echo)
        let ping: [String: Any] = ["type": "io.nats.micro.v1.ping_response", "name": "test_service", "id": service.id,
                                   "version": "0.1.0", "metadata": ["basic": "metadata"]]
        for subject in ["$SRV.PING", "$SRV.PING.test_service", "$SRV.PING.test_service.\(service.id)"] {
            let reply = try conn.request(subject, timeoutMilliseconds: 2_000)
            XCTAssertEqual(object(reply.payload) as NSDictionary, ping as NSDictionary, subject)
        }
        let info = object(try conn.request("$SRV.INFO.test_service", timeoutMilliseconds: 2_000).payload)
        XCTAssertEqual(info["type"] as? String, "io.nats.micro.v1.info_response")
        XCTAssertEqual(info["description"] as? String, "a \"quoted\" service")
        let endpoints = info["endpoints"] as? [[String: Any]]
        XCTAssertEqual(endpoints?.count, 1)
        XCTAssertEqual(endpoints?.first as NSDictionary?, ["name": "func", "subject": "test.func", "queue_group": "q",
                                                          "metadata": ["basic": "schema"]] as NSDictionary)
        let stats = object(try conn.request("$SRV.STATS.test_service.\(service.id)", timeoutMilliseconds: 2_000).payload)
        XCTAssertEqual(stats["type"] as? String, "io.nats.micro.v1.stats_response")
        let started = stats["started"] as? String ?? ""
        XCTAssertNotNil(started.range(of: #"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$"#, options: .regularExpression), started)
        let endpoint = (stats["endpoints"] as? [[String: Any]])?.first ?? [:]
        for key in ["name", "subject", "queue_group", "num_requests", "num_errors", "last_error", "processing_time",
                    "average_processing_time", "data"] {
            XCTAssertNotNil(endpoint[key], key)
        }
        XCTAssertTrue(endpoint["data"] is NSNull)
        XCTAssertNil(endpoint["metadata"], "STATS carries no endpoint metadata")
    }

    func testManyInstancesShareTheLoadAndAllAnswerDiscovery() throws {
        var services: [Service] = []
        defer { services.forEach { $0.stop() } }
        for _ in 0..<5 {
            var settings = config("CoolAddService")
            settings.metadata = ["basic": "metadata"]
            let service = try Service.add(to: conn, config: settings)
            try service.addEndpoint("add", config: EndpointConfig(subject: "svc.add")) { request in
                if Int.random(in: 0..<10) == 0 {
                    try? request.respondError(code: "500", description: "Unexpected error!")
                } else {
                    try? request.respond(Array("42".utf8))
                }
            }
            services.append(service)
        }
        for _ in 0..<50 { _ = try conn.request("svc.add", payload: [1], timeoutMilliseconds: 2_000) }
        let discovery = DiscoveryClient(connection: conn)
        XCTAssertEqual(try discovery.ping(name: "CoolAddService", timeoutMilliseconds: 500).count, 5)
        let stats = try discovery.stats(name: "CoolAddService", timeoutMilliseconds: 500)
        XCTAssertEqual(stats.count, 5)
        // The last request is counted once its handler has returned, maybe just after its reply.
        XCTAssertTrue(eventually {
            let all = (try? discovery.stats(name: "CoolAddService", timeoutMilliseconds: 500)) ?? []
            return all.compactMap { $0.endpoints.first?.stats.numRequests }.reduce(0, +) == 50
        })
        let info = try XCTUnwrap(try discovery.info(name: "CoolAddService", id: services[2].id, timeoutMilliseconds: 500).first)
        XCTAssertEqual(info.service, ServiceIdentity(name: "CoolAddService", id: services[2].id, version: "0.1.0",
                                                     metadata: ["basic": "metadata"]))
        XCTAssertEqual(info.endpoints, [.init(name: "add", subject: "svc.add", queueGroup: "q", metadata: nil)])
        XCTAssertEqual(try discovery.ping(name: "CoolAddService", timeoutMilliseconds: 2_000, maxReplies: 2).count, 2)
        services[0].reset()
        XCTAssertEqual(services[0].endpoints.first?.stats.numRequests, 0)
    }

    func testGroupSubjects() throws {
        let service = try Service.add(to: conn, config: config())
        defer { service.stop() }
        let cases: [([String], String)] = [([], "foo"), (["g1"], "g1.foo"), ([""], "foo"), (["", "g1", ""], "g1.foo"),
                                           (["g1", "g2", "g3"], "g1.g2.g3.foo")]
        for (index, (groups, expected)) in cases.enumerated() {
            var endpoint: Endpoint
            if groups.isEmpty {
                endpoint = try service.addEndpoint("foo", handler: echo)
            } else {
                var group = try service.addGroup(groups[0])
                for name in groups.dropFirst() { group = try group.addGroup(name) }
                endpoint = try group.addEndpoint("foo\(index)", config: EndpointConfig(subject: "foo"), handler: echo)
            }
            XCTAssertEqual(endpoint.subject, expected, "\(groups)")
            XCTAssertEqual(endpoint.queueGroup, "q")
        }
        XCTAssertThrowsError(try service.addGroup("a.>"))
    }

    func testQueueGroupPrecedence() throws {
        var settings = config()
        settings.queueGroup = "q-config"
        let service = try Service.add(to: conn, config: settings)
        defer { service.stop() }
        let direct = try service.addEndpoint("direct", handler: echo)
        let own = try service.addEndpoint("own", config: EndpointConfig(queueGroup: "q-own"), handler: echo)
        let inherit = try service.addEndpoint("inherit", config: EndpointConfig(queueGroup: ""), handler: echo)
        let g1 = try service.addGroup("g1", queueGroup: "q-g1")
        let inGroup = try g1.addEndpoint("ing", handler: echo)
        let sub = try g1.addGroup("g2")
        let inSub = try sub.addEndpoint("insub", handler: echo)
        let off = try g1.addGroup("g3", queueGroupDisabled: true)
        let inOff = try off.addEndpoint("inoff", handler: echo)
        let overridesOff = try off.addEndpoint("over", config: EndpointConfig(queueGroup: "q-ep"), handler: echo)
        let disabled = try g1.addEndpoint("dis", config: EndpointConfig(queueGroupDisabled: true), handler: echo)
        let expected: [(Endpoint, String?)] = [(direct, "q-config"), (own, "q-own"), (inherit, "q-config"), (inGroup, "q-g1"),
                                               (inSub, "q-g1"), (inOff, nil), (overridesOff, "q-ep"), (disabled, nil)]
        for (endpoint, queue) in expected { XCTAssertEqual(endpoint.queueGroup, queue, endpoint.name) }
        // INFO and STATS say the same, "" for none.
        let info = object(service.infoJSON())["endpoints"] as? [[String: Any]] ?? []
        let stats = object(service.statsJSON())["endpoints"] as? [[String: Any]] ?? []
        for (index, (_, queue)) in expected.enumerated() {
            XCTAssertEqual(info[index]["queue_group"] as? String, queue ?? "")
            XCTAssertEqual(stats[index]["queue_group"] as? String, queue ?? "")
        }
    }

    func testDisabledQueueGroupReachesEveryInstance() throws {
        var services: [Service] = []
        defer { services.forEach { $0.stop() } }
        let handled = Collector<String>()
        for index in 0..<4 {
            var settings = config()
            settings.queueGroupDisabled = true
            let service = try Service.add(to: conn, config: settings)
            try service.addEndpoint("all") { request in
                handled.append("\(index)")
                try? request.respond([UInt8(index)])
            }
            services.append(service)
        }
        let inbox = conn.newInbox()
        let replies = try conn.subscribeSync(inbox)
        try conn.publish("all", payload: [], reply: inbox)
        for _ in 0..<4 { _ = try replies.next(timeoutMilliseconds: 2_000) }
        XCTAssertThrowsError(try replies.next(timeoutMilliseconds: 100))
        XCTAssertEqual(Set(handled.all), ["0", "1", "2", "3"])
    }

    func testRespondJSONErrorsAndStatistics() throws {
        var settings = config()
        settings.statsHandler = { info in
            let data = JSONValue.object()
            data.set("endpoint", info.name)
            return data
        }
        let service = try Service.add(to: conn, config: settings)
        defer { service.stop() }
        let problems = Collector<String>()
        try service.addEndpoint("func", config: EndpointConfig(subject: "test.func")) { request in
            switch request.data {
            case Array("json".utf8):
                let value = JSONValue.object()
                value.set("a", "abc")
                value.set("b", 5)
                try? request.respondJSON(value)
            case Array("fail".utf8):
                var extra = Headers()
                try? extra.set("X-Custom", "1")
                try? request.respondError(code: "500", description: "oops", data: Array("details".utf8), headers: extra)
            case Array("empty".utf8):
                do { try request.respondError(code: "", description: "x") } catch { problems.append("\(error)") }
                try? request.respond([])
            default:
                try? request.respond(request.data, headers: request.headers)
            }
        }
        var headers = Headers()
        try headers.set("key", "value")
        let echoed = try conn.request("test.func", payload: Array("req".utf8), headers: headers, timeoutMilliseconds: 2_000)
        XCTAssertEqual(echoed.payload, Array("req".utf8))
        XCTAssertEqual(echoed.headers?["key"], "value")
        let json = try conn.request("test.func", payload: Array("json".utf8), timeoutMilliseconds: 2_000)
        XCTAssertEqual(object(json.payload) as NSDictionary, ["a": "abc", "b": 5] as NSDictionary)
        let failed = try conn.request("test.func", payload: Array("fail".utf8), timeoutMilliseconds: 2_000)
        XCTAssertEqual(failed.headers?["Nats-Service-Error"], "oops")
        XCTAssertEqual(failed.headers?["Nats-Service-Error-Code"], "500")
        XCTAssertEqual(failed.headers?["X-Custom"], "1")
        XCTAssertEqual(failed.payload, Array("details".utf8))
        _ = try conn.request("test.func", payload: Array("empty".utf8), timeoutMilliseconds: 2_000)
        XCTAssertEqual(problems.count, 1, "an error response needs a code")
        try conn.publish("test.func", payload: Array("no reply".utf8))  // counted as request and error
        try conn.flush(timeoutMilliseconds: 2_000)
        XCTAssertTrue(eventually { service.endpoints.first?.stats.numRequests == 5 })
        let stats = try XCTUnwrap(service.endpoints.first?.stats)
        XCTAssertEqual(stats.numErrors, 2)
        XCTAssertTrue(stats.lastError.contains("no reply subject"), stats.lastError)
        XCTAssertGreaterThan(stats.processingTime, 0)
        XCTAssertEqual(stats.averageProcessingTime, stats.processingTime / 5)
        let typed = try XCTUnwrap(try DiscoveryClient(connection: conn).stats(name: "test_service").first)
        XCTAssertEqual(typed.endpoints.first?.stats, stats)
        XCTAssertEqual(typed.endpoints.first?.data?.string("endpoint"), "func")
        XCTAssertFalse(typed.started.isEmpty)
        let document = object(try conn.request("$SRV.STATS.test_service", timeoutMilliseconds: 2_000).payload)
        let endpoint = (document["endpoints"] as? [[String: Any]])?.first
        XCTAssertEqual(endpoint?["num_requests"] as? Int, 5)
        XCTAssertEqual(endpoint?["data"] as? NSDictionary, ["endpoint": "func"] as NSDictionary)
    }

    func testAsynchronousRespondFromAnotherThread() throws {
        let service = try Service.add(to: conn, config: config())
        defer { service.stop() }
        try service.addEndpoint("later") { request in
            Thread.detachNewThread {
                usleep(20_000)
                try? request.respondError(code: "503", description: "later")
            }
        }
        let reply = try conn.request("later", timeoutMilliseconds: 2_000)
        XCTAssertEqual(reply.headers?["Nats-Service-Error-Code"], "503")
        XCTAssertTrue(eventually { service.endpoints.first?.stats.numErrors == 1 }, "a late error is counted too")
        XCTAssertEqual(service.endpoints.first?.stats.lastError, "503:later")
    }

    /// A service whose endpoint "kept" keeps every request unanswered (in `kept`); `done`
    /// records its done handler.
    private func keepingService() throws -> (Service, done: Collector<String>, kept: Collector<MicroRequest>) {
        let done = Collector<String>()
        var settings = config()
        settings.doneHandler = { _ in done.append("done") }
        let service = try Service.add(to: conn, config: settings)
        let kept = Collector<MicroRequest>()
        try service.addEndpoint("kept") { request in
            request.keep()
            kept.append(request)
        }
        return (service, done, kept)
    }

    /// A kept request is in flight until its answer: counted then, with the time until then,
    /// and stop() waits for it (the done handler after it). A kept request dropped unanswered
    /// is counted when dropped, as a handler that returns without answering is.
    func testKeptRequestsAreInFlightUntilAnswered() throws {
        let (service, done, kept) = try keepingService()
        let inbox = conn.newInbox()
        let replies = try conn.subscribeSync(inbox)
        try conn.publish("kept", payload: [1], reply: inbox)
        XCTAssertTrue(eventually { kept.count == 1 })
        Thread.sleep(forTimeInterval: 0.1)
        XCTAssertEqual(service.endpoints.first?.stats.numRequests, 0, "counted before its answer")

        let stopped = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            service.stop()
            stopped.signal()
        }
        XCTAssertEqual(stopped.wait(timeout: .now() + 0.3), .timedOut, "stop() did not wait for the kept request")
        XCTAssertEqual(done.all, [])
        try kept.all[0].respond([2])
        XCTAssertEqual(stopped.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(done.all, ["done"])
        XCTAssertEqual(try replies.next(timeoutMilliseconds: 2_000).payload, [2])
        let stats = try XCTUnwrap(service.endpoints.first?.stats)
        XCTAssertEqual(stats.numRequests, 1)
        XCTAssertEqual(stats.numErrors, 0)
        XCTAssertGreaterThanOrEqual(stats.processingTime, 400_000_000, "the time until the answer")

        let other = try Service.add(to: conn, config: config("other"))
        defer { other.stop() }
        let held = Collector<MicroRequest>()
        try other.addEndpoint("dropped") { request in
            request.keep()
            held.append(request)  // and never answered
        }
        XCTAssertThrowsError(try conn.request("dropped", timeoutMilliseconds: 200))
        XCTAssertEqual(other.endpoints.first?.stats.numRequests, 0, "in flight while held")
        held.removeAll()
        XCTAssertEqual(other.endpoints.first?.stats.numRequests, 1, "counted once dropped")
        XCTAssertEqual(other.endpoints.first?.stats.numErrors, 0)
    }

    /// A kept request cannot be answered once the connection is closed: the service stops
    /// with its connection without waiting for it.
    func testClosingTheConnectionDoesNotWaitForKeptRequests() throws {
        let (service, done, held) = try keepingService()
        try conn.publish("kept", payload: [1], reply: conn.newInbox())
        XCTAssertTrue(eventually { held.count == 1 })
        let started = Deadline.now()
        conn.close()
        XCTAssertTrue(eventually(3) { done.all == ["done"] }, "the service waited for a request it cannot answer")
        XCTAssertLessThan(Deadline.now().uptimeNanoseconds - started.uptimeNanoseconds, 3_000_000_000)
        XCTAssertFalse(service.isRunning)
        XCTAssertThrowsError(try held.all[0].respond([2]))
    }

    func testEndpointsAddedAfterStartShowInInfo() throws {
        let service = try Service.add(to: conn, config: config())
        defer { service.stop() }
        let discovery = DiscoveryClient(connection: conn)
        XCTAssertEqual(try discovery.info(name: "test_service").first?.endpoints.count, 0)
        try service.addEndpoint("late", handler: echo)
        XCTAssertEqual(try discovery.info(name: "test_service").first?.endpoints.map(\.name), ["late"])
    }

    func testStopDrainsIsIdempotentAndRunsDoneOnce() throws {
        let done = Collector<String>()
        var settings = config()
        settings.doneHandler = { _ in done.append("done") }
        let service = try Service.add(to: conn, config: settings)
        try service.addEndpoint("slow") { request in
            usleep(50_000)
            try? request.respond(Array("finished".utf8))
        }
        let inbox = conn.newInbox()
        let replies = try conn.subscribeSync(inbox)
        try conn.publish("slow", payload: [], reply: inbox)
        try conn.flush(timeoutMilliseconds: 2_000)
        XCTAssertTrue(eventually { service.endpoints.first?.subscription?.pendingCount.messages == 0 })
        service.stop()
        service.stop()
        XCTAssertEqual(try replies.next(timeoutMilliseconds: 2_000).payload, Array("finished".utf8), "in-flight request answered")
        XCTAssertEqual(done.all, ["done"])
        XCTAssertFalse(service.isRunning)
        XCTAssertThrowsError(try service.addEndpoint("more", handler: echo)) { error in
            guard case .stopped = error as? MicroError else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(try DiscoveryClient(connection: conn).ping(name: "test_service", timeoutMilliseconds: 300).count, 0)
    }

    func testClosingTheConnectionStopsTheService() throws {
        let done = Collector<String>()
        var settings = config()
        settings.doneHandler = { _ in done.append("done") }
        let own = try Connection.connect(url: server.url)
        let service = try Service.add(to: own, config: settings)
        try service.addEndpoint("x", handler: echo)
        own.close()
        XCTAssertTrue(eventually { done.count == 1 })
        XCTAssertFalse(service.isRunning)
    }

    func testSlowConsumerReportsTheEndpointAndStops() throws {
        let errors = Collector<String>()
        var settings = config()
        settings.errorHandler = { _, endpoint, error in errors.append("\(endpoint?.name ?? "-"): \(error)") }
        let service = try Service.add(to: conn, config: settings)
        var endpointConfig = EndpointConfig()
        endpointConfig.pendingLimits = (messages: 2, bytes: 0)
        try service.addEndpoint("slow", config: endpointConfig) { _ in usleep(100_000) }
        for _ in 0..<20 { try conn.publish("slow", payload: [1]) }
        XCTAssertTrue(eventually { errors.count >= 1 })
        XCTAssertTrue(errors.all[0].hasPrefix("slow: slow consumer"), errors.all[0])
        XCTAssertTrue(eventually { !service.isRunning })
    }

    func testDiscoveryArguments() throws {
        let discovery = DiscoveryClient(connection: conn)
        XCTAssertEqual(try discovery.ping(timeoutMilliseconds: 2_000).count, 0, "no service: no-responders ends the wait")
        XCTAssertThrowsError(try discovery.ping(name: nil, id: "abc"))
        XCTAssertThrowsError(try discovery.ping(name: "bad name"))
        XCTAssertThrowsError(try discovery.ping(timeoutMilliseconds: 0))
        XCTAssertEqual(MonitoringVerb.stats.subject(name: "svc", id: "1"), "$SRV.STATS.svc.1")
        XCTAssertEqual(MonitoringVerb.ping.subject(), "$SRV.PING")
    }

    /// `$SRV` subscriptions and endpoints run on the delivery pool: services add no threads.
    func testServicesAddNoThreads() throws {
        func threads() -> Int {
            let status = (try? String(contentsOfFile: "/proc/self/status", encoding: .utf8)) ?? ""
            let line = status.split(separator: "\n").first { $0.hasPrefix("Threads:") } ?? ""
            return Int(line.split(separator: "\t").last.map(String.init)?.trimmingCharacters(in: .whitespaces) ?? "") ?? -1
        }
        // Warm the pool up first: its threads are started on demand.
        let warm = try Service.add(to: conn, config: config("warm"))
        try warm.addEndpoint("warm", handler: echo)
        _ = try conn.request("warm", payload: [1], timeoutMilliseconds: 2_000)
        let before = threads()
        var services: [Service] = []
        for index in 0..<5 {
            let service = try Service.add(to: conn, config: config("many_\(index)"))
            for endpoint in 0..<10 { try service.addEndpoint("e\(index)_\(endpoint)", handler: echo) }
            services.append(service)
        }
        for index in 0..<5 {
            XCTAssertEqual(try conn.request("e\(index)_3", payload: [7], timeoutMilliseconds: 2_000).payload, [7])
        }
        XCTAssertEqual(try DiscoveryClient(connection: conn).ping(timeoutMilliseconds: 500).count, 6)
        XCTAssertLessThanOrEqual(threads() - before, 1, "5 services of 10 endpoints started threads")
        for service in services + [warm] { service.stop() }
    }

    /// Default: one request at a time; with `concurrency` the handler overlaps itself.
    func testConcurrencyOption() throws {
        let service = try Service.add(to: conn, config: config())
        defer { service.stop() }
        let lock = NSLock()
        var running = 0
        var most: [String: Int] = [:]
        func handler(_ name: String) -> (MicroRequest) -> Void {
            { request in
                lock.lock(); running += 1; most[name] = max(most[name] ?? 0, running); lock.unlock()
                usleep(100_000)
                lock.lock(); running -= 1; lock.unlock()
                try? request.respond([])
            }
        }
        var parallel = EndpointConfig()
        parallel.concurrency = 4
        try service.addEndpoint("serial", handler: handler("serial"))
        try service.addEndpoint("parallel", config: parallel, handler: handler("parallel"))
        for name in ["serial", "parallel"] {
            let inbox = conn.newInbox()
            let replies = try conn.subscribeSync(inbox)
            for _ in 0..<4 { try conn.publish(name, payload: [], reply: inbox) }
            for _ in 0..<4 { _ = try replies.next(timeoutMilliseconds: 5_000) }
            try replies.unsubscribe()
        }
        XCTAssertEqual(most["serial"], 1)
        XCTAssertEqual(most["parallel"], 4)
        // Counted once each handler has returned, which may be just after its reply arrived.
        XCTAssertTrue(eventually { service.endpoints.last?.stats.numRequests == 4 })
        var bad = EndpointConfig()
        bad.concurrency = 0
        XCTAssertThrowsError(try service.addEndpoint("bad", config: bad, handler: handler("bad")))
    }

    /// stop() from a handler cannot wait for that handler: it returns, and done comes after
    /// the handler (and the requests still queued) have finished.
    func testStopFromAHandlerRunsDoneAfterIt() throws {
        let events = Collector<String>()
        var settings = config()
        settings.doneHandler = { _ in events.append("done") }
        let service = try Service.add(to: conn, config: settings)
        try service.addEndpoint("quit") { [unowned service] request in
            service.stop()
            events.append("stop returned")
            usleep(50_000)
            try? request.respond(Array("bye".utf8))
            events.append("handler end")
        }
        XCTAssertEqual(try conn.request("quit", timeoutMilliseconds: 2_000).payload, Array("bye".utf8))
        XCTAssertTrue(eventually { events.count == 3 })
        XCTAssertEqual(events.all, ["stop returned", "handler end", "done"])
        XCTAssertFalse(service.isRunning)
    }

    /// A second stop() waits for the first; neither returns before done.
    func testConcurrentStopsBothWaitForTheHandlers() throws {
        let events = Collector<String>()
        var settings = config()
        settings.doneHandler = { _ in events.append("done") }
        let service = try Service.add(to: conn, config: settings)
        try service.addEndpoint("slow") { request in
            usleep(200_000)
            try? request.respond([])
        }
        let inbox = conn.newInbox()
        let replies = try conn.subscribeSync(inbox)
        try conn.publish("slow", payload: [], reply: inbox)
        try conn.flush(timeoutMilliseconds: 2_000)
        usleep(20_000)  // the handler is running
        let group = DispatchGroup()
        for name in ["first", "second"] {
            group.enter()
            Thread.detachNewThread {
                service.stop()
                events.append("\(name) returned")
                group.leave()
            }
        }
        XCTAssertEqual(group.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(events.all.first, "done", "\(events.all)")
        XCTAssertEqual(events.count, 3)
        XCTAssertNoThrow(try replies.next(timeoutMilliseconds: 2_000), "the request in flight was answered")
    }
}
