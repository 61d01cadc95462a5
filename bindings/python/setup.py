"""Bundles the shared library into the package when one is available.

``pip install ./bindings/python`` after ``cargo build --release -p libsession-capi`` copies
``target/release/libsession.so`` (or the file named by LIBSESSION_LIBRARY)
next to the installed package, where ``libsession`` looks first, and marks
the wheel as platform-specific. Without a built library the package is
installed alone and finds the library at import time (LIBSESSION_LIBRARY,
or the cargo output of the repository it sits in).
"""

import os
import shutil
import sys
from pathlib import Path

from setuptools import Distribution, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
LIB_NAME = "libsession.dylib" if sys.platform == "darwin" else "libsession.so"


def built_library():
    env = os.environ.get("LIBSESSION_LIBRARY")
    candidates = [Path(env)] if env else []
    repo = HERE.parents[1]
    candidates += [repo / "target" / "release" / LIB_NAME, repo / "target" / "debug" / LIB_NAME]
    return next((p for p in candidates if p.is_file()), None)


class BuildPyWithLibrary(build_py):
    def run(self):
        super().run()
        lib = built_library()
        if lib is not None and not self.dry_run:
            dest = Path(self.build_lib) / "libsession" / LIB_NAME
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(lib, dest)
            print(f"libsession: bundled {lib}")


class MaybeBinaryDistribution(Distribution):
    def has_ext_modules(self):
        return built_library() is not None


# Build products go to the repository's target/ directory, not the source tree.
BUILD_DIR = HERE.parents[1] / "target" / "python-build"
BUILD_DIR.mkdir(parents=True, exist_ok=True)

setup(
    cmdclass={"build_py": BuildPyWithLibrary},
    distclass=MaybeBinaryDistribution,
    options={"build": {"build_base": str(BUILD_DIR)}, "egg_info": {"egg_base": os.path.relpath(BUILD_DIR, HERE)}},
)
