"""The ``header`` option (issue 13 item 7) in Python: the engine's
``SetHeader`` action and ``session_header=`` fact, and the WSGI, ASGI and
Flask hosts reading the request header and sending the response header."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest

import libsession as ls
from conftest import NOW, SECRET

HEADER = "X-Session-Id"


def header_config(**extra: Any) -> ls.Config:
    return ls.Config.from_express_options({"secret": SECRET, "header": HEADER, **extra})


def test_the_engine_answers_and_reads_the_header(store):
    with header_config() as cfg:
        assert cfg.session_header == HEADER
        with ls.Request(cfg, now_ms=NOW) as req:
            out = req.run(store, lambda r: r.increment("views"))
            sid = req.session_id
        assert len(out.set_cookie) == 1 and len(out.headers) == 1
        name, value = out.headers[0]
        assert name == HEADER and out.set_cookie[0].startswith(f"connect.sid={value};")
        # No cookie, only the header: the same session, nothing to resend.
        views = []
        with ls.Request(cfg, now_ms=NOW, session_header=value) as req:
            out = req.run(store, lambda r: views.append(r.increment("views")))
            assert req.session_id == sid and views == [2]
        assert out.set_cookie == [] and out.headers == []
        # A forged value: a fresh session and the event.
        with ls.Request(cfg, now_ms=NOW, session_header=value[:-1] + ("A" if value[-1] != "A" else "B")) as req:
            req.run(store)
            assert req.session_id != sid
            assert ls.Event(ls.EventKind.SIGNATURE_INVALID) in req.events()
    # Off (express mode and the secure defaults): ignored, never a SetHeader.
    with ls.Config(secret=SECRET) as plain:
        assert plain.session_header is None
        with ls.Request(plain, now_ms=NOW, session_header=value) as req:
            out = req.run(store, lambda r: r.increment("views"))
            assert req.session_id != sid and out.headers == []


def test_an_invalid_header_name_is_a_configuration_error():
    with pytest.raises(ls.ConfigError) as e:
        ls.Config.from_express_options({"secret": SECRET, "header": "X Session"})
    assert e.value.code == ls.Result.INVALID_HEADER_NAME


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    views = environ["libsession.session"].increment("views")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [str(views).encode()]


def test_wsgi_api_clients_use_the_header():
    from libsession.wsgi import SessionMiddleware

    mw = SessionMiddleware(wsgi_app, header_config(), ls.MemoryStore())

    def call(session_header: str | None) -> tuple[bytes, dict[str, str]]:
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": "", "wsgi.input": io.BytesIO(),
                   "wsgi.errors": io.StringIO(), "wsgi.url_scheme": "http"}
        if session_header is not None:
            environ["HTTP_X_SESSION_ID"] = session_header
        got: dict[str, Any] = {}
        body = b"".join(mw(environ, lambda status, headers, exc=None: got.update(headers=headers)))
        return body, {n.lower(): v for n, v in got["headers"]}

    body, headers = call(None)
    assert body == b"1" and "x-session-id" in headers
    value = headers["x-session-id"]
    assert headers["set-cookie"].startswith(f"connect.sid={value};")
    body, headers = call(value)
    assert body == b"2" and "x-session-id" not in headers


def test_asgi_api_clients_use_the_header():
    from libsession.asgi import SessionMiddleware

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        views = scope["libsession.session"].increment("views")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": str(views).encode()})

    class Store:
        def __init__(self) -> None:
            self.records: dict[str, str] = {}

        async def get(self, sid: str) -> str | None:
            return self.records.get(sid)

        async def set(self, sid: str, record: str, expires_at: int | None) -> None:
            self.records[sid] = record

        async def touch(self, sid: str, record: str, expires_at: int | None) -> None:
            pass

        async def destroy(self, sid: str) -> None:
            self.records.pop(sid, None)

    mw = SessionMiddleware(app, header_config(), Store())

    def call(session_header: bytes | None) -> tuple[bytes, dict[bytes, bytes]]:
        headers = [(b"x-session-id", session_header)] if session_header is not None else []
        scope = {"type": "http", "path": "/", "raw_path": b"/", "query_string": b"", "headers": headers}
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b""}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        asyncio.run(mw(scope, receive, send))
        return sent[1]["body"], dict(sent[0]["headers"])

    body, headers = call(None)
    assert body == b"1" and b"x-session-id" in headers
    body, headers = call(headers[b"x-session-id"])
    assert body == b"2" and b"x-session-id" not in headers


def test_flask_api_clients_use_the_header():
    flask = pytest.importorskip("flask")
    from libsession.flask import LibsessionInterface

    app = flask.Flask(__name__)
    app.session_interface = LibsessionInterface(header_config(), ls.MemoryStore())

    @app.get("/")
    def count() -> str:
        flask.session["views"] = flask.session.get("views", 0) + 1
        return str(flask.session["views"])

    client = app.test_client(use_cookies=False)
    first = client.get("/")
    value = first.headers[HEADER]
    assert first.get_data() == b"1" and first.headers["Set-Cookie"].startswith(f"connect.sid={value};")
    second = client.get("/", headers={HEADER: value})
    assert second.get_data() == b"2" and HEADER not in second.headers
