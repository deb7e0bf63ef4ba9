"""The asyncio client, run by the event loop itself: the same names as the synchronous client
(and nats.py's).

    import asyncio
    from swiftnats import aio

    async def main():
        async with await aio.connect("nats://127.0.0.1:4222") as nc:
            async def echo(msg):
                await msg.respond(msg.data)
            await nc.subscribe("echo", cb=echo)
            print((await nc.request("echo", b"hi", timeout=1.0)).data)

    asyncio.run(main())

Modules: :mod:`.client` (:func:`connect`, :class:`Client`), :mod:`.subscription`,
:mod:`.msg`, :mod:`._pump` (the dispatch queue in the event loop), :mod:`._events`
(connection callbacks, request and flush completions), :mod:`.micro` (services),
:mod:`.rpc` (RPC), :mod:`._handlers` (how micro and RPC handlers run on the loop).

How it runs (no library thread ever runs Python code of an aio client, and no thread is made
per subscription, request or flush):

- :func:`connect` makes a dispatch queue (``snats_dispatch_queue``) and binds the connection to
  it: the library then runs every C callback of the connection (connection events, async
  request and flush completions, micro and RPC handlers) only inside
  ``snats_dispatch_queue_dispatch()``, and every subscription is bound to the queue without a C
  callback (``snats_subscribe_on()``), its messages taken in tagged batches
  (``snats_dispatch_queue_next_msgs()``). Connecting itself runs in a worker thread.
- The queue's descriptor is registered with ``loop.add_reader``; it is readable while work
  waits. The *pump* takes batches and runs the queued callbacks, both without waiting, until
  neither has more, at most a few rounds per wake-up (the descriptor stays readable when work
  is left, so the loop comes back after its other callbacks).
- Plain callbacks run inline in the pump, in order. ``async def`` callbacks run one at a time
  per subscription, in order: each subscription has a buffer and a consumer task that exists
  only while the buffer has messages. :meth:`Subscription.next_msg` reads such a buffer too.
  These buffers apply the subscription's pending limits as the library does (past them,
  messages are dropped, counted in ``dropped`` and reported once per episode as
  :class:`~swiftnats.SlowConsumerError`); ``pending`` and ``delivered`` count them.
- :meth:`Client.request` and :meth:`Client.flush` are ``snats_request_async`` /
  ``snats_conn_flush_async``: their completion runs in the pump and completes a future.
- :meth:`Client.drain` runs ``snats_conn_drain`` in a worker thread while the loop keeps
  pumping; while a drain runs, the next batch is only taken once the buffers of the
  subscriptions being drained are empty (the library counts a taken batch as being handled
  until the next take), so a drain ends after every coroutine callback has run.
- :meth:`Client.close` closes the connection (``snats_conn_close`` in a worker thread, the
  loop pumping meanwhile), runs what that queued (the closed callback, failed requests), stops
  watching the descriptor, ends every subscription task and waits for the tasks running
  callbacks: no task is left pending. A client the library closes (server gone for good)
  ends the same way by itself.
- The connection's micro and RPC handlers run on the loop's thread too: :mod:`.micro` and
  :mod:`.rpc` are the asyncio faces of :mod:`swiftnats.micro` and :mod:`swiftnats.rpc`
  (``await aio.micro.add_service(nc, ...)``, ``aio.rpc.RPC(nc, ...)``), whose handlers may be
  ``async def`` (run as tasks of the loop, one at a time per endpoint or method unless its
  ``concurrency`` allows more). A blocking call of ``sync_client`` made on the loop's thread
  blocks the loop, and one that waits for a handler of this connection (a sync request to its
  own subscription, ``micro.ping`` of its own service) waits until its timeout: use the
  awaitable methods, or ``asyncio.to_thread``.

Connection callbacks (error_cb, disconnected_cb, closed_cb, reconnected_cb,
discovered_server_cb, lame_duck_mode_cb) may be plain functions or coroutine functions and run
on the event loop's thread. ``error_cb(error, subscription)`` may also take the error alone (as
nats.py's). custom_reconnect_delay, user_jwt_cb and signature_cb must return their value and
run on library threads, as in the synchronous client.
"""
from __future__ import annotations

from .client import Client, connect
from .msg import Msg
from .subscription import AsyncMsgHandler, Subscription
from . import micro  # noqa: E402
from . import rpc  # noqa: E402

__all__ = ["connect", "Client", "Subscription", "Msg", "AsyncMsgHandler", "micro", "rpc"]
