"""The asyncio client's message: :class:`swiftnats.Msg` with a coroutine ``respond``."""

from __future__ import annotations

from typing import Optional

from ..headers import HeadersArg
from ..msg import Msg as _SyncMsg
from .._runtime import Payload

__all__ = ["Msg"]


class Msg(_SyncMsg):
    """A received message; as :class:`swiftnats.Msg`, with a coroutine :meth:`respond`."""

    async def respond(self, data: Payload = b"", headers: HeadersArg = None) -> None:  # type: ignore[override]
        _SyncMsg.respond(self, data, headers)  # only buffers: nothing to wait for

    # JetStream acknowledgements: sending one only buffers it; ack_sync awaits the server.

    async def ack(self) -> None:  # type: ignore[override]
        _SyncMsg.ack(self)

    async def ack_sync(self, timeout: float = 1.0) -> None:  # type: ignore[override]
        from .jetstream import ack_sync  # noqa: PLC0415 - JetStream only when used

        await ack_sync(self, timeout)

    async def nak(self, delay: Optional[float] = None) -> None:  # type: ignore[override]
        _SyncMsg.nak(self, delay)

    async def term(self, reason: Optional[str] = None) -> None:  # type: ignore[override]
        _SyncMsg.term(self, reason)

    async def in_progress(self) -> None:  # type: ignore[override]
        _SyncMsg.in_progress(self)

    @classmethod
    def _of(cls, msg: _SyncMsg) -> "Msg":
        copy = object.__new__(cls)
        copy.__dict__.update(msg.__dict__)
        return copy

