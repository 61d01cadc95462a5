"""The options beyond express-session and the events, through the C ABI:
each option read from its express-options name, each one's rule, and the
events a host drains."""

from __future__ import annotations

import libsession as ls
from conftest import NOW, SECRET

OLD = "the secret before the rotation, 32+ bytes long"
REMOVAL = "connect.sid=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"


def session_cookie(config, store, sid):
    with ls.Request(config, now_ms=NOW, session_ids=[sid]) as req:
        out = req.run(store, lambda r: r.set("user", "alice"))
    return out.set_cookie[0].split(";", 1)[0]


def run(config, store, cookie=None, handler=None, **kw):
    with ls.Request(config, now_ms=NOW, session_ids=["fresh-1-0123456789abcdefghijklmnopqrstuv", "fresh-2-0123456789abcdefghijklmnopqrstuv"], cookie=cookie, **kw) as req:
        out = req.run(store, handler)
        return out, req.session_id, req.events()


def test_events_name_what_happened(store):
    with ls.Config(secret=SECRET) as cfg:
        cookie = session_cookie(cfg, store, "s1-0123456789abcdefghijklmnopqrstuv")
        assert run(cfg, store)[2] == [ls.Event(ls.EventKind.NO_COOKIE)]
        assert run(cfg, store, cookie)[2] == []
        tampered = cookie[:-1] + ("A" if cookie[-1] != "A" else "B")
        out, sid, events = run(cfg, store, tampered)
        assert sid == "fresh-1-0123456789abcdefghijklmnopqrstuv" and [e.name for e in events] == ["signature_invalid"]


def test_old_keys_are_resigned_and_reported(store):
    with ls.Config(secret=OLD) as old:
        cookie = session_cookie(old, store, "s1-0123456789abcdefghijklmnopqrstuv")
    with ls.Config.from_express_options({"secret": [SECRET, OLD], "resignOldKeys": True}) as cfg:
        out, sid, events = run(cfg, store, cookie)
        assert sid == "s1-0123456789abcdefghijklmnopqrstuv"
        assert events == [ls.Event(ls.EventKind.VERIFIED_BY_OLD_KEY, key_index=1)]
        assert len(out.set_cookie) == 1 and not out.set_cookie[0].startswith(cookie)
    with ls.Config.from_express_options({"secret": [SECRET, OLD]}) as express:
        out, sid, _ = run(express, store, cookie)
        assert sid == "s1-0123456789abcdefghijklmnopqrstuv" and out.set_cookie == [], "express-session leaves the old cookie alone"


def test_destroy_and_stale_cookies_are_removed(store):
    with ls.Config(secret=SECRET) as cfg:
        cookie = session_cookie(cfg, store, "s1-0123456789abcdefghijklmnopqrstuv")
        def logout(r):
            r.destroy()
            assert r.poll_with(store) == ls.Completed(None)

        out, _, _ = run(cfg, store, cookie, logout)
        assert len(out.set_cookie) == 1 and out.set_cookie[0].startswith(REMOVAL)
        out, _, events = run(cfg, store, cookie, clear_stale_cookie=True)
        assert len(out.set_cookie) == 1 and out.set_cookie[0].startswith(REMOVAL)
        assert events == [ls.Event(ls.EventKind.RECORD_NOT_FOUND)]
        assert run(cfg, store, cookie)[0].set_cookie == []


def test_ignore_and_load_errors_from_express_options(store):
    with ls.Config.from_express_options(
        {"secret": SECRET, "ignore": ["/favicon.ico"], "onLoadError": "fresh", "saveUninitialized": True}
    ) as cfg:
        out, sid, events = run(cfg, store, target="/favicon.ico")
        assert sid is None and out.set_cookie == [] and events == [ls.Event(ls.EventKind.IGNORED)]
        cookie = session_cookie(cfg, store, "s2-0123456789abcdefghijklmnopqrstuv")

        class Failing:
            """A text store whose loads fail."""

            def get(self, sid):
                raise RuntimeError("store down")

            def set(self, sid, record, expires_at):
                store.set(sid, record, expires_at)

            def touch(self, sid, record, expires_at):
                store.touch(sid, record, expires_at)

            def destroy(self, sid):
                store.destroy(sid)

        out, sid, events = run(cfg, Failing(), cookie)
        assert sid == "fresh-1-0123456789abcdefghijklmnopqrstuv" and not out.failed, "onLoadError fresh: a new session, not a 500"
        assert ls.Event(ls.EventKind.STORE_ERROR, operation=ls.StoreOperation.LOAD) in events
        assert store.get("s2-0123456789abcdefghijklmnopqrstuv") is not None, "the old record is left alone"
