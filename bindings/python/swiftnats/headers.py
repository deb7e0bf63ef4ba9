"""NATS message headers: Python mappings to and from ``snats_headers``.

Outgoing headers are a mapping ``{key: value}`` where a value is a ``str`` or a sequence of
``str`` (several values for one key). Received headers are read into a list of
``(key, [values])`` pairs in wire order.
"""

from __future__ import annotations

import ctypes
from contextlib import contextmanager
from typing import Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from ._lib import lib
from ._runtime import decode, log, text_arg
from .errors import Status, _check, _last_error

__all__ = ["HeadersArg", "HeaderItems", "c_headers", "read_headers", "parse_header_block"]

HeaderValue = Union[str, Sequence[str]]
HeadersArg = Optional[Mapping[str, HeaderValue]]
HeaderItems = Tuple[Tuple[str, Tuple[str, ...]], ...]


@contextmanager
def c_headers(headers: HeadersArg) -> Iterator[Optional[int]]:
    """Yields an owned ``snats_headers*`` built from @p headers (None when @p headers is None
    or empty), destroyed on exit."""
    if not headers:
        yield None
        return
    if not isinstance(headers, Mapping):
        raise TypeError(f"headers must be a mapping, not {type(headers).__name__}")
    out = ctypes.c_void_p()
    _check(lib.snats_headers_create(ctypes.byref(out)))
    handle = out.value
    try:
        for key, value in headers.items():
            k = text_arg(key, "header key")
            values = [value] if isinstance(value, str) else list(value)
            for v in values:
                _check(lib.snats_headers_add(handle, k, text_arg(v, f"value of header {key!r}")))
        yield handle
    finally:
        lib.snats_headers_destroy(handle)


def read_headers(handle: Optional[int]) -> Optional[HeaderItems]:
    """Copies a borrowed ``const snats_headers*`` into ``((key, (value, ...)), ...)``; None for
    NULL (no header block)."""
    if not handle:
        return None
    items: List[Tuple[str, Tuple[str, ...]]] = []
    key = ctypes.c_char_p()
    value = ctypes.c_char_p()
    for i in range(lib.snats_headers_key_count(handle)):
        st = lib.snats_headers_key_at(ctypes.byref(key), handle, i)
        if st == Status.NOT_FOUND:  # changed underneath: cannot happen for a message's headers
            break
        _check(st)
        raw_key = key.value or b""
        values: List[str] = []
        for j in range(lib.snats_headers_value_count(handle, raw_key)):
            st = lib.snats_headers_value_at(ctypes.byref(value), handle, raw_key, j)
            if st == Status.NOT_FOUND:
                break
            _check(st)
            values.append(decode(value.value))
        items.append((decode(raw_key), tuple(values)))
    return tuple(items)


def parse_header_block(raw: bytes) -> Tuple[int, str, HeaderItems]:
    """A raw ``NATS/1.0`` block of a batch record, parsed by the library
    (``snats_headers_parse``): the inline status code and description, then
    ``((key, (value, ...)), ...)`` in wire order. The library made the record from a block it
    had parsed already, so it parses again; were it ever refused, the message would keep its
    payload with an empty header set, and the refusal is logged."""
    out = ctypes.c_void_p()
    status = lib.snats_headers_parse(ctypes.byref(out), raw, len(raw))
    if status != Status.OK or not out.value:
        log.error("swiftnats: a header block the library refused: %s (%r)", _last_error(), raw[:64])
        return 0, "", ()
    handle = out.value
    try:
        code = lib.snats_headers_status(handle)
        description = decode(lib.snats_headers_description(handle)) if code else ""
        return code, description, read_headers(handle) or ()
    finally:
        lib.snats_headers_destroy(handle)
