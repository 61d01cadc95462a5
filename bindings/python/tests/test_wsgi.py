"""The WSGI middleware: the demo over real HTTP (a wsgiref server on a free
loopback port, a client with a cookie jar), and the middleware's contract
(PEP 3333, Set-Cookie, buffering, store failures) through direct calls."""

from __future__ import annotations

import http.client
import io
import json
import re
import subprocess
import sys
import threading
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from wsgiref.simple_server import WSGIRequestHandler, make_server
from wsgiref.util import setup_testing_defaults

import pytest

import libsession as ls
from libsession.wsgi import SessionMiddleware, request_target
from conftest import SECRET

HERE = Path(__file__).resolve().parent
DEMO = HERE.parent / "demo.py"


# ----- the demo, over real HTTP ---------------------------------------------------


class Demo:
    def __init__(self, argv):
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        if not m:
            self.proc.kill()
            raise AssertionError(f"no URL printed: {line!r} {self.proc.stderr.read()}")
        self.url = m.group(0)
        self.port = int(m.group(1))

    def close(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()
        self.proc.stderr.close()


@pytest.fixture
def demo():
    d = Demo([sys.executable, str(DEMO), "--port", "0"])
    yield d
    d.close()


class Browser:
    """urllib with a cookie jar: what a browser would send."""

    def __init__(self, base):
        self.base = base
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path, accept="text/plain"):
        req = urllib.request.Request(self.base + path.lstrip("/"), headers={"Accept": accept})
        with self.opener.open(req, timeout=10) as resp:
            return resp.status, resp.headers.get_all("Set-Cookie") or [], resp.read().decode()

    def cookie(self):
        (c,) = [c for c in self.jar if c.name == "connect.sid"]
        return c.value


def views(body):
    return int(re.search(r'<td id="views">(\d+)</td>', body).group(1))


def raw_get(port, path, cookie=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Cookie": cookie} if cookie else {}
    conn.request("GET", path, headers=headers)
    resp = conn.getresponse()
    out = resp.status, resp.getheader("Set-Cookie"), resp.read().decode()
    conn.close()
    return out


def test_demo_counter_login_logout_tamper(demo):
    b = Browser(demo.url)
    status, cookies, body = b.get("/")
    assert status == 200 and views(body) == 1 and len(cookies) == 1
    assert cookies[0].startswith("connect.sid=s%3A") and "HttpOnly" in cookies[0] and "SameSite=Lax" in cookies[0]
    first = b.cookie()
    for n in (2, 3, 4):
        status, cookies, body = b.get("/")
        assert views(body) == n
    assert b.cookie().split(".")[0] == first.split(".")[0]  # the same session throughout

    status, cookies, body = b.get("/login?user=ada")
    assert views(body) == 0 and len(cookies) == 1 and '<td id="user">ada</td>' in body
    regenerated = b.cookie()
    assert regenerated.split(".")[0] != first.split(".")[0]  # a new session ID
    status, _, body = b.get("/")
    assert views(body) == 1 and '<td id="user">ada</td>' in body

    status, cookies, body = b.get("/logout")
    # clearCookieOnDestroy (a secure default): the cookie is removed.
    assert status == 200 and len(cookies) == 1
    assert cookies[0].startswith("connect.sid=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT")
    status, cookies, body = b.get("/")
    assert views(body) == 1 and len(cookies) == 1  # the destroyed session is gone: a fresh one
    assert b.cookie().split(".")[0] != regenerated.split(".")[0]

    # A tampered cookie is a fresh session, not an error.
    b.get("/")
    value = b.cookie()
    tampered = value[:-3] + ("AAA" if not value.endswith("AAA") else "BBB")
    status, set_cookie, body = raw_get(demo.port, "/", f"connect.sid={tampered}")
    assert status == 200 and views(body) == 1
    assert set_cookie and tampered.split(".")[0] not in set_cookie
    # The genuine cookie still works.
    status, _, body = raw_get(demo.port, "/", f"connect.sid={value}")
    assert views(body) == 3

    status, _, _ = raw_get(demo.port, "/nope")
    assert status == 404
    status, _, _ = raw_get(demo.port, "/login?user=a%20b")
    assert status == 400


def test_module_demo_runs():
    d = Demo([sys.executable, "-m", "libsession.demo", "--port", "0"])
    try:
        status, cookies, body = Browser(d.url).get("/")
        assert status == 200 and views(body) == 1 and len(cookies) == 1
    finally:
        d.close()


# ----- a threaded server with a store that fails ---------------------------------------


class FailingStore(ls.MemoryStore):
    def __init__(self):
        super().__init__()
        self.fail = set()

    # The request loop uses the stored-record methods of a MemoryStore.
    def load_stored(self, sid, now_ms, request):
        if "get" in self.fail:
            raise ConnectionError("redis is down")
        return super().load_stored(sid, now_ms, request)

    def save_stored(self, sid, record, expires_at, now_ms):
        if "set" in self.fail:
            raise ConnectionError("cannot write")
        return super().save_stored(sid, record, expires_at, now_ms)


class _Silent(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served():
    servers = []

    def serve(app):
        server = make_server("127.0.0.1", 0, app, handler_class=_Silent)
        server.RequestHandlerClass.log_message = lambda *a: None
        t = threading.Thread(target=server.serve_forever, daemon=True)
        t.start()
        servers.append((server, t))
        return server.server_address[1]

    yield serve
    for server, t in servers:
        server.shutdown()
        server.server_close()
        t.join(timeout=10)


def counting_app(environ, start_response):
    s = environ["libsession.session"]
    if environ["PATH_INFO"] == "/save":
        s["saved"] = True
        try:
            s.save()
            msg = "saved"
        except ls.StoreError as e:
            msg = f"store error: {e.message}"
    else:
        msg = f"views: {s.increment('views')}"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [msg.encode()]


def test_store_failures_over_http(served):
    store = FailingStore()
    port = served(SessionMiddleware(counting_app, ls.Config(secret=SECRET, max_age=60_000), store))
    status, set_cookie, body = raw_get(port, "/")
    assert status == 200 and body == "views: 1"
    cookie = set_cookie.split(";")[0]

    store.fail = {"get"}
    status, set_cookie, body = raw_get(port, "/", cookie)
    assert status == 500 and body == "Internal Server Error\n" and set_cookie is None

    store.fail = {"set"}
    status, _, body = raw_get(port, "/save", cookie)
    assert status == 200 and body == "store error: cannot write"

    store.fail = set()
    status, _, body = raw_get(port, "/", cookie)
    assert body == "views: 2"


# ----- the middleware's contract, called directly ------------------------------------------


def call(app, path="/", cookie=None, **environ_extra):
    environ = {"PATH_INFO": path, "wsgi.errors": io.StringIO()}
    if cookie:
        environ["HTTP_COOKIE"] = cookie
    environ.update(environ_extra)
    setup_testing_defaults(environ)
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"], seen["exc_info"] = status, headers, exc_info
        return lambda data: pytest.fail("the middleware must not use the server's write()")

    body = b"".join(app(environ, start_response))
    seen["body"] = body
    seen["errors"] = environ["wsgi.errors"].getvalue()
    seen["set_cookie"] = [v for k, v in seen["headers"] if k.lower() == "set-cookie"]
    return seen


@pytest.fixture
def mw_config():
    with ls.Config(secret=SECRET, max_age=60_000) as c:
        yield c


def test_generator_body_and_write_are_buffered(mw_config):
    store = ls.MemoryStore()

    def app(environ, start_response):
        s = environ["libsession.session"]
        write = start_response("201 Created", [("X-App", "1")])
        write(b"first;")

        def body():
            yield b"second;"
            s["late"] = "set while the body is produced"  # still counts for the cookie and the save
            yield b"third"

        return body()

    r = call(SessionMiddleware(app, mw_config, store))
    assert r["status"] == "201 Created" and r["body"] == b"first;second;third"
    assert ("X-App", "1") in r["headers"] and len(r["set_cookie"]) == 1
    (record,) = store.snapshot().values()
    assert json.loads(record)["late"] == "set while the body is produced"


def test_close_is_called_on_the_app_iterable(mw_config):
    closed = []

    class Body:
        def __iter__(self):
            yield b"x"

        def close(self):
            closed.append(True)

    def app(environ, start_response):
        start_response("200 OK", [])
        return Body()

    call(SessionMiddleware(app, mw_config))
    assert closed == [True]


def test_app_exception_propagates_after_the_session_is_saved(mw_config):
    store = ls.MemoryStore()

    def app(environ, start_response):
        environ["libsession.session"]["before_crash"] = 1
        raise ValueError("handler bug")

    with pytest.raises(ValueError, match="handler bug"):
        call(SessionMiddleware(app, mw_config, store))
    (record,) = store.snapshot().values()
    assert json.loads(record)["before_crash"] == 1


def test_exc_info_is_passed_on(mw_config):
    def app(environ, start_response):
        start_response("200 OK", [])
        try:
            raise KeyError("x")
        except KeyError:
            start_response("500 Oops", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"oops"]

    r = call(SessionMiddleware(app, mw_config))
    assert r["status"] == "500 Oops" and r["exc_info"][0] is KeyError


def test_start_response_is_required(mw_config):
    with pytest.raises(RuntimeError, match="start_response"):
        call(SessionMiddleware(lambda environ, sr: [b"x"], mw_config))


def test_session_api_in_the_environ(mw_config):
    store = ls.MemoryStore()
    seen = {}

    def app(environ, start_response):
        s = environ["libsession.session"]
        seen["repr"] = repr(s)
        s["user"] = "alice"
        s.set_cookie_attr("sameSite", "strict")
        s.set_max_age(5000)
        seen["max_age"] = s.max_age
        seen["id"] = s.id
        seen["cookie"] = s.cookie
        seen["keys"] = list(s)
        seen["is_request"] = isinstance(s.request, ls.Request)
        start_response("200 OK", [])
        return [b""]

    r = call(SessionMiddleware(app, mw_config, store))
    assert seen["max_age"] == 5000 and seen["keys"] == ["user"] and seen["is_request"]
    assert seen["cookie"]["sameSite"] == "strict"
    assert seen["id"] not in seen["repr"]
    assert "SameSite=Strict" in r["set_cookie"][0]
    # The next request carries the cookie and sees the data.
    cookie = r["set_cookie"][0].split(";")[0]

    def reader(environ, start_response):
        s = environ["libsession.session"]
        seen["user"] = s.get("user")
        s.reload()
        s.touch()
        seen["after_reload"] = dict(s)
        s.regenerate()
        seen["new_id"] = s.id
        seen["regenerated"] = dict(s)
        s.destroy()
        seen["exists"] = s.exists
        start_response("200 OK", [])
        return [b""]

    call(SessionMiddleware(reader, mw_config, store), cookie=cookie)
    assert seen["user"] == "alice" and seen["after_reload"] == {"user": "alice"}
    assert seen["new_id"] != seen["id"] and seen["regenerated"] == {} and not seen["exists"]
    assert store.snapshot() == {}


def test_unset_in_the_app(mw_config):
    def app(environ, start_response):
        environ["libsession.session"]["a"] = 1
        environ["libsession.session"].unset()
        start_response("200 OK", [])
        return [b""]

    r = call(SessionMiddleware(app, mw_config))
    assert r["set_cookie"] == []


def test_out_of_scope_path_has_no_session():
    seen = {}

    def app(environ, start_response):
        s = environ["libsession.session"]
        seen["exists"] = s.exists
        try:
            s["a"] = 1
        except ls.NoSessionError:
            seen["raised"] = True
        start_response("200 OK", [])
        return [b""]

    with ls.Config(secret=SECRET, cookie_path="/app") as cfg:
        r = call(SessionMiddleware(app, cfg), path="/elsewhere")
        assert seen == {"exists": False, "raised": True} and r["set_cookie"] == []
        seen.clear()
        r = call(SessionMiddleware(app, cfg), path="/x", SCRIPT_NAME="/app")  # mounted under /app
        assert seen == {"exists": True} and len(r["set_cookie"]) == 1


def test_tls_and_forwarded_proto(mw_config):
    def app(environ, start_response):
        environ["libsession.session"]["a"] = 1
        start_response("200 OK", [])
        return [b""]

    assert "; Secure" in call(SessionMiddleware(app, mw_config), **{"wsgi.url_scheme": "https"})["set_cookie"][0]
    assert "; Secure" not in call(SessionMiddleware(app, mw_config))["set_cookie"][0]
    with ls.Config(secret=SECRET, proxy=True) as cfg:
        r = call(SessionMiddleware(app, cfg), HTTP_X_FORWARDED_PROTO="https")
        assert "; Secure" in r["set_cookie"][0]


def test_end_of_request_failure_is_logged_not_swallowed(mw_config):
    store = FailingStore()
    store.fail = {"set"}

    def app(environ, start_response):
        environ["libsession.session"]["a"] = 1
        start_response("200 OK", [])
        return [b"ok"]

    r = call(SessionMiddleware(app, mw_config, store))
    assert r["status"] == "200 OK" and r["body"] == b"ok"  # the response stands
    assert "cannot write" in r["errors"]


def test_failed_load_answers_500_and_logs(mw_config):
    store = FailingStore()
    ok = call(SessionMiddleware(counting_app, mw_config, store))
    cookie = ok["set_cookie"][0].split(";")[0]
    store.fail = {"get"}
    r = call(SessionMiddleware(lambda e, s: pytest.fail("app must not run"), mw_config, store), cookie=cookie)
    assert r["status"].startswith("500") and "redis is down" in r["errors"]


def test_on_event_gets_the_requests_events(mw_config):
    store = FailingStore()
    seen = []
    mw = SessionMiddleware(counting_app, mw_config, store, on_event=seen.append)
    cookie = call(mw)["set_cookie"][0].split(";")[0]
    assert [e.name for e in seen] == ["no_cookie"]
    seen.clear()
    call(mw, cookie=cookie)
    assert seen == []  # a cookie that verifies and loads: nothing to report
    call(mw, cookie=cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
    assert [e.name for e in seen] == ["signature_invalid"]
    # After a failed load (500, the app does not run) and from a failing end-of-request save.
    seen.clear()
    store.fail = {"get"}
    assert call(mw, cookie=cookie)["status"].startswith("500")
    assert [(e.kind, e.operation) for e in seen] == [(ls.EventKind.STORE_ERROR, ls.StoreOperation.LOAD)]
    seen.clear()
    store.fail = {"set"}
    call(mw)
    assert [e.name for e in seen] == ["no_cookie", "store_error"]
    # A callback that raises is logged; the response stands.
    store.fail = set()

    def broken(event):
        raise RuntimeError("metrics backend down")

    r = call(SessionMiddleware(counting_app, mw_config, store, on_event=broken))
    assert r["status"] == "200 OK"
    with pytest.raises(TypeError, match="on_event"):
        SessionMiddleware(counting_app, mw_config, on_event="not callable")


def test_constructor_checks():
    with ls.Config(secret=SECRET) as cfg:
        with pytest.raises(TypeError):
            SessionMiddleware("not an app", cfg)
        with pytest.raises(TypeError):
            SessionMiddleware(counting_app, {"secret": SECRET})

        class NoTouch:
            def get(self, sid): ...
            def set(self, sid, record, expires_at): ...
            def destroy(self, sid): ...

        with pytest.raises(TypeError, match="touch"):
            SessionMiddleware(counting_app, cfg, store=NoTouch())


def test_request_target():
    env = {"SCRIPT_NAME": "/app", "PATH_INFO": "/a b/%", "QUERY_STRING": "x=1&y=%20"}
    assert request_target(env) == b"/app/a%20b/%25?x=1&y=%20"
    assert request_target({"PATH_INFO": "", "SCRIPT_NAME": ""}) == b"/"
    assert request_target({"REQUEST_URI": "/raw%2Fpath?q", "PATH_INFO": "/raw/path"}) == b"/raw%2Fpath?q"
    # PEP 3333 strings are bytes decoded as latin-1: they go back to the raw bytes.
    utf8_path = "/é".encode().decode("latin-1")
    assert request_target({"PATH_INFO": utf8_path}) == b"/%C3%A9"


def test_regenerate_keeping_the_data(mw_config):
    """``regenerate(keep_data=True)`` through the WSGI session: a new ID, the
    same data; the old record destroyed (no ``regenerate_grace``)."""
    store = ls.MemoryStore()
    seen = {}

    def writer(environ, start_response):
        environ["libsession.session"]["cart"] = ["apple"]
        start_response("200 OK", [])
        return [b""]

    r = call(SessionMiddleware(writer, mw_config, store))
    cookie = r["set_cookie"][0].split(";")[0]
    [old] = store.snapshot()

    def login(environ, start_response):
        s = environ["libsession.session"]
        s.regenerate(keep_data=True)
        seen["id"], seen["data"] = s.id, dict(s)
        start_response("200 OK", [])
        return [b""]

    r = call(SessionMiddleware(login, mw_config, store), cookie=cookie)
    assert seen["id"] != old and seen["data"] == {"cart": ["apple"]}
    assert list(store.snapshot()) == [seen["id"]]
    assert json.loads(store.snapshot()[seen["id"]])["cart"] == ["apple"]
