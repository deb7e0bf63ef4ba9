#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import NATS
import NATSMicro

/// `snats micro ...`: discover services (ours or any NATS client's) and run a demo one.
struct MicroCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "micro",
        abstract: "Find and inspect NATS services (the Service API, ADR-32), or run an echo service.",
        subcommands: [MicroListCommand.self, MicroPingCommand.self, MicroInfoCommand.self, MicroStatsCommand.self,
                      MicroServeCommand.self]
    )
}

/// What the discovery commands share: which services, how long to listen, how to print.
struct DiscoveryOptions: ParsableArguments {
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "Service name (all services when omitted).") var name: String?
    @Argument(help: "Instance id (all instances when omitted).") var id: String?
    @Option(help: "Milliseconds to gather answers.") var timeout: Int64 = 1_000
    @Flag(help: "Print the documents as JSON, one per line.") var json = false

    func gather(_ verb: MonitoringVerb) throws -> (Connection, [JSONValue]) {
        let conn = try connection.connect()
        let found = try natsCall {
            do {
                return try DiscoveryClient(connection: conn).gather(
                    verb, name: name, id: id, timeoutMilliseconds: timeout, maxReplies: 0,
                    ignoredReplies: { report($0.description) })
            } catch let error as MicroError {
                throw CLIError(error.description)
            }
        }
        return (conn, found.sorted { ($0.string("name") ?? "", $0.string("id") ?? "") < ($1.string("name") ?? "", $1.string("id") ?? "") })
    }

    func printJSON(_ documents: [JSONValue]) {
        for document in documents { print(document.serialized()) }
    }
}

/// Prints rows as aligned columns.
func printTable(_ header: [String], _ rows: [[String]]) {
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    for row in all {
        let cells = row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[index] - cell.count)
        }
        print(cells.joined(separator: "  "))
    }
}

struct MicroListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the services that answer PING.")
    @OptionGroup var discovery: DiscoveryOptions

    func run() throws {
        let (conn, found) = try discovery.gather(.info)
        defer { conn.close() }
        if discovery.json { return discovery.printJSON(found) }
        if found.isEmpty { return print("No services found") }
        printTable(["NAME", "VERSION", "ID", "DESCRIPTION"], found.map {
            [$0.string("name") ?? "", $0.string("version") ?? "", $0.string("id") ?? "", $0.string("description") ?? ""]
        })
    }
}

struct MicroPingCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ping", abstract: "Ping services and time the answers.")
    @OptionGroup var discovery: DiscoveryOptions

    func run() throws {
        let started = Deadline.now()
        let (conn, found) = try discovery.gather(.ping)
        defer { conn.close() }
        if discovery.json { return discovery.printJSON(found) }
        for document in found {
            print("\(document.string("name") ?? "?") \(document.string("version") ?? "?") \(document.string("id") ?? "?")")
        }
        let elapsed = (Deadline.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1_000_000
        print("\(found.count) service instance(s) answered within \(elapsed) ms")
    }
}

struct MicroInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "Show services' descriptions and endpoints.")
    @OptionGroup var discovery: DiscoveryOptions

    func run() throws {
        let (conn, found) = try discovery.gather(.info)
        defer { conn.close() }
        if discovery.json { return discovery.printJSON(found) }
        if found.isEmpty { return print("No services found") }
        for document in found {
            print("Service \(document.string("name") ?? "?") \(document.string("version") ?? "?") (\(document.string("id") ?? "?"))")
            if let description = document.string("description"), !description.isEmpty { print("  \(description)") }
            if let metadata = document.value("metadata"), metadata.isObject, metadata.serialized() != "{}" {
                print("  metadata: \(metadata.serialized())")
            }
            let rows = (document.value("endpoints")?.items ?? []).map { endpoint -> [String] in
                let metadata = endpoint.value("metadata").map { $0.isObject ? $0.serialized() : "" } ?? ""
                return ["  " + (endpoint.string("name") ?? ""), endpoint.string("subject") ?? "",
                        endpoint.string("queue_group") ?? "", metadata]
            }
            printTable(["  ENDPOINT", "SUBJECT", "QUEUE GROUP", "METADATA"], rows)
            print("")
        }
    }
}

struct MicroStatsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "stats", abstract: "Show services' request statistics.")
    @OptionGroup var discovery: DiscoveryOptions

    func run() throws {
        let (conn, found) = try discovery.gather(.stats)
        defer { conn.close() }
        if discovery.json { return discovery.printJSON(found) }
        if found.isEmpty { return print("No services found") }
        var rows: [[String]] = []
        for document in found {
            for endpoint in document.value("endpoints")?.items ?? [] {
                let average = Int64(endpoint.int("average_processing_time") ?? 0)
                rows.append([
                    document.string("name") ?? "", document.string("id") ?? "", endpoint.string("name") ?? "",
                    String(endpoint.int("num_requests") ?? 0), String(endpoint.int("num_errors") ?? 0),
                    formatDuration(average), endpoint.string("last_error") ?? "",
                ])
            }
        }
        printTable(["SERVICE", "ID", "ENDPOINT", "REQUESTS", "ERRORS", "AVERAGE", "LAST ERROR"], rows)
    }

    private func formatDuration(_ nanoseconds: Int64) -> String {
        if nanoseconds >= 1_000_000 { return "\(nanoseconds / 1_000_000) ms" }
        if nanoseconds >= 1_000 { return "\(nanoseconds / 1_000) µs" }
        return "\(nanoseconds) ns"
    }
}

struct MicroServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Run an echo service (endpoint \"echo\"; a request \"fail\" gets a service error).")
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "Service name.") var name: String = "snats-echo"
    @Option(help: "Service version.") var version: String = "1.0.0"
    @Option(help: "Subject of the echo endpoint.") var subject: String = "snats.echo"
    @Option(help: "Stop after this many seconds (0 = run until interrupted).") var seconds: Int = 0

    func run() throws {
        let conn = try connection.connect()
        var config = ServiceConfig(name: name, version: version)
        config.description = "Echoes requests (snats micro serve)"
        config.metadata = ["_nats.client.created.library": "swiftnats", "_nats.client.created.version": SwiftNATSVersion.string]
        let service: Service
        do {
            service = try Service.add(to: conn, config: config)
            try service.addEndpoint("echo", config: EndpointConfig(subject: subject)) { request in
                if request.data == Array("fail".utf8) {
                    try? request.respondError(code: "500", description: "asked to fail")
                } else {
                    try? request.respond(request.data, headers: request.headers)
                }
            }
        } catch let error as MicroError {
            throw CLIError(error.description)
        } catch let error as NATSError {
            throw CLIError(error.description)
        }
        // Announced once the server has the endpoint: a request right after this line finds it.
        try natsCall { try conn.flush(timeoutMilliseconds: 5_000) }
        print("Service \(name) \(version) (\(service.id)) answering on \"\(subject)\"")
        flushStdout()
        serve(seconds: seconds) { service.isRunning }
        service.stop()
        conn.close()
    }
}
