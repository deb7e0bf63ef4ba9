import NATS
@testable import NATSJetStream
import XCTest

/// The publish ack's fast path must read exactly what the JSON decoder reads, and leave to it
/// everything else: whatever the scanner accepts, the full decode gives the same ack.
final class PubAckScannerTests: XCTestCase {
    private func scan(_ text: String) -> PubAck? {
        var bytes = text
        return bytes.withUTF8 { PubAckScanner.scan(UnsafeRawBufferPointer($0)) }
    }

    /// The ack as the full decoder reads it (what `PubAck.decode` did before the scanner).
    private func decoded(_ text: String) -> PubAck? {
        guard let body = try? JSONValue.parse(text), body.isObject, body.value("error") == nil,
              let stream = body.string("stream"), let sequence = body.int("seq"), sequence >= 0
        else { return nil }
        return PubAck(stream: stream, sequence: UInt64(sequence), duplicate: body.bool("duplicate") ?? false,
                      domain: body.string("domain"))
    }

    func testTheServersAcksAreReadAsTheDecoderReadsThem() {
        let acks = [
            #"{"stream":"ORDERS","seq":1}"#,
            #"{"stream":"S","seq":0}"#,
            #"{"stream":"KV_b","seq":9223372036854775807}"#,
            #"{"stream":"S","seq":42,"duplicate":true}"#,
            #"{"stream":"S","seq":42,"duplicate":false}"#,
            #"{"stream":"S","domain":"hub","seq":7}"#,
            #"{"seq":3,"stream":"S"}"#,
            #"{"stream":"a b-c_d.e","domain":"x","seq":10,"duplicate":true}"#,
        ]
        for text in acks {
            let fast = scan(text)
            XCTAssertNotNil(fast, text)
            XCTAssertEqual(fast, decoded(text), text)
        }
        XCTAssertEqual(scan(#"{"stream":"S","domain":"hub","seq":7,"duplicate":true}"#),
                       PubAck(stream: "S", sequence: 7, duplicate: true, domain: "hub"))
    }

    func testAnythingElseIsLeftToTheDecoder() {
        let others = [
            "", "{", "{}", "[]", "null", #"{"stream":"S"}"#, #"{"seq":1}"#,
            #"{"error":{"code":503,"err_code":10077,"description":"x"},"stream":"S","seq":1}"#,
            #"{"stream":"S","seq":1,"type":"io.nats.jetstream.api.v1.pub_ack"}"#,
            #"{ "stream":"S","seq":1}"#, #"{"stream":"S","seq":1} "#, #"{"stream":"S", "seq":1}"#,
            #"{"stream":"S\u0041","seq":1}"#, #"{"stream":"S\"","seq":1}"#, "{\"stream\":\"Sé\",\"seq\":1}",
            "{\"stream\":\"S\t\",\"seq\":1}",
            #"{"stream":"S","seq":01}"#, #"{"stream":"S","seq":-1}"#, #"{"stream":"S","seq":1.0}"#,
            #"{"stream":"S","seq":1e3}"#, #"{"stream":"S","seq":1E3}"#, #"{"stream":"S","seq":"1"}"#,
            #"{"stream":"S","seq":9223372036854775808}"#, #"{"stream":"S","seq":99999999999999999999}"#,
            #"{"stream":"S","seq":1,"seq":2}"#, #"{"stream":"S","stream":"T","seq":1}"#,
            #"{"stream":"S","seq":1,"duplicate":1}"#, #"{"stream":"S","seq":1,"duplicate":tru}"#,
            #"{"stream":"S","seq":1,}"#, #"{"stream":"S","seq":1}}"#, #"{"stream":"S","seq":1"#,
            #"{"seq":01,"seq":5,"stream":"S"}"#, #"{"stream":"S","seq":00,"seq":7}"#,
            #"{"stream":"S\u0041","stream":"T","seq":1}"#, #"{"stream":"S","duplicate":1,"duplicate":true,"seq":1}"#,
            #"{"stream":1,"seq":1}"#, #"{"stream":null,"seq":1}"#, #"{"stream":"S","seq":1,"domain":null}"#,
        ]
        for text in others {
            XCTAssertNil(scan(text), text)
        }
    }

    /// What the scanner leaves comes out of `PubAck.decode` as before: the decoder's ack or
    /// the stream's error.
    func testTheDecodeStillReadsWhatTheScannerLeaves() throws {
        func message(_ text: String) -> Message {
            Message(subject: "_INBOX.x.1", payload: Array(text.utf8), connection: nil)
        }
        XCTAssertEqual(try PubAck.decode(message(#"{ "stream" : "S", "seq" : 5 }"#), subject: "s"),
                       PubAck(stream: "S", sequence: 5))
        XCTAssertEqual(try PubAck.decode(message(#"{"stream":"S\u00e9","seq":5,"val":"1"}"#), subject: "s"),
                       PubAck(stream: "Sé", sequence: 5))
        XCTAssertThrowsError(try PubAck.decode(
            message(#"{"error":{"code":400,"err_code":10071,"description":"wrong last sequence: 1"},"stream":"S","seq":0}"#),
            subject: "s")
        ) { error in
            XCTAssertEqual((error as? JetStreamError)?.errorCode, 10071, "\(error)")
        }
        XCTAssertThrowsError(try PubAck.decode(message(#"{"stream":"S"}"#), subject: "s"))
    }
}
