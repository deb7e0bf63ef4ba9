"""Parameter descriptions made from Python signatures (docs/RPC.md "Parameter descriptions")."""

from __future__ import annotations

import inspect
import typing
from typing import Any, Callable, Dict, List, Optional


_JSON_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean", list: "array",
               dict: "object", type(None): "null"}


def describe_parameters(fn: Callable[..., Any], types: bool = True) -> Optional[List[Dict[str, Any]]]:
    """The parameter description of a function, as the library takes it: one entry per
    parameter, with its JSON type when annotated (int, float, str, bool, list, dict) unless
    @p types is False, whether it is required, and ``kind`` for ``*args`` / ``**kwargs``. None
    when it has no signature."""
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    try:
        hints = typing.get_type_hints(fn)
    except Exception:  # noqa: BLE001 - unresolvable annotations: no types
        hints = {}
    described: List[Dict[str, Any]] = []
    for p in signature.parameters.values():
        entry: Dict[str, Any] = {"name": p.name}
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            entry["kind"] = "var_positional"
        elif p.kind is inspect.Parameter.VAR_KEYWORD:
            entry["kind"] = "var_keyword"
        else:
            json_type = _JSON_TYPES.get(hints.get(p.name)) if types else None  # type: ignore[arg-type]
            if json_type is not None:
                entry["type"] = json_type
            entry["required"] = p.default is inspect.Parameter.empty
        described.append(entry)
    return described


