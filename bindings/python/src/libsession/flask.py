"""Flask integration: express-session behind ``flask.session``.

::

    from flask import Flask, session
    from libsession import Config, MemoryStore
    from libsession.flask import LibsessionInterface

    app = Flask(__name__)
    app.session_interface = LibsessionInterface(Config(secret=SECRET, max_age=86_400_000), MemoryStore())

    @app.get("/")
    def index():
        session["views"] = session.get("views", 0) + 1
        return f"views: {session['views']}"

``LibsessionInterface`` is a Flask ``SessionInterface``: ``open_session``
starts the engine's request (the same request facts as the WSGI middleware:
the target, ``Cookie``, ``X-Forwarded-Proto`` when the config trusts the
proxy, TLS from the URL scheme) and answers its store actions until the
session is ready; ``save_session`` finishes the request, answers the
end-of-request store work, and adds the engine's ``Set-Cookie`` header (and
``Vary: Cookie`` when the view looked at the session) to Flask's response.

The session is express-session's: the engine decides whether to save, touch
or set the cookie (``resave``, ``saveUninitialized``, ``rolling``...) by
comparing the session with what was loaded, so Flask's ``session.modified``
is informational only. Values are JSON. A ``dict`` or ``list`` read from the
session is kept and written back when the response is saved, so
``session["cart"].append(item)`` persists as it does with Flask's own
sessions (an unchanged value costs nothing: the engine sees no change).
``session.regenerate()``, ``destroy()``, ``save()``, ``reload()`` and the
cookie operations of ``libsession.wsgi.WSGISession`` are available too, as is
``session.id`` (``current_session()`` returns ``flask.session`` with those
in its type). The cookie's name and attributes come from the
``libsession.Config``; Flask's ``SESSION_COOKIE_*`` settings are not used,
and ``session.permanent = True`` sets the cookie's ``maxAge`` to the app's
``PERMANENT_SESSION_LIFETIME`` (``False``: a browser-session cookie).

A store that fails the initial load raises ``libsession.StoreError`` from
``open_session``: Flask answers 500 (or re-raises under ``TESTING``), and the
view does not run. A failed end-of-request save is logged (the response
stands, as in express-session).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from flask.sessions import SessionInterface, SessionMixin

from . import _actions as A
from ._config import Config
from ._errors import MisuseError, Result, StoreError
from ._request import Request
from ._response_headers import HEADER_ACTIONS, ResponseHeaders, wsgi_environ_key
from .store import MemoryStore, reap_if_due
from .wsgi import WSGISession, request_target

if TYPE_CHECKING:
    from flask import Flask
    from flask.wrappers import Request as FlaskRequest
    from flask.wrappers import Response as FlaskResponse

__all__ = ["FlaskSession", "LibsessionInterface", "current_session"]

log = logging.getLogger("libsession")


class FlaskSession(WSGISession, SessionMixin):
    """``flask.session`` for one request: the ``WSGISession`` mapping and
    operations, with Flask's ``SessionMixin`` attributes (``permanent``,
    ``new``, ``modified``, ``accessed``). Valid until the response is saved."""

    def __init__(
        self,
        req: Request,
        interface: LibsessionInterface,
        collect: Callable[[A.Action], None],
        headers: ResponseHeaders,
        permanent_lifetime_ms: float,
    ) -> None:
        super().__init__(req, interface, collect)  # type: ignore[arg-type]
        self.headers = headers
        self.modified = False
        self._lifetime_ms = permanent_lifetime_ms
        # Mutable values handed out, written back at save time (see the module doc).
        self._handed_out: dict[str, Any] = {}

    def __getitem__(self, key: str) -> Any:
        if key in self._handed_out:  # the same object again, with its changes
            return self._handed_out[key]
        value = super().__getitem__(key)
        if isinstance(value, (dict, list)):
            self._handed_out[key] = value
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, value)
        self._handed_out.pop(key, None)
        self.modified = True

    def __delitem__(self, key: str) -> None:
        super().__delitem__(key)
        self._handed_out.pop(key, None)
        self.modified = True

    def increment(self, key: str) -> int | float:
        """``session[key] = (number ? it : 0) + 1``; returns the new value."""
        self._handed_out.pop(key, None)
        self.modified = True
        return super().increment(key)

    # The operations that replace the session drop the values handed out:
    # they belong to the session that was.
    def regenerate(self, *, keep_data: bool = False) -> None:
        """``req.session.regenerate()``: a new, empty session with a new ID;
        with ``keep_data=True`` (the login pattern) the new ID keeps the data
        (the dicts and lists handed out are stored first, with their changes)."""
        if keep_data is True:
            self._write_back()
        self._handed_out.clear()
        self.modified = True
        super().regenerate(keep_data=keep_data)

    def destroy(self) -> None:
        """``req.session.destroy()``: delete the session (and the stored record)."""
        self._handed_out.clear()
        self.modified = True
        super().destroy()

    def reload(self) -> None:
        """``req.session.reload()``: replace the session with the stored copy."""
        self._handed_out.clear()
        super().reload()

    @property
    def new(self) -> bool:  # type: ignore[override]  # SessionMixin's is a plain attribute
        """Whether this session was not loaded from the request's cookie."""
        req = self._req
        return req.has_session and req.session_id != req.cookie_session_id

    @property
    def permanent(self) -> bool:
        """Whether the cookie has a ``maxAge`` (a persistent cookie)."""
        return self._req.has_session and self._req.max_age is not None

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self._req.set_max_age(self._lifetime_ms if value else None)
        self.modified = True

    def _write_back(self) -> None:
        """Stores the dicts and lists handed out again (the engine compares)."""
        handed_out, self._handed_out = self._handed_out, {}
        if not self._req.has_session:
            return
        for key, value in handed_out.items():
            if key in self:
                self._req.set(key, value)


class LibsessionInterface(SessionInterface):
    """A Flask ``SessionInterface`` on libsession (see the module doc).

    ``config``: a ``libsession.Config``; ``store``: a ``libsession.Store``
    (default: a new ``MemoryStore``), used from every request thread;
    ``clock``: the current Unix time in milliseconds (default: the system
    clock)."""

    def __init__(self, config: Config, store: Any = None, *, clock: Callable[[], int] | None = None) -> None:
        if not isinstance(config, Config):
            raise TypeError(f"LibsessionInterface: config must be a libsession.Config, not {type(config).__name__}")
        if store is None:
            store = MemoryStore()
        methods = ("execute",) if getattr(store, "redis_options", None) is not None else ("get", "set", "touch", "destroy")
        for method in methods:
            if not callable(getattr(store, method, None)):
                raise TypeError(f"LibsessionInterface: store lacks a callable {method}()")
        self.config = config
        self.store = store
        self.clock = clock if clock is not None else (lambda: time.time_ns() // 1_000_000)

    def open_session(self, app: Flask, request: FlaskRequest) -> FlaskSession:
        environ = request.environ
        headers = ResponseHeaders()

        def collect(act: A.Action) -> None:
            if headers.add(act):
                return
            if type(act) is A.Error:
                log.error("libsession: session error after the response: %s", act.message)

        xfp = environ.get("HTTP_X_FORWARDED_PROTO")
        cookie = environ.get("HTTP_COOKIE")
        header_key = wsgi_environ_key(self.config)
        session_header = None if header_key is None else environ.get(header_key)
        now = self.clock()
        # A MemoryStore's reap, when its reap_interval has passed, on this clock.
        reap_if_due(self.store, now)
        req = Request(
            self.config,
            now_ms=now,
            target=request_target(environ),
            cookie=None if cookie is None else cookie.encode("latin-1", "replace"),
            forwarded_proto=None if xfp is None else xfp.encode("latin-1", "replace"),
            tls=environ.get("wsgi.url_scheme") == "https",
            session_header=None if session_header is None else session_header.encode("latin-1", "replace"),
        )
        try:
            act = _settle(req, self.store, collect)
            if type(act) is A.Failed:
                req.finish()
                _settle(req, self.store, collect)
                raise StoreError(f"libsession: loading the session failed: {act.message}")
            if act is not A.READY:
                raise MisuseError(Result["UNEXPECTED_INPUT"], f"expected Ready, got {type(act).__name__}")
        except BaseException:
            req.close()
            raise
        lifetime_ms = app.permanent_session_lifetime.total_seconds() * 1000
        return FlaskSession(req, self, collect, headers, lifetime_ms)

    def save_session(self, app: Flask, session: SessionMixin, response: FlaskResponse) -> None:
        # Flask calls this with whatever open_session left (None when it raised).
        if not isinstance(session, FlaskSession):
            return
        req = session.request
        if req.closed:
            return
        try:
            session._write_back()
            req.finish()
            act = _settle(req, self.store, session._collect)
            conflict = False
            while type(act) is A.Conflict:
                # versioned: the save lost a race; nothing was stored. The
                # response becomes a 409 (the client retries); a reloaded
                # session is finished unchanged.
                conflict = True
                session.headers.clear()
                act = _settle(req, self.store, session._collect)
                if act is A.READY:
                    req.finish()
                    act = _settle(req, self.store, session._collect)
            if act is not A.DONE:
                raise MisuseError(Result["UNEXPECTED_INPUT"], f"expected Done after finish, got {type(act).__name__}")
        finally:
            req.close()
        if conflict:
            response.status_code = 409
            response.set_data(b"Conflict\n")
            response.mimetype = "text/plain"
        for name, value in session.headers.pairs():
            response.headers.add(name, value)
        if session.accessed:
            response.vary.add("Cookie")


def current_session() -> FlaskSession:
    """``flask.session`` typed as what it is, a ``FlaskSession`` (Flask types
    it as ``SessionMixin``): for ``regenerate()``, ``destroy()``, ``id``...
    with a type checker. Raises ``RuntimeError`` outside a request or when
    the app's session interface is not a ``LibsessionInterface``."""
    from flask import session

    current = cast(Any, session)._get_current_object()
    if not isinstance(current, FlaskSession):
        raise RuntimeError(
            f"flask.session is a {type(current).__name__}, not a libsession session: "
            "set app.session_interface = LibsessionInterface(...)"
        )
    return current


def _settle(req: Request, store: Any, collect: Callable[[A.Action], None]) -> A.Action:
    """Polls (answering store actions from ``store``) until an action the
    caller must act on; Set-Cookie and Error actions go to ``collect``."""
    while True:
        act = req.poll_with(store)
        if type(act) in HEADER_ACTIONS or type(act) is A.Error:
            collect(act)
            continue
        return act
