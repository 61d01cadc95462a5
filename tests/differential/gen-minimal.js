#!/usr/bin/env node
// One minimal scenario per failure class found with edge-vectors.json
// (see README.md). Skeletons; record with record.js:
//
//   node gen-minimal.js minimal-skeletons.json
//   node record.js minimal-skeletons.json edge-minimal.json
'use strict'

const fs = require('fs')
const signature = require('cookie-signature')

const NOW = 1700000000000
const HOUR = 3600000
const SID = 'min-sid-000000000000000000000001'
const iso = (t) => new Date(t).toISOString()
const pair = (name, id, secret) => name + '=' + encodeURIComponent('s:' + signature.sign(id, secret || 'keyboard cat'))

function options (over) {
  const o = {
    name: 'connect.sid', secret: 'keyboard cat', resave: false, saveUninitialized: false, rolling: false, unset: 'keep',
    proxy: null, app_trust_proxy: false,
    cookie: { path: '/', domain: null, httpOnly: true, secure: false, maxAge: HOUR, sameSite: false, partitioned: false, priority: null }
  }
  for (const k of Object.keys(over || {})) {
    if (k === 'cookie') Object.assign(o.cookie, over.cookie)
    else o[k] = over[k]
  }
  return o
}
const rec = (data, cookie) => Object.assign({ cookie: Object.assign({ originalMaxAge: HOUR, expires: iso(NOW + HOUR), secure: false, httpOnly: true, path: '/', sameSite: false }, cookie || {}) }, data || {})
const step = (s) => ({ now: s.now || NOW, request: { method: 'GET', url: s.url || '/', headers: s.headers || [], tls: false }, store_fault: null, handler: s.ops || [] })

const scenarios = []
function add (name, description, sc) {
  scenarios.push({
    name: name,
    description: description,
    options: options(sc.options),
    ids: sc.ids || ['min-new-id-0000000000000000000001', 'min-new-id-0000000000000000000002'],
    store_initial: sc.store_initial || {},
    steps: sc.steps.map(step)
  })
}
const SNAP = { op: 'snapshot' }

add('min-proto-cookie-name', 'name "__proto__": cookies["__proto__"] is Object.prototype even when the header carries a __proto__ pair, so express-session throws (500).', {
  options: { name: '__proto__' },
  store_initial: { [SID]: rec({ v: 1 }) },
  steps: [{ headers: [['Cookie', pair('__proto__', SID)]], ops: [SNAP] }]
})
add('min-many-pairs', '4096 empty "a=" pairs before the session cookie: cookie.parse has no pair limit, the session loads.', {
  store_initial: { [SID]: rec({ v: 1 }) },
  steps: [{ headers: [['Cookie', 'a=;'.repeat(4096) + pair('connect.sid', SID)]], ops: [SNAP] }]
})
add('min-date-tostring-past', 'Record expires in Date#toString form, in the past: V8 parses it, MemoryStore purges the record and a new session is generated.', {
  store_initial: { [SID]: rec({ v: 1 }, { expires: new Date(NOW - 1000).toString() }) },
  steps: [{ headers: [['Cookie', pair('connect.sid', SID)]], ops: [SNAP] }]
})
add('min-date-space-future', 'Record expires "YYYY-MM-DD HH:mm:ss.sssZ" (space, not T), in the future: V8 parses it; the snapshot shows it.', {
  store_initial: { [SID]: rec({ v: 1 }, { expires: iso(NOW + 5000).replace('T', ' '), originalMaxAge: null }) },
  steps: [{ headers: [['Cookie', pair('connect.sid', SID)]], ops: [SNAP] }]
})
add('min-date-overflow-day', 'Record expires "2023-02-30" (V8: 2023-03-02, in the past): purged.', {
  store_initial: { [SID]: rec({ v: 1 }, { expires: '2023-02-30' }) },
  steps: [{ headers: [['Cookie', pair('connect.sid', SID)]], ops: [SNAP] }]
})
add('min-date-utc-negative-year', 'Record expires "Fri, 01 Jan -0001 00:00:00 GMT": V8 gives NaN (never expires), so the session loads.', {
  store_initial: { [SID]: rec({ v: 1 }, { expires: 'Fri, 01 Jan -0001 00:00:00 GMT', originalMaxAge: null }) },
  steps: [{ headers: [['Cookie', pair('connect.sid', SID)]], ops: [{ op: 'set', key: 'v', value: 2 }] }]
})
add('min-date-utc-two-digit-year', 'Record expires "Tue, 14 Nov 23 23:13:20 GMT": V8 reads year 23 as 2023 (past), purged.', {
  store_initial: { [SID]: rec({ v: 1 }, { expires: 'Tue, 14 Nov 23 23:13:20 GMT' }) },
  steps: [{ headers: [['Cookie', pair('connect.sid', SID)]], ops: [SNAP] }]
})
add('min-set-expires-string', 'set_expires with a non-ISO string: new Date("2023-11-15 23:13:20") is valid in V8.', {
  options: { saveUninitialized: true },
  steps: [{ ops: [{ op: 'set_expires', value: '2023-11-15 23:13:20' }] }]
})
add('min-nan-maxage', 'maxAge option 1e16: expires is an invalid Date; cookie.maxAge is NaN, recorded as JSON null.', {
  options: { cookie: { maxAge: 1e16 } },
  steps: [{ ops: [SNAP] }]
})
add('min-nonnumber-maxage', 'Record cookie.expires false: cookie.maxAge returns expires itself (false).', {
  store_initial: { [SID]: rec({ v: 1 }, { expires: false }) },
  steps: [{ headers: [['Cookie', pair('connect.sid', SID)]], ops: [SNAP] }]
})
add('min-cookie-key-toJSON', 'Record cookie with a "toJSON" key: the own property shadows Cookie#toJSON, so the cookie serialises as its raw own properties.', {
  store_initial: { [SID]: rec({ v: 1 }, { toJSON: 5 }) },
  steps: [{ headers: [['Cookie', pair('connect.sid', SID)]], ops: [{ op: 'save' }] }]
})
add('min-cookie-key-_expires', 'Record cookie with an "_expires" key and no "expires": it becomes the Cookie\'s expires.', {
  store_initial: { [SID]: { cookie: { originalMaxAge: HOUR, _expires: 'x', httpOnly: true, path: '/' }, v: 1 } },
  steps: [{ headers: [['Cookie', pair('connect.sid', SID)]], ops: [{ op: 'save' }] }]
})
add('min-cookie-key-proto', 'Record cookie with an own "__proto__" object: new Cookie() assigns it, replacing the prototype (no accessors, no data getter): Set-Cookie has no attributes.', {
  options: { rolling: true },
  store_initial: { [SID]: JSON.parse('{"cookie":{"originalMaxAge":3600000,"__proto__":{},"expires":"' + iso(NOW + HOUR) + '","httpOnly":true,"path":"/"},"v":1}') },
  steps: [{ headers: [['Cookie', pair('connect.sid', SID)]], ops: [] }]
})
add('min-url-hash-escape', 'URL with "#": parseurl falls back to url.parse, which percent-escapes \' in the pathname, so "/a\'b#x" does not start with cookie.path "/a\'b".', {
  options: { saveUninitialized: true, cookie: { path: "/a'b" } },
  steps: [{ url: "/a'b#x", ops: [SNAP] }]
})
add('min-url-hash-backslash', 'URL with "#": url.parse turns "\\" into "/", so "/a\\b#x" matches cookie.path "/a/b".', {
  options: { saveUninitialized: true, cookie: { path: '/a/b' } },
  steps: [{ url: '/a\\b#x', ops: [SNAP] }]
})
add('min-key-prototype-name', 'set on key "toString": an own property in JS (saved; modified session gets a cookie).', {
  store_initial: { [SID]: rec({ v: 1 }) },
  steps: [{ headers: [['Cookie', pair('connect.sid', SID)]], ops: [{ op: 'set', key: 'toString', value: 'x' }] }]
})
add('min-key-proto-primitive', 'set "__proto__" to a primitive: a silent no-op in JS (op ok, nothing modified).', {
  store_initial: { [SID]: rec({ v: 1 }) },
  steps: [{ headers: [['Cookie', pair('connect.sid', SID)]], ops: [{ op: 'set', key: '__proto__', value: 1 }] }]
})
add('min-seventeen-secrets', '17 secrets: express-session accepts any number.', {
  options: { secret: Array.from({ length: 17 }, (_, i) => 's' + i), saveUninitialized: true },
  steps: [{ ops: [] }]
})

const doc = { format: 'express-session-conformance', format_version: 1, spec: 'shared/conformance/SPEC.md', produced_by: {}, kind: 'edge', seed: null, scenarios: scenarios }
const out = process.argv[2] || 'minimal-skeletons.json'
fs.writeFileSync(out, JSON.stringify(doc, null, 1) + '\n')
console.error('wrote ' + scenarios.length + ' scenario skeletons to ' + out)
