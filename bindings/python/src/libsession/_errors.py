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


def _result_codes() -> dict[str, int]:
    """Every ``libsession_result`` the library defines, by name
    (``libsession_result_name``): the codes are numbered in groups of a
    hundred (see ``libsession.h``), and a name is NULL for no code."""
    out: dict[str, int] = {}
    for code in range(0, 1000):
        name = LIB.libsession_result_name(code)
        if name is not None:
            out[name.decode("ascii")] = code
    return out


#: ``libsession_result``: the C result codes, as the loaded library names them.
Result = enum.IntEnum("Result", _result_codes(), module=__name__)
Result.__doc__ = "``libsession_result``: the C result codes (names and values from the library)."


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


# Which exception class each condition raises: the binding's choice. Misuse
# is the library's verdict (``libsession_result_is_misuse``), and the
# configuration group is the codes 200-299 (``libsession.h``).
_CLASSES: dict[str, type[LibsessionError]] = {
    "PANIC": PanicError,
    "INVALID_UTF8": InvalidValueError,
    "INVALID_JSON": InvalidValueError,
    "INSUFFICIENT_ENTROPY": EntropyError,
    "ENTROPY_UNAVAILABLE": EntropyError,
    "NO_SESSION": NoSessionError,
    "RESERVED_KEY": ReservedKeyError,
    "IDS_EXHAUSTED": IdsExhaustedError,
    "UNKNOWN_COOKIE_ATTRIBUTE": InvalidValueError,
    "INVALID_COOKIE_VALUE": InvalidValueError,
}
_BY_CODE: dict[int, type[LibsessionError]] = {Result[name]: cls for name, cls in _CLASSES.items() if name in Result.__members__}


def _class_for(code: int) -> type[LibsessionError]:
    cls = _BY_CODE.get(code)
    if cls is not None:
        return cls
    if LIB.libsession_result_is_misuse(code):
        return MisuseError
    if 200 <= code < 300:
        return ConfigError
    return LibsessionError


def error_for(code: int, message: str | None = None) -> LibsessionError:
    """The exception for a non-zero result code."""
    return _class_for(code)(code, message)
