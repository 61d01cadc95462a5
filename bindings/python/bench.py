"""Per-request cost of scenario (b) of the core benchmark from Python:
a returning visitor with a valid signed cookie increments a counter (load,
verify, modify, save, Set-Cookie), through the libsession binding with the
Python MemoryStore, next to Flask's default signed-cookie session measured in
the same run doing the equivalent work (read the cookie from the Cookie
header, verify its signature, increment the counter, re-sign, produce the
Set-Cookie header value with an expiry).

Flask is measured two ways:

* ``Flask session interface``: ``SecureCookieSessionInterface.open_session``
  and ``save_session``, Flask's own code path, on a ``flask.Request`` built
  from a WSGI environ and a ``flask.Response`` (the objects it needs);
* ``Flask signing core``: only what the interface does for the session
  (``werkzeug.http.parse_cookie``, the itsdangerous serializer's ``loads``
  and ``dumps``, ``werkzeug.http.dump_cookie``), without request and response
  objects: the lower bound of Flask's cost and the stricter comparison.

Usage: ``python bench.py [--quick]``. Prints ns/request for each and the
ratios (libsession / Flask); below 1.0 means libsession is faster. Exits
non-zero only if a side did not do the work (a wrong counter), never
because of timings.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

try:
    import libsession as ls
except ImportError as e:
    if "cannot load the shared library" in str(e):
        raise
    sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))
    import libsession as ls

NOW = 1_700_000_000_000
SECRET = "keyboard cat keyboard cat keyboard cat"
MAX_AGE_MS = 3_600_000


def measure(fn, quick: bool) -> float:
    """Median ns per call over timed batches of about 50 ms (3 ms quick)."""
    target = 3_000_000 if quick else 50_000_000
    n = 1
    while True:
        t = time.perf_counter_ns()
        for _ in range(n):
            fn()
        if time.perf_counter_ns() - t > target:
            break
        n *= 2
    samples = []
    for _ in range(3 if quick else 9):
        t = time.perf_counter_ns()
        for _ in range(n):
            fn()
        samples.append((time.perf_counter_ns() - t) / n)
    return statistics.median(samples)


# ----- libsession ------------------------------------------------------------


def libsession_setup():
    config = ls.Config(secret=SECRET, max_age=MAX_AGE_MS)
    store = ls.MemoryStore(clock=lambda: NOW)
    seeded = ls.Request(config, now_ms=NOW - 60_000)

    def seed(req):
        req.session["views"] = 41
        req.session["user"] = "alice"

    out = seeded.run(store, seed)
    seeded.close()
    value = out.set_cookie[0].split(";", 1)[0].split("=", 1)[1]
    header = f"theme=dark; connect.sid={value}; lang=en"
    sid = next(iter(store.snapshot()))

    def one_request():
        with ls.Request(config, now_ms=NOW, cookie=header) as req:
            out = req.run(store, _increment)
        return out.set_cookie

    return one_request, store, sid


def _increment(req):
    req.session.increment("views")


# ----- Flask -------------------------------------------------------------------


def flask_setup():
    from datetime import timedelta

    from flask import Flask, Request, Response
    from flask.sessions import SecureCookieSession
    from werkzeug.http import dump_cookie, parse_cookie
    from werkzeug.test import EnvironBuilder

    app = Flask("bench")
    app.secret_key = SECRET
    app.permanent_session_lifetime = timedelta(milliseconds=MAX_AGE_MS)
    iface = app.session_interface
    serializer = iface.get_signing_serializer(app)
    state = {"cookie": serializer.dumps({"views": 41, "user": "alice", "_permanent": True})}
    header = f"theme=dark; session={state['cookie']}; lang=en"
    environ = EnvironBuilder(path="/", headers={"Cookie": header}).get_environ()
    max_age_s = int(app.permanent_session_lifetime.total_seconds())
    name = app.config["SESSION_COOKIE_NAME"]

    def interface_request():
        request = Request(dict(environ))
        session = iface.open_session(app, request)
        session["views"] = session.get("views", 0) + 1
        response = Response()
        iface.save_session(app, session, response)
        return response.headers.getlist("Set-Cookie")

    def core_request():
        value = parse_cookie(header).get(name)
        session = SecureCookieSession(serializer.loads(value, max_age=max_age_s))
        session["views"] = session.get("views", 0) + 1
        signed = serializer.dumps(dict(session))
        expires = time.time() + max_age_s
        return [dump_cookie(name, signed, expires=expires, httponly=True, path="/", max_age=None)]

    def views_of(set_cookie: str) -> int:
        value = set_cookie.split(";", 1)[0].split("=", 1)[1]
        return serializer.loads(value)["views"]

    return interface_request, core_request, views_of


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short batches (a smoke test, not a measurement)")
    args = parser.parse_args(argv)

    ls_request, store, sid = libsession_setup()
    cookies = ls_request()
    if len(cookies) != 1 or not cookies[0].startswith("connect.sid=s%3A"):
        print(f"bench: libsession did not set the session cookie: {len(cookies)} Set-Cookie", file=sys.stderr)
        return 1
    import json

    before = json.loads(store.get(sid))["views"]
    ls_ns = measure(ls_request, args.quick)
    after = json.loads(store.get(sid))["views"]
    if after <= before:
        print("bench: the libsession counter did not increase", file=sys.stderr)
        return 1

    try:
        flask_interface, flask_core, views_of = flask_setup()
    except ImportError as e:
        print(f"scenario (b), libsession: {ls_ns:,.0f} ns/request (Flask not installed: {e})")
        return 0
    for fn in (flask_interface, flask_core):
        got = views_of(fn()[0])
        if got != 42:
            print(f"bench: Flask's session counter is {got}, expected 42", file=sys.stderr)
            return 1
    fi_ns = measure(flask_interface, args.quick)
    fc_ns = measure(flask_core, args.quick)

    from importlib.metadata import version

    print("scenario (b): a returning visitor increments a counter (load, verify, modify, save, Set-Cookie)")
    print(
        f"  Python {sys.version.split()[0]}, libsession {ls.library_version()}, "
        f"Flask {version('flask')}, itsdangerous {version('itsdangerous')}"
        f"{'  [--quick: not a measurement]' if args.quick else ''}"
    )
    print(f"  libsession (ctypes binding + Python MemoryStore) {ls_ns:>10,.0f} ns/request")
    print(f"  Flask session interface (SecureCookieSession)    {fi_ns:>10,.0f} ns/request")
    print(f"  Flask signing core (itsdangerous + werkzeug)     {fc_ns:>10,.0f} ns/request")
    print(f"  ratio libsession / Flask session interface       {ls_ns / fi_ns:>10.2f}")
    print(f"  ratio libsession / Flask signing core            {ls_ns / fc_ns:>10.2f}")
    verdict = "met" if ls_ns <= fc_ns else "NOT met"
    print(f"  goal (libsession no slower than Flask's session, strict comparison): {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
