#!/usr/bin/env node
// Writes a second set of edge skeletons (corpus format, no `expect`) aimed at
// multi-step and operation-order semantics that gen-edge.js does not cover:
// sequences of save/reload/regenerate/destroy/touch/unset/... across several
// clients and steps, flag combinations, secure/proxy/TLS, secret rotation,
// store faults at given call indices, clock jumps past expiry, replayed
// cookies, cookie.path scoping and records written under other options.
//
//   node gen-edge2.js edge2-skeletons.json
//   node record.js edge2-skeletons.json edge-vectors-2.json
//
// Uses record.js's `{{prev:C}}` (last cookie of client C) and `{{cookie:N}}`
// (N-th Set-Cookie of the scenario). Deterministic.
'use strict'

const fs = require('fs')
const { NOW, HOUR, random, iso, idMaker, options, cookiePair, record, step } = require('./gen-common')

const { rnd, pick, chance, int } = random(Number(process.env.EDGE2_SEED || 0x2edcafe) >>> 0 || 1)
const idFor = idMaker('edge2:')

const scenarios = []
const names = new Set()
function add (name, description, sc) {
  if (names.has(name)) throw new Error('duplicate ' + name)
  names.add(name)
  const ids = (sc.ids || []).slice()
  for (let i = 0; i < 16; i++) ids.push(idFor(name + ':' + i))
  scenarios.push({
    name: name,
    description: description,
    options: options(sc.options),
    ids: ids,
    store_initial: sc.store_initial || {},
    steps: sc.steps.map(step)
  })
}

const SNAP = { op: 'snapshot' }
const op = (name) => ({ op: name })
const set = (k, v) => ({ op: 'set', key: k, value: v })
const del = (k) => ({ op: 'delete', key: k })
const incr = (k) => ({ op: 'incr', key: k })
const maxAge = (v) => ({ op: 'set_max_age', value: v })
const expires = (v) => ({ op: 'set_expires', value: v })
const attr = (a, v) => ({ op: 'set_cookie_attr', attr: a, value: v })
const C = (v) => ['Cookie', v]

const K1 = 'edge2-sid-0000000000000000000001'
const K2 = 'edge2-sid-0000000000000000000002'
const K3 = 'edge2-sid-0000000000000000000003'

// ----- 1. targeted order motifs, each under all 16 flag combinations ----------------

const motifs = {
  save_regen_save: [set('a', 1), op('save'), op('regenerate'), SNAP, op('save'), SNAP],
  reload_after_regen: [op('regenerate'), set('b', 2), op('reload'), SNAP],
  destroy_then_regen: [op('destroy'), op('regenerate'), SNAP, set('c', 3)],
  unset_then_save: [op('unset'), op('save'), SNAP],
  regen_twice: [op('regenerate'), op('regenerate'), incr('n'), SNAP],
  reload_after_maxage: [maxAge(5000), op('reload'), SNAP],
  touch_after_expires_null: [expires(null), op('touch'), SNAP],
  save_reload_mod: [incr('views'), op('save'), incr('views'), op('reload'), SNAP],
  destroy_save: [op('destroy'), op('save'), SNAP],
  destroy_reload: [op('destroy'), op('reload'), SNAP],
  regen_destroy: [op('regenerate'), op('destroy'), SNAP],
  regen_unset: [op('regenerate'), incr('x'), op('unset'), SNAP],
  save_save: [incr('views'), op('save'), op('save'), SNAP],
  expires_past_save_reload: [expires(NOW - 1), op('save'), op('reload'), SNAP],
  maxage_null_save: [maxAge(null), op('save'), SNAP],
  maxage_zero_touch: [maxAge(0), op('touch'), SNAP],
  del_readd: [del('views'), set('views', 1), SNAP],
  regen_save_reload: [op('regenerate'), set('k', 'v'), op('save'), op('reload'), SNAP],
  attr_then_regen: [attr('path', '/other'), attr('secure', true), op('regenerate'), SNAP],
  reload_then_attr: [op('reload'), attr('sameSite', 'strict'), attr('domain', 'example.com'), SNAP]
}
const flagCombos = []
for (const resave of [false, true]) for (const saveUninitialized of [false, true]) for (const rolling of [false, true]) for (const unset of ['keep', 'destroy']) flagCombos.push({ resave, saveUninitialized, rolling, unset })

{
  const fl = (f) => (f.resave ? 'R' : 'r') + (f.saveUninitialized ? 'S' : 's') + (f.rolling ? 'L' : 'l') + (f.unset === 'destroy' ? 'D' : 'k')
  for (const [mname, seq] of Object.entries(motifs)) {
    for (let i = 0; i < flagCombos.length; i++) {
      if (!chance(0.55)) continue // ~half of the combos per motif
      const f = flagCombos[i]
      const ma = pick([HOUR, null, 0, -1000, 5000])
      const withCookie = chance(0.7)
      add('motif-' + mname + '-' + fl(f), 'Motif ' + mname + ', flags ' + JSON.stringify(f) + ', maxAge ' + ma + ', cookie ' + withCookie + '.', {
        options: Object.assign({ cookie: { maxAge: ma } }, f),
        store_initial: { [K1]: record({ views: 1 }) },
        steps: [
          { client: 'a', headers: withCookie ? [C(cookiePair('connect.sid', K1, 'keyboard cat'))] : [], ops: seq },
          { client: 'a', now: NOW + 1000, headers: [C('{{prev:a}}')], ops: [incr('views'), SNAP] },
          { client: 'b', now: NOW + 2000, headers: [C(cookiePair('connect.sid', K1, 'keyboard cat'))], ops: [SNAP] },
          { client: 'a', now: NOW + 6001, headers: [C('{{cookie:0}}')], ops: [op('reload'), SNAP] }
        ]
      })
    }
  }
}

// ----- 2. random multi-step, multi-client scenarios -------------------------------

const SECRETS = [
  { secret: 'keyboard cat', signers: ['keyboard cat'], bad: ['old secret'] },
  { secret: ['new secret', 'old secret'], signers: ['new secret', 'old secret'], bad: ['retired'] },
  { secret: ['s3', 's2', 's1'], signers: ['s3', 's2', 's1'], bad: ['s0'] }
]

function randomRecord (now) {
  if (WILD2 && chance(0.4)) {
    return pick([
      () => record({ views: 1 }, { originalMaxAge: 1500.5, expires: iso(now + 1500) }, now),
      () => record({ views: 1 }, { originalMaxAge: HOUR, expires: null }, now),
      () => record({ views: 1 }, { originalMaxAge: -5000, expires: iso(now + HOUR) }, now),
      () => record({ views: 1 }, { originalMaxAge: BIG, expires: iso(8.64e15 - 1) }, now),
      () => record({ views: 1 }, { expires: iso(now + 1) }, now),
      () => record({ views: 1 }, { originalMaxAge: 0, expires: iso(now + 3) }, now),
      () => ({ cookie: { originalMaxAge: 2000, expires: iso(now + 2000) }, views: 9 })
    ])()
  }
  const variant = pick(['plain', 'plain', 'path_app', 'secure', 'samesite', 'domain', 'short', 'nomax', 'expired', 'origmax_null', 'auto_like', 'partitioned'])
  switch (variant) {
    case 'plain': return record({ views: int(0, 5) }, null, now)
    case 'path_app': return record({ views: 1 }, { path: '/app' }, now)
    case 'secure': return record({ views: 1 }, { secure: true, sameSite: 'none' }, now)
    case 'samesite': return record({ views: 1 }, { sameSite: 'strict', httpOnly: false }, now)
    case 'domain': return record({ views: 1 }, { domain: 'example.com', priority: 'high' }, now)
    case 'short': return record({ views: 1 }, { originalMaxAge: 5000, expires: iso(now + 5000) }, now)
    case 'nomax': return record({ views: 1 }, { originalMaxAge: null, expires: null }, now)
    case 'expired': return record({ views: 1 }, { originalMaxAge: 1000, expires: iso(now - 1) }, now)
    case 'origmax_null': return record({ views: 1 }, { originalMaxAge: null }, now)
    case 'auto_like': return record({ views: 1, u: 'x' }, { secure: false, sameSite: 'lax', originalMaxAge: 2 * HOUR, expires: iso(now + 2 * HOUR) }, now)
    case 'partitioned': return record({ views: 1 }, { partitioned: true, secure: true, priority: 'low' }, now)
  }
}

const WILD2 = !!process.env.EDGE2_WILD2
const BIG = 8.64e15 - NOW
function randomOp () {
  if (WILD2 && chance(0.3)) {
    return pick([
      maxAge(pick([1500.5, 0.4, -0.6, BIG - 5, BIG + 5, 1e15, 2.5])), expires(pick([NOW + 0.7, 8.64e15, 8.64e15 - 1, NOW - HOUR, -1])),
      attr('originalMaxAge', pick([1500.5, BIG, -BIG, 1e300, 0.1])), op('touch'), op('save'), op('reload'), op('regenerate')
    ])
  }
  return pick([
    op('save'), op('save'), op('reload'), op('reload'), op('regenerate'), op('regenerate'), op('destroy'), op('touch'), op('unset'),
    set(pick(['a', 'b', 'views']), pick([1, 'x', null, [1], { z: 1 }])), del(pick(['a', 'views'])), incr('views'), incr('views'),
    maxAge(pick([null, 0, -1, 1000, 5000, HOUR])), expires(pick([null, NOW - 1, NOW + 3000, NOW + 2 * HOUR])),
    attr(pick(['path', 'domain', 'secure', 'sameSite', 'httpOnly', 'priority', 'partitioned']), pick([null, true, false, '/app', '/', 'example.com', 'lax', 'none', 'strict', 1000, 'high'])),
    // a truthy non-number originalMaxAge makes res.end throw (request hangs): numbers only
    attr('originalMaxAge', pick([null, 0, -1000, 1000, 5000, HOUR])),
    SNAP
  ])
}

const WILD = !!process.env.EDGE2_WILD
const NRANDOM = Number(process.env.EDGE2_RANDOM || 260)
for (let i = 0; i < NRANDOM; i++) {
  const sec = pick(SECRETS)
  const path = pick(['/', '/', '/app', '/app/'])
  const tlsMode = pick(['none', 'tls', 'xfp', 'xfp_upper', 'mixed'])
  const opts = {
    secret: sec.secret,
    resave: chance(0.5),
    saveUninitialized: chance(0.5),
    rolling: chance(0.4),
    unset: chance(0.4) ? 'destroy' : 'keep',
    proxy: pick([null, true, false]),
    app_trust_proxy: chance(0.5),
    cookie: {
      path: path,
      maxAge: WILD2 && chance(0.5) ? pick([1500.5, 0.5, -0.5, BIG - 2 * HOUR, 1e15, 1]) : pick([null, 0, -1000, 1000, 5000, HOUR, HOUR]),
      secure: pick([false, false, true, 'auto']),
      sameSite: pick([false, 'auto', 'auto', 'lax', 'none']),
      partitioned: pick([null, false, true]),
      priority: pick([null, null, 'medium'])
    }
  }
  const store = {}
  if (chance(0.8)) store[K1] = randomRecord(NOW)
  if (chance(0.4)) store[K2] = randomRecord(NOW - 1000)
  const nclients = int(1, 3)
  const clients = ['a', 'b', 'c'].slice(0, nclients)
  const initial = {}
  for (const c of clients) {
    initial[c] = pick([
      null,
      cookiePair('connect.sid', K1, sec.signers[0]),
      cookiePair('connect.sid', K1, sec.signers[sec.signers.length - 1]),
      cookiePair('connect.sid', K1, sec.bad[0]),
      cookiePair('connect.sid', K2, pick(sec.signers)),
      cookiePair('connect.sid', K3, sec.signers[0])
    ])
  }
  const got = {}
  const nsteps = int(3, 8)
  const steps = []
  let t = NOW
  let ncookiesGuess = 0
  for (let s = 0; s < nsteps; s++) {
    const c = pick(clients)
    const hdrs = []
    const how = pick(['own', 'own', 'own', 'initial', 'replay', 'none'])
    let comment = how
    if (how === 'own') {
      if (got[c]) hdrs.push(C('{{prev:' + c + '}}'))
      else if (initial[c]) hdrs.push(C(initial[c]))
    } else if (how === 'initial') {
      if (initial[c]) hdrs.push(C(initial[c]))
    } else if (how === 'replay' && ncookiesGuess > 0 && chance(0.3)) {
      // two session cookies in one header: the first one wins
      hdrs.push(C('{{cookie:' + int(0, ncookiesGuess - 1) + '}}; {{prev:' + c + '}}'))
      comment = 'replay pair'
    } else if (how === 'replay' && ncookiesGuess > 0) {
      const k = int(0, ncookiesGuess - 1)
      hdrs.push(C('{{cookie:' + k + '}}'))
      comment = 'replay cookie ' + k
    }
    let tls = false
    if (tlsMode === 'tls' || (tlsMode === 'mixed' && chance(0.5))) tls = true
    if (tlsMode === 'xfp' || (tlsMode === 'mixed' && chance(0.5))) hdrs.push(['X-Forwarded-Proto', pick(['https', 'http', 'https,http', 'http, https'])])
    if (tlsMode === 'xfp_upper') hdrs.push(['X-Forwarded-Proto', pick(['HTTPS', 'Https', 'https'])])
    const url = path === '/' ? pick(['/', '/x', '/app/y']) : pick([path, path + 'x', '/app', '/app/x', '/application', '/', '/other', '/APP/x'])
    const ops = []
    const nops = int(0, Number(process.env.EDGE2_MAXOPS || 6))
    for (let k = 0; k < nops; k++) ops.push(randomOp())
    if (!ops.length || ops[ops.length - 1].op !== 'snapshot') ops.push(SNAP)
    let fault = null
    if (chance(0.25)) {
      fault = {}
      const m = pick(['get', 'set', 'touch', 'destroy', 'get', 'set'])
      const vals = m === 'get' ? ['ok', 'error', 'enoent'] : ['ok', 'error']
      const len = int(1, 3)
      const arr = []
      for (let k = 0; k < len; k++) arr.push(pick(vals))
      fault[m] = chance(0.7) ? arr : pick(vals)
      if (chance(0.2)) fault[pick(['set', 'destroy', 'touch'])] = 'error'
    } else if (chance(0.05)) fault = { disconnected: true }
    let method = 'GET'
    if (WILD) {
      method = pick(['GET', 'GET', 'POST', 'HEAD', 'OPTIONS', 'DELETE'])
      if (chance(0.2)) hdrs.push(C(pick(['other=1', 'connect.sid=', 'connect.sid=s%3Ajunk', cookiePair('connect.sid', K2, sec.signers[0]), cookiePair('sid', K1, sec.signers[0])])))
      if (chance(0.15)) hdrs.unshift(C(pick(['a=b', 'connect.sid=' + encodeURIComponent('s:' + K1), cookiePair('connect.sid', K3, sec.bad[0])])))
    }
    steps.push({ client: c, now: t, method: method, url: url, tls: tls, headers: hdrs, fault: fault, ops: ops, comment: comment })
    got[c] = true // may or may not have received a cookie; {{prev:c}} is left out if not
    ncookiesGuess++
    t += pick([0, 1, 999, 1000, 1001, 4999, 5000, 5001, HOUR, HOUR + 1, 2 * HOUR])
    if (WILD2 && chance(0.1)) t += pick([1e12, 3e12, 365 * 24 * HOUR])
  }
  if (WILD && chance(0.2)) opts.name = 'sid'
  const ids = []
  if (process.env.EDGE2_WILD3) for (let k = 0; k < 6; k++) ids.push(pick(['a;b', 'p%zz%', 'p%41', '\u00e9t\u00e9', ' sp ', 'x.y.', 'a+b/c=', K1, K2, 'dup', 'dup', '\u2028', '\ud83d\ude00']))
  add('rnd-' + i, 'Random multi-step scenario #' + i + ' (' + nclients + ' client(s)).', { options: opts, store_initial: store, steps: steps, ids: ids })
}

// ----- 3. secret rotation ------------------------------------------------------

{
  const rot = [['new', 'old'], ['new', 'mid', 'old']]
  for (const secret of rot) {
    for (const signer of secret.concat(['gone'])) {
      for (const f of [{ resave: false, rolling: false }, { resave: true, rolling: false }, { resave: false, rolling: true }]) {
        for (const mod of [false, true]) {
          add('rot-' + secret.length + '-' + signer + '-' + (f.resave ? 'R' : 'r') + (f.rolling ? 'L' : 'l') + (mod ? '-mod' : ''),
            'Cookie signed by ' + signer + ' with secrets ' + JSON.stringify(secret) + '.', {
              options: Object.assign({ secret: secret }, f),
              store_initial: { [K1]: record({ views: 1 }) },
              steps: [
                { client: 'a', headers: [C(cookiePair('connect.sid', K1, signer))], ops: mod ? [incr('views'), SNAP] : [SNAP] },
                { client: 'a', now: NOW + 10, headers: [C('{{prev:a}}')], ops: [op('regenerate'), SNAP] },
                { client: 'a', now: NOW + 20, headers: [C(cookiePair('connect.sid', K1, signer))], ops: [op('reload'), SNAP] }
              ]
            })
        }
      }
    }
  }
}

// ----- 4. clock past expiry between steps -----------------------------------------

{
  for (const ma of [1000, 5000, 0, -1]) {
    for (const f of flagCombos.filter((x, j) => j % 3 === 0)) {
      const name = 'expiry-' + ma + '-' + (f.resave ? 'R' : 'r') + (f.saveUninitialized ? 'S' : 's') + (f.rolling ? 'L' : 'l') + (f.unset === 'destroy' ? 'D' : 'k')
      add(name, 'maxAge ' + ma + ', clock jumps around expiry.', {
        options: Object.assign({ cookie: { maxAge: ma } }, f),
        steps: [
          { client: 'a', ops: [incr('views'), SNAP] },
          { client: 'a', now: NOW + Math.max(ma, 0) - 1, headers: [C('{{prev:a}}')], ops: [op('touch'), SNAP] },
          { client: 'a', now: NOW + Math.max(ma, 0) + 1, headers: [C('{{prev:a}}')], ops: [op('reload'), SNAP] },
          { client: 'a', now: NOW + 2 * Math.max(ma, 0) + 2, headers: [C('{{cookie:0}}')], ops: [incr('views'), op('save'), op('reload'), SNAP] },
          { client: 'a', now: NOW + HOUR, headers: [C('{{prev:a}}')], ops: [expires(null), op('touch'), op('save'), SNAP] }
        ]
      })
    }
  }
}

// ----- 5. store faults at call indices within multi-op steps --------------------------

{
  const seqs = [
    [op('save'), op('save'), op('reload'), SNAP],
    [op('reload'), op('reload'), SNAP],
    [op('regenerate'), op('save'), op('regenerate'), SNAP],
    [op('destroy'), op('regenerate'), op('destroy'), SNAP],
    [incr('views'), op('save'), op('reload'), incr('views'), SNAP]
  ]
  const faults = [
    { get: ['ok', 'enoent'] }, { get: ['ok', 'ok', 'enoent'] }, { get: ['ok', 'error', 'ok'] }, { set: ['error', 'ok'] }, { set: ['ok', 'error'] },
    { set: ['ok', 'ok', 'error'] }, { destroy: ['ok', 'error'] }, { destroy: ['error', 'ok'] }, { touch: ['error'] }, { get: ['ok', 'enoent'], set: ['error'] }
  ]
  let n = 0
  for (const seq of seqs) {
    for (const fault of faults) {
      const f = pick(flagCombos)
      add('fault-' + (n++), 'Fault ' + JSON.stringify(fault) + ' with ops ' + seq.map((o) => o.op).join(',') + ', flags ' + JSON.stringify(f) + '.', {
        options: f,
        store_initial: { [K1]: record({ views: 1 }) },
        steps: [
          { client: 'a', headers: [C(cookiePair('connect.sid', K1, 'keyboard cat'))], fault: fault, ops: seq },
          { client: 'a', now: NOW + 1, headers: [C('{{prev:a}}')], ops: [SNAP] },
          { client: 'b', now: NOW + 2, headers: [C(cookiePair('connect.sid', K1, 'keyboard cat'))], ops: [SNAP] }
        ]
      })
    }
  }
}

// ----- 6. cookie.path scoping, records written under other options --------------------

{
  const recs = {
    same: record({ views: 1 }, { path: '/app' }),
    root: record({ views: 1 }, { path: '/' }),
    other: record({ views: 1 }, { path: '/other', domain: 'example.org', secure: true, sameSite: 'strict', httpOnly: false }),
    long: record({ views: 1 }, { originalMaxAge: 10 * HOUR, expires: iso(NOW + 10 * HOUR) })
  }
  for (const [rn, rec] of Object.entries(recs)) {
    for (const secure of [false, true, 'auto']) {
      for (const tls of [false, true]) {
        add('path-' + rn + '-' + secure + (tls ? '-tls' : ''), 'cookie.path /app, record ' + rn + ', secure ' + secure + '.', {
          options: { rolling: true, cookie: { path: '/app', secure: secure, sameSite: 'auto' } },
          store_initial: { [K1]: rec },
          steps: [
            { client: 'a', url: '/', tls: tls, headers: [C(cookiePair('connect.sid', K1, 'keyboard cat'))], ops: [SNAP] },
            { client: 'a', url: '/app/x', tls: tls, headers: [C(cookiePair('connect.sid', K1, 'keyboard cat'))], ops: [incr('views'), SNAP] },
            { client: 'a', now: NOW + 1, url: '/application', tls: tls, headers: [C('{{prev:a}}')], ops: [op('regenerate'), SNAP] },
            { client: 'a', now: NOW + 2, url: '/app', tls: !tls, headers: [C('{{prev:a}}')], ops: [op('reload'), SNAP] }
          ]
        })
      }
    }
  }
}

// ----- write ------------------------------------------------------------------------

const out = process.argv[2] || 'edge2-skeletons.json'
const doc = { format: 'express-session-conformance', format_version: 1, spec: 'shared/conformance/SPEC.md', produced_by: {}, kind: 'edge', seed: null, scenarios: scenarios }
fs.writeFileSync(out, JSON.stringify(doc, null, 1) + '\n')
console.error('wrote ' + scenarios.length + ' scenario skeletons to ' + out)
