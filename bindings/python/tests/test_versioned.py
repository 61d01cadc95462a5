"""``versioned: true`` through Python: two requests of one session that both
load before either saves; the second save is a conflict the host sees before
its response (``Conflict`` action, a ``CONFLICT`` event), with
``onConflict: "fail"`` and ``"reloadAndReport"``, against the Python
MemoryStore and a real redis-server (the EVAL compare-and-set of the plan);
a new session's save is ``SET ... NX`` on Redis; the WSGI middleware answers
a conflict with 409. Without ``versioned`` the update is lost silently."""

from __future__ import annotations

import io
import json
import os
from typing import Any

import pytest

import libsession as ls
from libsession import _actions as A
from libsession._events import EventKind, StoreOperation
from libsession.store import MemoryStore

SECRET = "versioned secret versioned secret 0123"  # 32+ bytes
NOW = 1_700_000_000_000
SID = "V" * 43


def config(versioned: bool = True, on_conflict: str = "fail") -> ls.Config:
    options: dict[str, Any] = {"secret": SECRET, "resave": False, "cookie": {"maxAge": 3_600_000}}
    if versioned:
        options.update(versioned=True, onConflict=on_conflict)
    return ls.Config.from_express_options(options)


def create(cfg: ls.Config, store: Any, sid: str = SID) -> str:
    """A new session holding n=0; returns its cookie."""
    with ls.Request(cfg, now_ms=NOW, session_ids=[sid]) as req:
        assert req.poll_with(store) is A.READY
        req.set("n", 0)
        req.finish()
        cookies = []
        while (act := req.poll_with(store)) is not A.DONE:
            assert type(act) is A.SetCookie, act
            cookies.append(act.value.split(";", 1)[0])
        assert req.session_id == sid
    return cookies[-1]


def start(cfg: ls.Config, store: Any, cookie: str, who: int) -> ls.Request:
    """A request that loaded the session and changed it (not finished)."""
    req = ls.Request(cfg, now_ms=NOW, cookie=cookie)
    assert req.poll_with(store) is A.READY
    req.set(f"r{who}", True)
    req.increment("n")
    return req


def end(req: ls.Request, store: Any) -> list[Any]:
    """Finishes and polls to DONE; a reloaded session is changed again and
    finished again. Returns the actions the host saw."""
    req.finish()
    seen = []
    while (act := req.poll_with(store)) is not A.DONE:
        seen.append(act)
        if act is A.READY:  # after Conflict(reloaded=True): apply the change again
            req.set("r1", True)
            req.increment("n")
            req.finish()
    return seen


def stored(store: Any, sid: str = SID) -> dict[str, Any]:
    text = store.get(sid) if not hasattr(store, "client") else store.client.get(store.redis_options.prefix + sid)
    return json.loads(text)


def race(store: Any, on_conflict: str, sid: str = SID) -> tuple[list[Any], list[Any], ls.Request]:
    cfg = config(True, on_conflict)
    cookie = create(cfg, store, sid)
    a, b = start(cfg, store, cookie, 0), start(cfg, store, cookie, 1)  # both loaded version 1
    seen_a = end(a, store)
    seen_b = end(b, store)
    return seen_a, seen_b, b


def check_fail(store: Any, sid: str = SID) -> None:
    seen_a, seen_b, b = race(store, "fail", sid)
    assert any(type(x) is A.SetCookie for x in seen_a) or seen_a == []
    assert A.Conflict(False) in seen_b
    assert not any(type(x) is A.SetCookie for x in seen_b), "no cookie for a session not stored"
    assert any(e.kind == EventKind.CONFLICT and e.operation == StoreOperation.SAVE for e in b.events())
    b.close()
    data = stored(store, sid)
    assert data["n"] == 1 and data["r0"] is True and "r1" not in data
    assert data["libsessionVersion"] == 2


def check_reload(store: Any, sid: str = SID) -> None:
    _, seen_b, b = race(store, "reloadAndReport", sid)
    assert A.Conflict(True) in seen_b
    b.close()
    data = stored(store, sid)
    assert data["n"] == 2 and data["r0"] is True and data["r1"] is True
    assert data["libsessionVersion"] == 3


def test_a_conflict_against_the_memory_store() -> None:
    check_fail(MemoryStore(clock=lambda: NOW))
    check_reload(MemoryStore(clock=lambda: NOW))


def test_without_versioned_the_update_is_lost_silently() -> None:
    store = MemoryStore(clock=lambda: NOW)
    cfg = config(False)
    cookie = create(cfg, store)
    a, b = start(cfg, store, cookie, 0), start(cfg, store, cookie, 1)
    assert not any(type(x) is A.Conflict for x in end(a, store) + end(b, store))
    a.close()
    b.close()
    data = stored(store)
    assert data["n"] == 1 and "r0" not in data, "express-session's lost update"


def test_a_store_without_compare_and_set_fails_the_save() -> None:
    class Plain:
        def __init__(self) -> None:
            self.inner = MemoryStore(clock=lambda: NOW)

        def get(self, sid: str) -> Any:
            return self.inner.get(sid)

        def set(self, sid: str, record: str, expires_at: Any) -> None:
            self.inner.set(sid, record, expires_at)

        def touch(self, sid: str, record: str, expires_at: Any) -> None:
            self.inner.touch(sid, record, expires_at)

        def destroy(self, sid: str) -> None:
            self.inner.destroy(sid)

    store = Plain()
    cfg = config(True)
    cookie = create(cfg, store)  # a new session: a plain insert
    req = start(cfg, store, cookie, 0)
    seen = end(req, store)
    req.close()
    assert any(type(x) is A.Error and "compare-and-set" in x.message for x in seen), seen


# ----- Redis --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    if os.environ.get("LIBSESSION_REQUIRE_ALL") != "1":
        pytest.importorskip("redis", reason="redis-py is not installed (pip install redis)")
    from redis_server import RedisServer

    s = RedisServer()
    yield s
    s.close()


def test_a_conflict_against_redis(server: Any) -> None:
    from libsession.redis_store import RedisStore

    with RedisStore(server.url) as store:
        check_fail(store, "F" * 43)
        check_reload(store, "R" * 43)


def test_a_new_session_never_overwrites_another_on_redis(server: Any) -> None:
    from libsession.redis_store import RedisStore

    with RedisStore(server.url) as store:
        taken = "T" * 43
        store.client.set("sess:" + taken, b'{"cookie":{},"owner":"someone else"}')
        cfg = ls.Config(secret=SECRET)
        with ls.Request(cfg, now_ms=NOW, session_ids=[taken, "U" * 43]) as req:
            assert req.poll_with(store) is A.READY
            req.set("mine", True)
            req.finish()
            while req.poll_with(store) is not A.DONE:
                pass
            assert req.session_id == "U" * 43, "SET NX found the ID taken: another ID"
        assert json.loads(store.client.get("sess:" + taken))["owner"] == "someone else"
        assert json.loads(store.client.get("sess:" + "U" * 43))["mine"] is True


def test_the_wsgi_middleware_answers_a_conflict_with_409() -> None:
    from libsession.wsgi import SessionMiddleware

    store = MemoryStore(clock=lambda: NOW)
    cfg = config(True, "fail")
    cookie = create(cfg, store)
    # While the request runs, another request saves the session.
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        environ["libsession.session"].increment("n")
        other = start(cfg, store, cookie, 0)
        end(other, store)
        other.close()
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    mw = SessionMiddleware(app, cfg, store, clock=lambda: NOW)
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        seen["status"], seen["headers"] = status, headers

    environ = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/",
        "QUERY_STRING": "",
        "SERVER_NAME": "localhost",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.errors": io.StringIO(),
        "wsgi.input": io.BytesIO(),
        "HTTP_COOKIE": cookie,
    }
    body = b"".join(mw(environ, start_response))
    assert seen["status"] == "409 Conflict" and body == b"Conflict\n"
    assert not any(name.lower() == "set-cookie" for name, _ in seen["headers"])
    assert stored(store)["n"] == 1, "the other request's save stands"
