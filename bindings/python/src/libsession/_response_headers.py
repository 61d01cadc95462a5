"""The response headers a request's session asks for, collected the same way
by every host (WSGI, ASGI, Flask): ``Set-Cookie`` values, and with the
``header`` option the session header (one per response, the last wins)."""

from __future__ import annotations

from collections.abc import Callable

from . import _actions as A
from ._config import Config

__all__ = ["ResponseHeaders", "wsgi_environ_key", "HEADER_ACTIONS"]

#: The actions that add a response header.
HEADER_ACTIONS = (A.SetCookie, A.SetHeader)


class ResponseHeaders:
    """``(name, value)`` pairs for the response, in the engine's order."""

    __slots__ = ("_pairs",)

    def __init__(self) -> None:
        self._pairs: list[tuple[str, str]] = []

    def add(self, act: A.Action) -> bool:
        """Takes ``act`` if it is a ``SetCookie`` or ``SetHeader``; says whether it was."""
        cls = type(act)
        if cls is A.SetCookie:
            self._pairs.append(("Set-Cookie", act.value))
            return True
        if cls is A.SetHeader:
            lower = act.name.lower()
            self._pairs = [(n, v) for n, v in self._pairs if n.lower() != lower]
            self._pairs.append((act.name, act.value))
            return True
        return False

    def clear(self) -> None:
        """Drops them all (a save that lost a race: no cookie for it)."""
        self._pairs.clear()

    def pairs(self) -> list[tuple[str, str]]:
        return list(self._pairs)

    def latin1_pairs(self, lower: Callable[[str], str] = str.lower) -> list[tuple[bytes, bytes]]:
        """ASGI's form: lowercase names, Latin-1 bytes."""
        return [(lower(n).encode("latin-1"), v.encode("latin-1", "replace")) for n, v in self._pairs]

    @property
    def set_cookies(self) -> list[str]:
        return [v for n, v in self._pairs if n == "Set-Cookie"]


def wsgi_environ_key(config: Config) -> str | None:
    """The WSGI environ key of the ``header`` option's request header
    (``X-Session-Id`` → ``HTTP_X_SESSION_ID``), or ``None`` without it."""
    name = config.session_header
    return None if name is None else "HTTP_" + name.upper().replace("-", "_")
