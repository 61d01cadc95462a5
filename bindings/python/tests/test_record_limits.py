"""RecordLimits through the C ABI (issue 16): a store record over the size,
keys-per-object or nesting limit is reported corrupt (the record_corrupt
event, a failed load), and raising the limit accepts it; the limits read
from Config keywords and from express options' "recordLimits"."""

from __future__ import annotations

import json

import pytest

import libsession as ls
from conftest import NOW, SECRET

SID = "rl-0123456789abcdefghijklmnopqrstuvwx"
COOKIE = {"originalMaxAge": None, "expires": None, "httpOnly": True, "path": "/"}


def signed_cookie(config):
    """A cookie for SID, signed by ``config`` (a session made with that ID)."""
    store = ls.MemoryStore(clock=lambda: NOW)
    with ls.Request(config, now_ms=NOW, session_ids=[SID]) as req:
        out = req.run(store, lambda r: r.set("x", 1))
    return out.set_cookie[0].split(";", 1)[0]


def load(config, record_text):
    """Loads SID's record (given as text) with ``config``: (failed, events, data)."""
    store = ls.MemoryStore(clock=lambda: NOW)
    store.insert(SID, record_text)
    cookie = signed_cookie(config)
    seen = {}
    with ls.Request(config, now_ms=NOW, session_ids=["fresh-0123456789abcdefghijklmnopqrstuv"], cookie=cookie) as req:
        out = req.run(store, lambda r: seen.setdefault("data", r.get("data")))
        return bool(out.failed), [e.name for e in req.events()], seen.get("data")


def wide(n):
    return json.dumps({"cookie": COOKIE, "data": 1, **{f"k{i}": i for i in range(n)}})


DEEP = json.dumps({"cookie": COOKIE, "data": [[[[1]]]]})  # 5 levels: the record and four arrays
BIG = json.dumps({"cookie": COOKIE, "data": "x" * 1000})

CASES = [
    # (keyword, value that refuses the record, value that accepts it, record)
    ("record_max_keys", 6, 7, wide(5)),  # cookie, data and five more keys: 7 at the top level
    ("record_max_depth", 4, 5, DEEP),
    ("record_max_bytes", len(BIG) - 1, len(BIG), BIG),
]


@pytest.mark.parametrize("key,refuses,accepts,record", CASES, ids=[c[0] for c in CASES])
def test_a_record_over_each_limit_is_corrupt_and_a_raised_limit_accepts_it(key, refuses, accepts, record):
    with ls.Config(secret=SECRET, **{key: refuses}) as tight:
        failed, events, data = load(tight, record)
        assert failed and "record_corrupt" in events and data is None
    with ls.Config(secret=SECRET, **{key: accepts}) as enough:
        failed, events, data = load(enough, record)
        assert not failed and "record_corrupt" not in events and data is not None


def test_from_express_options_record_limits():
    failed, events, _ = load(ls.Config.from_express_options({"secret": SECRET, "recordLimits": {"maxBytes": 100}}), BIG)
    assert failed and "record_corrupt" in events
    options = {"secret": SECRET, "recordLimits": {"maxBytes": 2000, "maxKeys": 7, "maxDepth": 5}}
    for record in (BIG, wide(5), DEEP):
        assert load(ls.Config.from_express_options(options), record)[0] is False
    assert load(ls.Config.from_express_options({"secret": SECRET, "recordLimits": {"maxDepth": 3}}), DEEP)[0]
    # null keeps the defaults, which accept these records.
    assert load(ls.Config.from_express_options({"secret": SECRET, "recordLimits": None}), DEEP)[0] is False
    for bad in ({"maxBytes": 0}, {"maxKeys": 1.5}, {"maxDepth": "4"}, {"maxSize": 4}, [4]):
        with pytest.raises(ls.ConfigError):
            ls.Config.from_express_options({"secret": SECRET, "recordLimits": bad})


def test_defaults_and_bad_keywords():
    assert ls.default_record_limits() == (1 << 20, 16384, 512)
    assert (ls.DEFAULT_RECORD_MAX_BYTES, ls.DEFAULT_RECORD_MAX_KEYS, ls.DEFAULT_RECORD_MAX_DEPTH) == (1 << 20, 16384, 512)
    with pytest.raises(ValueError, match="at least 1"):
        ls.Config(secret=SECRET, record_max_depth=0)
    with pytest.raises(TypeError):
        ls.Config(secret=SECRET, record_max_keys="7")
