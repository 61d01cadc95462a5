"""Errors: misuse (wrong order, closed handles, NULL), bad types from Python
(rejected before anything reaches C), store exceptions, and the exception
classes with their C result codes."""

from __future__ import annotations

import ctypes
import datetime as dt
import math

import pytest

import libsession as ls
from libsession import _lib
from conftest import NOW, SECRET


def ready(config, **kw):
    req = ls.Request(config, now_ms=NOW, **kw)
    assert req.next_action() is ls.READY
    return req


# ----- misuse: the wrong order ---------------------------------------------------


def test_finish_before_polling_is_wrong_phase_then_the_request_is_failed(config):
    with ls.Request(config, now_ms=NOW) as req:
        with pytest.raises(ls.MisuseError) as e:
            req.finish()
        assert e.value.code == ls.Result.WRONG_PHASE
        assert "phase" in e.value.message
        with pytest.raises(ls.MisuseError) as e:
            req.next_action()
        assert e.value.code == ls.Result.REQUEST_FAILED


def test_an_answer_nobody_asked_for_is_unexpected_input(config):
    with ls.Request(config, now_ms=NOW) as req:
        with pytest.raises(ls.MisuseError) as e:
            req.handle_store_result()
        assert e.value.code == ls.Result.UNEXPECTED_INPUT
    with ready(config) as req:
        with pytest.raises(ls.MisuseError) as e:
            req.handle_load_result("{}")
        assert e.value.code == ls.Result.UNEXPECTED_INPUT
        with pytest.raises(ls.MisuseError) as e:
            req.session["a"] = 1
        assert e.value.code == ls.Result.REQUEST_FAILED


def test_the_wrong_answer_kind_is_misuse(config, store):
    with ls.Request(config, now_ms=NOW, cookie="connect.sid=" + signed_cookie(config, store)) as req:
        assert isinstance(req.next_action(), ls.Load)
        with pytest.raises(ls.MisuseError) as e:
            req.handle_store_result()  # a Load is outstanding, not a Save
        assert e.value.code == ls.Result.UNEXPECTED_INPUT


def test_handler_calls_while_a_store_answer_is_owed(config, store):
    with ls.Request(config, now_ms=NOW, cookie="connect.sid=" + signed_cookie(config, store)) as req:
        assert isinstance(req.next_action(), ls.Load)
        with pytest.raises(ls.MisuseError) as e:
            req.session["a"] = 1
        assert e.value.code == ls.Result.WRONG_PHASE


def test_facts_after_the_first_poll_are_wrong_phase(config):
    with ready(config) as req:
        with pytest.raises(ls.MisuseError) as e:
            req.set_target("/late")
        assert e.value.code == ls.Result.WRONG_PHASE


def test_finish_twice_is_misuse(config, store):
    with ready(config) as req:
        req.finish()
        assert req.poll_with(store) is ls.DONE
        with pytest.raises(ls.MisuseError):
            req.finish()


def signed_cookie(config, store):
    with ls.Request(config, now_ms=NOW) as req:
        out = req.run(store, lambda r: r.session.__setitem__("a", 1))
    return out.set_cookie[0].split(";")[0].split("=", 1)[1]


# ----- misuse: closed handles and NULL --------------------------------------------


def test_a_closed_request_raises_instead_of_reaching_c(config):
    req = ls.Request(config, now_ms=NOW)
    req.close()
    req.close()  # idempotent
    assert req.closed and "closed" in repr(req)
    for call in (
        req.next_action,
        req.finish,
        lambda: req.handle_store_result(),
        lambda: req.session["a"],
        lambda: req.session_id,
        lambda: req.has_session,
        lambda: req.set_target("/"),
    ):
        with pytest.raises(ls.MisuseError) as e:
            call()
        assert e.value.code == ls.Result.NULL_PARAMETER


def test_a_closed_config_cannot_make_requests():
    cfg = ls.Config(secret=SECRET)
    cfg.close()
    assert cfg.closed and "closed" in repr(cfg)
    with pytest.raises(ls.MisuseError) as e:
        ls.Request(cfg)
    assert e.value.code == ls.Result.NULL_PARAMETER
    with pytest.raises(ls.MisuseError):
        _ = cfg.name


def test_null_pointers_at_the_c_level_are_reported_not_crashed():
    L = _lib.LIB
    kind = ctypes.c_uint32()
    assert L.libsession_request_poll_action(None, ctypes.byref(kind)) == ls.Result.NULL_PARAMETER
    assert L.libsession_request_finish(None) == ls.Result.NULL_PARAMETER
    assert L.libsession_request_set_json(None, b"k", 1, b"1", 1) == ls.Result.NULL_PARAMETER
    assert L.libsession_config_builder_new(None) == ls.Result.NULL_PARAMETER
    assert L.libsession_request_new(None, 0, None, 0, None) == ls.Result.NULL_PARAMETER
    flag = ctypes.c_bool()
    assert L.libsession_request_has_session(None, ctypes.byref(flag)) == ls.Result.NULL_PARAMETER
    assert L.libsession_request_session_id(None, None) == ls.Result.NULL_PARAMETER
    L.libsession_request_free(None)
    L.libsession_config_free(None)
    L.libsession_config_builder_free(None)
    assert L.libsession_request_last_error(None, None) == ls.Result.NULL_PARAMETER
    assert L.libsession_result_is_misuse(ls.Result.NULL_PARAMETER)
    assert not L.libsession_result_is_misuse(ls.Result.NO_SESSION)


# ----- bad types from Python ---------------------------------------------------------


@pytest.mark.parametrize(
    "call, exc",
    [
        (lambda r: r.session.__setitem__(1, "v"), TypeError),
        (lambda r: r.session.__setitem__("k", object()), TypeError),
        (lambda r: r.session.__setitem__("k", {1, 2}), TypeError),
        (lambda r: r.session.__setitem__("k", math.nan), ValueError),
        (lambda r: r.session.__setitem__("k", math.inf), ValueError),
        (lambda r: r.session.__setitem__("k", "\ud800"), ValueError),
        (lambda r: r.session.__setitem__("\ud800", 1), ValueError),
        (lambda r: r.session.__getitem__(b"k"), TypeError),
        (lambda r: r.session.increment(None), TypeError),
        (lambda r: r.set_max_age("10"), TypeError),
        (lambda r: r.set_max_age(True), TypeError),
        (lambda r: r.set_expires("2023-01-01"), TypeError),
        (lambda r: r.set_expires(dt.datetime(2023, 1, 1)), ValueError),
        (lambda r: r.set_cookie_attr(1, True), TypeError),
        (lambda r: r.set_cookie_attr("path", object()), TypeError),
        (lambda r: r.handle_load_result(found=123), TypeError),
        (lambda r: r.handle_load_result(found="{}", failed="x"), ValueError),
        (lambda r: r.handle_load_result(missing=1), TypeError),
        (lambda r: r.handle_store_result(failed=b"bytes"), TypeError),
        (lambda r: r.set_tls(1), TypeError),
        (lambda r: r.set_now(1.5), TypeError),
        (lambda r: r.set_now(-1), ValueError),
        (lambda r: r.push_session_id(b"id"), TypeError),
        (lambda r: r.add_cookie_header(5), TypeError),
    ],
)
def test_bad_values_raise_before_reaching_c(config, store, call, exc):
    with ready(config) as req:
        with pytest.raises(exc) as e:
            call(req)
        assert not isinstance(e.value, ls.LibsessionError)
        assert str(e.value)  # a message saying what was wrong
        # Nothing reached the engine: the request is still usable.
        req.session["ok"] = 1
        out = req.run(store)
        assert len(out.set_cookie) == 1


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"now_ms": "1"}, TypeError),
        ({"now_ms": 1.5}, TypeError),
        ({"now_ms": -1}, ValueError),
        ({"now_ms": 2**64}, ValueError),
        ({"entropy": "x" * 32}, TypeError),
        ({"cookie": 5}, TypeError),
        ({"cookie": ["a=b", 5]}, TypeError),
        ({"forwarded_proto": 1.0}, TypeError),
        ({"target": 3}, TypeError),
        ({"tls": 1}, TypeError),
        ({"store_unavailable": "yes"}, TypeError),
        ({"session_ids": "abc"}, TypeError),
        ({"session_ids": [1]}, TypeError),
    ],
)
def test_bad_request_arguments(config, kwargs, exc):
    with pytest.raises(exc):
        ls.Request(config, **kwargs)


def test_request_needs_a_config():
    with pytest.raises(TypeError):
        ls.Request("config")


# ----- conditions the engine reports ---------------------------------------------------


def test_reserved_keys_and_unknown_attributes(config):
    with ready(config) as req:
        for key in ("cookie", "id", "regenerate", "constructor"):
            with pytest.raises(ls.ReservedKeyError) as e:
                req.session[key] = 1
            assert e.value.code == ls.Result.RESERVED_KEY and isinstance(e.value, ValueError)
        with pytest.raises(ls.InvalidValueError) as e:
            req.set_cookie_attr("bogus", 1)
        assert e.value.code == ls.Result.UNKNOWN_COOKIE_ATTRIBUTE and "bogus" in e.value.message
        req.session["fine"] = 1  # not misuse: the request goes on


def test_insufficient_entropy(config):
    with pytest.raises(ls.EntropyError) as e:
        ls.Request(config, entropy=b"x" * 31)
    assert e.value.code == ls.Result.INSUFFICIENT_ENTROPY


def test_exception_attributes_and_hierarchy():
    e = ls.MisuseError(ls.Result.WRONG_PHASE)
    assert isinstance(e, ls.LibsessionError) and e.code is ls.Result.WRONG_PHASE
    assert e.message == ls.result_message(5) and "WRONG_PHASE" in str(e) and "code=5" in repr(e)
    assert ls.LibsessionError(999).code == 999 and "unknown" in ls.LibsessionError(999).message
    assert issubclass(ls.NoSessionError, ls.LibsessionError)
    assert issubclass(ls.ConfigError, ValueError)
    assert not issubclass(ls.NoSessionError, ls.MisuseError)


# ----- store exceptions become store failures -----------------------------------------------


class FlakyStore:
    """A text-only store (get/set/touch/destroy) in front of a MemoryStore."""

    def __init__(self, fail=()):
        self.inner = ls.MemoryStore(clock=lambda: NOW)
        self.fail = set(fail)

    def get(self, sid):
        if "get" in self.fail:
            raise ConnectionError("get: connection refused")
        if "get-enoent" in self.fail:
            raise FileNotFoundError("gone")
        if "get-type" in self.fail:
            return 42
        return self.inner.get(sid)

    def set(self, sid, record, expires_at):
        if "set" in self.fail:
            raise OSError("set: disk full")
        return self.inner.set(sid, record, expires_at)

    def touch(self, sid, record, expires_at):
        if "touch" in self.fail:
            raise RuntimeError("")  # an empty message: the type name is reported
        return self.inner.touch(sid, record, expires_at)

    def destroy(self, sid):
        if "destroy" in self.fail:
            raise KeyError("destroy failed")
        return self.inner.destroy(sid)


def test_store_exceptions_are_reported_to_the_engine(config):
    store = FlakyStore()
    cookie = "connect.sid=" + signed_cookie(config, store)

    store.fail = {"get"}
    with ls.Request(config, now_ms=NOW, cookie=cookie) as req:
        out = req.run(store, lambda r: pytest.fail("handler must not run after a failed load"))
    assert out.failed and out.errors == ["get: connection refused"]

    store.fail = {"get-enoent"}
    seen = {}
    with ls.Request(config, now_ms=NOW, cookie=cookie, session_ids=["after-enoent"]) as req:
        out = req.run(store, lambda r: seen.setdefault("sid", r.session_id))
    assert not out.failed and seen["sid"] == "after-enoent"  # ENOENT counts as not found

    store.fail = {"set"}
    with ls.Request(config, now_ms=NOW) as req:
        out = req.run(store, lambda r: r.session.__setitem__("a", 1))
    assert out.errors == ["set: disk full"] and not out.failed

    store.fail = {"touch"}
    with ls.Request(config, now_ms=NOW, cookie=cookie) as req:
        out = req.run(store, lambda r: None)
    assert out.errors == ["RuntimeError"]

    store.fail = {"destroy"}
    with ls.Request(config, now_ms=NOW, cookie=cookie) as req:
        assert req.poll_with(store) is ls.READY
        req.destroy()
        assert req.poll_with(store) == ls.Completed("'destroy failed'")

    store.fail = {"get-type"}
    with ls.Request(config, now_ms=NOW, cookie=cookie) as req:
        with pytest.raises(TypeError, match="store.get must return"):
            req.poll_with(store)
