"""Loading ``libsession.so`` and declaring every function of ``libsession.h``.

The library is looked for, in this order:

1. next to this package (``libsession/libsession.so``, a copy made when the
   package is distributed with its library);
2. the path in the environment variable ``LIBSESSION_LIBRARY``;
3. the cargo build outputs of the repository this package sits in
   (``target/release/libsession.so``, then ``target/debug/libsession.so``,
   under ``$CARGO_TARGET_DIR`` first when it is set).

A candidate that cannot be loaded, lacks a function, or reports a version
this package was not written for is skipped; when none works, ``ImportError``
lists every path tried and why each failed.

``SIGNATURES`` is the single table of bindings: name -> (restype, argtypes),
in header order. ``tests/test_header.py`` checks it against
``include/libsession.h``.
"""

from __future__ import annotations

import ctypes
import os
import sys
from ctypes import POINTER, c_bool, c_char_p, c_double, c_int64, c_size_t, c_uint32, c_uint64, c_void_p
from pathlib import Path

__all__ = [
    "LIB",
    "LIB_PATH",
    "SIGNATURES",
    "LibsessionStr",
    "LibsessionEvent",
    "LibsessionRedisCommand",
    "EXPECTED_VERSION",
    "library_candidates",
]

#: The library version this package is written against (``MAJOR.MINOR``
#: must match: there is no ABI stability promise before 1.0).
EXPECTED_VERSION = (0, 1)


class LibsessionStr(ctypes.Structure):
    """``libsession_str``: a borrowed ``(data, len)`` string; ``data`` NULL means absent."""

    _fields_ = [("data", c_void_p), ("len", c_size_t)]


class LibsessionEvent(ctypes.Structure):
    """``libsession_event``: one event of a request's session."""

    _fields_ = [("kind", c_uint32), ("key_index", c_uint32), ("operation", c_uint32)]
class LibsessionRedisCommand(ctypes.Structure):
    """``libsession_redis_command``: one Redis command of connect-redis's plan."""

    _fields_ = [
        ("op", c_uint32),
        ("key", LibsessionStr),
        ("value", LibsessionStr),
        ("has_ttl", c_bool),
        ("ttl_seconds", c_int64),
        ("nx", c_bool),
        ("script", LibsessionStr),
        ("expected_version", c_uint64),
    ]


_handle = c_void_p  # every opaque handle travels as a plain pointer
_handle_out = POINTER(c_void_p)  # `T **out`
_bytes_in = c_char_p  # `const uint8_t *` (Python bytes or None)
_str_out = POINTER(LibsessionStr)
_result = c_uint32  # `libsession_result` and the other enums: 32 bits

SIGNATURES: dict[str, tuple[object, list[object]]] = {
    # config builder
    "libsession_config_builder_new": (_result, [_handle_out]),
    "libsession_config_builder_new_express": (_result, [_handle_out]),
    "libsession_config_builder_new_from_express_options": (_result, [_bytes_in, c_size_t, _handle_out]),
    "libsession_config_builder_free": (None, [_handle]),
    "libsession_config_builder_build": (_result, [_handle, _handle_out]),
    "libsession_config_builder_last_error": (_result, [_handle, _str_out]),
    "libsession_config_builder_set_name": (_result, [_handle, _bytes_in, c_size_t]),
    "libsession_config_builder_add_secret": (_result, [_handle, _bytes_in, c_size_t]),
    "libsession_config_builder_set_resave": (_result, [_handle, c_bool]),
    "libsession_config_builder_set_save_uninitialized": (_result, [_handle, c_bool]),
    "libsession_config_builder_set_rolling": (_result, [_handle, c_bool]),
    "libsession_config_builder_set_unset": (_result, [_handle, c_uint32]),
    "libsession_config_builder_set_proxy": (_result, [_handle, c_uint32]),
    "libsession_config_builder_set_trust_proxy": (_result, [_handle, c_bool]),
    "libsession_config_builder_set_cookie_path": (_result, [_handle, _bytes_in, c_size_t]),
    "libsession_config_builder_set_cookie_domain": (_result, [_handle, _bytes_in, c_size_t]),
    "libsession_config_builder_set_http_only": (_result, [_handle, c_bool]),
    "libsession_config_builder_set_secure": (_result, [_handle, c_uint32]),
    "libsession_config_builder_set_max_age": (_result, [_handle, c_bool, c_int64]),
    "libsession_config_builder_set_same_site": (_result, [_handle, c_uint32]),
    "libsession_config_builder_set_partitioned": (_result, [_handle, c_uint32]),
    "libsession_config_builder_set_priority": (_result, [_handle, c_uint32]),
    "libsession_config_builder_set_cookie_limits": (_result, [_handle, c_size_t, c_size_t]),
    "libsession_config_builder_set_session_id_lengths": (_result, [_handle, c_size_t, c_size_t]),
    "libsession_config_builder_set_record_limits": (_result, [_handle, c_size_t, c_size_t, c_size_t]),
    "libsession_config_builder_set_express_compat": (_result, [_handle, c_bool]),
    "libsession_config_builder_set_absolute_timeout": (_result, [_handle, c_uint64]),
    "libsession_config_builder_set_idle_timeout": (_result, [_handle, c_uint64]),
    "libsession_config_builder_set_regenerate_grace": (_result, [_handle, c_uint64]),
    # config
    "libsession_config_free": (None, [_handle]),
    "libsession_config_name": (_result, [_handle, _str_out]),
    "libsession_config_max_age": (_result, [_handle, POINTER(c_int64), POINTER(c_bool)]),
    "libsession_config_unset": (_result, [_handle, POINTER(c_uint32)]),
    "libsession_config_express_compat": (_result, [_handle, POINTER(c_bool)]),
    # request: lifecycle and facts
    "libsession_request_new": (_result, [_handle, c_int64, _bytes_in, c_size_t, _handle_out]),
    "libsession_request_free": (None, [_handle]),
    "libsession_request_last_error": (_result, [_handle, _str_out]),
    "libsession_request_push_session_id": (_result, [_handle, _bytes_in, c_size_t]),
    "libsession_request_generated_id_count": (_result, [_handle, POINTER(c_uint64)]),
    "libsession_request_set_target": (_result, [_handle, _bytes_in, c_size_t]),
    "libsession_request_add_cookie_header": (_result, [_handle, _bytes_in, c_size_t]),
    "libsession_request_add_forwarded_proto": (_result, [_handle, _bytes_in, c_size_t]),
    "libsession_request_set_tls": (_result, [_handle, c_bool]),
    "libsession_request_poll_event": (_result, [_handle, POINTER(LibsessionEvent)]),
    "libsession_request_set_clear_stale_cookie": (_result, [_handle, c_bool]),
    "libsession_request_add_fingerprint_fact": (_result, [_handle, _bytes_in, c_size_t, _bytes_in, c_size_t]),
    "libsession_request_add_session_header": (_result, [_handle, _bytes_in, c_size_t]),
    "libsession_request_action_header_name": (_result, [_handle, _str_out]),
    "libsession_config_session_header": (_result, [_handle, _str_out]),
    "libsession_request_set_store_unavailable": (_result, [_handle, c_bool]),
    "libsession_request_set_now": (_result, [_handle, c_int64]),
    "libsession_request_set_store_kind": (_result, [_handle, c_uint32]),
    # request: the loop
    "libsession_request_poll_action": (_result, [_handle, POINTER(c_uint32)]),
    "libsession_request_action_id": (_result, [_handle, _str_out]),
    "libsession_request_action_record": (_result, [_handle, _str_out]),
    "libsession_request_action_value": (_result, [_handle, _str_out]),
    "libsession_request_action_expires_at": (_result, [_handle, POINTER(c_int64), POINTER(c_bool)]),
    "libsession_request_action_is_new": (_result, [_handle, POINTER(c_bool)]),
    "libsession_request_action_version": (_result, [_handle, POINTER(c_bool), POINTER(c_uint64), POINTER(c_uint64)]),
    "libsession_request_action_ttl_seconds": (_result, [_handle, c_int64, POINTER(c_int64)]),
    "libsession_request_handle_load_result": (_result, [_handle, c_uint32, _bytes_in, c_size_t]),
    "libsession_request_handle_store_result": (_result, [_handle, c_uint32, _bytes_in, c_size_t]),
    # request: the handler's session
    "libsession_request_session_json": (_result, [_handle, _str_out]),
    "libsession_request_max_age_json": (_result, [_handle, _str_out]),
    "libsession_request_data_json": (_result, [_handle, _str_out]),
    "libsession_request_get_json": (_result, [_handle, _bytes_in, c_size_t, _str_out]),
    "libsession_request_set_json": (_result, [_handle, _bytes_in, c_size_t, _bytes_in, c_size_t]),
    "libsession_request_delete": (_result, [_handle, _bytes_in, c_size_t]),
    "libsession_request_increment": (_result, [_handle, _bytes_in, c_size_t, POINTER(c_double)]),
    "libsession_request_touch": (_result, [_handle]),
    "libsession_request_set_max_age": (_result, [_handle, c_bool, c_int64]),
    "libsession_request_set_expires": (_result, [_handle, c_bool, c_int64]),
    "libsession_request_set_cookie_attr": (_result, [_handle, c_uint32, _bytes_in, c_size_t]),
    "libsession_request_set_cookie_attr_by_name": (_result, [_handle, _bytes_in, c_size_t, _bytes_in, c_size_t]),
    "libsession_request_save": (_result, [_handle]),
    "libsession_request_reload": (_result, [_handle]),
    "libsession_request_destroy": (_result, [_handle]),
    "libsession_request_regenerate": (_result, [_handle]),
    "libsession_request_regenerate_with": (_result, [_handle, c_bool]),
    "libsession_request_unset": (_result, [_handle]),
    "libsession_request_finish": (_result, [_handle]),
    "libsession_request_session_id": (_result, [_handle, _str_out]),
    "libsession_request_cookie_session_id": (_result, [_handle, _str_out]),
    "libsession_request_has_session": (_result, [_handle, POINTER(c_bool)]),
    "libsession_request_max_age": (_result, [_handle, POINTER(c_int64), POINTER(c_bool)]),
    "libsession_request_is_secure": (_result, [_handle, POINTER(c_bool)]),
    # stored records (the one load path)
    "libsession_request_take_stored_record": (_result, [_handle, _handle_out]),
    "libsession_request_handle_load_stored": (_result, [_handle, _handle]),
    "libsession_stored_record_from_text": (_result, [_bytes_in, c_size_t, _handle_out]),
    "libsession_stored_record_text": (_result, [_handle, _str_out]),
    "libsession_stored_record_apply_touch": (_result, [_handle, _handle]),
    "libsession_stored_record_free": (None, [_handle]),
    # the library's rules and defaults, for hosts
    "libsession_default_cookie_limits": (_result, [POINTER(c_size_t), POINTER(c_size_t)]),
    "libsession_default_record_limits": (_result, [POINTER(c_size_t), POINTER(c_size_t), POINTER(c_size_t)]),
    "libsession_record_memory_store_expiry": (_result, [_bytes_in, c_size_t, POINTER(c_int64), POINTER(c_bool)]),
    "libsession_connect_redis_default_prefix": (LibsessionStr, []),
    # connect-redis's command plan
    "libsession_redis_options_new": (_result, [_bytes_in, c_size_t, _handle_out]),
    "libsession_redis_options_check": (_result, [_bytes_in, c_size_t, c_char_p, c_size_t]),
    "libsession_redis_options_free": (None, [_handle]),
    "libsession_redis_options_prefix": (_result, [_handle, _str_out]),
    "libsession_request_redis_command": (_result, [_handle, _handle, POINTER(LibsessionRedisCommand)]),
    # results and version
    "libsession_result_str": (c_char_p, [c_uint32]),
    "libsession_result_name": (c_char_p, [c_uint32]),
    "libsession_result_is_misuse": (c_bool, [c_uint32]),
    "libsession_version_number": (_result, []),
    "libsession_version": (LibsessionStr, []),
}

_LIB_NAME = "libsession.dylib" if sys.platform == "darwin" else "libsession.so"


def _repo_roots(start: Path) -> list[Path]:
    """Every ancestor of ``start`` that holds a ``Cargo.toml`` (nearest first)."""
    return [p for p in [start, *start.parents] if (p / "Cargo.toml").is_file()]


def library_candidates() -> list[tuple[str, Path | None]]:
    """The paths tried, in order, each with where it comes from."""
    here = Path(__file__).resolve().parent
    out: list[tuple[str, Path | None]] = [("next to the package", here / _LIB_NAME)]
    env = os.environ.get("LIBSESSION_LIBRARY")
    if env:
        out.append(("LIBSESSION_LIBRARY", Path(env)))
    target_dirs: list[Path] = []
    cargo_target = os.environ.get("CARGO_TARGET_DIR")
    if cargo_target:
        target_dirs.append(Path(cargo_target))
    for root in _repo_roots(here):
        target_dirs.append(root / "target")
    for target in target_dirs:
        for profile in ("release", "debug"):
            out.append((f"cargo {profile} build", target / profile / _LIB_NAME))
    return out


def _declare(lib: ctypes.CDLL) -> None:
    for name, (restype, argtypes) in SIGNATURES.items():
        fn = getattr(lib, name)  # AttributeError if the library lacks it
        fn.restype = restype
        fn.argtypes = argtypes


def _load() -> tuple[ctypes.CDLL, Path]:
    tried: list[str] = []
    candidates = library_candidates()
    if not os.environ.get("LIBSESSION_LIBRARY"):
        candidates.insert(1, ("LIBSESSION_LIBRARY", None))
    for origin, path in candidates:
        if path is None:
            tried.append("  (LIBSESSION_LIBRARY: not set)")
            continue
        if not path.is_file():
            tried.append(f"  {path} ({origin}): no such file")
            continue
        try:
            lib = ctypes.CDLL(str(path))
            _declare(lib)
        except (OSError, AttributeError) as e:
            tried.append(f"  {path} ({origin}): {e}")
            continue
        number = lib.libsession_version_number()
        major, minor = number // 1_000_000, number // 1000 % 1000
        if (major, minor) != EXPECTED_VERSION:
            tried.append(
                f"  {path} ({origin}): library version {major}.{minor}.{number % 1000}, "
                f"this package needs {EXPECTED_VERSION[0]}.{EXPECTED_VERSION[1]}.x"
            )
            continue
        return lib, path
    if not any(origin.startswith("cargo") for origin, _ in candidates):
        tried.append(f"  (no Cargo.toml above {Path(__file__).resolve().parent}: no cargo build output to try)")
    raise ImportError(
        "libsession: cannot load the shared library. Build it with `cargo build --release -p libsession-capi` "
        "in the repository, or set LIBSESSION_LIBRARY to its path. Tried:\n" + "\n".join(tried)
    )


LIB, LIB_PATH = _load()
