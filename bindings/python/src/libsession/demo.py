"""A view counter on ``wsgiref``: ``python -m libsession.demo [--host H] [--port N]``.

Routes:

* ``GET /``: increments ``views`` in the session and shows it;
* ``GET /regenerate``: a new session (new ID, counter reset);
* ``GET /destroy``: deletes the session;
* ``GET /whoami``: shows the counter without changing it.

The secret comes from ``LIBSESSION_DEMO_SECRET`` (a random one otherwise,
so sessions do not survive a restart). ``--port 0`` picks a free port; the
URL is printed on the first line of output.
"""

from __future__ import annotations

import argparse
import html
import os
import sys
from typing import Any
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


def make_app(secret: str | bytes | None = None, store: Any = None) -> SessionMiddleware:
    """The demo application wrapped in the session middleware."""
    if secret is None:
        secret = os.environ.get("LIBSESSION_DEMO_SECRET") or os.urandom(32)
    config = Config(secret=secret, max_age=24 * 3600 * 1000)
    return SessionMiddleware(app, config, store if store is not None else MemoryStore())


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # one line per request, no session data
        sys.stderr.write(f"{self.address_string()} {format % args}\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m libsession.demo", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port (default 8080; 0 picks a free one)")
    args = parser.parse_args(argv)
    with make_server(args.host, args.port, make_app(), handler_class=_QuietHandler) as server:
        host, port = server.server_address[:2]
        print(f"libsession demo listening on http://{host}:{port}/", flush=True)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
