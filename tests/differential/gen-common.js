// Helpers shared by the edge-scenario generators (gen-edge.js, gen-edge2.js):
// a seeded random source, corpus-format building blocks and signed cookies.
'use strict'

const crypto = require('crypto')
const signature = require('cookie-signature')

const NOW = 1700000000000
const HOUR = 3600000

// xorshift32: the same sequence for the same seed, so the generators write
// the same files every run.
function random (seed) {
  let s = seed >>> 0
  const rnd = () => {
    s ^= s << 13; s >>>= 0
    s ^= s >>> 17
    s ^= s << 5; s >>>= 0
    return s / 4294967296
  }
  return {
    rnd,
    pick: (a) => a[Math.floor(rnd() * a.length)],
    chance: (p) => rnd() < p,
    int: (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1))
  }
}

const iso = (t) => new Date(t).toISOString()

// Session ids derived from a tag, 32 base64url characters like uid-safe's.
const idMaker = (prefix) => (tag) => crypto.createHash('sha256').update(prefix + tag).digest('base64url').slice(0, 32)

// The corpus's full options object, with `over` applied (cookie merged).
function options (over) {
  const o = {
    name: 'connect.sid',
    secret: 'keyboard cat',
    resave: false,
    saveUninitialized: false,
    rolling: false,
    unset: 'keep',
    proxy: null,
    app_trust_proxy: false,
    cookie: { path: '/', domain: null, httpOnly: true, secure: false, maxAge: HOUR, sameSite: false, partitioned: false, priority: null }
  }
  for (const k of Object.keys(over || {})) {
    if (k === 'cookie') Object.assign(o.cookie, over.cookie)
    else o[k] = over[k]
  }
  return o
}

const signedValue = (id, secret) => 's:' + signature.sign(id, secret)
const cookiePair = (name, id, secret) => name + '=' + encodeURIComponent(signedValue(id, secret))

// A store record as express-session writes it, with `data` and cookie overrides.
function record (data, cookie, now) {
  now = now === undefined ? NOW : now
  const c = { originalMaxAge: HOUR, partitioned: false, expires: iso(now + HOUR), secure: false, httpOnly: true, path: '/', sameSite: false }
  if (cookie) Object.assign(c, cookie)
  return Object.assign({ cookie: c }, data || {})
}

// One corpus step from a short description.
function step (s) {
  s = s || {}
  const st = {
    now: s.now === undefined ? NOW : s.now,
    request: { method: s.method || 'GET', url: s.url || '/', headers: s.headers || [], tls: !!s.tls },
    store_fault: s.fault === undefined ? null : s.fault,
    handler: s.ops || []
  }
  if (s.client !== undefined) st.client = s.client
  if (s.comment) st.comment = s.comment
  return st
}

module.exports = { NOW, HOUR, random, iso, idMaker, options, signedValue, cookiePair, record, step }
