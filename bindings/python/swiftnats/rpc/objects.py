"""Serving whole objects, as aiomas's services do: ``rpc.serve(obj)`` registers in one call
every method of @p obj marked with :func:`expose`, and those of the services it holds in its
attributes, under dotted names (``addition.add``). A dict (or :class:`ServiceDict`) serves
each function it holds, and each service it holds under its key.

    class Addition:
        @expose
        def add(self, a: int, b: int) -> int:
            return a + b

    class Calculator:
        def __init__(self) -> None:
            self.addition = Addition()          # a sub-service: "addition.add"

        @expose
        def ping(self) -> str:                  # "ping"
            return "pong"

        def internal(self) -> None:             # not exposed: not reachable
            ...

    rpc.serve(Calculator())                     # ["addition.add", "ping"]

Only exposed methods are reachable: an object's other methods and attributes are not.
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, Dict, List, Mapping, Optional, Set, Tuple, TypeVar, Union, overload

__all__ = ["expose", "ServiceDict", "exposed_methods"]

_MARK = "__swiftnats_exposed__"
F = TypeVar("F", bound=Callable[..., Any])


@overload
def expose(fn: F) -> F: ...


@overload
def expose(fn: None = None, *, name: Optional[str] = None) -> Callable[[F], F]: ...


def expose(fn: Optional[F] = None, *, name: Optional[str] = None) -> Union[F, Callable[[F], F]]:
    """Marks a method (plain, generator, ``async def``) as callable remotely: ``@expose``, or
    ``@expose(name="other")`` to serve it under another name."""
    def mark(target: F) -> F:
        if not callable(target):
            raise TypeError("expose() marks functions and methods")
        setattr(target, _MARK, name or True)
        return target

    return mark(fn) if fn is not None else mark


class ServiceDict(dict):  # type: ignore[type-arg]
    """A dict served as a service: its functions are methods, its services (objects with
    exposed methods, dicts) sub-services, under their keys. A plain dict serves the same
    way; this name says so where it is made (aiomas's name)."""


def _marked_name(function: Any, default: str) -> Optional[str]:
    mark = getattr(function, _MARK, None)
    if mark is None:
        return None
    return mark if isinstance(mark, str) else default


def _is_service(value: Any) -> bool:
    """A dict, or an object whose class has an exposed method."""
    if isinstance(value, Mapping):
        return True
    if inspect.isroutine(value) or isinstance(value, (str, bytes, int, float, bool, type(None), list, tuple, set)):
        return False
    return any(_marked_name(getattr(type(value), name, None), name) for name in dir(type(value)))


def exposed_methods(service: Any, prefix: str = "") -> List[Tuple[str, Callable[..., Any]]]:
    """The (dotted name, callable) pairs that serving @p service registers, sorted by name.
    Raises ``TypeError`` for something that is no service, and ``ValueError`` when two
    methods would have one name."""
    if not _is_service(service):
        raise TypeError(f"{type(service).__name__} is no service: expose some of its methods with @expose, "
                        "or serve a dict of functions")
    found: Dict[str, Callable[..., Any]] = {}
    _collect(service, prefix, found, set())
    return sorted(found.items())


def _add(found: Dict[str, Callable[..., Any]], name: str, function: Callable[..., Any]) -> None:
    if name in found:
        raise ValueError(f"two methods would be served as {name!r}")
    found[name] = function


def _collect(service: Any, prefix: str, found: Dict[str, Callable[..., Any]], seen: Set[int]) -> None:
    if id(service) in seen:
        return  # a service held twice (or by itself) is served once
    seen.add(id(service))
    if isinstance(service, Mapping):
        for key, value in service.items():
            if not isinstance(key, str):
                raise TypeError(f"a service dict's keys are method names, not {type(key).__name__}")
            if callable(value) and not _is_service(value):
                _add(found, prefix + key, value)
            elif _is_service(value):
                _collect(value, f"{prefix}{key}.", found, seen)
        return
    cls = type(service)
    for attribute in dir(cls):
        name = _marked_name(inspect.getattr_static(cls, attribute, None), attribute)
        if name is None:
            # a staticmethod / classmethod wrapper: the mark is on the function it holds
            wrapped = getattr(inspect.getattr_static(cls, attribute, None), "__func__", None)
            name = _marked_name(wrapped, attribute) if wrapped is not None else None
        if name is not None:
            _add(found, prefix + name, getattr(service, attribute))
    for attribute, value in sorted(vars(service).items()) if hasattr(service, "__dict__") else ():
        if not attribute.startswith("_") and _is_service(value):
            _collect(value, f"{prefix}{attribute}.", found, seen)
