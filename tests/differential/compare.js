#!/usr/bin/env node
// Compares the expectations of two corpus files scenario by scenario, with the
// comparison rules of tests/conformance/SPEC.md §9 (the same ones the Rust
// runner applies).
//
//   node compare.js EXPECTED.json ACTUAL.json [--strict-messages]
'use strict'
const fs = require('fs')

const [a, b, ...rest] = process.argv.slice(2)
const strict = rest.includes('--strict-messages')
if (!a || !b) { console.error('usage: node compare.js EXPECTED.json ACTUAL.json'); process.exit(2) }
const A = JSON.parse(fs.readFileSync(a, 'utf8'))
const B = JSON.parse(fs.readFileSync(b, 'utf8'))

function jsonEq (x, y) {
  if (x === y) return true
  if (typeof x !== typeof y) return false
  if (x === null || y === null) return false
  if (Array.isArray(x) !== Array.isArray(y)) return false
  if (Array.isArray(x)) return x.length === y.length && x.every((v, i) => jsonEq(v, y[i]))
  if (typeof x === 'object') {
    const kx = Object.keys(x); const ky = Object.keys(y)
    return kx.length === ky.length && kx.every((k) => Object.prototype.hasOwnProperty.call(y, k) && jsonEq(x[k], y[k]))
  }
  return false
}
const exact = (m) => typeof m === 'string' && (m.startsWith('injected store') || m === 'failed to load session' || m === 'secret option required for sessions')
const S = (v) => JSON.stringify(v)

function cmpStep (e, o) {
  if (e.status !== o.status) return `status ${e.status} vs ${o.status}`
  if (e.handler_ran !== o.handler_ran) return `handler_ran ${e.handler_ran} vs ${o.handler_ran}`
  if (S(e.set_cookie) !== S(o.set_cookie)) return `set_cookie ${S(e.set_cookie)} vs ${S(o.set_cookie)}`
  if (e.errors.length !== o.errors.length) return `errors ${S(e.errors)} vs ${S(o.errors)}`
  for (let i = 0; i < e.errors.length; i++) {
    if ((strict || exact(e.errors[i])) && e.errors[i] !== o.errors[i]) return `errors ${S(e.errors)} vs ${S(o.errors)}`
  }
  if (e.store_calls.length !== o.store_calls.length) return `store_calls ${S(e.store_calls)} vs ${S(o.store_calls)}`
  for (let i = 0; i < e.store_calls.length; i++) {
    const x = e.store_calls[i]; const y = o.store_calls[i]
    for (const k of ['op', 'sid', 'fault']) if (x[k] !== y[k]) return `store_calls[${i}].${k} ${S(x[k])} vs ${S(y[k])}`
    if (!jsonEq(x.record === undefined ? null : x.record, y.record === undefined ? null : y.record)) return `store_calls[${i}].record ${S(x.record)} vs ${S(y.record)}`
  }
  if (e.ops.length !== o.ops.length) return `ops ${S(e.ops)} vs ${S(o.ops)}`
  for (let i = 0; i < e.ops.length; i++) {
    const x = e.ops[i]; const y = o.ops[i]
    if (x.result !== y.result) return `ops[${i}] ${S(x)} vs ${S(y)}`
    if ((strict || exact(x.error)) && x.error !== y.error) return `ops[${i}] ${S(x)} vs ${S(y)}`
  }
  if (e.snapshots.length !== o.snapshots.length) return `snapshots ${S(e.snapshots)} vs ${S(o.snapshots)}`
  for (let i = 0; i < e.snapshots.length; i++) {
    const x = e.snapshots[i]; const y = o.snapshots[i]
    if (x.sessionID !== y.sessionID || !jsonEq(x.session, y.session) || x.maxAge !== y.maxAge) return `snapshots[${i}] ${S(x)} vs ${S(y)}`
  }
  if (!jsonEq(e.store_after, o.store_after)) return `store_after ${S(e.store_after)} vs ${S(o.store_after)}`
  return null
}

const byName = new Map(B.scenarios.map((s) => [s.name, s]))
let ok = 0; let bad = 0; let missing = 0
for (const sa of A.scenarios) {
  const sb = byName.get(sa.name)
  if (!sb) { missing++; console.log(`MISSING ${sa.name}`); continue }
  let why = null
  if (S(sa.ids) !== S(sb.ids)) why = `ids ${S(sa.ids)} vs ${S(sb.ids)}`
  if (!why && sa.steps.length !== sb.steps.length) why = `step count ${sa.steps.length} vs ${sb.steps.length}`
  for (let i = 0; !why && i < sa.steps.length; i++) {
    const w = cmpStep(sa.steps[i].expect, sb.steps[i].expect)
    if (w) why = `step ${i}: ${w}`
  }
  if (why) { bad++; console.log(`DIFF ${sa.name}: ${why}`) } else ok++
}
console.log(`${ok} same, ${bad} different, ${missing} missing`)
process.exit(bad || missing ? 1 : 0)
