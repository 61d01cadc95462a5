"""A throwaway redis-server for the tests: started on a free loopback port
in a temporary directory, restartable (keeping its data), freezable
(SIGSTOP). A missing redis-server skips the test with the reason, or fails
it when LIBSESSION_REQUIRE_ALL=1."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def require(tool: str, why: str) -> str:
    """The path of ``tool``; skips (or fails under LIBSESSION_REQUIRE_ALL=1) without it."""
    path = shutil.which(tool)
    if path is None:
        message = f"{tool} is not installed ({why})"
        if os.environ.get("LIBSESSION_REQUIRE_ALL") == "1":
            pytest.fail(message + " and LIBSESSION_REQUIRE_ALL=1")
        pytest.skip(message)
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self) -> None:
        self.binary = require("redis-server", "Debian package redis-server")
        self.dir = Path(tempfile.mkdtemp(prefix="libsession-redis-"))
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.dir),
             "--save", "", "--appendonly", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def command(self, *args: str | bytes) -> bytes:
        """One command over a fresh connection, its raw reply."""
        parts = [a.encode() if isinstance(a, str) else a for a in args]
        req = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(req)
            return s.recv(1 << 20)

    def stop(self, keep_data: bool = True) -> None:
        """Stops the server (``SHUTDOWN SAVE`` keeps the data for ``start``)."""
        if self.proc is None:
            return
        try:
            self.command("SHUTDOWN", "SAVE" if keep_data else "NOSAVE")
        except OSError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def restart(self) -> None:
        self.stop(keep_data=True)
        self.start()

    def freeze(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def close(self) -> None:
        if self.proc is not None:
            self.thaw()
            self.proc.kill()
            self.proc.wait()
            self.proc = None
        shutil.rmtree(self.dir, ignore_errors=True)
