"""A fleet of hosts on one Redis with one cookie jar (issue 11, proof 2):
the Node app (express-session + connect-redis, tests/interop/app.js), the C
example server (examples/c, hiredis) and the Python WSGI demo
(``python -m libsession.demo``) and the Rust demo, all started from ONE options file (an
express-session options object with connect-redis's options under
``"store"``) and ``--redis URL``.

* the counter goes round the fleet in both directions, each host continuing
  it; after every step the stored record is byte-identical to the others'
  apart from the expiry instant (and the counter), with the same TTL;
* a login on one host is seen by every host; a logout on another is seen by
  every host (and the key is gone).

A host is one entry in ``HOSTS``: a name, how to start it, and whether it
can run here; the fourth is the Rust demo (``examples/demo.rs``, built with
``--all-features``). Every host serves ``/views``, ``/login?user=``,
``/logout`` and ``/show``.

Skips (with the reason) when node, the interop app's node_modules, make/cc
or redis-server is missing; fails instead under LIBSESSION_REQUIRE_ALL=1.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from redis_server import RedisServer, require

REPO = Path(__file__).resolve().parents[3]
PREFIX = "fleet:"
OPTIONS = {
    "secret": "fleet secret",
    "resave": False,
    "saveUninitialized": False,
    "cookie": {"maxAge": 60_000},
    "store": {"prefix": PREFIX},
}


@dataclass
class Host:
    """One member of the fleet."""

    name: str
    #: argv and extra environment, given the options file and the Redis URL.
    command: Callable[[Path, str], tuple[list[str], dict[str, str]]]
    #: The first line's pattern with the port as its group.
    ready: str
    #: None if the host can run here, else why not.
    missing: Callable[[], str | None]
    #: Required (fails under LIBSESSION_REQUIRE_ALL=1 when it cannot run) or
    #: optional (a note only).
    required: bool = True


def _node_command(options: Path, redis_url: str) -> tuple[list[str], dict[str, str]]:
    opts = json.loads(options.read_text())
    store = opts.pop("store", {})
    env = {"REDIS_URL": redis_url, "SESSION_OPTIONS": json.dumps(opts), "PREFIX": store.get("prefix", "sess:"), "PORT": "0"}
    return [shutil.which("node") or "node", str(REPO / "tests/interop/app.js")], env


def _node_missing() -> str | None:
    if shutil.which("node") is None:
        return "node is not installed"
    if not (REPO / "tests/interop/node_modules/connect-redis").is_dir():
        return "tests/interop/node_modules is missing (npm ci in tests/interop)"
    return None


C_SERVER = REPO / "examples/c/server"


def _c_missing() -> str | None:
    for tool in ("make", "cc"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not Path("/usr/include/hiredis/hiredis.h").is_file():
        return "hiredis is not installed (libhiredis-dev)"
    # Up to date with the library and the sources (cargo runs incrementally).
    build = subprocess.run(["make", "-C", str(REPO / "examples/c")], capture_output=True, text=True)
    if build.returncode != 0:
        raise AssertionError(f"make -C examples/c failed:\n{build.stdout}\n{build.stderr}")
    return None


RUST_DEMO = REPO / "target/release/examples/demo"


def _rust_missing() -> str | None:
    source = (REPO / "examples/demo.rs").read_text(encoding="utf-8")
    if "--options" not in source or '"/views"' not in source or '"/show"' not in source:
        return "the Rust demo does not serve the fleet's routes and --options yet"
    if shutil.which("cargo") is None:
        return "cargo is not installed"
    # The features `cargo test --release --all-features` builds the crate with, so nothing is rebuilt.
    build = subprocess.run(
        ["cargo", "build", "--quiet", "--release", "--all-features", "--example", "demo"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if build.returncode != 0:
        raise AssertionError(f"cargo build --example demo failed:\n{build.stderr}")
    return None


def _rust_command(options: Path, redis_url: str) -> tuple[list[str], dict[str, str]]:
    return [str(RUST_DEMO), "--port", "0", "--options", str(options), "--redis", redis_url], {}


HOSTS = [
    Host("node", _node_command, r"listening on (\d+)", _node_missing),
    Host(
        "c",
        lambda options, url: ([str(C_SERVER), "--options", str(options), "--redis", url, "0"], {}),
        r"listening on http://127\.0\.0\.1:(\d+)/",
        _c_missing,
    ),
    Host(
        "python",
        lambda options, url: ([sys.executable, "-m", "libsession.demo", "--port", "0", "--options", str(options),
                               "--redis", url], {}),
        r"listening on http://127\.0\.0\.1:(\d+)/",
        lambda: None,
    ),
    Host("rust", _rust_command, r"listening on http://127\.0\.0\.1:(\d+)/", _rust_missing),
]


class Running:
    def __init__(self, host: Host, options: Path, redis_url: str, log_dir: Path) -> None:
        argv, env = host.command(options, redis_url)
        self.name = host.name
        self.log = open(log_dir / f"{host.name}.log", "w+")
        self.proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=self.log, text=True, env={**os.environ, **env}, cwd=REPO
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        m = re.search(host.ready, line)
        if not m:
            self.stop()
            raise AssertionError(f"{host.name} did not start: {line!r}\n{self.logs()}")
        self.base = f"http://127.0.0.1:{m.group(1)}"

    def logs(self) -> str:
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
        self.log.close()


class Jar:
    """One browser: one session cookie, sent to every host."""

    def __init__(self) -> None:
        self.cookie: str | None = None

    def get(self, host: Running, path: str) -> tuple[int, dict]:
        req = urllib.request.Request(host.base + path)
        if self.cookie:
            req.add_header("Cookie", self.cookie)
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                status, headers, body = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as e:
            status, headers, body = e.code, e.headers, e.read()
        for value in headers.get_all("Set-Cookie") or []:
            self.cookie = value.split(";", 1)[0]
        try:
            data = json.loads(body)
        except ValueError:  # a text answer (the C server's /logout)
            data = {"text": body.decode("utf-8", "replace")}
        if status >= 500:
            raise AssertionError(f"{host.name} {path}: {status} {body!r}\n{host.logs()}")
        return status, data


@pytest.fixture(scope="module")
def fleet() -> Iterator[tuple[list[Running], RedisServer]]:
    require("redis-server", "Debian package redis-server")
    usable, notes = [], []
    for host in HOSTS:
        why = host.missing()
        if why is None:
            usable.append(host)
        elif host.required:
            if os.environ.get("LIBSESSION_REQUIRE_ALL") == "1":
                pytest.fail(f"fleet host {host.name}: {why}, and LIBSESSION_REQUIRE_ALL=1")
            pytest.skip(f"fleet host {host.name}: {why}")
        else:
            notes.append(f"{host.name}: {why}")
    for note in notes:
        print(f"fleet: without {note}", file=sys.stderr)
    server = RedisServer()
    tmp = Path(tempfile.mkdtemp(prefix="libsession-fleet-"))
    options = tmp / "options.json"
    options.write_text(json.dumps(OPTIONS))
    running: list[Running] = []
    try:
        for host in usable:
            running.append(Running(host, options, server.url, tmp))
        yield running, server
    finally:
        for r in running:
            r.stop()
        server.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _record(server: RedisServer, sid: str) -> str | None:
    reply = server.command("GET", PREFIX + sid)
    if reply.startswith(b"$-1"):
        return None
    assert reply.startswith(b"$"), reply
    return reply.split(b"\r\n", 1)[1][: int(reply[1 : reply.index(b"\r\n")])].decode()


def _ttl(server: RedisServer, sid: str) -> int:
    return int(server.command("TTL", PREFIX + sid)[1:].split(b"\r\n")[0])


def _shape(record: str) -> str:
    """The record without what differs between hosts by design: the expiry
    instant (and the counter, which each step moves on)."""
    record = re.sub(r'"expires":"[^"]*"', '"expires":"<instant>"', record)
    return re.sub(r'"views":\d+', '"views":<n>', record)


def test_the_counter_goes_round_the_fleet_in_both_directions(fleet):
    hosts, server = fleet
    assert len(hosts) >= 3, [h.name for h in hosts]
    jar = Jar()
    order = hosts + hosts[::-1]
    sid = None
    shapes: dict[str, str] = {}
    for n, host in enumerate(order, start=1):
        status, data = jar.get(host, "/views")
        assert (status, data.get("views")) == (200, n), f"{host.name}: {data}\n{host.logs()}"
        sid = sid or data["id"]
        assert data["id"] == sid, f"{host.name} continued another session"
        record = _record(server, sid)
        assert record is not None, f"{host.name} stored nothing"
        assert f'"views":{n}' in record
        shapes[host.name] = _shape(record)
        assert 58 <= _ttl(server, sid) <= 60, f"{host.name}: TTL {_ttl(server, sid)}"
    # Byte for byte the same record from every host, apart from the expiry instant.
    assert len(set(shapes.values())) == 1, json.dumps(shapes, indent=1)


@pytest.mark.parametrize("login_at, logout_at", [(0, 1), (1, 2), (2, 3), (3, 0)])
def test_a_login_on_one_and_a_logout_on_another_are_seen_by_all(fleet, login_at, logout_at):
    hosts, server = fleet
    login, logout = hosts[login_at % len(hosts)], hosts[logout_at % len(hosts)]
    jar = Jar()
    jar.get(login, "/views")  # a session first: some hosts regenerate it at login
    status, data = jar.get(login, "/login?user=alice")
    assert status == 200, data
    status, shown = jar.get(login, "/show")
    sid = shown["id"]
    assert shown["data"].get("user") == "alice", f"{login.name}: {shown}"
    for host in hosts:
        status, shown = jar.get(host, "/show")
        assert (status, shown["id"], shown["data"].get("user")) == (200, sid, "alice"), f"{host.name}: {shown}"
    status, data = jar.get(logout, "/logout")
    assert status == 200, data
    assert _record(server, sid) is None, "the logout deleted the key"
    for host in hosts:
        status, shown = jar.get(host, "/show")
        assert status == 200 and "user" not in shown["data"], f"{host.name}: {shown}"
        assert shown["id"] != sid, f"{host.name} still has the session"
