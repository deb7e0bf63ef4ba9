"""Opening a Key-Value or Object Store bucket without blocking the loop: the library's
``*_bucket_create_async`` / ``*_bucket_bind_async`` hand the bucket's handle (or the failure)
to a future; a bucket that comes once nobody waits (the task was cancelled) is closed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, Optional

from .. import _runtime as rt
from .._jsapi import with_json
from ..errors import SwiftNatsError
from ._handlers import settle

if TYPE_CHECKING:  # pragma: no cover
    from .jetstream import JetStreamContext

__all__ = ["BucketKind", "open_bucket"]


@dataclass(frozen=True)
class BucketKind:
    """What opens one kind of bucket: the library's asynchronous create and bind, the handle of
    an opened one, the spelling of a failure's status, and the thunk (made with
    :meth:`thunk_of`) they call back."""

    create: Callable[..., int]
    bind: Callable[..., int]
    handle: Callable[[int], rt.Handle]
    failure: Callable[[int], SwiftNatsError]
    thunk: Any = None

    def with_thunk(self, handler_type: Any) -> "BucketKind":
        return BucketKind(self.create, self.bind, self.handle, self.failure, handler_type(self._opened))

    def _opened(self, js: Optional[int], status: int, bucket: Optional[int], closure: Optional[int]) -> None:
        """A bucket opened without waiting: its handle to the future, or (nobody waits any
        more) closed at once."""
        try:
            rt.enter_callback()
            try:
                future = rt.lookup(closure)
                rt.unregister(closure)
                handle = self.handle(bucket) if status == 0 and bucket else None
                if future is None or future.done():
                    if handle is not None:
                        handle.close()
                elif handle is not None:
                    settle(future, handle, None)
                else:
                    settle(future, None, self.failure(status))
            finally:
                rt.leave_callback()
        except BaseException:  # pragma: no cover
            rt.log.exception("swiftnats.aio: opening a bucket raised")


async def open_bucket(js: "JetStreamContext", bucket: str, config: Optional[Dict[str, Any]], kind: BucketKind) -> rt.Handle:
    """Creates (@p config given) or binds a bucket without blocking the loop; its handle."""
    future: "asyncio.Future[rt.Handle]" = js._loop.create_future()
    key = rt.register(future)

    def check(status: int) -> None:
        if status != 0:
            raise kind.failure(status)

    try:
        with js._handle.use() as ptr:
            if config is None:
                check(kind.bind(ptr, rt.text_arg(bucket, "bucket"), kind.thunk, key))
            else:
                with_json(config, lambda doc: check(kind.create(ptr, rt.text_arg(bucket, "bucket"), doc, kind.thunk, key)))
    except BaseException:
        rt.unregister(key)
        raise
    try:
        return await future
    except asyncio.CancelledError:
        # Cancelled after the bucket came (the task had not resumed yet): nobody takes it.
        if future.done() and not future.cancelled() and future.exception() is None:
            future.result().close()
        raise
