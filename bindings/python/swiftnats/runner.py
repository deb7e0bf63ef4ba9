"""Runs services from a file, as nats-micro's ``micro run`` does::

    python -m swiftnats run app.py[:setup] [--server URL] [--creds FILE] ...

connects, calls the file's ``setup(ctx)`` (``async def`` for asyncio, plain ``def`` for
threads), serves until SIGINT or SIGTERM, then stops cleanly: the cleanups ``setup``
registered run (last first), RPC objects and services stop (calls already received are
answered; their handlers are waited for), and the connection drains. ``ctx`` is a
:class:`Context` (an :class:`AsyncContext` for ``async def setup``)::

    # app.py
    from swiftnats.rpc.objects import expose

    class Calculator:
        @expose
        def add(self, a: int, b: int) -> int:
            return a + b

    async def setup(ctx):
        await ctx.serve(Calculator(), namespace="calc")            # RPC, started
        service = await ctx.add_service(name="echo", version="1.0.0")
        service.add_endpoint("echo", lambda req: req.respond(req.data))
        ctx.on_cleanup(lambda: print("bye"))

Connection options come from flags, else from the environment: ``NATS_URL`` (comma-separated
URLs), ``NATS_CREDS``, ``NATS_NKEY`` (a seed file), ``NATS_USER`` / ``NATS_PASSWORD``,
``NATS_TOKEN``, ``NATS_CA`` / ``NATS_CERT`` / ``NATS_KEY``. Arguments after ``--`` are
``ctx.args``. The exit status is 0 after a clean stop, 1 when ``setup`` raised, 2 for a bad
command line.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import inspect
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any, Awaitable, Callable, Dict, List, Optional, Sequence, Tuple, Union

from . import aio
from .client import Client, connect
from .micro import Service
from .micro import add_service as _add_service
from .rpc import RPC

__all__ = ["Context", "AsyncContext", "main", "load_setup"]

Cleanup = Callable[[], Union[None, Awaitable[None]]]


class _Base:
    def __init__(self, args: Sequence[str]) -> None:
        #: the arguments after ``--`` on the command line
        self.args: List[str] = list(args)
        self._cleanups: List[Cleanup] = []
        self._stopping = False

    def on_cleanup(self, fn: Cleanup) -> Cleanup:
        """Runs @p fn (plain, or ``async def`` with asyncio) at the stop, before the services
        stop and the connection drains; the last registered runs first. Usable as a
        decorator."""
        if not callable(fn):
            raise TypeError("a cleanup must be callable")
        self._cleanups.append(fn)
        return fn


class Context(_Base):
    """What a plain ``setup(ctx)`` gets: the connection, and services and RPC objects that the
    runner stops for it."""

    def __init__(self, nc: Client, args: Sequence[str]) -> None:
        super().__init__(args)
        #: the connected client
        self.nc = nc
        self._services: List[Service] = []
        self._rpcs: List[RPC] = []

    def add_service(self, **config: Any) -> Service:
        """:func:`swiftnats.micro.add_service` on the connection (name=, version=, ...),
        stopped by the runner."""
        service = _add_service(self.nc, **config)
        self._services.append(service)
        return service

    def rpc(self, namespace: Union[str, Sequence[str]] = "default", **options: Any) -> RPC:
        """An :class:`~swiftnats.rpc.RPC` object on the connection, closed by the runner
        (register methods, then ``start()`` it)."""
        rpc = RPC(self.nc, namespace, **options)
        self._rpcs.append(rpc)
        return rpc

    def serve(self, service: Any, namespace: str = "default", *, prefix: str = "", **options: Any) -> RPC:
        """Serves an object's exposed methods (or a dict of functions) as @p namespace, started."""
        rpc = self.rpc(namespace, **{k: v for k, v in options.items() if k in ("root", "timeout", "check_types")})
        rpc.serve(service, **{k: v for k, v in options.items() if k not in ("root", "timeout", "check_types")})
        rpc.start(prefix)
        return rpc

    def _stop(self, drain_timeout: float) -> List[BaseException]:
        """Stops everything; returns what failed (each step runs whatever the others did)."""
        errors: List[BaseException] = []
        for fn in reversed(self._cleanups):
            try:
                outcome = fn()
                if inspect.isawaitable(outcome):
                    asyncio.run(_awaited(outcome))
            except Exception as e:  # noqa: BLE001 - the others still run
                errors.append(e)
                traceback.print_exc()
        for rpc in reversed(self._rpcs):
            _quietly(rpc.close, errors)
        for service in reversed(self._services):
            _quietly(service.stop, errors)
        _quietly(lambda: self.nc.drain(drain_timeout), errors)
        _quietly(self.nc.close, errors)
        return errors


class AsyncContext(_Base):
    """What an ``async def setup(ctx)`` gets: as :class:`Context`, with the asyncio faces."""

    def __init__(self, nc: "aio.Client", args: Sequence[str]) -> None:
        super().__init__(args)
        self.nc = nc
        self._services: List["aio.micro.Service"] = []
        self._rpcs: List["aio.rpc.RPC"] = []

    async def add_service(self, **config: Any) -> "aio.micro.Service":
        service = await aio.micro.add_service(self.nc, **config)
        self._services.append(service)
        return service

    def rpc(self, namespace: Union[str, Sequence[str]] = "default", **options: Any) -> "aio.rpc.RPC":
        rpc = aio.rpc.RPC(self.nc, namespace, **options)
        self._rpcs.append(rpc)
        return rpc

    async def serve(self, service: Any, namespace: str = "default", *, prefix: str = "", **options: Any) -> "aio.rpc.RPC":
        rpc = self.rpc(namespace, **{k: v for k, v in options.items() if k in ("root", "timeout", "check_types")})
        rpc.serve(service, **{k: v for k, v in options.items() if k not in ("root", "timeout", "check_types")})
        await rpc.start(prefix)
        return rpc

    async def _stop(self, drain_timeout: float) -> List[BaseException]:
        errors: List[BaseException] = []
        for fn in reversed(self._cleanups):
            try:
                outcome = fn()
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception as e:  # noqa: BLE001
                errors.append(e)
                traceback.print_exc()
        for rpc in reversed(self._rpcs):
            await _quietly_async(rpc.close(), errors)
        for service in reversed(self._services):
            await _quietly_async(service.stop(), errors)
        await _quietly_async(self.nc.drain(drain_timeout), errors)
        await _quietly_async(self.nc.close(), errors)
        return errors


async def _awaited(awaitable: Awaitable[Any]) -> None:
    await awaitable


def _quietly(fn: Callable[[], Any], errors: List[BaseException]) -> None:
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - a stop step that fails does not skip the others
        errors.append(e)


async def _quietly_async(awaitable: Awaitable[Any], errors: List[BaseException]) -> None:
    try:
        await awaitable
    except Exception as e:  # noqa: BLE001
        errors.append(e)


# --------------------------------------------------------------------------------------------
# The command line
# --------------------------------------------------------------------------------------------


class UsageError(Exception):
    """A command line the runner cannot run (exit status 2)."""


def load_setup(target: str) -> Tuple[ModuleType, Callable[..., Any]]:
    """``FILE[:FUNCTION]`` -> (the file loaded as a module, its setup function)."""
    path_text, _, name = target.partition(":")
    if not name and target.count(":") == 0:
        name = "setup"
    path = Path(path_text)
    if not path.is_file():
        raise UsageError(f"{path_text}: no such file")
    if not name.isidentifier():
        raise UsageError(f"{name!r} is not a function name")
    sys.path.insert(0, str(path.resolve().parent))  # its own imports, as `python FILE` has them
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"{path_text}: cannot be loaded as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    setup = getattr(module, name, None)
    if not callable(setup):
        raise UsageError(f"{path_text} has no function {name}(ctx)")
    return module, setup


def _connect_options(options: argparse.Namespace) -> Dict[str, Any]:
    env = os.environ
    servers = options.server or [u for u in env.get("NATS_URL", "").split(",") if u] or ["nats://127.0.0.1:4222"]
    found: Dict[str, Any] = {"servers": servers, "name": options.name}
    for key, flag, variable in (("user_credentials", options.creds, "NATS_CREDS"), ("nkeys_seed", options.nkey, "NATS_NKEY"),
                                ("user", options.user, "NATS_USER"), ("password", options.password, "NATS_PASSWORD"),
                                ("token", options.token, "NATS_TOKEN"), ("tls_ca_file", options.tls_ca, "NATS_CA"),
                                ("tls_cert_file", options.tls_cert, "NATS_CERT"), ("tls_key_file", options.tls_key, "NATS_KEY")):
        value = flag or env.get(variable)
        if value:
            found[key] = value
    return found


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m swiftnats", description="Runs swiftnats services.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="connect, call FILE's setup(ctx), serve until SIGINT or SIGTERM",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("target", metavar="FILE[:FUNCTION]", help="the file, and its setup function (default: setup)")
    run.add_argument("-s", "--server", action="append", help="a server URL (repeatable; default $NATS_URL)")
    run.add_argument("--name", help="the connection's name (default: the file's name)")
    run.add_argument("--creds", help="a credentials file (default $NATS_CREDS)")
    run.add_argument("--nkey", help="an nkey seed file (default $NATS_NKEY)")
    run.add_argument("--user", help="default $NATS_USER")
    run.add_argument("--password", help="default $NATS_PASSWORD")
    run.add_argument("--token", help="default $NATS_TOKEN")
    run.add_argument("--tls-ca", help="CA file (default $NATS_CA)")
    run.add_argument("--tls-cert", help="client certificate (default $NATS_CERT)")
    run.add_argument("--tls-key", help="client key (default $NATS_KEY)")
    run.add_argument("--drain-timeout", type=float, default=30.0, help="seconds for the final drain (default 30)")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    extra: List[str] = []
    if "--" in arguments:
        at = arguments.index("--")
        arguments, extra = arguments[:at], arguments[at + 1:]
    parser = _parser()
    options = parser.parse_args(arguments)
    try:
        _, setup = load_setup(options.target)
    except UsageError as e:
        parser.error(str(e))  # exits 2
    if options.name is None:
        options.name = Path(options.target.partition(":")[0]).stem
    connect_options = _connect_options(options)
    if inspect.iscoroutinefunction(setup):
        return asyncio.run(_run_async(setup, connect_options, extra, options))
    return _run_threads(setup, connect_options, extra, options)


def _stopped(errors: List[BaseException], status: int) -> int:
    """Reports what failed while stopping (a drain that timed out may have lost messages):
    the exit status is then 1."""
    for error in errors:
        print(f"swiftnats: while stopping: {type(error).__name__}: {error}", file=sys.stderr)
    print("swiftnats: stopped", file=sys.stderr, flush=True)
    return 1 if errors else status


def _announce(options: argparse.Namespace, url: Optional[str]) -> None:
    print(f"swiftnats: {options.target} serving on {url} (SIGINT or SIGTERM stops it)", file=sys.stderr, flush=True)


def _run_threads(setup: Callable[..., Any], connect_options: Dict[str, Any], extra: List[str],
                 options: argparse.Namespace) -> int:
    stop = threading.Event()
    received: List[int] = []

    def on_signal(number: int, _frame: Any) -> None:
        received.append(number)
        stop.set()

    previous = {number: signal.signal(number, on_signal) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        nc = connect(**connect_options)
        ctx = Context(nc, extra)
        status = 0
        try:
            setup(ctx)
            _announce(options, nc.connected_url)
            while not stop.wait(0.5):  # the main thread takes the signals between waits
                if nc.is_closed:
                    print("swiftnats: the connection closed", file=sys.stderr)
                    status = 1
                    break
        except Exception:  # noqa: BLE001 - reported, then the stop runs
            traceback.print_exc()
            status = 1
        return _stopped(ctx._stop(options.drain_timeout), status)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


async def _run_async(setup: Callable[..., Any], connect_options: Dict[str, Any], extra: List[str],
                     options: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop.set)
    try:
        nc = await aio.connect(**connect_options)
        ctx = AsyncContext(nc, extra)
        status = 0
        try:
            await setup(ctx)
            _announce(options, nc.connected_url)
            while not stop.is_set():  # a signal, or the connection closing for good
                try:
                    await asyncio.wait_for(stop.wait(), 0.5)
                except asyncio.TimeoutError:
                    if nc.is_closed:
                        print("swiftnats: the connection closed", file=sys.stderr)
                        status = 1
                        break
        except Exception:  # noqa: BLE001
            traceback.print_exc()
            status = 1
        return _stopped(await ctx._stop(options.drain_timeout), status)
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)
