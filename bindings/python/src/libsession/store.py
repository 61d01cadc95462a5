"""Stores: the ``Store`` protocol and ``MemoryStore``.

A store answers the engine's store actions. Records are JSON text
(``JSON.stringify(req.session)``); ``expires_at`` is the cookie's expiry in
Unix milliseconds (``None`` for a browser-session cookie), for stores with
TTLs. A store method reports failure by raising an exception; the request
loop (``Request.poll_with``, ``SessionMiddleware``) passes it to the engine
as a store failure, which surfaces where express-session reports it.
``get`` may raise ``FileNotFoundError`` (or an exception whose ``code`` is
``'ENOENT'``) for express-session's "not found" error.

A store may also keep the records the engine made (``StoredRecord``
handles: the one load path) by having ``load_stored``, ``save_stored`` and
``touch_stored`` (see ``MemoryStore``); the request loop then uses them
instead of ``get``, ``set`` and ``touch``, so that a record saved is loaded
without being parsed again.

A store that wants housekeeping on the host's clock has ``reap_if_due(now_ms)``
(``MemoryStore`` with a ``reap_interval``): the middlewares and the demo call
it at the start of each request (``reap_if_due(store, now_ms)`` here).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from ._request import encode_json
from ._stored import StoredRecord, StoreKind, memory_store_expiry

__all__ = ["Store", "MemoryStore", "MemoryStoreFull", "StoreKind", "StoredRecord", "memory_store_expiry", "reap_if_due"]


@runtime_checkable
class Store(Protocol):
    """What the session loop needs from a store (synchronous).

    ``kind`` says which rules the records follow (``StoreKind.MEMORY``, the
    default, or ``StoreKind.TTL`` for a store whose TTL is the authority);
    the request loop reads it with ``getattr``, so a store without it is a
    memory-kind store."""

    kind: StoreKind = StoreKind.MEMORY

    def get(self, sid: str) -> str | bytes | None:
        """The record stored under ``sid`` (JSON text), or ``None``."""

    def set(self, sid: str, record: str, expires_at: int | None) -> None:
        """Stores ``record`` under ``sid``."""

    def touch(self, sid: str, record: str, expires_at: int | None) -> None:
        """Refreshes the record under ``sid``: replace its top-level
        ``cookie`` with ``record``'s (and its TTL with ``expires_at``)."""

    def destroy(self, sid: str) -> None:
        """Deletes the record under ``sid`` (absent is fine)."""


#: Default bound on MemoryStore records (as the Rust reference store).
DEFAULT_MAX_ENTRIES = 100_000


class MemoryStoreFull(Exception):
    """A ``MemoryStore`` write was refused: it holds ``max_entries`` live records."""

    def __init__(self) -> None:
        super().__init__("memory store is full")


def _version(text: str) -> int:
    """The version a record carries (``libsessionVersion``), as the engine
    reads it: a whole number from 0 to 2**53; anything else counts as 0."""
    try:
        record = json.loads(text)
    except ValueError:
        return 0
    v = record.get("libsessionVersion") if isinstance(record, dict) else None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return 0
    return int(v) if 0 <= v <= 2**53 and float(v).is_integer() else 0


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


#: The largest millisecond count the reap options take (2**53, JavaScript's exact integers).
_MAX_MS = 2**53
#: connect-redis's options this library reads: ignored by ``MemoryStore.from_options``,
#: so that one ``"store"`` object serves a host whichever store it runs.
_REDIS_NAMES = frozenset({"prefix", "ttl", "disableTouch", "disableTTL"})


def _ms_option(name: str, v: object) -> int | None:
    if v is None:
        return None
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= _MAX_MS:
        raise ValueError(f"MemoryStore: {name} must be a whole number of milliseconds from 1 to 2**53, or None")
    return v


def reap_if_due(store: Any, now_ms: int) -> int:
    """What a host runs at the start of each request: the store's reap if
    one is due (a ``MemoryStore`` with a ``reap_interval``); a store without
    ``reap_if_due`` (Redis expires keys itself) is left alone. Returns how
    many records went."""
    reap = getattr(store, "reap_if_due", None)
    return reap(now_ms) if callable(reap) else 0


class MemoryStore:
    """express-session's ``MemoryStore``, bounded; the same semantics as the
    Rust reference store (``session::MemoryStore``):

    * records are kept as the engine made them (``StoredRecord`` handles),
      with the time at which they count as expired (``expires <= now``),
      the expiry the engine gives with each ``Save``/``Touch``;
    * ``load_stored``/``get`` delete an expired record and answer not found;
    * ``save_stored``/``set`` store the record; when the store holds
      ``max_entries`` records and ``sid`` is new, expired records are swept
      first and, if it is still full, ``MemoryStoreFull`` is raised (a store
      failure for the engine);
    * ``touch_stored``/``touch`` look the record up like ``get`` and, if it
      is live, put the touched record's ``cookie`` into it;
    * ``destroy`` deletes (absent is fine); ``sweep(now_ms)`` removes every
      expired record. Nothing runs on a timer.

    Connect's reaping (off by default, as in express-session's MemoryStore):
    ``max_age`` (ms) expires a record not written or touched for longer than
    that (Connect's ``lastAccess < now - maxAge``), at every lookup as well
    as at reaps; ``reap_interval`` (ms) schedules reaps: ``next_reap_at(now)``
    says when the next is due (the first call starts the schedule, each reap
    schedules the next ``reap_interval`` after it), ``reap_if_due(now)`` runs
    it then (the middlewares and the demo call it at the start of each
    request, with their clock), ``reap(now)`` runs one whenever a host's
    own timer says. ``MemoryStore.from_options({"reapInterval": ..,
    "maxAge": ..})`` reads the JSON names.

    Every method takes ``now_ms`` (Unix ms): the request loop passes the
    request's clock. The text methods (``get``, ``set``, ``touch``) default
    it to ``clock()`` (default: the system clock). Thread-safe.
    """

    kind = StoreKind.MEMORY

    def __init__(
        self,
        *,
        clock: Callable[[], int] | None = None,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        reap_interval: int | None = None,
        max_age: int | None = None,
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 0:
            raise TypeError("MemoryStore: max_entries must be a non-negative int")
        self._clock = clock if clock is not None else _now_ms
        self._max = max_entries
        self.reap_interval = _ms_option("reap_interval", reap_interval)
        self.max_age = _ms_option("max_age", max_age)
        self._next_reap: int | None = None  # set by the first now seen
        # Each record with the time it counts as expired (the earlier of its
        # cookie's expiry and, with max_age, its write + max_age + 1 ms).
        self._entries: dict[str, tuple[StoredRecord, int | None]] = {}
        self._lock = threading.Lock()

    @classmethod
    def from_options(
        cls, options: Any, *, clock: Callable[[], int] | None = None, max_entries: int = DEFAULT_MAX_ENTRIES
    ) -> MemoryStore:
        """A store from Connect MemoryStore's options as JSON names (the
        ``"store"`` member of the demos' ``--options`` file): ``reapInterval``
        and ``maxAge`` (ms; ``None`` is off, and ``reapInterval: -1`` too, as
        in Connect). connect-redis's ``prefix``, ``ttl``, ``disableTouch`` and
        ``disableTTL`` are ignored; other names raise ``ValueError``."""
        if not isinstance(options, dict):
            raise TypeError("MemoryStore.from_options: the options must be a dict (a JSON object)")
        unknown = sorted(k for k in options if k not in ("reapInterval", "maxAge") and k not in _REDIS_NAMES)
        if unknown:
            raise ValueError(f"MemoryStore: unknown store option(s) {', '.join(map(repr, unknown))} (a memory store reads reapInterval and maxAge)")
        interval = options.get("reapInterval")
        if interval == -1 and not isinstance(interval, bool):
            interval = None
        return cls(
            clock=clock,
            max_entries=max_entries,
            reap_interval=_ms_option("reapInterval", interval),
            max_age=_ms_option("maxAge", options.get("maxAge")),
        )

    # -- reaping ------------------------------------------------------------
    def next_reap_at(self, now_ms: int | None = None) -> int | None:
        """When the next reap is due (Unix ms), or ``None`` without a
        ``reap_interval``; the first call starts the schedule at ``now_ms``."""
        if self.reap_interval is None:
            return None
        with self._lock:
            if self._next_reap is None:
                now = self._clock() if now_ms is None else now_ms
                self._next_reap = now + self.reap_interval
            return self._next_reap

    def reap_if_due(self, now_ms: int | None = None) -> int:
        """The reap, if one is due at ``now_ms``; returns how many records it removed."""
        now = self._clock() if now_ms is None else now_ms
        due = self.next_reap_at(now)
        if due is None or now < due:
            return 0
        with self._lock:
            if self._next_reap != due:
                return 0  # another thread took this reap
            self._next_reap = now + self.reap_interval
            return self._sweep(now)

    def reap(self, now_ms: int | None = None) -> int:
        """Removes every expired record and schedules the next reap
        ``reap_interval`` after ``now_ms``; returns how many were removed."""
        now = self._clock() if now_ms is None else now_ms
        with self._lock:
            if self.reap_interval is not None:
                self._next_reap = now + self.reap_interval
            return self._sweep(now)

    def _expiry(self, expires_at: int | None, now: int) -> int | None:
        if self.max_age is None:
            return expires_at
        stale_at = now + self.max_age + 1
        return stale_at if expires_at is None else min(expires_at, stale_at)

    # -- the record path (Request.poll_with uses it) -------------------------------
    def load_stored(self, sid: str, now_ms: int, request: Any) -> bool:
        """``get`` as the engine takes it: answers ``request``'s ``Load`` with
        the record held (``Request.handle_load_stored``, under the store's
        lock) and returns ``True``, or returns ``False`` (not found)."""
        with self._lock:
            entry = self._live(sid, now_ms)
            if entry is None:
                return False
            request.handle_load_stored(entry[0])
            return True

    def save_stored(self, sid: str, record: StoredRecord, expires_at: int | None, now_ms: int) -> None:
        """``set`` of a record the engine made (``Request.take_stored_record``):
        kept as it is, so that the next load parses nothing."""
        if not isinstance(record, StoredRecord):
            raise TypeError(f"MemoryStore.save_stored: record must be a StoredRecord, not {type(record).__name__}")
        with self._lock:
            entries = self._entries
            if sid not in entries and len(entries) >= self._max:
                self._sweep(now_ms)
                if len(entries) >= self._max:
                    raise MemoryStoreFull()
            entries[sid] = (record, self._expiry(expires_at, now_ms))

    def touch_stored(self, sid: str, record: StoredRecord, expires_at: int | None, now_ms: int) -> None:
        """``touch`` with a record the engine made: when the record held
        differs from it only in its cookie (the usual case), it becomes that
        record, kept with its session."""
        with self._lock:
            entry = self._live(sid, now_ms)
            if entry is not None and entry[0].apply_touch(record):
                self._entries[sid] = (entry[0], self._expiry(expires_at, now_ms))

    # -- the Store protocol (text) ----------------------------------------------------
    def get(self, sid: str, now_ms: int | None = None) -> str | None:
        with self._lock:
            entry = self._live(sid, self._clock() if now_ms is None else now_ms)
            return None if entry is None else entry[0].text

    def set(self, sid: str, record: str | bytes, expires_at: int | None, now_ms: int | None = None) -> None:
        self.save_stored(sid, StoredRecord.from_text(record), expires_at, self._clock() if now_ms is None else now_ms)

    def set_if_absent(self, sid: str, record: str | bytes, expires_at: int | None, now_ms: int | None = None) -> bool:
        """``set`` only if no live record is stored under ``sid``
        (insert-if-absent, for a new session's save): ``False``, and the
        record there kept, when one is."""
        now = self._clock() if now_ms is None else now_ms
        with self._lock:
            if self._live(sid, now) is not None:
                return False
        self.set(sid, record, expires_at, now)
        return True

    def set_if_version(
        self,
        sid: str,
        record: str | bytes,
        expires_at: int | None,
        expected: int,
        written: int,
        now_ms: int | None = None,
    ) -> bool:
        """A versioned save (``versioned``), one compare-and-set under the
        store's lock: ``set`` only if a live record under ``sid`` carries
        version ``expected`` (its ``libsessionVersion``; none counts as 0);
        ``False`` (a conflict, nothing written) otherwise, no record included.
        ``written`` is the version ``record`` carries."""
        now = self._clock() if now_ms is None else now_ms
        with self._lock:
            entry = self._live(sid, now)
            if entry is None or _version(entry[0].text) != expected:
                return False
            self._entries[sid] = (StoredRecord.from_text(record), expires_at)
            return True

    def touch_if_version(
        self, sid: str, record: str | bytes, expires_at: int | None, expected: int, now_ms: int | None = None
    ) -> bool:
        """A versioned touch: ``touch`` only if the live record under ``sid``
        carries version ``expected``; ``False`` (nothing touched) otherwise."""
        now = self._clock() if now_ms is None else now_ms
        with self._lock:
            entry = self._live(sid, now)
            if entry is None or _version(entry[0].text) != expected:
                return False
            if entry[0].apply_touch(StoredRecord.from_text(record)):
                self._entries[sid] = (entry[0], expires_at)
            return True

    def touch(self, sid: str, record: str | bytes, expires_at: int | None, now_ms: int | None = None) -> None:
        touched = StoredRecord.from_text(record)
        self.touch_stored(sid, touched, expires_at, self._clock() if now_ms is None else now_ms)

    def destroy(self, sid: str) -> None:
        with self._lock:
            self._entries.pop(sid, None)

    # -- management ------------------------------------------------------------
    def sweep(self, now_ms: int | None = None) -> int:
        """Removes every expired record; returns how many were removed (the
        reap schedule stays as it is)."""
        with self._lock:
            return self._sweep(self._clock() if now_ms is None else now_ms)

    def insert(self, sid: str, record: Any) -> None:
        """Inserts a record given as a parsed JSON value (a dict) or as JSON
        text, with the expiry the library computes from its
        ``cookie.expires`` (as express-session's MemoryStore does; a store
        ``max_age`` counts from its first write or touch)."""
        if isinstance(record, (str, bytes)):
            text = record
        else:
            text = encode_json(record, "MemoryStore.insert")
        expires_at = memory_store_expiry(text)
        stored = StoredRecord.from_text(text)
        with self._lock:
            self._entries[sid] = (stored, expires_at)

    def snapshot(self) -> dict[str, str]:
        """Every record as ``{sid: JSON text}`` (expired ones included until
        looked up or swept)."""
        with self._lock:
            return {k: v[0].text for k, v in sorted(self._entries.items())}

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, sid: object) -> bool:
        with self._lock:
            return sid in self._entries

    def __repr__(self) -> str:
        return f"<libsession.MemoryStore records={len(self)} max_entries={self._max}>"

    # -- internals (the lock held) -------------------------------------------------
    def _live(self, sid: str, now: int) -> tuple[StoredRecord, int | None] | None:
        entry = self._entries.get(sid)
        if entry is None:
            return None
        exp = entry[1]
        if exp is not None and exp <= now:
            del self._entries[sid]
            return None
        return entry

    def _sweep(self, now: int) -> int:
        dead = [k for k, (_, exp) in self._entries.items() if exp is not None and exp <= now]
        for k in dead:
            del self._entries[k]
        return len(dead)
