#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import NATS
import NATSJetStream

/// `snats obj ...`: object buckets.
struct ObjectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "obj", abstract: "Object buckets: add, put, get, ls, info, del, rm.",
        subcommands: [ObjectAddCommand.self, ObjectPutCommand.self, ObjectGetCommand.self, ObjectListCommand.self,
                      ObjectInfoCommand.self, ObjectDeleteCommand.self, ObjectRemoveCommand.self])
}

struct ObjectAddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Create a bucket.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Bucket.") var bucket: String
    @Option(help: "file or memory.") var storage = "file"
    @Option(help: "Replicas.") var replicas = 1

    func run() throws {
        let config = JSONValue.object()
        config.set("storage", storage)
        config.set("replicas", replicas)
        let store = try jsCall { try ObjectStore.create(try jetStream.context(), bucket: bucket, config: config) }
        print("Created object bucket \(store.bucket)")
    }
}

struct ObjectPutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "put", abstract: "Store a file (or stdin) as an object.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Bucket.") var bucket: String
    @Argument(help: "File to store (- for stdin).") var file: String
    @Option(help: "Object name (default: the file's name).") var name: String?
    @Option(help: "Description.") var description: String?

    func run() throws {
        let fd = file == "-" ? 0 : open(file, O_RDONLY)
        guard fd >= 0 else { throw CLIError("cannot open \(file): \(String(cString: strerror(errno)))") }
        defer { if fd != 0 { close(fd) } }
        let objectName = name ?? (file == "-" ? "stdin" : String(file.split(separator: "/").last ?? Substring(file)))
        let store = try jsCall { try ObjectStore.bind(try jetStream.context(), bucket: bucket) }
        let info = try jsCall {
            try store.put(ObjectMeta(name: objectName, description: description)) { buffer in
                let count = read(fd, buffer.baseAddress, buffer.count)
                guard count >= 0 else { throw CLIError("reading \(file): \(String(cString: strerror(errno)))") }
                return count
            }
        }
        print("Stored \(objectName): \(info.int("size") ?? 0) bytes in \(info.int("chunks") ?? 0) chunks, \(info.string("digest") ?? "")")
    }
}

struct ObjectGetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "get", abstract: "Write an object to a file (or stdout).")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Bucket.") var bucket: String
    @Argument(help: "Object name.") var name: String
    @Option(name: .shortAndLong, help: "File to write (default: stdout).") var output: String?

    func run() throws {
        let fd = output.map { open($0, O_WRONLY | O_CREAT | O_TRUNC, 0o644) } ?? 1
        guard fd >= 0 else { throw CLIError("cannot open \(output ?? ""): \(String(cString: strerror(errno)))") }
        defer { if fd != 1 { close(fd) } }
        let store = try jsCall { try ObjectStore.bind(try jetStream.context(), bucket: bucket) }
        let info = try jsCall {
            try store.get(name) { bytes in
                var offset = 0
                while offset < bytes.count {
                    let count = write(fd, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
                    guard count > 0 else { throw CLIError("writing: \(String(cString: strerror(errno)))") }
                    offset += count
                }
            }
        }
        if let output { print("Wrote \(info.int("size") ?? 0) bytes to \(output)") }
    }
}

struct ObjectListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "ls", abstract: "List the buckets, or a bucket's objects.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Bucket (the buckets when omitted).") var bucket: String?

    func run() throws {
        let js = try jetStream.context()
        guard let bucket else { return try jsCall { try ObjectStore.buckets(js) }.sorted().forEach { print($0) } }
        let infos = try jsCall { try ObjectStore.bind(js, bucket: bucket).list() }
        printTable(["NAME", "SIZE", "CHUNKS", "MODIFIED"], infos.map {
            [$0.string("name") ?? "", "\($0.int("size") ?? 0)", "\($0.int("chunks") ?? 0)", $0.string("mtime") ?? ""]
        })
    }
}

struct ObjectInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "info", abstract: "An object's info, as JSON.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Bucket.") var bucket: String
    @Argument(help: "Object name.") var name: String

    func run() throws {
        print(try jsCall { try ObjectStore.bind(try jetStream.context(), bucket: bucket).info(name) }.serialized())
    }
}

struct ObjectDeleteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "del", abstract: "Delete an object.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Bucket.") var bucket: String
    @Argument(help: "Object name.") var name: String

    func run() throws {
        try jsCall { try ObjectStore.bind(try jetStream.context(), bucket: bucket).delete(name) }
        print("Deleted \(name)")
    }
}

struct ObjectRemoveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rm", abstract: "Delete a bucket.")
    @OptionGroup var jetStream: JetStreamOptions
    @Argument(help: "Bucket.") var bucket: String

    func run() throws {
        try jsCall { try ObjectStore.delete(try jetStream.context(), bucket: bucket) }
        print("Deleted object bucket \(bucket)")
    }
}
