"""Conversions between Jansson values (``json_t*``, opaque to Python) and Python values, through
JSON text: snats_json_dumps() + snats_free(), and snats_json_loads()."""

from __future__ import annotations

import ctypes
import json
from typing import Any, Callable, Optional

from . import _runtime as rt
from ._lib import JSON_HANDLER, lib
from ._runtime import out_ptr
from .errors import Status, _check, library_error

__all__ = ["json_value", "json_new", "call_with_json_outcome"]


def json_value(handle: Optional[int]) -> Any:
    """Converts a borrowed ``json_t*`` to Python (dict, list, str, ...). None for NULL."""
    if not handle:
        return None
    text = ctypes.c_void_p()
    _check(lib.snats_json_dumps(ctypes.byref(text), handle))
    try:
        raw = ctypes.string_at(out_ptr(text, "JSON text"))
    finally:
        lib.snats_free(text.value)
    return json.loads(raw)


def json_new(value: Any) -> int:
    """Converts a Python value to a new ``json_t*`` reference (release with snats_json_decref)."""
    out = ctypes.c_void_p()
    _check(lib.snats_json_loads(ctypes.byref(out), json.dumps(value).encode()))
    return out_ptr(out, "JSON value")


#: What a gathering that does not block (discovery, describe) hands its outcome to.
JSONOutcome = Callable[[Any, Optional[BaseException]], None]


def _on_json_outcome(status: int, value: Optional[int], closure: Optional[int]) -> None:
    try:
        rt.enter_callback()
        try:
            callback = rt.lookup(closure)
            rt.unregister(closure)  # called once
            if callback is None:
                return
            if status == Status.OK:
                callback(json_value(value), None)  # borrowed: converted now
            else:
                callback(None, library_error(status))
        finally:
            rt.leave_callback()
    except BaseException:
        rt.log.exception("swiftnats: a JSON outcome callback raised")


_JSON_OUTCOME_THUNK = JSON_HANDLER(_on_json_outcome)


def call_with_json_outcome(start: Callable[[Any, int], int], callback: JSONOutcome) -> None:
    """Makes a library call that hands its outcome to a ``snats_json_handler``:
    ``start(thunk, closure)`` makes it and returns its status (raised when not OK: then
    @p callback never runs); ``callback(value, error)`` runs once, where the library calls
    back (on the loop's thread for an aio client)."""
    key = rt.register(callback)
    try:
        _check(start(_JSON_OUTCOME_THUNK, key))
    except BaseException:
        rt.unregister(key)
        raise
