"""Result codes and the exceptions that carry them."""

from __future__ import annotations

import enum

from ._lib import LIB

__all__ = [
    "Result",
    "LibsessionError",
    "MisuseError",
    "NoSessionError",
    "ConfigError",
    "ReservedKeyError",
    "InvalidValueError",
    "IdsExhaustedError",
    "EntropyError",
    "PanicError",
    "StoreError",
    "error_for",
    "result_message",
]


class Result(enum.IntEnum):
    """``libsession_result``: the C result codes."""

    OK = 0
    NULL_PARAMETER = 1
    INVALID_PARAMETER = 2
    PANIC = 3
    UNEXPECTED_INPUT = 4
    WRONG_PHASE = 5
    REQUEST_FAILED = 6
    INVALID_UTF8 = 7
    INVALID_JSON = 8
    INSUFFICIENT_ENTROPY = 9
    ENTROPY_UNAVAILABLE = 10
    WRONG_ACTION = 11
    NO_SESSION = 100
    RESERVED_KEY = 101
    IDS_EXHAUSTED = 102
    UNKNOWN_COOKIE_ATTRIBUTE = 103
    INVALID_COOKIE_VALUE = 104
    NO_SECRET = 200
    EMPTY_SECRET = 201
    TOO_MANY_SECRETS = 202
    INVALID_NAME = 203
    INVALID_DOMAIN = 204
    INVALID_PATH = 205
    INVALID_SAME_SITE = 206
    INVALID_PRIORITY = 207
    INVALID_SECURE = 208
    INVALID_MAX_AGE = 209
    INVALID_UNSET = 210
    SAME_SITE_NONE_WITHOUT_SECURE = 211
    INVALID_OPTION = 212


_result_str = LIB.libsession_result_str


def result_message(code: int) -> str:
    """``libsession_result_str``: the library's static message for a code."""
    return _result_str(code).decode("utf-8", "replace")


class LibsessionError(Exception):
    """A libsession call failed. ``code`` is the C result code (``Result``
    when known), ``message`` the detail (the handle's last error, or the
    code's static message)."""

    def __init__(self, code: int, message: str | None = None) -> None:
        try:
            code = Result(code)
        except ValueError:
            pass
        self.code = code
        self.message = message if message else result_message(code)
        super().__init__(self.message)

    def __str__(self) -> str:
        name = self.code.name if isinstance(self.code, Result) else str(int(self.code))
        return f"{self.message} [{name}]"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={int(self.code)}, message={self.message!r})"


class MisuseError(LibsessionError):
    """The API was used wrongly (a call in the wrong order, an answer nobody
    asked for, a closed handle): a bug in the host. After ``WRONG_PHASE`` or
    ``UNEXPECTED_INPUT`` the request is failed for good (``REQUEST_FAILED``)."""


class NoSessionError(LibsessionError):
    """The operation needs a session and the request has none (out of the
    cookie path's scope, store unavailable, destroyed or unset). Not misuse."""


class ConfigError(LibsessionError, ValueError):
    """A configuration option was rejected."""


class ReservedKeyError(LibsessionError, ValueError):
    """The key is reserved by the session object (``cookie``, ``id``, method
    names, ``Object.prototype`` names)."""


class InvalidValueError(LibsessionError, ValueError):
    """A value the engine rejects (invalid UTF-8 or JSON, an unknown cookie
    attribute, a cookie value JavaScript would refuse)."""


class IdsExhaustedError(LibsessionError):
    """The session ID source is exhausted; the request is failed."""


class EntropyError(LibsessionError):
    """Too little entropy was given, or the operating system's source failed."""


class PanicError(LibsessionError):
    """The library panicked (a bug in libsession); the request is poisoned."""


class StoreError(Exception):
    """A handler operation (save, reload, destroy, regenerate) failed in the
    store; ``message`` is the engine's report (express-session's callback
    error)."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


_MISUSE = frozenset(
    {
        Result.NULL_PARAMETER,
        Result.INVALID_PARAMETER,
        Result.UNEXPECTED_INPUT,
        Result.WRONG_PHASE,
        Result.REQUEST_FAILED,
        Result.WRONG_ACTION,
    }
)
_CLASSES: dict[int, type[LibsessionError]] = {
    Result.PANIC: PanicError,
    Result.INVALID_UTF8: InvalidValueError,
    Result.INVALID_JSON: InvalidValueError,
    Result.INSUFFICIENT_ENTROPY: EntropyError,
    Result.ENTROPY_UNAVAILABLE: EntropyError,
    Result.NO_SESSION: NoSessionError,
    Result.RESERVED_KEY: ReservedKeyError,
    Result.IDS_EXHAUSTED: IdsExhaustedError,
    Result.UNKNOWN_COOKIE_ATTRIBUTE: InvalidValueError,
    Result.INVALID_COOKIE_VALUE: InvalidValueError,
}
for _code in _MISUSE:
    _CLASSES[_code] = MisuseError
for _code in range(200, 213):
    _CLASSES[_code] = ConfigError


def error_for(code: int, message: str | None = None) -> LibsessionError:
    """The exception for a non-zero result code."""
    cls = _CLASSES.get(code)
    if cls is None:
        cls = MisuseError if LIB.libsession_result_is_misuse(code) else LibsessionError
    return cls(code, message)
