#!/usr/bin/env python3
"""The nginx module's tests (run by scripts/test-nginx.sh).

Starts one redis-server, the express-session + connect-redis app of
tests/interop/nginx-app.js (it also echoes the headers it receives), and ONE
nginx (worker_processes 2, loopback, a temporary prefix) with the built
module, then checks the issue's proof items. Prints each check; exits 1 on
any failure.

Usage: test_nginx.py MODULE.so
"""

import base64
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets as pysecrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SECRET = "s3cr3t-" + pysecrets.token_hex(24)  # 55 bytes
OLD_SECRET = "old-" + pysecrets.token_hex(20)
REDIS_PASSWORD = "redis-pw-" + pysecrets.token_hex(8)
MAX_AGE = 600000
OPTIONS = {
    "name": "sid",
    "resave": False,
    "saveUninitialized": False,
    "rolling": True,
    "cookie": {"maxAge": MAX_AGE},
}

failures = []


def check(cond, what, detail=""):
    print(("  ok   " if cond else "  FAIL ") + what + ("" if cond else f"  [{detail}]"), flush=True)
    if not cond:
        failures.append(what)
    return cond


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Resp:
    def __init__(self, status, headers, body, elapsed):
        self.status = status
        self.headers = headers
        self.body = body
        self.elapsed = elapsed

    def header(self, name):
        return [v for k, v in self.headers if k.lower() == name.lower()]

    def cookie(self, name="sid"):
        for v in self.header("Set-Cookie"):
            if v.startswith(name + "="):
                return v.split(";", 1)[0]
        return None


def get(port, path, cookie=None, headers=None, timeout=10):
    h = dict(headers or {})
    if cookie:
        h["Cookie"] = cookie
    t = time.time()
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path, headers=h)
        r = c.getresponse()
        body = r.read().decode("utf-8", "replace")
        return Resp(r.status, r.getheaders(), body, time.time() - t)
    finally:
        c.close()


def sign(sid, secret=SECRET):
    mac = base64.b64encode(hmac.new(secret.encode(), sid.encode(), hashlib.sha256).digest()).decode().rstrip("=")
    return "sid=" + urllib.parse.quote("s:" + sid + "." + mac, safe="")


class Suite:
    def __init__(self, module):
        self.module = module
        self.tmp = tempfile.mkdtemp(prefix="libsession-nginx-")
        self.procs = []
        self.redis_port = free_port()
        self.port = free_port()
        self.h2_port = free_port()
        for d in ("conf", "logs", "redis"):
            os.makedirs(os.path.join(self.tmp, d))
        with open(self.path("conf/session.json"), "w") as f:
            json.dump(OPTIONS, f)
        with open(self.path("conf/secrets"), "w") as f:
            f.write(SECRET + "\n" + OLD_SECRET + "\n")
        with open(self.path("conf/redis-password"), "w") as f:
            f.write(REDIS_PASSWORD + "\n")
        with open(self.path("conf/wrong-password"), "w") as f:
            f.write("not-the-password\n")

    def path(self, p):
        return os.path.join(self.tmp, p)

    # --- servers ---------------------------------------------------------

    def start_redis(self):
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
             "--requirepass", REDIS_PASSWORD,
             "--appendonly", "no", "--dir", self.path("redis"), "--dbfilename", "dump.rdb"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not wait_port(self.redis_port):
            raise RuntimeError("redis-server did not start")

    def redis_cli(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.redis_port), "-a", REDIS_PASSWORD, "--no-auth-warning", *args],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip()

    def start_node(self):
        env = dict(os.environ, REDIS_URL=f"redis://:{REDIS_PASSWORD}@127.0.0.1:{self.redis_port}/0", SESSION_OPTIONS=json.dumps(OPTIONS),
                   SESSION_SECRET=SECRET, PORT="0")
        self.node = subprocess.Popen(["node", os.path.join(ROOT, "tests/interop/nginx-app.js")], env=env,
                                     stdout=subprocess.PIPE, stderr=open(self.path("logs/node.log"), "w"), text=True)
        self.procs.append(self.node)
        line = self.node.stdout.readline()
        m = re.match(r"listening on (\d+)", line)
        if not m:
            raise RuntimeError("the Node app did not start: " + line)
        self.node_port = int(m.group(1))

    def conf(self, body, http_extra="", master=True):
        return f"""
load_module {self.module};
worker_processes 2;
{"" if master else "master_process off; daemon off;"}
error_log {self.path("logs/error.log")} info;
pid {self.path("logs/nginx.pid")};
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {self.path("logs")};
    proxy_temp_path {self.path("logs")};
    fastcgi_temp_path {self.path("logs")};
    uwsgi_temp_path {self.path("logs")};
    scgi_temp_path {self.path("logs")};
    {http_extra}
    {body}
}}
"""

    def main_conf(self, port, master=True, tls_port=None):
        redis = f"redis://127.0.0.1:{self.redis_port}/0"
        return self.conf(f"""
    libsession_options {self.path("conf/session.json")};
    libsession_secrets {self.path("conf/secrets")};
    libsession_store   {redis} prefix=sess: timeout=1s password_file={self.path("conf/redis-password")};
    upstream node {{ server 127.0.0.1:{self.node_port}; keepalive 8; }}
    server {{
        listen 127.0.0.1:{port} reuseport;
        {f"listen 127.0.0.1:{self.h2_port} http2;" if master else ""}
        {self.tls(tls_port)}
        location /app/ {{
            libsession on;
            libsession_require user;
            proxy_set_header X-User $libsession_user;
            proxy_set_header X-Session-Id $libsession_id;
            proxy_set_header X-Profile $libsession_profile;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://node/echo/;
        }}
        location /fresh/ {{
            libsession on;
            libsession_store_error fresh;
            libsession_require user;
            return 200 "user=$libsession_user\\n";
        }}
        location /badauth/ {{
            libsession on;
            libsession_store {redis} password_file={self.path("conf/wrong-password")};
            libsession_require user;
            return 200 "never\\n";
        }}
        location /noauth/ {{
            libsession on;
            libsession_store {redis};
            libsession_require user;
            return 200 "never\\n";
        }}
        location = /rvisits {{
            libsession on;
            libsession_increment views;
            return 200 "views=$libsession_views\\n";
        }}
        location /page/ {{
            libsession on;
            libsession_require user;
            error_page 401 = /denied;
            return 200 "page for $libsession_user\\n";
        }}
        location = /denied {{ return 401 "please log in ($libsession_id)\\n"; }}
        location = /any {{
            libsession on;
            libsession_require session;
            return 200 "any\\n";
        }}
        location = /visits {{
            libsession on;
            libsession_store shm zone=sessions:1m;
            libsession_increment views;
            return 200 "views=$libsession_views pid=$pid\\n";
        }}
        location = /tiny-visits {{
            libsession on;
            libsession_store shm zone=tiny:32k;
            libsession_increment views;
            return 200 "views=$libsession_views\\n";
        }}
        location = /shm-gated {{
            libsession on;
            libsession_store shm zone=sessions:1m;
            libsession_require session;
            return 200 "views=$libsession_views\\n";
        }}
        location = /plain {{ return 200 "plain\\n"; }}
        # the benchmark's locations (scripts/bench-nginx.sh)
        location = /bench/shm {{
            libsession on;
            libsession_store shm zone=sessions:1m;
            libsession_require session;
            return 200 "ok\\n";
        }}
        location = /bench/redis {{
            libsession on;
            libsession_require user;
            return 200 "ok\\n";
        }}
        # `return` would answer in the rewrite phase, before auth_request's
        # access phase: these two answer in the content phase
        location = /bench/auth {{
            auth_request /_auth;
            empty_gif;
        }}
        location = /bench/gif {{ empty_gif; }}
        location = /_auth {{
            internal;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_pass http://node/auth;
        }}
    }}
""", master=master)

    def tls(self, port):
        """A TLS listener with a throwaway self-signed certificate."""
        if port is None:
            return ""
        key, crt = self.path("conf/tls.key"), self.path("conf/tls.crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                        "-subj", "/CN=localhost", "-days", "1", "-keyout", key, "-out", crt],
                       check=True, capture_output=True)
        return f"listen 127.0.0.1:{port} ssl; ssl_certificate {crt}; ssl_certificate_key {key};"

    def start_nginx(self):
        with open(self.path("conf/nginx.conf"), "w") as f:
            f.write(self.main_conf(self.port))
        out = subprocess.run([NGINX, "-p", self.tmp, "-c", self.path("conf/nginx.conf"), "-e", self.path("logs/error.log")],
                             capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError("nginx did not start: " + out.stderr)
        if not wait_port(self.port):
            raise RuntimeError("nginx does not listen")

    def nginx_signal(self, sig):
        return subprocess.run([NGINX, "-p", self.tmp, "-c", self.path("conf/nginx.conf"), "-e", self.path("logs/error.log"),
                               "-s", sig], capture_output=True, text=True)

    def stop(self):
        try:
            self.nginx_signal("quit")
            pidfile = self.path("logs/nginx.pid")
            for _ in range(50):
                if not os.path.exists(pidfile):
                    break
                time.sleep(0.1)
        except Exception:
            pass
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    p.kill()
        if getattr(self, "redis", None) and self.redis.poll() is None:
            try:
                os.kill(self.redis.pid, signal.SIGCONT)
            except OSError:
                pass
            self.redis.terminate()
            self.redis.wait(5)

    def login(self, user="alice", max_age=None):
        q = f"/login?user={user}" + (f"&maxAge={max_age}" if max_age else "")
        r = get(self.node_port, q)
        return r.cookie(), json.loads(r.body)["id"] if r.status == 200 else None

    # --- the checks --------------------------------------------------------

    def test_interop(self):
        print("== a login on the Node app (express-session + connect-redis) is accepted by nginx through Redis")
        cookie, sid = self.login("alice")
        check(cookie is not None and sid, "Node /login sets a signed cookie", cookie)
        check(self.redis_cli("EXISTS", "sess:" + sid) == "1", "connect-redis wrote sess:<id>")
        r = get(self.port, "/app/hello", cookie)
        check(r.status == 200, "nginx /app/ with Node's cookie -> 200", f"{r.status} {r.body[:200]}")
        echoed = json.loads(r.body) if r.status == 200 else {"headers": {}}
        check(echoed["headers"].get("x-user") == "alice", "X-User: alice reached the upstream", echoed["headers"].get("x-user"))
        check(echoed["headers"].get("x-session-id") == sid, "X-Session-Id reached the upstream")
        check(echoed.get("url") == "/echo/hello", "proxied to the upstream's path", echoed.get("url"))
        r = get(self.port, "/any", cookie)
        check(r.status == 200 and r.body == "any\n", "libsession_require session: a stored session -> 200", r.status)

        print("== error_page 401 to another location (an internal redirect)")
        r = get(self.port, "/page/x", cookie)
        check(r.status == 200 and r.body == "page for alice\n", "a logged-in user gets the page", r.body)
        r = get(self.port, "/page/x")
        check(r.status == 401 and re.fullmatch(r"please log in \([\w-]{32,}\)\n", r.body) is not None,
              "no session: error_page's location answers, the session still at hand", f"{r.status} {r.body!r}")

        print("== $libsession_<key>: strings unquoted (no header splitting), other values as JSON")
        name = 'Zoë "q" \\ \n\t☃ 😀 </x>'
        r = get(self.node_port, "/login?profile=1&user=" + urllib.parse.quote(name))
        c2 = r.cookie()
        r = get(self.port, "/app/vars", c2)
        h = json.loads(r.body)["headers"] if r.status == 200 else {}
        # Node reads header bytes as latin1
        want = name.replace("\n", " ").replace("\t", " ").encode().decode("latin1")
        check(h.get("x-user") == want, "X-User: the string's UTF-8, control characters as spaces", (h.get("x-user"), want))
        check(json.loads(h.get("x-profile", "null")) == {"level": 3, "roles": ["admin"], "ok": True, "none": None},
              "X-Profile: an object as its JSON text", h.get("x-profile"))
        r = get(self.port, "/app/vars", cookie)
        h = json.loads(r.body)["headers"] if r.status == 200 else {"x-profile": "?"}
        check("x-profile" not in h and h.get("x-user") == "alice",
              "a session without the key: the variable is empty, the header left out", h.get("x-profile"))

        print("== rolling and touch as express-session does them")
        self.redis_cli("PEXPIRE", "sess:" + sid, "5000")
        before = int(self.redis_cli("PTTL", "sess:" + sid))
        r = get(self.port, "/app/x", cookie)
        after = int(self.redis_cli("PTTL", "sess:" + sid))
        check(r.status == 200, "gated request -> 200", r.status)
        check(before <= 5000 and after > MAX_AGE - 10000, "touch: the record's TTL is refreshed to maxAge",
              f"before={before} after={after}")
        sc = r.header("Set-Cookie")
        check(len(sc) == 1 and sc[0].startswith(cookie + ";") and "Expires=" in sc[0] and "HttpOnly" in sc[0],
              "rolling: the same signed cookie re-sent with a new Expires on the proxied response", sc)
        rec = json.loads(self.redis_cli("GET", "sess:" + sid))
        check(rec.get("user") == "alice", "the record still holds the Node app's data", rec)

        print("== the old secret still verifies (rotation)")
        r = get(self.port, "/app/rot", sign(sid, OLD_SECRET))
        check(r.status == 200, "a cookie signed with the second secret -> 200", r.status)

        print("== a session written by nginx to Redis is read by the Node app")
        r = get(self.port, "/rvisits")
        rc = r.cookie()
        r2 = get(self.port, "/rvisits", rc)
        check(r.body == "views=1\n" and r2.body == "views=2\n" and rc, "nginx /rvisits twice: views=1, views=2",
              (r.body, r2.body))
        shown = get(self.node_port, "/show", rc)
        data = json.loads(shown.body) if shown.status == 200 else {}
        check(data.get("data") == {"views": 2} and "sess:" + data.get("id", "") in self.redis_cli("KEYS", "sess:*").split("\n"),
              "Node's /show reads nginx's record: {views: 2}", shown.body)
        ttl = int(self.redis_cli("TTL", "sess:" + data.get("id", "")))
        check(MAX_AGE // 1000 - 5 <= ttl <= MAX_AGE // 1000, "connect-redis's TTL: ceil(maxAge / 1000)", ttl)

        print("== Redis AUTH (password_file=)")
        r = get(self.port, "/badauth/", cookie)
        check(r.status == 503, "a wrong Redis password: the store fails -> 503", r.status)
        r = get(self.port, "/noauth/", cookie)
        check(r.status == 503, "no Redis password where one is required -> 503", r.status)

        print("== logout on Node -> 401 at nginx")
        r = get(self.node_port, "/logout", cookie)
        check(r.status == 200, "Node /logout -> 200", r.status)
        r = get(self.port, "/app/hello", cookie)
        check(r.status == 401, "nginx after the logout -> 401", f"{r.status} {r.body[:100]}")

    def test_bad_cookies(self):
        print("== tampered, unknown, expired -> 401, never 500")
        cookie, sid = self.login("bob")
        check(get(self.port, "/app/", cookie).status == 200, "a valid session -> 200")
        name, value = cookie.split("=", 1)
        tampered = name + "=" + value[:-2] + ("A" if value[-2] != "A" else "B") + value[-1]
        cases = [
            ("no cookie", None),
            ("tampered signature", tampered),
            ("tampered ID", name + "=" + value.replace(sid[:4], "AAAA", 1)),
            ("unsigned cookie", "sid=" + sid),
            ("unknown ID, correctly signed", sign("unknown" + pysecrets.token_hex(16))),
            ("garbage", "sid=%%%zz;;==; sid=s%3A"),
            ("signed with another secret", sign(sid, "another-secret-" + "x" * 32)),
        ]
        for what, c in cases:
            r = get(self.port, "/app/", c)
            check(r.status == 401, f"{what} -> 401", f"{r.status} {r.body[:100]}")
        short, ssid = self.login("carol", max_age=1000)
        check(get(self.port, "/app/", short).status == 200, "a session with maxAge=1000 -> 200 at first")
        time.sleep(1.6)
        r = get(self.port, "/app/", short)
        check(r.status == 401, "the same session after it expired -> 401", r.status)
        r = get(self.port, "/any", "sid=nothing")
        check(r.status == 401, "libsession_require session without a session -> 401", r.status)

    def test_corrupt_records(self):
        print("== corrupt records in Redis: no crash, no hang")
        # connect-redis: `null` is "not found"; a record JSON.parse or express-session
        # cannot take fails the load (next(err): 500), as on Node
        cases = [("not JSON", b"garbage{", 500), ("invalid UTF-8", b'{"user":"\xff\xfe"}', 500), ("null", b"null", 401),
                 ("an array", b"[1,2]", 500), ("a bad cookie", b'{"cookie":5,"user":"x"}', 500), ("empty", b"", 500),
                 ("deep nesting", b"[" * 100000 + b"]" * 100000, 500)]
        for what, raw, want in cases:
            sid = "corrupt" + pysecrets.token_hex(12)
            subprocess.run(["redis-cli", "-p", str(self.redis_port), "-a", REDIS_PASSWORD, "--no-auth-warning",
                            "-x", "SET", "sess:" + sid], input=raw,
                           capture_output=True, timeout=10)
            r = get(self.port, "/app/", sign(sid))
            check(r.status == want, f"a record that is {what} -> {want}", r.status)

    def test_shm(self):
        print("== shm store: sessions seen by both workers, kept across nginx -s reload")
        r = get(self.port, "/visits")
        cookie = r.cookie()
        check(r.status == 200 and r.body.startswith("views=1 ") and cookie, "first visit: views=1 and a cookie", r.body)
        pids = set()
        n = 1
        for _ in range(30):
            r = get(self.port, "/visits", cookie)
            n += 1
            m = re.match(r"views=(\d+) pid=(\d+)", r.body)
            if not check(r.status == 200 and m and int(m.group(1)) == n, f"visit {n}: views={n}", r.body):
                break
            pids.add(m.group(2))
            if len(pids) >= 2 and n >= 6:
                break
        check(len(pids) >= 2, "both workers served the same session", pids)
        r = get(self.port, "/shm-gated", cookie)
        check(r.status == 200 and r.body == f"views={n}\n", "libsession_require session on shm -> 200", r.body)
        check(get(self.port, "/shm-gated", sign("nope" + pysecrets.token_hex(8))).status == 401,
              "an unknown ID on shm -> 401")
        old_pids = pids
        out = self.nginx_signal("reload")
        check(out.returncode == 0, "nginx -s reload", out.stderr)
        deadline = time.time() + 10
        new_pid = None
        while time.time() < deadline:
            r = get(self.port, "/visits", None)
            m = re.search(r"pid=(\d+)", r.body)
            if m and m.group(1) not in old_pids:
                new_pid = m.group(1)
                break
            time.sleep(0.2)
        check(new_pid is not None, "new workers answer after the reload")
        def alive(pid):
            try:
                os.kill(int(pid), 0)
                return True
            except OSError:
                return False
        deadline = time.time() + 3
        while time.time() < deadline and any(alive(p) for p in old_pids):
            time.sleep(0.1)
        check(not any(alive(p) for p in old_pids),
              "the old workers exit at once (cancelable reaper timer, Redis connection closed)", old_pids)
        r = get(self.port, "/visits", cookie)
        check(r.status == 200 and r.body.startswith(f"views={n + 1} "), "the session survived the reload", r.body)

    def test_http2(self):
        print("== HTTP/2 (h2c): the cookie, whole or in crumbs")
        cookie, sid = self.login("h2")
        for what, args in (("one Cookie header", ["-H", f"Cookie: a=1; {cookie}; b=2"]),
                           ("cookie crumbs", ["-H", "Cookie: a=1", "-H", f"Cookie: {cookie}", "-H", "Cookie: b=2"])):
            out = subprocess.run(["curl", "-s", "-i", "--http2-prior-knowledge", *args,
                                  f"http://127.0.0.1:{self.h2_port}/app/h2"], capture_output=True, text=True).stdout
            lines = out.splitlines()
            check(bool(lines) and lines[0].startswith("HTTP/2 200") and '"x-user":"h2"' in out
                  and any(l.lower().startswith("set-cookie: " + cookie.lower()) for l in lines),
                  f"HTTP/2, {what}: 200, X-User upstream, the rolling cookie", lines[:1])
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", "--http2-prior-knowledge",
                              f"http://127.0.0.1:{self.h2_port}/app/h2"], capture_output=True, text=True)
        check(out.stdout == "2 401", "HTTP/2 without a cookie: 401", out.stdout)

    def test_shm_full(self):
        print("== shm store: a full zone drops its least recently used records")
        r = get(self.port, "/tiny-visits", headers={"X-Forwarded-Proto": "https"})
        check(r.status == 200 and "Secure" not in r.header("Set-Cookie")[0],
              "X-Forwarded-Proto from an untrusted proxy (no proxy option) is ignored", r.header("Set-Cookie"))
        first = get(self.port, "/tiny-visits").cookie()
        check(get(self.port, "/tiny-visits", first).body == "views=2\n", "a session in the 32k zone: views=2")
        statuses = set()
        for _ in range(300):
            statuses.add(get(self.port, "/tiny-visits").status)
        check(statuses == {200}, "300 new sessions in a 32k zone: all 200", statuses)
        r = get(self.port, "/tiny-visits", first)
        check(r.status == 200 and r.body == "views=1\n", "the oldest session was evicted: a fresh one (views=1)", r.body)

    def test_redis_outage(self):
        print("== Redis frozen (SIGSTOP): the configured outcome within the timeout (1s)")
        cookie, sid = self.login("dave")
        check(get(self.port, "/app/", cookie).status == 200, "before: 200")
        os.kill(self.redis.pid, signal.SIGSTOP)
        try:
            r = get(self.port, "/app/", cookie)
            check(r.status == 503 and 0.9 <= r.elapsed < 1.8, "libsession_store_error fail -> 503 after the timeout",
                  f"{r.status} in {r.elapsed:.2f}s")
            r = get(self.port, "/fresh/", cookie)
            check(r.status == 401 and 0.9 <= r.elapsed < 1.8,
                  "libsession_store_error fresh -> a fresh session (401 under require) after the timeout",
                  f"{r.status} in {r.elapsed:.2f}s")

            print("== client aborts while a Redis answer is owed")
            for _ in range(10):
                s = socket.create_connection(("127.0.0.1", self.port))
                s.sendall(f"GET /app/abort HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode())
                time.sleep(0.05)
                s.close()
            time.sleep(0.3)
            log = open(self.path("logs/error.log"), errors="replace").read()
            check(log.count('client prematurely closed connection, client: 127.0.0.1, server: , request: "GET /app/abort') >= 10,
                  "nginx saw the 10 clients go away while the Redis answer was owed")
        finally:
            os.kill(self.redis.pid, signal.SIGCONT)
        time.sleep(1.2)
        r = get(self.port, "/app/", cookie)
        check(r.status == 200, "Redis thawed: the next request -> 200", f"{r.status} {r.body[:100]}")

        print("== Redis stopped (connection refused), then back")
        self.redis_cli("SAVE")
        self.redis.terminate()
        self.redis.wait(5)
        r = get(self.port, "/app/", cookie)
        check(r.status == 503 and r.elapsed < 1.0, "Redis down: fail -> 503 at once", f"{r.status} in {r.elapsed:.2f}s")
        r = get(self.port, "/fresh/", cookie)
        check(r.status == 401 and r.elapsed < 1.0, "Redis down: fresh -> 401 under require", f"{r.status} in {r.elapsed:.2f}s")
        r = get(self.port, "/visits")
        check(r.status == 200, "shm locations do not depend on Redis", r.status)
        self.start_redis()
        r = get(self.port, "/app/", cookie)
        check(r.status == 200, "Redis back: the next request -> 200", f"{r.status} {r.body[:100]}")
        echoed = json.loads(r.body) if r.status == 200 else {"headers": {}}
        check(echoed["headers"].get("x-user") == "dave", "X-User: dave after the restart")

    def test_nginx_t(self):
        print("== nginx -t rejects bad configurations, with the file and line")
        good_opts = self.path("conf/session.json")
        good_secrets = self.path("conf/secrets")
        with open(self.path("conf/short-secret"), "w") as f:
            f.write(SECRET + "\n" + "tooshort-but-secret\n")
        with open(self.path("conf/bad.json"), "w") as f:
            f.write('{"name": "sid", "cookie": {"maxAge": }')
        with open(self.path("conf/bad-option.json"), "w") as f:
            f.write('{"cookie": {"sameSite": "sideways"}}')
        cases = [
            ("a missing secrets file", f"libsession_secrets {self.path('conf/nope')};", "conf/nope\" failed"),
            ("a secret shorter than 32 bytes", f"libsession_secrets {self.path('conf/short-secret')};",
             "the secret on line 2 of"),
            ("bad options JSON", f"libsession_options {self.path('conf/bad.json')};", "INVALID_JSON"),
            ("an unknown store URL", "libsession_store memcached://127.0.0.1:11211;", "unknown session store"),
            ("a bad shm zone", "libsession_store shm zone=x;", "invalid zone"),
            ("a bad Redis URL", "libsession_store redis://:99999/0;", "invalid Redis store URL"),
            ("an unresolvable Redis host", "libsession_store redis://no-such-host.invalid:6379/0;",
             "cannot resolve the Redis host"),
            ("an unknown Redis parameter", "libsession_store redis://127.0.0.1:6379/0 ttl=5;",
             "invalid Redis store parameter"),
        ]
        for what, directive, expect in cases:
            body = f"""
    libsession_options {good_opts};
    libsession_secrets {good_secrets};
    {directive}
    server {{ listen 127.0.0.1:{free_port()}; location / {{ libsession on; libsession_store shm zone=z:1m; }} }}
"""
            if "libsession_options" in directive:
                body = body.replace(f"libsession_options {good_opts};", "", 1)
            if "libsession_secrets" in directive:
                body = body.replace(f"libsession_secrets {good_secrets};", "", 1)
            conf = self.conf(body)
            path = self.path("conf/bad.conf")
            with open(path, "w") as f:
                f.write(conf)
            line = next(i + 1 for i, l in enumerate(conf.split("\n")) if directive in l)
            out = subprocess.run([NGINX, "-t", "-p", self.tmp, "-c", path, "-e", self.path("logs/t.log")],
                                 capture_output=True, text=True)
            msg = out.stderr
            ok = out.returncode != 0 and expect in msg and f"bad.conf:{line}" in msg and SECRET not in msg
            check(ok, f"nginx -t: {what} ({expect!r} in bad.conf:{line})", msg.strip()[-300:])
        body = f"""
    libsession_options {good_opts};
    server {{ listen 127.0.0.1:{free_port()}; location / {{ libsession on; libsession_store shm zone=z:1m; }} }}
"""
        out = subprocess.run([NGINX, "-t", "-p", self.tmp, "-c", self.write("conf/nosecret.conf", self.conf(body)),
                              "-e", self.path("logs/t.log")], capture_output=True, text=True)
        check(out.returncode != 0 and "libsession_secrets" in out.stderr, "nginx -t: libsession on without secrets",
              out.stderr.strip()[-200:])
        out = subprocess.run([NGINX, "-t", "-p", self.tmp, "-c", self.path("conf/nginx.conf"), "-e", self.path("logs/t.log")],
                             capture_output=True, text=True)
        check(out.returncode == 0, "nginx -t accepts the suite's configuration", out.stderr[-300:])

    def write(self, p, text):
        with open(self.path(p), "w") as f:
            f.write(text)
        return self.path(p)

    def test_symbols(self):
        print("== nm -D: no Rust symbol exported")
        out = subprocess.run(["nm", "-D", "--defined-only", self.module], capture_output=True, text=True).stdout
        names = [l.split()[-1] for l in out.splitlines() if l.strip()]
        print("     exported:", " ".join(names))
        rusty = [n for n in names if n.startswith("_ZN") or "rust" in n.lower() or n.startswith("libsession_")]
        check(not rusty, "no Rust symbol (_ZN*, *rust*) and no libsession_* function exported", rusty[:5])
        check(sorted(names) == ["ngx_module_names", "ngx_module_order", "ngx_modules"],
              "exactly nginx's entry points are exported (ngx_modules, ngx_module_names, ngx_module_order)", names)

    def test_error_log(self):
        print("== the error log is clean")
        text = open(self.path("logs/error.log"), errors="replace").read()
        bad = [l for l in text.splitlines()
               if re.search(r"\[(alert|crit|emerg)\]|exited on signal|core dumped|open socket", l)]
        check(not bad, "no alert, crit, emerg or crashed worker in the error log", bad[:5])
        check(SECRET not in text and OLD_SECRET not in text and REDIS_PASSWORD not in text,
              "no secret and no Redis password in the error log")

    def test_valgrind(self):
        print("== valgrind: one nginx process (master_process off), a short run")
        if not shutil.which("valgrind"):
            check(not os.environ.get("LIBSESSION_REQUIRE_ALL"), "valgrind is installed")
            return
        port = free_port()
        # one process: no reuseport (it would make a listening socket per worker)
        tls_port = free_port()
        conf = self.main_conf(port, master=False, tls_port=tls_port).replace(" reuseport", "") \
            .replace(self.path("logs/nginx.pid"), self.path("logs/vg.pid")) \
            .replace("zone=sessions:1m", "zone=vgsessions:1m").replace(self.path("logs/error.log"), self.path("logs/vg-error.log"))
        # a short maxAge: shm expiry is checked in this run; a trusted proxy
        # and secure: "auto": X-Forwarded-Proto decides the Secure attribute
        with open(self.path("conf/vg-session.json"), "w") as f:
            json.dump(dict(OPTIONS, proxy=True, cookie={"maxAge": 2500, "secure": "auto"}, header="X-Session-Id"), f)
        conf = conf.replace(self.path("conf/session.json"), self.path("conf/vg-session.json"))
        path = self.write("conf/vg.conf", conf)
        log = self.path("logs/valgrind.log")
        vg = subprocess.Popen(["valgrind", "--error-exitcode=99", "--leak-check=full", "--show-leak-kinds=definite,indirect",
                               "--errors-for-leak-kinds=none", "--num-callers=40", f"--log-file={log}",
                               NGINX, "-p", self.tmp, "-c", path, "-e", self.path("logs/vg-error.log")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            if not check(wait_port(port, 60), "nginx under valgrind listens"):
                return
            cookie, sid = self.login("vg")
            statuses = []
            statuses.append(get(port, "/app/v", cookie, timeout=30).status)
            statuses.append(get(port, "/app/v", None, timeout=30).status)
            statuses.append(get(port, "/app/v", sign("unknown1234567890"), timeout=30).status)
            r = get(port, "/visits", timeout=30)
            statuses.append(r.status)
            statuses.append(get(port, "/visits", r.cookie(), timeout=30).status)
            statuses.append(get(port, "/fresh/", cookie, timeout=30).status)
            statuses.append(get(port, "/any", cookie, timeout=30).status)
            s = socket.create_connection(("127.0.0.1", port))
            s.sendall(f"GET /app/abort HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode())
            s.close()
            statuses.append(get(port, "/app/after-abort", cookie, timeout=30).status)
            check(statuses == [200, 401, 401, 200, 200, 200, 200, 200], "requests under valgrind answered", statuses)
            print("== under valgrind: the `header` option (a client without cookies)")
            r = get(port, "/visits", timeout=30)
            value = {k.lower(): v for k, v in r.headers}.get("x-session-id")
            check(value is not None and r.cookie() == "sid=" + value,
                  "a new session: X-Session-Id carries the cookie's value", (value, r.cookie()))
            r = get(port, "/visits", headers={"X-Session-Id": value or ""}, timeout=30)
            check(r.body.startswith("views=2") and r.cookie() is not None,
                  "the header alone continues the session (rolling: the cookie and header again)", r.body)
            print("== under valgrind: a Redis timeout, and a client gone while a reply is owed")
            os.kill(self.redis.pid, signal.SIGSTOP)
            try:
                r = get(port, "/app/v", cookie, timeout=30)
                check(r.status == 503, "Redis frozen: 503 after the timeout", r.status)
                s = socket.create_connection(("127.0.0.1", port))
                s.sendall(f"GET /app/abort HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode())
                time.sleep(0.3)
                s.close()
                time.sleep(0.5)
            finally:
                os.kill(self.redis.pid, signal.SIGCONT)
            time.sleep(0.5)
            check(get(port, "/app/v", cookie, timeout=30).status == 200, "Redis thawed: 200")
            vglog = open(self.path("logs/vg-error.log"), errors="replace").read()
            check('prematurely closed connection, client: 127.0.0.1, server: , request: "GET /app/abort' in vglog,
                  "nginx saw the client go while the reply was owed")
            print("== X-Forwarded-Proto (trusted: proxy true) and secure: auto")
            r = get(port, "/visits", headers={"X-Forwarded-Proto": "https"}, timeout=30)
            sc = r.header("Set-Cookie")
            check(len(sc) == 1 and "; Secure" in sc[0], "X-Forwarded-Proto: https -> a Secure cookie", sc)
            r = get(port, "/visits", headers={"X-Forwarded-Proto": "http"}, timeout=30)
            sc = r.header("Set-Cookie")
            check(len(sc) == 1 and "Secure" not in sc[0], "X-Forwarded-Proto: http -> no Secure attribute", sc)
            print("== TLS from nginx's connection (secure: auto)")
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            c = http.client.HTTPSConnection("127.0.0.1", tls_port, timeout=30, context=ctx)
            c.request("GET", "/visits")
            resp = c.getresponse()
            resp.read()
            sc = [v for k, v in resp.getheaders() if k.lower() == "set-cookie"]
            c.close()
            check(resp.status == 200 and len(sc) == 1 and "; Secure" in sc[0], "over TLS -> a Secure cookie", sc)
            print("== shm expiry (maxAge 2.5s in this run)")
            r = get(port, "/visits", timeout=30)
            c = r.cookie()
            r2 = get(port, "/visits", c, timeout=30)
            check(r2.body.startswith("views=2 "), "a new shm session: views=2", r2.body)
            time.sleep(3)
            check(get(port, "/shm-gated", c, timeout=30).status == 401, "expired: libsession_require session -> 401")
            r3 = get(port, "/visits", c, timeout=30)
            check(r3.body.startswith("views=1 ") and r3.cookie() != c, "expired: a fresh session with a new cookie", r3.body)
        finally:
            vg.send_signal(signal.SIGQUIT)
            try:
                rc = vg.wait(60)
            except subprocess.TimeoutExpired:
                vg.kill()
                rc = vg.wait()
        text = open(log, errors="replace").read()
        m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
        check(rc == 0 and m and m.group(1) == "0", "valgrind: no memory error (invalid read/write, uninitialised use)",
              f"rc={rc} {m and m.group(0)}")
        # nginx itself leaves a few blocks at exit (ngx_set_environment, its pools);
        # a lost block allocated by the module or libsession is a leak of ours
        records = re.split(r"\n==\d+== \n", text)
        ours = [r for r in records if "are definitely lost" in r or "are indirectly lost" in r
                if "libsession" in r]
        check(not ours, "valgrind: no block lost by the module or libsession", ours[:1])
        lost = re.search(r"definitely lost: ([\d,]+) bytes", text)
        print(f"     valgrind: {m and m.group(0)}; definitely lost in all: {lost and lost.group(1)} bytes (nginx's own)")
        if rc != 0 or ours:
            print(text[-4000:])

    def run(self):
        try:
            self.start_redis()
            self.start_node()
            self.start_nginx()
            print(f"servers: nginx :{self.port} (2 workers), node :{self.node_port}, redis :{self.redis_port}, prefix {self.tmp}")
            for t in (self.test_symbols, self.test_interop, self.test_bad_cookies, self.test_corrupt_records,
                      self.test_http2,
                      self.test_shm, self.test_shm_full,
                      self.test_redis_outage,
                      self.test_nginx_t, self.test_error_log, self.test_valgrind):
                try:
                    t()
                except Exception as e:  # a crash of the test itself is a failure too
                    check(False, f"{t.__name__} ran to the end", repr(e))
        finally:
            self.stop()
        if failures:
            print(f"\n{len(failures)} check(s) failed; logs in {self.tmp}/logs")
            return 1
        shutil.rmtree(self.tmp, ignore_errors=True)
        print("\nall nginx checks passed")
        return 0


if __name__ == "__main__":
    sys.exit(Suite(os.path.abspath(sys.argv[1])).run())
