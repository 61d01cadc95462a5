"""The binding matches include/libsession.h: every exported function is
bound, with the same number of parameters and matching types; the enum
values and the version the package expects agree with the header."""

from __future__ import annotations

import ctypes
import re
from pathlib import Path

import pytest

import libsession as ls
from libsession import _lib, _request

HEADER = Path(__file__).resolve().parents[3] / "include" / "libsession.h"


def _strip(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def _norm_type(t: str) -> str:
    t = t.replace("LIBSESSION_MUST_USE", " ")
    t = re.sub(r"\b(const|struct|extern)\b", " ", t)
    t = t.replace("*", " * ")
    return re.sub(r"\s+", " ", t).strip().replace(" *", "*")


def parse_header(text: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (return type, [parameter types]) for every function declared."""
    body = _strip(text)
    out: dict[str, tuple[str, list[str]]] = {}
    decl = re.compile(r"([A-Za-z_][\w\s\*]*?)\b(libsession_\w+)\s*\(([^()]*)\)\s*;")
    for m in decl.finditer(body):
        ret, name, params = m.group(1), m.group(2), m.group(3).strip()
        types = []
        if params and params != "void":
            for p in params.split(","):
                p = p.strip()
                pm = re.fullmatch(r"(.*?[\s\*])(\w+)", p, flags=re.S)
                assert pm, f"{name}: cannot parse parameter {p!r}"
                types.append(_norm_type(pm.group(1)))
        assert name not in out, f"{name} declared twice"
        out[name] = (_norm_type(ret), types)
    return out


ENUMS = (
    "libsession_result",
    "libsession_action",
    "libsession_load_status",
    "libsession_store_status",
    "libsession_cookie_attr",
    "libsession_tristate",
    "libsession_secure",
    "libsession_same_site",
    "libsession_priority",
    "libsession_unset",
    "libsession_store_kind",
    "libsession_event_kind",
    "libsession_store_operation",
    "libsession_redis_op",
)


def _expected_ctype(c: str, name: str) -> object:
    opaque = {
        "libsession_config",
        "libsession_config_builder",
        "libsession_request",
        "libsession_stored_record",
        "libsession_redis_options",
    }
    base = c.rstrip("*")
    stars = len(c) - len(base)
    if base in opaque:
        return {1: ctypes.c_void_p, 2: ctypes.POINTER(ctypes.c_void_p)}[stars]
    if c in ("uint8_t*", "char*"):
        return ctypes.c_char_p
    scalars = {
        "uint32_t": ctypes.c_uint32,
        "uint64_t": ctypes.c_uint64,
        "int64_t": ctypes.c_int64,
        "size_t": ctypes.c_size_t,
        "bool": ctypes.c_bool,
        "double": ctypes.c_double,
        "libsession_str": _lib.LibsessionStr,
        "libsession_event": _lib.LibsessionEvent,
        "libsession_redis_command": _lib.LibsessionRedisCommand,
        "void": None,
    }
    # The enum types are 32 bits wide (uint32_t in C before C23).
    scalars.update({e: ctypes.c_uint32 for e in ENUMS})
    assert base in scalars, f"{name}: no ctypes mapping for C type {c!r} (extend the test and the binding)"
    t = scalars[base]
    if stars == 0:
        return t
    assert stars == 1, f"{name}: unexpected type {c!r}"
    return ctypes.POINTER(t)


@pytest.fixture(scope="module")
def header() -> dict[str, tuple[str, list[str]]]:
    assert HEADER.is_file(), f"{HEADER} is missing"
    funcs = parse_header(HEADER.read_text(encoding="utf-8"))
    assert len(funcs) > 50, "the header parser found too few functions"
    return funcs


def test_parser_reads_a_known_declaration(header):
    ret, params = header["libsession_request_new"]
    assert ret == "libsession_result"
    assert params == ["libsession_config*", "int64_t", "uint8_t*", "size_t", "libsession_request**"]
    assert header["libsession_version_number"] == ("uint32_t", [])
    assert header["libsession_config_name"] == ("libsession_result", ["libsession_config*", "libsession_str*"])


def test_every_exported_function_is_bound(header):
    missing = sorted(set(header) - set(_lib.SIGNATURES))
    assert not missing, f"functions of libsession.h not bound in libsession._lib.SIGNATURES: {missing}"


def test_no_binding_without_a_header_declaration(header):
    stale = sorted(set(_lib.SIGNATURES) - set(header))
    assert not stale, f"bound functions that libsession.h does not declare: {stale}"


def test_parameter_counts_match(header):
    wrong = {
        name: (len(params), len(_lib.SIGNATURES[name][1]))
        for name, (_, params) in header.items()
        if name in _lib.SIGNATURES and len(params) != len(_lib.SIGNATURES[name][1])
    }
    assert not wrong, f"parameter count (header, binding) differs: {wrong}"


def test_parameter_and_return_types_match(header):
    problems = []
    for name, (ret, params) in header.items():
        if name not in _lib.SIGNATURES:
            continue
        restype, argtypes = _lib.SIGNATURES[name]
        if _expected_ctype(ret, name) is not restype:
            problems.append(f"{name}: returns {ret}, bound as {restype}")
        for i, (c, bound) in enumerate(zip(params, argtypes)):
            if _expected_ctype(c, name) is not bound:
                problems.append(f"{name}: parameter {i} is {c}, bound as {bound}")
    assert not problems, "\n".join(problems)


def test_loaded_functions_carry_the_declarations(header):
    for name in header:
        fn = getattr(_lib.LIB, name)
        assert fn.argtypes is not None and len(fn.argtypes) == len(header[name][1]), name
        assert fn.restype is _lib.SIGNATURES[name][0] or (fn.restype is None and _lib.SIGNATURES[name][0] is None), name


def _enum(text: str, prefix: str) -> dict[str, int]:
    return {m.group(1): int(m.group(2)) for m in re.finditer(rf"\b{prefix}(\w+) = (\d+)", text)}


def test_event_kinds_and_operations_match_the_header():
    text = HEADER.read_text(encoding="utf-8")
    kinds = _enum(text, "LIBSESSION_EVENT_KIND_")
    assert kinds and kinds == {k.name: int(k) for k in ls.EventKind}
    ops = _enum(text, "LIBSESSION_STORE_OPERATION_")
    assert ops == {"NONE": 0, **{o.name: int(o) for o in ls.StoreOperation}}


def test_result_codes_match_the_header():
    text = HEADER.read_text(encoding="utf-8")
    codes = _enum(text, "LIBSESSION_RESULT_")
    assert codes, "no result codes found"
    assert codes == {r.name: int(r) for r in ls.Result}


def test_action_and_status_values_match_the_header():
    text = HEADER.read_text(encoding="utf-8")
    actions = _enum(text, "LIBSESSION_ACTION_")
    assert actions == {
        "LOAD": _request._LOAD,
        "SAVE": _request._SAVE,
        "TOUCH": _request._TOUCH,
        "DESTROY": _request._DESTROY,
        "SET_COOKIE": _request._SET_COOKIE,
        "WAIT": _request._WAIT,
        "READY": _request._READY,
        "FAILED": _request._FAILED,
        "COMPLETED": _request._COMPLETED,
        "ERROR": _request._ERROR,
        "DONE": _request._DONE,
        "SET_HEADER": _request._SET_HEADER,
        "CONFLICT": _request._CONFLICT,
        "CONFLICT_RELOADED": _request._CONFLICT_RELOADED,
    }
    assert _enum(text, "LIBSESSION_LOAD_STATUS_") == {
        "FOUND": _request._FOUND,
        "NOT_FOUND": _request._NOT_FOUND,
        "MISSING": _request._MISSING,
        "FAILED": _request._LOAD_FAILED,
    }
    assert _enum(text, "LIBSESSION_STORE_STATUS_") == {
        "OK": _request._STORE_OK,
        "FAILED": _request._STORE_FAILED,
        "EXISTS": _request._STORE_EXISTS,
        "CONFLICT": _request._STORE_CONFLICT,
    }
    assert _enum(text, "LIBSESSION_UNSET_") == {"KEEP": 0, "DESTROY": 1}
    assert _enum(text, "LIBSESSION_TRISTATE_") == {"UNSET": 0, "FALSE": 1, "TRUE": 2}
    assert _enum(text, "LIBSESSION_SECURE_") == {"NEVER": 0, "ALWAYS": 1, "AUTO": 2}
    assert _enum(text, "LIBSESSION_SAME_SITE_") == {"OFF": 0, "TRUE": 1, "LAX": 2, "STRICT": 3, "NONE": 4, "AUTO": 5}
    assert _enum(text, "LIBSESSION_PRIORITY_") == {"NONE": 0, "LOW": 1, "MEDIUM": 2, "HIGH": 3}


def test_version_matches_the_header():
    text = HEADER.read_text(encoding="utf-8")
    major = int(re.search(r"#define LIBSESSION_VERSION_MAJOR (\d+)", text).group(1))
    minor = int(re.search(r"#define LIBSESSION_VERSION_MINOR (\d+)", text).group(1))
    patch = int(re.search(r"#define LIBSESSION_VERSION_PATCH (\d+)", text).group(1))
    number = int(re.search(r"#define LIBSESSION_VERSION_NUMBER (\d+)", text).group(1))
    assert (major, minor) == _lib.EXPECTED_VERSION
    assert number == major * 1_000_000 + minor * 1000 + patch
    assert _lib.LIB.libsession_version_number() == number
    assert ls.library_version() == f"{major}.{minor}.{patch}"
