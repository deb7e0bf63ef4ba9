"""What crosses the C boundary for RPC: params and results as ``json_t``, a call's outcome
as a result or an exception, and the descriptions ``describe`` lists."""

from __future__ import annotations

import ctypes
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from .. import _runtime as rt
from .._json import json_new, json_value
from .._lib import RPC_CALLBACK, lib
from ..errors import (
    InternalError,
    RPCError,
    Status,
    _check,
    _last_error,
    error_for_status,
    rpc_error,
)

Params = Union[Mapping[str, Any], Sequence[Any], None]
#: call_with_callback's callback(result, error): error is None on success.
Callback = Callable[[Any, Optional[BaseException]], None]

_DEFAULT_TIMEOUT = 5.0

class _LentJSON:
    """``with _LentJSON(value) as ref``: a new ``json_t*`` for @p value (NULL for None) that
    lives for the C calls in the block and is released after it."""

    __slots__ = ("ref",)

    def __init__(self, value: Any) -> None:
        self.ref: Optional[int] = None if value is None else json_new(value)

    def __enter__(self) -> Optional[int]:
        return self.ref

    def __exit__(self, *exc: Any) -> None:
        if self.ref is not None:
            lib.snats_json_decref(self.ref)


def _params_value(params: Params) -> Any:
    """Params as the JSON value to send: a dict, a list, or None for none."""
    if params is None:
        return None
    if isinstance(params, Mapping):
        return dict(params)
    if isinstance(params, (list, tuple)):
        return list(params)
    raise TypeError(f"params must be a dict or a list, not {type(params).__name__}")


def _take(out: ctypes.c_void_p) -> Any:
    """The Python value of an owned ``json_t*`` out-parameter, which is released."""
    if not out.value:
        return None
    try:
        return json_value(out.value)
    finally:
        lib.snats_json_decref(out.value)


def _error_of(obj: Any) -> RPCError:
    if not isinstance(obj, dict):
        return InternalError(None, f"malformed error object: {obj!r}")
    return rpc_error(obj.get("code", -32603), str(obj.get("message", "")), obj.get("data"))


def _outcome(status: int, result: ctypes.c_void_p, error: ctypes.c_void_p) -> Any:
    """The result of an RPC call, or raises its error (read right after the call)."""
    if status == Status.RPC_ERROR and error.value:
        raise _error_of(_take(error))
    _check(status)
    return _take(result)


def method_infos(listing: List[Dict[str, Any]]) -> List[MethodInfo]:
    """The library's describe listing as :class:`MethodInfo` entries."""
    return [MethodInfo(m["method"], m["namespace"], m["subject"], m["params"], m["description"], m["instances"],
                       bool(m.get("stream", False)))
            for m in listing]


def _batch_calls(calls: Sequence[Any]) -> List[Tuple[str, Any]]:
    """The calls of a batch as (method, params value or None): ``(method, params)``,
    ``(method,)`` or a method name each."""
    parsed: List[Tuple[str, Any]] = []
    for call in calls:
        if isinstance(call, str):
            parsed.append((call, None))
            continue
        method, *rest = call
        if len(rest) > 1:
            raise ValueError(f"a batch call is (method, params), got {call!r}")
        parsed.append((method, _params_value(rest[0] if rest else None)))
    return parsed


def _on_outcome(status: int, result: Optional[int], error: Optional[int], closure: Optional[int]) -> None:
    try:
        rt.enter_callback()
        try:
            callback = rt.lookup(closure)
            rt.unregister(closure)  # called once
            if callback is None:
                return
            callback(*_callback_outcome(status, result, error))
        finally:
            rt.leave_callback()
    except BaseException:
        rt.log.exception("swiftnats: an RPC callback raised")


def _callback_outcome(status: int, result: Optional[int], error: Optional[int]) -> Tuple[Any, Optional[BaseException]]:
    """What a ``snats_rpc_callback`` was given, as (result, exception); read during the call."""
    if status == Status.OK:
        return json_value(result), None
    if status == Status.RPC_ERROR and error:
        return None, _error_of(json_value(error))
    return None, error_for_status(status, _last_error())


_OUTCOME_THUNK = RPC_CALLBACK(_on_outcome)


@dataclass(frozen=True)
class MethodInfo:
    """A method as :meth:`RPC.describe` finds it."""

    method: str
    namespace: str
    subject: str
    params: Optional[List[Dict[str, Any]]]
    description: str
    instances: int
    #: a generator method: :meth:`RPC.call_stream` reads its items (a proxy iterates it)
    stream: bool = False


