#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (Fuzz/corpus/protocol, Fuzz/corpus/json).

The committed files are this script's output; run it again after changing it. A protocol seed
starts with the split byte FuzzProtocol reads first (low two bits 0: one byte per read).
"""
import json
import os

HERE = os.path.dirname(os.path.abspath(__file__))

INFO = (b'INFO {"server_id":"NDUX4V","server_name":"n1","version":"2.10.7","proto":1,'
        b'"go":"go1.21","host":"0.0.0.0","port":4222,"headers":true,"max_payload":1048576,'
        b'"client_id":5,"client_ip":"127.0.0.1"}\r\n')
SMALL_INFO = b'INFO {"server_id":"S","max_payload":16,"headers":true}\r\n'


def msg(subject, sid, payload, reply=None):
    parts = [b"MSG", subject, str(sid).encode()] + ([reply] if reply else []) + [str(len(payload)).encode()]
    return b" ".join(parts) + b"\r\n" + payload + b"\r\n"


def hmsg(subject, sid, headers, payload, reply=None):
    sizes = [str(len(headers)).encode(), str(len(headers) + len(payload)).encode()]
    parts = [b"HMSG", subject, str(sid).encode()] + ([reply] if reply else []) + sizes
    return b" ".join(parts) + b"\r\n" + headers + payload + b"\r\n"


HEADERS = b"NATS/1.0\r\nNats-Service-Error: bad\r\nNats-Service-Error-Code: 400\r\n\r\n"

PROTOCOL = {
    "info": INFO,
    "handshake": INFO + b"+OK\r\nPONG\r\n",
    "ping_pong": b"PING\r\nPONG\r\n+OK\r\n",
    "lowercase_ops": b"ping\r\npong\r\n+ok\r\nmsg a 1 2\r\nhi\r\n",
    "lf_only": b"PING\nPONG\nMSG a 1 2\nhi\r\n",
    "msg": INFO + msg(b"foo.bar", 1, b"hello"),
    "msg_reply": msg(b"svc.add", 7, b'{"a":1}', reply=b"_INBOX.abc.1"),
    "msg_empty": msg(b"a", 1, b""),
    "msg_crlf_in_payload": msg(b"a", 1, b"x\r\nPING\r\ny"),
    "msg_tabs": b"MSG\ta\t1\t5\r\nhello\r\n",
    "hmsg": INFO + hmsg(b"foo", 2, HEADERS, b"payload"),
    "hmsg_reply": hmsg(b"foo", 2, b"NATS/1.0\r\nA: b\r\n\r\n", b"p", reply=b"_INBOX.r"),
    "hmsg_503": hmsg(b"_INBOX.x.1", 3, b"NATS/1.0 503\r\n\r\n", b""),
    "err": b"-ERR 'Authorization Violation'\r\n",
    "err_after_msgs": msg(b"a", 1, b"1") + b"-ERR 'Slow Consumer'\r\n" + msg(b"a", 1, b"2"),
    "mixed": INFO + b"PING\r\n" + msg(b"a.b", 1, b"x") + hmsg(b"c", 2, HEADERS, b"y") + b"PONG\r\n+OK\r\n",
    "many_msgs": b"".join(msg(b"s.%d" % i, i % 3 + 1, b"p" * i) for i in range(12)),
    "split_mid_line": INFO + msg(b"foo", 1, b"abc") + b"MSG foo 1 10\r\n0123",
    "incomplete_line": b"MSG foo 1",
    "info_lowers_max_payload": SMALL_INFO + msg(b"a", 1, b"x" * 16) + msg(b"a", 1, b"x" * 17),
    "info_raises_max_payload": b'INFO {"max_payload":100000000}\r\n' + b"MSG a 1 70000000\r\nabc",
    "oversize_default": b"MSG a 1 67108865\r\n",
    "oversize_huge": b"MSG a 1 999999999999999999\r\n",
    "oversize_19_digits": b"MSG a 1 9999999999999999999\r\n",
    "hmsg_header_over_total": b"HMSG a 1 10 5\r\nabcde\r\n",
    "bad_crlf": b"MSG a 1 3\r\nabcXY",
    "bad_number": b"MSG a x 3\r\nabc\r\n",
    "too_many_args": b"MSG a 1 b c 3\r\nabc\r\n",
    "unknown_op": b"FOO bar\r\n",
    "empty_line": b"\r\n",
    "info_not_object": b"INFO [1,2]\r\n",
    "info_bad_json": b'INFO {"max_payload":}\r\n',
    "long_line": b"MSG " + b"a" * 4100 + b" 1 1\r\nx\r\n",
    "long_line_at_limit": b"MSG " + b"a" * (4096 - 10) + b" 1 1\r\nx\r\n",
    "long_info": b'INFO {"server_id":"' + b"x" * 5000 + b'"}\r\nPING\r\n',
    "connect_urls": b'INFO {"connect_urls":["10.0.0.1:4222","10.0.0.2:4222"],"ldm":true,"nonce":"abc"}\r\n',
}

JSON = {
    "object": b'{"id":"1","method":"math.add","params":{"a":1,"b":2}}',
    "array": b'[1,2,3,[],{},"x",null,true,false]',
    "rpc_error": b'{"id":"9","result":null,"error":{"code":-32603,"message":"boom","data":[1,"x"]}}',
    "whitespace": b' \t\r\n{ "a" : [ 1 , 2 ] , "b" : { } } \n',
    "escapes": b'"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t"',
    "unicode_escapes": b'"\\u00e9\\u4e2d\\ud83d\\ude00\\u0001"',
    "utf8": '"café 中文 😀"'.encode(),
    "key_utf8": '{"café":1,"中":2}'.encode(),
    "key_escaped": b'{"a\\nb":1,"\\u00e9":2,"\\"":3}',
    "key_mixed": '{"plain":1,"esc\\t":"v\\u00e9","ü":{"ß":[]}}'.encode(),
    "duplicate_keys": b'{"a":1,"a":2}',
    "empty_key": b'{"":0}',
    "int64_max": b"9223372036854775807",
    "int64_min": b"-9223372036854775808",
    "int64_over": b"9223372036854775808",
    "int64_under": b"-9223372036854775809",
    "ints": b"[0,-0,1,-1,10,1234567890]",
    "reals": b"[0.5,-0.0,1e10,1E-10,1.5e+300,2.2250738585072014e-308,5e-324,123.456e-7]",
    "real_overflow": b"1e400",
    "real_underflow": b"1e-400",
    "bad_numbers": b"[01]",
    "literals": b"[true,false,null]",
    "scalar_string": b'"x"',
    "scalar_number": b"42",
    "deep_2047": b"[" * 2047 + b"1" + b"]" * 2047,
    "deep_2048": b"[" * 2048 + b"]" * 2048,
    "deep_2048_scalar": b"[" * 2048 + b"1" + b"]" * 2048,
    "deep_objects": b'{"a":' * 300 + b"0" + b"}" * 300,
    "unterminated": b'{"a":[1,2',
    "bad_utf8": b'"\xc3\x28"',
    "overlong_utf8": b'"\xc0\xaf"',
    "surrogate_utf8": b'"\xed\xa0\x80"',
    "lone_surrogate_escape": b'"\\ud800"',
    "nul_escape": b'"a\\u0000b"',
    "nul_after_number": b"[1\x00]",
    "control_char": b'"a\x01b"',
    "trailing": b"[1] x",
    # Found by FuzzJSON in 3 s (before 151d674): an escaped key read as the previous string.
    "found_escaped_key": b'{"id\\r":"1","method":"math.add","params":{"a":1,"b":2}}',
}


def write(folder, items, prefix=b""):
    os.makedirs(folder, exist_ok=True)
    for name, data in items.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(prefix + data)


def main():
    # Split bytes cycle through the four read-length ranges.
    protocol = {}
    for index, (name, data) in enumerate(PROTOCOL.items()):
        protocol[name] = bytes([index % 256]) + data
    write(os.path.join(HERE, "corpus", "protocol"), protocol)
    write(os.path.join(HERE, "corpus", "json"), JSON)


if __name__ == "__main__":
    main()
