"""The benchmark runs and both sides do the work (timings are not checked)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("flask")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench  # noqa: E402


def test_bench_quick(capsys):
    assert bench.main(["--quick"]) == 0
    out = capsys.readouterr().out
    assert "ns/request" in out and "ratio libsession / Flask signing core" in out
