import Foundation
import XCTest

/// A throwaway nats-server on a free loopback port: `-p -1` lets the server pick the port,
/// `--ports_file_dir` tells us which one. The log is printed when the test failed.
public final class NATSServer {
    public let process = Process()
    public let directory: URL
    public let logURL: URL
    public private(set) var url = ""
    public private(set) var port = 0

    public static var binary: String {
        if let path = ProcessInfo.processInfo.environment["NATS_SERVER_BIN"], !path.isEmpty { return path }
        for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let candidate = "\(directory)/nats-server"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return "/usr/sbin/nats-server"
    }

    /// `config`: the text of a configuration file (`max_payload: 1024`, say), written into the
    /// server's directory and passed with `-c`.
    /// `jetStream`: `-js` with a store directory inside the server's own (removed with it).
    public init(arguments: [String] = [], config: String? = nil, fixedPort: Int? = nil, jetStream: Bool = false) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("snats-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        logURL = directory.appendingPathComponent("server.log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        var configArguments: [String] = []
        if let config {
            let file = directory.appendingPathComponent("server.conf")
            try config.write(to: file, atomically: true, encoding: .utf8)
            configArguments = ["-c", file.path]
        }
        process.executableURL = URL(fileURLWithPath: Self.binary)
        let jetStreamArguments = jetStream ? ["-js", "-sd", directory.appendingPathComponent("jetstream").path] : []
        process.arguments = ["-a", "127.0.0.1", "-p", fixedPort.map(String.init) ?? "-1", "--ports_file_dir", directory.path]
            + configArguments + jetStreamArguments + arguments
        let logHandle = try FileHandle(forWritingTo: logURL)
        process.standardOutput = logHandle
        process.standardError = logHandle
        try process.run()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if let file = try? FileManager.default.contentsOfDirectory(atPath: directory.path).first(where: { $0.hasSuffix(".ports") }),
                let data = FileManager.default.contents(atPath: directory.appendingPathComponent(file).path),
                let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let urls = json["nats"] as? [String], let first = urls.first
            {
                url = first
                port = Int(first.split(separator: ":").last ?? "") ?? 0
                return
            }
            if !process.isRunning { break }
            usleep(20_000)
        }
        stop()
        throw NSError(domain: "NATSServer", code: 1, userInfo: [NSLocalizedDescriptionKey: "nats-server did not start: \(log())"])
    }

    public func log() -> String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    public func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Base class: one server per test, its log printed on failure.
open class ServerTestCase: XCTestCase {
    public var server: NATSServer!

    open var serverArguments: [String] { [] }
    /// Runs the server with JetStream (a store directory of its own).
    open var jetStream: Bool { false }

    override open func setUpWithError() throws {
        server = try NATSServer(arguments: serverArguments, jetStream: jetStream)
    }

    override open func tearDown() {
        if let run = testRun, run.failureCount > 0 { print("--- nats-server log ---\n\(server.log())") }
        server.stop()
        server = nil
    }
}

/// Base class: one server per test on a port of its own, which `restartServer()` keeps (a
/// client reconnects to the same URL), its log printed on failure.
open class RestartableServerTestCase: XCTestCase {
    public var server: NATSServer!
    public var port = 0

    override open func setUpWithError() throws {
        port = freePort()
        server = try NATSServer(fixedPort: port)
    }

    override open func tearDown() {
        if let run = testRun, run.failureCount > 0 { print("--- nats-server log ---\n\(server.log())") }
        server.stop()
        server = nil
    }

    /// Stops the server and starts a new one on the same port.
    public func restartServer() throws {
        server.stop()
        server = try NATSServer(fixedPort: port)
    }
}

/// Polls until `condition` holds or `seconds` pass: waits for events, not for time.
public func eventually(_ seconds: Double = 5, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(5_000)
    }
    return condition()
}

/// A thread-safe collector for callback tests.
public final class Collector<T> {
    private let lock = NSLock()
    private var items: [T] = []
    public init() {}
    public func append(_ item: T) { lock.lock(); items.append(item); lock.unlock() }
    public var all: [T] { lock.lock(); defer { lock.unlock() }; return items }
    public var count: Int { all.count }
    public func removeAll() { lock.lock(); items.removeAll(); lock.unlock() }
}

/// A free loopback TCP port (bound, then released), for servers that must come back on the
/// same port or know each other's cluster ports in advance.
public func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

