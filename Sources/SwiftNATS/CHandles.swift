import NATS

/// All boxing of Swift objects into C handles lives here. A handle is an `Unmanaged` pointer
/// to a box retained once for the caller; `*_destroy` releases that retain.
enum Handle {
    @inline(__always)
    static func make<T: AnyObject>(_ object: T) -> OpaquePointer {
        OpaquePointer(Unmanaged.passRetained(object).toOpaque())
    }

    @inline(__always)
    static func borrow<T: AnyObject>(_ pointer: OpaquePointer, as type: T.Type) -> T {
        Unmanaged<T>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
    }

    @inline(__always)
    static func unretained<T: AnyObject>(_ object: T) -> OpaquePointer {
        OpaquePointer(Unmanaged.passUnretained(object).toOpaque())
    }

    @inline(__always)
    static func release<T: AnyObject>(_ pointer: OpaquePointer, as type: T.Type) {
        Unmanaged<T>.fromOpaque(UnsafeRawPointer(pointer)).release()
    }

    static func get<T: AnyObject>(_ pointer: OpaquePointer?, as type: T.Type, _ name: String) throws -> T {
        guard let pointer else { throw NATSError.nullArgument(name) }
        return borrow(pointer, as: type)
    }
}

/// The shape of every function that hands out a new handle through `out`: NULL on failure,
/// the made object's handle (retained once for the caller) on success.
func withHandleOut<T: AnyObject>(_ out: UnsafeMutablePointer<OpaquePointer?>?, _ name: String, _ make: () throws -> T) -> Int32 {
    out?.pointee = nil
    return withStatus {
        let out = try required(out, name)
        out.pointee = Handle.make(try make())
    }
}

/// C callback shapes of the header.
public typealias CConnHandler = @convention(c) (OpaquePointer?, UnsafeMutableRawPointer?) -> Void
public typealias CUserJWTHandler = @convention(c) (
    UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, UnsafeMutableRawPointer?
) -> Int32
public typealias CSignatureHandler = @convention(c) (
    UnsafeMutablePointer<UInt8>?, UnsafePointer<CChar>?, UnsafeMutableRawPointer?
) -> Int32
public typealias CReconnectDelayHandler = @convention(c) (OpaquePointer?, Int32, UnsafeMutableRawPointer?) -> Int64
public typealias CErrorHandler = @convention(c) (
    OpaquePointer?, OpaquePointer?, Int32, UnsafePointer<CChar>?, UnsafeMutableRawPointer?
) -> Void
public typealias CMsgHandler = @convention(c) (OpaquePointer?, OpaquePointer?, OpaquePointer?, UnsafeMutableRawPointer?) -> Void
public typealias CBatchHandler = @convention(c) (
    OpaquePointer?, OpaquePointer?, UnsafeRawPointer?, Int, Int, UnsafeMutableRawPointer?
) -> Void

/// A C function pointer with its closure.
struct CCallback<Function> {
    let function: Function
    let closure: UnsafeMutableRawPointer?
}
