"""Shared fixtures. The package is imported from the installed copy (the
test script installs it); when it is not installed, from ../src."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
sys.path.insert(0, str(HERE))  # conformance_runner
try:
    import libsession  # noqa: F401
except ImportError as e:  # not installed: use the source tree
    if "cannot load the shared library" in str(e):
        raise
    sys.path.insert(0, str(HERE.parent / "src"))

import libsession as ls  # noqa: E402

NOW = 1_700_000_000_000
SECRET = "keyboard cat keyboard cat keyboard cat"


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def config():
    # The tests name their sessions ("sid", "fresh"...): any ID shape.
    with ls.Config(secret=SECRET, max_age=3_600_000, session_id_lengths=None) as c:
        yield c


@pytest.fixture
def store():
    return ls.MemoryStore(clock=lambda: NOW)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
