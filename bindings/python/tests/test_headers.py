"""Message headers."""

from __future__ import annotations

import pytest

import swiftnats

HEADER_CASES = [
    ("single", {"X-Key": "value"}, {"X-Key": ["value"]}),
    ("multi-valued", {"X-Multi": ["a", "b", "c"]}, {"X-Multi": ["a", "b", "c"]}),
    ("several-keys", {"A": "1", "B": ["2", "3"], "C": "4"}, {"A": ["1"], "B": ["2", "3"], "C": ["4"]}),
    ("empty-value", {"Empty": ""}, {"Empty": [""]}),
    ("utf8-value", {"Name": "Grüße ✓"}, {"Name": ["Grüße ✓"]}),
    ("case-kept", {"lower": "l", "UPPER": "u"}, {"lower": ["l"], "UPPER": ["u"]}),
]


def _check_headers(msg, expected):
    assert msg.headers == {k: v[0] for k, v in expected.items()}
    for key, values in expected.items():
        assert msg.header_values(key) == values, key
    assert [k for k, _ in msg.header_items] == list(expected)
    assert msg.header_values("Absent") == []


@pytest.mark.parametrize("sent,expected", [c[1:] for c in HEADER_CASES], ids=[c[0] for c in HEADER_CASES])
def test_headers_publish_round_trip(nc, sent, expected):
    sub = nc.subscribe("hdr")
    nc.publish("hdr", b"payload", headers=sent)
    msg = sub.next_msg(timeout=5.0)
    assert msg.data == b"payload"
    _check_headers(msg, expected)


@pytest.mark.parametrize("sent,expected", [c[1:] for c in HEADER_CASES], ids=[c[0] for c in HEADER_CASES])
def test_headers_request_round_trip(nc, sent, expected):
    def echo(msg):
        headers = {k: v for k, v in msg.header_items}
        msg.respond(msg.data, headers=headers)

    nc.subscribe("hdr.echo", cb=echo)
    nc.flush()
    reply = nc.request("hdr.echo", b"req", timeout=5.0, headers=sent)
    assert reply.data == b"req"
    _check_headers(reply, expected)


def test_headers_with_reply(nc):
    sub = nc.subscribe("hdr.reply")
    nc.publish("hdr.reply", b"", reply="where.to", headers={"K": "v"})
    msg = sub.next_msg(timeout=5.0)
    assert msg.reply == "where.to" and msg.headers == {"K": "v"}


def test_empty_headers_send_plain_message(nc):
    sub = nc.subscribe("hdr.none")
    nc.publish("hdr.none", b"x", headers={})
    assert sub.next_msg(timeout=5.0).headers is None


@pytest.mark.parametrize(
    "headers",
    [{"bad key": "v"}, {"bad:key": "v"}, {"K": "line\r\nbreak"}, {"K\0": "v"}],
    ids=["space-in-key", "colon-in-key", "crlf-in-value", "nul-in-key"],
)
def test_invalid_headers(nc, headers):
    with pytest.raises(swiftnats.InvalidArgumentError):
        nc.publish("hdr", b"", headers=headers)


def test_status_message_no_responders(nc):
    # a publish with a reply subject and no subscriber: the server answers the reply inbox
    # with an inline status "NATS/1.0 503" (the connection asked for no_responders)
    inbox = nc.new_inbox()
    sub = nc.subscribe(inbox)
    nc.flush()
    nc.publish("nobody.here", b"", reply=inbox)
    msg = sub.next_msg(timeout=5.0)
    assert msg.status == 503
    assert msg.description in ("", "No Responders")  # 2.9.10 sends a bare "NATS/1.0 503"
    assert msg.data == b""
    # 2.9.10 sends no header; newer servers (2.15.1 seen) name the subject that had no responders
    assert msg.headers in ({}, {"Nats-Subject": "nobody.here"})
    assert "status=503" in repr(msg)


def test_plain_message_has_no_status(nc):
    sub = nc.subscribe("plain")
    nc.publish("plain", b"x", headers={"K": "v"})
    msg = sub.next_msg(timeout=5.0)
    assert msg.status == 0 and msg.description == ""
