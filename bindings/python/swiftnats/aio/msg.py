"""The asyncio client's message: :class:`swiftnats.Msg` with a coroutine ``respond``."""

from __future__ import annotations

from ..headers import HeadersArg
from ..msg import Msg as _SyncMsg
from .._runtime import Payload

__all__ = ["Msg"]


class Msg(_SyncMsg):
    """A received message; as :class:`swiftnats.Msg`, with a coroutine :meth:`respond`."""

    async def respond(self, data: Payload = b"", headers: HeadersArg = None) -> None:  # type: ignore[override]
        _SyncMsg.respond(self, data, headers)  # only buffers: nothing to wait for

    @classmethod
    def _of(cls, msg: _SyncMsg) -> "Msg":
        copy = object.__new__(cls)
        copy.__dict__.update(msg.__dict__)
        return copy

