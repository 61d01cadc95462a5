"""Stores: the ``Store`` protocol and ``MemoryStore``.

A store answers the engine's store actions. Records are JSON text
(``JSON.stringify(req.session)``); ``expires_at`` is the cookie's expiry in
Unix milliseconds (``None`` for a browser-session cookie), for stores with
TTLs. A store method reports failure by raising an exception; the request
loop (``Request.poll_with``, ``SessionMiddleware``) passes it to the engine
as a store failure, which surfaces where express-session reports it.
``get`` may raise ``FileNotFoundError`` (or an exception whose ``code`` is
``'ENOENT'``) for express-session's "not found" error.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from ._jsdate import record_expiry

__all__ = ["Store", "MemoryStore", "MemoryStoreFull", "DEFAULT_MAX_ENTRIES"]

#: Default bound on MemoryStore records (as the Rust reference store).
DEFAULT_MAX_ENTRIES = 100_000


@runtime_checkable
class Store(Protocol):
    """What the session loop needs from a store (synchronous)."""

    def get(self, sid: str) -> str | bytes | None:
        """The record stored under ``sid`` (JSON text), or ``None``."""

    def set(self, sid: str, record: str, expires_at: int | None) -> None:
        """Stores ``record`` under ``sid``."""

    def touch(self, sid: str, record: str, expires_at: int | None) -> None:
        """Refreshes the record under ``sid``: replace its top-level
        ``cookie`` with ``record``'s (and its TTL with ``expires_at``)."""

    def destroy(self, sid: str) -> None:
        """Deletes the record under ``sid`` (absent is fine)."""


class MemoryStoreFull(Exception):
    """A ``MemoryStore`` write was refused: it holds ``max_entries`` live records."""

    def __init__(self) -> None:
        super().__init__("memory store is full")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class MemoryStore:
    """express-session's ``MemoryStore``, bounded, with an expiry sweep; the
    same semantics as the Rust reference store (``session::MemoryStore``):

    * records are kept as JSON text with the time at which they count as
      expired (``expires <= now``);
    * ``get`` deletes an expired record and answers ``None``;
    * ``set`` stores the text; when the store holds ``max_entries`` records
      and ``sid`` is new, expired records are swept first and, if it is still
      full, ``MemoryStoreFull`` is raised (a store failure for the engine);
    * ``touch`` looks the record up like ``get`` and, if it is live, replaces
      only its top-level ``"cookie"`` member with the one in ``record``;
    * ``destroy`` deletes (absent is fine).

    ``clock`` returns the current Unix time in milliseconds (default: the
    system clock). ``sweep_interval_ms``: every write sweeps expired records
    when at least that long has passed since the last sweep (``None``: only
    ``sweep()`` and a full store sweep, as in the Rust store). Thread-safe.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], int] | None = None,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        sweep_interval_ms: int | None = 60_000,
    ) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 0:
            raise TypeError("MemoryStore: max_entries must be a non-negative int")
        if sweep_interval_ms is not None and (
            isinstance(sweep_interval_ms, bool) or not isinstance(sweep_interval_ms, int) or sweep_interval_ms < 0
        ):
            raise TypeError("MemoryStore: sweep_interval_ms must be a non-negative int or None")
        self._clock = clock if clock is not None else _now_ms
        self._max = max_entries
        self._interval = sweep_interval_ms
        self._entries: dict[str, tuple[str, int | None]] = {}
        self._lock = threading.Lock()
        self._last_sweep = self._clock()

    # -- the Store protocol ----------------------------------------------------
    def get(self, sid: str) -> str | None:
        with self._lock:
            entry = self._entries.get(sid)
            if entry is None:
                return None
            exp = entry[1]
            if exp is not None and exp <= self._clock():
                del self._entries[sid]
                return None
            return entry[0]

    def set(self, sid: str, record: str | bytes, expires_at: int | None) -> None:
        if isinstance(record, (bytes, bytearray)):
            record = bytes(record).decode("utf-8")
        with self._lock:
            now = self._clock()
            self._maybe_sweep(now)
            entries = self._entries
            if sid not in entries and len(entries) >= self._max:
                self._sweep(now)
                if len(entries) >= self._max:
                    raise MemoryStoreFull()
            entries[sid] = (record, expires_at)

    def touch(self, sid: str, record: str | bytes, expires_at: int | None) -> None:
        if isinstance(record, (bytes, bytearray)):
            record = bytes(record).decode("utf-8")
        with self._lock:
            now = self._clock()
            self._maybe_sweep(now)
            entry = self._entries.get(sid)
            if entry is None:
                return
            if entry[1] is not None and entry[1] <= now:
                del self._entries[sid]
                return
            span = _top_level_span(record, "cookie")
            if span is None:
                return
            new_cookie = record[span[0] : span[1]]
            text = entry[0]
            old = _top_level_span(text, "cookie")
            if old is not None:
                replaced = text[: old[0]] + new_cookie + text[old[1] :]
            else:
                # Not an object, or no cookie yet: `currentSession.cookie = …` appends it.
                stripped = text.rstrip()
                if not stripped.endswith("}"):
                    return
                close = stripped[:-1]
                sep = "" if close.rstrip().endswith("{") else ","
                replaced = f'{close}{sep}"cookie":{new_cookie}}}'
            self._entries[sid] = (replaced, expires_at)

    def destroy(self, sid: str) -> None:
        with self._lock:
            self._entries.pop(sid, None)

    # -- management ------------------------------------------------------------
    def sweep(self, now_ms: int | None = None) -> int:
        """Removes every expired record; returns how many were removed."""
        with self._lock:
            return self._sweep(self._clock() if now_ms is None else now_ms)

    def insert(self, sid: str, record: Any) -> None:
        """Inserts a record given as a parsed JSON value (a dict) or as JSON
        text, computing its expiry from the record's ``cookie.expires`` (as
        express-session's MemoryStore does)."""
        if isinstance(record, (str, bytes)):
            text = record.decode("utf-8") if isinstance(record, bytes) else record
            value = json.loads(text)
        else:
            value = record
            text = json.dumps(record, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        with self._lock:
            self._entries[sid] = (text, record_expiry(value))

    def snapshot(self) -> dict[str, str]:
        """Every record as ``{sid: JSON text}`` (expired ones included until
        looked up or swept)."""
        with self._lock:
            return {k: v[0] for k, v in sorted(self._entries.items())}

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def __contains__(self, sid: object) -> bool:
        with self._lock:
            return sid in self._entries

    def __repr__(self) -> str:
        return f"<libsession.MemoryStore records={len(self)} max_entries={self._max}>"

    # -- internals ---------------------------------------------------------------
    def _sweep(self, now: int) -> int:
        self._last_sweep = now
        dead = [k for k, (_, exp) in self._entries.items() if exp is not None and exp <= now]
        for k in dead:
            del self._entries[k]
        return len(dead)

    def _maybe_sweep(self, now: int) -> None:
        if self._interval is not None and now - self._last_sweep >= self._interval:
            self._sweep(now)


_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_SCAN = re.compile(r'["{}\[\]]')


def _skip_ws(t: str, i: int) -> int:
    return _WS.match(t, i).end()


def _skip_string(t: str, i: int) -> int | None:
    m = _STRING.match(t, i)
    return m.end() if m else None


def _skip_value(t: str, i: int) -> int | None:
    if i >= len(t):
        return None
    c = t[i]
    if c == '"':
        return _skip_string(t, i)
    if c in "{[":
        depth = 0
        j = i
        while True:
            m = _SCAN.search(t, j)
            if m is None:
                return None
            j = m.start()
            ch = t[j]
            if ch == '"':
                end = _skip_string(t, j)
                if end is None:
                    return None
                j = end
                continue
            if ch in "{[":
                depth += 1
            else:
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
    # A scalar: up to the next delimiter.
    j = i
    n = len(t)
    while j < n and t[j] not in ",}] \t\n\r":
        j += 1
    return j if j > i else None


def _top_level_span(text: str, key: str) -> tuple[int, int] | None:
    """The range of the value of ``key`` in the top-level object of a JSON
    text (the key compared as written, first occurrence), by scanning; a port
    of the library's ``json::top_level_span``."""
    i = _skip_ws(text, 0)
    if text[i : i + 1] != "{":
        return None
    i += 1
    quoted = '"' + key + '"'
    while True:
        i = _skip_ws(text, i)
        c = text[i : i + 1]
        if c == "}" or c == "":
            return None
        if c == ",":
            i += 1
            continue
        if c != '"':
            return None
        key_end = _skip_string(text, i)
        if key_end is None:
            return None
        is_key = text[i:key_end] == quoted
        i = _skip_ws(text, key_end)
        if text[i : i + 1] != ":":
            return None
        start = _skip_ws(text, i + 1)
        end = _skip_value(text, start)
        if end is None:
            return None
        if is_key:
            return start, end
        i = end
