"""Issue 14's lifecycle options through the C ABI: ``absolute_timeout``,
``idle_timeout``, ``regenerate_grace`` and ``regenerate(keep_data=True)``,
as ``Config`` arguments and under their express-options names."""

from __future__ import annotations

import json

import pytest

import libsession as ls
from conftest import NOW, SECRET

IDS = [f"{n:0>43}" for n in range(1, 200)]


class KeepAll:
    """A text store that never drops a record (the engine alone must refuse
    what is over) and logs every write."""

    def __init__(self):
        self.records: dict[str, str] = {}
        self.expiry: dict[str, int | None] = {}
        self.writes: list[tuple[str, str]] = []

    def get(self, sid):
        return self.records.get(sid)

    def set(self, sid, record, expires_at):
        self.writes.append(("set", sid))
        self.records[sid] = record
        self.expiry[sid] = expires_at

    def touch(self, sid, record, expires_at):
        self.writes.append(("touch", sid))
        self.expiry[sid] = expires_at

    def destroy(self, sid):
        self.writes.append(("destroy", sid))
        self.records.pop(sid, None)


_ids = iter(IDS)


def request(cfg, store, now, cookie=None, handler=None):
    """One request; returns (set_cookie list, the session ID the handler saw,
    the events)."""
    seen = {}

    def run_handler(r):
        seen["sid"] = r.session_id
        if handler is not None:
            handler(r)

    with ls.Request(cfg, now_ms=now, session_ids=[next(_ids), next(_ids)], cookie=cookie) as req:
        out = req.run(store, run_handler)
        return out.set_cookie, seen.get("sid"), req.events()


def login(cfg, store, now):
    """A first request storing a session; returns (cookie, session ID)."""
    cookies, sid, _ = request(cfg, store, now, handler=lambda r: r.set("cart", ["apple"]))
    return cookies[0].split(";", 1)[0], sid


@pytest.mark.parametrize("make", ["kwargs", "express"])
def test_absolute_timeout(make):
    cfg = (
        ls.Config(secret=SECRET, absolute_timeout=10_000)
        if make == "kwargs"
        else ls.Config.from_express_options({"secret": SECRET, "absoluteTimeout": 10_000})
    )
    store = KeepAll()
    with cfg:
        cookie, sid = login(cfg, store, NOW)
        assert json.loads(store.records[sid])["libsessionCreatedAt"] == NOW
        assert store.expiry[sid] == NOW + 10_000, "the store's expiry is the absolute deadline"
        # However active, the session ends 10 s after it began.
        for t in (1_000, 5_000, 9_999):
            assert request(cfg, store, NOW + t, cookie, lambda r: r.increment("n"))[1] == sid
        _, fresh, events = request(cfg, store, NOW + 10_000, cookie)
        assert fresh != sid
        assert ls.Event(ls.EventKind.ABSOLUTE_TIMEOUT) in events
        assert ("destroy", sid) in store.writes and sid not in store.records


@pytest.mark.parametrize("make", ["kwargs", "express"])
def test_idle_timeout(make):
    cfg = (
        ls.Config(secret=SECRET, idle_timeout=5_000)
        if make == "kwargs"
        else ls.Config.from_express_options({"secret": SECRET, "idleTimeout": 5_000, "resave": False})
    )
    store = KeepAll()
    with cfg:
        cookie, sid = login(cfg, store, NOW)
        # 4 s later: the last-seen time is a tenth of the window behind, so it
        # moves on (one save); 100 ms after that only a touch.
        store.writes.clear()
        assert request(cfg, store, NOW + 4_000, cookie)[1] == sid
        assert store.writes == [("set", sid)]
        assert json.loads(store.records[sid])["libsessionLastSeenAt"] == NOW + 4_000
        store.writes.clear()
        assert request(cfg, store, NOW + 4_100, cookie)[1] == sid
        assert store.writes == [("touch", sid)]
        assert store.expiry[sid] == NOW + 9_000, "the store's expiry is the idle deadline"
        # 5 s after the last-seen time: over.
        _, fresh, events = request(cfg, store, NOW + 9_000, cookie)
        assert fresh != sid
        assert [e.kind for e in events if e.kind == ls.EventKind.IDLE_TIMEOUT] == [ls.EventKind.IDLE_TIMEOUT]


def test_regenerate_grace_and_keep_data():
    store = KeepAll()
    with ls.Config(secret=SECRET, regenerate_grace=2_000) as cfg:
        old_cookie, old = login(cfg, store, NOW)

        def do_login(r):
            r.set("user", "alice")
            r.regenerate(keep_data=True)
            assert r.poll_with(store) == ls.Completed(None)
            assert r.session_id != old
            assert r.get("cart") == ["apple"] and r.get("user") == "alice"

        cookies, _, _ = request(cfg, store, NOW + 100, old_cookie, do_login)
        assert len(cookies) == 1 and not cookies[0].startswith(old_cookie)
        grace = json.loads(store.records[old])
        assert grace["libsessionGraceUntil"] == NOW + 2_100 and "user" not in grace
        assert store.expiry[old] == NOW + 2_100

        # Within the window: the old cookie loads, read-only.
        store.writes.clear()

        def in_flight_save(r):
            assert r.session_id == old and r.get("cart") == ["apple"] and r.get("user") is None
            r.set("user", "mallory")
            r.save()
            done = r.poll_with(store)
            assert isinstance(done, ls.Completed) and done.error is not None and "read-only" in done.error

        cookies, sid, events = request(cfg, store, NOW + 1_000, old_cookie, in_flight_save)
        assert sid == old and cookies == [] and store.writes == []
        assert ls.Event(ls.EventKind.REGENERATE_GRACE) in events

        # After it: never again, even from a store that kept the record.
        _, sid, events = request(cfg, store, NOW + 2_100, old_cookie)
        assert sid != old
        assert ls.Event(ls.EventKind.REGENERATE_GRACE_ENDED) in events


def test_regenerate_without_keep_data_is_express_sessions():
    store = KeepAll()
    with ls.Config(secret=SECRET) as cfg:
        old_cookie, old = login(cfg, store, NOW)

        def regen(r):
            r.regenerate()
            assert r.poll_with(store) == ls.Completed(None)
            assert r.get("cart") is None

        request(cfg, store, NOW + 1, old_cookie, regen)
        assert ("destroy", old) in store.writes and old not in store.records
        with pytest.raises(TypeError):
            with ls.Request(cfg, now_ms=NOW, session_ids=[next(_ids)]) as req:
                req.poll_with(store)
                req.regenerate(keep_data="yes")


def test_lifecycle_config_arguments_are_checked():
    for bad in ({"absolute_timeout": -1}, {"idle_timeout": "5"}, {"regenerate_grace": 1.5}):
        with pytest.raises((TypeError, ValueError)):
            ls.Config(secret=SECRET, **bad)
    with ls.Config(secret=SECRET, absolute_timeout=None, idle_timeout=0, regenerate_grace=None):
        pass
    with pytest.raises(ls.ConfigError):
        ls.Config.from_express_options({"secret": SECRET, "idleTimeout": -5})
