"""``StoredRecord``: a store record as the engine made it
(``libsession_stored_record``), and the library's rules a store needs
(``StoreKind``, ``memory_store_expiry``)."""

from __future__ import annotations

import ctypes
import enum
from ctypes import byref, string_at

from ._errors import MisuseError, Result, error_for
from ._handle import OwnedHandle
from ._lib import LIB, LibsessionStr
from ._text import text_or_bytes

__all__ = ["StoredRecord", "StoreKind", "memory_store_expiry"]

_from_text = LIB.libsession_stored_record_from_text
_text = LIB.libsession_stored_record_text
_apply_touch = LIB.libsession_stored_record_apply_touch
_free = LIB.libsession_stored_record_free
_expiry = LIB.libsession_record_memory_store_expiry


class StoreKind(enum.IntEnum):
    """``libsession_store_kind``: which rules a store's records follow (a
    store's ``kind`` attribute; the request loop tells the engine)."""

    #: express-session's MemoryStore (the default): a loaded record whose
    #: stored ``cookie.expires`` has passed is not found; a ``null`` record
    #: fails the load.
    MEMORY = 0
    #: The store's TTL is the authority (connect-redis): the stored
    #: ``cookie.expires`` is not checked; a ``null`` record is not found.
    TTL = 1


class StoredRecord(OwnedHandle):
    """A store record as the engine made it: its JSON text, and the session
    the engine already read from it (until a load takes it). Take one at a
    ``Save``/``Touch`` (``Request.take_stored_record``), keep it, give it back
    at the next ``Load`` (``Request.handle_load_stored``): the engine then
    parses nothing. Not thread-safe: a store guards its records with its own
    lock. Freed by ``close()``, a ``with`` block, or garbage collection."""

    _free_handle = staticmethod(lambda ptr: _free(ptr))  # looked up per call

    __slots__ = ("_ptr", "__weakref__")

    def __init__(self, _ptr: int) -> None:
        self._ptr = _ptr

    @classmethod
    def from_text(cls, text: str | bytes) -> StoredRecord:
        """A record from its JSON text (loading it reads the text)."""
        b = text_or_bytes(text, "StoredRecord.from_text")
        out = ctypes.c_void_p()
        rc = _from_text(b, len(b), byref(out))
        if rc:
            raise error_for(rc)
        return cls(out.value)

    def _handle(self) -> int:
        ptr = self._ptr
        if ptr is None:
            raise MisuseError(Result.NULL_PARAMETER, "the stored record is closed")
        return ptr

    def _view(self) -> LibsessionStr:
        s = LibsessionStr()
        rc = _text(self._handle(), byref(s))
        if rc:
            raise error_for(rc)
        return s

    @property
    def text(self) -> str:
        """The record's JSON text (what a store writes, and ``get`` returns)."""
        s = self._view()
        return string_at(s.data, s.len).decode("utf-8")

    def apply_touch(self, touched: StoredRecord) -> bool:
        """express-session MemoryStore's touch: this record gets the cookie
        of ``touched`` (a ``Touch`` action's record), in place. Returns
        whether it changed (``False``: this record is no JSON object, or
        ``touched`` has no cookie)."""
        if not isinstance(touched, StoredRecord):
            raise TypeError(f"apply_touch: touched must be a StoredRecord, not {type(touched).__name__}")
        before = self._view().data
        rc = _apply_touch(self._handle(), touched._handle())
        if rc:
            raise error_for(rc)
        # A touch that applies gives this handle a new text (the library
        # leaves a record it does not touch as it is).
        return self._view().data != before

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<libsession.StoredRecord closed>"
        return f"<libsession.StoredRecord {self._view().len} bytes>"


def memory_store_expiry(record: str | bytes) -> int | None:
    """express-session MemoryStore's expiry of a record given as JSON text
    (``libsession_record_memory_store_expiry``): the Unix ms from which its
    ``cookie.expires`` counts as passed (``expires <= now``), or ``None`` if
    it never does. Raises ``InvalidValueError`` for text that is not JSON."""
    b = text_or_bytes(record, "memory_store_expiry")
    at, has = ctypes.c_int64(), ctypes.c_bool()
    rc = _expiry(b, len(b), byref(at), byref(has))
    if rc:
        raise error_for(rc)
    return at.value if has.value else None
