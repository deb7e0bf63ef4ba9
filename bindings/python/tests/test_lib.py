"""The ctypes declarations against the header, and the status -> exception mapping."""

from __future__ import annotations

import asyncio
import builtins
import ctypes
import re

import pytest

from conftest import HEADER

import swiftnats
from swiftnats import _lib, errors


def _prototypes():
    """{name: (return type, [parameter declarations])} of every snats_ function in the header."""
    src = re.sub(r"/\*.*?\*/", "", HEADER.read_text(), flags=re.S)
    protos = {}
    for m in re.finditer(r"^([A-Za-z_][\w \t]*?[\s*]+)(snats_\w+)\s*\(([^)]*)\)\s*(?:SNATS_NODISCARD\s*)?;", src, flags=re.M):
        params = " ".join(m.group(3).split())
        protos[m.group(2)] = (
            " ".join(m.group(1).split()),
            [] if params in ("", "void") else [p.strip() for p in params.split(",")],
        )
    return protos


PROTOTYPES = _prototypes()


def test_header_parsed():
    # every "snats_name(" except a callback typedef's return type ("snats_status (*handler)(")
    names_in_text = set(re.findall(r"\b(snats_[a-z0-9_]+)\s*\((?!\*)", HEADER.read_text()))
    assert set(PROTOTYPES) == names_in_text
    assert len(PROTOTYPES) >= 80


def _expected_restype(ret: str):
    ret = ret.replace("const ", "").strip()
    if ret == "void":
        return None
    if ret == "char *":
        return ctypes.c_char_p
    if ret.endswith("*"):
        return ctypes.c_void_p
    return {
        "snats_status": ctypes.c_int,
        "int": ctypes.c_int,
        "bool": ctypes.c_bool,
        "size_t": ctypes.c_size_t,
        "uint64_t": ctypes.c_uint64,
        "int64_t": ctypes.c_int64,
    }[ret]


@pytest.mark.parametrize("name", sorted(PROTOTYPES), ids=sorted(PROTOTYPES))
def test_function_declared(name):
    ret, params = PROTOTYPES[name]
    assert name in _lib.SIGNATURES, f"{name} is in the header but not declared in _lib"
    fn = getattr(_lib.lib, name)
    assert fn.argtypes is not None, name
    assert len(fn.argtypes) == len(params), f"{name}: header has {params}"
    assert fn.restype is _expected_restype(ret), f"{name} returns {ret}"


def test_no_extra_declarations():
    assert set(_lib.SIGNATURES) - set(PROTOTYPES) == set()


def test_loaded_with_cdll_not_pydll():
    assert type(_lib.lib) is ctypes.CDLL


def test_version():
    major, minor, patch = (int(x) for x in swiftnats.version().split("."))
    text = HEADER.read_text()
    assert f"SNATS_VERSION_MAJOR {major}" in text
    assert f"SNATS_VERSION_MINOR {minor}" in text
    assert f"SNATS_VERSION_PATCH {patch}" in text


def _header_statuses():
    enum = re.search(r"typedef enum \{(.*?)\}\s*snats_status;", HEADER.read_text(), flags=re.S)
    assert enum
    return {name: int(v) for name, v in re.findall(r"SNATS_(\w+)\s*=\s*(\d+)", enum.group(1))}


STATUSES = _header_statuses()


@pytest.mark.parametrize("name", sorted(STATUSES, key=STATUSES.get), ids=str)
def test_every_status_has_its_class(name):
    value = STATUSES[name]
    assert getattr(errors.Status, name) == value
    if value == 0:
        errors._check(0)  # no exception
        return
    err = errors.error_for_status(value, "detail")
    assert isinstance(err, errors.SwiftNatsError)
    assert err.status == value and err.detail == "detail"
    assert type(err).default_status == value, f"{name} -> {type(err).__name__}"
    with pytest.raises(type(err)) as info:
        errors._check(value)
    assert info.value.status == value
    if value == errors.Status.RPC_ERROR:  # named as the Python RPC libraries do
        assert str(info.value).startswith("RPC Error (-32603): ")
    else:
        assert name in str(info.value)  # "SNATS_TIMEOUT: timeout: ..."


def test_status_classes_distinct():
    classes = [type(errors.error_for_status(v)) for v in STATUSES.values() if v]
    assert len(set(classes)) == len(classes)


def test_unknown_status_gives_base_class():
    err = errors.error_for_status(999, "x")
    assert type(err) is swiftnats.SwiftNatsError and err.status == 999


@pytest.mark.parametrize(
    "cls,builtin",
    [
        (swiftnats.TimeoutError, builtins.TimeoutError),
        (swiftnats.TimeoutError, asyncio.TimeoutError),
        (swiftnats.InvalidArgumentError, ValueError),
        (swiftnats.InvalidSubjectError, ValueError),
        (swiftnats.InvalidSubjectError, swiftnats.InvalidArgumentError),
    ],
    ids=["timeout-builtin", "timeout-asyncio", "invalid-arg-valueerror", "invalid-subject-valueerror", "invalid-subject-invalid-arg"],
)
def test_error_hierarchy(cls, builtin):
    assert issubclass(cls, builtin)
    assert issubclass(cls, swiftnats.SwiftNatsError)


def test_json_helpers_round_trip():
    from swiftnats._json import json_new, json_value

    value = {"a": [1, 2.5, "x", None, True], "b": {"c": "é"}}
    handle = json_new(value)
    try:
        assert json_value(handle) == value
        assert _lib.lib.snats_json_incref(handle) == handle
        _lib.lib.snats_json_decref(handle)
    finally:
        _lib.lib.snats_json_decref(handle)


def test_json_loads_invalid():
    from swiftnats._json import json_new

    out = ctypes.c_void_p()
    status = _lib.lib.snats_json_loads(ctypes.byref(out), b"{nope")
    assert status == errors.Status.INVALID_JSON and out.value is None
    with pytest.raises(swiftnats.InvalidJSONError):
        errors._check(status)
    handle = json_new("text")
    assert handle is not None
    _lib.lib.snats_json_decref(handle)


def _documentation():
    """{name: (its doc comment, its group's introduction)} of every snats_ function."""
    text = HEADER.read_text()
    groups = [(m.start(), m.group(0)) for m in re.finditer(r"/\*\* \\defgroup .*?@\{ \*/", text, flags=re.S)]
    docs = {}
    for m in re.finditer(r"(/\*\*(?:(?!\*/).)*\*/)\s*\n[A-Za-z_][\w \t]*?[\s*]+(snats_\w+)\s*\(", text, flags=re.S):
        intro = ""
        for start, body in groups:
            if start < m.start():
                intro = body
        docs[m.group(2)] = (m.group(1), intro)
    return docs


def test_every_function_says_whether_it_blocks():
    """The header is the manual: each function says whether it blocks, or its group says it
    for every function that does not (``Blocks:`` in the group's introduction, or the words
    "unless a function says otherwise")."""
    docs = _documentation()
    assert set(PROTOTYPES) <= set(docs), sorted(set(PROTOTYPES) - set(docs))
    says = re.compile(r"\bBlocks\b|\bblocks?\b|blocking and threads|Never waits|waits for nothing|does not block", re.I)
    silent = sorted(name for name, (doc, intro) in docs.items()
                    if name in PROTOTYPES and not says.search(doc)
                    and not re.search(r"Blocks:|Unless a function says otherwise|blocking and threads: as", intro))
    assert silent == []
