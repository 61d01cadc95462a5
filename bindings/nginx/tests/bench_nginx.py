#!/usr/bin/env python3
"""The nginx module's benchmark (scripts/bench-nginx.sh; not run in CI).

One nginx (worker_processes 2) in front of the express-session +
connect-redis app, the same servers as the tests (test_nginx.py), and wrk on
loopback against four locations of the same nginx:

  plain  `return 200`, no session
  shm    a session required, shm store (rolling: a touch and a cookie each)
  redis  `libsession_require user` on the Node app's Redis sessions
  gif    `empty_gif` (a content-phase answer, no session: auth's baseline)
  auth   `auth_request` to the Node express-session app (the alternative),
         then `empty_gif`

Usage: bench_nginx.py MODULE.so [SECONDS] [CONNECTIONS]
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_nginx as t  # noqa: E402


def wrk(port, path, cookie, seconds, conns):
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency"]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50 = re.search(r"50%\s+(\S+)", out)
    return float(rps.group(1)) if rps else 0.0, int(non2xx.group(1)) if non2xx else 0, p50.group(1) if p50 else "?"


def main():
    module = os.path.abspath(sys.argv[1])
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    conns = int(sys.argv[3]) if len(sys.argv) > 3 else 32
    s = t.Suite(module)
    try:
        s.start_redis()
        s.start_node()
        s.start_nginx()
        redis_cookie, _ = s.login("bench")
        shm_cookie = t.get(s.port, "/visits").cookie()
        checks = [("/plain", None), ("/bench/shm", shm_cookie), ("/bench/redis", redis_cookie),
                  ("/bench/gif", None), ("/bench/auth", redis_cookie)]
        r = t.get(s.port, "/bench/auth", None)
        if r.status != 401:
            print(f"/bench/auth without a cookie answers {r.status}, not 401: auth_request is not in the path")
            return 1
        for path, cookie in checks:
            r = t.get(s.port, path, cookie)
            if r.status != 200:
                print(f"{path} answers {r.status}, not 200: no benchmark")
                return 1
        print(f"wrk -t2 -c{conns} -d{seconds}s, loopback, nginx worker_processes 2 (nproc={os.cpu_count()})")
        results = {}
        for name, (path, cookie) in zip(["plain", "shm", "redis", "gif", "auth_request"], checks):
            rps, bad, p50 = wrk(s.port, path, cookie, seconds, conns)
            results[name] = rps
            print(f"  {name:<13} {path:<13} {rps:>10.0f} req/s   p50 {p50:>8}   non-2xx {bad}", flush=True)
        if results["plain"] and results["auth_request"]:
            print(f"  shm / plain         = {results['shm'] / results['plain']:.0%}  (goal >= 70%)")
            print(f"  redis / auth_request = {results['redis'] / results['auth_request']:.1f}x (goal >= 10x)")
    finally:
        s.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
