"""Connect's reaping MemoryStore (issue 14, item 4; proof 3), as the Rust
store has it: with ``reap_interval`` 100 ms and a fake clock, expired records
(past their cookie's expiry, or older than the store's ``max_age`` since
their last write or touch) are gone after the next reap, no live record is
ever reaped, and the middlewares reap on their clock."""

from __future__ import annotations

import asyncio
import io
import random
from wsgiref.util import setup_testing_defaults

import pytest

import libsession as ls
from libsession import asgi, wsgi
from libsession.store import reap_if_due
from conftest import NOW, SECRET


class Clock:
    def __init__(self, now=NOW):
        self.now = now

    def __call__(self):
        return self.now


def test_reaps_on_its_interval_with_a_fake_clock():
    s = ls.MemoryStore(reap_interval=100)
    assert s.next_reap_at(1_000) == 1_100  # the first now starts the schedule
    assert s.next_reap_at(1_050) == 1_100
    s.set("gone", "{}", 1_040, 1_000)
    s.set("kept", "{}", 5_000, 1_000)
    s.set("forever", "{}", None, 1_000)
    assert s.reap_if_due(1_099) == 0 and len(s) == 3
    assert s.reap_if_due(1_100) == 1
    assert sorted(s.snapshot()) == ["forever", "kept"]
    assert s.next_reap_at(1_100) == 1_200
    assert s.reap_if_due(1_150) == 0
    assert s.reap_if_due(5_000) == 1  # late: the next one is an interval after it
    assert s.next_reap_at(5_000) == 5_100
    s.set("x", "{}", 5_010, 5_000)
    assert s.sweep(5_020) == 1 and s.next_reap_at(5_020) == 5_100  # a sweep keeps the schedule
    assert s.reap(5_030) == 0 and s.next_reap_at(5_030) == 5_130  # a reap moves it on


def test_without_a_reap_interval_nothing_is_scheduled():
    s = ls.MemoryStore()
    assert s.reap_interval is None and s.max_age is None
    assert s.next_reap_at(0) is None
    s.set("a", "{}", 5, 0)
    assert s.reap_if_due(10**15) == 0 and len(s) == 1
    assert s.reap(10) == 1
    assert reap_if_due(object(), 0) == 0  # a store without reaping is left alone


def test_store_max_age_counts_from_the_last_write_or_touch():
    s = ls.MemoryStore(max_age=1_000, reap_interval=100)
    assert s.next_reap_at(0) == 100
    s.set("a", '{"cookie":{},"n":1}', None, 0)
    s.set("b", '{"cookie":{},"n":1}', 500, 0)
    s.set("c", '{"cookie":{},"n":1}', None, 0)
    assert s.get("a", 1_000) is not None  # Connect's rule: gone once last access < now - maxAge
    s.touch("a", '{"cookie":{"x":1},"n":1}', None, 900)
    assert s.get("b", 600) is None  # the cookie's expiry still counts when earlier
    assert s.reap_if_due(1_001) == 1  # c is stale
    assert s.get("a", 1_900) is not None
    assert s.get("a", 1_901) is None
    assert len(s) == 0


def test_options_from_json_names():
    s = ls.MemoryStore.from_options({"reapInterval": 100, "maxAge": 3_600_000})
    assert (s.reap_interval, s.max_age) == (100, 3_600_000)
    s = ls.MemoryStore.from_options({"reapInterval": -1, "maxAge": None, "prefix": "sess:", "ttl": 60})
    assert (s.reap_interval, s.max_age) == (None, None)
    assert ls.MemoryStore.from_options({"maxAge": 5.0}).max_age == 5
    for bad in ({"reapInterval": 0}, {"maxAge": 1.5}, {"maxAge": "10"}, {"reapInterval": -2}, {"maxAge": True}, {"maxAge": 2**54}):
        with pytest.raises(ValueError, match="whole number"):
            ls.MemoryStore.from_options(bad)
    with pytest.raises(ValueError, match="reapIntreval"):
        ls.MemoryStore.from_options({"reapIntreval": 5})
    with pytest.raises(TypeError):
        ls.MemoryStore.from_options([1])
    with pytest.raises(ValueError):
        ls.MemoryStore(reap_interval=0)


@pytest.mark.parametrize("seed", range(200))
def test_no_live_record_is_reaped_and_every_expired_one_goes_at_the_next_reap(seed):
    """The Rust proptest's model, on random operation sequences: the host
    reaps at every step; whenever a reap ran, exactly the live records
    remain; before a reap is due nothing is removed by it."""
    rng = random.Random(seed)
    max_age = rng.choice([None, rng.randrange(1, 800)])
    s = ls.MemoryStore(reap_interval=100, max_age=max_age)
    now = NOW
    due = s.next_reap_at(now)
    assert due == NOW + 100
    model: dict[str, int | None] = {}  # sid -> when it counts as expired

    def deadline(expiry, written):
        stale = None if max_age is None else written + max_age + 1
        if expiry is None or stale is None:
            return expiry if stale is None else stale
        return min(expiry, stale)

    def live(at):
        return sorted(k for k, d in model.items() if d is None or d > at)

    for _ in range(rng.randrange(1, 120)):
        now += rng.randrange(250)
        sid = f"s{rng.randrange(8)}"
        before = sorted(s.snapshot())
        reaped = s.reap_if_due(now)
        after = sorted(s.snapshot())
        assert set(live(now)) <= set(after), "a live record was reaped"
        if now >= due:
            assert after == live(now)
            assert reaped == len(before) - len(after)
            due = now + 100
            assert s.next_reap_at(now) == due
        else:
            assert reaped == 0 and after == before
        model = {k: d for k, d in model.items() if k in after}
        op = rng.choice(["set", "touch", "get", "destroy"])
        ttl = rng.choice([None, rng.randrange(600)])
        expiry = None if ttl is None else now + ttl
        if op == "set":
            s.set(sid, '{"cookie":{},"v":1}', expiry, now)
            model[sid] = deadline(expiry, now)
        elif op == "touch":
            s.touch(sid, '{"cookie":{"t":1},"v":2}', expiry, now)
            if sid in model and (model[sid] is None or model[sid] > now):
                model[sid] = deadline(expiry, now)
            else:
                model.pop(sid, None)
        elif op == "get":
            is_live = sid in model and (model[sid] is None or model[sid] > now)
            assert (s.get(sid, now) is not None) == is_live
            if not is_live:
                model.pop(sid, None)
        else:
            s.destroy(sid)
            model.pop(sid, None)
        assert sorted(s.snapshot()) == sorted(model)


# ----- the hosts reap on their clock ----------------------------------------------------


def counter(environ, start_response):
    s = environ["libsession.session"]
    body = str(s.increment("views")).encode()
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [body]


def wsgi_get(app, cookie=None):
    environ = {"PATH_INFO": "/", "wsgi.errors": io.StringIO()}
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    setup_testing_defaults(environ)
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["headers"] = headers

    body = b"".join(app(environ, start_response))
    cookies = [v.split(";")[0] for k, v in seen["headers"] if k.lower() == "set-cookie"]
    return body.decode(), cookies[0] if cookies else None


def test_the_wsgi_middleware_reaps_on_its_clock():
    clock = Clock()
    store = ls.MemoryStore(reap_interval=100)
    with ls.Config(secret=SECRET, max_age=60_000) as config:
        app = wsgi.SessionMiddleware(counter, config, store, clock=clock)
        _, first = wsgi_get(app)
        assert store.next_reap_at(NOW) == NOW + 100  # the first request started the schedule
        clock.now = NOW + 60_000  # the first session's cookie expires now
        assert len(store) == 1
        _, second = wsgi_get(app)
        assert len(store) == 1 and first != second, "the request at the expiry reaped the first record"
        store.set("x", "{}", NOW + 60_040, NOW + 60_000)
        clock.now = NOW + 60_050
        assert wsgi_get(app, second)[0] == "2"
        assert len(store) == 2  # the next reap is due at +60100
        clock.now = NOW + 60_100
        assert wsgi_get(app, second)[0] == "3"
        assert sorted(store.snapshot()) == [second.split("s%3A")[1].split(".")[0]]


async def asgi_counter(scope, receive, send):
    s = scope["session"] if "session" in scope else scope["libsession.session"]
    body = str(s.increment("views")).encode()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def test_the_asgi_middleware_reaps_on_its_clock():
    clock = Clock()
    store = ls.MemoryStore(reap_interval=100)
    mw = asgi.SessionMiddleware(asgi_counter, ls.Config(secret=SECRET, max_age=60_000), store, clock=clock)

    def get():
        scope = {"type": "http", "path": "/", "raw_path": b"/", "query_string": b"", "headers": []}
        sent = []

        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(message):
            sent.append(message)

        asyncio.run(mw(scope, receive, send))
        return sent

    get()
    assert len(store) == 1 and store.next_reap_at(NOW) == NOW + 100
    clock.now = NOW + 60_000
    get()
    assert len(store) == 1, "the request at the first record's expiry reaped it"


def test_the_flask_interface_reaps_on_its_clock():
    flask = pytest.importorskip("flask")
    from libsession.flask import LibsessionInterface

    clock = Clock()
    store = ls.MemoryStore(reap_interval=100)
    app = flask.Flask(__name__)
    app.testing = True
    app.session_interface = LibsessionInterface(ls.Config(secret=SECRET, max_age=60_000), store, clock=clock)

    @app.get("/")
    def count():
        flask.session["views"] = flask.session.get("views", 0) + 1
        return str(flask.session["views"])

    app.test_client().get("/")
    assert len(store) == 1 and store.next_reap_at(NOW) == NOW + 100
    clock.now = NOW + 60_000
    app.test_client().get("/")
    assert len(store) == 1, "the request at the first record's expiry reaped it"
