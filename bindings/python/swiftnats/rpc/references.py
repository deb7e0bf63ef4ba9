"""Calls back to the caller (docs/RPC.md "References"), as aiomas passes services: a call's
argument may be a function, or an object with ``@expose``\\ d methods (or a
:class:`~swiftnats.rpc.objects.ServiceDict`); the server's handler receives a proxy to it and
calls it back while the call runs::

    def progress(done: int, total: int) -> None:
        print(f"{done}/{total}")

    rpc.call("jobs.run", ["build", progress])          # the caller: a plain function

    @rpc.method("jobs.run")                            # the server
    def run(name: str, report) -> str:
        for i in range(3):
            report(i + 1, 3)                           # a call back to the caller
        return "done"

A function or object passed as an argument is lent for that call only: once the call has
finished (answered, failed, timed out, lost) the reference is revoked, and a server that kept
the proxy gets :class:`~swiftnats.MethodNotFoundError` from it. :meth:`RPC.lend` lends one
until :meth:`Reference.revoke` (a context manager), for a server to call back later.

References are found among a call's arguments: the items of a params list, the values of a
params dict (and of its ``"*"`` list), not deeper. The library does the wire work: one
subscription per connection serves every reference, and a proxy is an RPC client of the
reference's subject.
"""

from __future__ import annotations

import ctypes
import functools
import inspect
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Mapping, Optional, Tuple

from .. import _runtime as rt
from .._lib import lib
from ..errors import IllegalStateError, _check
from ._wire import MethodInfo, _LentJSON
from .objects import ServiceDict, _is_service, exposed_methods
from .params import describe_parameters
from .proxy import POSITIONAL_KEY, RemoteMethod
from .serving import _CALL_THUNK, _Method

if TYPE_CHECKING:
    from .namespace import RPC

__all__ = ["Reference", "REF_KEY", "is_reference", "lend_arguments", "reference_infos"]

#: The key that marks a reference in params: ``{"$ref": {"subject": ..., "methods": ...}}``.
REF_KEY = "$ref"


def is_reference(value: Any) -> bool:
    """Whether a params value is a reference (``{"$ref": {"subject": <str>, ...}}``)."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    inner = value.get(REF_KEY)
    return isinstance(inner, dict) and isinstance(inner.get("subject"), str)


def reference_infos(reference: Dict[str, Any]) -> List[MethodInfo]:
    """The methods a reference lends, as :meth:`RPC.describe` lists methods."""
    inner = reference[REF_KEY]
    subject = inner["subject"]
    methods = inner.get("methods")
    infos: List[MethodInfo] = []
    for name, entry in sorted(methods.items()) if isinstance(methods, dict) else ():
        entry = entry if isinstance(entry, dict) else {}
        params = entry.get("params")
        infos.append(MethodInfo(name, "", f"{subject}.{name}", params if isinstance(params, list) else None,
                                str(entry.get("description", "") or ""), 1, bool(entry.get("stream", False))))
    return infos


class _Lent:
    """What a reference's calls reach: its methods by name, called as registered ones are."""

    def __init__(self, methods: Dict[str, _Method]) -> None:
        self.methods = methods

    def dispatch(self, req: int, params_ptr: Optional[int]) -> None:
        raw = lib.snats_rpc_request_method(req)
        method = self.methods.get(rt.decode(raw)) if raw else None
        if method is None:  # the library lends only the names it was given
            lib.snats_rpc_request_fail(req, b"no such method in this reference", None)
            return
        method.dispatch(req, params_ptr)


def _is_function(value: Any) -> bool:
    return (inspect.isroutine(value) or isinstance(value, functools.partial)) and not _is_service(value)


class Reference:
    """A function or a service lent to the servers this object calls, as long as it is not
    revoked: put it in a call's params (or let the call lend it), and the server gets a proxy.
    A context manager that revokes it."""

    def __init__(self, rpc: "RPC", target: Any) -> None:
        self.target = target
        #: whether it stands for one function (its proxy is callable)
        self.function = _is_function(target)
        if self.function:
            methods: List[Tuple[str, Callable[..., Any]]] = [("call", target)]
        elif _is_service(target) and not isinstance(target, (list, tuple)):
            methods = exposed_methods(target)
        else:
            raise TypeError(f"{type(target).__name__} cannot be lent: pass a function, or an object with @expose'd "
                            "methods (or a ServiceDict)")
        if not methods:
            raise TypeError(f"{type(target).__name__} has no exposed method to lend")
        lent = {name: rpc._new_method(name, fn, 1) for name, fn in methods}
        described = {
            name: {"params": describe_parameters(fn, types=rpc.check_types),
                   "stream": inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn),
                   "description": (inspect.getdoc(fn) or "").split("\n")[0]}
            for name, fn in methods
        }
        self._key = rt.register(_Lent(lent))
        out = ctypes.c_void_p()
        try:
            with _LentJSON(described) as j, rpc._nc._use() as conn:
                _check(lib.snats_rpc_ref_create(ctypes.byref(out), conn, j, int(self.function), _CALL_THUNK, self._key))
        except BaseException:
            rt.unregister(self._key)
            raise
        key = self._key

        def destroy(ptr: int) -> None:
            # The Python side goes once the library has revoked it (and waited for its calls
            # running elsewhere): calls before that are still answered by the lent methods.
            lib.snats_rpc_ref_destroy(ptr)
            rt.unregister(key)

        # On a library callback thread (a handler that lent something for a call it made) the
        # destroy runs on a thread of its own: it may wait for calls running on other threads.
        self._handle = rt.Handle(rt.out_ptr(out, "RPC reference"), destroy,
                                 lambda: IllegalStateError("the reference is revoked"), "RPC reference",
                                 defer_on_callback_thread=True)
        with self._handle.use() as ref:
            self.subject: str = rt.decode(lib.snats_rpc_ref_subject(ref))
            from .._json import json_value  # noqa: PLC0415 - a borrowed json_t read once

            self.json: Dict[str, Any] = json_value(lib.snats_rpc_ref_json(ref))

    @property
    def revoked(self) -> bool:
        return self._handle.closed

    def revoke(self) -> None:
        """Stops answering: the server's proxy then gets ``MethodNotFoundError``. A call of it
        running on another thread is waited for (from a library callback thread, the revoke
        completes on a thread of its own, without waiting). Idempotent."""
        self._handle.close()

    def __enter__(self) -> "Reference":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.revoke()

    def __repr__(self) -> str:
        state = "revoked" if self.revoked else "lent"
        return f"<Reference {self.subject} to {self.target!r} ({state})>"


def _lendable(value: Any) -> bool:
    if isinstance(value, (str, bytes, int, float, bool, type(None), list, tuple)):
        return False
    if isinstance(value, dict) and not isinstance(value, ServiceDict):
        return False  # data, not a service
    return _is_function(value) or _is_service(value)


def lend_arguments(rpc: "RPC", params: Any) -> Tuple[Any, List[Reference]]:
    """The params with every function or service among the call's arguments replaced by a
    reference lent for the call (returned, for revoking when the call is over), and every
    :class:`Reference` by its JSON. Params without any are returned as they are."""
    lent: List[Reference] = []

    def swap(value: Any) -> Any:
        if isinstance(value, Reference):
            return value.json
        if _lendable(value):
            reference = Reference(rpc, value)
            lent.append(reference)
            return reference.json
        return value

    try:
        if isinstance(params, (list, tuple)):
            if any(isinstance(v, Reference) or _lendable(v) for v in params):
                return [swap(v) for v in params], lent
        elif isinstance(params, Mapping):
            values = list(params.values())
            positional = params.get(POSITIONAL_KEY)
            if isinstance(positional, (list, tuple)):
                values.extend(positional)
            if any(isinstance(v, Reference) or _lendable(v) for v in values):
                swapped = {k: swap(v) for k, v in params.items() if k != POSITIONAL_KEY}
                if POSITIONAL_KEY in params:
                    swapped[POSITIONAL_KEY] = [swap(v) for v in positional] if isinstance(positional, (list, tuple)) \
                        else swap(positional)
                return swapped, lent
    except BaseException:
        revoke_all(lent)
        raise
    return params, lent


def revoke_all(references: List[Reference]) -> None:
    for reference in references:
        reference.revoke()


class CallableReference(RemoteMethod):
    """The proxy of a lent function: calling it calls the caller's function."""

    def __init__(self, proxy: Any) -> None:
        super().__init__(proxy, "call")

    def __getattr__(self, name: str) -> RemoteMethod:
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"<remote function {self._proxy._rpc.reference}{self.__signature__}>"
