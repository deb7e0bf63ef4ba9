"""Conversions between Jansson values (``json_t*``, opaque to Python) and Python values, through
JSON text: snats_json_dumps() + snats_free(), and snats_json_loads()."""

from __future__ import annotations

import ctypes
import json
from typing import Any, Optional

from ._lib import lib
from ._runtime import out_ptr
from .errors import _check

__all__ = ["json_value", "json_new"]


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

