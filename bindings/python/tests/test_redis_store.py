"""The connect-redis compatible stores against a real redis-server (started
once for this module on a free loopback port): RedisStore through the WSGI
middleware and AsyncRedisStore through the ASGI middleware. Keys, values and
TTLs as connect-redis writes them (docs/redis.md), touch, destroy,
disableTouch/disableTTL, the prefix, a stored ``null``, a Redis restart
while idle, and failures (server down, server frozen) reported, not lost."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import time
from typing import Any

import pytest

from redis_server import RedisServer

if os.environ.get("LIBSESSION_REQUIRE_ALL") == "1":
    import redis  # noqa: F401  (fails the module when redis-py is missing)
else:
    pytest.importorskip("redis", reason="redis-py is not installed (pip install redis)")

import redis  # noqa: E402

import libsession as ls  # noqa: E402
from libsession.asgi import SessionMiddleware as ASGIMiddleware  # noqa: E402
from libsession.redis_store import AsyncRedisStore, RedisOp, RedisOptions, RedisStore  # noqa: E402
from libsession.wsgi import SessionMiddleware  # noqa: E402

from conftest import SECRET  # noqa: E402  (32+ bytes: strict mode)
MINUTE = 60_000


@pytest.fixture(scope="module")
def server():
    s = RedisServer()
    yield s
    s.close()


@pytest.fixture
def r(server):
    client = redis.Redis(port=server.port, socket_timeout=5)
    client.flushall()
    yield client
    client.close()


# ----- a WSGI app and a client ------------------------------------------------------


def wsgi_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    session = environ["libsession.session"]
    path = environ["PATH_INFO"]
    if path == "/":
        body = str(session.increment("views"))
    elif path == "/read":
        body = str(session.get("views", 0))
    elif path == "/logout":
        session.destroy()
        body = "bye"
    elif path == "/regenerate":
        session.regenerate()
        body = "new"
    else:
        body = "?"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body.encode()]


class Client:
    """Calls a WSGI app directly, keeping the session cookie."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.cookie: str | None = None
        self.errors = io.StringIO()

    def get(self, path: str) -> tuple[int, str]:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "localhost",
            "SERVER_PORT": "80",
            "wsgi.url_scheme": "http",
            "wsgi.errors": self.errors,
            "wsgi.input": io.BytesIO(),
        }
        if self.cookie:
            environ["HTTP_COOKIE"] = self.cookie
        seen: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            seen["status"], seen["headers"] = status, headers

        body = b"".join(self.app(environ, start_response))
        for name, value in seen["headers"]:
            if name.lower() == "set-cookie":
                self.cookie = value.split(";", 1)[0]
        return int(seen["status"].split()[0]), body.decode()


def sync_setup(server: RedisServer, *, max_age: int | None = MINUTE, **store_kwargs: Any) -> tuple[Client, RedisStore]:
    store = RedisStore(server.url, **store_kwargs)
    config = ls.Config(secret=SECRET, max_age=max_age)
    return Client(SessionMiddleware(wsgi_app, config, store)), store


def cookie_sid(cookie: str) -> str:
    with ls.Config(secret=SECRET) as cfg, ls.Request(cfg, cookie=cookie) as req:
        req.next_action()  # the engine reads the cookie; LOAD names the ID
        sid = req.cookie_session_id
    assert sid
    return sid


# ----- the plan, from the library ---------------------------------------------------


def test_options_come_from_the_library_and_refuse_what_connect_redis_options_cannot_do():
    assert RedisOptions().prefix == "sess:"
    assert RedisOptions(prefix="").prefix == ""
    assert RedisOptions.from_connect_redis({"prefix": "app:", "ttl": 5, "disableTouch": True}).prefix == "app:"
    assert RedisOptions.from_connect_redis('{"prefix":"p:"}').prefix == "p:"
    for bad, word in (({"serializer": {}}, "serializer"), ({"ttl": "1d"}, "ttl"), ({"scanCount": 5}, "scanCount")):
        with pytest.raises(ls.ConfigError, match=word):
            RedisOptions.from_connect_redis(bad)
    with pytest.raises(ls.ConfigError, match="not a connect-redis option"):
        RedisOptions.from_connect_redis({"prefx": "a"})
    with pytest.raises(TypeError):
        RedisOptions(ttl="60")  # type: ignore[arg-type]


def test_the_request_plans_each_command():
    opts = RedisOptions(prefix="p:")
    with ls.Config(secret=SECRET, max_age=MINUTE) as cfg, ls.Request(cfg, now_ms=1_700_000_000_000) as req:
        assert req.next_action() is ls.READY
        with pytest.raises(ls.MisuseError):
            req.redis_command(opts)
        req.session["n"] = 1
        req.finish()
        act = req.next_action()
        while not isinstance(act, ls.Save):
            act = req.next_action()
        c = req.redis_command(opts)
        assert c.op is RedisOp.SET and c.key == b"p:" + act.id.encode() and c.ttl == 60
        assert c.value == act.record.encode()
        req.set_now(1_700_000_000_000 + 61_000)
        assert req.redis_command(opts).op is RedisOp.DEL
        assert req.redis_command(RedisOptions(disable_ttl=True)).op is RedisOp.DEL
        req.set_now(1_700_000_000_000)
        no_ttl = req.redis_command(RedisOptions(disable_ttl=True))
        assert no_ttl.op is RedisOp.SET and no_ttl.ttl is None
        req.handle_store_result()


# ----- RedisStore (sync, WSGI) ----------------------------------------------------


def test_keys_values_and_ttls_are_connect_redis_s(server, r):
    client, store = sync_setup(server)
    assert client.get("/") == (200, "1")
    sid = cookie_sid(client.cookie)
    keys = r.keys("*")
    assert keys == [f"sess:{sid}".encode()]
    record = json.loads(r.get(f"sess:{sid}"))
    assert record["views"] == 1 and record["cookie"]["originalMaxAge"] == MINUTE
    assert 58 <= r.ttl(f"sess:{sid}") <= 60
    assert client.get("/") == (200, "2")
    assert json.loads(r.get(f"sess:{sid}"))["views"] == 2
    store.close()


def test_browser_session_cookies_get_the_default_or_the_ttl_option(server, r):
    client, store = sync_setup(server, max_age=None)
    client.get("/")
    assert 86_390 <= r.ttl(f"sess:{cookie_sid(client.cookie)}") <= 86_400
    client, store = sync_setup(server, max_age=None, ttl=120)
    client.get("/")
    assert 110 <= r.ttl(f"sess:{cookie_sid(client.cookie)}") <= 120
    store.close()


def test_a_read_only_request_touches_the_ttl_only(server, r):
    client, store = sync_setup(server)
    client.get("/")
    key = f"sess:{cookie_sid(client.cookie)}"
    before = r.get(key)
    r.expire(key, 10)
    assert client.get("/read") == (200, "1")
    assert r.ttl(key) >= 58, "EXPIRE renewed the TTL"
    assert r.get(key) == before, "the value is not rewritten by a touch"
    store.close()


def test_disable_touch_and_disable_ttl(server, r):
    client, store = sync_setup(server, disable_touch=True)
    client.get("/")
    key = f"sess:{cookie_sid(client.cookie)}"
    r.expire(key, 10)
    client.get("/read")
    assert r.ttl(key) <= 10
    client, store = sync_setup(server, options={"disableTTL": True})
    client.get("/")
    key = f"sess:{cookie_sid(client.cookie)}"
    assert r.ttl(key) == -1, "SET without EX"
    assert client.get("/read") == (200, "1")
    assert r.ttl(key) == -1
    store.close()


def test_destroy_deletes_and_regenerate_moves_the_key(server, r):
    client, store = sync_setup(server)
    client.get("/")
    old = f"sess:{cookie_sid(client.cookie)}"
    assert client.get("/regenerate") == (200, "new")
    new = f"sess:{cookie_sid(client.cookie)}"
    assert new != old and not r.exists(old) and r.exists(new)
    assert client.get("/logout") == (200, "bye")
    assert r.keys("*") == []
    store.close()


def test_the_prefix(server, r):
    client, store = sync_setup(server, prefix="app:")
    client.get("/")
    assert r.keys("*") == [f"app:{cookie_sid(client.cookie)}".encode()]
    store.close()


def test_a_stored_null_or_empty_value_is_a_fresh_session(server, r):
    client, store = sync_setup(server)
    client.get("/")
    key = f"sess:{cookie_sid(client.cookie)}"
    r.set(key, "null")
    assert client.get("/") == (200, "1"), "a fresh session"
    assert cookie_sid(client.cookie) != key[5:]
    key = f"sess:{cookie_sid(client.cookie)}"
    r.set(key, "")
    assert client.get("/") == (200, "1")
    store.close()


def test_a_redis_restart_while_idle_costs_no_request(server, r):
    client, store = sync_setup(server)
    assert client.get("/") == (200, "1")
    server.restart()
    assert client.get("/") == (200, "2"), client.errors.getvalue()
    assert client.get("/") == (200, "3")
    store.close()


def test_failures_are_reported_never_silent(server, r):
    client, store = sync_setup(server, command_timeout=0.5, connect_timeout=0.5)
    assert client.get("/") == (200, "1")
    server.stop()
    try:
        # The initial load fails: 500, the application does not run.
        assert client.get("/")[0] == 500
        assert "loading the session failed" in client.errors.getvalue()
        # A new visitor: the end-of-request save fails and is reported.
        fresh = Client(client.app)
        assert fresh.get("/") == (200, "1")
        assert "session error after the response" in fresh.errors.getvalue()
    finally:
        server.start()
    assert client.get("/") == (200, "2"), "back once Redis is"
    # A frozen server: the command times out (no hang).
    server.freeze()
    try:
        t = time.monotonic()
        assert client.get("/")[0] == 500
        assert time.monotonic() - t < 3
        assert re.search(r"[Tt]imeout", client.errors.getvalue())
    finally:
        server.thaw()
    assert client.get("/") == (200, "3")
    store.close()


# ----- AsyncRedisStore (ASGI) ------------------------------------------------------


async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    session = scope["libsession.session"]
    path = scope["path"]
    if path == "/":
        body = str(session.increment("views"))
    elif path == "/read":
        body = str(session.get("views", 0))
    elif path == "/logout":
        await session.destroy()
        body = "bye"
    else:
        body = "?"
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": body[:1].encode(), "more_body": True})
    await send({"type": "http.response.body", "body": body[1:].encode()})


class AsyncClient:
    def __init__(self, app: Any) -> None:
        self.app = app
        self.cookie: str | None = None

    async def get(self, path: str) -> tuple[int, str]:
        headers = [(b"host", b"localhost")]
        if self.cookie:
            headers.append((b"cookie", self.cookie.encode()))
        scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(), "query_string": b"",
                 "headers": headers, "scheme": "http"}
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        start = sent[0]
        assert start["type"] == "http.response.start"
        for name, value in start["headers"]:
            if name == b"set-cookie":
                self.cookie = value.decode().split(";", 1)[0]
        return start["status"], b"".join(m.get("body", b"") for m in sent[1:]).decode()


def test_async_store_through_the_asgi_middleware(server, r):
    async def main() -> None:
        store = AsyncRedisStore.from_connect_redis(server.url, {"prefix": "a:"})
        client = AsyncClient(ASGIMiddleware(asgi_app, ls.Config(secret=SECRET, max_age=MINUTE), store))
        assert await client.get("/") == (200, "1")
        assert await client.get("/") == (200, "2")
        key = f"a:{cookie_sid(client.cookie)}"
        assert json.loads(r.get(key))["views"] == 2 and 58 <= r.ttl(key) <= 60
        r.expire(key, 10)
        assert await client.get("/read") == (200, "2")
        assert r.ttl(key) >= 58
        server.restart()
        assert await client.get("/") == (200, "3"), "a restart while idle costs no request"
        r.set(key, "null")
        assert await client.get("/read") == (200, "0")
        assert await client.get("/") == (200, "1")
        key = f"a:{cookie_sid(client.cookie)}"
        assert await client.get("/logout") == (200, "bye")
        assert not r.exists(key)
        assert await client.get("/") == (200, "1")
        server.stop()
        try:
            assert (await client.get("/"))[0] == 500
        finally:
            server.start()
        assert await client.get("/") == (200, "2")
        await store.aclose()

    asyncio.run(main())


def test_async_disable_touch(server, r):
    async def main() -> None:
        store = AsyncRedisStore(server.url, disable_touch=True)
        client = AsyncClient(ASGIMiddleware(asgi_app, ls.Config(secret=SECRET, max_age=MINUTE), store))
        await client.get("/")
        key = f"sess:{cookie_sid(client.cookie)}"
        r.expire(key, 10)
        assert await client.get("/read") == (200, "1")
        assert r.ttl(key) <= 10
        await store.aclose()

    asyncio.run(main())
