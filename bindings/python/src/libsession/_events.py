"""The request's structured events (``libsession_request_poll_event``):
what happened to its session that a host may count or alert on. The values
are the header's (``tests/test_header.py`` checks them)."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class EventKind(enum.IntEnum):
    """``libsession_event_kind``."""

    #: No event is left (never in an ``Event``).
    NONE = 0
    #: The request carried no cookie of the session's name.
    NO_COOKIE = 1
    #: A cookie of the session's name had no valid signature.
    SIGNATURE_INVALID = 2
    #: The cookie verified with a secret other than the first (``key_index``).
    VERIFIED_BY_OLD_KEY = 3
    #: The store has no record for the cookie's session.
    RECORD_NOT_FOUND = 4
    #: The store's record had expired (MemoryStore's rule).
    RECORD_EXPIRED = 5
    #: The store's record could not be read as a session.
    RECORD_CORRUPT = 6
    #: The store failed an operation (``operation``).
    STORE_ERROR = 7
    #: A call out of order failed the request.
    MISUSE = 8
    #: The request's path is one of the ``ignore`` paths.
    IGNORED = 9
    #: The session's fingerprint did not match the request's facts.
    FINGERPRINT_MISMATCH = 10
    #: ``versioned``: a save or touch found another version (nothing written).
    CONFLICT = 11
    #: The session began longer ago than ``absolute_timeout``: replaced by a
    #: fresh one (the old record destroyed).
    ABSOLUTE_TIMEOUT = 12
    #: The session's last request was longer ago than ``idle_timeout``:
    #: replaced by a fresh one (the old record destroyed).
    IDLE_TIMEOUT = 13
    #: The cookie named an ID a regenerate replaced, within its
    #: ``regenerate_grace`` window: the session loaded read-only.
    REGENERATE_GRACE = 14
    #: The cookie named an ID a regenerate replaced, after its grace window.
    REGENERATE_GRACE_ENDED = 15


class StoreOperation(enum.IntEnum):
    """``libsession_store_operation``: which store operation failed."""

    LOAD = 1
    SAVE = 2
    TOUCH = 3
    DESTROY = 4


@dataclass(frozen=True)
class Event:
    """One event: its kind, the secret's position for ``VERIFIED_BY_OLD_KEY``
    (else 0), the failed operation for ``STORE_ERROR`` (else ``None``)."""

    kind: EventKind
    key_index: int = 0
    operation: StoreOperation | None = None

    @property
    def name(self) -> str:
        """A short stable name (``snake_case``), for logs and metrics."""
        return self.kind.name.lower()
