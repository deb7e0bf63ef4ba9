"""Fixtures: a fresh nats-server per test (random port, never 4222) and a connected client."""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Tuple

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent  # tests -> python -> bindings -> repo
HEADER = REPO / "Include" / "swiftnats.h"

sys.path.insert(0, str(HERE.parent))  # the package under test, without installing it

import swiftnats  # noqa: E402


def nats_server_bin() -> str:
    env = os.environ.get("NATS_SERVER_BIN")
    if env:
        return env
    return shutil.which("nats-server") or "/usr/sbin/nats-server"


@functools.lru_cache(maxsize=None)
def nats_server_version() -> Tuple[int, int, int]:
    """The version of the nats-server the fixtures start (`nats-server --version` prints
    "nats-server: v2.9.10"); (0, 0, 0) when it cannot tell."""
    try:
        out = subprocess.run([nats_server_bin(), "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return (0, 0, 0)
    match = re.search(r"v(\d+)\.(\d+)\.(\d+)", out)
    return (int(match[1]), int(match[2]), int(match[3])) if match else (0, 0, 0)


def requires_server(version: Tuple[int, int, int], feature: str):
    """Skips a test when the nats-server is older than @p version: Debian's 2.9.10 lacks some
    features; `make test-current-server` runs the suite against the current release, where
    such a test runs. The skip reason names the feature, the version needed and the binary."""
    have = nats_server_version()
    return pytest.mark.skipif(
        have < version,
        reason=f"{feature} needs nats-server {'.'.join(map(str, version))} or later; "
        f"{nats_server_bin()} is {'.'.join(map(str, have))}",
    )


class NATSServer:
    """nats-server -a 127.0.0.1 -p -1 --ports_file_dir <dir>; the port is read from the ports
    file the server writes ({"nats": ["nats://127.0.0.1:PORT"], ...})."""

    def __init__(self, workdir: Path, extra_args: Optional[List[str]] = None) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / "nats-server.log"
        self.extra_args = list(extra_args or [])
        self.proc: Optional[subprocess.Popen] = None
        self.url = ""

    def start(self, timeout: float = 10.0) -> str:
        cmd = [
            nats_server_bin(),
            "-a", "127.0.0.1",
            "-p", "-1",
            "--ports_file_dir", str(self.workdir),
            *self.extra_args,
        ]
        log = open(self.log_path, "wb")
        try:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        ports_file = self.workdir / f"nats-server_{self.proc.pid}.ports"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited ({self.proc.returncode}):\n{self.log()}")
            try:
                ports = json.loads(ports_file.read_text())
                self.url = ports["nats"][0]
                return self.url
            except (FileNotFoundError, ValueError, KeyError, IndexError):
                time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"nats-server wrote no ports file in {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def _failed(request) -> bool:
    return any(
        getattr(getattr(request.node, f"rep_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


@pytest.fixture
def server(request, tmp_path) -> Iterator[NATSServer]:
    """The NATSServer object (for tests that stop it or need its log)."""
    srv = NATSServer(tmp_path / "nats")
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        if _failed(request):
            print(f"----- nats-server log ({srv.url}) -----\n{srv.log()}")


@pytest.fixture
def server_factory(request, tmp_path) -> Iterator[Callable[..., NATSServer]]:
    """start(extra_args) -> a started NATSServer with extra command-line arguments."""
    started: List[NATSServer] = []

    def start(extra_args: Optional[List[str]] = None) -> NATSServer:
        srv = NATSServer(tmp_path / f"nats-{len(started)}", extra_args)
        started.append(srv)
        srv.start()
        return srv

    try:
        yield start
    finally:
        for srv in started:
            srv.stop()
            if _failed(request):
                print(f"----- nats-server log ({srv.url} {srv.extra_args}) -----\n{srv.log()}")


@pytest.fixture
def nats_server(server: NATSServer) -> Iterator[str]:
    """The URL of a fresh nats-server, e.g. nats://127.0.0.1:43127."""
    yield server.url


@pytest.fixture
def js_server(request, tmp_path) -> Iterator[NATSServer]:
    """A fresh nats-server with JetStream (-js), its store under the test's tmp_path."""
    srv = NATSServer(tmp_path / "nats-js", ["-js", "-sd", str(tmp_path / "js")])
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()
        if _failed(request):
            print(f"----- nats-server log ({srv.url} -js) -----\n{srv.log()}")


@pytest.fixture
def js_url(js_server: NATSServer) -> Iterator[str]:
    """The URL of a fresh nats-server with JetStream."""
    yield js_server.url


@pytest.fixture
def nc(nats_server: str) -> Iterator[swiftnats.Client]:
    client = swiftnats.connect(nats_server, name="pytest")
    try:
        yield client
    finally:
        client.close()


def eventually(predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    """Polls @p predicate until it is true; fails the test after @p timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {timeout} s: {what or predicate}")
        time.sleep(0.005)


def pause_server(pid: int) -> None:
    """SIGSTOP, and waits until every thread of the server has stopped (the signal is
    delivered asynchronously: a thread running meanwhile could still answer a request)."""
    import signal

    os.kill(pid, signal.SIGSTOP)
    tasks = Path(f"/proc/{pid}/task")

    def state(task: Path) -> str:
        try:
            return (task / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            return "T"  # a thread that ended

    eventually(lambda: all(state(task) in ("T", "t") for task in tasks.iterdir()), timeout=5,
               what="every thread of the server stopped")


def free_port() -> int:
    """A TCP port nothing listens on (bound then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
