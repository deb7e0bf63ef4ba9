"""Interpreter exit with connections left open: finalizers close them, nothing hangs or crashes."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from conftest import HERE

SCRIPTS = {
    "open-client-busy-callback": """
        import threading, swiftnats
        nc = swiftnats.connect(URL, closed_cb=lambda: say("closed"))
        got = threading.Event()
        def cb(msg):
            got.set()
            try:
                nc.publish("echo", msg.data)  # calls into the library from the callback
            except swiftnats.ConnectionClosedError:
                pass  # a callback still running while the exit hook closes the client
        nc.subscribe("spam", cb=cb)
        nc.subscribe("echo", cb=lambda m: None)
        nc.flush()
        for i in range(2000):
            nc.publish("spam", b"x" * 100)
        got.wait(5)
        say("exiting")
    """,
    "request-blocked-in-thread": """
        import threading, swiftnats
        nc = swiftnats.connect(URL, closed_cb=lambda: say("closed"))
        nc.subscribe("never", cb=lambda m: None)
        nc.flush()
        def waiter():
            try:
                nc.request("never", b"", timeout=60)
            except swiftnats.ConnectionClosedError:
                say("request woken")
            except Exception as e:
                say("request failed with " + repr(e))
        threading.Thread(target=waiter, daemon=True).start()
        say("exiting")
    """,
    "sync-subscription-left-open": """
        import swiftnats
        nc = swiftnats.connect(URL, closed_cb=lambda: say("closed"))
        sub = nc.subscribe("left")
        nc.publish("left", b"x")
        nc.flush()
        say("exiting")
    """,
}


@pytest.mark.parametrize("name", list(SCRIPTS), ids=list(SCRIPTS))
def test_exit_with_open_connection(nats_server, name):
    prelude = (
        f"URL = {nats_server!r}\n"
        "import os\n"
        "def say(text):  # one write(2): lines from several threads do not interleave\n"
        "    os.write(1, (text + '\\n').encode())\n"
    )
    code = prelude + textwrap.dedent(SCRIPTS[name])
    env = dict(os.environ, PYTHONPATH=str(HERE.parent) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert "exiting" in lines and "closed" in lines, proc.stdout + proc.stderr
    assert lines.index("closed") > lines.index("exiting")
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "failed with" not in proc.stdout, proc.stdout
