"""Config: every option of the C builder from keyword arguments, express
options, and validation (Python-side TypeError/ValueError, library-side
ConfigError with the C code)."""

from __future__ import annotations

import json
import math

import pytest

import libsession as ls
from conftest import NOW, SECRET


def cookie_of(cfg, store=None, *, modify=True, **req):
    """The Set-Cookie values of one request (new visitor unless cookie= is given)."""
    store = store if store is not None else ls.MemoryStore(clock=lambda: NOW)
    with ls.Request(cfg, now_ms=NOW, **req) as r:
        out = r.run(store, (lambda r: r.session.__setitem__("a", 1)) if modify else None)
    return out.set_cookie


def test_defaults_are_the_secure_ones():
    with ls.Config(secret=SECRET) as cfg:
        assert cfg.name == "connect.sid" and cfg.max_age is None and cfg.unset == "keep"
        assert not cfg.express_compat
        (c,) = cookie_of(cfg)
        assert c.endswith("; Path=/; HttpOnly; SameSite=Lax")  # no Expires: a browser-session cookie
        assert cookie_of(cfg, modify=False) == []  # saveUninitialized off


def test_cookie_attributes():
    with ls.Config(
        secret=SECRET,
        name="sid",
        cookie_path="/app",
        cookie_domain="example.com",
        http_only=False,
        secure=True,
        max_age=60_000,
        same_site="strict",
        partitioned=True,
        priority="HIGH",
    ) as cfg:
        assert cfg.name == "sid" and cfg.max_age == 60_000
        (c,) = cookie_of(cfg, target="/app/x", tls=True)
        assert c.startswith("sid=s%3A")
        assert c.endswith(
            "; Domain=example.com; Path=/app; Expires=Tue, 14 Nov 2023 22:14:20 GMT; Secure; Partitioned; "
            "Priority=High; SameSite=Strict"
        )
        assert cookie_of(cfg, target="/app/x") == []  # Secure cookie, plain HTTP: not sent


@pytest.mark.parametrize(
    "same_site, attr",
    [(False, None), (True, "SameSite=Strict"), ("lax", "SameSite=Lax"), ("strict", "SameSite=Strict")],
)
def test_same_site_values(same_site, attr):
    with ls.Config(secret=SECRET, same_site=same_site) as cfg:
        (c,) = cookie_of(cfg)
        if attr is None:
            assert "SameSite" not in c
        else:
            assert c.endswith(attr)


def test_same_site_none_and_auto():
    with ls.Config(secret=SECRET, same_site="none", secure=True) as cfg:
        assert cookie_of(cfg, tls=True)[0].endswith("; Secure; SameSite=None")
    with ls.Config(secret=SECRET, same_site="auto") as cfg:
        assert cookie_of(cfg, tls=True)[0].endswith("; Secure; SameSite=None")
        assert cookie_of(cfg)[0].endswith("; HttpOnly; SameSite=Lax")


def test_secure_auto_and_never():
    with ls.Config(secret=SECRET, secure="auto") as cfg:
        assert "; Secure" in cookie_of(cfg, tls=True)[0]
        assert "; Secure" not in cookie_of(cfg)[0]
    with ls.Config(secret=SECRET, secure=False, same_site=False) as cfg:
        assert "; Secure" not in cookie_of(cfg, tls=True)[0]


def test_partitioned_and_priority_unset():
    with ls.Config(secret=SECRET, partitioned=None, priority=None) as cfg:
        c = cookie_of(cfg)[0]
        assert "Partitioned" not in c and "Priority" not in c
    with ls.Config(secret=SECRET, partitioned=False, priority="low") as cfg:
        c = cookie_of(cfg)[0]
        assert "Partitioned" not in c and "Priority=Low" in c


def test_secret_rotation():
    store = ls.MemoryStore(clock=lambda: NOW)
    with ls.Config(secrets=[b"old secret old secret old secret!"], max_age=60_000) as old:
        (c,) = cookie_of(old, store)
    value = c.split(";")[0]
    with ls.Config(secrets=["new secret new secret new secret!", b"old secret old secret old secret!"], max_age=60_000) as rotated:
        with ls.Request(rotated, now_ms=NOW, cookie=value) as r:
            out = r.run(store, lambda r: r.session.increment("a"))
            assert r.cookie_session_id is not None  # verified with the old secret
        (c2,) = out.set_cookie
        assert c2.split(".")[0] == value.split(".")[0]  # same session id
        assert c2.split(";")[0] != value  # re-signed with the newest secret
    with ls.Config(secret="new secret new secret new secret!") as only_new:
        with ls.Request(only_new, now_ms=NOW, cookie=value) as r:
            r.run(store)
            assert r.cookie_session_id is None  # the old signature no longer verifies


def test_resave_rolling_save_uninitialized():
    store = ls.MemoryStore(clock=lambda: NOW)
    with ls.Config(secret=SECRET, save_uninitialized=True) as cfg:
        assert len(cookie_of(cfg, store, modify=False)) == 1
    with ls.Config(secret=SECRET, rolling=True, resave=True, save_uninitialized=True, max_age=1000) as cfg:
        (c,) = cookie_of(cfg, store, modify=False)
        calls = []

        class Spy:  # a text store in front of the memory store
            def __init__(self, inner):
                self.inner = inner

            def get(self, sid):
                return self.inner.get(sid)

            def set(self, *a):
                calls.append("set")
                self.inner.set(*a)

            def touch(self, *a):
                calls.append("touch")
                self.inner.touch(*a)

            def destroy(self, sid):
                self.inner.destroy(sid)

        spy = Spy(ls.MemoryStore(clock=lambda: NOW))
        for sid, text in store.snapshot().items():
            spy.inner.insert(sid, text)
        again = cookie_of(cfg, spy, modify=False, cookie=c.split(";")[0])
        assert len(again) == 1  # rolling: re-sent unmodified
        assert calls == ["set"]  # resave: saved unmodified


def test_unset_destroy_property():
    with ls.Config(secret=SECRET, unset="destroy") as cfg:
        assert cfg.unset == "destroy"


def test_proxy_and_trust_proxy():
    for kwargs, secure in (
        ({"proxy": True}, True),
        ({"proxy": False}, False),
        ({"proxy": None, "trust_proxy": True}, True),
        ({"proxy": None, "trust_proxy": False}, False),
    ):
        with ls.Config(secret=SECRET, **kwargs) as cfg, ls.Request(cfg, now_ms=NOW, forwarded_proto="https") as r:
            r.next_action()
            assert r.is_secure is secure, kwargs


def test_cookie_limits():
    store = ls.MemoryStore(clock=lambda: NOW)
    with ls.Config(secret=SECRET) as cfg:
        value = cookie_of(cfg, store)[0].split(";")[0]
    header = "a=1; b=2; c=3; " + value
    with ls.Config(secret=SECRET, cookie_max_pairs=3) as cfg, ls.Request(cfg, now_ms=NOW, cookie=header) as r:
        assert r.next_action() is ls.READY  # the session cookie is the 4th pair: not seen
    with ls.Config(secret=SECRET, cookie_max_pairs=4) as cfg, ls.Request(cfg, now_ms=NOW, cookie=header) as r:
        assert isinstance(r.next_action(), ls.Load)
    with ls.Config(secret=SECRET, cookie_max_header_bytes=10) as cfg, ls.Request(cfg, now_ms=NOW, cookie=header) as r:
        assert r.next_action() is ls.READY


def test_express_defaults_and_compat():
    with ls.Config(secret=SECRET, express_defaults=True) as cfg:
        assert cfg.express_compat
        (c,) = cookie_of(cfg, modify=False)  # express defaults: saveUninitialized on
        assert c.endswith("; Path=/; HttpOnly")  # secure false, no SameSite
    with ls.Config(secret=SECRET, express_compat=True, cookie_domain="bad domain") as cfg:
        with ls.Request(cfg, now_ms=NOW) as r:
            out = r.run(ls.MemoryStore(), lambda r: r.session.__setitem__("a", 1))
        assert out.set_cookie == [] and len(out.errors) == 1  # reported when the header is written
    with pytest.raises(ls.ConfigError) as e:
        ls.Config(secret=SECRET, cookie_domain="bad domain")  # strict: at build time
    assert e.value.code == ls.Result.INVALID_DOMAIN


def test_cookie_domain_none_removes_it():
    with ls.Config.from_express_options({"secret": SECRET, "cookie": {"domain": "x.com"}}, cookie_domain=None) as cfg:
        assert "Domain" not in cookie_of(cfg)[0]


def test_from_express_options():
    options = {
        "name": "app.sid",
        "secret": ["new", "old"],
        "resave": False,
        "saveUninitialized": False,
        "rolling": False,
        "unset": "destroy",
        "proxy": None,
        "app_trust_proxy": False,
        "cookie": {
            "path": "/",
            "domain": None,
            "httpOnly": True,
            "secure": False,
            "maxAge": 3600000,
            "sameSite": "lax",
            "partitioned": None,
            "priority": None,
        },
    }
    for given in (options, json.dumps(options), json.dumps(options).encode()):
        with ls.Config.from_express_options(given) as cfg:
            assert cfg.name == "app.sid" and cfg.unset == "destroy" and cfg.max_age == 3_600_000
            assert cfg.express_compat
    with ls.Config.from_express_options(options, name="other", max_age=None) as cfg:
        assert cfg.name == "other" and cfg.max_age is None
    with pytest.raises(ls.ConfigError) as e:
        ls.Config.from_express_options({"secret": SECRET, "resave": "yes"})
    assert e.value.code == ls.Result.INVALID_OPTION
    with pytest.raises(ls.InvalidValueError) as e:
        ls.Config.from_express_options("{not json")
    assert e.value.code == ls.Result.INVALID_JSON
    with pytest.raises(TypeError):
        ls.Config.from_express_options(42)
    with pytest.raises(TypeError):
        ls.Config.from_express_options({"secret": object()})


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"secret": 123}, TypeError),
        ({"secret": "a", "secrets": ["b"]}, ValueError),
        ({"secrets": "abc"}, TypeError),
        ({"secrets": []}, ValueError),
        ({"secrets": ["a", 1]}, TypeError),
        ({"secret": SECRET, "name": b"sid"}, TypeError),
        ({"secret": SECRET, "resave": 1}, TypeError),
        ({"secret": SECRET, "rolling": None}, TypeError),
        ({"secret": SECRET, "unset": "drop"}, ValueError),
        ({"secret": SECRET, "unset": True}, TypeError),
        ({"secret": SECRET, "proxy": "yes"}, TypeError),
        ({"secret": SECRET, "secure": "always"}, ValueError),
        ({"secret": SECRET, "secure": 1.0}, TypeError),
        ({"secret": SECRET, "max_age": "1000"}, TypeError),
        ({"secret": SECRET, "max_age": True}, TypeError),
        ({"secret": SECRET, "max_age": math.inf}, ValueError),
        ({"secret": SECRET, "max_age": math.nan}, ValueError),
        ({"secret": SECRET, "same_site": "Lax"}, ValueError),
        ({"secret": SECRET, "same_site": 1}, TypeError),
        ({"secret": SECRET, "partitioned": "no"}, TypeError),
        ({"secret": SECRET, "priority": "urgent"}, ValueError),
        ({"secret": SECRET, "priority": 1}, TypeError),
        ({"secret": SECRET, "cookie_max_pairs": -1}, ValueError),
        ({"secret": SECRET, "cookie_max_header_bytes": "1"}, TypeError),
        ({"secret": SECRET, "cookie_path": None}, TypeError),
        ({"secret": SECRET, "colour": "blue"}, TypeError),
        ({"secret": SECRET, "express_defaults": "yes"}, TypeError),
    ],
)
def test_bad_options_raise_in_python(kwargs, exc):
    with pytest.raises(exc) as e:
        ls.Config(**kwargs)
    assert not isinstance(e.value, ls.LibsessionError)


@pytest.mark.parametrize(
    "kwargs, code",
    [
        ({}, ls.Result.NO_SECRET),
        ({"secret": ""}, ls.Result.EMPTY_SECRET),
        ({"secrets": [SECRET] * 9}, ls.Result.TOO_MANY_SECRETS),
        ({"secret": "s" * 31}, ls.Result.SHORT_SECRET),
        ({"secrets": [SECRET, ""]}, ls.Result.EMPTY_SECRET),
        ({"secret": "", "express_defaults": True}, ls.Result.EMPTY_SECRET),
        ({"secret": SECRET, "name": "bad name"}, ls.Result.INVALID_NAME),
        ({"secret": SECRET, "cookie_path": "/a;b"}, ls.Result.INVALID_PATH),
        ({"secret": SECRET, "same_site": "none", "secure": False}, ls.Result.SAME_SITE_NONE_WITHOUT_SECURE),
    ],
)
def test_options_the_library_rejects(kwargs, code):
    with pytest.raises(ls.ConfigError) as e:
        ls.Config(**kwargs)
    assert e.value.code == code
    assert isinstance(e.value, ValueError) and e.value.message


def test_repr_hides_secrets():
    with ls.Config(secret="hunter2-super-secret-hunter2-super-secret") as cfg:
        assert "hunter2" not in repr(cfg)
