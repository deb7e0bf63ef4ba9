"""What the asyncio JetStream tests share: running a coroutine with a deadline, waiting for a
condition on the loop, and a ticker that shows whether a wait let the loop run."""

from __future__ import annotations

import asyncio
import time

import pytest


def run(coro, timeout: float = 60):
    """Runs @p coro on a new loop, failing after @p timeout seconds."""
    async def runner():
        asyncio.current_task().set_name("test-runner")
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(runner())


async def until(predicate, timeout: float = 5.0, what: str = "") -> None:
    """Waits on the loop until predicate() holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {timeout} s: {what or predicate}")
        await asyncio.sleep(0.005)


async def until_async(predicate, timeout: float = 5.0, what: str = "") -> None:
    """As until(), with a coroutine predicate (an API call)."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {timeout} s: {what or predicate}")
        await asyncio.sleep(0.02)


class Ticker:
    """A task that counts while the loop runs: how many ticks a wait let through."""

    def __init__(self, interval: float = 0.01) -> None:
        self.interval = interval
        self.ticks = 0
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        while True:
            self.ticks += 1
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        self.task.cancel()
        try:
            await self.task
        except asyncio.CancelledError:
            pass


async def stalled(pid: int, call, seconds: float = 0.5):
    """Awaits @p call with the server @p pid stopped (SIGSTOP) for @p seconds: a ticker must
    keep ticking meanwhile (the call does not block the loop), and the call completes once the
    server answers. Returns its result."""
    import os
    import signal

    from conftest import pause_server

    pause_server(pid)
    ticker = Ticker(0.01)
    resume = asyncio.get_running_loop().call_later(seconds, os.kill, pid, signal.SIGCONT)
    try:
        result = await call
    finally:
        resume.cancel()
        os.kill(pid, signal.SIGCONT)
    await ticker.stop()
    wanted = int(seconds / 0.01 * 0.4)
    assert ticker.ticks >= wanted, f"the loop ticked {ticker.ticks} times in {seconds} s"
    return result
