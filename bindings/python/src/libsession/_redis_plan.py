"""connect-redis's command plan, from the library (``libsession_redis_options``,
``libsession_request_redis_command``): which Redis command a store sends for
each store action, with which key, value and TTL. Nothing of the rules is
ported here: ``RedisOptions`` holds the library's options handle, and
``Request.redis_command(options)`` asks the library for the command."""

from __future__ import annotations

import ctypes
import enum
import json
from collections.abc import Mapping
from ctypes import byref, string_at
from dataclasses import dataclass
from typing import Any

from ._errors import ConfigError, Result, error_for
from ._handle import OwnedHandle
from ._lib import LIB, LibsessionStr

__all__ = ["RedisOp", "RedisCommand", "RedisOptions"]

_new = LIB.libsession_redis_options_new
_check = LIB.libsession_redis_options_check
_free = LIB.libsession_redis_options_free
_prefix = LIB.libsession_redis_options_prefix


class RedisOp(enum.IntEnum):
    """``libsession_redis_op``: the command to send."""

    #: ``GET key``: a nil or empty reply is "not found".
    GET = 0
    #: ``SET key value EX ttl`` (``SET key value`` when ``ttl`` is None).
    SET = 1
    #: ``EXPIRE key ttl`` (a TTL <= 0 makes Redis delete the key).
    EXPIRE = 2
    #: ``DEL key``.
    DEL = 3
    #: Nothing to send (a touch under ``disableTouch``/``disableTTL``).
    NONE = 4
    #: ``versioned``: ``EVAL script 1 key expected_version ttl [value]``, the
    #: atomic compare-and-set of a save (with ``value``) or touch; the reply
    #: is 1 (written) or 0 (a conflict: another version, or no record).
    EVAL = 5


@dataclass(frozen=True)
class RedisCommand:
    """One command of the plan: ``op``, ``key`` (``prefix + sid``; ``None``
    for ``NONE``), ``value`` (the record's UTF-8 bytes for ``SET``) and
    ``ttl`` (seconds: the ``EX`` of ``SET``, the argument of ``EXPIRE``;
    ``None`` for a ``SET`` without expiry and the other commands). ``nx``:
    append ``NX`` to the ``SET`` (a new session's ID: insert-if-absent; a
    nil reply means the key exists). For ``EVAL``: ``script`` (the Lua
    text) and ``expected_version``."""

    op: RedisOp
    key: bytes | None
    value: bytes | None
    ttl: int | None
    nx: bool = False
    script: bytes | None = None
    expected_version: int = 0

    def args(self) -> list[bytes | str | int]:
        """The command's arguments, as a Redis client's ``execute_command``
        takes them (empty for ``NONE``)."""
        if self.op is RedisOp.NONE or self.key is None:
            return []
        if self.op is RedisOp.EVAL:
            out: list[bytes | str | int] = ["EVAL", self.script or b"", 1, self.key]
            out += [self.expected_version, self.ttl if self.ttl is not None else 0]
            return out + ([self.value] if self.value is not None else [])
        out = [self.op.name, self.key]
        if self.op is RedisOp.SET:
            out.append(self.value or b"")
            if self.ttl is not None:
                out += ["EX", self.ttl]
            if self.nx:
                out.append("NX")
        elif self.op is RedisOp.EXPIRE:
            out.append(self.ttl if self.ttl is not None else 0)
        return out

    def __repr__(self) -> str:  # the value is session data: not shown
        return f"RedisCommand(op={self.op.name}, key={self.key!r}, ttl={self.ttl})"


class RedisOptions(OwnedHandle):
    """connect-redis's options for the plan: ``prefix`` (default ``"sess:"``),
    ``ttl`` (seconds for sessions without expiry, default 86400; 0 means
    86400; negative: such sessions are deleted), ``disable_touch``,
    ``disable_ttl``. ``RedisOptions.from_connect_redis({...})`` reads
    connect-redis's own names (``prefix``, ``ttl``, ``disableTouch``,
    ``disableTTL``); any other (``serializer``, ``client``, ``scanCount``, a
    ``ttl`` that is not a number) is a ``ConfigError`` saying why. The
    library validates and keeps them; immutable."""

    _free_handle = staticmethod(lambda ptr: _free(ptr))  # looked up per call

    __slots__ = ("_ptr", "_options", "__weakref__")

    def __init__(
        self,
        *,
        prefix: str | None = None,
        ttl: int | None = None,
        disable_touch: bool = False,
        disable_ttl: bool = False,
    ) -> None:
        self._ptr: int | None = None
        options: dict[str, Any] = {}
        if prefix is not None:
            if not isinstance(prefix, str):
                raise TypeError(f"RedisOptions: prefix must be a str, not {type(prefix).__name__}")
            options["prefix"] = prefix
        if ttl is not None:
            if isinstance(ttl, bool) or not isinstance(ttl, int):
                raise TypeError(f"RedisOptions: ttl must be an int (seconds), not {type(ttl).__name__}")
            options["ttl"] = ttl
        for name, v in (("disableTouch", disable_touch), ("disableTTL", disable_ttl)):
            if not isinstance(v, bool):
                raise TypeError(f"RedisOptions: {name} must be a bool, not {type(v).__name__}")
            if v:
                options[name] = True
        self._open(options)

    @classmethod
    def from_connect_redis(cls, options: Mapping[str, Any] | str | bytes) -> RedisOptions:
        """Options from a connect-redis options object (a mapping or JSON text)."""
        self = cls.__new__(cls)
        self._ptr = None
        if isinstance(options, Mapping):
            try:
                parsed = dict(options)
                json.dumps(parsed, allow_nan=False)
            except (TypeError, ValueError) as e:
                raise ConfigError(Result.INVALID_OPTION, f"connect-redis options are not JSON ({e})") from None
        elif isinstance(options, (str, bytes, bytearray)):
            try:
                parsed = json.loads(options)
            except ValueError as e:
                raise ConfigError(Result.INVALID_OPTION, f"connect-redis options are not JSON ({e})") from None
        else:
            raise TypeError(f"connect-redis options must be a mapping or JSON text, not {type(options).__name__}")
        self._open(parsed)
        return self

    def _open(self, options: Any) -> None:
        text = json.dumps(options, allow_nan=False, ensure_ascii=False).encode("utf-8")
        out = ctypes.c_void_p()
        rc = _new(text, len(text), byref(out))
        if rc:
            message = ctypes.create_string_buffer(512)
            _check(text, len(text), message, len(message))
            raise error_for(rc, message.value.decode("utf-8", "replace") or None)
        self._ptr = out.value
        self._options = options

    def _handle(self) -> int:
        p = self._ptr
        if p is None:
            raise ValueError("the RedisOptions are closed")
        return p

    @property
    def prefix(self) -> str:
        """The key prefix (``libsession_redis_options_prefix``)."""
        s = LibsessionStr()
        rc = _prefix(self._handle(), byref(s))
        if rc:
            raise error_for(rc)
        return string_at(s.data, s.len).decode("utf-8") if s.len else ""

    def __repr__(self) -> str:
        return f"<libsession.RedisOptions {self._options!r}>" if self._ptr is not None else "<RedisOptions closed>"
