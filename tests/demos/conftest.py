"""The demos (Rust ``examples/demo.rs``, C ``examples/c/server.c``, Python
``python -m libsession.demo``) as black boxes: how to build and start each,
once per suite (a session-scoped fixture, parametrized by host), and a
client with a cookie jar over real sockets (``http.client`` +
``http.cookiejar``, the standard library only).

A host that cannot be built or started here (no cargo, no C compiler, no
hiredis) is skipped with a ``skipped:`` reason, and fails instead under
``LIBSESSION_REQUIRE_ALL=1`` (``scripts/test.sh``)."""

from __future__ import annotations

import http.client
import http.cookiejar
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "target" / "demos"
#: The suite's secret (strict mode wants 32+ bytes).
SECRET = "the demos suite secret: 32+ bytes, for tests only"
READY = re.compile(r"^libsession demo listening on http://127\.0\.0\.1:(\d+)/$")
HOSTS = ["rust", "c", "python"]
RUST_DEMO = REPO / "target/release/examples/demo"


def unavailable(why: str) -> None:
    """Skips with the reason, or fails under LIBSESSION_REQUIRE_ALL=1."""
    if os.environ.get("LIBSESSION_REQUIRE_ALL") == "1":
        pytest.fail(f"{why}, and LIBSESSION_REQUIRE_ALL=1")
    _skipped.append(why)
    pytest.skip(why)


_skipped: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """One ``skipped: REASON`` line per reason, after pytest's summary."""
    for why in dict.fromkeys(_skipped):
        terminalreporter.write_line(f"skipped: {why}")


_built: dict[str, str | None] = {}
LIBRARY = REPO / "target/release/libsession.a"
SHARED = REPO / "target/release/libsession.so"
C_DEMO = ARTIFACTS / "c-server"


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{done.stdout}\n{done.stderr}")


def build(host: str) -> str | None:
    """Builds what the host's demo needs (once per run; incremental). None
    when built, else why it cannot be. One cargo build serves the three:
    the library and the Rust demo with every feature (Redis for the rotation
    test), as `cargo test --all-features` builds them, so that nothing is
    compiled twice for other features; the C demo links that library."""
    if host in _built:
        return _built[host]
    why = None
    if shutil.which("cargo") is None:
        why = "cargo is not installed"
    elif "cargo" not in _built:
        _run(["cargo", "build", "--quiet", "--release", "--all-features", "--example", "demo"])
        _run(["cargo", "build", "--quiet", "--release", "--all-features", "-p", "libsession-capi"])
        _built["cargo"] = None
    if why is None and host == "c":
        for tool in ("make", "cc"):
            if shutil.which(tool) is None:
                why = f"{tool} is not installed"
        if why is None and not Path("/usr/include/hiredis/hiredis.h").is_file():
            why = "hiredis is not installed (libhiredis-dev)"
        if why is None:
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            _run(["make", "--quiet", "-C", "examples/c", f"LIBSESSION_LIB={LIBRARY}", f"OUT={C_DEMO}"])
    _built[host] = why
    return why


def command(host: str) -> list[str]:
    if host == "rust":
        return [str(RUST_DEMO)]
    if host == "c":
        return [str(C_DEMO)]
    return [sys.executable, "-m", "libsession.demo"]


def environment(secret: str | None = SECRET) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SESSION_SECRET", "PORT", "REDIS_URL")}
    if secret is not None:
        env["SESSION_SECRET"] = secret
    # The Python demo from the checkout, on the library just built.
    env["LIBSESSION_LIBRARY"] = str(SHARED)
    src = str(REPO / "bindings/python/src")
    env["PYTHONPATH"] = src + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


class Demo:
    """One running demo: its base URL, its stderr."""

    def __init__(self, host: str, args: list[str] = (), secret: str | None = SECRET) -> None:
        why = build(host)
        if why is not None:
            unavailable(f"the {host} demo: {why}")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.host = host
        self.log = tempfile.TemporaryFile("w+")
        self.proc = subprocess.Popen(
            command(host) + ["--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            env=environment(secret),
            cwd=REPO,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        m = READY.match(line)
        if not m:
            self.stop()
            raise AssertionError(f"the {host} demo did not start: {line!r}\n{self.stderr()}")
        self.port = int(m.group(1))
        self.base = f"http://127.0.0.1:{self.port}"

    def stderr(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@pytest.fixture(scope="session", params=HOSTS)
def demo(request: pytest.FixtureRequest) -> Iterator[Demo]:
    """Each demo, started once for the whole run (tests are grouped by host)."""
    d = Demo(request.param)
    yield d
    d.stop()
    d.log.close()


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: str

    @property
    def set_cookies(self) -> list[str]:
        return self.headers.get_all("Set-Cookie") or []


class Client:
    """A client with a cookie jar (``http.cookiejar``, as a browser keeps
    cookies: removal cookies delete, expired ones are dropped)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()

    def get(self, path: str, cookie: str | None = None, method: str = "GET") -> Reply:
        """``cookie``: a Cookie header sent instead of the jar's."""
        req = urllib.request.Request(self.base + path, method=method)
        if cookie is None:
            self.jar.add_cookie_header(req)
        headers = {k: v for k, v in req.header_items()}
        if cookie is not None:
            headers["Cookie"] = cookie
        port = int(self.base.rsplit(":", 1)[1])
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        try:
            conn.request(method, path, headers=headers)
            resp = conn.getresponse()
            body = resp.read().decode("utf-8")
        finally:
            conn.close()
        if cookie is None:
            self.jar.extract_cookies(_Response(resp.headers), req)
        return Reply(resp.status, resp.headers, body)

    def session_cookie(self) -> http.cookiejar.Cookie | None:
        found = [c for c in self.jar if c.name == "connect.sid"]
        return found[0] if found else None


class _Response:
    """What ``CookieJar.extract_cookies`` reads of a response."""

    def __init__(self, headers: http.client.HTTPMessage) -> None:
        self._headers = headers

    def info(self) -> http.client.HTTPMessage:
        return self._headers
