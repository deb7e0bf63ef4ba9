"""Remote methods as Python functions: ``rpc.remote.math.add(1, 2)`` calls method
``math.add`` of the RPC object's namespace(s), as aiomas's and EasyRpc's proxies do.

A proxy knows the methods from :meth:`swiftnats.rpc.RPC.describe` (micro INFO): each remote
function carries the method's signature, built from its parameter description (names,
required or not, JSON types as annotations, ``*args``, ``**kwargs``), so
``inspect.signature()`` and ``help()`` show it, and a wrong call raises ``TypeError`` at the
call site before anything is sent. The arguments go out in the form docs/RPC.md specifies:
positional values as an array, keyword ones as an object, and both at once as an object whose
``"*"`` key holds the positional values. A method the proxy does not know makes it describe
again (servers come and go); one that no server has fails at once with
:class:`swiftnats.MethodNotFoundError`.
"""

from __future__ import annotations

import inspect
import keyword
import threading
from typing import Any, Dict, Iterable, List, Optional, Tuple

__all__ = ["OPTIONAL", "POSITIONAL_KEY", "signature_of", "wire_params", "RemoteMethod", "Proxy", "AsyncProxy"]

_TYPES: Dict[str, Any] = {"integer": int, "number": float, "string": str, "boolean": bool, "array": list,
                          "object": dict, "null": type(None)}

#: The key of a params object that holds the positional values of a call that mixes both.
POSITIONAL_KEY = "*"


class _Optional:
    """The default a remote function shows for a parameter that is not required: the server
    applies its own default when the value is not sent."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<optional>"


OPTIONAL = _Optional()


def signature_of(params: Optional[List[Dict[str, Any]]]) -> Optional[inspect.Signature]:
    """The Python signature of a parameter description (None when there is none, or when it
    cannot be one: a name that is not an identifier, ``*args`` after keyword-only ones...).
    A required parameter after an optional one becomes keyword-only, as everything after
    ``*args``."""
    if params is None:
        return None
    kind_of = inspect.Parameter
    parameters: List[inspect.Parameter] = []
    keyword_only = False
    seen_optional = False
    try:
        for entry in params:
            name = entry["name"] if isinstance(entry, dict) else entry
            if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
                return None
            kind = entry.get("kind") if isinstance(entry, dict) else None
            if kind == "var_positional":
                if keyword_only:
                    return None
                parameters.append(kind_of(name, kind_of.VAR_POSITIONAL))
                keyword_only = True
                continue
            if kind == "var_keyword":
                parameters.append(kind_of(name, kind_of.VAR_KEYWORD))
                continue
            required = entry.get("required", True) is not False if isinstance(entry, dict) else True
            json_type = entry.get("type") if isinstance(entry, dict) else None
            annotation = _TYPES.get(json_type, kind_of.empty) if isinstance(json_type, str) else kind_of.empty
            if required and seen_optional:
                keyword_only = True
            seen_optional = seen_optional or not required
            parameters.append(kind_of(
                name, kind_of.KEYWORD_ONLY if keyword_only else kind_of.POSITIONAL_OR_KEYWORD,
                default=kind_of.empty if required else OPTIONAL, annotation=annotation))
        return inspect.Signature(parameters)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def wire_params(name: str, signature: Optional[inspect.Signature], args: Tuple[Any, ...],
                kwargs: Dict[str, Any]) -> Any:
    """Binds a call's arguments by the method's signature (``TypeError`` as a local function
    raises it) and gives the params to send: the positional values as an array when no
    keyword is used, else the values by name in an object, whose ``"*"`` key holds the
    positional values when ``*args`` takes some (docs/RPC.md)."""
    if signature is None:
        if args and kwargs:
            raise TypeError(f"{name}() has no parameter description: call it with positional or keyword arguments, "
                            "not both")
        return dict(kwargs) if kwargs else list(args)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{name}(): {e}") from None
    if not kwargs:
        return list(args)
    rest = [p for p in signature.parameters.values() if p.kind is p.VAR_POSITIONAL and bound.arguments.get(p.name)]
    positional: List[Any] = []
    named: Dict[str, Any] = {}
    for parameter_name, value in bound.arguments.items():
        kind = signature.parameters[parameter_name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            positional.extend(value)
        elif kind is inspect.Parameter.VAR_KEYWORD:
            named.update(value)
        elif value is OPTIONAL:
            continue  # the server applies its default
        elif rest and kind is inspect.Parameter.POSITIONAL_OR_KEYWORD:
            positional.append(value)  # before *args: by position
        else:
            named[parameter_name] = value
    if positional:
        named[POSITIONAL_KEY] = positional
    return named


class RemoteMethod:
    """A remote method as a function, and the node of the dotted names below it:
    ``remote.math`` is method ``math`` (if there is one) and leads to ``remote.math.add``."""

    __slots__ = ("_proxy", "_name")

    def __init__(self, proxy: "Proxy", name: str) -> None:
        self._proxy = proxy
        self._name = name

    @property
    def __name__(self) -> str:
        return self._name.rpartition(".")[2]

    @property
    def __signature__(self) -> inspect.Signature:
        signature = self._proxy._signature(self._name)
        if signature is None:
            return inspect.Signature([inspect.Parameter("args", inspect.Parameter.VAR_POSITIONAL),
                                      inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD)])
        return signature

    @property
    def __doc__(self) -> str:  # type: ignore[override]
        info = self._proxy._info(self._name)
        if info is None:
            return f"Remote method {self._name!r} (not described by any server)."
        where = f"namespace {info.namespace!r}, {info.instances} instance(s)"
        return f"{info.description or 'Remote method ' + repr(self._name)}\n\n({where})"

    def __getattr__(self, name: str) -> "RemoteMethod":
        if name.startswith("__"):
            raise AttributeError(name)
        return RemoteMethod(self._proxy, f"{self._name}.{name}")

    def __getitem__(self, name: str) -> "RemoteMethod":
        return RemoteMethod(self._proxy, f"{self._name}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._proxy._call(self._name, args, kwargs)

    def __repr__(self) -> str:
        return f"<remote method {self._name}{self.__signature__}>"


class Proxy:
    """The remote methods of an RPC object: attributes walk dotted names
    (``proxy.math.add``), ``proxy["math.add"]`` names one whole. Made by
    :meth:`swiftnats.rpc.RPC.proxy` (or ``rpc.remote``); calls go through the RPC object
    (``rpc.call`` / ``rpc.call_stream``), so they keep its timeout and namespace group."""

    def __init__(self, rpc: Any, describe_timeout: float = 0.5) -> None:
        self._rpc = rpc
        self._describe_timeout = describe_timeout
        self._lock = threading.Lock()
        self._methods: Dict[str, Any] = {}
        self._signatures: Dict[str, Optional[inspect.Signature]] = {}

    # -- what the proxy knows ----------------------------------------------------------------

    def _learn(self, infos: Iterable[Any]) -> None:
        methods = {info.method: info for info in infos}
        with self._lock:
            self._methods = methods
            self._signatures = {name: signature_of(info.params) for name, info in methods.items()}

    def refresh(self) -> "Proxy":
        """Describes the namespace(s) again: methods that appeared are known, those that went
        are forgotten."""
        self._learn(self._rpc.describe(self._describe_timeout))
        return self

    def _info(self, name: str) -> Any:
        return self._methods.get(name)

    def _signature(self, name: str) -> Optional[inspect.Signature]:
        return self._signatures.get(name)

    @property
    def methods(self) -> List[str]:
        """The method names known now, sorted."""
        return sorted(self._methods)

    # -- calling ------------------------------------------------------------------------------

    def _resolve(self, name: str) -> Tuple[Any, Optional[inspect.Signature]]:
        if name not in self._methods:
            self.refresh()  # a method that appeared since
        return self._methods.get(name), self._signatures.get(name)

    def _call(self, name: str, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
        info, signature = self._resolve(name)
        params = wire_params(name, signature, args, kwargs)
        if info is not None and getattr(info, "stream", False):
            return self._rpc.call_stream(name, params)
        try:
            return self._rpc.call(name, params)
        except LookupError:  # MethodNotFoundError: no server has it any more
            self._forget(name)
            raise

    def _forget(self, name: str) -> None:
        with self._lock:
            self._methods.pop(name, None)
            self._signatures.pop(name, None)

    # -- names ----------------------------------------------------------------------------------

    def __getattr__(self, name: str) -> RemoteMethod:
        if name.startswith("_"):
            raise AttributeError(name)
        return RemoteMethod(self, name)

    def __getitem__(self, name: str) -> RemoteMethod:
        return RemoteMethod(self, name)

    def __dir__(self) -> List[str]:
        return sorted({name.split(".", 1)[0] for name in self._methods} | {"refresh", "methods"})

    def __repr__(self) -> str:
        return f"<Proxy of {self._rpc!r}: {len(self._methods)} method(s)>"



class AsyncProxy(Proxy):
    """The proxy of an :class:`swiftnats.aio.rpc.RPC`: ``await remote.math.add(1, 2)``; a
    streaming method gives an async iterator (``async for x in remote.countdown(3)``). Made
    by ``await rpc.proxy()`` (described then), or ``rpc.remote`` (described at its first call
    of a method it does not know)."""

    async def refresh(self) -> "AsyncProxy":  # type: ignore[override]
        """Describes the namespace(s) again, without blocking the loop."""
        self._learn(await self._rpc.describe(self._describe_timeout))
        return self

    def _call(self, name: str, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Any:
        info = self._methods.get(name)
        if info is None:
            return _UndescribedCall(self, name, args, kwargs)
        params = wire_params(name, self._signatures.get(name), args, kwargs)
        if getattr(info, "stream", False):
            return self._rpc.call_stream(name, params)
        return self._call_plain(name, params)

    async def _call_plain(self, name: str, params: Any) -> Any:
        try:
            return await self._rpc.call(name, params)
        except LookupError:  # MethodNotFoundError: no server has it any more
            self._forget(name)
            raise


class _UndescribedCall:
    """The call of a method an :class:`AsyncProxy` does not know yet: the proxy describes first
    (a method that appeared since), then the call goes out. Awaited, it is the result (a
    streaming method's items in a list); iterated with ``async for``, the items as they come."""

    __slots__ = ("_proxy", "_name", "_args", "_kwargs")

    def __init__(self, proxy: AsyncProxy, name: str, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> None:
        self._proxy = proxy
        self._name = name
        self._args = args
        self._kwargs = kwargs

    async def _described(self) -> Tuple[Any, Any]:
        await self._proxy.refresh()
        params = wire_params(self._name, self._proxy._signatures.get(self._name), self._args, self._kwargs)
        return self._proxy._methods.get(self._name), params

    async def _result(self) -> Any:
        info, params = await self._described()
        if info is not None and getattr(info, "stream", False):
            return [item async for item in self._proxy._rpc.call_stream(self._name, params)]
        return await self._proxy._call_plain(self._name, params)

    def __await__(self) -> Any:
        return self._result().__await__()

    async def __aiter__(self) -> Any:
        info, params = await self._described()
        if info is not None and getattr(info, "stream", False):
            async for item in self._proxy._rpc.call_stream(self._name, params):
                yield item
            return
        yield await self._proxy._call_plain(self._name, params)  # a plain method: its one result
