"""libsession.flask against the real Flask (PyPI): flask.session through
LibsessionInterface, driven by Flask's test client (a cookie jar)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from urllib.parse import quote, unquote
from typing import Any

import pytest

flask = pytest.importorskip("flask")
from flask import Flask, session  # noqa: E402

import libsession as ls  # noqa: E402
from libsession.flask import FlaskSession, LibsessionInterface, current_session  # noqa: E402
from conftest import SECRET  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "flask_app.py"
COOKIE = "connect.sid"


def make_app(config: ls.Config | None = None, store: Any = None) -> tuple[Flask, Any]:
    store = ls.MemoryStore() if store is None else store
    app = Flask(__name__)
    app.testing = True
    app.session_interface = LibsessionInterface(config or ls.Config(secret=SECRET), store)

    @app.get("/count")
    def count() -> str:
        session["views"] = session.get("views", 0) + 1
        return str(session["views"])

    @app.get("/read")
    def read() -> str:
        return json.dumps({"views": session.get("views"), "new": session.new, "id": current_session().id})

    @app.get("/cart/<item>")
    def add_to_cart(item: str) -> str:
        if "cart" not in session:
            session["cart"] = []
        session["cart"].append(item)  # a nested change, no reassignment
        return ",".join(session["cart"])

    @app.get("/logout")
    def logout() -> str:
        current_session().destroy()
        return "bye"

    return app, store


def set_cookies(response: Any) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_counter_across_requests_with_a_cookie_jar() -> None:
    app, store = make_app()
    client = app.test_client()
    first = client.get("/count")
    assert first.status_code == 200 and first.text == "1"
    [cookie] = set_cookies(first)
    assert cookie.startswith(f"{COOKIE}=s%3A") and "HttpOnly" in cookie
    assert "Cookie" in first.headers.get("Vary", "")
    assert [client.get("/count").text for _ in range(3)] == ["2", "3", "4"]
    # One session, stored as express-session's JSON record.
    [(sid, record)] = store.snapshot().items()
    assert json.loads(record)["views"] == 4
    assert unquote(client.get_cookie(COOKIE).value).startswith(f"s:{sid}.")
    # Another client (no cookie) has its own session.
    assert app.test_client().get("/count").text == "1"
    assert len(store) == 2


def test_the_engine_detects_modification() -> None:
    # No maxAge: express-session sets the cookie when the session is new
    # and saves only what changed.
    app, store = make_app()
    client = app.test_client()
    # A visitor whose session is read but never written: nothing stored, no cookie.
    r = client.get("/read")
    assert json.loads(r.text)["views"] is None
    assert set_cookies(r) == [] and len(store) == 0
    assert client.get_cookie(COOKIE) is None

    assert client.get("/count").text == "1"
    before = store.snapshot()
    # Reading changes nothing: no Set-Cookie, the record is untouched.
    r = client.get("/read")
    assert json.loads(r.text) == {"views": 1, "new": False, "id": next(iter(before))}
    assert set_cookies(r) == []
    assert store.snapshot() == before

    # A change to a list read from the session persists without reassignment.
    assert client.get("/cart/apple").text == "apple"
    assert client.get("/cart/pear").text == "apple,pear"
    [record] = store.snapshot().values()
    assert json.loads(record)["cart"] == ["apple", "pear"]
    assert json.loads(record)["views"] == 1


def test_logout_clears_the_session() -> None:
    app, store = make_app()
    client = app.test_client()
    client.get("/count")
    client.get("/count")
    sid = next(iter(store.snapshot()))
    assert client.get("/logout").text == "bye"
    assert sid not in store and len(store) == 0
    # The old cookie now names nothing: the next request starts over.
    r = client.get("/read")
    body = json.loads(r.text)
    assert body["views"] is None and body["new"] is True and body["id"] != sid
    assert client.get("/count").text == "1"


def test_a_tampered_cookie_gets_a_fresh_session() -> None:
    app, store = make_app()
    client = app.test_client()
    client.get("/count")
    client.get("/count")
    sid = next(iter(store.snapshot()))
    value = unquote(client.get_cookie(COOKIE).value)
    assert value.startswith(f"s:{sid}.")
    # Change one character of the signature.
    last = value[-1]
    client.set_cookie(COOKIE, quote(value[:-1] + ("A" if last != "A" else "B"), safe=""))
    r = client.get("/count")
    assert r.text == "1"
    [cookie] = set_cookies(r)
    assert sid not in cookie
    assert len(store) == 2 and json.loads(store.snapshot()[sid])["views"] == 2


def test_regenerate_and_permanent_through_flask_session() -> None:
    app, store = make_app(ls.Config(secret=SECRET))

    @app.get("/login")
    def login() -> str:
        s = current_session()
        assert isinstance(s, FlaskSession)
        assert session.permanent is False
        s.regenerate()
        session["user"] = "ada"
        session.permanent = True  # maxAge = PERMANENT_SESSION_LIFETIME
        assert s.id is not None
        return s.id

    client = app.test_client()
    client.get("/count")
    old = next(iter(store.snapshot()))
    r = client.get("/login")
    new = r.text
    assert new != old and old not in store
    [cookie] = set_cookies(r)
    assert "Expires=" in cookie
    record = json.loads(store.snapshot()[new])
    assert record["user"] == "ada"
    assert record["cookie"]["originalMaxAge"] == app.permanent_session_lifetime.total_seconds() * 1000


class FailingStore(ls.MemoryStore):
    def get(self, sid: str, now_ms: int | None = None) -> str | None:
        raise OSError("the store is down")

    def load_stored(self, sid: str, now_ms: int, request: Any) -> bool:
        raise OSError("the store is down")


def test_a_failed_load_answers_500_without_running_the_view() -> None:
    ran: list[str] = []
    app, store = make_app(store=FailingStore())
    app.testing = False

    @app.get("/view")
    def view() -> str:
        ran.append("view")
        return "ran"

    ok = app.test_client().get("/view")  # no cookie: no load, the view runs
    assert ok.status_code == 200 and ran == ["view"]
    client = app.test_client()
    client.set_cookie(COOKIE, "s:abc.def")  # an unsigned/unknown cookie loads nothing either
    assert client.get("/view").status_code == 200
    # A correctly signed cookie makes the engine load it: the store fails.
    good = ls.MemoryStore()
    app2, _ = make_app(store=good)
    c2 = app2.test_client()
    c2.get("/count")
    signed = c2.get_cookie(COOKIE).value
    client.set_cookie(COOKIE, signed)
    ran.clear()
    r = client.get("/view")
    assert r.status_code == 500 and ran == []
    app.testing = True
    with pytest.raises(ls.StoreError, match="the store is down"):
        client.get("/view")


def test_current_session_needs_the_interface() -> None:
    app = Flask(__name__)  # Flask's own cookie sessions
    app.secret_key = SECRET
    with app.test_request_context("/"):
        with pytest.raises(RuntimeError, match="not a libsession session"):
            current_session()


def test_the_interface_checks_its_arguments() -> None:
    with pytest.raises(TypeError, match="Config"):
        LibsessionInterface({"secret": SECRET})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="get"):
        LibsessionInterface(ls.Config(secret=SECRET), object())


def test_the_example_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SESSION_SECRET", SECRET)
    spec = importlib.util.spec_from_file_location("flask_app_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "flask_app_example", module)
    spec.loader.exec_module(module)
    client = module.app.test_client()
    assert client.get("/").text == "views: 1, user: (nobody)\n"
    assert client.get("/").text == "views: 2, user: (nobody)\n"
    before = unquote(client.get_cookie(COOKIE).value)
    r = client.get("/login")
    assert r.status_code == 302
    assert unquote(client.get_cookie(COOKIE).value) != before  # regenerated: a new ID
    assert client.get("/").text == "views: 1, user: ada\n"
    r = client.get("/logout")
    assert r.status_code == 302
    assert any(c.startswith(f"{COOKIE}=;") for c in set_cookies(r))  # cleared
    assert client.get_cookie(COOKIE) is None
    assert client.get("/").text == "views: 1, user: (nobody)\n"


def test_login_regenerates_keeping_the_cart_with_a_grace_window() -> None:
    """``regenerate(keep_data=True)`` (the login pattern): a new ID, the same
    cart, including a change made to a handed-out list before the login;
    with ``regenerate_grace`` the old cookie still reads the cart as it was
    stored, and is never written."""
    app, store = make_app(ls.Config(secret=SECRET, regenerate_grace=60_000))

    @app.get("/login")
    def login() -> str:
        session["cart"].append("pear")  # handed out, changed in place
        current_session().regenerate(keep_data=True)
        session["user"] = "ada"
        return current_session().id or ""

    client = app.test_client()
    client.get("/cart/apple")
    old = next(iter(store.snapshot()))
    old_cookie = client.get_cookie(COOKIE).value
    new = client.get("/login").text
    assert new != old
    record = json.loads(store.snapshot()[new])
    assert record["cart"] == ["apple", "pear"] and record["user"] == "ada"
    grace = json.loads(store.snapshot()[old])
    assert grace["cart"] == ["apple"] and "user" not in grace and "libsessionGraceUntil" in grace
    # A request in flight with the old cookie: read-only, no Set-Cookie.
    other = app.test_client()
    other.set_cookie(COOKIE, old_cookie)
    before = store.snapshot()[old]
    r = other.get("/cart/plum")
    assert r.text == "apple,plum" and set_cookies(r) == []
    assert store.snapshot()[old] == before
