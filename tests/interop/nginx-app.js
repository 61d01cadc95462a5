// The Node side of the nginx module's tests (scripts/test-nginx.sh) and
// benchmark (scripts/bench-nginx.sh): an express-session + connect-redis
// app that owns the logins nginx checks, and a session-free upstream that
// echoes the request headers nginx sends it.
//
// Environment: REDIS_URL, SESSION_OPTIONS (express-session options as JSON,
// without `secret` and `store`), SESSION_SECRET, PREFIX (connect-redis
// prefix, default "sess:"), PORT (0 for any free port). Prints
// "listening on <port>" once ready.
//
//   GET /login?user=NAME[&maxAge=MS][&profile=1]
//                                      the session gets `user` (a maxAge, a
//                                      `profile` object)
//   GET /logout                        destroys the session
//   GET /show                          the session's data as JSON
//   GET /auth                          200 with X-User if logged in, else 401
//                                      (for nginx's auth_request)
//   GET /echo/...                      the request headers as JSON (no session)
"use strict";

const express = require("express");
const session = require("express-session");
const { RedisStore } = require("connect-redis");
const { createClient } = require("redis");

async function main() {
  const client = createClient({ url: process.env.REDIS_URL });
  client.on("error", (err) => console.error("redis client error:", err.message));
  await client.connect();

  const options = JSON.parse(process.env.SESSION_OPTIONS || "{}");
  const store = new RedisStore({ client, prefix: process.env.PREFIX ?? "sess:" });
  const sessions = session({ ...options, secret: process.env.SESSION_SECRET, store });
  const app = express();

  app.use("/echo", (req, res) => {
    res.json({ url: req.originalUrl, headers: req.headers });
  });
  app.get("/login", sessions, (req, res) => {
    req.session.user = String(req.query.user || "alice");
    if (req.query.maxAge) req.session.cookie.maxAge = Number(req.query.maxAge);
    if (req.query.profile) req.session.profile = { level: 3, roles: ["admin"], ok: true, none: null };
    res.json({ id: req.sessionID, user: req.session.user });
  });
  app.get("/logout", sessions, (req, res, next) => {
    req.session.destroy((err) => (err ? next(err) : res.json({ ok: true })));
  });
  app.get("/show", sessions, (req, res) => {
    const { cookie, ...data } = JSON.parse(JSON.stringify(req.session));
    res.json({ id: req.sessionID, data });
  });
  app.get("/auth", sessions, (req, res) => {
    if (req.session.user) {
      res.set("X-User", req.session.user).status(200).end();
    } else {
      res.status(401).end();
    }
  });

  const server = app.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
    console.log(`listening on ${server.address().port}`);
  });
  server.keepAliveTimeout = 65000;
  const stop = () => server.close(() => client.quit().finally(() => process.exit(0)));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
