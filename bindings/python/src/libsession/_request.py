"""``Request``: one HTTP request's session lifecycle, driven by a poll loop."""

from __future__ import annotations

import ctypes
import datetime as _dt
import errno
import json
from os import urandom as _urandom
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from ctypes import byref, string_at
from dataclasses import dataclass, field
from typing import Any

from . import _actions as A
from ._config import Config
from ._errors import LibsessionError, MisuseError, Result, error_for
from ._handle import OwnedHandle
from ._text import text_or_bytes, utf8
from ._events import Event, EventKind, StoreOperation
from ._lib import LIB, LibsessionEvent, LibsessionRedisCommand, LibsessionStr
from ._redis_plan import RedisCommand, RedisOp, RedisOptions
from ._stored import StoredRecord, StoreKind

__all__ = ["Request", "SessionView", "RunResult", "encode_json"]

_L = LIB
_new = _L.libsession_request_new
_free = _L.libsession_request_free
_last_error = _L.libsession_request_last_error
_push_id = _L.libsession_request_push_session_id
_generated = _L.libsession_request_generated_id_count
_set_target = _L.libsession_request_set_target
_add_cookie = _L.libsession_request_add_cookie_header
_add_xfp = _L.libsession_request_add_forwarded_proto
_set_tls = _L.libsession_request_set_tls
_poll_event = _L.libsession_request_poll_event
_set_clear_stale = _L.libsession_request_set_clear_stale_cookie
_add_fingerprint_fact = _L.libsession_request_add_fingerprint_fact
_add_session_header = _L.libsession_request_add_session_header
_action_header_name = _L.libsession_request_action_header_name
_set_unavailable = _L.libsession_request_set_store_unavailable
_set_now = _L.libsession_request_set_now
_set_store_kind = _L.libsession_request_set_store_kind
_take_stored = _L.libsession_request_take_stored_record
_handle_load_stored = _L.libsession_request_handle_load_stored
_poll = _L.libsession_request_poll_action
_action_id = _L.libsession_request_action_id
_action_record = _L.libsession_request_action_record
_action_value = _L.libsession_request_action_value
_action_expires = _L.libsession_request_action_expires_at
_handle_load = _L.libsession_request_handle_load_result
_handle_store = _L.libsession_request_handle_store_result
_session_json = _L.libsession_request_session_json
_max_age_json = _L.libsession_request_max_age_json
_data_json = _L.libsession_request_data_json
_get_json = _L.libsession_request_get_json
_set_json = _L.libsession_request_set_json
_delete = _L.libsession_request_delete
_increment = _L.libsession_request_increment
_touch = _L.libsession_request_touch
_set_max_age = _L.libsession_request_set_max_age
_set_expires = _L.libsession_request_set_expires
_set_cookie_attr_by_name = _L.libsession_request_set_cookie_attr_by_name
_save = _L.libsession_request_save
_reload = _L.libsession_request_reload
_destroy = _L.libsession_request_destroy
_regenerate = _L.libsession_request_regenerate
_regenerate_with = _L.libsession_request_regenerate_with
_unset = _L.libsession_request_unset
_finish = _L.libsession_request_finish
_session_id = _L.libsession_request_session_id
_cookie_session_id = _L.libsession_request_cookie_session_id
_has_session = _L.libsession_request_has_session
_max_age = _L.libsession_request_max_age
_is_secure = _L.libsession_request_is_secure
_redis_command = _L.libsession_request_redis_command
_REDIS_OPS = tuple(RedisOp)

# libsession_action
_LOAD, _SAVE, _TOUCH, _DESTROY, _SET_COOKIE, _WAIT, _READY, _FAILED, _COMPLETED, _ERROR, _DONE, _SET_HEADER = range(1, 13)
# libsession_load_status / libsession_store_status
_FOUND, _NOT_FOUND, _MISSING, _LOAD_FAILED = 0, 1, 2, 3
_STORE_OK, _STORE_FAILED, _STORE_EXISTS, _STORE_CONFLICT = 0, 1, 2, 3
_CONFLICT, _CONFLICT_RELOADED = 13, 14
_action_version = _L.libsession_request_action_version
_action_is_new = _L.libsession_request_action_is_new

_READY_ACTION, _WAIT_ACTION, _DONE_ACTION = A.READY, A.WAIT, A.DONE
_Load, _Save, _Touch, _Destroy, _SetCookie = A.Load, A.Save, A.Touch, A.Destroy, A.SetCookie
_Failed, _Completed, _Error = A.Failed, A.Completed, A.Error

_json_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_json_encode = _json_encoder.encode
_json_loads = json.loads


def _is_new(p: Any) -> bool:
    """Whether the current ``Save`` is of a new session's ID (insert-if-absent)."""
    flag = ctypes.c_bool(False)
    return _action_is_new(p, ctypes.byref(flag)) == 0 and flag.value


def encode_json(value: Any, what: str) -> bytes:
    """``value`` as UTF-8 JSON text (as ``JSON.stringify`` would give it);
    ``TypeError``/``ValueError`` with a message naming ``what`` otherwise."""
    try:
        return _json_encode(value).encode("utf-8")
    except TypeError as e:
        raise TypeError(f"{what}: value is not JSON-serializable ({e})") from None
    except UnicodeEncodeError as e:
        raise ValueError(f"{what}: value holds text that is not valid Unicode ({e.reason})") from None
    except ValueError as e:
        raise ValueError(f"{what}: value is not valid JSON ({e})") from None


def _key_bytes(key: object) -> bytes:
    return utf8(key, "session key")


def _text_bytes(v: object, what: str) -> bytes:
    """A str (encoded as UTF-8) or bytes-like input."""
    return text_or_bytes(v, what)


def _message(v: object, what: str) -> bytes:
    if not isinstance(v, str):
        raise TypeError(f"{what} must be a str message, not {type(v).__name__}")
    return v.encode("utf-8", "replace")


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


def _ms_or_none(v: object, what: str) -> tuple[bool, int]:
    """Milliseconds as the C API takes them: a whole number in int64_t."""
    if v is None:
        return False, 0
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"{what} must be a number of milliseconds or None, not {type(v).__name__}")
    if isinstance(v, float):
        if not v.is_integer():
            raise ValueError(f"{what} must be a whole number of milliseconds, got {v!r}")
        v = int(v)
    if not -(2**63) <= v < 2**63:
        raise ValueError(f"{what} must fit in 64 bits, got {v}")
    return True, v


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _js_number(n: float) -> int | float:
    """A JavaScript number as Python gives it back from JSON: integral
    values as ``int``."""
    if n.is_integer() and abs(n) < 2**53:
        return int(n)
    return n


@dataclass
class RunResult:
    """What ``Request.run`` observed: the ``Set-Cookie`` values, the error
    messages (``Failed`` and ``Error`` actions), and whether loading failed
    (the host then answers 500)."""

    set_cookie: list[str] = field(default_factory=list, repr=False)
    #: ``(name, value)`` of each ``SetHeader`` (the ``header`` option).
    headers: list[tuple[str, str]] = field(default_factory=list, repr=False)
    errors: list[str] = field(default_factory=list)
    failed: bool = False
    handler_ran: bool = False

    def __repr__(self) -> str:  # the cookie values carry the session ID
        return (
            f"RunResult(set_cookie=<{len(self.set_cookie)} redacted>, errors={self.errors!r}, "
            f"failed={self.failed!r}, handler_ran={self.handler_ran!r})"
        )


class Request(OwnedHandle):
    """One HTTP request's session: express-session's middleware, the route
    handler's session calls and the end of the response, as a state machine
    that performs no I/O.

    The loop (the store lives in the host)::

        with Request(config, cookie=environ.get("HTTP_COOKIE")) as req:
            while True:
                match req.next_action():
                    case Load(id=sid):
                        req.handle_load_result(store.get(sid))
                    case Save(id=sid, record=rec, expires_at=exp):
                        store.set(sid, rec, exp); req.handle_store_result()
                    case Touch(id=sid, record=rec, expires_at=exp):
                        store.touch(sid, rec, exp); req.handle_store_result()
                    case Destroy(id=sid):
                        store.destroy(sid); req.handle_store_result()
                    case Ready():
                        req.session.increment("views"); req.finish()
                    case Failed(message=m):
                        respond_500(m); req.finish()
                    case SetCookie(value=v):
                        headers.append(("Set-Cookie", v))
                    case SetHeader(name=n, value=v):  # the ``header`` option
                        headers.append((n, v))
                    case Error(message=m):
                        log(m)
                    case Completed():
                        pass
                    case Done():
                        break

    After creating the request, and after every ``handle_*`` call or
    session operation, call ``next_action()`` until it returns ``WAIT``,
    ``Ready``, ``Failed`` or ``DONE``. ``poll_with(store)`` answers the store
    actions for a synchronous ``Store``; ``run(store, handler)`` runs the
    whole loop.

    Arguments: ``config``; ``now_ms`` (Unix milliseconds, default: the
    clock); ``entropy`` (at least 32 bytes from a CSPRNG, default
    ``os.urandom(32)``), from which new session IDs are derived;
    ``session_ids``: IDs to use first, in order (express-session's
    ``genid``); the request's facts: ``target`` (``/path?query``),
    ``cookie`` (one Cookie header value, or a list of them),
    ``forwarded_proto`` (``X-Forwarded-Proto`` value(s)), ``tls``,
    ``store_unavailable``; ``clear_stale_cookie``; ``fingerprint_facts``
    (the ``fingerprint`` option's facts, by name); ``session_header`` (the
    value of the request header ``config.session_header`` names, for the
    ``header`` option; the response header comes as ``SetHeader``).
    ``str`` header values are sent as UTF-8; pass ``bytes`` for raw header
    bytes.

    Freed by ``close()``, by leaving a ``with`` block, or when garbage-
    collected. Not thread-safe: use a request from one thread at a time.
    """

    _free_handle = staticmethod(lambda ptr: _free(ptr))  # looked up per call

    __slots__ = (
        "_ptr",
        "_kind",
        "_kind_ref",
        "_out_str",
        "_out_str_ref",
        "_out_dbl",
        "_out_i64",
        "_out_u64",
        "_out_bool",
        "_session",
        "_now",
        "_store_kind",
        "__weakref__",
    )

    def __init__(
        self,
        config: Config,
        *,
        now_ms: int | None = None,
        entropy: bytes | None = None,
        session_ids: Iterable[str] = (),
        target: str | bytes | None = None,
        cookie: str | bytes | Iterable[str | bytes] | None = None,
        forwarded_proto: str | bytes | Iterable[str | bytes] | None = None,
        tls: bool = False,
        store_unavailable: bool = False,
        store_kind: StoreKind | int = StoreKind.MEMORY,
        clear_stale_cookie: bool = False,
        fingerprint_facts: Mapping[str, str | bytes] | None = None,
        session_header: str | bytes | None = None,
    ) -> None:
        self._ptr: int | None = None
        if not isinstance(config, Config):
            raise TypeError(f"Request: config must be a libsession.Config, not {type(config).__name__}")
        if now_ms is None:
            now_ms = _now_ms()
        elif type(now_ms) is not int:
            if isinstance(now_ms, bool) or not isinstance(now_ms, int):
                raise TypeError(f"Request: now_ms must be an int (Unix milliseconds), not {type(now_ms).__name__}")
            now_ms = int(now_ms)
        if not 0 <= now_ms < 2**63:
            raise ValueError(f"Request: now_ms must be between 0 and 2**63-1, got {now_ms}")
        if entropy is None:
            entropy = _urandom(32)
        elif not isinstance(entropy, bytes):
            raise TypeError(f"Request: entropy must be bytes, not {type(entropy).__name__}")
        if tls is not False and tls is not True:
            raise TypeError(f"Request: tls must be a bool, not {type(tls).__name__}")
        if store_unavailable is not False and store_unavailable is not True:
            raise TypeError(f"Request: store_unavailable must be a bool, not {type(store_unavailable).__name__}")
        ids = _text_list(session_ids, "session_ids", only_str=True) if session_ids else ()
        target_b = None if target is None else _text_bytes(target, "Request: target")
        cookies = () if cookie is None else _text_list(cookie, "cookie")
        xfps = () if forwarded_proto is None else _text_list(forwarded_proto, "forwarded_proto")

        out = ctypes.c_void_p()
        rc = _new(config._handle(), now_ms, entropy, len(entropy), byref(out))
        if rc:
            raise error_for(rc)
        p = self._ptr = out.value
        self._kind = kind = ctypes.c_uint32()
        self._kind_ref = ctypes.pointer(kind)
        self._out_str = LibsessionStr()
        self._out_str_ref = ctypes.pointer(self._out_str)
        self._out_dbl = ctypes.c_double()
        self._out_i64 = ctypes.c_int64()
        self._out_u64 = ctypes.c_uint64()
        self._out_bool = ctypes.c_bool()
        self._session: SessionView | None = None
        self._now = now_ms
        self._store_kind = StoreKind.MEMORY
        try:
            if store_kind != StoreKind.MEMORY:
                self.set_store_kind(store_kind)
            for i in ids:
                self._check(_push_id(p, i, len(i)))
            if target_b is not None:
                self._check(_set_target(p, target_b, len(target_b)))
            for c in cookies:
                self._check(_add_cookie(p, c, len(c)))
            for x in xfps:
                self._check(_add_xfp(p, x, len(x)))
            if tls:
                self._check(_set_tls(p, True))
            if store_unavailable:
                self._check(_set_unavailable(p, True))
            if clear_stale_cookie:
                self._check(_set_clear_stale(p, True))
            for fact, value in (fingerprint_facts or {}).items():
                self.add_fingerprint_fact(fact, value)
            if session_header is not None:
                h = _text_bytes(session_header, "Request: session_header")
                self._check(_add_session_header(p, h, len(h)))
        except BaseException:
            self.close()
            raise

    # -- lifetime ----------------------------------------------------------

    def __repr__(self) -> str:
        if self._ptr is None:
            return "<libsession.Request closed>"
        return f"<libsession.Request has_session={self.has_session}>"

    # -- internals -----------------------------------------------------------
    def _p(self) -> int:
        p = self._ptr
        if p is None:
            raise MisuseError(Result.NULL_PARAMETER, "the request is closed")
        return p

    def _error(self, rc: int) -> Exception:
        s = LibsessionStr()
        detail = None
        if _last_error(self._ptr, byref(s)) == 0 and s.data and s.len:
            detail = string_at(s.data, s.len).decode("utf-8", "replace")
        return error_for(rc, detail)

    def _str(self, getter: Any, p: int) -> LibsessionStr:
        """A borrowed string from a getter (valid until the next state change)."""
        rc = getter(p, self._out_str_ref)
        if rc:
            raise error_for(rc)
        return self._out_str

    def _text(self, getter: Any, p: int) -> str:
        s = self._str(getter, p)
        return string_at(s.data, s.len).decode()

    def _expiry(self, p: int) -> int | None:
        rc = _action_expires(p, byref(self._out_i64), byref(self._out_bool))
        if rc:
            raise error_for(rc)
        return self._out_i64.value if self._out_bool.value else None

    def _flag(self, getter: Any) -> bool:
        rc = getter(self._p(), byref(self._out_bool))
        if rc:
            raise error_for(rc)
        return bool(self._out_bool.value)

    def _check(self, rc: int) -> None:
        if rc:
            raise self._error(rc)

    def _borrowed(self) -> str | None:
        s = self._out_str
        if not s.data:
            return None
        return string_at(s.data, s.len).decode("utf-8")

    # -- request facts (before the first poll) -------------------------------
    def set_target(self, target: str | bytes) -> None:
        """The request target (``/path?query`` or an absolute URL)."""
        b = _text_bytes(target, "target")
        self._check(_set_target(self._p(), b, len(b)))

    def add_cookie_header(self, value: str | bytes) -> None:
        """One ``Cookie`` header value (several are joined with ``"; "``)."""
        b = _text_bytes(value, "cookie header")
        self._check(_add_cookie(self._p(), b, len(b)))

    def add_forwarded_proto(self, value: str | bytes) -> None:
        """One ``X-Forwarded-Proto`` header value (counts only for a trusted proxy)."""
        b = _text_bytes(value, "X-Forwarded-Proto")
        self._check(_add_xfp(self._p(), b, len(b)))

    def set_tls(self, tls: bool) -> None:
        """Whether the connection itself is TLS."""
        if not isinstance(tls, bool):
            raise TypeError(f"tls must be a bool, not {type(tls).__name__}")
        self._check(_set_tls(self._p(), tls))

    def set_clear_stale_cookie(self, on: bool) -> None:
        """Asks for a removal Set-Cookie when the request's cookie names no
        live session (forged, stale, gone from the store) and the response
        sets no new one. Only before the first poll."""
        if not isinstance(on, bool):
            raise TypeError(f"on must be a bool, not {type(on).__name__}")
        self._check(_set_clear_stale(self._p(), on))

    def add_fingerprint_fact(self, name: str, value: str | bytes) -> None:
        """One request fact for the config's ``fingerprint`` (e.g.
        ``("user-agent", ua)``). Only before the first poll."""
        n = _text_bytes(name, "fingerprint fact name")
        v = _text_bytes(value, "fingerprint fact value")
        self._check(_add_fingerprint_fact(self._p(), n, len(n), v, len(v)))

    def poll_event(self) -> Event | None:
        """The oldest event of the session not taken yet (a forged cookie, an
        old key, a record gone or corrupt, a store failure), or ``None``.
        Events never change what the request does."""
        ev = LibsessionEvent()
        self._check(_poll_event(self._p(), byref(ev)))
        if ev.kind == EventKind.NONE:
            return None
        op = StoreOperation(ev.operation) if ev.operation else None
        return Event(EventKind(ev.kind), ev.key_index, op)

    def events(self) -> list[Event]:
        """Every event not taken yet, oldest first (``poll_event`` until ``None``)."""
        out = []
        while (e := self.poll_event()) is not None:
            out.append(e)
        return out

    def set_store_unavailable(self, unavailable: bool) -> None:
        """The store is known to be unavailable: no session for this request."""
        if not isinstance(unavailable, bool):
            raise TypeError(f"unavailable must be a bool, not {type(unavailable).__name__}")
        self._check(_set_unavailable(self._p(), unavailable))

    def set_now(self, now_ms: int) -> None:
        """Updates the request's clock (Unix milliseconds; allowed at any time)."""
        if isinstance(now_ms, bool) or not isinstance(now_ms, int):
            raise TypeError(f"now_ms must be an int, not {type(now_ms).__name__}")
        if not 0 <= now_ms < 2**63:
            raise ValueError(f"now_ms must be between 0 and 2**63-1, got {now_ms}")
        self._check(_set_now(self._p(), now_ms))
        self._now = now_ms

    @property
    def now_ms(self) -> int:
        """The request's clock (Unix milliseconds): what ``poll_with`` gives a
        store as ``now``."""
        return self._now

    @property
    def store_kind(self) -> StoreKind:
        """Which rules the store's records follow (``set_store_kind``)."""
        return self._store_kind

    def set_store_kind(self, kind: StoreKind | int) -> None:
        """``libsession_request_set_store_kind``: ``StoreKind.MEMORY`` (the
        default) or ``StoreKind.TTL``; allowed at any time, it counts for the
        loads answered after it. ``poll_with`` sets it from the store's
        ``kind``."""
        if isinstance(kind, bool) or not isinstance(kind, int):
            raise TypeError(f"store kind must be a libsession.StoreKind, not {type(kind).__name__}")
        self._check(_set_store_kind(self._p(), int(kind)))
        self._store_kind = StoreKind(kind)

    def push_session_id(self, session_id: str) -> None:
        """Queues an ID for the next session this request creates (used
        before any entropy-derived ID; call again to queue more)."""
        if not isinstance(session_id, str):
            raise TypeError(f"session_id must be a str, not {type(session_id).__name__}")
        b = _text_bytes(session_id, "session_id")
        self._check(_push_id(self._p(), b, len(b)))

    @property
    def generated_id_count(self) -> int:
        """How many new session IDs the request has generated (pushed or derived)."""
        rc = _generated(self._p(), byref(self._out_u64))
        if rc:
            raise error_for(rc)
        return int(self._out_u64.value)

    # -- the loop --------------------------------------------------------------
    def next_action(self) -> A.Action:
        """The next action (``libsession_request_poll_action``): a ``Load``,
        ``Save``, ``Touch``, ``Destroy``, ``SetCookie``, ``Ready``, ``Failed``,
        ``Completed`` or ``Error`` object, or the sentinels ``WAIT`` / ``DONE``."""
        p = self._ptr
        if p is None:
            raise MisuseError(Result.NULL_PARAMETER, "the request is closed")
        rc = _poll(p, self._kind_ref)
        if rc:
            raise self._error(rc)
        return self._action(p, self._kind.value)

    def _action(self, p: int, k: int) -> A.Action:
        """The current action (kind ``k``, just polled) as an object."""
        if k == _READY:
            return _READY_ACTION
        if k == _DONE:
            return _DONE_ACTION
        if k == _LOAD:
            return _Load(self._text(_action_id, p))
        if k == _SAVE or k == _TOUCH:
            sid = self._text(_action_id, p)
            record = self._text(_action_record, p)
            return (_Save if k == _SAVE else _Touch)(sid, record, self._expiry(p))
        if k == _SET_COOKIE:
            return _SetCookie(self._text(_action_value, p))
        if k == _DESTROY:
            return _Destroy(self._text(_action_id, p))
        if k == _SET_HEADER:
            return A.SetHeader(self._text(_action_header_name, p), self._text(_action_value, p))
        if k == _WAIT:
            return _WAIT_ACTION
        s = self._str(_action_value, p)
        text = string_at(s.data, s.len).decode("utf-8", "replace") if s.data else None
        if k == _COMPLETED:
            return _Completed(text)
        if k == _FAILED:
            return _Failed(text or "")
        if k == _ERROR:
            return _Error(text or "")
        if k == _CONFLICT or k == _CONFLICT_RELOADED:
            return A.Conflict(k == _CONFLICT_RELOADED)
        raise MisuseError(Result.INVALID_PARAMETER, f"unknown action kind {k} (library newer than the binding?)")

    def handle_load_result(
        self, found: str | bytes | None = None, *, missing: str | None = None, failed: str | None = None
    ) -> None:
        """Answers a ``Load``: ``found`` is the record (JSON text) or ``None``
        (not found); ``missing=message`` reports a store error whose code is
        ``ENOENT`` (not found for the initial load, an error for a reload);
        ``failed=message`` reports a store failure. Then poll."""
        p = self._p()
        if missing is None and failed is None:
            if found is None:
                rc = _handle_load(p, _NOT_FOUND, None, 0)
            else:
                if isinstance(found, str):
                    b = _text_bytes(found, "handle_load_result: found")
                elif isinstance(found, (bytes, bytearray, memoryview)):
                    b = bytes(found)
                else:
                    raise TypeError(f"handle_load_result: found must be str, bytes or None, not {type(found).__name__}")
                rc = _handle_load(p, _FOUND, b, len(b))
        else:
            if sum(x is not None for x in (found, missing, failed)) != 1:
                raise ValueError("handle_load_result: give one of found=, missing=, failed=")
            if missing is not None:
                status, b = _MISSING, _message(missing, "handle_load_result: missing")
            else:
                status, b = _LOAD_FAILED, _message(failed, "handle_load_result: failed")
            rc = _handle_load(p, status, b, len(b))
        if rc:
            raise self._error(rc)

    def handle_store_result(self, failed: str | None = None) -> None:
        """Answers a ``Save``, ``Touch`` or ``Destroy``: success, or
        ``failed=message`` for a store failure. Then poll."""
        p = self._p()
        if failed is None:
            rc = _handle_store(p, _STORE_OK, None, 0)
        else:
            b = _message(failed, "handle_store_result: failed")
            rc = _handle_store(p, _STORE_FAILED, b, len(b))
        if rc:
            raise self._error(rc)

    def take_stored_record(self) -> StoredRecord:
        """For the current ``Save`` or ``Touch``: its record as the engine
        made it (``libsession_request_take_stored_record``), for a store that
        keeps records (give it back with ``handle_load_stored``). At the end
        of the request it carries the session itself (the request has none
        afterwards). The action's ``record`` text stays valid. When the
        engine has no record of its own for the action, the handle holds the
        action's text (loading it reads the text)."""
        p = self._p()
        out = ctypes.c_void_p()
        rc = _take_stored(p, byref(out))
        if rc == Result.WRONG_ACTION and self._kind.value in (_SAVE, _TOUCH):
            return StoredRecord.from_text(self._text(_action_record, p))
        if rc:
            raise self._error(rc)
        return StoredRecord(out.value)

    def handle_load_stored(self, record: StoredRecord) -> None:
        """Answers a ``Load`` with a record the store kept
        (``libsession_request_handle_load_stored``): the engine takes the
        session out of it if it still holds one (the store keeps the handle;
        a store shared between threads calls this under its lock). Then poll."""
        if not isinstance(record, StoredRecord):
            raise TypeError(f"handle_load_stored: record must be a StoredRecord, not {type(record).__name__}")
        rc = _handle_load_stored(self._p(), record._handle())
        if rc:
            raise self._error(rc)

    def redis_command(self, options: RedisOptions) -> RedisCommand:
        """The Redis command for the current ``Load``, ``Save``, ``Touch`` or
        ``Destroy`` by connect-redis's rules
        (``libsession_request_redis_command``): the key, value and TTL come
        from the library, with the request's clock as ``now``. ``MisuseError``
        (``WRONG_ACTION``) when the current action is no store action."""
        if not isinstance(options, RedisOptions):
            raise TypeError(f"redis_command: options must be a libsession.RedisOptions, not {type(options).__name__}")
        c = LibsessionRedisCommand()
        rc = _redis_command(self._p(), options._handle(), byref(c))
        if rc:
            raise error_for(rc)
        key = string_at(c.key.data, c.key.len) if c.key.data else None
        value = string_at(c.value.data, c.value.len) if c.value.data else None
        script = string_at(c.script.data, c.script.len) if c.script.data else None
        ttl = int(c.ttl_seconds) if c.has_ttl else None
        return RedisCommand(_REDIS_OPS[c.op], key, value, ttl, bool(c.nx), script, int(c.expected_version))

    def action_version(self) -> tuple[int, int] | None:
        """For a versioned ``Save`` or ``Touch`` (``versioned``): the
        compare-and-set ``(expected, written)``; ``None`` otherwise
        (``libsession_request_action_version``). Write only if the stored
        record carries ``expected`` (its ``libsessionVersion``; none counts
        as 0; no record is a conflict), else answer
        ``handle_store_result(conflict=True)``."""
        has, expected, written = ctypes.c_bool(), ctypes.c_uint64(), ctypes.c_uint64()
        rc = _action_version(self._p(), byref(has), byref(expected), byref(written))
        if rc:
            raise self._error(rc)
        return (expected.value, written.value) if has.value else None

    def poll_with(self, store: Any) -> A.Action:
        """Polls, answering every store action from ``store`` (a synchronous
        ``libsession.Store``), until an action that needs the host: returns
        it (``SetCookie``, ``Ready``, ``Failed``, ``Completed``, ``Error``,
        ``WAIT`` or ``DONE``).

        A store method that raises ``Exception`` is reported to the engine as
        a store failure with ``str(exception)`` as the message (a ``get`` that
        raises ``FileNotFoundError``, or an exception whose ``code`` is
        ``'ENOENT'``, as the not-found error); the engine then reports it
        where express-session would (``Failed``, ``Completed`` or ``Error``).

        The store's ``kind`` (default ``StoreKind.MEMORY``) is passed to the
        engine first. A store with ``load_stored``, ``save_stored`` and
        ``touch_stored`` (``MemoryStore``) keeps the engine's records:
        ``load_stored(sid, now_ms, request)`` answers the load itself
        (``handle_load_stored``) and returns whether it found the record;
        ``save_stored``/``touch_stored(sid, record, expires_at, now_ms)``
        get ``take_stored_record()``. ``now_ms`` is the request's clock."""
        # The hot path of every synchronous host: store actions are answered
        # straight from the payload, without building action objects.
        p = self._p()
        kind, kind_ref = self._kind, self._kind_ref
        store_kind = getattr(store, "kind", StoreKind.MEMORY)
        if store_kind != self._store_kind:
            self.set_store_kind(store_kind)
        plan = getattr(store, "redis_options", None)
        if plan is not None:
            return self._poll_with_plan(store, plan)
        load_stored = getattr(store, "load_stored", None)
        if load_stored is not None:
            save_stored, touch_stored = store.save_stored, store.touch_stored
        while True:
            rc = _poll(p, kind_ref)
            if rc:
                raise self._error(rc)
            k = kind.value
            if k == _LOAD:
                sid = self._text(_action_id, p)
                if load_stored is not None:
                    try:
                        found = load_stored(sid, self._now, self)
                    except LibsessionError:
                        raise  # misuse of the request, not a store failure
                    except Exception as e:  # reported to the engine, never dropped
                        status = _MISSING if _is_enoent(e) else _LOAD_FAILED
                        b = _exc_message(e).encode("utf-8", "replace")
                        rc = _handle_load(p, status, b, len(b))
                    else:
                        rc = 0 if found else _handle_load(p, _NOT_FOUND, None, 0)
                    if rc:
                        raise self._error(rc)
                    continue
                try:
                    rec = store.get(sid)
                except Exception as e:  # reported to the engine, never dropped
                    status = _MISSING if _is_enoent(e) else _LOAD_FAILED
                    b = _exc_message(e).encode("utf-8", "replace")
                    rc = _handle_load(p, status, b, len(b))
                else:
                    if rec is None:
                        rc = _handle_load(p, _NOT_FOUND, None, 0)
                    else:
                        if type(rec) is str:
                            b = rec.encode()
                        elif isinstance(rec, (bytes, bytearray, memoryview)):
                            b = bytes(rec)
                        elif isinstance(rec, str):
                            b = str(rec).encode()
                        else:
                            raise TypeError(f"store.get must return str, bytes or None, not {type(rec).__name__}")
                        rc = _handle_load(p, _FOUND, b, len(b))
            elif k == _SAVE or k == _TOUCH or k == _DESTROY:
                sid = self._text(_action_id, p)
                held = self.take_stored_record() if load_stored is not None and k != _DESTROY else None
                try:
                    if k == _DESTROY:
                        store.destroy(sid)
                    elif (version := self.action_version()) is not None and not (k == _SAVE and _is_new(p)):
                        # versioned: a compare-and-set, or nothing at all.
                        method, args = self._versioned_call(store, k, p, sid, version)
                        written = method(*args, self._now)
                        if not written:
                            rc = _handle_store(p, _STORE_CONFLICT, None, 0)
                            if rc:
                                raise self._error(rc)
                            continue
                    elif k == _SAVE and _is_new(p) and hasattr(store, "set_if_absent"):
                        # A new session's ID: insert-if-absent; a record there stays.
                        record = self._text(_action_record, p)
                        if not store.set_if_absent(sid, record, self._expiry(p), self._now):
                            rc = _handle_store(p, _STORE_EXISTS, None, 0)
                            if rc:
                                raise self._error(rc)
                            continue
                    elif held is not None:
                        (save_stored if k == _SAVE else touch_stored)(sid, held, self._expiry(p), self._now)
                    else:
                        record = self._text(_action_record, p)
                        exp = self._expiry(p)
                        (store.set if k == _SAVE else store.touch)(sid, record, exp)
                except Exception as e:  # reported to the engine, never dropped
                    b = _exc_message(e).encode("utf-8", "replace")
                    rc = _handle_store(p, _STORE_FAILED, b, len(b))
                else:
                    rc = _handle_store(p, _STORE_OK, None, 0)
            else:
                return self._action(p, k)
            if rc:
                raise self._error(rc)

    def _poll_with_plan(self, store: Any, options: RedisOptions) -> A.Action:
        """``poll_with`` for a store that executes connect-redis's command
        plan (``redis_options`` and ``execute(command)``, see
        ``libsession.redis_store``)."""
        p = self._p()
        kind = self._kind
        while True:
            rc = _poll(p, self._kind_ref)
            if rc:
                raise self._error(rc)
            k = kind.value
            if k not in (_LOAD, _SAVE, _TOUCH, _DESTROY):
                return self._action(p, k)
            command = self.redis_command(options)
            try:
                reply = store.execute(command) if command.op is not RedisOp.NONE else None
            except Exception as e:  # reported to the engine, never dropped
                self._answer_failure(k, e)
            else:
                self._answer_reply(k, reply, command)

    async def poll_with_async(self, store: Any) -> A.Action:
        """``poll_with`` for an asynchronous store: its methods are
        coroutines. A store with ``redis_options`` executes connect-redis's
        command plan (``await store.execute(command)``, see
        ``libsession.redis_store.AsyncRedisStore``); any other has ``get``,
        ``set``, ``touch`` and ``destroy`` coroutines taking what the
        synchronous ``Store`` methods take. Failures (exceptions) are
        reported to the engine as store failures, as in ``poll_with``."""
        p = self._p()
        kind = self._kind
        store_kind = getattr(store, "kind", StoreKind.MEMORY)
        if store_kind != self._store_kind:
            self.set_store_kind(store_kind)
        options = getattr(store, "redis_options", None)
        while True:
            rc = _poll(p, self._kind_ref)
            if rc:
                raise self._error(rc)
            k = kind.value
            if k not in (_LOAD, _SAVE, _TOUCH, _DESTROY):
                return self._action(p, k)
            command = None
            try:
                if options is not None:
                    command = self.redis_command(options)
                    reply = await store.execute(command) if command.op is not RedisOp.NONE else None
                else:
                    sid = self._text(_action_id, p)
                    if k == _LOAD:
                        reply = await store.get(sid)
                    elif k == _DESTROY:
                        reply = await store.destroy(sid)
                    elif (version := self.action_version()) is not None and not (k == _SAVE and _is_new(p)):
                        # versioned: a compare-and-set coroutine, or nothing at all.
                        method, args = self._versioned_call(store, k, p, sid, version)
                        written = await method(*args)
                        if not written:
                            rc = _handle_store(p, _STORE_CONFLICT, None, 0)
                            if rc:
                                raise self._error(rc)
                            continue
                        reply = None
                    else:
                        record = self._text(_action_record, p)
                        exp = self._expiry(p)
                        reply = await (store.set if k == _SAVE else store.touch)(sid, record, exp)
            except LibsessionError:
                raise  # misuse of the request, not a store failure
            except Exception as e:  # reported to the engine, never dropped
                self._answer_failure(k, e)
            else:
                self._answer_reply(k, reply, command)

    def _versioned_call(
        self, store: Any, k: int, p: int, sid: str, version: tuple[int, int]
    ) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        """The store's compare-and-set for the current versioned ``SAVE``
        (``set_if_version(sid, record, expires_at, expected, written)``) or
        ``TOUCH`` (``touch_if_version(sid, record, expires_at, expected)``),
        with its arguments; a synchronous store also takes ``now``. A store
        without it cannot take a versioned write: an error, never a plain one."""
        name = "set_if_version" if k == _SAVE else "touch_if_version"
        method = getattr(store, name, None)
        if method is None:
            raise RuntimeError(f"versioned: the store cannot compare-and-set (no {name})")
        args = (sid, self._text(_action_record, p), self._expiry(p), version[0])
        return method, (args + (version[1],) if k == _SAVE else args)

    def _answer_failure(self, k: int, e: BaseException) -> None:
        """Answers the current store action (kind ``k``) with a failure."""
        p = self._p()
        b = _exc_message(e).encode("utf-8", "replace")
        if k == _LOAD:
            rc = _handle_load(p, _MISSING if _is_enoent(e) else _LOAD_FAILED, b, len(b))
        else:
            rc = _handle_store(p, _STORE_FAILED, b, len(b))
        if rc:
            raise self._error(rc)

    def _answer_reply(self, k: int, reply: object, command: RedisCommand | None = None) -> None:
        """Answers the current store action (kind ``k``) with a store's reply:
        for a load, the record (``None`` or empty: not found); for a planned
        ``SET ... NX`` or ``EVAL``, ``False`` when it did not write (the key
        exists: ``EXISTS``; another version: ``CONFLICT``)."""
        p = self._p()
        if k != _LOAD:
            status = _STORE_OK
            if command is not None and reply is False:
                if command.op is RedisOp.SET and command.nx:
                    status = _STORE_EXISTS
                elif command.op is RedisOp.EVAL:
                    status = _STORE_CONFLICT
            rc = _handle_store(p, status, None, 0)
        elif not reply:
            rc = _handle_load(p, _NOT_FOUND, None, 0)
        elif isinstance(reply, str):
            b = reply.encode()
            rc = _handle_load(p, _FOUND, b, len(b))
        elif isinstance(reply, (bytes, bytearray, memoryview)):
            b = bytes(reply)
            rc = _handle_load(p, _FOUND, b, len(b))
        else:
            raise TypeError(f"a store's load must give str, bytes or None, not {type(reply).__name__}")
        if rc:
            raise self._error(rc)

    def run(self, store: Any, handler: Callable[[Request], object] | None = None) -> RunResult:
        """The whole loop against a synchronous store: ``handler(self)`` runs
        at ``Ready`` (not after ``Failed``), then the request is finished and
        polled to ``DONE``."""
        out = RunResult()
        while True:
            act = self.poll_with(store)
            cls = type(act)
            if cls is _SetCookie:
                out.set_cookie.append(act.value)
            elif cls is A.SetHeader:
                out.headers.append((act.name, act.value))
            elif act is _READY_ACTION:
                if not out.handler_ran:
                    out.handler_ran = True
                    if handler is not None:
                        handler(self)
                self.finish()
            elif cls is _Failed:
                out.failed = True
                out.errors.append(act.message)
                self.finish()
            elif cls is _Error:
                out.errors.append(act.message)
            elif act is _DONE_ACTION:
                return out
            elif act is _WAIT_ACTION:
                raise MisuseError(Result.UNEXPECTED_INPUT, "the engine waits for a store answer in run()")
            # Completed: a handler operation finished; Ready follows.

    def finish(self) -> None:
        """The response is complete (express-session's ``res.end``): decides
        the cookie and the end-of-request save, touch or destroy. Call it
        after ``Ready`` (once the handler is done) or after ``Failed``, then
        poll until ``DONE``."""
        rc = _finish(self._p())
        if rc:
            raise self._error(rc)

    # -- the handler's session ---------------------------------------------------
    @property
    def session(self) -> SessionView:
        """``req.session`` as a dict-like view (JSON-serializable values)."""
        s = self._session
        if s is None:
            s = self._session = SessionView(self)
        return s

    def get(self, key: str, default: Any = None) -> Any:
        """``req.session[key]`` (parsed JSON), or ``default`` if absent."""
        b = _key_bytes(key)
        rc = _get_json(self._p(), b, len(b), byref(self._out_str))
        if rc:
            raise error_for(rc)
        s = self._out_str
        if not s.data:
            return default
        return _json_loads(string_at(s.data, s.len))

    def set(self, key: str, value: Any) -> None:
        """``req.session[key] = value`` (any JSON-serializable value)."""
        b = _key_bytes(key)
        v = encode_json(value, f"session[{key!r}]")
        rc = _set_json(self._p(), b, len(b), v, len(v))
        if rc:
            raise self._error(rc)

    def delete(self, key: str) -> None:
        """``delete req.session[key]`` (absent keys are fine)."""
        b = _key_bytes(key)
        rc = _delete(self._p(), b, len(b))
        if rc:
            raise self._error(rc)

    def increment(self, key: str) -> int | float:
        """``req.session[key] = (typeof it === 'number' ? it : 0) + 1``;
        returns the new value."""
        b = _key_bytes(key)
        rc = _increment(self._p(), b, len(b), byref(self._out_dbl))
        if rc:
            raise self._error(rc)
        return _js_number(self._out_dbl.value)

    def touch(self) -> None:
        """``req.session.touch()``: the cookie expires ``originalMaxAge`` from now."""
        self._check(_touch(self._p()))

    def set_max_age(self, ms: float | None) -> None:
        """``req.session.cookie.maxAge = ms`` (``None``: a browser-session cookie)."""
        has, v = _ms_or_none(ms, "max_age")
        self._check(_set_max_age(self._p(), has, v))

    def set_expires(self, at: float | _dt.datetime | None) -> None:
        """``req.session.cookie.expires = at``: Unix milliseconds, an aware
        ``datetime``, or ``None`` (no expiry)."""
        if isinstance(at, _dt.datetime):
            if at.tzinfo is None or at.utcoffset() is None:
                raise ValueError("set_expires: a datetime must be timezone-aware")
            at = (at - _EPOCH) // _dt.timedelta(milliseconds=1)
        has, v = _ms_or_none(at, "expires")
        self._check(_set_expires(self._p(), has, v))

    def set_cookie_attr(self, name: str, value: Any) -> None:
        """``req.session.cookie[name] = value`` for ``path``, ``domain``,
        ``httpOnly``, ``secure``, ``sameSite``, ``partitioned``, ``priority``,
        ``originalMaxAge`` (checked when the header is written, as in
        express-session)."""
        if not isinstance(name, str):
            raise TypeError(f"cookie attribute name must be a str, not {type(name).__name__}")
        n = name.encode("utf-8", "replace")
        v = encode_json(value, f"cookie.{name}")
        self._check(_set_cookie_attr_by_name(self._p(), n, len(n), v, len(v)))

    def save(self) -> None:
        """``req.session.save()``: poll for a ``Save``, then ``Completed``."""
        self._check(_save(self._p()))

    def reload(self) -> None:
        """``req.session.reload()``: poll for a ``Load``, then ``Completed``."""
        self._check(_reload(self._p()))

    def destroy(self) -> None:
        """``req.session.destroy()``: poll for a ``Destroy``, then ``Completed``."""
        self._check(_destroy(self._p()))

    def regenerate(self, *, keep_data: bool = False) -> None:
        """``req.session.regenerate()``: poll for a ``Destroy`` (with
        ``regenerate_grace``, a ``Save`` of the old ID's read-only grace
        copy), then ``Completed``; the request then has a new session with a
        new ID. ``keep_data=True`` (the login pattern) gives the new session
        exactly the old one's data, but for the engine's own keys (its
        absolute window and last-seen time begin now)."""
        if type(keep_data) is not bool:
            raise TypeError(f"regenerate: keep_data must be a bool, not {type(keep_data).__name__}")
        if keep_data:
            self._check(_regenerate_with(self._p(), True))
        else:
            self._check(_regenerate(self._p()))

    def unset(self) -> None:
        """``req.session = null``: the stored session follows the config's ``unset``."""
        self._check(_unset(self._p()))

    # -- read-only state -----------------------------------------------------
    @property
    def session_id(self) -> str | None:
        """``req.sessionID`` (stays set after ``destroy`` and ``unset``), or ``None``."""
        self._str(_session_id, self._p())
        return self._borrowed()
        return None

    @property
    def cookie_session_id(self) -> str | None:
        """The session ID of the request's cookie, if its signature verified."""
        self._str(_cookie_session_id, self._p())
        return self._borrowed()
        return None

    @property
    def has_session(self) -> bool:
        """Whether ``req.session`` exists."""
        return self._flag(_has_session)

    @property
    def max_age(self) -> int | None:
        """``req.session.cookie.maxAge`` (ms until the cookie expires), or ``None``."""
        rc = _max_age(self._p(), byref(self._out_i64), byref(self._out_bool))
        if rc == Result.NO_SESSION:
            return None
        if rc:
            raise error_for(rc)
        return self._out_i64.value if self._out_bool.value else None

    def max_age_json(self) -> str | None:
        """``req.session.cookie.maxAge`` as JSON text: the ms left, ``null`` for no
        expiry or an invalid date, or the odd non-date value a record gave the
        cookie's ``expires``; ``None`` without a session."""
        rc = _max_age_json(self._p(), byref(self._out_str))
        if rc == Result.NO_SESSION:
            return None
        if rc:
            raise error_for(rc)
        return self._borrowed()

    @property
    def is_secure(self) -> bool:
        """Whether the request counts as secure (known after the first poll)."""
        return self._flag(_is_secure)

    def session_json(self) -> str | None:
        """The session as its store record, JSON text (``JSON.stringify(req.session)``),
        or ``None`` without a session."""
        rc = _session_json(self._p(), byref(self._out_str))
        if rc == Result.NO_SESSION:
            return None
        if rc:
            raise error_for(rc)
        return self._borrowed()

    def data_json(self) -> str:
        """The session data as a JSON object, without the cookie
        (``NoSessionError`` without a session)."""
        rc = _data_json(self._p(), byref(self._out_str))
        if rc:
            raise error_for(rc)
        return self._borrowed() or "{}"

    @property
    def cookie(self) -> dict[str, Any] | None:
        """``req.session.cookie`` as its JSON form (``Cookie#toJSON``), or ``None``."""
        text = self.session_json()
        if text is None:
            return None
        return _json_loads(text).get("cookie")


class SessionView(MutableMapping):
    """``req.session`` as a mutable mapping of JSON values. Values are
    copied in and out (JSON), so mutate through assignment:
    ``s['cart'] = s['cart'] + [item]``. Every operation raises
    ``NoSessionError`` when the request has no session."""

    __slots__ = ("_req",)

    def __init__(self, req: Request) -> None:
        self._req = req

    def __getitem__(self, key: str) -> Any:
        req = self._req
        b = _key_bytes(key)
        rc = _get_json(req._p(), b, len(b), byref(req._out_str))
        if rc:
            raise error_for(rc)
        s = req._out_str
        if not s.data:
            raise KeyError(key)
        return _json_loads(string_at(s.data, s.len))

    def __setitem__(self, key: str, value: Any) -> None:
        self._req.set(key, value)

    def __delitem__(self, key: str) -> None:
        if key not in self:
            raise KeyError(key)
        self._req.delete(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        req = self._req
        b = _key_bytes(key)
        rc = _get_json(req._p(), b, len(b), byref(req._out_str))
        if rc:
            raise error_for(rc)
        return bool(req._out_str.data)

    def to_dict(self) -> dict[str, Any]:
        """The session data (without the cookie) as a new dict."""
        return _json_loads(self._req.data_json())

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.to_dict()))

    def __bool__(self) -> bool:
        """False without a session or with no data (``if session:`` never raises)."""
        return self._req.has_session and len(self) > 0

    def __len__(self) -> int:
        return len(self.to_dict())

    def increment(self, key: str) -> int | float:
        """``session[key] = (number ? it : 0) + 1``; returns the new value."""
        return self._req.increment(key)

    @property
    def exists(self) -> bool:
        """Whether the request has a session."""
        return self._req.has_session

    def __repr__(self) -> str:
        if self._req.closed or not self._req.has_session:
            return "<libsession.SessionView no session>"
        return f"<libsession.SessionView keys={list(self)!r}>"


def _text_list(v: Any, what: str, only_str: bool = False) -> tuple[bytes, ...] | list[bytes]:
    """One str/bytes value, or an iterable of them, as a sequence of bytes."""
    if isinstance(v, (str, bytes, bytearray, memoryview)):
        if only_str:
            raise TypeError(f"Request: {what} must be a list of str, not a single {type(v).__name__}")
        return (v if type(v) is bytes else _text_bytes(v, f"Request: {what}"),)
    try:
        items = list(v)
    except TypeError:
        raise TypeError(f"Request: {what} must be str, bytes or a list of them, not {type(v).__name__}") from None
    if only_str:
        for i in items:
            if not isinstance(i, str):
                raise TypeError(f"Request: {what} items must be str, not {type(i).__name__}")
    return [_text_bytes(i, f"Request: {what} item") for i in items]


def _is_enoent(e: BaseException) -> bool:
    return (
        isinstance(e, FileNotFoundError)
        or getattr(e, "code", None) == "ENOENT"
        or getattr(e, "errno", None) == errno.ENOENT
    )


def _exc_message(e: BaseException) -> str:
    text = str(e)
    return text if text else type(e).__name__
