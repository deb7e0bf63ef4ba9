import NIOConcurrencyHelpers

/// Unique identifiers in the nats.go/nats.c "nuid" style: 22 base-62 characters, a random
/// 12-character prefix followed by a 10-character sequence that advances by a random
/// increment. Cheap enough to name every inbox and service instance.
public struct NUID {
    static let digits: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
    static let base: UInt64 = 62
    static let prefixLength = 12
    static let sequenceLength = 10
    static let maxSequence: UInt64 = 839_299_365_868_340_224  // 62^10
    static let minIncrement: UInt64 = 33
    static let maxIncrement: UInt64 = 333

    private var prefix: [UInt8] = []
    private var sequence: UInt64 = 0
    private var increment: UInt64 = 0
    private var generator = SystemRandomNumberGenerator()

    public init() {
        randomizePrefix()
        resetSequence()
    }

    public mutating func next() -> String {
        sequence += increment
        if sequence >= Self.maxSequence {
            randomizePrefix()
            resetSequence()
        }
        var bytes = prefix
        bytes.reserveCapacity(Self.prefixLength + Self.sequenceLength)
        var tail = [UInt8](repeating: 0, count: Self.sequenceLength)
        var remaining = sequence
        for index in stride(from: Self.sequenceLength - 1, through: 0, by: -1) {
            tail[index] = Self.digits[Int(remaining % Self.base)]
            remaining /= Self.base
        }
        bytes.append(contentsOf: tail)
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func randomizePrefix() {
        prefix = (0..<Self.prefixLength).map { _ in
            Self.digits[Int(UInt64.random(in: 0..<Self.base, using: &generator))]
        }
    }

    private mutating func resetSequence() {
        sequence = UInt64.random(in: 0..<Self.maxSequence, using: &generator)
        increment = UInt64.random(in: Self.minIncrement..<Self.maxIncrement, using: &generator)
    }
}

/// A process-wide, thread-safe NUID source.
public enum SharedNUID {
    private static let state = NIOLockedValueBox(NUID())

    public static func next() -> String {
        state.withLockedValue { $0.next() }
    }
}
