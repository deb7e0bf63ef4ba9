import NIOCore

/// Encoders for the client side of the protocol, writing straight into the outbound buffer.
extension ByteBuffer {
    @inlinable
    mutating func writeDecimal(_ value: Int) {
        if value < 10 {
            writeInteger(UInt8(48 + value))
            return
        }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var remaining = value
        var count = 0
        withUnsafeMutableBytes(of: &digits) { raw in
            while remaining > 0 {
                raw[19 - count] = UInt8(48 + remaining % 10)
                remaining /= 10
                count += 1
            }
            writeBytes(UnsafeRawBufferPointer(rebasing: raw[(20 - count)...]))
        }
    }

    @usableFromInline static let crlf: StaticString = "\r\n"

    /// `PUB subject [reply] size\r\npayload\r\n`, or HPUB when `headers` is non-empty.
    @inlinable
    mutating func writePublish(
        subject: UnsafeRawBufferPointer, reply: UnsafeRawBufferPointer?,
        headers: UnsafeRawBufferPointer?, payload: UnsafeRawBufferPointer
    ) {
        let headerCount = headers?.count ?? 0
        if headerCount > 0 {
            writeStaticString("HPUB ")
        } else {
            writeStaticString("PUB ")
        }
        writeBytes(subject)
        writeInteger(UInt8(ascii: " "))
        if let reply, reply.count > 0 {
            writeBytes(reply)
            writeInteger(UInt8(ascii: " "))
        }
        if let headers, headerCount > 0 {
            writeDecimal(headerCount)
            writeInteger(UInt8(ascii: " "))
            writeDecimal(headerCount + payload.count)
            writeStaticString("\r\n")
            writeBytes(headers)
        } else {
            writeDecimal(payload.count)
            writeStaticString("\r\n")
        }
        writeBytes(payload)
        writeStaticString("\r\n")
    }

    mutating func writeSubscribe(subject: String, queue: String?, sid: UInt64) {
        writeStaticString("SUB ")
        writeString(subject)
        writeInteger(UInt8(ascii: " "))
        if let queue, !queue.isEmpty {
            writeString(queue)
            writeInteger(UInt8(ascii: " "))
        }
        writeDecimal(Int(sid))
        writeStaticString("\r\n")
    }

    mutating func writeUnsubscribe(sid: UInt64, max: Int?) {
        writeStaticString("UNSUB ")
        writeDecimal(Int(sid))
        if let max {
            writeInteger(UInt8(ascii: " "))
            writeDecimal(max)
        }
        writeStaticString("\r\n")
    }

    mutating func writeConnect(_ json: String) {
        writeStaticString("CONNECT ")
        writeString(json)
        writeStaticString("\r\n")
    }

    mutating func writePing() { writeStaticString("PING\r\n") }
    mutating func writePong() { writeStaticString("PONG\r\n") }
}
