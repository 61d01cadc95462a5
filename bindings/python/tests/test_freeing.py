"""Deterministic freeing: close(), context managers, __del__ as the fallback,
each handle freed exactly once, and a config closed before its requests."""

from __future__ import annotations

import gc

import pytest

import libsession as ls
from libsession import _config, _request
from conftest import NOW, SECRET


@pytest.fixture
def frees(monkeypatch):
    """Records every pointer passed to libsession_request_free / _config_free."""
    log = {"request": [], "config": []}
    real_req, real_cfg = _request._free, _config._config_free

    def free_request(p):
        log["request"].append(p)
        real_req(p)

    def free_config(p):
        log["config"].append(p)
        real_cfg(p)

    monkeypatch.setattr(_request, "_free", free_request)
    monkeypatch.setattr(_config, "_config_free", free_config)
    return log


def test_close_frees_once(frees, config):
    req = ls.Request(config, now_ms=NOW)
    ptr = req._ptr
    req.close()
    req.close()
    del req
    gc.collect()
    assert frees["request"] == [ptr]


def test_context_managers_free(frees):
    with ls.Config(secret=SECRET) as cfg:
        cptr = cfg._ptr
        with ls.Request(cfg, now_ms=NOW) as req:
            rptr = req._ptr
            assert req.next_action() is ls.READY
        assert frees["request"] == [rptr] and req.closed
    assert frees["config"] == [cptr] and cfg.closed


def test_del_is_the_fallback(frees):
    cfg = ls.Config(secret=SECRET)
    req = ls.Request(cfg, now_ms=NOW)
    rptr, cptr = req._ptr, cfg._ptr
    del req, cfg
    gc.collect()
    assert frees["request"] == [rptr]
    assert frees["config"] == [cptr]


def test_exception_in_with_block_still_frees(frees, config):
    with pytest.raises(RuntimeError):
        with ls.Request(config, now_ms=NOW) as req:
            ptr = req._ptr
            raise RuntimeError("handler failed")
    assert frees["request"] == [ptr]


def test_failed_construction_frees_the_request(frees, config, monkeypatch):
    # The C request exists when a later fact is refused: it must not leak.
    monkeypatch.setattr(_request, "_set_target", lambda p, b, n: int(ls.Result.WRONG_PHASE))
    with pytest.raises(ls.MisuseError):
        ls.Request(config, now_ms=NOW, target="/x")
    assert len(frees["request"]) == 1


def test_config_closed_before_its_requests(config, store):
    cfg = ls.Config(secret=SECRET, max_age=1000)
    req = ls.Request(cfg, now_ms=NOW)
    cfg.close()  # the request holds its own reference to the C config
    assert req.next_action() is ls.READY
    req.session["a"] = 1
    out = req.run(store)
    assert len(out.set_cookie) == 1 and "Expires=" in out.set_cookie[0]
    req.close()


def test_config_collected_before_its_requests(store):
    req = ls.Request(ls.Config(secret=SECRET), now_ms=NOW)  # the Python config is garbage at once
    gc.collect()
    out = req.run(store, lambda r: r.session.increment("n"))
    assert len(out.set_cookie) == 1
    req.close()


def _rss_kb() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4


@pytest.mark.skipif(not __import__("os").path.exists("/proc/self/statm"), reason="needs /proc")
def test_no_leak_when_relying_on_del(config, store):
    def burst(n):
        for _ in range(n):
            req = ls.Request(config, now_ms=NOW)  # never closed explicitly
            req.run(store, lambda r: r.session.__setitem__("blob", "x" * 2000))
            store.destroy(req.session_id)

    burst(2000)  # warm up allocators and caches
    gc.collect()
    before = _rss_kb()
    burst(20000)
    gc.collect()
    grown = _rss_kb() - before
    # A leaked request (with its 2 KB session) would cost 40+ MB here.
    assert grown < 8000, f"RSS grew by {grown} kB over 20000 requests"
