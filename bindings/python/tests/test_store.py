"""MemoryStore: the Rust reference store's semantics (bound, sweep, expiry
on lookup), the stored-record path (the one load path), the store kinds,
and the record expiry the library computes."""

from __future__ import annotations

import json
import threading

import pytest

import libsession as ls
from conftest import NOW, SECRET


class Clock:
    def __init__(self, now=0):
        self.now = now

    def __call__(self):
        return self.now


def test_it_is_a_store():
    assert isinstance(ls.MemoryStore(), ls.Store)
    assert ls.MemoryStore.kind is ls.StoreKind.MEMORY


def test_touch_replaces_cookie_only():
    # The Rust store's unit test, verbatim.
    clock = Clock(0)
    s = ls.MemoryStore(clock=clock)
    s.set("a", '{"cookie":{"expires":null},"n":1}', None)
    s.touch("a", '{"cookie":{"expires":"x"},"n":2}', 10)
    assert s.get("a") == '{"cookie":{"expires":"x"},"n":1}'
    clock.now = 10
    assert s.get("a") is None
    assert len(s) == 0
    s.set("b", '{"n":1}', None)
    s.touch("b", '{"cookie":{}}', None)
    assert s.get("b") == '{"n":1,"cookie":{}}'
    s.set("c", "{}", None)
    s.touch("c", '{"cookie":{"x":1}}', None)
    assert s.get("c") == '{"cookie":{"x":1}}'


def test_a_touch_that_does_not_apply_keeps_the_expiry():
    s = ls.MemoryStore(clock=Clock(0))
    s.set("a", "[1]", 50)  # no object: the touch leaves it, expiry included
    s.touch("a", '{"cookie":{}}', None)
    assert s.get("a", 49) == "[1]" and s.get("a", 50) is None
    s.set("b", '{"cookie":{}}', 50)  # a touched record without a cookie
    s.touch("b", '{"n":1}', None)
    assert s.get("b", 50) is None


def test_touch_of_a_missing_or_expired_record_does_nothing():
    clock = Clock(100)
    s = ls.MemoryStore(clock=clock)
    s.touch("nope", '{"cookie":{}}', None)
    assert "nope" not in s
    s.set("old", '{"cookie":{},"n":1}', 100)  # expires <= now
    s.touch("old", '{"cookie":{"y":1}}', 1000)
    assert "old" not in s  # deleted by the lookup, as get does


def test_bounded_and_swept_when_full():
    s = ls.MemoryStore(max_entries=2)
    s.set("a", "{}", 5, now_ms=0)
    s.set("b", "{}", None, now_ms=0)
    with pytest.raises(ls.MemoryStoreFull, match="memory store is full"):
        s.set("c", "{}", None, now_ms=1)
    s.set("a", "{}", 5, now_ms=1)  # replacing an existing record is fine when full
    s.set("c", "{}", None, now_ms=5)  # "a" expired and was swept
    assert s.sweep(100) == 0 and len(s) == 2


def test_no_sweep_on_a_clock():
    # As the Rust store: expired records stay until looked up, swept
    # explicitly, or swept because the store is full; no timer.
    clock = Clock(0)
    s = ls.MemoryStore(clock=clock)
    s.set("a", "{}", 10)
    s.set("b", "{}", 20)
    s.set("c", "{}", None)
    clock.now = 1_000_000
    s.set("d", "{}", None)
    assert len(s) == 4
    assert s.sweep(15) == 1 and sorted(s.snapshot()) == ["b", "c", "d"]
    assert s.sweep() == 1 and sorted(s.snapshot()) == ["c", "d"]  # now: the clock


def test_expiry_on_get_takes_now_from_the_caller():
    s = ls.MemoryStore(clock=Clock(0))
    s.set("a", "{}", 10)
    assert s.get("a", 9) == "{}"
    assert s.get("a") == "{}"  # the store's clock: 0
    assert s.get("a", 10) is None and "a" not in s


def test_destroy_and_snapshot():
    s = ls.MemoryStore()
    s.destroy("absent")
    s.set("b", '{"v":2}', None)
    s.set("a", b'{"v":1}', None)
    assert s.snapshot() == {"a": '{"v":1}', "b": '{"v":2}'}
    s.destroy("a")
    assert list(s.snapshot()) == ["b"]
    assert "records=1" in repr(s)


def test_insert_takes_the_expiry_from_the_library():
    clock = Clock(1_700_000_000_000)
    s = ls.MemoryStore(clock=clock)
    s.insert("iso", {"cookie": {"expires": "2023-11-14T22:13:20.000Z"}, "n": 1})  # == now: expired
    s.insert("utc", '{"cookie":{"expires":"Tue, 14 Nov 2023 22:13:21 GMT"}}')
    s.insert("null", {"cookie": {"expires": None}})
    s.insert("bad", {"cookie": {"expires": "not a date"}})
    s.insert("none", {"n": 1})
    assert s.get("iso") is None
    assert s.get("utc") is not None
    clock.now += 1000
    assert s.get("utc") is None
    assert all(s.get(k) is not None for k in ("null", "bad", "none"))
    with pytest.raises(ls.InvalidValueError):
        s.insert("x", "{")


def test_memory_store_expiry_rules():
    e = ls.memory_store_expiry
    assert e('{"cookie":{"expires":"1970-01-01T00:00:00.001Z"}}') == 1
    assert e('{"cookie":{"expires":"Tue, 14 Nov 2023 23:13:20 GMT"}}') == 1_700_003_600_000
    assert e('{"cookie":{"expires":"2023-11-14T23:13:20+01:00"}}') == 1_700_000_000_000
    assert e('{"cookie":{"expires":1500.2}}') == 1501  # rounded up: expires <= now
    assert e('{"cookie":{"expires":true}}') == 1
    assert e('{"cookie":{"expires":0}}') is None  # falsy: never
    assert e('{"cookie":{"expires":""}}') is None
    assert e('{"cookie":{"expires":"not a date"}}') is None
    assert e('{"cookie":{}}') is None
    assert e('{"cookie":"x"}') is None
    assert e("[1]") is None


def test_stored_record_handles():
    rec = ls.StoredRecord.from_text('{"cookie":{"a":1},"n":1}')
    assert rec.text == '{"cookie":{"a":1},"n":1}'
    touched = ls.StoredRecord.from_text('{"cookie":{"a":2},"n":1}')
    assert rec.apply_touch(touched) is True
    assert rec.text == '{"cookie":{"a":2},"n":1}'
    assert touched.text == '{"cookie":{"a":2},"n":1}'  # the touched record keeps its text
    with pytest.raises(ls.MisuseError):
        rec.apply_touch(rec)  # the same handle twice
    rec.close()
    assert rec.closed and "closed" in repr(rec)
    with pytest.raises(ls.MisuseError):
        rec.text
    with pytest.raises(TypeError):
        touched.apply_touch("{}")


# ----- the stored-record path through requests --------------------------------------------------


class TextStore:
    """A text-only store (no stored-record methods): get returns text."""

    def __init__(self, kind=ls.StoreKind.MEMORY):
        self.records: dict[str, str] = {}
        self.kind = kind

    def get(self, sid):
        return self.records.get(sid)

    def set(self, sid, record, expires_at):
        self.records[sid] = record

    def touch(self, sid, record, expires_at):
        pass

    def destroy(self, sid):
        self.records.pop(sid, None)


def _visits(store, n, config, now=NOW):
    """n requests of one visitor; the views each handler saw and the cookies."""
    seen, cookie = [], None
    for i in range(n):
        with ls.Request(config, now_ms=now + i, cookie=cookie, session_ids=[f"sid-{i}"]) as req:
            out = req.run(store, lambda r: seen.append(r.session.increment("views")))
        if out.set_cookie:
            cookie = out.set_cookie[0].split(";")[0]
    return seen, cookie


def test_the_memory_store_keeps_handles_and_answers_as_the_text_path(config):
    mem, text = ls.MemoryStore(clock=lambda: NOW), TextStore()
    assert _visits(mem, 4, config) == _visits(text, 4, config)
    assert mem.snapshot() == text.records
    ((sid, (record, expires_at)),) = mem._entries.items()
    assert isinstance(record, ls.StoredRecord) and expires_at == NOW + 3 + 3_600_000
    assert json.loads(record.text)["views"] == 4


def test_a_second_request_loads_the_handle(config):
    store = ls.MemoryStore(clock=lambda: NOW)
    _, cookie = _visits(store, 1, config)
    loads = []

    class Spy(ls.MemoryStore):
        def load_stored(self, sid, now_ms, request):
            found = super().load_stored(sid, now_ms, request)
            loads.append((now_ms, found))
            return found

    spy = Spy()
    spy._entries = store._entries  # the same handles
    with ls.Request(config, now_ms=NOW + 5, cookie=cookie) as req:
        assert req.poll_with(spy) is ls.READY
        assert req.get("views") == 1
        req.finish()
        assert req.poll_with(spy) is ls.DONE  # a touch (unmodified, no rolling)
    assert loads == [(NOW + 5, True)]


def test_expiry_on_load_uses_the_request_clock(config):
    store = ls.MemoryStore(clock=lambda: 0)  # the store's own clock is not used by the loop
    _, cookie = _visits(store, 1, config)
    with ls.Request(config, now_ms=NOW + 3_600_000, cookie=cookie, session_ids=["new"]) as req:
        req.run(store, lambda r: r.session.__setitem__("x", 1))
        assert req.session_id == "new"  # expired: a fresh session
    assert list(store.snapshot()) == ["new"]  # the expired record was deleted on load


def test_store_full_is_a_store_failure(config):
    store = ls.MemoryStore(max_entries=1)
    _visits(store, 1, config)
    with ls.Request(config, now_ms=NOW) as req:
        out = req.run(store, lambda r: r.session.__setitem__("a", 1))
    assert out.errors == ["memory store is full"]


# ----- store kinds ---------------------------------------------------------------------------


STALE = {"cookie": {"originalMaxAge": 1000, "expires": "2000-01-01T00:00:00.000Z", "path": "/", "httpOnly": True}}


def _cookie_for(config, sid):
    """A signed cookie for ``sid``: a request that creates that session."""
    with ls.Request(config, now_ms=NOW, session_ids=[sid]) as req:
        out = req.run(TextStore(), lambda r: r.session.__setitem__("a", 1))
    return out.set_cookie[0].split(";")[0]


@pytest.mark.parametrize("kind", [ls.StoreKind.MEMORY, ls.StoreKind.TTL])
def test_store_kind_decides_a_stale_record_and_null(config, kind):
    cookie = _cookie_for(config, "sid")
    store = TextStore(kind)
    store.records["sid"] = json.dumps(dict(STALE, n=7))
    with ls.Request(config, now_ms=NOW, cookie=cookie, session_ids=["fresh"]) as req:
        out = req.run(store, lambda r: None)
        assert req.store_kind is kind
        if kind is ls.StoreKind.TTL:
            assert req.session_id == "sid" and req.get("n") == 7  # the TTL is the authority
        else:
            assert req.session_id == "fresh"  # MemoryStore: expired
    assert not out.failed

    store.records = {"sid": "null"}
    with ls.Request(config, now_ms=NOW, cookie=cookie, session_ids=["fresh"]) as req:
        out = req.run(store, lambda r: r.session.__setitem__("b", 1))
        if kind is ls.StoreKind.TTL:
            assert not out.failed and req.session_id == "fresh"  # null: not found
        else:
            assert out.failed  # MemoryStore's get fails on null
            assert not out.handler_ran


def test_store_kind_on_the_request(config):
    with ls.Request(config, now_ms=NOW, store_kind=ls.StoreKind.TTL) as req:
        assert req.store_kind is ls.StoreKind.TTL
        req.set_store_kind(ls.StoreKind.MEMORY)
        assert req.store_kind is ls.StoreKind.MEMORY
        with pytest.raises(ls.MisuseError):
            req.set_store_kind(7)  # INVALID_PARAMETER from the library
        with pytest.raises(TypeError):
            req.set_store_kind("ttl")


def test_thread_safety_smoke():
    s = ls.MemoryStore()

    def worker(i):
        for j in range(300):
            sid = f"{i}-{j % 10}"
            s.set(sid, '{"cookie":{},"n":1}', None)
            s.touch(sid, '{"cookie":{"t":1}}', None)
            s.get(sid)
            if j % 3 == 0:
                s.destroy(sid)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for text in s.snapshot().values():
        assert text == '{"cookie":{"t":1},"n":1}'


def test_constants_come_from_the_library():
    import ctypes

    from libsession._lib import LIB

    b, p = ctypes.c_size_t(), ctypes.c_size_t()
    assert LIB.libsession_default_cookie_limits(ctypes.byref(b), ctypes.byref(p)) == 0
    assert ls.default_cookie_limits() == (b.value, p.value)
    assert (ls.DEFAULT_COOKIE_MAX_HEADER_BYTES, ls.DEFAULT_COOKIE_MAX_PAIRS) == (b.value, p.value)
    assert ls.DEFAULT_COOKIE_MAX_PAIRS == 16 * 1024  # the Rust CookieLimits default
    for r in ls.Result:
        assert LIB.libsession_result_name(r.value).decode() == r.name
        assert ls.result_message(r) == LIB.libsession_result_str(r.value).decode()


def test_one_cookie_limit_keeps_the_library_default_for_the_other():
    # 5000 pairs before the session cookie: beyond the old Python default of
    # 4096 pairs, within the library's.
    with ls.Config(secret=SECRET, cookie_max_header_bytes=1_000_000, session_id_lengths=None) as cfg:
        cookie = _cookie_for(cfg, "sid")
        header = "; ".join(f"k{i}=v" for i in range(5000)) + "; " + cookie
        with ls.Request(cfg, now_ms=NOW, cookie=header) as req:
            req.next_action()
            assert req.cookie_session_id == "sid"


def test_new_sessions_are_inserted_if_absent():
    """Issue 16: two requests given the same entropy get different IDs; the
    first session's record is never overwritten (MemoryStore.set_if_absent)."""
    store = ls.MemoryStore()
    ids = []
    with ls.Config(secret=SECRET, max_age=60_000) as cfg:
        for owner in (1, 2):
            with ls.Request(cfg, now_ms=NOW, entropy=bytes([5]) * 32) as r:
                out = r.run(store, lambda r, owner=owner: r.session.__setitem__("owner", owner))
                ids.append(r.session_id)
                assert ids[-1] in out.set_cookie[-1]
    assert ids[0] != ids[1]
    assert '"owner":1' in store.get(ids[0], NOW) and '"owner":2' in store.get(ids[1], NOW)
