"""swiftnats: a NATS client (libswiftnats, written in Swift) for Python, through ctypes.

    import swiftnats

    with swiftnats.connect("nats://127.0.0.1:4222") as nc:
        sub = nc.subscribe("greet.*", cb=lambda msg: msg.respond(b"hello " + msg.data))
        reply = nc.request("greet.joe", b"joe", timeout=1.0)

The API is synchronous and thread-safe, with nats.py's names. Callbacks run on threads of the
library. Errors are :class:`SwiftNatsError` subclasses carrying ``.status`` and ``.detail``.
"""

from __future__ import annotations

from ._lib import LibraryNotFoundError, library_path, version
from .client import Client, ConnState, connect
from .errors import *  # noqa: F401,F403
from .errors import __all__ as _errors_all
from .msg import Msg
from .subscription import Subscription
from ._delivery import delivery_pool_threads, set_delivery_pool_size
from . import micro  # noqa: E402  (needs Client)
from . import rpc  # noqa: E402  (needs Client)
from .rpc import RPC, AsyncRPC  # noqa: E402
from . import jetstream, kv, obj  # noqa: E402
from .kv import BucketNotFoundError, KeyNotFoundError, KeyWrongLastSequenceError  # noqa: E402

__version__ = "0.2.0"

__all__ = [
    "connect",
    "Client",
    "ConnState",
    "Subscription",
    "Msg",
    "set_delivery_pool_size",
    "delivery_pool_threads",
    "micro",
    "rpc",
    "jetstream",
    "kv",
    "obj",
    "KeyNotFoundError",
    "KeyWrongLastSequenceError",
    "BucketNotFoundError",
    "RPC",
    "AsyncRPC",
    "version",
    "library_path",
    "LibraryNotFoundError",
    *_errors_all,
]
