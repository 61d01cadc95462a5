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

Usage: [ROUNDS=3] bench_nginx.py MODULE.so [SECONDS] [CONNECTIONS]
"""

import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_nginx as t  # noqa: E402


def cpu_ticks(pids):
    """utime + stime of the processes, in clock ticks."""
    total = 0
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except OSError:
            pass
    return total


def workers(s):
    master = open(s.path("logs/nginx.pid")).read().strip()
    out = subprocess.run(["pgrep", "-P", master], capture_output=True, text=True).stdout
    return out.split()


def wrk(port, path, cookie, seconds, conns):
    cmd = ["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "--latency"]
    if cookie:
        cmd += ["-H", f"Cookie: {cookie}"]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    n = re.search(r"(\d+) requests in", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    p50 = re.search(r"^\s+50%\s+(\S+)", out, re.M)
    return (float(rps.group(1)) if rps else 0.0, int(non2xx.group(1)) if non2xx else 0, p50.group(1) if p50 else "?",
            int(n.group(1)) if n else 0)


def main():
    module = os.path.abspath(sys.argv[1])
    seconds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
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
        rounds = int(os.environ.get("ROUNDS", "3"))
        print(f"wrk -t2 -c{conns} -d{seconds}s, loopback, nginx worker_processes 2 (nproc={os.cpu_count()}); "
              f"{rounds} interleaved rounds, the best of each location (the machine is shared: noise only lowers)")
        names = ["plain", "shm", "redis", "gif", "auth_request"]
        runs = {n: [] for n in names}
        cpu_us = {n: [] for n in names}
        for _ in range(rounds):
            for name, (path, cookie) in zip(names, checks):
                pids = workers(s)
                before = cpu_ticks(pids)
                r = wrk(s.port, path, cookie, seconds, conns)
                ticks = cpu_ticks(pids) - before
                cpu_us[name].append(ticks / os.sysconf("SC_CLK_TCK") * 1e6 / max(r[3], 1))
                runs[name].append(r)
        results = {}
        for name, (path, _) in zip(names, checks):
            rps, bad, p50, _ = max(runs[name])
            results[name] = rps
            every = " ".join(f"{r[0]:.0f}" for r in runs[name])
            cpu = sorted(cpu_us[name])[len(cpu_us[name]) // 2]
            results[name + "_cpu"] = cpu
            print(f"  {name:<13} {path:<13} {rps:>10.0f} req/s   p50 {p50:>8}   non-2xx {sum(r[1] for r in runs[name])}"
                  f"   nginx CPU {cpu:5.1f} us/req   (rounds: {every})", flush=True)
        if results["plain"] and results["auth_request"]:
            print(f"  shm / plain         = {results['shm'] / results['plain']:.0%}  (goal >= 70%)")
            print(f"  nginx CPU per request, plain / shm = {results['plain_cpu'] / results['shm_cpu']:.0%} "
                  "(the throughput ratio on an idle machine; the median of the rounds)")
            print(f"  redis / auth_request = {results['redis'] / results['auth_request']:.1f}x (goal >= 10x)")
    finally:
        s.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
