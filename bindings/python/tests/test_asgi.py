"""The ASGI middleware's contract with a generic asynchronous store (no
Redis): cookies in and out, Set-Cookie added to the held response start,
the body sent once complete, the session across requests, a failed load
answering 500, a failed operation raising StoreError in the application, a
failed end-of-request save logged, other scope types passed through."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

import libsession as ls
from libsession.asgi import SessionMiddleware, request_target

SECRET = "keyboard cat keyboard cat keyboard cat"  # 32+ bytes (strict mode)


class AsyncDictStore:
    """A minimal asynchronous store (records by ID), with fault injection."""

    def __init__(self) -> None:
        self.records: dict[str, str] = {}
        self.fail: set[str] = set()

    async def get(self, sid: str) -> str | None:
        if "get" in self.fail:
            raise ConnectionError("store down (get)")
        await asyncio.sleep(0)
        return self.records.get(sid)

    async def set(self, sid: str, record: str, expires_at: int | None) -> None:
        if "set" in self.fail:
            raise ConnectionError("store down (set)")
        self.records[sid] = record

    async def touch(self, sid: str, record: str, expires_at: int | None) -> None:
        pass

    async def destroy(self, sid: str) -> None:
        if "destroy" in self.fail:
            raise ConnectionError("store down (destroy)")
        self.records.pop(sid, None)


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    session = scope["libsession.session"]
    if scope["path"] == "/login":
        await session.regenerate(keep_data=True)
        body = f"{session.id} {session['views']}".encode()
    elif scope["path"] == "/logout":
        try:
            await session.destroy()
            body = b"bye"
        except ls.StoreError as e:
            body = f"store error: {e.message}".encode()
    else:
        body = str(session.increment("views")).encode()
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-app", b"1")]})
    await send({"type": "http.response.body", "body": body})


def call(mw: Any, path: str, cookie: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    headers = [(b"cookie", cookie.encode())] if cookie else []
    scope = {"type": "http", "path": path, "raw_path": path.encode(), "query_string": b"", "headers": headers}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(mw(scope, receive, send))
    new_cookie = None
    for name, value in sent[0].get("headers", []):
        if name == b"set-cookie":
            new_cookie = value.decode().split(";", 1)[0]
    return sent, new_cookie


@pytest.fixture
def mw():
    return SessionMiddleware(app, ls.Config(secret=SECRET, max_age=60_000), AsyncDictStore())


def test_the_session_goes_through_cookies_and_the_store(mw):
    sent, cookie = call(mw, "/")
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert sent[0]["status"] == 200 and (b"x-app", b"1") in sent[0]["headers"]
    assert sent[1]["body"] == b"1" and cookie and cookie.startswith("connect.sid=s%3A")
    assert len(mw.store.records) == 1
    sent, _ = call(mw, "/", cookie)
    assert sent[1]["body"] == b"2"
    sent, _ = call(mw, "/logout", cookie)
    assert sent[1]["body"] == b"bye" and mw.store.records == {}


def test_store_failures_are_reported(mw, caplog):
    _, cookie = call(mw, "/")
    mw.store.fail.add("get")
    sent, _ = call(mw, "/", cookie)
    assert sent[0]["status"] == 500, "a failed load answers 500; the application does not run"
    assert (b"x-app", b"1") not in sent[0]["headers"]
    mw.store.fail = {"destroy"}
    sent, _ = call(mw, "/logout", cookie)
    assert sent[1]["body"] == b"store error: store down (destroy)"
    mw.store.fail = {"set"}
    with caplog.at_level(logging.ERROR, logger="libsession"):
        sent, _ = call(mw, "/")
    assert sent[0]["status"] == 200, "the response stands"
    assert "store down (set)" in caplog.text


def test_other_scopes_pass_through_and_targets_are_raw():
    seen: list[str] = []

    async def inner(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    mw = SessionMiddleware(inner, ls.Config(secret=SECRET), AsyncDictStore())
    asyncio.run(mw({"type": "lifespan"}, None, None))
    assert seen == ["lifespan"]
    assert request_target({"raw_path": b"/a%20b", "query_string": b"x=1"}) == b"/a%20b?x=1"
    assert request_target({"path": "/a b"}) == b"/a%20b"


def test_regenerate_keeping_the_data_with_a_grace_window():
    """``await session.regenerate(keep_data=True)``: a new ID, the same data;
    with ``regenerate_grace`` the old cookie still loads, read-only."""
    store = AsyncDictStore()
    mw = SessionMiddleware(app, ls.Config(secret=SECRET, max_age=60_000, regenerate_grace=60_000), store)
    _, cookie = call(mw, "/")
    [old] = store.records
    sent, new_cookie = call(mw, "/login", cookie)
    new, views = sent[1]["body"].decode().split()
    assert new != old and views == "1" and new_cookie and new_cookie != cookie
    assert '"libsessionGraceUntil":' in store.records[old]
    before = dict(store.records)
    sent, again = call(mw, "/", cookie)
    assert sent[1]["body"] == b"2" and again is None and store.records == before
