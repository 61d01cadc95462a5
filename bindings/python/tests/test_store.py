"""MemoryStore: the Rust reference store's semantics, the expiry sweep, and
the JavaScript date rules it uses."""

from __future__ import annotations

import math
import threading

import pytest

import libsession as ls
from libsession._jsdate import js_number, parse_date, record_expiry
from libsession.store import _top_level_span


class Clock:
    def __init__(self, now=0):
        self.now = now

    def __call__(self):
        return self.now


def test_it_is_a_store():
    assert isinstance(ls.MemoryStore(), ls.Store)


def test_touch_replaces_cookie_only():
    # The Rust store's unit test, verbatim.
    clock = Clock(0)
    s = ls.MemoryStore(clock=clock, sweep_interval_ms=None)
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


def test_touch_of_a_missing_or_expired_record_does_nothing():
    clock = Clock(100)
    s = ls.MemoryStore(clock=clock, sweep_interval_ms=None)
    s.touch("nope", '{"cookie":{}}', None)
    assert "nope" not in s
    s.set("old", '{"cookie":{},"n":1}', 100)  # expires <= now
    s.touch("old", '{"cookie":{"y":1}}', 1000)
    assert "old" not in s  # deleted by the lookup, as get does


def test_bounded_and_swept():
    clock = Clock(0)
    s = ls.MemoryStore(clock=clock, max_entries=2, sweep_interval_ms=None)
    s.set("a", "{}", 5)
    s.set("b", "{}", None)
    clock.now = 1
    with pytest.raises(ls.MemoryStoreFull, match="memory store is full"):
        s.set("c", "{}", None)
    s.set("a", "{}", 5)  # replacing an existing record is fine when full
    clock.now = 5
    s.set("c", "{}", None)  # "a" expired and was swept
    assert s.sweep(100) == 0 and len(s) == 2


def test_sweep_and_periodic_sweep():
    clock = Clock(0)
    s = ls.MemoryStore(clock=clock, sweep_interval_ms=None)
    s.set("a", "{}", 10)
    s.set("b", "{}", 20)
    s.set("c", "{}", None)
    clock.now = 15
    assert len(s) == 3  # lazy: expired records stay until looked up or swept
    assert s.sweep() == 1 and sorted(s.snapshot()) == ["b", "c"]
    periodic = ls.MemoryStore(clock=clock, sweep_interval_ms=100)
    periodic.set("x", "{}", 20)
    clock.now = 50
    periodic.set("y", "{}", None)
    assert "x" in periodic  # less than an interval since the last sweep
    clock.now = 120
    periodic.set("z", "{}", None)
    assert "x" not in periodic and len(periodic) == 2


def test_destroy_and_snapshot():
    s = ls.MemoryStore(sweep_interval_ms=None)
    s.destroy("absent")
    s.set("b", '{"v":2}', None)
    s.set("a", b'{"v":1}', None)
    assert s.snapshot() == {"a": '{"v":1}', "b": '{"v":2}'}
    s.destroy("a")
    assert list(s.snapshot()) == ["b"]
    assert "records=1" in repr(s)


def test_insert_computes_expiry_from_the_record():
    clock = Clock(1_700_000_000_000)
    s = ls.MemoryStore(clock=clock, sweep_interval_ms=None)
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


def test_record_expiry_rules():
    assert record_expiry({"cookie": {"expires": "1970-01-01T00:00:00.001Z"}}) == 1
    assert record_expiry({"cookie": {"expires": 1500.2}}) == 1501  # rounded up: expires <= now
    assert record_expiry({"cookie": {"expires": True}}) == 1
    assert record_expiry({"cookie": {"expires": 0}}) is None  # falsy: never
    assert record_expiry({"cookie": {"expires": ""}}) is None
    assert record_expiry({"cookie": {}}) is None
    assert record_expiry({"cookie": "x"}) is None
    assert record_expiry([1]) is None


def test_parse_date_like_javascript():
    t = 1_700_003_600_000
    assert parse_date("2023-11-14T23:13:20.000Z") == t
    assert parse_date("Tue, 14 Nov 2023 23:13:20 GMT") == t
    assert parse_date("2023-11-14T23:13:20+01:00") == t - 3_600_000
    assert parse_date("+033712-08-11T01:00:00.000Z") == 1_001_700_003_600_000
    assert parse_date("-000001-01-01T00:00:00.000Z") == -62_198_755_200_000
    assert parse_date("1969-12-31T23:59:59.999Z") == -1
    assert parse_date("2023-11-14") == 1_699_920_000_000
    assert parse_date("2023-11-14T23:13:20.1239Z") == t + 123  # V8 keeps three digits
    for bad in ("not a date", "2023-02-30", "-000000-01-01T00:00:00Z", "2023-11-14T25:00", "", "Tue, 14 Nov 2023"):
        assert math.isnan(parse_date(bad)), bad


def test_js_number():
    assert js_number(None) == 0 and js_number(True) == 1 and js_number(" 12 ") == 12
    assert js_number("0x10") == 16 and js_number("-Infinity") == -math.inf and js_number("") == 0
    assert math.isnan(js_number("12px")) and math.isnan(js_number({})) and js_number([7]) == 7


def test_top_level_span_matches_the_rust_scanner():
    t = '{"a":{"cookie":1},"cookie":{"x":"}\\""},"b":[1,{"c":2}]}'
    s, e = _top_level_span(t, "cookie")
    assert t[s:e] == '{"x":"}\\""}'
    s, e = _top_level_span(t, "b")
    assert t[s:e] == '[1,{"c":2}]'
    assert _top_level_span(t, "zz") is None
    assert _top_level_span("[1]", "a") is None
    assert _top_level_span('{"a":', "a") is None
    assert _top_level_span(' { "n" : 12 , "cookie" : null } ', "cookie") is not None


def test_thread_safety_smoke():
    s = ls.MemoryStore(sweep_interval_ms=0)

    def worker(i):
        for j in range(500):
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
