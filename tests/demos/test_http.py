"""One black-box HTTP suite for every demo (issue 15, item 6): the same tests,
a client with a cookie jar over real sockets, against the Rust, C and Python
demos, each started once. The page must be byte for byte the one rendered
here (``expected_page``) for the state seen, so the three are identical."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import subprocess
import urllib.parse
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

import pytest

from conftest import HOSTS, SECRET, Client, Demo, build, command, environment, unavailable

DEV_SECRET = "libsession demo development secret: set SESSION_SECRET"
EVENTS = [
    "no_cookie",
    "signature_invalid",
    "verified_by_old_key",
    "record_not_found",
    "record_expired",
    "record_corrupt",
    "store_error",
    "misuse",
    "ignored",
    "fingerprint_mismatch",
    "conflict",
    "absolute_timeout",
    "idle_timeout",
    "regenerate_grace",
    "regenerate_grace_ended",
]

TITLES = {
    "/": ("Views", "This page counts your visits in your session."),
    "/login": ("Logged in", "You are logged in: a new session ID was issued and your user name stored in it."),
    "/logout": ("Logged out", "You are logged out: the session was destroyed."),
    "404": ("Not found", "There is no page here."),
    "400": ("Bad request", "A user name is 1 to 64 letters, digits, dots, underscores or hyphens."),
    "405": ("Method not allowed", "Only GET and HEAD are served here."),
}


def expected_page(kind: str, views: int = 0, user: str | None = None, sid: str | None = None,
                  cookie: str | None = None) -> str:
    """The page every demo serves, written out here once more as the spec."""
    title, what = TITLES[kind]
    shown_sid = sid[:8] + "\u2026" if sid else "(none)"
    dot = "\u00b7"
    return f"""<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>libsession demo</title></head>
<body>
<h1>{title}</h1>
<p id="what">{what}</p>
<table>
<tr><th>Views</th><td id="views">{views}</td></tr>
<tr><th>User</th><td id="user">{user or "(none)"}</td></tr>
<tr><th>Session ID</th><td id="sid">{shown_sid}</td></tr>
<tr><th>Cookie</th><td id="cookie">{cookie or "(none)"}</td></tr>
</table>
<p><a href="/">Count</a> {dot} <a href="/login">Log in</a> {dot} <a href="/logout">Log out</a> {dot} <a href="/stats">Stats</a></p>
<p>Log in regenerates the session: the old session ID is discarded and a new one issued, so an ID someone planted before you logged in is worthless; then your user name is stored in the new session.</p>
<p>Log out destroys the session in the store and, with clearCookieOnDestroy (on by default), answers with a cookie that expired in 1970, so the browser deletes it.</p>
</body>
</html>
"""


def signed(sid: str, secret: str) -> str:
    """express-session's cookie value (cookie-signature), URL-encoded."""
    mac = base64.b64encode(hmac.new(secret.encode(), sid.encode(), hashlib.sha256).digest()).decode().rstrip("=")
    return urllib.parse.quote(f"s:{sid}.{mac}", safe="")


def sid_of(set_cookie: str) -> str:
    value = urllib.parse.unquote(set_cookie.split(";", 1)[0].split("=", 1)[1])
    assert value.startswith("s:"), set_cookie
    return value[2:].rsplit(".", 1)[0]


def cell(body: str, name: str) -> str:
    m = re.search(rf'<td id="{name}">([^<]*)</td>', body)
    assert m, body
    return m.group(1)


def stats(d: Demo) -> dict:
    r = Client(d.base).get("/stats")
    assert r.status == 200 and r.headers["Content-Type"].startswith("application/json"), r
    assert r.set_cookies == [], "/stats has no session"
    data = json.loads(r.body)
    assert list(data) == ["requests", "events"] and list(data["events"]) == EVENTS, r.body
    assert r.body == json.dumps(data, separators=(",", ":")), "the same compact JSON in every demo"
    return data


def test_counter_page_and_cookie_attributes(demo: Demo) -> None:
    c = Client(demo.base)
    r = c.get("/")
    assert r.status == 200 and r.headers["Content-Type"] == "text/html; charset=utf-8"
    (set_cookie,) = r.set_cookies
    # The secure defaults: Path=/, a day's Expires, HttpOnly, SameSite=Lax.
    m = re.fullmatch(r"connect\.sid=s%3A([A-Za-z0-9_-]{32,64})\.[A-Za-z0-9%]+; Path=/; Expires=([^;]+); HttpOnly; "
                     r"SameSite=Lax", set_cookie)
    assert m, set_cookie
    sid = m.group(1)
    assert sid_of(set_cookie) == sid and set_cookie.split(";")[0] == f"connect.sid={signed(sid, SECRET)}"
    expires = parsedate_to_datetime(m.group(2))
    left = (expires - datetime.now(timezone.utc)).total_seconds()
    assert 86_390 <= left <= 86_401, left
    # The page shows the session's cookie as stored: Expires as its ISO instant.
    iso = cell(r.body, "cookie").split("Expires=")[1].split(";")[0]
    assert abs(datetime.fromisoformat(iso.replace("Z", "+00:00")) - expires).total_seconds() < 1
    cookie = f"Path=/; Expires={iso}; HttpOnly; SameSite=Lax"
    assert r.body == expected_page("/", 1, sid=sid, cookie=cookie)
    for n in (2, 3):
        r = c.get("/")
        assert cell(r.body, "views") == str(n) and cell(r.body, "sid") == sid[:8] + "\u2026"
        assert sid_of(r.set_cookies[0]) == sid, "the same session, its cookie re-sent (maxAge)"
    # HEAD: the headers only.
    r = c.get("/", method="HEAD")
    assert r.status == 200 and r.body == ""
    assert cell(c.get("/").body, "views") == "5"


def test_login_regenerates_and_stores_the_user(demo: Demo) -> None:
    c = Client(demo.base)
    before = sid_of(c.get("/").set_cookies[0])
    c.get("/")
    r = c.get("/login?user=ada")
    assert r.status == 200
    (set_cookie,) = r.set_cookies
    after = sid_of(set_cookie)
    assert after != before, "a new session ID at login"
    iso = cell(r.body, "cookie").split("Expires=")[1].split(";")[0]
    assert r.body == expected_page("/login", 0, "ada", after, f"Path=/; Expires={iso}; HttpOnly; SameSite=Lax")
    shown = json.loads(c.get("/show").body)
    assert shown == {"id": after, "data": {"user": "ada"}}, "the new session holds the user, not the old views"
    r = c.get("/")
    assert (cell(r.body, "views"), cell(r.body, "user")) == ("1", "ada")
    # The old ID is gone from the store: its cookie is a new visitor.
    r = c.get("/", cookie=f"connect.sid={signed(before, SECRET)}")
    assert cell(r.body, "views") == "1" and sid_of(r.set_cookies[0]) not in (before, after)
    # No user: "demo"; a bad one: 400, nothing changed.
    assert cell(c.get("/login").body, "user") == "demo"
    sid = sid_of(c.get("/").set_cookies[0])
    r = c.get("/login?user=a%20b")
    assert r.status == 400
    assert r.body == expected_page("400", 1, "demo", sid, cell(r.body, "cookie"))
    assert json.loads(c.get("/show").body)["id"] == sid


def test_logout_removes_the_cookie_and_the_next_request_is_fresh(demo: Demo) -> None:
    c = Client(demo.base)
    c.get("/login?user=bob")
    old = c.session_cookie()
    assert old is not None
    r = c.get("/logout")
    assert r.status == 200
    assert r.set_cookies == ["connect.sid=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax"]
    assert r.body == expected_page("/logout")
    assert c.session_cookie() is None, "the jar dropped the removed cookie"
    r = c.get("/")
    assert cell(r.body, "views") == "1" and cell(r.body, "user") == "(none)"
    assert sid_of(r.set_cookies[0]) != sid_of(f"x={old.value}")
    # The destroyed session's cookie, replayed, is no session either.
    r = c.get("/", cookie=f"connect.sid={old.value}")
    assert cell(r.body, "views") == "1" and cell(r.body, "user") == "(none)"


def test_a_tampered_cookie_gets_a_fresh_session(demo: Demo) -> None:
    c = Client(demo.base)
    value = c.get("/").set_cookies[0].split(";")[0].split("=", 1)[1]
    c.get("/")
    tampered = value[:-1] + ("A" if value[-1] != "A" else "B")
    r = c.get("/", cookie=f"connect.sid={tampered}")
    assert r.status == 200 and cell(r.body, "views") == "1"
    assert sid_of(r.set_cookies[0]) != sid_of(f"x={value}")
    # A cookie signed with another secret, and one with no signature at all.
    for forged in (signed(sid_of(f"x={value}"), "another secret, 32 bytes or more..."), sid_of(f"x={value}")):
        r = c.get("/", cookie=f"connect.sid={forged}")
        assert cell(r.body, "views") == "1"
    assert cell(c.get("/").body, "views") == "3", "the genuine cookie still works"


def test_stats_count_the_engines_events(demo: Demo) -> None:
    before = stats(demo)
    c = Client(demo.base)
    value = c.get("/").set_cookies[0].split(";")[0].split("=", 1)[1]  # no_cookie
    c.get("/")  # nothing to report
    c.get("/", cookie="connect.sid=" + value[:-1] + ("A" if value[-1] != "A" else "B"))  # signature_invalid
    c.get("/logout")
    c.get("/", cookie="connect.sid=" + value)  # record_not_found
    c.get("/nope")  # the jar is empty after the logout: no_cookie
    after = stats(demo)
    assert after["requests"] - before["requests"] == 6
    delta = {k: after["events"][k] - before["events"][k] for k in EVENTS}
    assert delta == {**dict.fromkeys(EVENTS, 0), "no_cookie": 2, "signature_invalid": 1, "record_not_found": 1}, delta


def test_not_found_and_method_not_allowed(demo: Demo) -> None:
    c = Client(demo.base)
    r = c.get("/nope")
    assert r.status == 404
    # An uninitialized session (not saved, no cookie with saveUninitialized off) still has an ID.
    shown = cell(r.body, "sid")
    sid = shown[:8] if shown != "(none)" else None
    if r.set_cookies:
        assert sid_of(r.set_cookies[0])[:8] == sid
    cookie = cell(r.body, "cookie")
    assert r.body == expected_page("404", 0, None, sid, None if cookie == "(none)" else cookie)
    r = c.get("/", method="POST")
    assert r.status == 405 and r.body == expected_page("405") and r.set_cookies == []


# ----- starting and arguments (each demo started again, briefly) -----


def run(host: str, args: list[str], secret: str | None = SECRET) -> subprocess.CompletedProcess:
    why = build(host)
    if why is not None:
        unavailable(f"the {host} demo: {why}")
    return subprocess.run(command(host) + args, capture_output=True, text=True, env=environment(secret), timeout=30)


@pytest.mark.parametrize("host", HOSTS)
def test_help_and_bad_arguments(host: str, tmp_path) -> None:
    out = run(host, ["--help"])
    assert out.returncode == 0 and "--port" in out.stdout and "--options" in out.stdout, out
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("[1]")
    for args in (["--port", "abc"], ["--port", "70000"], ["--port"], ["--frobnicate"],
                 ["--options", str(tmp_path / "missing.json")], ["--options", str(bad_json)]):
        out = run(host, args)
        assert out.returncode == 2, (args, out)
        assert out.stderr.strip(), (args, "a message on stderr")
        if args[0] != "--options":
            assert "usage:" in out.stderr, (args, out.stderr)


@pytest.mark.parametrize("host", HOSTS)
def test_without_a_secret_the_development_secret_with_a_warning(host: str) -> None:
    d = Demo(host, secret=None)
    try:
        r = Client(d.base).get("/")
        value = r.set_cookies[0].split(";")[0].split("=", 1)[1]
        assert value == signed(sid_of(r.set_cookies[0]), DEV_SECRET)
    finally:
        d.stop()
    assert "warning: SESSION_SECRET is not set" in d.stderr()


@pytest.mark.parametrize("host", HOSTS)
def test_an_options_file(host: str, tmp_path) -> None:
    options = tmp_path / "session.json"
    options.write_text(json.dumps({"name": "app.sid", "cookie": {"sameSite": "strict", "maxAge": 60_000},
                                   "resave": False, "saveUninitialized": False}))
    d = Demo(host, ["--options", str(options)])
    try:
        c = Client(d.base)
        r = c.get("/")
        (set_cookie,) = r.set_cookies
        assert set_cookie.startswith("app.sid=s%3A") and set_cookie.endswith("; HttpOnly; SameSite=Strict")
        # The secret (not in the file) is SESSION_SECRET's.
        assert set_cookie.split(";")[0] == "app.sid=" + signed(sid_of(set_cookie), SECRET)
        iso = cell(r.body, "cookie").split("Expires=")[1].split(";")[0]
        assert cell(r.body, "cookie") == f"Path=/; Expires={iso}; HttpOnly; SameSite=Strict"
        assert cell(c.get("/").body, "views") == "2"
    finally:
        d.stop()
    assert "warning" not in d.stderr()
