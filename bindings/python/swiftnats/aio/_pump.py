"""The pump of an aio client: the dispatch queue's descriptor in the event loop, the batches
taken and delivered there, the C callbacks run there, and the holds a drain puts on the next
batch (the part of :class:`~swiftnats.aio.Client` that drives the queue).

The descriptor is level-triggered: readable while messages or callbacks wait. Each wake-up
runs at most :data:`PUMP_ROUNDS` rounds of (take a batch, run queued callbacks), so work left
over brings the loop back after its other callbacks."""

from __future__ import annotations

import asyncio
import ctypes
import inspect
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Set

from .. import _runtime as rt
from .. import client as _client
from .._delivery import BATCH_MSGS, DispatchQueue
from .._lib import lib
from .._runtime import log
from ._util import set_future
from .msg import Msg
from .subscription import PLAIN

if TYPE_CHECKING:
    from .subscription import Subscription

__all__ = ["Pump", "PUMP_ROUNDS", "DISPATCH_MAX", "HOLD_POLL"]

#: per wake-up of the pump: at most this many rounds of (take a batch, run queued callbacks)
PUMP_ROUNDS = 8
#: queued C callbacks run per round
DISPATCH_MAX = 256
#: what a batch's delivery did (``Pump._deliver``)
REPLIES, RAN, BUFFERED = "replies", "ran", "buffered"
#: while a drain holds back the next batch, the descriptor is not watched (it would stay
#: readable) and queued callbacks are run every this many seconds
HOLD_POLL = 0.002


class Pump:
    """Drives the client's dispatch queue from the event loop (a mixin of
    :class:`~swiftnats.aio.Client`, whose ``_new`` sets the attributes used here)."""

    _loop: asyncio.AbstractEventLoop
    _queue: DispatchQueue[Msg]
    _nc: _client.Client
    _started: bool
    _watching: bool
    _paused: bool
    _poll: Optional[asyncio.TimerHandle]
    _holds: "Dict[Subscription, int]"
    _idle_waiter: "Optional[asyncio.Future[None]]"
    #: gives an error raised by a callback to error_cb (Events._report)
    _report: "Callable[[BaseException, Optional[Subscription]], None]"

    def _start(self, nc: _client.Client) -> None:
        self._nc = nc
        self._started = True
        self._watch()
        # One turn now: it reads the sockets and notes this thread as the queue's owner, so
        # that a blocking call made on the loop before anything arrived reads the reply it
        # waits for (nobody else reads the connection's socket).
        self._pump()

    def _watch(self) -> None:
        if not self._watching and self._queue.ptr is not None:
            self._loop.add_reader(self._queue.fd, self._pump)
            self._watching = True

    def _unwatch(self) -> None:
        if self._watching:
            self._loop.remove_reader(self._queue.fd)
            self._watching = False
        if self._poll is not None:
            self._poll.cancel()
            self._poll = None
        self._paused = False

    def _pump(self) -> None:
        """The queue's descriptor is readable: turns of the queue (read the sockets, run
        queued callbacks, take a batch), the batches delivered."""
        queue = self._queue
        if queue.ptr is None:
            return
        try:
            held = False
            ran = 0
            more = False
            for _ in range(PUMP_ROUNDS):
                more = False
                if self._holds and self._holding():
                    held = True
                    ran = queue.dispatch(DISPATCH_MAX, 0)
                else:
                    held = False
                    ran, tags, msgs, sizes = queue.turn(DISPATCH_MAX, self._nc)
                    if msgs:
                        delivered = self._deliver(tags, msgs, sizes)
                        # another round after subscriptions' messages: the library counts a
                        # batch as being handled until the next take (a drain waits for
                        # that), and more may wait (a batch of replies only needs none: what
                        # comes next makes the descriptor readable again)
                        more = delivered is not REPLIES or len(msgs) >= BATCH_MSGS
                        if delivered is BUFFERED:
                            # coroutine callbacks run in their tasks, after this pump: let
                            # them take what was buffered before the next batch comes (fewer
                            # messages alive at once, less for the garbage collector to visit)
                            break
                # a round that took nothing and ran fewer than the maximum emptied the queue;
                # what comes since makes the descriptor readable again (level-triggered)
                if not (more or ran >= DISPATCH_MAX) or queue.ptr is None:
                    more = False
                    break
            if more and queue.ptr is not None:
                self._loop.call_soon(self._pump)  # rounds used up: after the loop's other work
            elif held and not ran and queue.ptr is not None and self._pending_in_queue():
                self._pause()
        except Exception:
            log.exception("swiftnats.aio: error in the pump")
        finally:
            rt.hand_over_publishes()

    def _deliver(self, tags: List[int], msgs: List[Msg], sizes: List[int]) -> str:
        """Runs the batch: replies of tagged requests complete their futures, plain callbacks
        run now, in order; the rest is buffered. Returns REPLIES (the batch held only
        replies), RAN or BUFFERED (some was buffered). The batch holds runs of one tag's
        messages, each handed over whole."""
        lookup = rt.lookup
        count = len(tags)
        start = 0
        buffered = False
        replies_only = True
        while start < count:
            tag = tags[start]
            end = start + 1
            while end < count and tags[end] == tag:
                end += 1
            owner = lookup(tag)
            if not _completed_request(tag, owner, msgs[start]):
                replies_only = False
                sub: Optional[Subscription] = getattr(owner, "_aio", None) if owner is not None else None
                if sub is not None and not sub._stopped:
                    if sub._mode is PLAIN:
                        buffered = self._run_plain(sub, msgs, sizes, start, end) or buffered
                    else:
                        sub._push_run(msgs, sizes, start, end)
                        buffered = True
            start = end
        return BUFFERED if buffered else REPLIES if replies_only else RAN

    def _run_plain(self, sub: "Subscription", msgs: List[Msg], sizes: List[int], start: int, end: int) -> bool:
        """Runs a plain callback on msgs[start:end]; returns whether the rest was buffered
        (the callback returned an awaitable)."""
        cb = sub._cb
        assert cb is not None  # PLAIN mode: there is a callback
        for index in range(start, end):
            if sub._stopped:
                return False
            try:
                result = cb(msgs[index])
            except Exception as e:  # user code: report, never end the delivery
                self._report(e, sub)
                continue
            if result is not None and inspect.isawaitable(result):
                sub._adopt(result)  # a plain callable that returned an awaitable
                # the rest of the run waits behind it, one at a time
                sub._push_run(msgs, sizes, index + 1, end)
                return True
        return False

    def _holding(self) -> bool:
        for sub in self._holds:
            if sub._busy():
                return True
        return False

    def _pending_in_queue(self) -> bool:
        msgs = ctypes.c_int()
        lib.snats_dispatch_queue_get_pending(ctypes.byref(msgs), None, self._queue.ptr)
        return msgs.value > 0

    def _pause(self) -> None:
        """A drain holds back the next batch: stop watching the descriptor (it stays readable
        while messages wait) and run queued callbacks by a timer until the hold ends."""
        if self._watching:
            self._loop.remove_reader(self._queue.fd)
            self._watching = False
        self._paused = True
        if self._poll is None:
            self._poll = self._loop.call_later(HOLD_POLL, self._unpause)

    def _unpause(self) -> None:
        self._poll = None
        if self._paused:
            self._paused = False
            self._watch()

    def _released(self) -> None:
        """A held subscription's buffer emptied: take batches again (at once: the take tells
        the library that the last batch was handled, which a drain waits for)."""
        idle = self._idle_waiter
        if idle is not None and not idle.done():
            idle.set_result(None)
        if self._paused:
            if self._poll is not None:
                self._poll.cancel()
                self._poll = None
            self._unpause()
        if self._queue.ptr is not None:
            self._loop.call_soon(self._pump)



    async def _hold(self, subs: Set["Subscription"], deadline: float) -> int:
        """Holds back new batches while @p subs have buffered messages or a callback running,
        and waits (until @p deadline, loop time) until they have none: from then on, what they
        have buffered always comes from the last batch taken, which the library counts as
        being handled until the next take. So a library drain started now waits for their
        callbacks. Returns the milliseconds left (at least 1)."""
        for sub in subs:
            self._holds[sub] = self._holds.get(sub, 0) + 1
        loop = self._loop
        while self._holding() and loop.time() < deadline:
            waiter: "asyncio.Future[None]" = loop.create_future()
            self._idle_waiter = waiter
            try:
                await asyncio.wait({waiter}, timeout=deadline - loop.time())
            finally:
                self._idle_waiter = None
        return max(1, int((deadline - loop.time()) * 1000))

    def _unhold(self, subs: Set["Subscription"]) -> None:
        for sub in subs:
            count = self._holds.get(sub, 0) - 1
            if count > 0:
                self._holds[sub] = count
            else:
                self._holds.pop(sub, None)
        self._released()


    def _run_queued(self) -> None:
        """Runs what waits in the queue: callbacks, and the replies of tagged requests (nothing
        else is delivered any more: messages are dropped)."""
        queue = self._queue
        if queue.ptr is None:
            return
        lookup = rt.lookup
        for _ in range(10_000):
            try:
                ran, tags, msgs, _ = queue.turn(DISPATCH_MAX, None)
            except Exception:  # pragma: no cover
                log.exception("swiftnats.aio: error running the queue at close")
                return
            for tag, msg in zip(tags, msgs):
                _completed_request(tag, lookup(tag), msg)
            if not msgs and not ran:
                return


def _completed_request(tag: int, owner: object, reply: Msg) -> bool:
    """Completes the future of the tagged request registered as @p owner, a ``(client,
    future)`` pair, with its one reply; False when @p owner is no request (a subscription)."""
    if type(owner) is not tuple:
        return False
    rt.unregister(tag)
    set_future(owner[1], reply, None)
    return True
