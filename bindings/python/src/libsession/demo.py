"""The libsession demo, a view counter on ``wsgiref``:
``python -m libsession.demo [--port N] [--options FILE.json] [--redis URL]``.

The same routes, page, options and event counters as the Rust demo
(``examples/demo.rs``) and the C one (``examples/c/server.c``); the suite in
``tests/demos/`` drives all three alike, over HTTP and in a real browser.

Routes:

* ``GET /``: increments ``views`` in the session and shows the page (views,
  user, a shortened session ID, the session cookie's attributes);
* ``GET /login?user=NAME``: regenerates the session (a new ID, as after a
  login) and stores ``user`` (NAME: 1 to 64 letters, digits, ``._-``;
  default ``demo``; another NAME is a 400);
* ``GET /logout``: destroys the session (and, with ``clearCookieOnDestroy``,
  on by default, removes the cookie);
* JSON routes shared with the other demos (the fleet test drives them on
  every host): ``GET /views`` (increments ``views``: ``{"id", "views"}``),
  ``GET /show`` (``{"id", "data"}``: the session data without its cookie);
* ``GET /stats``: the engine's events counted by kind,
  ``{"requests": N, "events": {"no_cookie": N, ...}}``, also printed on
  stderr every 100 requests and at exit.

``--options FILE.json``: an express-session options object (read with
``Config.from_express_options``, express-session's defaults for what it
leaves out), so this demo and a Node app can run from one configuration
file; connect-redis's options go under its ``"store"`` member (``prefix``,
``ttl``, ``disableTouch``, ``disableTTL``) and are used with ``--redis``;
in memory, Connect MemoryStore's ``reapInterval`` and ``maxAge`` (ms) there
set up the ``MemoryStore``, reaped as requests arrive.
``--redis URL`` (``redis://host:port/db``): sessions in Redis, as
connect-redis keeps them (``libsession.redis_store.RedisStore``), instead
of in memory.

The secret: the options file's ``"secret"``, else ``SESSION_SECRET``, else a
fixed development secret (with a warning on stderr). Without ``--options``
cookies last a day. ``--port 0`` picks a free port (default ``$PORT``, else
3000); the URL is printed on the first line of output.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, make_server

from . import Config, MemoryStore
from ._events import Event, EventKind
from .wsgi import SessionMiddleware

#: The development secret every demo uses when ``SESSION_SECRET`` is unset:
#: public, so anyone can forge its cookies.
DEV_SECRET = "libsession demo development secret: set SESSION_SECRET"

_USER_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-")


def secret_from_env() -> str:
    """``SESSION_SECRET``, else the development secret with a warning on stderr."""
    secret = os.environ.get("SESSION_SECRET")
    if secret:
        return secret
    print(
        "warning: SESSION_SECRET is not set: using a fixed development secret, so anyone can forge "
        "this demo's cookies; set SESSION_SECRET to 32+ random bytes",
        file=sys.stderr,
        flush=True,
    )
    return DEV_SECRET


# ----- the page (byte for byte the Rust and C demos'; tests/demos checks it) -----


@dataclass(frozen=True)
class Page:
    """What a page says happened."""

    title: str
    what: str


VIEWS = Page("Views", "This page counts your visits in your session.")
LOGIN = Page("Logged in", "You are logged in: a new session ID was issued and your user name stored in it.")
LOGOUT = Page("Logged out", "You are logged out: the session was destroyed.")
NOT_FOUND = Page("Not found", "There is no page here.")
BAD_USER = Page("Bad request", "A user name is 1 to 64 letters, digits, dots, underscores or hyphens.")
METHOD = Page("Method not allowed", "Only GET and HEAD are served here.")
STORE_ERROR = Page("Session error", "The session store failed; try again.")

TEMPLATE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>libsession demo</title></head>
<body>
<h1>{title}</h1>
<p id="what">{what}</p>
<table>
<tr><th>Views</th><td id="views">{views}</td></tr>
<tr><th>User</th><td id="user">{user}</td></tr>
<tr><th>Session ID</th><td id="sid">{sid}</td></tr>
<tr><th>Cookie</th><td id="cookie">{cookie}</td></tr>
</table>
<p><a href="/">Count</a> \u00b7 <a href="/login">Log in</a> \u00b7 <a href="/logout">Log out</a> \u00b7 <a href="/stats">Stats</a></p>
<p>Log in regenerates the session: the old session ID is discarded and a new one issued, so an ID someone planted before you logged in is worthless; then your user name is stored in the new session.</p>
<p>Log out destroys the session in the store and, with clearCookieOnDestroy (on by default), answers with a cookie that expired in 1970, so the browser deletes it.</p>
</body>
</html>
"""

NONE = "(none)"


def escape_html(s: str) -> str:
    """``& < > " '`` as entities (as the other demos write them)."""
    return (
        s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;").replace("'", "&#39;")
    )


def _capitalized(s: str) -> str:
    lower = "".join(c.lower() if "A" <= c <= "Z" else c for c in s)
    return lower[:1].upper() + lower[1:] if lower[:1].isascii() else lower


def cookie_attributes(cookie: Any) -> str:
    """The session cookie's attributes as Set-Cookie names them, from the
    session's ``cookie`` (express-session's ``Cookie#toJSON``): Path,
    Domain, Expires (the stored ISO instant), HttpOnly, Secure, SameSite,
    Partitioned, Priority."""
    if not isinstance(cookie, dict):
        return ""

    def text(k: str) -> str | None:
        v = cookie.get(k)
        return v if isinstance(v, str) else None

    def on(k: str) -> bool:
        return cookie.get(k) is True

    out = []
    if (p := text("path")) is not None:
        out.append(f"Path={p}")
    if (d := text("domain")) is not None:
        out.append(f"Domain={d}")
    if (e := text("expires")) is not None:
        out.append(f"Expires={e}")
    if on("httpOnly"):
        out.append("HttpOnly")
    if on("secure"):
        out.append("Secure")
    if on("sameSite"):
        out.append("SameSite=Strict")
    elif (s := text("sameSite")) is not None:
        out.append(f"SameSite={_capitalized(s)}")
    if on("partitioned"):
        out.append("Partitioned")
    if (pr := text("priority")) is not None:
        out.append(f"Priority={_capitalized(pr)}")
    return "; ".join(out)


def render(page: Page, session: Any = None) -> bytes:
    """The page with the state of ``session`` (a ``WSGISession``; ``None``:
    no session)."""
    views, user, sid, cookie = "0", NONE, NONE, NONE
    if session is not None and session.request.has_session:
        n = session.get("views")
        if isinstance(n, (int, float)) and not isinstance(n, bool):
            views = str(int(n)) if float(n).is_integer() and abs(n) < 1e15 else json.dumps(n)
        u = session.get("user")
        if isinstance(u, str):
            user = escape_html(u)
        if session.id is not None:
            sid = escape_html(session.id[:8]) + "\u2026"
        attrs = cookie_attributes(session.cookie)
        if attrs:
            cookie = escape_html(attrs)
    return TEMPLATE.format(title=page.title, what=page.what, views=views, user=user, sid=sid, cookie=cookie).encode()


def user_param(query: str) -> str | None:
    """``?user=NAME``: NAME when it is 1 to 64 letters, digits or ``._-``;
    ``"demo"`` when absent or empty; ``None`` when it is not a valid name."""
    raw = next((kv[5:] for kv in query.split("&") if kv.startswith("user=")), "")
    if not raw:
        return "demo"
    return raw if len(raw) <= 64 and all(c in _USER_CHARS for c in raw) else None


# ----- the application ---------------------------------------------------------


def _html(start_response: Any, status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body))),
                            ("Cache-Control", "no-store")])
    return [body]


def _json(start_response: Any, out: Any) -> list[bytes]:
    body = json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode()
    start_response("200 OK", [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body))),
                              ("Cache-Control", "no-store")])
    return [body]


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The application: it sees the session as ``environ['libsession.session']``."""
    session = environ["libsession.session"]
    path = environ.get("PATH_INFO", "/")
    has = session.request.has_session
    if path == "/":
        if has:
            session.increment("views")
        return _html(start_response, "200 OK", render(VIEWS, session))
    if path == "/views":
        return _json(start_response, {"id": session.id, "views": session.increment("views")})
    if path == "/show":
        return _json(start_response, {"id": session.id, "data": session.to_dict()})
    if path == "/login":
        user = user_param(environ.get("QUERY_STRING", ""))
        if user is None:
            return _html(start_response, "400 Bad Request", render(BAD_USER, session))
        if has:
            session.regenerate()
            session["user"] = user
        return _html(start_response, "200 OK", render(LOGIN, session))
    if path == "/logout":
        if has:
            session.destroy()
        return _html(start_response, "200 OK", render(LOGOUT))
    return _html(start_response, "404 Not Found", render(NOT_FOUND, session))


class Stats:
    """Requests run through the engine, and its events counted by kind."""

    #: The events' names, in the order of their kinds.
    NAMES = [k.name.lower() for k in sorted(EventKind) if k is not EventKind.NONE]

    def __init__(self) -> None:
        self.requests = 0
        self.events = dict.fromkeys(self.NAMES, 0)

    def on_event(self, event: Event) -> None:
        """The middleware's ``on_event``."""
        if event.name in self.events:
            self.events[event.name] += 1

    def counted(self) -> None:
        """One more request; every 100, the counters on stderr."""
        self.requests += 1
        if self.requests % 100 == 0:
            self.log()

    def log(self) -> None:
        print(f"libsession demo stats: {self.json()}", file=sys.stderr, flush=True)

    def json(self) -> str:
        """``{"requests":N,"events":{"no_cookie":N,...}}``, the same in every demo."""
        return json.dumps({"requests": self.requests, "events": self.events}, separators=(",", ":"))


def make_app(
    secret: str | bytes | None = None,
    store: Any = None,
    *,
    express_options: dict[str, Any] | None = None,
    stats: Stats | None = None,
) -> Callable[[dict[str, Any], Any], Iterable[bytes]]:
    """The demo: ``/stats`` and the method check, then the application
    wrapped in the session middleware. With ``express_options`` (an
    express-session options object without ``store``) the config is read
    from it (its secret, else ``secret``, else ``secret_from_env()``); without,
    it has ``secret`` (default ``secret_from_env()``) and a one-day
    ``maxAge``."""
    if express_options is not None:
        if "secret" not in express_options:
            express_options = {"secret": secret if secret is not None else secret_from_env(), **express_options}
        config = Config.from_express_options(express_options)
    else:
        config = Config(secret=secret if secret is not None else secret_from_env(), max_age=24 * 3600 * 1000)
    stats = stats if stats is not None else Stats()
    sessions = SessionMiddleware(app, config, store if store is not None else MemoryStore(), on_event=stats.on_event)

    def demo(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD", "GET") not in ("GET", "HEAD"):
            return _html(start_response, "405 Method Not Allowed", render(METHOD))
        if environ.get("PATH_INFO") == "/stats":  # outside the engine: no session, not counted
            body = stats.json().encode()
            start_response("200 OK", [("Content-Type", "application/json; charset=utf-8"),
                                      ("Content-Length", str(len(body))), ("Cache-Control", "no-store")])
            return [body]
        try:
            return sessions(environ, start_response)
        finally:
            stats.counted()

    demo.stats = stats  # type: ignore[attr-defined]
    return demo


def read_options(path: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """An options file: ``(express options without "store", the store's
    options or None: connect-redis's with ``--redis``, else Connect
    MemoryStore's ``reapInterval`` and ``maxAge``)``. Raises ``ValueError`` with the reason."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror}") from None
    try:
        options = json.loads(text)
    except ValueError as e:
        raise ValueError(f"{path}: not JSON: {e}") from None
    if not isinstance(options, dict):
        raise ValueError(f"{path}: an express-session options object is a JSON object")
    store = options.pop("store", None)
    if store is not None and not isinstance(store, dict):
        raise ValueError(f'{path}: "store" must be an object of store options')
    return options, store


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # one line per request, no session data
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError("--port needs a port number (0-65535)")
    return int(text)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m libsession.demo",
        description="The libsession demo: a view counter. Routes: / (count) /login?user=NAME (regenerate) "
        "/logout (destroy) /views /show /stats. The secret: the options file's \"secret\", else "
        "$SESSION_SECRET, else a fixed development secret.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=None, help="port (0: any free one; default $PORT, else 3000)")
    parser.add_argument(
        "--options", metavar="FILE.json", help='express-session options (the store\'s options under "store")'
    )
    parser.add_argument("--redis", metavar="URL", help="keep sessions in Redis, as connect-redis does")
    args = parser.parse_args(argv)
    port = args.port
    if port is None:
        env = os.environ.get("PORT", "")
        try:
            port = _port(env) if env else 3000
        except argparse.ArgumentTypeError:
            parser.error("$PORT needs a port number (0-65535)")
    try:
        express, store_options = read_options(args.options) if args.options else (None, None)
    except ValueError as e:
        print(e, file=sys.stderr)
        raise SystemExit(2) from None
    store: Any = None
    if args.redis:
        from .redis_store import RedisStore

        store = RedisStore(args.redis, options=store_options or {})
    elif store_options is not None:
        # Connect MemoryStore's reapInterval and maxAge (the middleware reaps
        # at the start of each request, on its clock).
        try:
            store = MemoryStore.from_options(store_options)
        except (TypeError, ValueError) as e:
            print(f'{args.options}: "store": {e}', file=sys.stderr)
            raise SystemExit(2) from None
    try:
        demo = make_app(store=store, express_options=express)
    except Exception as e:  # a bad option: the library says which
        print(f"configuration error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    with make_server(args.host, port, demo, handler_class=_QuietHandler) as server:
        # SIGTERM ends the server as Ctrl-C does (with the counters on stderr),
        # between requests: shutdown() waits for serve_forever, so from a thread.
        signal.signal(signal.SIGTERM, lambda signum, frame: threading.Thread(target=server.shutdown).start())
        host, bound = server.server_address[:2]
        print(f"libsession demo listening on http://{host}:{bound}/", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            demo.stats.log()  # type: ignore[attr-defined]


if __name__ == "__main__":
    main()
