"""JetStream, blocking (``nc.jetstream()``): streams and consumers managed, the API's errors as
their classes, publishing with acks (one at a time and asynchronously through a bounded
window), stored messages read back, pull subscriptions fetched and acknowledged. Every test
runs against its own nats-server with JetStream (the ``js_url`` fixture)."""

from __future__ import annotations

import concurrent.futures
import datetime
import os
import signal
import threading
import time

import pytest
import swiftnats
from conftest import eventually
from swiftnats import _runtime
from swiftnats.jetstream import JetStreamContext, PullSubscription


@pytest.fixture
def jnc(js_url):
    client = swiftnats.connect(js_url, name="pytest-js")
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def js(jnc) -> JetStreamContext:
    return jnc.jetstream()


def fetch_all(psub: PullSubscription, count: int, timeout: float = 5.0) -> list[swiftnats.Msg]:
    """Fetches until @p count messages came (fails the test after @p timeout seconds)."""
    got: list[swiftnats.Msg] = []
    deadline = time.monotonic() + timeout
    while len(got) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"{len(got)} of {count} messages within {timeout} s")
        try:
            got += psub.fetch(count - len(got), timeout=0.5)
        except swiftnats.TimeoutError:
            pass
    return got


# -- account, streams --------------------------------------------------------------------------


def test_account_info(js):
    info = js.account_info()
    assert isinstance(info, swiftnats.jetstream.Info) and isinstance(info, dict)
    assert info.streams == 0 and info.consumers == 0
    assert info.limits.max_streams == -1  # no limits on the default account
    js.add_stream(name="ACCT", subjects=["acct.>"])
    js.add_consumer("ACCT", durable_name="c")
    info = js.account_info()
    assert (info.streams, info.consumers) == (1, 1)


def test_stream_lifecycle(js):
    # keyword arguments; durations in seconds
    info = js.add_stream(name="ORDERS", subjects=["orders.>"], max_age=3600, storage="memory", max_msgs=1000)
    assert info.config.name == "ORDERS" and info.config.subjects == ["orders.>"]
    assert info.config.max_age == 3600.0 and isinstance(info.config.max_age, float)
    assert info.config.duplicate_window == 120.0  # the server's default (2 minutes), in seconds
    assert info.config.storage == "memory" and info.config.max_msgs == 1000
    assert info.state.messages == 0
    assert info["config"]["max_age"] == 3600.0  # a dict as well
    # the same configuration again is accepted
    assert js.add_stream(name="ORDERS", subjects=["orders.>"], max_age=3600, storage="memory",
                         max_msgs=1000).config.max_age == 3600.0

    # a dict, fractional seconds
    info = js.add_stream({"name": "EVENTS", "subjects": ["events.*"], "max_age": 1.5, "duplicate_window": 0.5,
                          "storage": "memory"})
    assert info.config.max_age == 1.5 and info.config.duplicate_window == 0.5
    # a dict and keyword arguments: the keywords win
    info = js.add_stream({"name": "AUDIT", "subjects": ["audit"]}, max_age=60, storage="memory")
    assert info.config.max_age == 60.0 and info.config.subjects == ["audit"]

    # update: an Info's config read back goes in again (seconds converted both ways)
    config = js.stream_info("ORDERS").config
    config["max_msgs"] = 10
    config["subjects"] = ["orders.>", "returns.>"]
    updated = js.update_stream(config)
    assert updated.config.max_msgs == 10 and updated.config.max_age == 3600.0
    assert updated.config.subjects == ["orders.>", "returns.>"]
    assert js.update_stream(name="EVENTS", subjects=["events.*"], max_age=7200, duplicate_window=0.5,
                            storage="memory").config.max_age == 7200.0
    assert js.stream_info("EVENTS").config.max_age == 7200.0
    assert js.stream_info("ORDERS").config.max_msgs == 10

    # listing
    assert sorted(js.stream_names()) == ["AUDIT", "EVENTS", "ORDERS"]
    assert js.stream_names(subject="returns.x") == ["ORDERS"]
    assert js.stream_names(subject="nothing.here") == []
    infos = js.streams_info()
    assert sorted(i.config.name for i in infos) == ["AUDIT", "EVENTS", "ORDERS"]
    assert all(isinstance(i, swiftnats.jetstream.Info) for i in infos)
    by_name = {i.config.name: i for i in infos}
    assert by_name["ORDERS"].config.max_age == 3600.0 and by_name["EVENTS"].config.max_age == 7200.0
    assert [i.config.name for i in js.streams_info(subject="events.new")] == ["EVENTS"]
    assert js.find_stream_name_by_subject("orders.new") == "ORDERS"
    assert js.find_stream_name_by_subject("audit") == "AUDIT"
    with pytest.raises(swiftnats.NotFoundError):
        js.find_stream_name_by_subject("nothing.here")

    # delete
    assert js.delete_stream("EVENTS") is True
    assert sorted(js.stream_names()) == ["AUDIT", "ORDERS"]
    with pytest.raises(swiftnats.StreamNotFoundError):
        js.stream_info("EVENTS")
    with pytest.raises(swiftnats.StreamNotFoundError):
        js.delete_stream("EVENTS")


def test_stream_info_subjects_filter(js):
    js.add_stream(name="SF", subjects=["sf.>"], storage="memory")
    for subject, count in (("sf.a.1", 3), ("sf.a.2", 1), ("sf.b.1", 2)):
        for _ in range(count):
            js.publish(subject, b"x")
    info = js.stream_info("SF")
    assert info.state.messages == 6 and info.state.subjects is None  # not asked for
    assert js.stream_info("SF", subjects_filter="sf.a.*").state.subjects == {"sf.a.1": 3, "sf.a.2": 1}
    assert js.stream_info("SF", subjects_filter=">").state.subjects == {"sf.a.1": 3, "sf.a.2": 1, "sf.b.1": 2}
    assert js.stream_info("SF", subjects_filter="sf.b.1").state.subjects == {"sf.b.1": 2}


def test_purge_stream(js):
    def state(name):
        return js.stream_info(name).state

    # keep: all but the last 3
    js.add_stream(name="PK", subjects=["pk"], storage="memory")
    for i in range(10):
        js.publish("pk", b"%d" % i)
    assert js.purge_stream("PK", keep=3) is True
    assert (state("PK").messages, state("PK").first_seq, state("PK").last_seq) == (3, 8, 10)
    assert js.get_msg("PK", 8).data == b"7"

    # seq: those below it
    js.add_stream(name="PS", subjects=["ps"], storage="memory")
    for i in range(10):
        js.publish("ps", b"%d" % i)
    assert js.purge_stream("PS", seq=6) is True
    assert (state("PS").messages, state("PS").first_seq) == (5, 6)
    with pytest.raises(swiftnats.MsgNotFoundError):
        js.get_msg("PS", 5)

    # subject: only its messages
    js.add_stream(name="PU", subjects=["pu.*"], storage="memory")
    for i in range(6):
        js.publish("pu.a" if i % 2 else "pu.b", b"%d" % i)
    assert js.purge_stream("PU", subject="pu.a") is True
    assert state("PU").messages == 3
    assert js.stream_info("PU", subjects_filter=">").state.subjects == {"pu.b": 3}
    assert js.get_last_msg("PU", "pu.b").data == b"4"
    with pytest.raises(swiftnats.MsgNotFoundError):
        js.get_last_msg("PU", "pu.a")

    # everything
    assert js.purge_stream("PU") is True
    assert state("PU").messages == 0
    with pytest.raises(swiftnats.StreamNotFoundError):
        js.purge_stream("NOPE")


def test_delete_msg(js):
    js.add_stream(name="DM", subjects=["dm"], storage="memory")
    for i in range(3):
        js.publish("dm", b"%d" % i)
    assert js.delete_msg("DM", 2) is True
    info = js.stream_info("DM")
    assert info.state.messages == 2
    with pytest.raises(swiftnats.MsgNotFoundError):
        js.get_msg("DM", 2)
    assert [js.get_msg("DM", seq).data for seq in (1, 3)] == [b"0", b"2"]
    with pytest.raises(swiftnats.StreamNotFoundError):
        js.delete_msg("NOPE", 1)


def test_delete_msg_of_a_missing_message_is_not_found(js):
    """delete_msg's docstring ("Raises MsgNotFoundError") and snats_js_stream_delete_msg's
    ("SNATS_NOT_FOUND no such stream or message") promise a NotFoundError for a message that is
    not there."""
    js.add_stream(name="DMM", subjects=["dmm"], storage="memory")
    js.publish("dmm", b"x")
    js.delete_msg("DMM", 1)
    with pytest.raises(swiftnats.NotFoundError):
        js.delete_msg("DMM", 1)  # deleted already
    with pytest.raises(swiftnats.NotFoundError):
        js.delete_msg("DMM", 99)  # never stored


# -- consumers ---------------------------------------------------------------------------------


def test_consumer_lifecycle(js):
    js.add_stream(name="C", subjects=["c.>"], storage="memory")
    for i in range(4):
        js.publish("c.a" if i % 2 else "c.b", b"%d" % i)

    durable = js.add_consumer("C", durable_name="dur", ack_policy="explicit", ack_wait=30, filter_subject="c.a",
                              max_deliver=5)
    assert durable.name == "dur" and durable.stream_name == "C"
    assert durable.config.durable_name == "dur" and durable.config.ack_wait == 30.0
    assert durable.config.filter_subject == "c.a" and durable.config.max_deliver == 5
    assert durable.num_pending == 2  # the two on c.a
    # a config dict, fractional seconds, a list of durations
    other = js.add_consumer("C", {"durable_name": "dict", "ack_policy": "explicit", "ack_wait": 2.5,
                                  "max_deliver": 3})
    assert other.config.ack_wait == 2.5
    backoff = js.add_consumer("C", {"durable_name": "backoff", "ack_policy": "explicit", "backoff": [0.5, 1.5],
                                    "max_deliver": 3})
    assert backoff.config.backoff == [0.5, 1.5]
    assert backoff.config.ack_wait == 0.5  # the server's rule: the first backoff
    assert js.delete_consumer("C", "backoff") is True
    # the same configuration again is accepted
    assert js.add_consumer("C", durable_name="dur", ack_policy="explicit", ack_wait=30, filter_subject="c.a",
                           max_deliver=5).name == "dur"

    ephemeral = js.add_consumer("C", ack_policy="explicit")
    assert ephemeral.name and ephemeral.name not in ("dur", "dict")
    assert ephemeral.config.durable_name is None
    assert ephemeral.num_pending == 4

    assert sorted(js.consumer_names("C")) == sorted(["dur", "dict", ephemeral.name])
    infos = js.consumers_info("C")
    assert sorted(i.name for i in infos) == sorted(["dur", "dict", ephemeral.name])
    assert {i.name: i.config.ack_wait for i in infos}["dict"] == 2.5
    assert js.stream_info("C").state.consumer_count == 3

    info = js.consumer_info("C", "dur")
    assert info.name == "dur" and info.config.ack_wait == 30.0 and info.num_ack_pending == 0

    updated = js.update_consumer("C", durable_name="dur", ack_policy="explicit", ack_wait=10, filter_subject="c.a",
                                 max_deliver=5, description="updated", max_ack_pending=7)
    assert updated.config.ack_wait == 10.0 and updated.config.description == "updated"
    assert updated.config.max_ack_pending == 7
    assert js.consumer_info("C", "dur").config.ack_wait == 10.0

    assert js.delete_consumer("C", "dur") is True
    assert js.delete_consumer("C", ephemeral.name) is True
    assert js.consumer_names("C") == ["dict"]
    with pytest.raises(swiftnats.ConsumerNotFoundError) as err:
        js.consumer_info("C", "dur")
    assert (err.value.code, err.value.err_code) == (404, 10014)
    assert isinstance(err.value, swiftnats.NotFoundError)
    with pytest.raises(swiftnats.ConsumerNotFoundError):
        js.delete_consumer("C", "dur")
    with pytest.raises(swiftnats.StreamNotFoundError):
        js.add_consumer("NOPE", durable_name="x")
    with pytest.raises(swiftnats.StreamNotFoundError):
        js.consumer_names("NOPE")


# -- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize("call", ["stream_info", "delete_stream", "update_stream", "purge_stream", "consumer_info",
                                  "get_msg"])
def test_stream_not_found_error(js, call):
    calls = {
        "stream_info": lambda: js.stream_info("MISSING"),
        "delete_stream": lambda: js.delete_stream("MISSING"),
        "update_stream": lambda: js.update_stream(name="MISSING", subjects=["missing"]),
        "purge_stream": lambda: js.purge_stream("MISSING"),
        "consumer_info": lambda: js.consumer_info("MISSING", "c"),
        "get_msg": lambda: js.get_msg("MISSING", 1),
    }
    with pytest.raises(swiftnats.StreamNotFoundError) as err:
        calls[call]()
    e = err.value
    assert (e.code, e.err_code) == (404, 10059)
    assert isinstance(e, swiftnats.NotFoundError) and isinstance(e, LookupError)
    assert isinstance(e, swiftnats.APINotFoundError) and isinstance(e, swiftnats.APIError)
    assert e.status == swiftnats.Status.NOT_FOUND
    assert "stream not found" in e.description


def test_wrong_last_sequence(js):
    js.add_stream(name="WLS", subjects=["wls.*"], storage="memory")
    assert js.publish("wls.a", b"1", expected_last_seq=0).seq == 1
    assert js.publish("wls.b", b"2", expected_last_seq=1).seq == 2
    with pytest.raises(swiftnats.WrongLastSequenceError) as err:
        js.publish("wls.a", b"3", expected_last_seq=1)
    e = err.value
    assert (e.code, e.err_code) == (400, 10071)
    assert isinstance(e, swiftnats.BadRequestError) and isinstance(e, swiftnats.APIError)
    assert e.status == swiftnats.Status.JS_API_ERROR

    # per subject: wls.a's last is 1, wls.b's 2; 0 means "none yet"
    assert js.publish("wls.a", b"4", expected_last_subject_seq=1).seq == 3
    with pytest.raises(swiftnats.WrongLastSequenceError) as err:
        js.publish("wls.b", b"5", expected_last_subject_seq=1)
    assert err.value.err_code == 10071
    assert js.publish("wls.c", b"6", expected_last_subject_seq=0).seq == 4
    with pytest.raises(swiftnats.WrongLastSequenceError):
        js.publish("wls.c", b"7", expected_last_subject_seq=0)
    assert js.stream_info("WLS").state.messages == 4  # the refused ones were not stored


def test_wrong_last_msg_id(js):
    js.add_stream(name="WLM", subjects=["wlm"], storage="memory")
    js.publish("wlm", b"1", msg_id="first")
    assert js.publish("wlm", b"2", msg_id="second", expected_last_msg_id="first").seq == 2
    with pytest.raises(swiftnats.WrongLastMsgIDError) as err:
        js.publish("wlm", b"3", msg_id="third", expected_last_msg_id="first")
    e = err.value
    assert (e.code, e.err_code) == (400, 10070)
    assert isinstance(e, swiftnats.BadRequestError)
    assert js.stream_info("WLM").state.messages == 2


def test_stream_not_match(js):
    js.add_stream(name="SNM", subjects=["snm"], storage="memory")
    js.add_stream(name="OTHER", subjects=["other"], storage="memory")
    assert js.publish("snm", b"ok", stream="SNM").stream == "SNM"
    with pytest.raises(swiftnats.StreamNotMatchError) as err:
        js.publish("snm", b"no", stream="OTHER")
    assert (err.value.code, err.value.err_code) == (400, 10060)
    assert isinstance(err.value, swiftnats.BadRequestError)
    assert js.stream_info("SNM").state.messages == 1


def test_publish_where_no_stream_listens(js):
    js.add_stream(name="NR", subjects=["nr"], storage="memory")
    started = time.monotonic()
    with pytest.raises(swiftnats.NoRespondersError) as err:
        js.publish("nobody.listens", b"x", timeout=10)
    assert err.value.status == swiftnats.Status.NO_RESPONDERS
    assert time.monotonic() - started < 5  # three tries 250 ms apart, not the timeout


def test_jetstream_not_enabled(nc):
    js = nc.jetstream(timeout=5)
    for call in (js.account_info, lambda: js.add_stream(name="X", subjects=["x"]), js.stream_names,
                 lambda: js.stream_info("X")):
        started = time.monotonic()
        with pytest.raises(swiftnats.JetStreamNotEnabledError) as err:
            call()
        assert err.value.status == swiftnats.Status.JS_NOT_ENABLED
        assert time.monotonic() - started < 4  # no responders: at once, not the timeout


def test_msg_not_found(js):
    js.add_stream(name="MNF", subjects=["mnf.*"], storage="memory")
    js.publish("mnf.a", b"x")
    with pytest.raises(swiftnats.MsgNotFoundError) as err:
        js.get_msg("MNF", 2)
    e = err.value
    assert (e.code, e.err_code) == (404, 10037)
    assert isinstance(e, swiftnats.NotFoundError) and e.status == swiftnats.Status.NOT_FOUND
    with pytest.raises(swiftnats.MsgNotFoundError):
        js.get_last_msg("MNF", "mnf.b")
    with pytest.raises(swiftnats.MsgNotFoundError):
        js.get_msg("MNF", seq=2, subject="mnf.a", next=True)


def test_closed_context_and_client(jnc):
    js = jnc.jetstream()
    js.close()
    with pytest.raises(swiftnats.ConnectionClosedError):
        js.account_info()
    js.close()  # again: nothing
    js = jnc.jetstream()
    js.add_stream(name="CL", subjects=["cl"], storage="memory")
    jnc.close()
    with pytest.raises(swiftnats.ConnectionClosedError):
        js.stream_info("CL")
    with pytest.raises(swiftnats.ConnectionClosedError):
        js.publish("cl", b"x")


# -- publishing --------------------------------------------------------------------------------


def test_publish_acks_and_deduplication(js):
    js.add_stream(name="PUB", subjects=["pub.>"], storage="memory")
    acks = [js.publish("pub.a", b"%d" % i) for i in range(5)]
    assert all(isinstance(a, swiftnats.jetstream.PubAck) for a in acks)
    assert [a.seq for a in acks] == [1, 2, 3, 4, 5]
    assert {a.stream for a in acks} == {"PUB"}
    assert {a.duplicate for a in acks} == {False}
    assert {a.domain for a in acks} == {None}

    first = js.publish("pub.a", b"once", msg_id="id-1")
    assert (first.seq, first.duplicate) == (6, False)
    again = js.publish("pub.a", b"twice", msg_id="id-1")
    assert again.duplicate is True and again.seq == 6  # the first copy's sequence
    assert js.publish("pub.b", b"other", msg_id="id-2").seq == 7
    assert js.stream_info("PUB").state.messages == 7
    assert js.get_msg("PUB", 6).data == b"once"  # the duplicate was not stored

    # payload forms: bytes, bytearray, memoryview, str
    for payload in (bytearray(b"ba"), memoryview(b"mv"), b""):
        js.publish("pub.c", payload)
    assert [js.get_msg("PUB", seq).data for seq in (8, 9, 10)] == [b"ba", b"mv", b""]


def test_publish_headers_are_stored(js):
    js.add_stream(name="HDR", subjects=["hdr"], storage="memory")
    ack = js.publish("hdr", b"payload", headers={"X-Trace": "abc", "X-Other": "1"}, msg_id="m-1")
    stored = js.get_msg("HDR", ack.seq)
    assert isinstance(stored, swiftnats.jetstream.RawStreamMsg)
    assert (stored.subject, stored.seq, stored.data, stored.stream) == ("hdr", 1, b"payload", "HDR")
    assert stored.headers == {"X-Trace": "abc", "X-Other": "1", "Nats-Msg-Id": "m-1"}
    assert ("X-Trace", ["abc"]) in stored.header_items
    assert stored.time and stored.time.startswith(time.strftime("%Y-", time.gmtime()))  # RFC 3339
    # a message without headers
    js.publish("hdr", b"plain")
    assert js.get_msg("HDR", 2).headers is None


def test_publish_timeout(jnc, js):
    """A plain subscriber that never answers listens on the subject: the publish gives up after
    its timeout (not the context's 5 s)."""
    jnc.subscribe("silent", cb=lambda m: None)
    jnc.flush()
    started = time.monotonic()
    with pytest.raises(swiftnats.TimeoutError):
        js.publish("silent", b"x", timeout=0.5)
    assert 0.4 < time.monotonic() - started < 3
    with pytest.raises(swiftnats.InvalidSubjectError):
        js.publish("wild.*", b"x")


def test_publish_async_window(jnc):
    js = jnc.jetstream(publish_async_max_pending=16)
    js.add_stream(name="PA", subjects=["pa"], storage="memory")
    baseline = _runtime.registry_size()
    futures = []
    most = 0
    for i in range(1000):
        futures.append(js.publish_async("pa", b"%d" % i, msg_id=f"pa-{i}" if i % 2 else None))
        most = max(most, js.publish_async_pending())
    assert most <= 16  # the window
    js.publish_async_completed(timeout=10)
    assert js.publish_async_pending() == 0
    assert all(isinstance(f, concurrent.futures.Future) and f.done() for f in futures)
    acks = [f.result(0) for f in futures]
    assert [a.seq for a in acks] == list(range(1, 1001))
    assert {a.stream for a in acks} == {"PA"} and {a.duplicate for a in acks} == {False}
    assert js.stream_info("PA").state.messages == 1000
    assert js.get_msg("PA", 1000).data == b"999"
    # one key for the context's acks (registered while it lives), none per publish
    eventually(lambda: _runtime.registry_size() == baseline + 1, what="the publishes' registry keys released")


def test_publish_async_failures(jnc):
    js = jnc.jetstream(publish_async_max_pending=8)
    js.add_stream(name="PAF", subjects=["paf"], storage="memory")
    baseline = _runtime.registry_size()
    ok = js.publish_async("paf", b"1")
    wrong_seq = js.publish_async("paf", b"2", expected_last_seq=5)
    wrong_stream = js.publish_async("paf", b"3", stream="ELSEWHERE")
    nobody = js.publish_async("nobody.listens", b"4")
    ok2 = js.publish_async("paf", b"5", msg_id="x")
    js.publish_async_completed(timeout=10)
    assert ok.result(0).seq == 1 and ok2.result(0).seq == 2
    with pytest.raises(swiftnats.WrongLastSequenceError):
        wrong_seq.result(0)
    assert wrong_seq.exception(0).err_code == 10071
    with pytest.raises(swiftnats.StreamNotMatchError):
        wrong_stream.result(0)
    with pytest.raises(swiftnats.NoRespondersError):
        nobody.result(0)
    assert js.publish_async_pending() == 0
    # one key for the context's acks (registered while it lives), none per publish
    eventually(lambda: _runtime.registry_size() == baseline + 1, what="the publishes' registry keys released")
    # refused at the call: the future is never made, nothing stays registered
    with pytest.raises(swiftnats.InvalidSubjectError):
        js.publish_async("paf.>", b"x")
    assert _runtime.registry_size() == baseline + 1


def test_publish_async_from_threads(jnc):
    js = jnc.jetstream(publish_async_max_pending=32)
    js.add_stream(name="PAT", subjects=["pat.*"], storage="memory")
    results: dict[int, list] = {}

    def worker(n):
        results[n] = [js.publish_async(f"pat.{n}", b"%d" % i) for i in range(200)]

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    js.publish_async_completed(timeout=10)
    seqs = sorted(f.result(0).seq for futures in results.values() for f in futures)
    assert seqs == list(range(1, 801))
    for futures in results.values():
        mine = [f.result(0).seq for f in futures]
        assert mine == sorted(mine)  # each thread's publishes stored in its order


# -- stored messages ---------------------------------------------------------------------------


@pytest.mark.parametrize("direct", [False, True])
def test_get_msg(js, direct):
    js.add_stream(name="GET", subjects=["get.*"], storage="memory", allow_direct=True)
    for i in range(6):
        js.publish("get.a" if i % 2 == 0 else "get.b", b"%d" % i, headers={"N": str(i)})
    # seqs: get.a 1, 3, 5 (data 0, 2, 4); get.b 2, 4, 6 (data 1, 3, 5)
    by_seq = js.get_msg("GET", 4, direct=direct)
    assert (by_seq.seq, by_seq.subject, by_seq.data, by_seq.stream) == (4, "get.b", b"3", "GET")
    assert by_seq.headers == {"N": "3"}
    last = js.get_msg("GET", subject="get.a", direct=direct)
    assert (last.seq, last.data) == (5, b"4")
    assert js.get_last_msg("GET", "get.b", direct=direct).seq == 6
    assert js.get_last_msg("GET", "get.*", direct=direct).seq == 6  # wildcards
    nxt = js.get_msg("GET", seq=2, subject="get.a", next=True, direct=direct)
    assert (nxt.seq, nxt.data) == (3, b"2")
    assert js.get_msg("GET", seq=3, subject="get.a", next=True, direct=direct).seq == 3  # at or after
    with pytest.raises(swiftnats.MsgNotFoundError) as err:
        js.get_msg("GET", 99, direct=direct)
    assert err.value.err_code == 10037
    with pytest.raises(swiftnats.MsgNotFoundError):
        js.get_msg("GET", seq=6, subject="get.a", next=True, direct=direct)
    with pytest.raises(ValueError):
        js.get_msg("GET", seq=1, subject="get.a", direct=direct)  # both, without next
    with pytest.raises(ValueError):
        js.get_msg("GET", seq=1, next=True, direct=direct)  # next without a subject


# -- pulling -----------------------------------------------------------------------------------


def test_fetch_batches_and_timeout(js):
    js.add_stream(name="F", subjects=["f.*"], storage="memory")
    for i in range(10):
        js.publish("f.a", b"%d" % i)
    js.publish("f.other", b"filtered out")
    psub = js.pull_subscribe("f.a", durable="fd")
    assert isinstance(psub, PullSubscription) and (psub.stream, psub.consumer) == ("F", "fd")
    first = psub.fetch(4, timeout=2)
    assert [m.data for m in first] == [b"0", b"1", b"2", b"3"]
    assert all(isinstance(m, swiftnats.Msg) and m.subject == "f.a" and m.reply.startswith("$JS.ACK.") for m in first)
    started = time.monotonic()
    rest = psub.fetch(10, timeout=1)  # fewer than asked: returns when the pull expires
    assert [m.data for m in rest] == [b"%d" % i for i in range(4, 10)]
    assert time.monotonic() - started < 3
    for m in first + rest:
        m.ack()
    started = time.monotonic()
    with pytest.raises(swiftnats.TimeoutError) as err:
        psub.fetch(1, timeout=0.5)
    assert isinstance(err.value, TimeoutError)
    assert 0.4 < time.monotonic() - started < 2.5
    with pytest.raises(ValueError):
        psub.fetch(0)
    eventually(lambda: psub.consumer_info().num_ack_pending == 0, what="every ack recorded")
    assert psub.consumer_info().delivered.consumer_seq == 10


def test_fetch_max_bytes(js):
    js.add_stream(name="FMB", subjects=["fmb"], storage="memory")
    for i in range(10):
        js.publish("fmb", bytes([65 + i]) * 100)
    psub = js.pull_subscribe("fmb", durable="mb")
    got = psub.fetch(10, timeout=2, max_bytes=350)
    assert 1 <= len(got) <= 3, len(got)  # 100-byte payloads plus their subjects and replies
    assert got[0].data == b"A" * 100
    rest = fetch_all(psub, 10 - len(got))
    assert [m.data[0] for m in got + rest] == list(range(65, 75))


def test_fetch_heartbeat(js, js_server):
    js.add_stream(name="FHB", subjects=["fhb"], storage="memory")
    js.publish("fhb", b"1")
    psub = js.pull_subscribe("fhb", durable="hb")
    assert [m.data for m in psub.fetch(1, timeout=2, heartbeat=0.5)] == [b"1"]
    # nothing to deliver, heartbeats coming: the pull expires normally
    started = time.monotonic()
    with pytest.raises(swiftnats.TimeoutError):
        psub.fetch(1, timeout=1.5, heartbeat=0.3)
    assert time.monotonic() - started > 1.2
    # the server goes silent (stopped, not gone): the missed heartbeats end the fetch early
    os.kill(js_server.proc.pid, signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(swiftnats.MissedHeartbeatError) as err:
            psub.fetch(1, timeout=10, heartbeat=0.3)
        assert err.value.status == swiftnats.Status.MISSED_HEARTBEAT
        assert time.monotonic() - started < 5
    finally:
        os.kill(js_server.proc.pid, signal.SIGCONT)
    js.publish("fhb", b"2")
    assert [m.data for m in fetch_all(psub, 1)] == [b"2"]


def test_fetch_no_wait(js):
    js.add_stream(name="FNW", subjects=["fnw"], storage="memory")
    psub = js.pull_subscribe("fnw", durable="nw")
    started = time.monotonic()
    with pytest.raises(swiftnats.TimeoutError):
        psub.fetch(5, timeout=5, no_wait=True)
    assert time.monotonic() - started < 2  # at once, not the 5 s
    for i in range(3):
        js.publish("fnw", b"%d" % i)
    started = time.monotonic()
    got = psub.fetch(5, timeout=5, no_wait=True)
    assert [m.data for m in got] == [b"0", b"1", b"2"]
    assert time.monotonic() - started < 2  # what is there, without waiting for the batch


def test_fetch_ended_by_consumer_deletion(js):
    js.add_stream(name="FDEL", subjects=["fdel"], storage="memory")
    psub = js.pull_subscribe("fdel", durable="gone")
    errors: list[BaseException] = []

    def pull():
        try:
            psub.fetch(1, timeout=10)
        except BaseException as e:  # noqa: BLE001 - checked below
            errors.append(e)

    t = threading.Thread(target=pull)
    started = time.monotonic()
    t.start()
    time.sleep(0.5)
    js.delete_consumer("FDEL", "gone")
    t.join(15)
    assert not t.is_alive()
    assert time.monotonic() - started < 8  # the server ended the pull
    assert len(errors) == 1 and isinstance(errors[0], swiftnats.APIError), errors
    assert errors[0].code == 409


def test_acks(js):
    js.add_stream(name="ACK", subjects=["ack"], storage="memory")
    for i in range(6):
        js.publish("ack", b"%d" % i)
    js.add_consumer("ACK", durable_name="acker", ack_policy="explicit", ack_wait=1.0)
    assert js.consumer_info("ACK", "acker").config.ack_wait == 1.0
    psub = js.pull_subscribe_bind("acker", "ACK")
    m0, m1, m2, m3, m4, m5 = psub.fetch(6, timeout=2)

    # ack, then a second final ack is refused
    assert not m0.is_acked
    m0.ack()
    assert m0.is_acked
    for again in (m0.ack, m0.ack_sync, m0.nak, m0.term):
        with pytest.raises(swiftnats.IllegalStateError):
            again()
    assert m0.is_acked

    # ack_sync: confirmed by the server
    m1.ack_sync(timeout=2)
    assert m1.is_acked
    with pytest.raises(swiftnats.IllegalStateError):
        m1.ack()

    # term: never again
    m2.term()
    assert m2.is_acked
    # term with a reason (servers before 2.10.4 get none)
    m3.term(reason="bad payload")

    # nak with a delay: redelivered after it, once more delivered
    nak_at = time.monotonic()
    m4.nak(delay=0.5)
    assert m4.is_acked
    with pytest.raises(swiftnats.IllegalStateError):
        m4.ack()

    # in_progress: not final, may repeat; the ack wait (1 s) starts again each time
    for _ in range(5):
        m5.in_progress()
        assert not m5.is_acked
        time.sleep(0.4)

    # only m4 comes again: m0-m3 are done, and m5's ack wait (long past without the
    # in_progress) was reset 0.4 s ago
    again = psub.fetch(5, timeout=2, no_wait=True)
    assert [m.data for m in again] == [b"4"]
    assert time.monotonic() - nak_at >= 0.5
    meta = again[0].metadata
    assert meta.num_delivered == 2 and meta.sequence.stream == 5 and meta.sequence.consumer == 7
    again[0].ack()
    m5.ack()
    eventually(lambda: psub.consumer_info().num_ack_pending == 0, what="every ack recorded")
    info = psub.consumer_info()
    assert info.num_redelivered == 0 and info.num_pending == 0
    with pytest.raises(swiftnats.TimeoutError):
        psub.fetch(1, timeout=1.5)  # past the ack wait: nothing comes back


def test_ack_wait_redelivers_without_ack(js):
    js.add_stream(name="AW", subjects=["aw"], storage="memory")
    js.publish("aw", b"x")
    psub = js.pull_subscribe("aw", durable="aw", config={"ack_wait": 0.5})
    assert psub.consumer_info().config.ack_wait == 0.5
    first = psub.fetch(1, timeout=2)[0]
    assert first.metadata.num_delivered == 1
    again = psub.fetch(1, timeout=3)[0]  # not acknowledged: comes back after the ack wait
    assert again.data == b"x" and again.metadata.num_delivered == 2
    again.ack_sync()


def test_pull_subscribe_config_durations_in_seconds(js):
    """pull_subscribe's config takes durations in seconds, as add_consumer's does."""
    js.add_stream(name="PSC", subjects=["psc"], storage="memory")
    psub = js.pull_subscribe("psc", durable="cfg", config={"ack_wait": 2.5, "max_deliver": 3})
    config = psub.consumer_info().config
    assert config.ack_wait == 2.5
    assert config.max_deliver == 3 and config.ack_policy == "explicit" and config.filter_subject == "psc"


def test_ack_of_other_messages(jnc, js):
    with pytest.raises(swiftnats.IllegalStateError):
        swiftnats.Msg("made.by.hand", reply="$JS.ACK.S.C.1.1.1.1.0").ack()  # no client
    sub = jnc.subscribe("plain.>")
    jnc.publish("plain.reply", b"x", reply="some.reply")
    msg = sub.next_msg(timeout=5)
    with pytest.raises(swiftnats.IllegalStateError):
        msg.ack()  # a reply subject, not a JetStream one
    assert not msg.is_acked
    with pytest.raises(swiftnats.InvalidArgumentError):
        _ = msg.metadata


def test_ack_of_a_message_without_reply(jnc):
    """Msg.ack's docstring: IllegalStateError when the message "is not a consumer's message"."""
    sub = jnc.subscribe("noreply")
    jnc.publish("noreply", b"x")
    msg = sub.next_msg(timeout=5)
    with pytest.raises(swiftnats.IllegalStateError):
        msg.ack()
    assert not msg.is_acked


def test_metadata(js):
    js.add_stream(name="META", subjects=["meta.*"], storage="memory")
    js.publish("meta.skip", b"s")
    for i in range(3):
        js.publish("meta.a", b"%d" % i)
    before = time.time()
    psub = js.pull_subscribe("meta.a", durable="md")
    msgs = psub.fetch(3, timeout=2)
    metas = [m.metadata for m in msgs]
    assert [(md.sequence.stream, md.sequence.consumer) for md in metas] == [(2, 1), (3, 2), (4, 3)]
    assert [md.num_pending for md in metas] == [2, 1, 0]
    assert {md.num_delivered for md in metas} == {1}
    assert {md.stream for md in metas} == {"META"} and {md.consumer for md in metas} == {"md"}
    assert {md.domain for md in metas} == {None}
    for md in metas:
        assert isinstance(md.timestamp, datetime.datetime)
        assert md.timestamp.utcoffset() == datetime.timedelta(0)  # aware, UTC
        assert abs(md.timestamp.timestamp() - before) < 30
    assert metas[0].timestamp <= metas[1].timestamp <= metas[2].timestamp
    for m in msgs:
        m.ack()


def test_pull_subscribe_forms(js):
    js.add_stream(name="PSF", subjects=["psf.*"], storage="memory")
    # ephemeral: its consumer goes with unsubscribe()
    eph = js.pull_subscribe("psf.a")
    assert eph.stream == "PSF" and eph.consumer in js.consumer_names("PSF")
    info = eph.consumer_info()
    assert info.config.durable_name is None and info.config.filter_subject == "psf.a"
    assert info.config.ack_policy == "explicit"
    eph.unsubscribe()
    assert eph.consumer not in js.consumer_names("PSF")
    eph.unsubscribe()  # again: nothing

    # durable: stays after unsubscribe; a second pull_subscribe binds to it
    dur = js.pull_subscribe("psf.b", durable="keep", stream="PSF")
    js.publish("psf.b", b"1")
    dur.unsubscribe()
    assert "keep" in js.consumer_names("PSF")
    same = js.pull_subscribe("psf.b", durable="keep")
    assert [m.data for m in same.fetch(1, timeout=2)] == [b"1"]
    bound = js.pull_subscribe_bind("keep", "PSF")
    assert bound.consumer == "keep" and bound.consumer_info().name == "keep"
    with pytest.raises(swiftnats.ConsumerNotFoundError):
        js.pull_subscribe_bind("missing", "PSF")
    with pytest.raises(swiftnats.StreamNotFoundError):
        js.pull_subscribe_bind("keep", "MISSING")
    with pytest.raises(swiftnats.NotFoundError):
        js.pull_subscribe("no.stream.here")


def test_work_queue_shared_by_two_pull_subscriptions(js):
    total = 300
    js.add_stream(name="WQ", subjects=["wq.jobs"], retention="workqueue", storage="memory")
    first = js.pull_subscribe("wq.jobs", durable="workers")
    second = js.pull_subscribe("wq.jobs", durable="workers")  # binds to the same consumer
    assert js.consumer_names("WQ") == ["workers"]
    for i in range(total):
        js.publish_async("wq.jobs", b"%d" % i)
    js.publish_async_completed()

    got: dict[str, list[int]] = {"first": [], "second": []}
    lock = threading.Lock()
    stop = threading.Event()
    errors: list[BaseException] = []

    def work(name, psub):
        try:
            while not stop.is_set():
                try:
                    batch = psub.fetch(7, timeout=0.5)
                except swiftnats.TimeoutError:
                    continue
                for m in batch:
                    m.ack()
                with lock:
                    got[name] += [int(m.data) for m in batch]
                    if len(got["first"]) + len(got["second"]) >= total:
                        stop.set()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
            stop.set()

    threads = [threading.Thread(target=work, args=a) for a in (("first", first), ("second", second))]
    for t in threads:
        t.start()
    stop.wait(30)
    stop.set()
    for t in threads:
        t.join(10)
    assert errors == []
    everything = got["first"] + got["second"]
    assert sorted(everything) == list(range(total))  # each once
    assert got["first"] and got["second"]  # both worked
    eventually(lambda: js.stream_info("WQ").state.messages == 0, what="the work queue emptied by the acks")
    assert js.consumer_info("WQ", "workers").num_ack_pending == 0


def test_fetch_leaves_no_registry_keys(js):
    js.add_stream(name="REG", subjects=["reg"], storage="memory")
    psub = js.pull_subscribe("reg", durable="reg")
    baseline = _runtime.registry_size()
    for i in range(20):
        js.publish("reg", b"%d" % i)
    for _ in range(4):
        for m in psub.fetch(5, timeout=2):
            m.ack()
    with pytest.raises(swiftnats.TimeoutError):
        psub.fetch(1, timeout=0.2)
    js.get_msg("REG", 1)
    js.stream_info("REG")
    assert _runtime.registry_size() == baseline
