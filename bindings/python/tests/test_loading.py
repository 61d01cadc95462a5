"""Finding the shared library: next to the package, LIBSESSION_LIBRARY, the
cargo build output; and a clear error listing every path tried."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import libsession as ls

PKG = Path(ls.__file__).resolve().parent
LIB = Path(ls.LIB_PATH)


def copy_package(dest: Path, with_library: bool) -> Path:
    pkg = dest / "libsession"
    shutil.copytree(PKG, pkg, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.dylib"))
    if with_library:
        shutil.copy2(LIB, pkg / LIB.name)
    return dest


def run(site: Path, cwd: Path, env_lib: str | None):
    env = {k: v for k, v in os.environ.items() if k not in ("LIBSESSION_LIBRARY", "CARGO_TARGET_DIR", "PYTHONPATH")}
    env["PYTHONPATH"] = str(site)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    if env_lib is not None:
        env["LIBSESSION_LIBRARY"] = env_lib
    code = "import libsession; print(libsession.LIB_PATH); print(libsession.library_version())"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def test_library_next_to_the_package_comes_first(tmp_path):
    site = copy_package(tmp_path / "site", with_library=True)
    r = run(site, tmp_path, env_lib=str(LIB))
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.splitlines()[0]) == site / "libsession" / LIB.name


def test_environment_variable(tmp_path):
    site = copy_package(tmp_path / "site", with_library=False)
    elsewhere = tmp_path / "lib" / LIB.name
    elsewhere.parent.mkdir()
    shutil.copy2(LIB, elsewhere)
    r = run(site, tmp_path, env_lib=str(elsewhere))
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.splitlines()[0]) == elsewhere


def test_cargo_build_output_of_the_enclosing_repository(tmp_path):
    repo = tmp_path / "repo"
    (repo / "target" / "debug").mkdir(parents=True)
    (repo / "Cargo.toml").write_text("[package]\nname = 'libsession'\n")
    shutil.copy2(LIB, repo / "target" / "debug" / LIB.name)
    site = copy_package(repo / "bindings" / "python" / "src", with_library=False)
    r = run(site, tmp_path, env_lib=None)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.splitlines()[0]) == repo / "target" / "debug" / LIB.name
    # release wins over debug
    (repo / "target" / "release").mkdir()
    shutil.copy2(LIB, repo / "target" / "release" / LIB.name)
    r = run(site, tmp_path, env_lib=None)
    assert Path(r.stdout.splitlines()[0]) == repo / "target" / "release" / LIB.name


def test_failure_lists_every_path_tried(tmp_path):
    site = copy_package(tmp_path / "site", with_library=False)
    bogus = tmp_path / "not-a-library.so"
    bogus.write_text("garbage")
    r = run(site, tmp_path, env_lib=str(bogus))
    assert r.returncode != 0
    assert "ImportError" in r.stderr and "cannot load the shared library" in r.stderr
    assert str(site / "libsession" / LIB.name) in r.stderr  # next to the package
    assert str(bogus) in r.stderr and "LIBSESSION_LIBRARY" in r.stderr
    assert "cargo build --release" in r.stderr
    r = run(site, tmp_path, env_lib=None)
    assert "LIBSESSION_LIBRARY: not set" in r.stderr


def test_every_function_has_declared_types():
    from libsession import _lib

    for name, (restype, argtypes) in _lib.SIGNATURES.items():
        fn = getattr(_lib.LIB, name)
        assert fn.argtypes == argtypes, name
        assert fn.restype is restype or (restype is None and fn.restype is None), name


@pytest.mark.skipif(sys.platform != "linux", reason="ELF symbol check")
def test_library_exports_match_the_bindings():
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm not installed")
    out = subprocess.run([nm, "-D", "--defined-only", str(LIB)], capture_output=True, text=True, check=True).stdout
    exported = {line.split()[-1] for line in out.splitlines() if " T libsession_" in line}
    from libsession import _lib

    assert exported == set(_lib.SIGNATURES)
