"""Small helpers shared by the asyncio modules: callable inspection and futures."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any, Callable, Optional


def is_coroutine_callable(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))


def accepts_two(fn: Callable[..., Any]) -> bool:
    """Whether @p fn can take two positional arguments (error_cb(error, subscription)); a
    nats.py-style error_cb(error) cannot."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    count = 0
    for p in params:
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            return True
        if p.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            count += 1
    return count >= 2


def set_future(future: "asyncio.Future[Any]", result: Any, error: Optional[BaseException]) -> None:
    if future.done():  # cancelled by its awaiter
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
