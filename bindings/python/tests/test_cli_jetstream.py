"""The ``snats`` command-line tool against a JetStream server: streams (add, ls, info, purge,
rm), publishing with acks (a message id twice: the duplicate), pull consumers (add, next with
and without acks, ``js fetch``), Key-Value buckets (add, put, get, history, del, ls,
``watch --count``, rm), object buckets (add, put from a file and from stdin, get into a file
and to stdout, byte for byte, ls, info, del, rm), and failures: a non-zero exit status and one
line "Error: ..." on stderr.

The binary is the one ``make`` builds beside the library the suite loads (``make test`` sets
``SWIFTNATS_LIBRARY=.build/release/libswiftnats.so``; ``snats`` is ``.build/release/snats``);
``$SNATS_BIN`` names another. Without it the module is skipped."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import threading
import time
from pathlib import Path
from typing import List, Optional

import pytest
from conftest import REPO, free_port


def _snats_binary() -> Path:
    if os.environ.get("SNATS_BIN"):
        return Path(os.environ["SNATS_BIN"])
    library = os.environ.get("SWIFTNATS_LIBRARY")
    if library:
        return Path(library).resolve().parent / "snats"
    return REPO / ".build" / "release" / "snats"


SNATS = _snats_binary()

pytestmark = pytest.mark.skipif(
    not (SNATS.is_file() and os.access(SNATS, os.X_OK)),
    reason=f"no snats binary at {SNATS} (build it with `make`, or set SNATS_BIN)",
)


def snats(url: str, *args: str, input: Optional[bytes] = None, check: bool = True,
          timeout: float = 30) -> subprocess.CompletedProcess:
    """Runs ``snats ARGS... --server URL``; with @p check, fails the test on a non-zero exit."""
    proc = subprocess.run([str(SNATS), *args, "--server", url], input=input, capture_output=True, timeout=timeout)
    if check and proc.returncode != 0:
        pytest.fail(f"snats {' '.join(args)} exited {proc.returncode}:\n{proc.stderr.decode(errors='replace')}")
    return proc


def out(url: str, *args: str, **kwargs) -> str:
    return snats(url, *args, **kwargs).stdout.decode()


def check_error(proc: subprocess.CompletedProcess, *fragments: str) -> str:
    """A failure: non-zero exit, nothing on stdout, one line "Error: ..." on stderr holding
    each fragment."""
    stderr = proc.stderr.decode(errors="replace")
    assert proc.returncode != 0, f"exit status 0 (stdout {proc.stdout!r})"
    assert proc.stdout == b""
    lines = stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), f"stderr: {stderr!r}"
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


def consumer_json(url: str, stream: str, name: str) -> dict:
    return json.loads(out(url, "consumer", "info", stream, name, "--json"))


def stream_json(url: str, stream: str) -> dict:
    return json.loads(out(url, "stream", "info", stream, "--json"))


# -- streams, publishing, consumers ------------------------------------------------------------


def test_stream_lifecycle(js_url):
    text = out(js_url, "stream", "add", "ORDERS", "--subjects", "orders.>,returns.*", "--storage", "memory",
               "--max-msgs", "1000")
    assert text.splitlines()[0] == "Stream ORDERS"
    assert "Subjects: orders.>, returns.*" in text and "Storage: memory" in text
    out(js_url, "stream", "add", "EVENTS", "--max-age", "3600")  # subjects default to the name

    listing = out(js_url, "stream", "ls").splitlines()
    assert listing[0].split() == ["STREAM", "MESSAGES", "BYTES", "SUBJECTS"]
    assert sorted(line.split()[0] for line in listing[1:]) == ["EVENTS", "ORDERS"]
    infos = [json.loads(line) for line in out(js_url, "stream", "ls", "--json").splitlines()]
    assert sorted(info["config"]["name"] for info in infos) == ["EVENTS", "ORDERS"]

    info = stream_json(js_url, "EVENTS")
    assert info["config"]["subjects"] == ["EVENTS"] and info["config"]["max_age"] == 3600 * 10**9
    config = stream_json(js_url, "ORDERS")["config"]
    assert (config["storage"], config["max_msgs"]) == ("memory", 1000)

    for i in range(5):
        out(js_url, "js", "pub", "orders.new", f"order {i}")
    out(js_url, "js", "pub", "returns.x", "back")
    text = out(js_url, "stream", "info", "ORDERS")
    assert "Messages: 6," in text and "last seq: 6" in text
    assert out(js_url, "stream", "purge", "ORDERS", "--keep", "3").strip() == "Purged 3 messages from ORDERS"
    assert stream_json(js_url, "ORDERS")["state"]["first_seq"] == 4
    assert out(js_url, "stream", "purge", "ORDERS", "--subject", "returns.x").strip() == "Purged 1 messages from ORDERS"
    assert stream_json(js_url, "ORDERS")["state"]["messages"] == 2
    assert out(js_url, "stream", "purge", "ORDERS").strip() == "Purged 2 messages from ORDERS"
    assert stream_json(js_url, "ORDERS")["state"]["messages"] == 0

    assert out(js_url, "stream", "rm", "ORDERS").strip() == "Deleted stream ORDERS"
    assert [line.split()[0] for line in out(js_url, "stream", "ls").splitlines()[1:]] == ["EVENTS"]
    check_error(snats(js_url, "stream", "info", "ORDERS", check=False), "10059", "stream not found")


def test_publish_with_msg_id(js_url):
    out(js_url, "stream", "add", "ORDERS", "--subjects", "orders.>")
    assert out(js_url, "js", "pub", "orders.new", "first", "--msg-id", "m-1").strip() == \
        "Stored in stream ORDERS sequence 1"
    assert out(js_url, "js", "pub", "orders.new", "first again", "--msg-id", "m-1").strip() == \
        "Stored in stream ORDERS sequence 1 (duplicate)"
    assert out(js_url, "js", "pub", "orders.new", "second", "--header", "K:v").strip() == \
        "Stored in stream ORDERS sequence 2"
    assert stream_json(js_url, "ORDERS")["state"]["messages"] == 2
    got = out(js_url, "stream", "get", "ORDERS", "1")
    assert "Nats-Msg-Id: m-1" in got and "first" in got and "first again" not in got

    text = out(js_url, "js", "pub", "orders.bulk", "x", "--count", "50", "--msg-id", "bulk")
    assert text.strip() == 'Published 50 of 50 messages to "orders.bulk"'
    assert stream_json(js_url, "ORDERS")["state"]["messages"] == 52
    # the same ids again: all duplicates, nothing stored
    out(js_url, "js", "pub", "orders.bulk", "x", "--count", "50", "--msg-id", "bulk")
    assert stream_json(js_url, "ORDERS")["state"]["messages"] == 52

    # no stream listens: an error
    check_error(snats(js_url, "js", "pub", "nowhere", "x", "--api-timeout", "1000", check=False))


def test_consumer_next_and_fetch_ack(js_url):
    out(js_url, "stream", "add", "ORDERS", "--subjects", "orders.>")
    for i in range(1, 6):
        out(js_url, "js", "pub", "orders.new", f"order {i}")
    text = out(js_url, "consumer", "add", "ORDERS", "worker", "--ack-wait", "60")
    assert text.splitlines()[0] == "Consumer worker of stream ORDERS" and "Pending: 5" in text
    out(js_url, "consumer", "add", "ORDERS", "filtered", "--filter", "orders.other")
    listing = out(js_url, "consumer", "ls", "ORDERS").splitlines()
    assert sorted(line.split()[0] for line in listing[1:]) == ["filtered", "worker"]

    # next: printed with its stream sequence, acknowledged
    text = out(js_url, "consumer", "next", "ORDERS", "worker")
    assert text.startswith('[#1] Received on "orders.new"') and "order 1" in text
    info = consumer_json(js_url, "ORDERS", "worker")
    assert (info["num_ack_pending"], info["num_pending"], info["ack_floor"]["stream_seq"]) == (0, 4, 1)

    text = out(js_url, "consumer", "next", "ORDERS", "worker", "--count", "2")
    assert "[#2]" in text and "[#3]" in text and "order 2" in text and "order 3" in text
    info = consumer_json(js_url, "ORDERS", "worker")
    assert (info["num_ack_pending"], info["ack_floor"]["stream_seq"]) == (0, 3)

    # without acks they stay pending
    text = out(js_url, "consumer", "next", "ORDERS", "worker", "--no-ack")
    assert "[#4]" in text
    assert consumer_json(js_url, "ORDERS", "worker")["num_ack_pending"] == 1

    # js fetch: the rest, acknowledged; then nothing left (an error after the wait)
    text = out(js_url, "js", "fetch", "ORDERS", "worker", "--batch", "10", "--wait", "1000")
    assert "[#5]" in text and "order 5" in text and "[#4]" not in text
    info = consumer_json(js_url, "ORDERS", "worker")
    assert (info["num_ack_pending"], info["num_pending"]) == (1, 0)
    started = time.monotonic()
    check_error(snats(js_url, "js", "fetch", "ORDERS", "worker", "--wait", "300", check=False))
    assert time.monotonic() - started < 10

    # no such consumer (servers before 2.10 never answer the pull: it expires)
    check_error(snats(js_url, "consumer", "next", "ORDERS", "nobody", "--wait", "1000", check=False))
    assert out(js_url, "consumer", "rm", "ORDERS", "filtered").strip() == "Deleted consumer filtered of stream ORDERS"


# -- Key-Value ---------------------------------------------------------------------------------


def test_kv(js_url):
    assert out(js_url, "kv", "add", "cfg", "--history", "5").strip() == "Created bucket cfg"
    assert out(js_url, "kv", "put", "cfg", "db.host", "10.0.0.1").strip() == "1"
    assert out(js_url, "kv", "put", "cfg", "db.host", "10.0.0.2").strip() == "2"
    assert out(js_url, "kv", "put", "cfg", "db.port", "5432").strip() == "3"
    assert out(js_url, "kv", "get", "cfg", "db.host").strip() == "cfg > db.host revision 2: 10.0.0.2"
    assert out(js_url, "kv", "get", "cfg", "db.host", "--raw").strip() == "10.0.0.2"
    assert out(js_url, "kv", "get", "cfg", "db.host", "--revision", "1", "--raw").strip() == "10.0.0.1"
    assert out(js_url, "kv", "history", "cfg", "db.host").splitlines() == [
        "cfg > db.host revision 1: 10.0.0.1", "cfg > db.host revision 2: 10.0.0.2"]
    assert out(js_url, "kv", "ls", "cfg").split() == ["db.host", "db.port"]
    assert out(js_url, "kv", "del", "cfg", "db.port").strip() == "Deleted db.port"
    assert out(js_url, "kv", "ls", "cfg").split() == ["db.host"]
    assert out(js_url, "kv", "history", "cfg", "db.port").splitlines()[-1] == "cfg > db.port revision 4: DEL"
    check_error(snats(js_url, "kv", "get", "cfg", "db.port", check=False), "db.port")
    check_error(snats(js_url, "kv", "get", "cfg", "never", check=False), "never")

    out(js_url, "kv", "add", "other")
    assert out(js_url, "kv", "ls").split() == ["cfg", "other"]
    assert out(js_url, "kv", "purge", "cfg", "db.host").strip() == "Purged db.host"
    assert out(js_url, "kv", "rm", "other").strip() == "Deleted bucket other"
    assert out(js_url, "kv", "ls").split() == ["cfg"]
    check_error(snats(js_url, "kv", "put", "other", "k", "v", check=False), "10059")


def test_kv_watch_count(js_url):
    out(js_url, "kv", "add", "cfg")
    out(js_url, "kv", "put", "cfg", "a", "1")
    proc = subprocess.Popen([str(SNATS), "kv", "watch", "cfg", "--count", "3", "--server", js_url],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: List[str] = []
    marker = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("-- initial values done"):
                marker.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert marker.wait(15), f"no marker; output so far {lines}"
        # "--count" stops after that many entries (the current values count): a, b, c here.
        # A third change is put as well, so that the command ends whether or not the current
        # value is counted; what it prints before it ends is checked.
        for key, value in (("b", "2"), ("c", "3"), ("d", "4")):
            out(js_url, "kv", "put", "cfg", key, value)
        assert proc.wait(15) == 0, proc.stderr.read() if proc.stderr else ""
        reader.join(5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert lines[:4] == ["cfg > a revision 1: 1", "-- initial values done --", "cfg > b revision 2: 2",
                         "cfg > c revision 3: 3"]
    assert len(lines) in (4, 5)


# -- Object Store ------------------------------------------------------------------------------


def test_obj(js_url, tmp_path):
    data = os.urandom(300_000)
    src = tmp_path / "report.bin"
    src.write_bytes(data)
    digest = "SHA-256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode()

    assert out(js_url, "obj", "add", "files").strip() == "Created object bucket files"
    text = out(js_url, "obj", "put", "files", str(src))
    assert text.strip() == f"Stored report.bin: 300000 bytes in 3 chunks, {digest}"
    out(js_url, "obj", "put", "files", str(src), "--name", "copy", "--description", "a copy")
    text = out(js_url, "obj", "put", "files", "-", "--name", "piped", input=b"from stdin\n")
    assert text.startswith("Stored piped: 11 bytes in 1 chunks")

    # into a file, and to stdout: the same bytes
    dest = tmp_path / "out.bin"
    assert out(js_url, "obj", "get", "files", "report.bin", "-o", str(dest)).strip() == \
        f"Wrote 300000 bytes to {dest}"
    assert dest.read_bytes() == data
    assert snats(js_url, "obj", "get", "files", "copy").stdout == data
    assert snats(js_url, "obj", "get", "files", "piped").stdout == b"from stdin\n"

    info = json.loads(out(js_url, "obj", "info", "files", "copy"))
    assert (info["name"], info["size"], info["chunks"], info["digest"]) == ("copy", 300000, 3, digest)
    assert info["description"] == "a copy" and info["bucket"] == "files"

    listing = out(js_url, "obj", "ls", "files").splitlines()
    assert listing[0].split() == ["NAME", "SIZE", "CHUNKS", "MODIFIED"]
    rows = {line.split()[0]: line.split()[1:3] for line in listing[1:]}
    assert rows == {"report.bin": ["300000", "3"], "copy": ["300000", "3"], "piped": ["11", "1"]}
    out(js_url, "obj", "add", "more", "--storage", "memory")
    assert out(js_url, "obj", "ls").split() == ["files", "more"]

    assert out(js_url, "obj", "del", "files", "copy").strip() == "Deleted copy"
    assert sorted(line.split()[0] for line in out(js_url, "obj", "ls", "files").splitlines()[1:]) == \
        ["piped", "report.bin"]
    check_error(snats(js_url, "obj", "get", "files", "copy", check=False), "copy", "not found")
    check_error(snats(js_url, "obj", "info", "files", "copy", check=False), "not found")
    check_error(snats(js_url, "obj", "del", "files", "copy", check=False), "not found")
    check_error(snats(js_url, "obj", "put", "files", str(tmp_path / "missing"), check=False), "missing")

    assert out(js_url, "obj", "rm", "more").strip() == "Deleted object bucket more"
    assert out(js_url, "obj", "ls").split() == ["files"]
    assert out(js_url, "obj", "rm", "files").strip() == "Deleted object bucket files"
    check_error(snats(js_url, "obj", "ls", "files", check=False), "10059")
    check_error(snats(js_url, "obj", "rm", "files", check=False), "10059")


# -- failures ----------------------------------------------------------------------------------


def test_errors(js_url, nats_server):
    check_error(snats(js_url, "stream", "rm", "NOPE", check=False), "10059")
    check_error(snats(js_url, "consumer", "info", "NOPE", "c", check=False), "10059")
    out(js_url, "stream", "add", "S")
    check_error(snats(js_url, "stream", "add", "S2", "--subjects", "S", check=False))  # overlapping subjects
    check_error(snats(js_url, "stream", "add", "X", "--config", "{not json", check=False), "--config")
    check_error(snats(js_url, "kv", "add", "bad.name", check=False))
    check_error(snats(js_url, "stream", "get", "S", check=False), "sequence")

    # nobody listening; a server without JetStream
    check_error(snats(f"nats://127.0.0.1:{free_port()}", "stream", "ls", "--no-reconnect", check=False), "connect")
    started = time.monotonic()
    check_error(snats(nats_server, "stream", "ls", "--api-timeout", "2000", check=False))
    assert time.monotonic() - started < 10
