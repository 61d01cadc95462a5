"""ASGI (3.0) middleware: express-session for any ASGI application, with an
asynchronous store (``libsession.redis_store.AsyncRedisStore``, or any store
whose ``get``/``set``/``touch``/``destroy`` are coroutines)::

    from libsession import Config
    from libsession.asgi import SessionMiddleware
    from libsession.redis_store import AsyncRedisStore

    async def app(scope, receive, send):
        session = scope["libsession.session"]
        views = session.increment("views")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": f"views: {views}\\n".encode()})

    app = SessionMiddleware(app, Config(secret=SECRET), AsyncRedisStore("redis://127.0.0.1:6379/0"))

For each HTTP request the middleware creates a ``libsession.Request`` from
the scope (the raw path and query, the ``Cookie`` and ``X-Forwarded-Proto``
headers, TLS when the scheme is ``https``), answers its store actions from
the store, and puts an ``ASGISession`` in ``scope['libsession.session']``:
the session data as a mapping (``session['k']``, ``increment``, ...) and
express-session's operations as coroutines (``await session.regenerate()``,
``destroy``, ``save``, ``reload``).

**The response is held until its last body chunk.** The engine decides the
cookie and the end-of-request save when the response is complete (as
express-session does at ``res.end``), so the ``http.response.start`` message
is sent, with the ``Set-Cookie`` header added, once the application has sent
its last body chunk (``more_body`` false) and the store has answered.

Store failures are never swallowed: a failed initial load answers 500 (the
application does not run); a failed ``save``/``reload``/``destroy``/
``regenerate`` raises ``libsession.StoreError`` in the application; a failed
end-of-request save is logged (the response stands, as in express-session).
Other scope types (``websocket``, ``lifespan``) pass through untouched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import quote

from . import _actions as A
from ._config import Config
from ._errors import MisuseError, NoSessionError, Result, StoreError
from ._request import Request, SessionView
from ._response_headers import HEADER_ACTIONS, ResponseHeaders
from .store import reap_if_due

__all__ = ["SessionMiddleware", "ASGISession", "SCOPE_KEY", "StoreError", "NoSessionError"]

SCOPE_KEY = "libsession.session"

log = logging.getLogger("libsession")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def request_target(scope: Scope) -> bytes:
    """The request target (``/path?query``) as raw bytes, from an ASGI scope."""
    path = scope.get("raw_path")
    if not path:
        path = quote(scope.get("root_path", "") + scope.get("path", "/"), safe="/!$&'()*+,;=:@").encode("latin-1")
    qs = scope.get("query_string", b"")
    return path + b"?" + qs if qs else path


class ASGISession(SessionView):
    """``scope['libsession.session']``: the session data as a mutable mapping
    of JSON values, plus express-session's session methods; those that talk
    to the store are coroutines and raise ``StoreError`` if it failed. Every
    operation raises ``NoSessionError`` when the request has no session.
    Valid during the application call only."""

    __slots__ = ("_store", "_collect")

    def __init__(self, req: Request, store: Any, collect: Callable[[A.Action], None]) -> None:
        super().__init__(req)
        self._store = store
        self._collect = collect

    async def _run(self, start: Callable[[], None]) -> None:
        start()
        while True:
            act = await self._req.poll_with_async(self._store)
            if type(act) is A.Completed:
                if act.error is not None:
                    raise StoreError(act.error)
                return
            if act is A.READY or act is A.DONE or act is A.WAIT or type(act) is A.Failed:
                raise MisuseError(Result.UNEXPECTED_INPUT, f"session operation ended with {type(act).__name__}")
            self._collect(act)

    async def save(self) -> None:
        """``req.session.save()``."""
        await self._run(self._req.save)

    async def reload(self) -> None:
        """``req.session.reload()``."""
        await self._run(self._req.reload)

    async def destroy(self) -> None:
        """``req.session.destroy()``: delete the session and its record."""
        await self._run(self._req.destroy)

    async def regenerate(self, *, keep_data: bool = False) -> None:
        """``req.session.regenerate()``: a new, empty session with a new ID;
        with ``keep_data=True`` (the login pattern) the new ID keeps the data."""
        await self._run(lambda: self._req.regenerate(keep_data=keep_data))

    def touch(self) -> None:
        """``req.session.touch()``."""
        self._req.touch()

    @property
    def id(self) -> str | None:
        """``req.sessionID``."""
        return self._req.session_id

    @property
    def request(self) -> Request:
        """The underlying ``libsession.Request``."""
        return self._req


class SessionMiddleware:
    """Wraps an ASGI application with sessions (see the module doc).
    ``config``: a ``libsession.Config``; ``store``: an asynchronous store;
    ``scope_key``: where the session goes; ``clock``: Unix ms (default: the
    system clock)."""

    def __init__(
        self,
        app: ASGIApp,
        config: Config,
        store: Any,
        *,
        scope_key: str = SCOPE_KEY,
        clock: Callable[[], int] | None = None,
    ) -> None:
        if not callable(app):
            raise TypeError("SessionMiddleware: app must be an ASGI callable")
        if not isinstance(config, Config):
            raise TypeError(f"SessionMiddleware: config must be a libsession.Config, not {type(config).__name__}")
        methods = ("execute",) if getattr(store, "redis_options", None) is not None else ("get", "set", "touch", "destroy")
        for method in methods:
            if not callable(getattr(store, method, None)):
                raise TypeError(f"SessionMiddleware: store lacks a callable {method}()")
        self.app = app
        self.config = config
        self.store = store
        self.scope_key = scope_key
        self.clock = clock if clock is not None else (lambda: time.time_ns() // 1_000_000)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        cookie = [bytes(v) for k, v in headers if bytes(k).lower() == b"cookie"]
        xfp = [bytes(v) for k, v in headers if bytes(k).lower() == b"x-forwarded-proto"]
        header_name = self.config.session_header
        wanted = None if header_name is None else header_name.lower().encode("latin-1")
        session_header = next((bytes(v) for k, v in headers if bytes(k).lower() == wanted), None)
        out_headers = ResponseHeaders()
        store = self.store

        def collect(act: A.Action) -> None:
            if out_headers.add(act):
                return
            if type(act) is A.Error:
                log.error("libsession: session error after the response: %s", act.message)

        now = self.clock()
        # A MemoryStore's reap, when its reap_interval has passed, on this clock.
        reap_if_due(self.store, now)
        with Request(
            self.config,
            now_ms=now,
            target=request_target(scope),
            cookie=cookie,
            forwarded_proto=xfp or None,
            tls=scope.get("scheme") == "https",
            session_header=session_header,
        ) as req:

            async def settle() -> A.Action:
                while True:
                    act = await req.poll_with_async(store)
                    if type(act) in HEADER_ACTIONS or type(act) is A.Error:
                        collect(act)
                        continue
                    return act

            finished = False
            conflict = False

            async def finish() -> None:
                nonlocal finished, conflict
                finished = True
                req.finish()
                act = await settle()
                while type(act) is A.Conflict:
                    # versioned: the save lost a race; nothing was stored. The
                    # response becomes a 409; a reloaded session is finished
                    # unchanged.
                    conflict = True
                    out_headers.clear()
                    act = await settle()
                    if act is A.READY:
                        req.finish()
                        act = await settle()
                if act is not A.DONE:
                    raise MisuseError(Result.UNEXPECTED_INPUT, f"expected Done after finish, got {type(act).__name__}")

            act = await settle()
            if type(act) is A.Failed:
                log.error("libsession: loading the session failed: %s", act.message)
                await finish()
                body = b"Internal Server Error\n"
                await send(
                    {
                        "type": "http.response.start",
                        "status": 500,
                        "headers": [
                            (b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                        ]
                        + out_headers.latin1_pairs(),
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
            if act is not A.READY:
                raise MisuseError(Result.UNEXPECTED_INPUT, f"expected Ready, got {type(act).__name__}")

            inner = dict(scope)
            inner[self.scope_key] = ASGISession(req, store, collect)
            start: Message | None = None
            chunks: list[bytes] = []
            sent = False

            async def held_send(message: Message) -> None:
                nonlocal start, sent
                kind = message.get("type")
                if kind == "http.response.start":
                    if start is not None:
                        raise RuntimeError("http.response.start sent twice")
                    start = message
                    return
                if kind == "http.response.body" and not sent:
                    if start is None:
                        raise RuntimeError("http.response.body before http.response.start")
                    chunks.append(bytes(message.get("body", b"")))
                    if message.get("more_body", False):
                        return
                    await finish()
                    sent = True
                    if conflict:
                        body = b"Conflict\n"
                        conflict_headers = [
                            (b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                        ]
                        await send({"type": "http.response.start", "status": 409, "headers": conflict_headers})
                        await send({"type": "http.response.body", "body": body})
                        return
                    out = dict(start)
                    out["headers"] = list(start.get("headers") or []) + out_headers.latin1_pairs()
                    await send(out)
                    await send({"type": "http.response.body", "body": b"".join(chunks)})
                    return
                await send(message)

            try:
                await self.app(inner, receive, held_send)
            except BaseException:
                # As express-session does when an error handler ends the
                # response: the end-of-request store work still happens.
                if not finished:
                    try:
                        await finish()
                    except Exception:
                        log.exception("libsession: finishing the session after an application error failed")
                raise
            if not sent:
                if not finished:
                    await finish()
                raise RuntimeError("the ASGI application returned without completing its response")
