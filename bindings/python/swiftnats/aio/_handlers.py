"""How the handlers and callbacks of :mod:`swiftnats.aio.micro` and :mod:`swiftnats.aio.rpc`
reach the event loop.

On an aio client the library calls every micro and RPC thunk inside the pump, on the loop's
thread; on a sync client, on its delivery pool's threads. Either way a plain handler runs in
the thunk, as in the sync modules, and an ``async def`` one (or a plain one that returns an
awaitable) becomes a *job* of its endpoint's :class:`Lane`: the thunk keeps the request (the
library's retain), the lane runs the jobs as tasks of the loop, at most ``concurrency`` at
once and in arrival order, and each job answers its request when its coroutine returns or
raises. :class:`HandlerLoop` is the loop of one service or RPC object and the tasks made there;
on an aio client they are also the client's, so that its close ends them."""

from __future__ import annotations

import asyncio
import collections
from typing import Any, Awaitable, Callable, Coroutine, Deque, Iterator, Optional, Set, Tuple

from .._runtime import log
from ._util import set_future

__all__ = ["DONE", "Done", "HandlerLoop", "Lane", "running_loop", "settle"]


class Done:
    """What a call that has done its work at once returns, so that it may be awaited or not
    (nats.py's answers are coroutines; a plain handler calls them without ``await``)."""

    __slots__ = ()

    def __await__(self) -> Iterator[None]:
        return iter(())

    def __repr__(self) -> str:
        return "<done>"


DONE = Done()


def running_loop() -> Optional[asyncio.AbstractEventLoop]:
    """The event loop running on this thread (inside the pump: the aio client's), or None."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def settle(future: "asyncio.Future[Any]", result: Any, error: Optional[BaseException]) -> None:
    """Completes @p future from any thread: at once on its loop's thread (an aio client's
    callbacks run there), else through ``call_soon_threadsafe``; nothing once its loop is closed
    (nobody waits any more)."""
    loop = future.get_loop()
    if running_loop() is loop:
        set_future(future, result, error)
        return
    try:
        loop.call_soon_threadsafe(set_future, future, result, error)
    except RuntimeError:
        pass


class HandlerLoop:
    """The event loop that runs the coroutine handlers and callbacks of one service or RPC
    object, and the tasks made there."""

    def __init__(self, client: Any, loop: Optional[asyncio.AbstractEventLoop]) -> None:
        #: the aio client, when the object lives on one (its close cancels the handler tasks)
        self.client = client
        self.loop = loop
        self.tasks: "Set[asyncio.Task[Any]]" = set()

    def bind(self) -> asyncio.AbstractEventLoop:
        """From a coroutine: the loop, taking the running one when none is known yet."""
        if self.loop is None or self.loop.is_closed():
            self.loop = asyncio.get_running_loop()
        return self.loop

    def on_loop(self) -> bool:
        return self.loop is not None and running_loop() is self.loop

    def call(self, fn: Callable[..., Any], *args: Any) -> bool:
        """Runs ``fn(*args)`` on the loop's thread: now when called there, else soon. False when
        no loop can run it (none known, or closed)."""
        loop = self.loop
        if loop is None or loop.is_closed():
            return False
        if running_loop() is loop:
            fn(*args)
            return True
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # closed meanwhile
            return False
        return True

    def spawn(self, coro: "Coroutine[Any, Any, Any]", handler: bool) -> "asyncio.Task[Any]":
        """A task of the loop (call on the loop's thread). On an aio client a @p handler task
        counts as one of its consumers (its close cancels it), a callback task as one of its
        callbacks (its close waits for it)."""
        assert self.loop is not None
        task = self.loop.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        client = self.client
        if client is not None:
            group = client._consumers if handler else client._tasks
            group.add(task)
            task.add_done_callback(group.discard)
        return task

    def busy(self) -> bool:
        me = asyncio.current_task()
        return any(not t.done() and t is not me for t in self.tasks)

    async def wait(self, timeout: Optional[float] = None) -> None:
        """Waits until no task runs (the caller's own aside: a handler that stops its service);
        after @p timeout seconds the tasks still running are cancelled, and waited for."""
        me = asyncio.current_task()
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while True:
            pending = {t for t in self.tasks if not t.done() and t is not me}
            if not pending:
                return
            left = None if deadline is None else deadline - loop.time()
            if left is not None and left <= 0:
                for task in pending:
                    task.cancel()
                await asyncio.wait(pending)
                deadline = None  # what comes after the cancel is waited for
                continue
            await asyncio.wait(pending, timeout=left)


#: a job: (run: the coroutine function answering the request, drop: answers it when it cannot run)
Job = Tuple[Callable[[], Awaitable[None]], Callable[[], None]]


class Lane:
    """The jobs of one endpoint (or method): run on the loop at most ``limit`` at once, in
    arrival order, each by one of up to ``limit`` worker tasks that exist only while jobs wait."""

    def __init__(self, loop: HandlerLoop, limit: int) -> None:
        self._loop = loop
        self._limit = max(1, int(limit))
        self._waiting: Deque[Job] = collections.deque()
        self._workers = 0

    def submit(self, run: Callable[[], Awaitable[None]], drop: Callable[[], None]) -> None:
        """From any thread: queues the job on the loop; drops it when no loop can run it."""
        if not self._loop.call(self._queue, run, drop):
            drop()

    def _queue(self, run: Callable[[], Awaitable[None]], drop: Callable[[], None]) -> None:
        self._waiting.append((run, drop))
        if self._workers < self._limit:
            self._workers += 1
            self._loop.spawn(self._work(), handler=True)

    async def _work(self) -> None:
        waiting = self._waiting
        try:
            while waiting:
                run, drop = waiting.popleft()
                try:
                    await run()
                except Exception:  # pragma: no cover - a job answers its own errors
                    log.exception("swiftnats.aio: a handler job failed")
        finally:
            self._workers -= 1
            if not self._workers:  # cancelled (a close): nobody is left to run the others
                while waiting:
                    _, drop = waiting.popleft()
                    try:
                        drop()
                    except Exception:  # pragma: no cover
                        log.exception("swiftnats.aio: dropping a handler job failed")
