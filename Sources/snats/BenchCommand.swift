import ArgumentParser
import NATS
import NATSRPC

/// Throughput and latency, printed in the reference harness's RESULT format so `make bench`
/// can set it beside cnats.
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bench", abstract: "Measure publish, subscribe and request rates.")

    enum Mode: String, ExpressibleByArgument, CaseIterable { case pub, sub, pubsub, request, rpc }

    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "pub | sub | pubsub | request | rpc") var mode: Mode
    @Option(help: "Messages (or requests).") var count: Int = 1_000_000
    @Option(help: "Payload bytes.") var size: Int = 16

    func run() throws {
        let payload = [UInt8](repeating: UInt8(ascii: "x"), count: size)
        switch mode {
        case .pub: try benchPublish(payload)
        case .sub, .pubsub: try benchPubSub(payload)
        case .request: try benchRequest(payload)
        case .rpc: try benchRPC()
        }
    }

    private func report(_ seconds: Double, extra: String = "") {
        let rate = Double(count) / seconds
        let megabytes = Double(count * size) / seconds / 1e6
        print("RESULT client=swiftnats mode=\(mode == .request ? "req" : mode == .sub ? "pubsub" : mode.rawValue) size=\(size) count=\(count) "
            + "secs=\(format(seconds, 4)) msgs_per_s=\(format(rate, 0)) mb_per_s=\(format(megabytes, 2))\(extra)")
    }

    private func benchPublish(_ payload: [UInt8]) throws {
        let conn = try connection.connect()
        defer { conn.close() }
        let start = Deadline.now()
        try natsCall {
            try payload.withUnsafeBytes { bytes in
                try "bench.nosub".withUTF8Subject { subject in
                    for _ in 0..<count { try conn.publish(subject: subject, reply: nil, headers: nil, payload: bytes) }
                }
            }
            try conn.flush(timeoutMilliseconds: 60_000)
        }
        report(seconds(since: start))
    }

    private func benchPubSub(_ payload: [UInt8]) throws {
        let subscriber = try connection.connect()
        let publisher = try connection.connect()
        defer {
            publisher.close()
            subscriber.close()
        }
        let done = DoneSignal()
        var received = 0
        let target = count
        let sub = try natsCall {
            try subscriber.subscribe("bench.pubsub") { _ in
                received += 1
                if received == target { done.signal() }
            }
        }
        try natsCall {
            try sub.setPendingLimits(messages: 0, bytes: 0)
            try subscriber.flush(timeoutMilliseconds: 5_000)
        }
        let start = Deadline.now()
        try natsCall {
            try payload.withUnsafeBytes { bytes in
                try "bench.pubsub".withUTF8Subject { subject in
                    for _ in 0..<count { try publisher.publish(subject: subject, reply: nil, headers: nil, payload: bytes) }
                }
            }
            try publisher.flush(timeoutMilliseconds: 60_000)
        }
        guard done.wait(milliseconds: 60_000) else {
            throw CLIError("only \(sub.delivered)/\(count) received (dropped \(sub.dropped))")
        }
        report(seconds(since: start))
    }

    private func benchRequest(_ payload: [UInt8]) throws {
        let responder = try connection.connect()
        let requester = try connection.connect()
        defer {
            requester.close()
            responder.close()
        }
        _ = try natsCall {
            try responder.subscribe("bench.req") { message in try? responder.respond(to: message, payload: message.payload) }
        }
        try natsCall { try responder.flush(timeoutMilliseconds: 5_000) }
        try measureRoundTrips { _ = try requester.request("bench.req", payload: payload, timeoutMilliseconds: 5_000) }
    }

    /// An RPC server (namespace "bench", method "echo") and a client on two connections; each
    /// call sends params [a `size`-byte string] and gets it back.
    private func benchRPC() throws {
        let serverConnection = try connection.connect()
        let clientConnection = try connection.connect()
        defer {
            clientConnection.close()
            serverConnection.close()
        }
        let server = try natsCall { () -> RPCServer in
            let server = try RPCServer(connection: serverConnection, namespace: "bench")
            try server.register("echo") { request in try? request.respond(request.params.items.first ?? JSONValue.null()) }
            try server.start()
            return server
        }
        defer { server.stop() }
        let client = try RPCClient(connection: clientConnection, namespace: "bench")
        let params = JSONValue.array()
        params.append(JSONValue.string(String(repeating: "x", count: size)))
        try measureRoundTrips { _ = try client.call("echo", params: params, timeoutMilliseconds: 5_000) }
    }

    /// Times `count` sequential round trips (after 100 unmeasured ones) and reports p50/p99.
    private func measureRoundTrips(_ roundTrip: () throws -> Void) throws {
        for _ in 0..<100 { try natsCall(roundTrip) }
        var latencies: [UInt64] = []
        latencies.reserveCapacity(count)
        let start = Deadline.now()
        try natsCall {
            for _ in 0..<count {
                let sent = Deadline.now()
                try roundTrip()
                latencies.append(Deadline.now().uptimeNanoseconds - sent.uptimeNanoseconds)
            }
        }
        let elapsed = seconds(since: start)
        latencies.sort()
        func percentile(_ p: Double) -> Double {
            let index = min(latencies.count - 1, max(0, Int((p / 100 * Double(latencies.count)).rounded(.up)) - 1))
            return Double(latencies[index]) / 1_000
        }
        report(elapsed, extra: " p50_us=\(format(percentile(50), 1)) p99_us=\(format(percentile(99), 1))")
    }
}

func seconds(since start: Deadline) -> Double {
    Double(Deadline.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
}

func format(_ value: Double, _ decimals: Int) -> String {
    var scale = 1.0
    for _ in 0..<decimals { scale *= 10 }
    let rounded = (value * scale).rounded() / scale
    if decimals == 0 { return String(Int(rounded)) }
    let whole = Int(rounded)
    var fraction = String(Int(((rounded - Double(whole)) * scale).rounded()))
    while fraction.count < decimals { fraction = "0" + fraction }
    return "\(whole).\(fraction)"
}

/// A one-shot signal with a timeout, for the benchmark's "all received" moment.
final class DoneSignal {
    private let condition = Condition()
    private var fired = false

    func signal() {
        condition.withLock {
            fired = true
            condition.broadcast()
        }
    }

    func wait(milliseconds: Int64) -> Bool {
        let deadline = Deadline.after(milliseconds: milliseconds)
        return condition.withLock {
            while !fired { if !condition.wait(until: deadline) { break } }
            return fired
        }
    }
}

extension String {
    func withUTF8Subject<T>(_ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        var copy = self
        return try copy.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
    }
}
