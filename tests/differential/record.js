#!/usr/bin/env node
// Records express-session conformance vectors by running the REAL middleware
// (express-session 1.19.0 under Express 4.22.3) as tests/conformance/SPEC.md
// §1-§8 describe.
//
//   node record.js IN.json OUT.json [--only NAME[,NAME...]] [--timeout MS] [--quiet]
//
// IN.json is a corpus-format file whose steps may lack `expect` (skeletons);
// OUT.json is the same file with every step's `expect` filled in from what the
// real middleware did. Scenarios whose requests time out (inputs that hang the
// middleware) are dropped from OUT.json and listed on stderr.
//
// Header values of a skeleton may contain `{{prev}}`: it is replaced by the
// `name=value` part of the last Set-Cookie the scenario received (the header
// line is left out if there was none); OUT.json holds the substituted text.
// Likewise `{{prev:C}}` (last Set-Cookie received by a step with `client` C)
// and `{{cookie:N}}` (the N-th Set-Cookie of the scenario, 0-based).
//
// `ids` of a skeleton is a pool: genid hands them out in order (and invents
// more if the pool runs dry); OUT.json keeps exactly the ids consumed.

'use strict'

// Date strings without an offset are local time: pin the zone.
process.env.TZ = 'UTC'
process.env.NO_DEPRECATION = process.env.NO_DEPRECATION || 'express-session'

const fs = require('fs')
const os = require('os')
const path = require('path')
const http = require('http')
const https = require('https')
const crypto = require('crypto')
const { execFileSync } = require('child_process')

const FakeTimers = require('@sinonjs/fake-timers')
const express = require('express')
const session = require('express-session')

const MemoryStore = session.MemoryStore

// ----- arguments ------------------------------------------------------------

function parseArgs (argv) {
  const a = { files: [], only: null, timeout: 2000, quiet: false, settle: 15 }
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]
    if (x === '--only') a.only = new Set(argv[++i].split(','))
    else if (x === '--timeout') a.timeout = Number(argv[++i])
    else if (x === '--settle') a.settle = Number(argv[++i])
    else if (x === '--quiet') a.quiet = true
    else a.files.push(x)
  }
  if (a.files.length !== 2) {
    console.error('usage: node record.js IN.json OUT.json [--only NAME,...] [--timeout MS] [--settle MS] [--quiet]')
    process.exit(2)
  }
  return a
}

// ----- versions -------------------------------------------------------------

function versionOf (name) {
  const p = require.resolve(name + '/package.json', { paths: [require.resolve('express-session')] })
  return JSON.parse(fs.readFileSync(p, 'utf8')).version
}

function producedBy () {
  return {
    'express-session': versionOf('express-session'),
    cookie: versionOf('cookie'),
    'cookie-signature': versionOf('cookie-signature'),
    'on-headers': versionOf('on-headers'),
    parseurl: versionOf('parseurl'),
    express: JSON.parse(fs.readFileSync(require.resolve('express/package.json'), 'utf8')).version,
    '@sinonjs/fake-timers': JSON.parse(fs.readFileSync(require.resolve('@sinonjs/fake-timers/package.json'), 'utf8')).version,
    node: process.versions.node
  }
}

// ----- TLS ------------------------------------------------------------------

let tlsMaterial
function getTls () {
  if (tlsMaterial !== undefined) return tlsMaterial
  try {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'es-rec-'))
    const key = path.join(dir, 'key.pem')
    const cert = path.join(dir, 'cert.pem')
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert,
      '-days', '36500', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' })
    tlsMaterial = { key: fs.readFileSync(key), cert: fs.readFileSync(cert) }
    fs.rmSync(dir, { recursive: true, force: true })
  } catch (e) {
    tlsMaterial = null
  }
  return tlsMaterial
}

// ----- helpers --------------------------------------------------------------

const clone = (v) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)))
const asJson = (v) => (v === undefined ? null : JSON.parse(JSON.stringify(v)))
const immediate = () => new Promise((resolve) => setImmediate(resolve))
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function makeId (n) {
  return crypto.createHash('sha256').update('extra-id-' + n).digest('base64url').slice(0, 32)
}

// ----- the store: real MemoryStore, calls recorded, faults injected --------

function makeStore (ctx) {
  const store = new MemoryStore()
  const orig = {
    get: store.get,
    set: store.set,
    touch: store.touch,
    destroy: store.destroy
  }
  const IDX = { get: 0, set: 1, touch: 2, destroy: 3 }

  function outcome (method) {
    const f = ctx.fault
    const n = ctx.counts[IDX[method]]++
    if (!f || f[method] === undefined || f[method] === null) return 'ok'
    const spec = f[method]
    if (typeof spec === 'string') return spec
    if (Array.isArray(spec)) return spec[n] === undefined ? 'ok' : spec[n]
    return 'ok'
  }

  function record (op, sid, sess, fault) {
    const call = { op: op, sid: sid }
    if (sess !== undefined) call.record = asJson(sess)
    if (fault !== 'ok') call.fault = fault
    if (ctx.calls) ctx.calls.push(call)
    else ctx.strayCalls.push(call)
  }

  store.get = function get (sid, cb) {
    const f = outcome('get')
    record('get', sid, undefined, f)
    if (f === 'error') return setImmediate(cb, new Error('injected store get fault'))
    if (f === 'enoent') {
      const err = new Error('injected store get ENOENT')
      err.code = 'ENOENT'
      return setImmediate(cb, err)
    }
    return orig.get.call(this, sid, cb)
  }
  store.set = function set (sid, sess, cb) {
    const f = outcome('set')
    record('set', sid, sess, f)
    if (f === 'error') return cb && setImmediate(cb, new Error('injected store set fault'))
    return orig.set.call(this, sid, sess, cb)
  }
  store.touch = function touch (sid, sess, cb) {
    const f = outcome('touch')
    record('touch', sid, sess, f)
    if (f === 'error') return cb && setImmediate(cb, new Error('injected store touch fault'))
    return orig.touch.call(this, sid, sess, cb)
  }
  store.destroy = function destroy (sid, cb) {
    const f = outcome('destroy')
    record('destroy', sid, undefined, f)
    if (f === 'error') return cb && setImmediate(cb, new Error('injected store destroy fault'))
    return orig.destroy.call(this, sid, cb)
  }
  return store
}

// ----- middleware options (SPEC §3) ----------------------------------------

function middlewareOptions (o, genid, store) {
  const cookie = {}
  for (const k of Object.keys(o.cookie || {})) {
    const v = o.cookie[k]
    if (v === null) continue // null = key absent
    cookie[k] = clone(v)
  }
  const opts = {
    name: o.name,
    secret: clone(o.secret),
    resave: o.resave,
    saveUninitialized: o.saveUninitialized,
    rolling: o.rolling,
    unset: o.unset,
    cookie: cookie,
    genid: genid,
    store: store
  }
  if (o.proxy !== null && o.proxy !== undefined) opts.proxy = o.proxy
  return opts
}

// ----- handler ops (SPEC §6.1) ---------------------------------------------

function callbackOp (fn) {
  return new Promise((resolve) => {
    try {
      fn((err) => resolve(err ? { result: 'error', error: String(err && err.message) } : { result: 'ok' }))
    } catch (e) {
      resolve({ result: 'error', error: String(e && e.message) })
    }
  })
}

function numberOrDate (v) {
  return v
}

async function runOp (req, op, ctx) {
  const name = op.op
  if (name === 'snapshot') {
    const s = req.session
    let maxAge = null
    if (s != null && s.cookie != null) {
      const m = s.cookie.maxAge
      maxAge = (m === undefined) ? null : asJson(m)
    }
    ctx.snapshots.push({
      sessionID: req.sessionID === undefined ? null : req.sessionID,
      session: s == null ? null : asJson(s),
      maxAge: maxAge
    })
    return { result: 'ok' }
  }
  if (name === 'unset') {
    req.session = null
    return { result: 'ok' }
  }
  if (req.session == null) return { result: 'no_session' }
  const sess = req.session
  try {
    switch (name) {
      case 'set': sess[op.key] = clone(op.value); break
      case 'delete': delete sess[op.key]; break
      case 'incr': sess[op.key] = (typeof sess[op.key] === 'number' ? sess[op.key] : 0) + 1; break
      case 'touch': sess.touch(); break
      case 'set_max_age': sess.cookie.maxAge = numberOrDate(op.value); break
      case 'set_expires': sess.cookie.expires = op.value === null ? null : new Date(op.value); break
      case 'set_cookie_attr': sess.cookie[op.attr] = clone(op.value); break
      case 'save': return await callbackOp((cb) => sess.save(cb))
      case 'reload': return await callbackOp((cb) => sess.reload(cb))
      case 'destroy': return await callbackOp((cb) => sess.destroy(cb))
      case 'regenerate': return await callbackOp((cb) => sess.regenerate(cb))
      default: throw new Error('unknown op ' + name)
    }
  } catch (e) {
    return { result: 'error', error: String(e && e.message) }
  }
  return { result: 'ok' }
}

// ----- one scenario ----------------------------------------------------------

const IGNORED_REQ_HEADERS = new Set(['host', 'connection', 'content-length', 'transfer-encoding'])

let currentCtx = null
process.on('uncaughtException', (e) => {
  if (currentCtx) currentCtx.crashed = String(e && e.message)
  else { console.error(e); process.exit(1) }
})

async function runScenario (sc, clock, args) {
  const pool = Array.isArray(sc.ids) ? sc.ids.slice() : []
  let used = 0
  const ctx = {
    fault: null,
    counts: [0, 0, 0, 0],
    calls: null,
    strayCalls: [],
    step: null,
    snapshots: null,
    warnings: [],
    crashed: null
  }
  currentCtx = ctx
  const genid = function () {
    if (used >= pool.length) pool.push(makeId(pool.length + ':' + sc.name))
    return pool[used++]
  }
  const store = makeStore(ctx)
  for (const sid of Object.keys(sc.store_initial || {})) {
    store.sessions[sid] = JSON.stringify(sc.store_initial[sid])
  }

  const app = express()
  app.set('trust proxy', sc.options.app_trust_proxy)
  let mw
  try {
    mw = session(middlewareOptions(sc.options, genid, store))
  } catch (e) {
    throw new Error('middleware construction failed: ' + e.message)
  }
  app.use(function (req, res, next) {
    const st = ctx.step
    if (st) {
      // verify the headers arrived unchanged (SPEC §5.1)
      const raw = []
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        if (!IGNORED_REQ_HEADERS.has(req.rawHeaders[i].toLowerCase())) raw.push([req.rawHeaders[i], req.rawHeaders[i + 1]])
      }
      if (JSON.stringify(raw) !== JSON.stringify(st.request.headers || [])) {
        ctx.changed = 'headers changed in transit: sent ' + JSON.stringify(st.request.headers) + ' got ' + JSON.stringify(raw)
      }
      if (req.url !== st.request.url) ctx.changed = 'url changed in transit: ' + JSON.stringify(req.url)
      if (!!(req.connection && req.connection.encrypted) !== !!st.request.tls) ctx.warnings.push('tls mismatch')
    }
    next()
  })
  app.use(mw)
  app.use(async function handler (req, res, next) {
    ctx.handlerRan = true
    const ops = ctx.step.handler || []
    for (const op of ops) {
      ctx.ops.push(await runOp(req, op, ctx))
    }
    try {
      res.statusCode = 200
      res.setHeader('Content-Type', 'text/plain')
      res.end('ok')
    } catch (e) {
      next(e)
    }
  })
  app.use(function errorHandler (err, req, res, next) {
    ctx.errors.push(String(err && err.message))
    if (!res.headersSent) {
      res.statusCode = 500
      res.end('error')
    }
  })

  const needTls = sc.steps.some((st) => st.request && st.request.tls)
  const servers = {}
  // Errors passed to next() after the router has run past the error handler
  // (e.g. a failed end-of-request destroy after a failed load) fall out of
  // the app: record them too (SPEC §8 `errors`: every error passed to next).
  const onRequest = (req, res) => app(req, res, function finalDone (err) {
    if (err) ctx.errors.push(String(err && err.message))
    if (!res.headersSent) {
      res.statusCode = err ? 500 : 404
      res.end()
    }
  })
  servers.http = http.createServer(onRequest)
  if (needTls) {
    const t = getTls()
    if (!t) return { skipped: 'tls requested but openssl is unavailable' }
    servers.https = https.createServer({ key: t.key, cert: t.cert }, onRequest)
  }
  for (const k of Object.keys(servers)) {
    await new Promise((resolve) => servers[k].listen(0, '127.0.0.1', resolve))
  }

  const outSteps = []
  let timedOut = null
  let lastCookie = null
  const allCookies = [] // every Set-Cookie name=value of the scenario, in order ({{cookie:N}})
  const clientCookies = {} // last Set-Cookie received per step `client` ({{prev:CLIENT}})
  try {
    for (let i = 0; i < sc.steps.length; i++) {
      const st = sc.steps[i]
      clock.setSystemTime(st.now)
      ctx.fault = st.store_fault || null
      ctx.counts = [0, 0, 0, 0]
      ctx.calls = []
      ctx.ops = []
      ctx.errors = []
      ctx.snapshots = []
      ctx.handlerRan = false
      ctx.changed = null
      const headers = []
      for (const [k, v] of (st.request.headers || [])) {
        if (typeof v === 'string' && /\{\{(prev|prev:[^}]*|cookie:\d+)\}\}/.test(v)) {
          let missing = false
          const sub = v.replace(/\{\{(prev|prev:([^}]*)|cookie:(\d+))\}\}/g, (m, all, client, idx) => {
            let c = null
            if (all === 'prev') c = lastCookie
            else if (client !== undefined) c = Object.prototype.hasOwnProperty.call(clientCookies, client) ? clientCookies[client] : null
            else c = idx < allCookies.length ? allCookies[idx] : null
            if (c === null) missing = true
            return c === null ? '' : c
          })
          if (missing) continue
          headers.push([k, sub])
        } else headers.push([k, v])
      }
      const request = Object.assign({}, st.request, { headers: headers })
      ctx.step = Object.assign({}, st, { request: request })
      const disconnected = !!(st.store_fault && st.store_fault.disconnected)
      if (disconnected) store.emit('disconnect')
      let resp
      try {
        resp = await sendRequest(servers, request, args.timeout)
      } catch (e) {
        timedOut = 'step ' + i + ': ' + e.message
        break
      }
      // let deferred next(err) calls (setImmediate) and late store callbacks land
      if (!resp.reachedApp) {
        timedOut = 'step ' + i + ': the HTTP server rejected the request (' + resp.status + ')'
        break
      }
      await Promise.race([resp.serverDone, sleep(args.timeout)])
      for (let k = 0; k < 5; k++) await immediate()
      if (args.settle) await sleep(args.settle)
      for (let k = 0; k < 5; k++) await immediate()
      if (disconnected) store.emit('connect')
      if (Date.now() !== st.now) ctx.warnings.push('clock moved during step ' + i)
      if (ctx.changed) { timedOut = 'step ' + i + ': ' + ctx.changed; break }
      const storeAfter = {}
      for (const sid of Object.keys(store.sessions)) storeAfter[sid] = JSON.parse(store.sessions[sid])
      const expect = {
        status: resp.status,
        set_cookie: resp.setCookie,
        errors: ctx.errors.slice(),
        handler_ran: ctx.handlerRan,
        store_calls: ctx.calls.slice(),
        ops: ctx.ops.slice(),
        snapshots: ctx.snapshots.slice(),
        store_after: storeAfter
      }
      if (resp.setCookie.length) lastCookie = resp.setCookie[resp.setCookie.length - 1].split(';')[0]
      for (const sc2 of resp.setCookie) allCookies.push(sc2.split(';')[0])
      if (resp.setCookie.length && st.client !== undefined) clientCookies[String(st.client)] = lastCookie
      if (ctx.crashed) { timedOut = 'step ' + i + ': uncaught exception ' + ctx.crashed; break }
      const out = {}
      for (const k of Object.keys(st)) if (k !== 'expect') out[k] = k === 'request' ? request : st[k]
      out.expect = expect
      outSteps.push(out)
      ctx.step = null
      ctx.calls = null
    }
  } finally {
    for (const k of Object.keys(servers)) {
      if (servers[k].closeAllConnections) servers[k].closeAllConnections()
      await new Promise((resolve) => servers[k].close(() => resolve()))
    }
  }
  if (timedOut) return { timedOut: timedOut }
  if (ctx.strayCalls.length) ctx.warnings.push('store calls outside a step: ' + JSON.stringify(ctx.strayCalls))
  const out = {}
  for (const k of Object.keys(sc)) {
    if (k === 'ids') out.ids = pool.slice(0, used)
    else if (k === 'steps') out.steps = outSteps
    else out[k] = sc[k]
  }
  if (!('ids' in out)) out.ids = pool.slice(0, used)
  return { scenario: out, warnings: ctx.warnings }
}

function sendRequest (servers, r, timeout) {
  return new Promise((resolve, reject) => {
    const tls = !!r.tls
    const server = tls ? servers.https : servers.http
    const mod = tls ? https : http
    // an array of headers is sent as is: Host and Connection are added here
    const flat = ['Host', '127.0.0.1:' + server.address().port]
    for (const [k, v] of r.headers || []) flat.push(k, v)
    flat.push('Connection', 'close')
    let serverDoneResolve
    const serverDone = new Promise((resolve) => { serverDoneResolve = resolve })
    let reachedApp = false
    const onReq = (req, res) => {
      reachedApp = true
      let done = false
      const fin = () => { if (!done) { done = true; serverDoneResolve() } }
      res.on('finish', fin)
      res.on('close', fin)
    }
    server.prependOnceListener('request', onReq)
    const req = mod.request({
      host: '127.0.0.1',
      port: server.address().port,
      method: r.method || 'GET',
      path: r.url,
      headers: flat,
      agent: false,
      rejectUnauthorized: false
    }, (res) => {
      const setCookie = []
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        if (res.rawHeaders[i].toLowerCase() === 'set-cookie') setCookie.push(res.rawHeaders[i + 1])
      }
      res.on('data', () => {})
      res.on('end', () => {
        clearTimeout(timer)
        server.removeListener('request', onReq)
        resolve({ status: res.statusCode, setCookie: setCookie, serverDone: serverDone, reachedApp: reachedApp })
      })
      res.on('error', (e) => { clearTimeout(timer); reject(e) })
    })
    const timer = setTimeout(() => {
      req.destroy(new Error('timeout after ' + timeout + ' ms'))
    }, timeout)
    req.on('error', (e) => { clearTimeout(timer); server.removeListener('request', onReq); reject(e) })
    req.end()
  })
}

// ----- main -----------------------------------------------------------------

async function main () {
  const args = parseArgs(process.argv.slice(2))
  const [inFile, outFile] = args.files
  const doc = JSON.parse(fs.readFileSync(inFile, 'utf8'))
  const clock = FakeTimers.install({ toFake: ['Date'], now: 0 })
  const out = {}
  for (const k of Object.keys(doc)) out[k] = doc[k]
  out.produced_by = producedBy()
  const scenarios = []
  let dropped = 0
  let n = 0
  for (const sc of doc.scenarios) {
    if (args.only && !args.only.has(sc.name)) continue
    n++
    let res
    try {
      res = await runScenario(sc, clock, args)
    } catch (e) {
      res = { error: e.stack || String(e) }
    }
    if (res.scenario) {
      scenarios.push(res.scenario)
      for (const w of res.warnings) console.error('WARN ' + sc.name + ': ' + w)
    } else {
      dropped++
      console.error('DROP ' + sc.name + ': ' + (res.timedOut || res.skipped || res.error))
    }
    if (!args.quiet && n % 50 === 0) console.error('... ' + n + ' scenarios')
  }
  out.scenarios = scenarios
  if ('count' in doc && doc.count !== null) out.count = scenarios.length
  clock.uninstall()
  fs.writeFileSync(outFile, serialize(out))
  console.error('recorded ' + scenarios.length + ' scenario(s), dropped ' + dropped + ' -> ' + outFile)
  // timed-out requests may leave sockets behind
  process.exit(0)
}

// Named files are pretty-printed; others hold one scenario per line.
function serialize (doc) {
  if (doc.kind === 'named') return JSON.stringify(doc, null, 1) + '\n'
  const head = {}
  for (const k of Object.keys(doc)) if (k !== 'scenarios') head[k] = doc[k]
  const headText = JSON.stringify(head, null, 1)
  const lines = doc.scenarios.map((s) => JSON.stringify(s))
  return headText.slice(0, -2) + ',\n "scenarios": [\n' + lines.join(',\n') + '\n ]\n}\n'
}

main().catch((e) => { console.error(e); process.exit(1) })
