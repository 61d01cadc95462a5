"""A view counter on ``wsgiref``:
``python -m libsession.demo [--host H] [--port N] [--options FILE.json] [--redis URL]``.

Routes:

* ``GET /``: increments ``views`` in the session and shows it;
* ``GET /regenerate``: a new session (new ID, counter reset);
* ``GET /destroy``: deletes the session;
* ``GET /whoami``: shows the counter without changing it;
* JSON routes shared with the other demos (the fleet test drives them on
  every host): ``GET /views`` (increments ``views``: ``{"id", "views"}``),
  ``GET /login?user=NAME`` (sets ``user``), ``GET /logout`` (destroys the
  session), ``GET /show`` (``{"id", "data"}``: the session data without
  its cookie).

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

Without ``--options`` the secret comes from ``LIBSESSION_DEMO_SECRET`` (a
random one otherwise, so sessions do not survive a restart) and cookies
last a day. ``--port 0`` picks a free port; the URL is printed on the first
line of output.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, make_server

from . import Config, MemoryStore
from .wsgi import SessionMiddleware

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>libsession demo</title></head>
<body>
<h1>{title}</h1>
<p id="views">views: {views}</p>
<p><a href="/">count</a> &middot; <a href="/regenerate">regenerate</a> &middot;
<a href="/destroy">destroy</a></p>
</body></html>
"""


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The application: it sees the session as ``environ['libsession.session']``."""
    session = environ["libsession.session"]
    path = environ.get("PATH_INFO", "/")
    if path in ("/views", "/login", "/logout", "/show"):
        return _json_route(session, path, environ, start_response)
    if path == "/":
        views = session.increment("views")
        title = "Hello"
    elif path == "/regenerate":
        session.regenerate()
        views = session.get("views", 0)
        title = "New session"
    elif path == "/destroy":
        session.destroy()
        views = 0
        title = "Session destroyed"
    elif path == "/whoami":
        views = session.get("views", 0)
        title = "Current session"
    else:
        body = b"not found\n"
        start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
        return [body]
    if "text/html" in environ.get("HTTP_ACCEPT", ""):
        body = PAGE.format(title=html.escape(title), views=views).encode()
        ctype = "text/html; charset=utf-8"
    else:
        body = f"{title}\nviews: {views}\n".encode()
        ctype = "text/plain; charset=utf-8"
    start_response("200 OK", [("Content-Type", ctype), ("Content-Length", str(len(body)))])
    return [body]


def _json_route(session: Any, path: str, environ: dict[str, Any], start_response: Any) -> list[bytes]:
    status = "200 OK"
    if path == "/views":
        out: dict[str, Any] = {"id": session.id, "views": session.increment("views")}
    elif path == "/login":
        users = parse_qs(environ.get("QUERY_STRING", "")).get("user")
        if not users:
            status, out = "400 Bad Request", {"error": "user missing"}
        else:
            session["user"] = users[0]
            out = {"id": session.id, "user": users[0]}
    elif path == "/logout":
        session.destroy()
        out = {"loggedOut": True}
    else:
        out = {"id": session.id, "data": session.to_dict()}
    body = json.dumps(out, ensure_ascii=False, separators=(",", ":")).encode()
    start_response(status, [("Content-Type", "application/json; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def make_app(
    secret: str | bytes | None = None, store: Any = None, *, express_options: dict[str, Any] | None = None
) -> SessionMiddleware:
    """The demo application wrapped in the session middleware: with
    ``express_options`` (an express-session options object without
    ``store``) the config is read from it, else it has ``secret`` (default:
    ``LIBSESSION_DEMO_SECRET`` or random) and a one-day ``maxAge``."""
    if express_options is not None:
        config = Config.from_express_options(express_options)
    else:
        if secret is None:
            secret = os.environ.get("LIBSESSION_DEMO_SECRET") or os.urandom(32)
        config = Config(secret=secret, max_age=24 * 3600 * 1000)
    return SessionMiddleware(app, config, store if store is not None else MemoryStore())


def read_options(path: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """An options file: ``(express options without "store", the store's
    options or None)``: connect-redis's with ``--redis``, else Connect
    MemoryStore's ``reapInterval`` and ``maxAge``."""
    with open(path, encoding="utf-8") as f:
        options = json.load(f)
    if not isinstance(options, dict):
        raise SystemExit(f"{path}: the options must be a JSON object")
    store = options.pop("store", None)
    if store is not None and not isinstance(store, dict):
        raise SystemExit(f"{path}: \"store\" must be an object of store options")
    return options, store


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # one line per request, no session data
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m libsession.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    parser.add_argument(
        "--options", metavar="FILE.json", help='express-session options (the store\'s options under "store")'
    )
    parser.add_argument("--redis", metavar="URL", help="keep sessions in Redis, as connect-redis does")
    args = parser.parse_args(argv)
    express, store_options = read_options(args.options) if args.options else (None, None)
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
            raise SystemExit(f'{args.options}: "store": {e}') from None
    with make_server(args.host, args.port, make_app(store=store, express_options=express), handler_class=_QuietHandler) as server:
        host, port = server.server_address[:2]
        print(f"libsession demo listening on http://{host}:{port}/", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
