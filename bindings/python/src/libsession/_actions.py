"""What ``Request.next_action()`` returns: small immutable action objects.

Payload-less actions are singletons (``READY``, ``WAIT``, ``DONE``), so both
``action is libsession.WAIT`` and ``match action: case Wait():`` work.
Session IDs and Set-Cookie values never appear in ``repr()``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Action",
    "Load",
    "Save",
    "Touch",
    "Destroy",
    "SetCookie",
    "SetHeader",
    "Ready",
    "Failed",
    "Completed",
    "Error",
    "Wait",
    "Done",
    "Conflict",
    "READY",
    "WAIT",
    "DONE",
    "StoreAction",
]


@dataclass(frozen=True, slots=True, repr=False)
class Load:
    """Fetch the record stored under ``id``, then call
    ``Request.handle_load_result``."""

    id: str

    def __repr__(self) -> str:
        return "Load(id=<redacted>)"


@dataclass(frozen=True, slots=True, repr=False)
class Save:
    """Store ``record`` (JSON text) under ``id``; ``expires_at`` is the
    cookie's expiry in Unix milliseconds (``None`` for a browser-session
    cookie), for stores with TTLs. Then call ``Request.handle_store_result``."""

    id: str
    record: str
    expires_at: int | None

    def __repr__(self) -> str:
        return f"Save(id=<redacted>, record=<{len(self.record)} chars>, expires_at={self.expires_at!r})"


@dataclass(frozen=True, slots=True, repr=False)
class Touch:
    """Refresh the record under ``id``: a store that keeps the cookie in the
    record replaces its top-level ``cookie`` with ``record``'s; a TTL store
    sets the TTL from ``expires_at``. Then call ``Request.handle_store_result``."""

    id: str
    record: str
    expires_at: int | None

    def __repr__(self) -> str:
        return f"Touch(id=<redacted>, record=<{len(self.record)} chars>, expires_at={self.expires_at!r})"


@dataclass(frozen=True, slots=True, repr=False)
class Destroy:
    """Delete the record under ``id`` (absent is fine), then call
    ``Request.handle_store_result``."""

    id: str

    def __repr__(self) -> str:
        return "Destroy(id=<redacted>)"


@dataclass(frozen=True, slots=True, repr=False)
class SetCookie:
    """Add a ``Set-Cookie`` header whose value is ``value``."""

    value: str

    def __repr__(self) -> str:
        return "SetCookie(value=<redacted>)"


@dataclass(frozen=True, slots=True, repr=False)
class SetHeader:
    """Set the response header ``name`` to ``value`` (replacing an earlier
    one of this request): with the ``header`` option, the signed session ID
    for clients without cookies, right after each session ``SetCookie``."""

    name: str
    value: str

    def __repr__(self) -> str:
        return f"SetHeader(name={self.name!r}, value=<redacted>)"


@dataclass(frozen=True, slots=True)
class Ready:
    """The session is ready (or deliberately absent): run the handler, then
    call ``Request.finish()``. Repeats until the host acts."""


@dataclass(frozen=True, slots=True)
class Failed:
    """Loading failed: do not run the handler; respond with an error
    (express-session answers 500), then call ``Request.finish()``."""

    message: str


@dataclass(frozen=True, slots=True)
class Completed:
    """A handler operation (save, reload, destroy, regenerate) finished;
    ``error`` is its error message, ``None`` on success. ``Ready`` follows."""

    error: str | None


@dataclass(frozen=True, slots=True)
class Error:
    """An error after the response was decided (a failed end-of-request store
    call): log ``message``; the response stands."""

    message: str


@dataclass(frozen=True, slots=True)
class Wait:
    """A store answer is owed: give it, then poll again."""


@dataclass(frozen=True, slots=True)
class Done:
    """Nothing more to do; repeats forever. Close the request."""


@dataclass(frozen=True, slots=True)
class Conflict:
    """``versioned``: the end-of-request save lost a race (another request
    saved the session since this one read it); nothing was stored and no
    Set-Cookie was sent for it. ``reloaded=False`` (``onConflict: "fail"``):
    answer 409; ``DONE`` follows. ``reloaded=True`` (``"reloadAndReport"``):
    the session now holds the stored record and ``READY`` follows: apply the
    change again and ``finish()`` (which saves against the version just
    read), or answer 409 and ``finish()`` without changes."""

    reloaded: bool


READY = Ready()
WAIT = Wait()
DONE = Done()

Action = Load | Save | Touch | Destroy | SetCookie | SetHeader | Ready | Failed | Completed | Error | Wait | Done | Conflict
StoreAction = Load | Save | Touch | Destroy
