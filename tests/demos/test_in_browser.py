"""Each demo in a real browser (issue 15 item 6, issue 13 proof 3): Debian's
chromium, headless, driven by Selenium through Debian's chromedriver. The
counter, the session cookie's attributes as the browser stores them, login,
logout (after which the browser holds no session cookie), a screenshot per
demo under target/demos/; and against the Rust demo on Redis, a secret
rotation: restarted with the new secret first and the old second
(resignOldKeys), a returning visitor's cookie is re-signed by the new one.

Skips with a ``skipped:`` line when selenium, chromium or chromedriver is
missing (scripts/test-demos.sh installs them); fails instead under
LIBSESSION_REQUIRE_ALL=1."""

from __future__ import annotations

import json
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import ARTIFACTS, REPO, Demo, unavailable
from test_http import signed, sid_of

OLD = "the old secret of the rotation test, 32+ bytes long"
NEW = "the new secret of the rotation test, 32+ bytes long"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        unavailable("selenium is not installed (pip install selenium; scripts/test-demos.sh does)")
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or driver is None:
        unavailable("chromium or chromedriver is not installed (Debian: chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    # --no-sandbox: chromium's sandbox cannot start as root in a container.
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1100,800", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    b = webdriver.Chrome(service=Service(driver), options=options)
    b.set_page_load_timeout(20)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield b
    b.quit()


def text(b: Any, element_id: str) -> str:
    from selenium.webdriver.common.by import By

    return b.find_element(By.ID, element_id).text


def session_cookie(b: Any, name: str = "connect.sid") -> dict | None:
    found = [c for c in b.get_cookies() if c["name"] == name]
    return found[0] if found else None


def settle(b: Any) -> None:
    """Leaves the demo's pages, so that no late request (a favicon) reaches
    it during the next test."""
    b.get("about:blank")
    time.sleep(0.3)


def test_counter_cookie_login_logout_in_a_browser(demo: Demo, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    b = browser
    b.delete_all_cookies()  # every demo is on 127.0.0.1: cookies ignore the port
    b.get(demo.base + "/")
    assert (b.title, text(b, "views")) == ("libsession demo", "1")
    b.find_element(By.LINK_TEXT, "Count").click()
    assert text(b, "views") == "2"
    c = session_cookie(b)
    assert c is not None, b.get_cookies()
    # As the browser stores it: host-only, Path=/, HttpOnly, SameSite=Lax, not Secure, a day.
    assert (c["path"], c["httpOnly"], c["secure"], c["sameSite"]) == ("/", True, False, "Lax"), c
    assert c["domain"] == "127.0.0.1" and 86_000 < c["expiry"] - time.time() <= 86_401, c
    sid = sid_of("connect.sid=" + c["value"])
    assert text(b, "sid") == sid[:8] + "\u2026"
    assert text(b, "cookie").startswith("Path=/; Expires=") and text(b, "cookie").endswith("; HttpOnly; SameSite=Lax")

    b.find_element(By.LINK_TEXT, "Log in").click()
    assert (b.find_element(By.TAG_NAME, "h1").text, text(b, "user")) == ("Logged in", "demo")
    after = session_cookie(b)
    assert after is not None and sid_of("connect.sid=" + after["value"]) != sid, "a new session ID at login"
    b.find_element(By.LINK_TEXT, "Count").click()
    assert (text(b, "views"), text(b, "user")) == ("1", "demo")
    b.save_screenshot(str(ARTIFACTS / f"browser-{demo.host}.png"))

    b.find_element(By.LINK_TEXT, "Log out").click()
    assert b.find_element(By.TAG_NAME, "h1").text == "Logged out"
    assert session_cookie(b) is None, f"the browser still holds a session cookie: {b.get_cookies()}"
    b.find_element(By.LINK_TEXT, "Count").click()
    assert (text(b, "views"), text(b, "user")) == ("1", "(none)")
    settle(b)


def test_a_secret_rotation_re_signs_a_returning_visitors_cookie(browser: Any, tmp_path: Path) -> None:
    sys.path.insert(0, str(REPO / "bindings/python/tests"))
    from redis_server import RedisServer

    redis = RedisServer()
    common = {"cookie": {"maxAge": 3_600_000}, "resave": False, "saveUninitialized": False,
              "store": {"prefix": "rotation:"}}
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    before.write_text(json.dumps({"secret": OLD, **common}))
    after.write_text(json.dumps({"secret": [NEW, OLD], "resignOldKeys": True, **common}))
    b = browser
    demo = None
    try:
        demo = Demo("rust", ["--options", str(before), "--redis", redis.url])
        b.delete_all_cookies()
        b.get(demo.base + "/")
        b.get(demo.base + "/")
        assert text(b, "views") == "2"
        c = session_cookie(b)
        assert c is not None
        sid = sid_of("connect.sid=" + c["value"])
        assert c["value"] == signed(sid, OLD)
        settle(b)
        demo.stop()

        # The new secret first, the old one second: the visitor returns.
        demo = Demo("rust", ["--options", str(after), "--redis", redis.url])
        b.get(demo.base + "/show")  # reads the session, changes nothing
        assert json.loads(b.find_element("tag name", "body").text) == {"id": sid, "data": {"views": 2}}
        c = session_cookie(b)
        assert c is not None and c["value"] == signed(sid, NEW), "re-signed by the new first secret"
        b.get(demo.base + "/")
        assert text(b, "views") == "3"
        b.save_screenshot(str(ARTIFACTS / "browser-rust-rotation.png"))
        settle(b)
        b.get(demo.base + "/stats")
        counts = json.loads(b.find_element("tag name", "body").text)["events"]
        assert counts["verified_by_old_key"] >= 1 and counts["signature_invalid"] == 0, counts
        settle(b)
    finally:
        if demo is not None:
            demo.stop()
        redis.close()
