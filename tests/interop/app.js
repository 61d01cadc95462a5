// express 4 + express-session 1.19.0 + connect-redis 9 against one Redis: the
// Node side of libsession's live interop test (tests/redis_interop.rs, which
// runs the same routes in Rust).
//
// Environment: REDIS_URL (with REDIS_CLUSTER=1: a cluster node), SESSION_OPTIONS (express-session options as JSON,
// without `store`), PREFIX (connect-redis prefix, default "sess:"), PORT
// (0 for any free port). Prints "listening on <port>" once ready.
"use strict";

const express = require("express");
const session = require("express-session");
const { RedisStore } = require("connect-redis");
const { createClient, createCluster } = require("redis");

// The value /put stores: strings, numbers and key orders that JSON.stringify
// writes in its own way (array-index keys first, exponents, escapes).
const USER = {
  name: 'Zoë ☃ \u2028 😀 "q" </script>',
  roles: ["admin", "dev"],
  level: 3,
  ratio: 0.1,
  big: 1e21,
  tiny: 5e-7,
  neg: -2.5,
  nested: { z: 1, a: [true, null, {}], 10: "ten", 2: "two" },
};

async function main() {
  // REDIS_CLUSTER=1: REDIS_URL is one node of a Redis Cluster.
  const client = process.env.REDIS_CLUSTER
    ? createCluster({ rootNodes: [{ url: process.env.REDIS_URL }] })
    : createClient({ url: process.env.REDIS_URL });
  client.on("error", (err) => console.error("redis client error:", err.message));
  await client.connect();

  const options = JSON.parse(process.env.SESSION_OPTIONS);
  const store = new RedisStore({ client, prefix: process.env.PREFIX ?? "sess:" });
  const app = express();
  app.use(session({ ...options, store }));

  app.get("/views", (req, res) => {
    req.session.views = (req.session.views || 0) + 1;
    res.json({ id: req.sessionID, views: req.session.views });
  });
  app.get("/put", (req, res) => {
    req.session.user = USER;
    res.json({ id: req.sessionID });
  });
  // The fleet test's routes (bindings/python/tests/test_fleet.py), which
  // every demo host serves alike.
  app.get("/login", (req, res) => {
    req.session.user = String(req.query.user);
    res.json({ id: req.sessionID, user: req.session.user });
  });
  app.get("/logout", (req, res, next) => {
    req.session.destroy((err) => (err ? next(err) : res.json({ loggedOut: true })));
  });
  app.get("/show", (req, res) => {
    const { cookie, ...data } = JSON.parse(JSON.stringify(req.session));
    res.json({ id: req.sessionID, data });
  });

  const server = app.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
    console.log(`listening on ${server.address().port}`);
  });
  const stop = () => server.close(() => client.quit().finally(() => process.exit(0)));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
