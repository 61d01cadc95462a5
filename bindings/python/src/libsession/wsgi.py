"""WSGI (PEP 3333) middleware: express-session for any WSGI application.

::

    from libsession import Config, MemoryStore
    from libsession.wsgi import SessionMiddleware

    def app(environ, start_response):
        session = environ["libsession.session"]
        views = session.increment("views")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"views: {views}\\n".encode()]

    app = SessionMiddleware(app, Config(secret=SECRET, max_age=86_400_000), MemoryStore())

For each request the middleware creates a ``libsession.Request`` from the
environ, answers its store actions from the store, puts a ``WSGISession``
(a dict-like view of the session data plus ``regenerate``, ``destroy``,
``save``, ``reload``, ``touch``, ...) in ``environ['libsession.session']``,
runs the application, then finishes the request and adds the engine's
``Set-Cookie`` header to the application's response.

**The response is buffered.** The engine decides the cookie when the
response is complete (express-session's ``res.end``), and an application may
still change the session while it produces its body (a generator), so the
middleware collects the whole body (including ``write()`` calls) before it
calls the server's ``start_response`` with the Set-Cookie header added.
Streaming responses are therefore delivered in one piece.

Request facts come from the environ: the target from ``REQUEST_URI`` or
``RAW_URI`` when the server provides the raw request line, otherwise from
``SCRIPT_NAME`` + ``PATH_INFO`` (percent-encoded again) and
``QUERY_STRING``; ``HTTP_COOKIE``; ``HTTP_X_FORWARDED_PROTO`` (used only if
the config trusts the proxy); TLS when ``wsgi.url_scheme`` is ``'https'``.

Store failures are never swallowed: a store method that raises is reported
to the engine as a store failure. A failed initial load answers ``500`` (the
application does not run); a failed ``save``/``reload``/``destroy``/
``regenerate`` raises ``libsession.StoreError`` in the application; a failed
end-of-request save is written to ``wsgi.errors`` (the response stands, as in express-session).

``on_event``: a callable given each of the request's structured events
(``libsession.Event``: no cookie, signature invalid, verified by an old key,
record not found, store error, ...) once the request is done, to count or
alert on (the demo's ``/stats``); an exception it raises is logged, never
the response's.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from . import _actions as A
from ._config import Config
from ._errors import MisuseError, NoSessionError, Result, StoreError
from ._events import Event
from ._request import Request, SessionView
from ._response_headers import HEADER_ACTIONS, ResponseHeaders, wsgi_environ_key
from .store import MemoryStore, reap_if_due

# StoreError and NoSessionError are re-exported for applications that catch
# them around session calls.
__all__ = ["SessionMiddleware", "WSGISession", "request_target", "ENVIRON_KEY", "StoreError", "NoSessionError"]

ENVIRON_KEY = "libsession.session"

log = logging.getLogger("libsession")

_PATH_SAFE = "/!$&'()*+,;=:@"


def request_target(environ: dict[str, Any]) -> bytes:
    """The request target (``/path?query``) as raw bytes, from a WSGI environ."""
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if raw:
        return raw.encode("latin-1", "replace")
    path = (environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")).encode("latin-1", "replace")
    target = quote(path, safe=_PATH_SAFE) or "/"
    qs = environ.get("QUERY_STRING", "")
    if qs:
        target += "?" + qs
    return target.encode("latin-1", "replace")


class WSGISession(SessionView):
    """``environ['libsession.session']``: the session data as a mutable
    mapping of JSON values (``session['k']``, ``session['k'] = v``, ``del``,
    ``in``, ``keys()``, ``get()``, ``increment(k)``), plus express-session's
    session methods. ``save``, ``reload``, ``destroy`` and ``regenerate``
    talk to the store and raise ``StoreError`` if it failed; every
    operation raises ``NoSessionError`` when the request has no session (for
    example outside the cookie path). Valid during the application call only."""

    __slots__ = ("_mw", "_collect")

    def __init__(self, req: Request, middleware: SessionMiddleware, collect: Callable[[A.Action], None]) -> None:
        super().__init__(req)
        self._mw = middleware
        self._collect = collect

    def _run(self, start: Callable[[], None]) -> None:
        start()
        req = self._req
        while True:
            act = req.poll_with(self._mw.store)
            if type(act) is A.Completed:
                if act.error is not None:
                    raise StoreError(act.error)
                return
            if act is A.READY or act is A.DONE or act is A.WAIT or type(act) is A.Failed:
                raise MisuseError(Result.UNEXPECTED_INPUT, f"session operation ended with {type(act).__name__}")
            self._collect(act)

    def save(self) -> None:
        """``req.session.save()``: store the session now."""
        self._run(self._req.save)

    def reload(self) -> None:
        """``req.session.reload()``: replace the session with the stored copy."""
        self._run(self._req.reload)

    def destroy(self) -> None:
        """``req.session.destroy()``: delete the session (and the stored record)."""
        self._run(self._req.destroy)

    def regenerate(self, *, keep_data: bool = False) -> None:
        """``req.session.regenerate()``: a new, empty session with a new ID;
        with ``keep_data=True`` (the login pattern) the new ID keeps the data."""
        self._run(lambda: self._req.regenerate(keep_data=keep_data))

    def touch(self) -> None:
        """``req.session.touch()``."""
        self._req.touch()

    def unset(self) -> None:
        """``req.session = null`` (the stored session follows the config's ``unset``)."""
        self._req.unset()

    def set_max_age(self, ms: float | None) -> None:
        """``req.session.cookie.maxAge = ms``."""
        self._req.set_max_age(ms)

    def set_expires(self, at: Any) -> None:
        """``req.session.cookie.expires = at`` (Unix ms, aware datetime, or None)."""
        self._req.set_expires(at)

    def set_cookie_attr(self, name: str, value: Any) -> None:
        """``req.session.cookie[name] = value``."""
        self._req.set_cookie_attr(name, value)

    @property
    def id(self) -> str | None:
        """``req.sessionID``."""
        return self._req.session_id

    @property
    def max_age(self) -> float | None:
        """``req.session.cookie.maxAge``."""
        return self._req.max_age

    @property
    def cookie(self) -> dict[str, Any] | None:
        """``req.session.cookie`` as JSON."""
        return self._req.cookie

    @property
    def request(self) -> Request:
        """The underlying ``libsession.Request``."""
        return self._req


class SessionMiddleware:
    """Wraps a WSGI application with sessions (see the module doc).

    ``config``: a ``libsession.Config``; ``store``: a ``libsession.Store``
    (default: a new ``MemoryStore``); ``environ_key``: where the session
    goes; ``clock``: the current Unix time in milliseconds (default: the
    system clock); ``on_event``: called with each of the request's events
    after it is done."""

    def __init__(
        self,
        app: Callable[..., Iterable[bytes]],
        config: Config,
        store: Any = None,
        *,
        environ_key: str = ENVIRON_KEY,
        clock: Callable[[], int] | None = None,
        on_event: Callable[[Event], None] | None = None,
    ) -> None:
        if not callable(app):
            raise TypeError("SessionMiddleware: app must be a WSGI callable")
        if not isinstance(config, Config):
            raise TypeError(f"SessionMiddleware: config must be a libsession.Config, not {type(config).__name__}")
        if store is None:
            store = MemoryStore()
        # A store runs the engine's actions (get, set, touch, destroy), or the
        # connect-redis command plan (redis_options and execute).
        methods = ("execute",) if getattr(store, "redis_options", None) is not None else ("get", "set", "touch", "destroy")
        for method in methods:
            if not callable(getattr(store, method, None)):
                raise TypeError(f"SessionMiddleware: store lacks a callable {method}()")
        self.app = app
        self.config = config
        self.store = store
        self.environ_key = environ_key
        self.clock = clock if clock is not None else (lambda: time.time_ns() // 1_000_000)
        if on_event is not None and not callable(on_event):
            raise TypeError("SessionMiddleware: on_event must be callable")
        self.on_event = on_event

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        out = ResponseHeaders()
        errors = environ.get("wsgi.errors") or sys.stderr

        def collect(act: A.Action) -> None:
            if out.add(act):
                return
            if type(act) is A.Error:
                _report(errors, "libsession: session error after the response: " + act.message)

        def settle() -> A.Action:
            while True:
                act = req.poll_with(self.store)
                if type(act) in HEADER_ACTIONS or type(act) is A.Error:
                    collect(act)
                    continue
                return act

        conflict = False

        def finish() -> None:
            nonlocal conflict
            req.finish()
            act = settle()
            while type(act) is A.Conflict:
                # versioned: the save lost a race; nothing was stored. The
                # response becomes a 409 (the client retries); a reloaded
                # session is finished unchanged.
                conflict = True
                out.clear()
                act = settle()
                if act is A.READY:
                    req.finish()
                    act = settle()
            if act is not A.DONE:
                raise MisuseError(Result.UNEXPECTED_INPUT, f"expected Done after finish, got {type(act).__name__}")

        xfp = environ.get("HTTP_X_FORWARDED_PROTO")
        cookie = environ.get("HTTP_COOKIE")
        header_key = wsgi_environ_key(self.config)
        session_header = None if header_key is None else environ.get(header_key)
        now = self.clock()
        # A MemoryStore's reap, when its reap_interval has passed, on this clock.
        reap_if_due(self.store, now)
        with Request(
            self.config,
            now_ms=now,
            target=request_target(environ),
            cookie=None if cookie is None else cookie.encode("latin-1", "replace"),
            forwarded_proto=None if xfp is None else xfp.encode("latin-1", "replace"),
            tls=environ.get("wsgi.url_scheme") == "https",
            session_header=None if session_header is None else session_header.encode("latin-1", "replace"),
        ) as req:
            try:
                act = settle()
                if type(act) is A.Failed:
                    _report(errors, "libsession: loading the session failed: " + act.message)
                    finish()
                    body = b"Internal Server Error\n"
                    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
                    headers += out.pairs()
                    start_response("500 Internal Server Error", headers)
                    return [body]
                if act is not A.READY:
                    raise MisuseError(Result.UNEXPECTED_INPUT, f"expected Ready, got {type(act).__name__}")

                session = WSGISession(req, self, collect)
                environ[self.environ_key] = session
                captured: dict[str, Any] = {}
                chunks: list[bytes] = []

                def buffered_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
                    if "status" in captured and exc_info is None:
                        raise AssertionError("start_response called a second time without exc_info")
                    if not isinstance(status, str):
                        raise TypeError("start_response: status must be a str")
                    captured["status"] = status
                    captured["headers"] = list(headers)
                    captured["exc_info"] = exc_info
                    return chunks.append

                try:
                    result = self.app(environ, buffered_start_response)
                    try:
                        for chunk in result:
                            chunks.append(chunk)
                    finally:
                        close = getattr(result, "close", None)
                        if close is not None:
                            close()
                except BaseException:
                    # As express-session does when an error handler ends the
                    # response: the end-of-request store work still happens.
                    try:
                        finish()
                    except Exception:
                        log.exception("libsession: finishing the session after an application error failed")
                    raise
                finish()
                if conflict:
                    body = b"Conflict\n"
                    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
                    start_response("409 Conflict", headers + out.pairs())
                    return [body]
                if "status" not in captured:
                    raise RuntimeError("the WSGI application returned without calling start_response")
                headers = captured["headers"] + out.pairs()
                if captured["exc_info"] is not None:
                    start_response(captured["status"], headers, captured["exc_info"])
                else:
                    start_response(captured["status"], headers)
                return chunks
            finally:
                if self.on_event is not None:
                    self._hand_events(req)

    def _hand_events(self, req: Request) -> None:
        """Gives the request's events to ``on_event``."""
        for event in req.events():
            try:
                self.on_event(event)  # type: ignore[misc]
            except Exception:
                log.exception("libsession: on_event raised for %s", event.name)


def _report(stream: Any, message: str) -> None:
    """Writes an engine error to ``wsgi.errors`` (PEP 3333's error stream)."""
    try:
        stream.write(message + "\n")
        stream.flush()
    except Exception:
        log.exception("libsession: cannot write to wsgi.errors: %s", message)
