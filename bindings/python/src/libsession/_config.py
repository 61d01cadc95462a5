"""``Config``: an immutable, validated configuration shared by requests."""

from __future__ import annotations

import ctypes
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

from ._errors import MisuseError, Result, error_for
from ._handle import OwnedHandle
from ._text import text_or_bytes, utf8
from ._lib import LIB, LibsessionStr

__all__ = [
    "Config",
    "default_cookie_limits",
    "default_record_limits",
    "DEFAULT_COOKIE_MAX_HEADER_BYTES",
    "DEFAULT_COOKIE_MAX_PAIRS",
    "DEFAULT_RECORD_MAX_BYTES",
    "DEFAULT_RECORD_MAX_KEYS",
    "DEFAULT_RECORD_MAX_DEPTH",
]

_UNSET: Any = object()  # "keyword not given": distinct from an explicit None

_L = LIB
_builder_new = _L.libsession_config_builder_new
_builder_new_express = _L.libsession_config_builder_new_express
_builder_new_from_express = _L.libsession_config_builder_new_from_express_options
_builder_free = _L.libsession_config_builder_free
_builder_build = _L.libsession_config_builder_build
_builder_last_error = _L.libsession_config_builder_last_error
_config_free = _L.libsession_config_free



def default_cookie_limits() -> tuple[int, int]:
    """The library's Cookie-header limits (``libsession_default_cookie_limits``):
    ``(max_header_bytes, max_pairs)``, what a config has unless
    ``cookie_max_header_bytes``/``cookie_max_pairs`` change them."""
    max_bytes, max_pairs = ctypes.c_size_t(), ctypes.c_size_t()
    rc = _L.libsession_default_cookie_limits(ctypes.byref(max_bytes), ctypes.byref(max_pairs))
    if rc:
        raise error_for(rc)
    return max_bytes.value, max_pairs.value


#: The library's defaults (``default_cookie_limits()``), read when the package loads.
DEFAULT_COOKIE_MAX_HEADER_BYTES, DEFAULT_COOKIE_MAX_PAIRS = default_cookie_limits()


def default_record_limits() -> tuple[int, int, int]:
    """The library's store-record limits (``libsession_default_record_limits``):
    ``(max_bytes, max_keys, max_depth)``, what a config has unless
    ``record_max_bytes``/``record_max_keys``/``record_max_depth`` change them."""
    out = (ctypes.c_size_t(), ctypes.c_size_t(), ctypes.c_size_t())
    rc = _L.libsession_default_record_limits(*(ctypes.byref(v) for v in out))
    if rc:
        raise error_for(rc)
    return out[0].value, out[1].value, out[2].value


#: The library's defaults (``default_record_limits()``), read when the package loads.
DEFAULT_RECORD_MAX_BYTES, DEFAULT_RECORD_MAX_KEYS, DEFAULT_RECORD_MAX_DEPTH = default_record_limits()

_UNSET_VALUES = {"keep": 0, "destroy": 1}
_SECURE_VALUES = {False: 0, True: 1, "auto": 2}
_SAME_SITE_VALUES = {"lax": 2, "strict": 3, "none": 4, "auto": 5}
_PRIORITY_VALUES = {None: 0, "low": 1, "medium": 2, "high": 3}


def _need_bool(name: str, v: object) -> bool:
    if not isinstance(v, bool):
        raise TypeError(f"Config: {name} must be a bool, not {type(v).__name__}")
    return v


def _need_str(name: str, v: object) -> bytes:
    return utf8(v, f"Config: {name}")


def _secret_bytes(name: str, v: object) -> bytes:
    return text_or_bytes(v, f"Config: {name}")


def _need_uint(name: str, v: object) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"Config: {name} must be an int, not {type(v).__name__}")
    if v < 0 or v > 2**64 - 1:
        raise ValueError(f"Config: {name} must be between 0 and 2**64-1, got {v}")
    return v


def _tristate(name: str, v: object) -> int:
    if v is None:
        return 0
    return 2 if _need_bool(name, v) else 1


class Config(OwnedHandle):
    """An immutable, validated libsession configuration.

    Build it from keyword arguments (every option of the C config builder);
    options not given keep the builder's defaults. The default builder is the
    secure one (``resave`` and ``save_uninitialized`` off, ``HttpOnly``,
    ``SameSite=Lax``, ``secure='auto'``, no ``max_age``, path ``/``, name
    ``connect.sid``, strict validation); ``express_defaults=True`` starts
    from express-session 1.19.0's own defaults in express compatibility mode.

    Keyword arguments:

    * ``secret``: ``str`` or ``bytes``; or ``secrets``: a list of them, newest
      first (the first signs, all verify). Strict mode: at most 8, each at
      least 32 bytes; an empty secret is refused in every mode.
    * ``name`` (``str``), ``resave``, ``save_uninitialized``, ``rolling``
      (``bool``), ``unset`` (``'keep'`` or ``'destroy'``).
    * ``proxy``: ``None`` (defer to ``trust_proxy``), ``True``, ``False``;
      ``trust_proxy`` (``bool``): whether the peer is a trusted proxy.
    * ``cookie_path`` (``str``), ``cookie_domain`` (``str`` or ``None``),
      ``http_only`` (``bool``), ``secure`` (``True``, ``False``, ``'auto'``),
      ``max_age`` (milliseconds, or ``None`` for a browser-session cookie),
      ``same_site`` (``False``, ``True``, ``'lax'``, ``'strict'``, ``'none'``,
      ``'auto'``), ``partitioned`` (``None`` or ``bool``), ``priority``
      (``None``, ``'low'``, ``'medium'``, ``'high'``).
    * ``cookie_max_header_bytes``, ``cookie_max_pairs`` (``int``): bounds of
      Cookie header parsing (one alone keeps the library's default for the
      other: ``default_cookie_limits()``).
    * ``record_max_bytes``, ``record_max_keys``, ``record_max_depth``
      (``int``, at least 1): bounds of reading store records (size, keys per
      object, nesting; defaults ``default_record_limits()``: 1 MiB, 16384,
      512); a record beyond one is corrupt (the ``record_corrupt`` event and
      a failed load). One alone keeps the defaults for the others. JSON
      (``from_express_options``): ``"recordLimits": {"maxBytes", "maxKeys",
      "maxDepth"}``.
    * ``session_id_lengths``: ``(min, max)``, or ``None`` to accept any ID:
      strict mode looks up only cookies whose session ID is base64url of a
      length in that range (default ``(32, 64)``).
    * ``express_compat`` (``bool``): express compatibility mode.
    * ``absolute_timeout``, ``idle_timeout``, ``regenerate_grace``
      (milliseconds, or ``None``/``0`` for off, the default): a session ends
      that long after it began / after its last request; after a
      ``regenerate`` the old ID still loads, read-only, that long
      (``docs/options.md``).

    Wrong types raise ``TypeError``, unknown keywords or values
    ``ValueError``, before anything reaches the library; values the library
    rejects raise ``ConfigError`` (a ``ValueError``) with the C result code.

    A config is freed by ``close()``, by leaving a ``with`` block, or when it
    is garbage-collected. Requests hold their own reference to the C config,
    so closing a config while its requests are alive is safe.
    """

    _free_handle = staticmethod(lambda ptr: _config_free(ptr))  # looked up per call

    __slots__ = ("_ptr", "__weakref__")

    def __init__(
        self,
        *,
        secret: str | bytes = _UNSET,
        secrets: Iterable[str | bytes] = _UNSET,
        name: str = _UNSET,
        resave: bool = _UNSET,
        save_uninitialized: bool = _UNSET,
        rolling: bool = _UNSET,
        unset: str = _UNSET,
        proxy: bool | None = _UNSET,
        trust_proxy: bool = _UNSET,
        cookie_path: str = _UNSET,
        cookie_domain: str | None = _UNSET,
        http_only: bool = _UNSET,
        secure: bool | str = _UNSET,
        max_age: float | None = _UNSET,
        same_site: bool | str = _UNSET,
        partitioned: bool | None = _UNSET,
        priority: str | None = _UNSET,
        cookie_max_header_bytes: int = _UNSET,
        cookie_max_pairs: int = _UNSET,
        session_id_lengths: tuple[int, int] | None = _UNSET,
        record_max_bytes: int = _UNSET,
        record_max_keys: int = _UNSET,
        record_max_depth: int = _UNSET,
        express_compat: bool = _UNSET,
        absolute_timeout: int | None = _UNSET,
        idle_timeout: int | None = _UNSET,
        regenerate_grace: int | None = _UNSET,
        express_defaults: bool = False,
    ) -> None:
        self._ptr: int | None = None
        options = {k: v for k, v in locals().items() if v is not _UNSET and k not in ("self", "express_defaults")}
        steps = _compile(options)  # every Python-side check, before any C call
        _need_bool("express_defaults", express_defaults)
        builder = ctypes.c_void_p()
        rc = (_builder_new_express if express_defaults else _builder_new)(ctypes.byref(builder))
        if rc:
            raise error_for(rc)
        self._ptr = _build(builder, steps)

    @classmethod
    def from_express_options(cls, options: Mapping[str, Any] | str | bytes, **overrides: Any) -> Config:
        """A config from an express-session options object, given as a mapping
        or as JSON text (``name``, ``secret`` (a string or a list for
        rotation), ``resave``, ``saveUninitialized``, ``rolling``, ``unset``,
        ``proxy``, ``app_trust_proxy``, ``cookie``), so a Python host can share
        one configuration file with a Node app. Absent options take
        express-session's defaults, in express compatibility mode. Keyword
        ``overrides`` (as for ``Config()``) are applied afterwards."""
        if isinstance(options, Mapping):
            try:
                text = json.dumps(dict(options), allow_nan=False, ensure_ascii=False).encode("utf-8")
            except (TypeError, ValueError) as e:
                raise TypeError(f"Config.from_express_options: options are not JSON-serializable ({e})") from None
        elif isinstance(options, str):
            text = options.encode("utf-8", "surrogatepass")
        elif isinstance(options, (bytes, bytearray, memoryview)):
            text = bytes(options)
        else:
            raise TypeError(
                f"Config.from_express_options: options must be a mapping, str or bytes, not {type(options).__name__}"
            )
        steps = _compile(overrides)
        builder = ctypes.c_void_p()
        rc = _builder_new_from_express(text, len(text), ctypes.byref(builder))
        if rc:
            raise error_for(rc)
        self = cls.__new__(cls)
        self._ptr = None
        self._ptr = _build(builder, steps)
        return self

    # -- lifetime --------------------------------------------------------

    def _handle(self) -> int:
        ptr = self._ptr
        if ptr is None:
            raise MisuseError(Result.NULL_PARAMETER, "the config is closed")
        return ptr

    # -- read-only views -------------------------------------------------
    @property
    def name(self) -> str:
        """The session cookie's name."""
        s = LibsessionStr()
        _getter(LIB.libsession_config_name(self._handle(), ctypes.byref(s)))
        return ctypes.string_at(s.data, s.len).decode("utf-8")

    @property
    def session_header(self) -> str | None:
        """The ``header`` option's header name (e.g. ``X-Session-Id``), or
        ``None``: the request header a host passes as ``session_header=``
        and the response header of ``SetHeader`` actions."""
        s = LibsessionStr()
        _getter(LIB.libsession_config_session_header(self._handle(), ctypes.byref(s)))
        return ctypes.string_at(s.data, s.len).decode("utf-8") if s.data else None

    @property
    def max_age(self) -> int | None:
        """The configured ``maxAge`` in milliseconds, or ``None``."""
        out, has = ctypes.c_int64(), ctypes.c_bool()
        _getter(LIB.libsession_config_max_age(self._handle(), ctypes.byref(out), ctypes.byref(has)))
        return out.value if has.value else None

    @property
    def unset(self) -> str:
        """``'keep'`` or ``'destroy'``."""
        out = ctypes.c_uint32()
        _getter(LIB.libsession_config_unset(self._handle(), ctypes.byref(out)))
        return "destroy" if out.value == 1 else "keep"

    @property
    def express_compat(self) -> bool:
        """Whether the config runs in express compatibility mode."""
        out = ctypes.c_bool()
        _getter(LIB.libsession_config_express_compat(self._handle(), ctypes.byref(out)))
        return bool(out.value)

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<libsession.Config closed>"
        return f"<libsession.Config name={self.name!r} max_age={self.max_age!r} unset={self.unset!r}>"


def _compile(o: dict[str, Any]) -> list[tuple[str, Any, tuple]]:
    """Checks the keyword options and turns them into builder calls
    ``(option, function, args)``; raises before anything reaches C."""
    steps: list[tuple[str, Any, tuple]] = []
    L = LIB
    if "secret" in o and "secrets" in o:
        raise ValueError("Config: give either secret= or secrets=, not both")
    if "secret" in o:
        steps.append(("secret", L.libsession_config_builder_add_secret, (_secret_bytes("secret", o.pop("secret")),)))
    if "secrets" in o:
        items = o.pop("secrets")
        if isinstance(items, (str, bytes, bytearray, memoryview)) or not isinstance(items, Iterable):
            raise TypeError("Config: secrets must be a list of str or bytes (newest first)")
        items = list(items)
        if not items:
            raise ValueError("Config: secrets must not be empty")
        for i, s in enumerate(items):
            steps.append(("secrets", L.libsession_config_builder_add_secret, (_secret_bytes(f"secrets[{i}]", s),)))
    if "name" in o:
        steps.append(("name", L.libsession_config_builder_set_name, (_need_str("name", o.pop("name")),)))
    for key, fn in (
        ("resave", L.libsession_config_builder_set_resave),
        ("save_uninitialized", L.libsession_config_builder_set_save_uninitialized),
        ("rolling", L.libsession_config_builder_set_rolling),
        ("trust_proxy", L.libsession_config_builder_set_trust_proxy),
        ("http_only", L.libsession_config_builder_set_http_only),
        ("express_compat", L.libsession_config_builder_set_express_compat),
    ):
        if key in o:
            steps.append((key, fn, (_need_bool(key, o.pop(key)),)))
    if "unset" in o:
        v = o.pop("unset")
        if not isinstance(v, str):
            raise TypeError(f"Config: unset must be 'keep' or 'destroy', not {type(v).__name__}")
        if v not in _UNSET_VALUES:
            raise ValueError(f"Config: unset must be 'keep' or 'destroy', not {v!r}")
        steps.append(("unset", L.libsession_config_builder_set_unset, (_UNSET_VALUES[v],)))
    if "proxy" in o:
        steps.append(("proxy", L.libsession_config_builder_set_proxy, (_tristate("proxy", o.pop("proxy")),)))
    if "partitioned" in o:
        v = _tristate("partitioned", o.pop("partitioned"))
        steps.append(("partitioned", L.libsession_config_builder_set_partitioned, (v,)))
    if "cookie_path" in o:
        v = _need_str("cookie_path", o.pop("cookie_path"))
        steps.append(("cookie_path", L.libsession_config_builder_set_cookie_path, (v,)))
    if "cookie_domain" in o:
        v = o.pop("cookie_domain")
        v = None if v is None else _need_str("cookie_domain", v)
        steps.append(("cookie_domain", L.libsession_config_builder_set_cookie_domain, (v,)))
    if "secure" in o:
        v = o.pop("secure")
        if not (isinstance(v, bool) or isinstance(v, str)):
            raise TypeError(f"Config: secure must be True, False or 'auto', not {type(v).__name__}")
        if v not in _SECURE_VALUES:
            raise ValueError(f"Config: secure must be True, False or 'auto', not {v!r}")
        steps.append(("secure", L.libsession_config_builder_set_secure, (_SECURE_VALUES[v],)))
    if "max_age" in o:
        v = o.pop("max_age")
        if v is None:
            steps.append(("max_age", L.libsession_config_builder_set_max_age, (False, 0)))
        else:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise TypeError(f"Config: max_age must be a number of milliseconds or None, not {type(v).__name__}")
            f = float(v)
            if not math.isfinite(f):
                raise ValueError(f"Config: max_age must be finite, got {v!r}")
            if not f.is_integer() or not -(2**63) <= v < 2**63:
                # The C API takes int64_t milliseconds; a fractional maxAge
                # still goes through Config.from_express_options.
                raise ValueError(f"Config: max_age must be a whole number of milliseconds, got {v!r}")
            steps.append(("max_age", L.libsession_config_builder_set_max_age, (True, int(v))))
    if "same_site" in o:
        v = o.pop("same_site")
        if isinstance(v, bool):
            code = 1 if v else 0
        elif isinstance(v, str):
            if v not in _SAME_SITE_VALUES:
                raise ValueError(f"Config: same_site must be False, True, 'lax', 'strict', 'none' or 'auto', not {v!r}")
            code = _SAME_SITE_VALUES[v]
        else:
            raise TypeError(f"Config: same_site must be a bool or a str, not {type(v).__name__}")
        steps.append(("same_site", L.libsession_config_builder_set_same_site, (code,)))
    if "priority" in o:
        v = o.pop("priority")
        if v is not None and not isinstance(v, str):
            raise TypeError(f"Config: priority must be None, 'low', 'medium' or 'high', not {type(v).__name__}")
        key = v.lower() if isinstance(v, str) else None
        if key not in _PRIORITY_VALUES:
            raise ValueError(f"Config: priority must be None, 'low', 'medium' or 'high', not {v!r}")
        steps.append(("priority", L.libsession_config_builder_set_priority, (_PRIORITY_VALUES[key],)))
    if "cookie_max_header_bytes" in o or "cookie_max_pairs" in o:
        b = _need_uint("cookie_max_header_bytes", o.pop("cookie_max_header_bytes", DEFAULT_COOKIE_MAX_HEADER_BYTES))
        p = _need_uint("cookie_max_pairs", o.pop("cookie_max_pairs", DEFAULT_COOKIE_MAX_PAIRS))
        steps.append(("cookie limits", L.libsession_config_builder_set_cookie_limits, (b, p)))
    if "record_max_bytes" in o or "record_max_keys" in o or "record_max_depth" in o:
        limits = []
        for key, default in (
            ("record_max_bytes", DEFAULT_RECORD_MAX_BYTES),
            ("record_max_keys", DEFAULT_RECORD_MAX_KEYS),
            ("record_max_depth", DEFAULT_RECORD_MAX_DEPTH),
        ):
            v = _need_uint(key, o.pop(key, default))
            if v == 0:
                raise ValueError(f"Config: {key} must be at least 1")
            limits.append(v)
        steps.append(("record limits", L.libsession_config_builder_set_record_limits, tuple(limits)))
    if "session_id_lengths" in o:
        v = o.pop("session_id_lengths")
        if v is None:
            lo, hi = 0, 0
        elif isinstance(v, tuple) and len(v) == 2:
            lo, hi = _need_uint("session_id_lengths", v[0]), _need_uint("session_id_lengths", v[1])
            if lo > hi or hi == 0:
                raise ValueError(f"Config: session_id_lengths must be (min, max) with 0 < max and min <= max, not {v!r}")
        else:
            raise TypeError(f"Config: session_id_lengths must be None or a (min, max) tuple, not {type(v).__name__}")
        steps.append(("session_id_lengths", L.libsession_config_builder_set_session_id_lengths, (lo, hi)))
    for key, fn in (
        ("absolute_timeout", L.libsession_config_builder_set_absolute_timeout),
        ("idle_timeout", L.libsession_config_builder_set_idle_timeout),
        ("regenerate_grace", L.libsession_config_builder_set_regenerate_grace),
    ):
        if key in o:
            v = o.pop(key)
            steps.append((key, fn, (0 if v is None else _need_uint(key, v),)))
    if o:
        raise TypeError(f"Config: unknown option(s) {', '.join(sorted(o))}")
    return steps


def _getter(rc: int) -> None:
    """Raises for a config getter's non-zero result (a closed config is caught earlier)."""
    if rc:
        raise error_for(rc)


def _build(builder: ctypes.c_void_p, steps: list[tuple[str, Any, tuple]]) -> int:
    """Applies the steps to a fresh builder and builds it (the builder is
    consumed or freed whatever happens)."""
    ptr = builder.value
    try:
        for option, fn, args in steps:
            if args and isinstance(args[0], bytes):
                rc = fn(ptr, args[0], len(args[0]))
            elif args and args[0] is None:  # cookie_domain=None: remove the attribute
                rc = fn(ptr, None, 0)
            else:
                rc = fn(ptr, *args)
            if rc:
                s = LibsessionStr()
                detail = ""
                if _builder_last_error(ptr, ctypes.byref(s)) == 0 and s.data:
                    detail = ctypes.string_at(s.data, s.len).decode("utf-8", "replace")
                raise error_for(rc, f"{option}: {detail}" if detail else None)
    except BaseException:
        _builder_free(ptr)
        raise
    config = ctypes.c_void_p()
    rc = _builder_build(ptr, ctypes.byref(config))  # consumes the builder
    if rc:
        raise error_for(rc)
    return config.value
