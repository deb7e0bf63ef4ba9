#if canImport(Glibc)
import Glibc
#endif
import NATS

/// Argument checks shared by the C entry points: each turns a caller mistake into
/// `SNATS_INVALID_ARG` with a message naming the argument.
extension NATSError {
    static func nullArgument(_ name: String) -> NATSError { .invalidArgument("\(name) is NULL") }
}

/// The bytes of a C string, without building a Swift String.
@inline(__always)
func cBytes(_ pointer: UnsafePointer<CChar>) -> UnsafeRawBufferPointer {
    UnsafeRawBufferPointer(start: pointer, count: strlen(pointer))
}

@inline(__always)
func required<T>(_ value: T?, _ name: String) throws -> T {
    guard let value else { throw NATSError.nullArgument(name) }
    return value
}

func requiredString(_ pointer: UnsafePointer<CChar>?, _ name: String) throws -> String {
    guard let pointer else { throw NATSError.nullArgument(name) }
    return String(cString: pointer)
}

func optionalString(_ pointer: UnsafePointer<CChar>?) -> String? {
    pointer.map { String(cString: $0) }
}

/// The payload as a buffer; NULL is allowed only for zero bytes.
@inline(__always)
func payloadBytes(_ data: UnsafeRawPointer?, _ length: Int) throws -> UnsafeRawBufferPointer {
    if length == 0 { return UnsafeRawBufferPointer(start: nil, count: 0) }
    guard let data else { throw NATSError.invalidArgument("data is NULL but len is \(length)") }
    return UnsafeRawBufferPointer(start: data, count: length)
}

/// A wait that may be 0: a poll.
func pollOrTimeout(_ milliseconds: Int64) throws -> Int64 {
    guard milliseconds >= 0 else { throw NATSError.invalidArgument("timeout_ms must not be negative, got \(milliseconds)") }
    return milliseconds
}

func positiveTimeout(_ milliseconds: Int64) throws -> Int64 {
    guard milliseconds > 0 else { throw NATSError.invalidArgument("timeout_ms must be greater than 0, got \(milliseconds)") }
    return milliseconds
}

/// Copies `text` into a caller's buffer with its NUL.
func copyOut(_ text: String, to buffer: UnsafeMutablePointer<CChar>?, capacity: Int) throws {
    let buffer = try required(buffer, "buffer")
    let utf8 = Array(text.utf8)
    guard utf8.count + 1 <= capacity else {
        throw CopyOutError.tooSmall(needed: utf8.count + 1, capacity: capacity)
    }
    for (index, byte) in utf8.enumerated() { buffer[index] = CChar(bitPattern: byte) }
    buffer[utf8.count] = 0
}

enum CopyOutError: Error, CustomStringConvertible {
    case tooSmall(needed: Int, capacity: Int)
    var description: String {
        switch self {
        case .tooSmall(let needed, let capacity): return "buffer of \(capacity) bytes is too small, \(needed) needed"
        }
    }
}
