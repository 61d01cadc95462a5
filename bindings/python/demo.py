"""Runs the libsession demo (a view counter on wsgiref) from a checkout,
without installing anything: ``python3 bindings/python/demo.py --port 8080``.

The same as ``python -m libsession.demo`` once the package is installed.
The shared library must be built first (``cargo build --release -p libsession-capi``).
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from libsession.demo import main  # noqa: E402

if __name__ == "__main__":
    main()
