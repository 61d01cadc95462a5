"""Builds the C library and bundles it into the package.

``pip install ./bindings/python`` (from a clone of the repository) runs
``cargo build --release -p libsession-capi`` in the repository (a no-op when
the library is up to date), copies ``target/release/libsession.so`` next to
the installed package, where ``libsession`` looks first, and marks the wheel
as platform-specific. ``LIBSESSION_LIBRARY=/path/to/libsession.so`` bundles
that file instead, without cargo. When neither works the build fails and
says why: a package without its library would only fail later, at import.
Build output stays in this directory's ``build/``.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
LIB_NAME = "libsession.dylib" if sys.platform == "darwin" else "libsession.so"


class LibraryError(SystemExit):
    """The package cannot be built without its library: the message says why."""


def library() -> Path:
    """The shared library to bundle: LIBSESSION_LIBRARY, or cargo's build of
    the repository this package sits in."""
    env = os.environ.get("LIBSESSION_LIBRARY")
    if env:
        path = Path(env)
        if not path.is_file():
            raise LibraryError(f"libsession: LIBSESSION_LIBRARY={env} is not a file")
        return path
    if not (REPO / "Cargo.toml").is_file() or not (REPO / "capi").is_dir():
        raise LibraryError(
            "libsession: no shared library to bundle: build from a clone of the repository "
            "(cargo builds it), or set LIBSESSION_LIBRARY=/path/to/libsession.so"
        )
    built = REPO / "target" / "release" / LIB_NAME
    cargo = shutil.which("cargo")
    if cargo is None:
        if built.is_file():
            print(f"libsession: cargo not found; bundling the existing {built}", file=sys.stderr)
            return built
        raise LibraryError(
            "libsession: cargo is not installed, so the C library cannot be built "
            "(https://rustup.rs), and there is no LIBSESSION_LIBRARY"
        )
    print("libsession: cargo build --release -p libsession-capi", file=sys.stderr)
    done = subprocess.run([cargo, "build", "--release", "-p", "libsession-capi"], cwd=REPO)
    if done.returncode != 0 or not built.is_file():
        raise LibraryError(f"libsession: `cargo build --release -p libsession-capi` failed (exit {done.returncode})")
    return built


class BuildPyWithLibrary(build_py):
    def run(self):
        super().run()
        if self.dry_run:
            return
        lib = library()
        dest = Path(self.build_lib) / "libsession" / LIB_NAME
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(lib, dest)
        print(f"libsession: bundled {lib}", file=sys.stderr)


class BinaryDistribution(Distribution):
    def has_ext_modules(self):
        return True  # the bundled library: a platform-specific wheel


# Build products stay in this directory's build/ (never in the source tree).
BUILD_DIR = HERE / "build"
BUILD_DIR.mkdir(exist_ok=True)

setup(
    cmdclass={"build_py": BuildPyWithLibrary},
    distclass=BinaryDistribution,
    options={"build": {"build_base": str(BUILD_DIR)}, "egg_info": {"egg_base": "build"}},
)
