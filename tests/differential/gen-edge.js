#!/usr/bin/env node
// Writes edge-case scenario skeletons (corpus format, no `expect`) aimed at
// what the public corpus under-tests. Record them with record.js:
//
//   node gen-edge.js edge-skeletons.json
//   node record.js edge-skeletons.json edge-vectors.json
//
// Deterministic: the same file every run.
'use strict'

const fs = require('fs')
const { NOW, HOUR, random, iso, idMaker, options, signedValue, cookiePair, record, step } = require('./gen-common')

// ----- helpers ----------------------------------------------------------------

const { rnd, pick, chance } = random(0x5eed1)
const clone = (v) => JSON.parse(JSON.stringify(v))
const idFor = idMaker('edge:')
const firstSecret = (opts) => (Array.isArray(opts.secret) ? opts.secret[0] : opts.secret)

const scenarios = []
const names = new Set()
function add (name, description, sc) {
  if (names.has(name)) throw new Error('duplicate scenario name ' + name)
  names.add(name)
  const opts = options(sc.options)
  const pool = sc.ids || []
  const ids = pool.slice()
  for (let i = 0; i < 8; i++) ids.push(idFor(name + ':' + i))
  scenarios.push({
    name: name,
    description: description,
    options: opts,
    ids: ids,
    store_initial: sc.store_initial || {},
    steps: sc.steps.map(step)
  })
}

const SNAP = { op: 'snapshot' }
const set = (key, value) => ({ op: 'set', key: key, value: value })
const del = (key) => ({ op: 'delete', key: key })
const incr = (key) => ({ op: 'incr', key: key })
const attr = (a, value) => ({ op: 'set_cookie_attr', attr: a, value: value })
const op = (name, extra) => Object.assign({ op: name }, extra || {})

const K1 = 'edge-sid-00000000000000000000001'
const K2 = 'edge-sid-00000000000000000000002'
const cookieHeader = (v) => ['Cookie', v]
const k1Cookie = (opts) => cookieHeader(cookiePair((opts && opts.name) || 'connect.sid', K1, firstSecret(opts || options())))

// ----- 1. unusual session ids --------------------------------------------------

const oddIds = {
  plus_slash_eq: 'a+b/c=d==',
  semicolon: 'semi;colon;id',
  comma: 'com,ma,id',
  dots: 'dot.in.the.id',
  trailing_dot: 'trailing.',
  leading_dot: '.leading',
  percent_valid: 'pct%41id',
  percent_invalid: 'pct%zz%',
  percent_only: '%',
  space: 'with space',
  tab: 'tab\there',
  quote: 'quote"id',
  backslash: 'back\\slash',
  newline: 'new\nline',
  nul: 'nul\u0000byte',
  latin1: 'caf\u00e9-na\u00efve',
  cjk: '\u65e5\u672c\u8a9e\u30bb\u30c3\u30b7\u30e7\u30f3',
  emoji: '\ud83d\ude00-emoji-\ud83c\udf89',
  ls_ps: 'line\u2028para\u2029',
  empty: '',
  long: 'L'.repeat(1200),
  s_prefix: 's:inner',
  s_prefix_encoded: 's%3Ainner',
  equals_only: '=',
  unreserved: "-_.!~*'()",
  html: '<script>&amp;</script>',
  bom: '\ufeffbom'
}
for (const [tag, id] of Object.entries(oddIds)) {
  add('id-' + tag, 'Session id with unusual characters (' + JSON.stringify(id).slice(0, 40) + '): set, read back, incr, regenerate.', {
    ids: [id],
    steps: [
      { ops: [set('views', 1), SNAP] },
      { now: NOW + 1000, headers: [cookieHeader('{{prev}}')], ops: [incr('views'), SNAP] },
      { now: NOW + 2000, headers: [cookieHeader('{{prev}}')], ops: [op('regenerate'), SNAP] }
    ]
  })
  // the raw (not percent-encoded) signed value, when it can travel in a header
  const raw = signedValue(id, 'keyboard cat')
  if (/^[\x21-\x7e]*$/.test(raw) && !raw.includes(';')) {
    add('id-raw-' + tag, 'Session id ' + JSON.stringify(id).slice(0, 40) + ' in the store, cookie sent without percent-encoding.', {
      store_initial: { [id]: record({ views: 5 }) },
      steps: [{ headers: [cookieHeader('connect.sid=' + raw)], ops: [incr('views'), SNAP] }]
    })
  }
}
add('id-empty-saveuninit', 'genid returns "": the session is saved under "" and its cookie carries an empty id, which reads back as no id.', {
  options: { saveUninitialized: true, unset: 'destroy' },
  ids: ['', 'second-id'],
  steps: [
    { ops: [SNAP] },
    { now: NOW + 1, headers: [cookieHeader('{{prev}}')], ops: [SNAP, op('unset')] }
  ]
})
add('id-empty-store-has-empty', 'A record stored under "" and a cookie signing "": the empty id is never looked up.', {
  store_initial: { '': record({ views: 9 }) },
  steps: [{ headers: [cookieHeader(cookiePair('connect.sid', '', 'keyboard cat'))], ops: [SNAP] }]
})
add('id-collides-with-store', 'genid returns an id that already has a record: the new session overwrites it.', {
  ids: ['collide'],
  store_initial: { collide: record({ owner: 'someone-else' }) },
  steps: [{ ops: [set('mine', true), SNAP] }]
})
add('id-regenerate-same-id', 'regenerate() hands out the id the request already had.', {
  ids: [K1],
  store_initial: { [K1]: record({ views: 1 }) },
  steps: [{ headers: [k1Cookie()], ops: [op('regenerate'), SNAP] }]
})
add('id-regenerate-same-id-unmodified', 'regenerate() yields the same id; nothing else changes (resave false).', {
  ids: [K1, K1],
  store_initial: { [K1]: record({ views: 1 }) },
  steps: [
    { headers: [k1Cookie()], ops: [op('regenerate')] },
    { headers: [k1Cookie()], ops: [op('regenerate'), set('views', 1)] }
  ]
})
add('id-duplicate-ids-two-clients', 'genid returns the same id twice for two different cookieless clients.', {
  ids: ['dup-id', 'dup-id'],
  options: { saveUninitialized: true },
  steps: [{ ops: [set('a', 1)] }, { now: NOW + 5, ops: [set('b', 2), SNAP] }]
})

// ----- 2. cookie names -----------------------------------------------------------

const protoNames = ['toString', 'constructor', '__proto__', 'valueOf', 'hasOwnProperty', 'isPrototypeOf',
  'propertyIsEnumerable', 'toLocaleString', '__defineGetter__', '__lookupSetter__']
for (const n of protoNames) {
  add('name-proto-' + n, 'Cookie name ' + n + ' (an Object.prototype property): no header, another cookie only, then its own cookie.', {
    options: { name: n, saveUninitialized: true },
    steps: [
      { ops: [set('v', 1)] },
      { now: NOW + 1, headers: [cookieHeader('other=1')], ops: [SNAP] },
      { now: NOW + 2, headers: [cookieHeader('{{prev}}')], ops: [incr('v'), SNAP] },
      { now: NOW + 3, headers: [cookieHeader('x')], ops: [SNAP] }
    ]
  })
}
add('name-proto-__proto__-stored', 'Cookie name __proto__ with a correctly signed cookie for a stored session.', {
  options: { name: '__proto__' },
  store_initial: { [K1]: record({ v: 1 }) },
  steps: [
    { headers: [cookieHeader(cookiePair('__proto__', K1, 'keyboard cat'))], ops: [SNAP] },
    { headers: [cookieHeader('a=b; ' + cookiePair('__proto__', K1, 'keyboard cat'))], ops: [SNAP] }
  ]
})
add('name-proto-constructor-stored', 'Cookie name constructor with a correctly signed cookie for a stored session.', {
  options: { name: 'constructor' },
  store_initial: { [K1]: record({ v: 1 }) },
  steps: [{ headers: [cookieHeader(cookiePair('constructor', K1, 'keyboard cat'))], ops: [incr('v'), SNAP] }]
})
const tokenNames = ["!#$%&'*+-.^_`|~", 'a.b.c', '$Version', 'SESSION-ID', 'ses%20sion', '0', 'A', 'x'.repeat(200)]
tokenNames.forEach((n, i) => {
  add('name-token-' + i, 'Cookie name with unusual token characters ' + JSON.stringify(n).slice(0, 30) + '.', {
    options: { name: n, saveUninitialized: true },
    steps: [
      { ops: [set('v', 1)] },
      { now: NOW + 1, headers: [cookieHeader('{{prev}}')], ops: [incr('v'), SNAP] }
    ]
  })
})
const badNames = ['a b', 'na\u00efve', 'a"b', 'a,b', 'a/b', 'a:b', 'a@b', 'a[b]', 'a\\b', 'a?b', 'a{b}', 'a\tb']
badNames.forEach((n, i) => {
  const opts = options({ name: n, saveUninitialized: true })
  const id0 = idFor('name-bad-' + i + ':0')
  const readable = /^[\x20-\x7e]*$/.test(n)
  add('name-bad-' + i, 'Cookie name that is not a token ' + JSON.stringify(n) + ': Set-Cookie fails after the headers; reading still works.', {
    options: opts,
    steps: [
      { ops: [set('v', 1)] },
      ...(readable ? [{ now: NOW + 1, headers: [cookieHeader(n + '=' + encodeURIComponent(signedValue(id0, 'keyboard cat')))], ops: [incr('v'), SNAP] }] : [])
    ]
  })
})
add('name-empty-string', 'name "" falls back to connect.sid.', {
  options: { name: '', saveUninitialized: true },
  steps: [{ ops: [set('v', 1)] }, { now: NOW + 1, headers: [cookieHeader('{{prev}}')], ops: [SNAP] }]
})

// ----- 3. Cookie header shapes ------------------------------------------------------

{
  const sv = signedValue(K1, 'keyboard cat')
  const enc = encodeURIComponent(sv)
  const lower = enc.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())
  const allEsc = sv.split('').map((c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')).join('')
  const variants = {
    quoted: 'connect.sid="' + enc + '"',
    quoted_raw: 'connect.sid="' + sv + '"',
    quoted_inner_space: 'connect.sid=" ' + enc + '"',
    quoted_outer_space: 'connect.sid= "' + enc + '" ; x=1',
    quote_left_only: 'connect.sid="' + enc,
    quote_right_only: 'connect.sid=' + enc + '"',
    quoted_empty: 'connect.sid=""; connect.sid=' + enc,
    single_quote_char: 'connect.sid="',
    tabs: 'a=1;\tconnect.sid\t=\t' + enc + '\t;b=2',
    tabs_in_value: 'connect.sid=' + enc.slice(0, 10) + '\t' + enc.slice(10),
    empty_first: 'connect.sid=; connect.sid=' + enc,
    empty_then_space: 'connect.sid= ; connect.sid=' + enc,
    valid_then_empty: 'connect.sid=' + enc + '; connect.sid=',
    lower_escapes: 'connect.sid=' + lower,
    all_escaped: 'connect.sid=' + allEsc,
    invalid_escape_suffix: 'connect.sid=' + enc + '%ZZ',
    invalid_escape_raw: 'connect.sid=' + sv + '%ZZ',
    truncated_escape: 'connect.sid=' + enc + '%E2%82',
    overlong_escape: 'connect.sid=' + enc + '%C0%AE',
    surrogate_escape: 'connect.sid=' + enc + '%ED%A0%80',
    percent_at_end: 'connect.sid=' + enc + '%',
    percent_2: 'connect.sid=' + enc + '%2',
    plus_not_space: 'connect.sid=' + enc.replace(/%2B/g, '+'),
    slash_raw: 'connect.sid=' + enc.replace(/%2F/g, '/'),
    upper_s: 'connect.sid=' + enc.replace(/^s/, 'S'),
    colon_raw: 'connect.sid=s:' + enc.slice(4),
    sig_padded: 'connect.sid=' + enc + '%3D',
    sig_base64url: 'connect.sid=' + encodeURIComponent(sv.replace(/\+/g, '-').replace(/\//g, '_')),
    sig_truncated: 'connect.sid=' + enc.slice(0, -1),
    sig_extra_char: 'connect.sid=' + enc + 'A',
    double_sig: 'connect.sid=' + encodeURIComponent(sv + '.' + sv.split('.').pop()),
    value_with_eq: 'connect.sid=' + enc + '=x',
    name_space_before_eq: 'connect.sid =' + enc,
    name_case: 'Connect.sid=' + enc,
    fragments_before: 'foo; bar; connect.sid=' + enc,
    fragments_eq_later: 'foo;bar=1;connect.sid=' + enc,
    semicolon_in_quotes: 'connect.sid="' + enc.slice(0, 8) + ';' + enc.slice(8) + '"',
    leading_semicolons: ';;; connect.sid=' + enc + ';;;',
    no_space_sep: 'a=1;connect.sid=' + enc + ';b=2',
    equals_in_name_region: '=x; connect.sid=' + enc,
    only_semicolon: ';',
    only_equals: '=',
    one_char: 'c',
    double_encoded: 'connect.sid=' + encodeURIComponent(enc),
    prefix_garbage: 'xconnect.sid=' + enc,
    long_value_8k: 'connect.sid=' + enc + 'A'.repeat(8000),
    long_other_cookie: 'z=' + 'Q'.repeat(12000) + '; connect.sid=' + enc,
    many_pairs_4100: 'a=;'.repeat(4100) + 'connect.sid=' + enc,
    many_names_1000: Array.from({ length: 1000 }, (_, i) => 'c' + i + '=1').join(';') + ';connect.sid=' + enc,
    nbsp_escaped: 'connect.sid=%C2%A0' + enc
  }
  for (const [tag, header] of Object.entries(variants)) {
    add('hdr-' + tag, 'Cookie header shape: ' + tag.replace(/_/g, ' ') + '.', {
      store_initial: { [K1]: record({ views: 1 }) },
      steps: [{ headers: [cookieHeader(header)], ops: [incr('views'), SNAP] }]
    })
  }
  add('hdr-two-lines-empty-first', 'Two Cookie lines, the first empty: joined as "; <second>".', {
    store_initial: { [K1]: record({ views: 1 }) },
    steps: [{ headers: [cookieHeader(''), cookieHeader('connect.sid=' + enc)], ops: [SNAP] }]
  })
  add('hdr-two-lines-split-pair', 'Two Cookie lines splitting a quoted value across them.', {
    store_initial: { [K1]: record({ views: 1 }) },
    steps: [{ headers: [cookieHeader('connect.sid="' + enc.slice(0, 20)), cookieHeader(enc.slice(20) + '"')], ops: [SNAP] }]
  })
  add('hdr-empty-only', 'A single empty Cookie header line.', {
    options: { name: 'toString' },
    steps: [{ headers: [cookieHeader('')], ops: [SNAP] }]
  })
  add('hdr-lowercase-header-name', 'Header name spelled "cookie".', {
    store_initial: { [K1]: record({ views: 1 }) },
    steps: [{ headers: [['cookie', 'connect.sid=' + enc]], ops: [SNAP] }]
  })
}
// ids that need escaping, read back from hand-written headers
{
  const ids = { pct: '100%', pctlike: 'a%41b', multibyte: 'caf\u00e9', emoji: '\ud83d\ude00', plus: 'a+b', sp: 'a b' }
  for (const [tag, id] of Object.entries(ids)) {
    const sv = signedValue(id, 'keyboard cat')
    const forms = {
      enc: encodeURIComponent(sv),
      raw: /^[\x21-\x7e]*$/.test(sv) ? sv : null,
      lower: encodeURIComponent(sv).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
      quoted: '"' + encodeURIComponent(sv) + '"'
    }
    for (const [f, v] of Object.entries(forms)) {
      if (v === null) continue
      add('hdr-id-' + tag + '-' + f, 'Stored session with id ' + JSON.stringify(id) + ', cookie written as ' + f + '.', {
        store_initial: { [id]: record({ views: 3 }) },
        steps: [{ headers: [cookieHeader('connect.sid=' + v)], ops: [incr('views'), SNAP] }]
      })
    }
  }
}

// ----- 4. store records of unusual shapes -------------------------------------------

function loadScenario (name, description, rec, extra) {
  extra = extra || {}
  const opts = extra.options || {}
  add(name, description, {
    options: opts,
    store_initial: { [K1]: rec },
    steps: [
      { headers: [k1Cookie(options(opts))], ops: extra.ops || [SNAP] },
      ...(extra.second ? [{ now: NOW + 1000, headers: [k1Cookie(options(opts))], ops: extra.second }] : [])
    ]
  })
}
const cookieShapes = {
  none: undefined,
  null: null,
  false: false,
  zero: 0,
  empty_string: '',
  string: 'str',
  true: true,
  number: 42,
  empty_array: [],
  array: [1, 2],
  array_of_objects: [{ expires: iso(NOW - 1000) }],
  empty_object: {},
  nested_object: { cookie: { expires: iso(NOW - 1) } }
}
for (const [tag, c] of Object.entries(cookieShapes)) {
  const rec = { views: 1 }
  if (c !== undefined) rec.cookie = c
  for (const resave of [false, true]) {
    loadScenario('rec-cookie-' + tag + (resave ? '-resave' : ''), 'Record whose cookie is ' + JSON.stringify(c) + '.', rec,
      { options: { resave: resave, unset: resave ? 'destroy' : 'keep' }, ops: [SNAP, incr('views')], second: [SNAP] })
  }
}
const recordShapes = { null: null, empty_array: [], array: [1], zero: 0, one: 1, empty_string: '', string: 'str', true: true, false: false, empty_object: {} }
for (const [tag, r] of Object.entries(recordShapes)) {
  loadScenario('rec-whole-' + tag, 'The whole stored record is ' + JSON.stringify(r) + '.', r, { options: { unset: 'destroy' } })
}
// expires in many shapes, in the past and in the future
{
  const past = NOW - 86400000
  const future = NOW + 86400000
  const d = (t) => new Date(t)
  const fmts = {
    iso: (t) => iso(t),
    iso_no_ms: (t) => iso(t).replace('.000Z', 'Z'),
    iso_no_z: (t) => iso(t).replace('Z', ''),
    iso_space: (t) => iso(t).replace('T', ' '),
    iso_lower: (t) => iso(t).toLowerCase(),
    iso_offset: (t) => iso(t).replace('Z', '+00:00'),
    iso_offset_nocolon: (t) => iso(t).replace('Z', '+0000'),
    iso_micro: (t) => iso(t).replace('Z', '123Z'),
    iso_minutes: (t) => iso(t).slice(0, 16) + 'Z',
    date_only: (t) => iso(t).slice(0, 10),
    year_month: (t) => iso(t).slice(0, 7),
    year_only: (t) => iso(t).slice(0, 4),
    extended_year: (t) => '+00' + iso(t),
    utc_string: (t) => d(t).toUTCString(),
    utc_string_lower: (t) => d(t).toUTCString().toLowerCase(),
    utc_string_utc: (t) => d(t).toUTCString().replace('GMT', 'UTC'),
    utc_string_offset: (t) => d(t).toUTCString().replace('GMT', '+0000'),
    utc_string_no_weekday: (t) => d(t).toUTCString().slice(5),
    utc_string_wrong_weekday: (t) => 'Xyz' + d(t).toUTCString().slice(3),
    to_string: (t) => d(t).toString(),
    to_date_string: (t) => d(t).toDateString(),
    slashes: (t) => iso(t).slice(0, 10).replace(/-/g, '/'),
    us_date: (t) => { const x = d(t); return (x.getUTCMonth() + 1) + '/' + x.getUTCDate() + '/' + x.getUTCFullYear() },
    month_name: (t) => d(t).toUTCString().slice(8, 16) + ' ' + d(t).getUTCDate() + ' ' + d(t).getUTCFullYear(),
    rfc850: (t) => { const s = d(t).toUTCString(); return 'Tuesday, ' + s.slice(5, 7) + '-' + s.slice(8, 11) + '-' + s.slice(14, 16) + ' ' + s.slice(17) },
    epoch_ms_string: (t) => String(t),
    padded: (t) => ' ' + iso(t) + ' '
  }
  for (const [tag, f] of Object.entries(fmts)) {
    for (const [when, t] of [['past', past], ['future', future]]) {
      loadScenario('rec-expires-' + tag + '-' + when, 'Record cookie.expires written as ' + JSON.stringify(f(t)) + ' (' + when + ').',
        record({ views: 1 }, { expires: f(t), originalMaxAge: null }), { ops: [SNAP] })
    }
  }
  const odd = {
    feb30: '2023-02-30', apr31: '2023-04-31T10:00:00Z', hour24: '2023-11-14T24:00:00Z', zero_string: '0', one_string: '1',
    year_2000_text: '2000', invalid: 'not a date', empty: '', neg_year: '-000001-01-01T00:00:00.000Z', neg_zero_year: '-000000-01-01T00:00:00.000Z',
    max: '+275760-09-13T00:00:00.000Z', over_max: '+275760-09-13T00:00:00.001Z', six_digit_no_sign: '275760-09-13',
    utc_neg_year: 'Fri, 01 Jan -0001 00:00:00 GMT', offset_hour_only: '2023-11-14T23:13:20.000+01',
    far_future_utc: 'Sat, 13 Sep 275760 00:00:00 GMT', leap_sec: '2023-11-14T23:59:60Z', day_zero: '2023-11-00'
  }
  for (const [tag, s] of Object.entries(odd)) {
    loadScenario('rec-expires-odd-' + tag, 'Record cookie.expires = ' + JSON.stringify(s) + '.',
      record({ views: 1 }, { expires: s, originalMaxAge: null }), { ops: [SNAP] })
  }
  const nonString = { number_future: future, number_past: past, number_frac: NOW + 0.5, number_now: NOW, true: true, false: false, zero: 0, one: 1,
    null: null, empty_array: [], array_past: [past], array_future: [future], object: { t: 1 }, huge: 1e300, negative: -1 }
  for (const [tag, v] of Object.entries(nonString)) {
    loadScenario('rec-expires-' + tag, 'Record cookie.expires = ' + JSON.stringify(v) + ' (not a string).',
      record({ views: 1 }, { expires: v }), { ops: [SNAP], second: [SNAP] })
  }
  const missingExpires = record({ views: 1 })
  delete missingExpires.cookie.expires
  loadScenario('rec-expires-missing', 'Record cookie without an expires key.', missingExpires, { ops: [SNAP, set('x', 1)], second: [SNAP] })
}
// originalMaxAge shapes
{
  const omas = { missing: undefined, null: null, zero: 0, negative: -5000, fraction: 1500.5, tiny: 0.4, string_fixed_later: '1000', huge: 1e300,
    false: false, empty_string: '', neg_zero: -0, max_safe: 9007199254740991 }
  for (const [tag, v] of Object.entries(omas)) {
    const rec = record({ views: 1 })
    if (v === undefined) delete rec.cookie.originalMaxAge
    else rec.cookie.originalMaxAge = v
    const ops = tag === 'string_fixed_later' ? [SNAP, op('touch'), attr('originalMaxAge', 2000), SNAP] : [SNAP, op('touch'), SNAP]
    loadScenario('rec-oma-' + tag, 'Record cookie.originalMaxAge = ' + JSON.stringify(v) + '.', rec, { ops: ops, second: [SNAP] })
    loadScenario('rec-oma-' + tag + '-rolling', 'Record cookie.originalMaxAge = ' + JSON.stringify(v) + ', rolling.', clone(rec),
      { options: { rolling: true }, ops: tag === 'string_fixed_later' ? [attr('originalMaxAge', 2000)] : [SNAP] })
  }
  const rec = record({ views: 1 }, { expires: iso(NOW + 5000) })
  delete rec.cookie.originalMaxAge
  loadScenario('rec-oma-missing-expires-set', 'originalMaxAge missing, expires set: touch() assigns maxAge = undefined.', rec,
    { options: { rolling: true }, ops: [SNAP, set('k', 1)], second: [SNAP] })
}
// extra and special cookie keys
{
  const extras = {
    foo: { foo: 'bar' },
    _expires: { _expires: iso(NOW - 1000) },
    _expires_only: { _expires: 'x', expires: undefined },
    data: { data: { a: 1 } },
    maxAge_number: { maxAge: 5000 },
    maxAge_number_first: '__first__maxAge',
    maxAge_null: { maxAge: null },
    maxAge_false: { maxAge: false },
    maxAge_string: { maxAge: 'abc' },
    maxAge_zero: { maxAge: 0 },
    maxAge_negative: { maxAge: -1000 },
    toJSON: { toJSON: 5 },
    serialize: { serialize: 'x' },
    proto_object: '__proto__object',
    proto_number: '__proto__number',
    constructor: { constructor: 'c' },
    secure_string: { secure: 'yes' },
    path_number: { path: 7 },
    path_empty: { path: '' },
    domain_invalid: { domain: 'bad domain' },
    sameSite_invalid: { sameSite: 'sideways' },
    priority_invalid: { priority: 'urgent' },
    httpOnly_missing: '__delete__httpOnly',
    path_missing: '__delete__path',
    all_missing: '__only__expires'
  }
  for (const [tag, e] of Object.entries(extras)) {
    let rec = record({ views: 1 })
    if (typeof e === 'string') {
      if (e === '__first__maxAge') {
        rec = { cookie: Object.assign({ maxAge: 5000 }, rec.cookie), views: 1 }
      } else if (e.startsWith('__proto__')) {
        // built as text so that __proto__ is an own key once parsed
        rec = JSON.parse('{"cookie":{"originalMaxAge":3600000,"__proto__":' + (e === '__proto__object' ? '{"path":"/proto"}' : '5') +
          ',"expires":"' + iso(NOW + HOUR) + '","httpOnly":true,"path":"/"},"views":1}')
      } else if (e.startsWith('__delete__')) {
        delete rec.cookie[e.slice(10)]
      } else if (e === '__only__expires') {
        rec = { cookie: { expires: iso(NOW + HOUR) }, views: 1 }
      }
    } else {
      Object.assign(rec.cookie, e)
      for (const k of Object.keys(e)) if (e[k] === undefined) delete rec.cookie[k]
    }
    loadScenario('rec-cookie-key-' + tag, 'Record cookie with extra/special key(s) ' + tag + '.', rec,
      { options: { rolling: true }, ops: [SNAP, set('k', 1)], second: [SNAP] })
  }
}
// top-level keys
{
  const recText = (body) => JSON.parse(body)
  const c = JSON.stringify(record().cookie)
  const tops = {
    id_key: '{"cookie":' + c + ',"id":"forged","views":1}',
    req_key: '{"cookie":' + c + ',"req":{},"views":1}',
    constructor_key: '{"cookie":' + c + ',"constructor":"x","views":1}',
    proto_key_object: '{"cookie":' + c + ',"__proto__":{"polluted":true},"views":1}',
    proto_key_null: '{"__proto__":null,"cookie":' + c + ',"views":1}',
    tostring_key: '{"views":1,"toString":"x","cookie":' + c + '}',
    save_key: '{"save":1,"cookie":' + c + '}',
    touch_key: '{"cookie":' + c + ',"touch":"now"}',
    cookie_last: '{"views":1,"a":2,"cookie":' + c + '}',
    cookie_middle: '{"a":1,"cookie":' + c + ',"b":2}',
    int_keys: '{"b":1,"1":"one","cookie":' + c + ',"0":"zero","10":"ten","a":2}',
    int_big_keys: '{"4294967294":1,"4294967295":2,"cookie":' + c + ',"01":3,"-1":4}',
    empty_key: '{"":"empty","cookie":' + c + '}',
    unicode_keys: '{"cookie":' + c + ',"\u00e9t\u00e9":1,"\ud83d\ude00":"\u65e5\u672c","\u2028":"ls"}',
    numbers: '{"cookie":' + c + ',"a":1.0,"b":1e21,"c":-0,"d":0.1,"e":12345678901234567890,"f":5e-324,"g":1.7976931348623157e308,"h":1e-7,"i":123456789012345680000}',
    strings: '{"cookie":' + c + ',"s":"quote \\" back \\\\ nl \\n tab \\t ctl \\u0001 del \\u007f nbsp \\u00a0 ls \\u2028"}',
    lone_surrogate: '{"cookie":' + c + ',"s":"\\ud800","t":"\\udc00x"}',
    nested: '{"cookie":' + c + ',"o":{"cookie":{"expires":"2000-01-01T00:00:00.000Z"},"__proto__":{"x":1},"a":[1,{"b":[null,true]}]}}',
    deep_300: '{"cookie":' + c + ',"deep":' + '['.repeat(300) + ']'.repeat(300) + '}',
    big_array: '{"cookie":' + c + ',"arr":[' + Array.from({ length: 2000 }, (_, i) => i).join(',') + ']}',
    many_keys: '{"cookie":' + c + ',' + Array.from({ length: 500 }, (_, i) => '"k' + i + '":' + i).join(',') + '}'
  }
  for (const [tag, body] of Object.entries(tops)) {
    for (const resave of [false, true]) {
      loadScenario('rec-top-' + tag + (resave ? '-resave' : ''), 'Record with top-level keys: ' + tag.replace(/_/g, ' ') + '.', recText(body),
        { options: { resave: resave }, ops: [SNAP], second: [SNAP] })
    }
  }
  loadScenario('rec-int-keys-readd', 'Delete and re-add an integer-like key with the same value (keeps its position).', recText(tops.int_keys),
    { ops: [del('1'), set('1', 'one'), SNAP] })
  loadScenario('rec-str-key-readd', 'Delete and re-add a string key with the same value (moves to the end).', recText(tops.int_keys),
    { ops: [del('b'), set('b', 1), SNAP] })
  loadScenario('rec-int-keys-add-remove', 'Add then remove an integer key.', recText(tops.int_keys),
    { ops: [set('5', 'five'), SNAP, del('5'), SNAP] })
  loadScenario('rec-number-reassign', 'Re-assign numbers that print the same (1.0 -> 1, -0 -> 0).', recText(tops.numbers),
    { ops: [set('a', 1), set('c', 0), set('b', 1e21), SNAP] })
  loadScenario('rec-set-back-original', 'Modify then restore the original value: not modified.', record({ views: 1, list: [1, 2] }),
    { ops: [set('views', 2), set('views', 1), set('list', [1, 2]), SNAP] })
  loadScenario('rec-reorder-object', 'Re-assign an object value with its keys in another order.', record({ o: { a: 1, b: 2 } }),
    { ops: [set('o', { b: 2, a: 1 }), SNAP] })
}

// ----- 5. set_cookie_attr with odd values -----------------------------------------

{
  const values = {
    domain: [123, 1.5, true, ['example.com'], ['a', 'b'], {}, '', 'EXAMPLE.COM', 'exa mple.com', 'a..b', '-a.com', 'a-.com',
      'x'.repeat(63) + '.com', 'x'.repeat(64) + '.com', '.', '..a', 'a.', 'caf\u00e9.com', 'localhost', '1.2.3.4', null, false, 0, '.x', 'a_b.com', 1e21],
    path: ['', '/a;b', '/a b', '/caf\u00e9', 5, [], ['/a', '/b'], {}, null, false, 'relative', '/\u007f', '/<x>', '/a=b', 0, true],
    sameSite: ['Lax', 'STRICT', 'None', 'auto', 'AUTO', 'x', 1, 0, '', null, [], {}, ['lax'], 'l\u0130x', 'LAX'],
    priority: ['LOW', 'Medium', 'HIGH', 'x', 1, true, ['high'], null, '', 0, {}],
    httpOnly: ['', 0, 1, 'false', [], null],
    secure: ['auto', 1, '', null, 'false', 0],
    partitioned: ['', 1, 'no', null, [], 0],
    originalMaxAge: [0, -1000, 1.5, 1e300, null, false, '', -0.5, 8.64e15, 1e16]
  }
  for (const [a, vs] of Object.entries(values)) {
    vs.forEach((v, i) => {
      add('attr-' + a + '-' + i, 'set_cookie_attr ' + a + ' = ' + JSON.stringify(v).slice(0, 40) + ' on a new session.', {
        options: { saveUninitialized: true },
        steps: [
          { ops: [attr(a, v), SNAP] },
          { now: NOW + 1000, headers: [cookieHeader('{{prev}}')], ops: [SNAP] }
        ]
      })
    })
  }
  // on loaded sessions, with rolling, and attribute changes with data changes
  const loadedVals = [['domain', '.Example.ORG'], ['path', '/x'], ['sameSite', 'none'], ['secure', true], ['priority', 'Low'], ['partitioned', 'yes'], ['httpOnly', 0], ['originalMaxAge', 0], ['originalMaxAge', -1]]
  loadedVals.forEach(([a, v], i) => {
    for (const rolling of [false, true]) {
      loadScenario('attr-loaded-' + a + '-' + i + (rolling ? '-rolling' : ''), 'set_cookie_attr ' + a + ' on a loaded session' + (rolling ? ' (rolling)' : '') + '.',
        record({ views: 1 }), { options: { rolling: rolling }, ops: [attr(a, v), SNAP], second: [SNAP] })
    }
  })
}

// ----- 6. maxAge option, set_max_age, set_expires ------------------------------------

{
  const maxAges = [0, -1, -1000, 0.5, 1500.5, 999.9, 1e16, -1e16, 8.64e15, 8.64e15 - NOW, 8.64e15 - NOW + 1, 1e15, 9007199254740991, 1e-9, -0.5]
  maxAges.forEach((m, i) => {
    add('maxage-opt-' + i, 'cookie.maxAge option = ' + m + '.', {
      options: { saveUninitialized: true, cookie: { maxAge: m } },
      steps: [
        { ops: [SNAP] },
        { now: NOW, headers: [cookieHeader('{{prev}}')], ops: [SNAP] },
        { now: NOW + 1, headers: [cookieHeader('{{prev}}')], ops: [set('x', 1), SNAP] }
      ]
    })
  })
  const sma = [0, -1, 0.4, 0.6, -0.5, 1e16, -1e16, 8.64e15 - NOW, 8.64e15 - NOW + 1, 1e300, 9007199254740991, null, 1e-300]
  sma.forEach((m, i) => {
    loadScenario('set-max-age-' + i, 'set_max_age ' + m + ' on a loaded session, then data change.', record({ views: 1 }),
      { ops: [{ op: 'set_max_age', value: m }, SNAP, incr('views')], second: [SNAP] })
  })
  const sex = [8.64e15, 8.64e15 + 1, -8.64e15, -8.64e15 - 1, 2.5e14, 1e15, 0, -1, NOW + 0.7, NOW - 0.7, NOW - 1, NOW, NOW + 1, -62198755200000, -62198755200001, -1e14, 253402300800000, 253402300799999,
    '2030-01-01T00:00:00.000Z', '+275760-09-13T00:00:00.000Z', 'Tue, 14 Nov 2023 23:13:20 GMT', '2023-11-15 23:13:20', '0', 'invalid', '2023-02-30', 'Nov 15 2023']
  sex.forEach((t, i) => {
    add('set-expires-' + i, 'set_expires ' + JSON.stringify(t) + ' on a new session, read back later.', {
      options: { saveUninitialized: true },
      steps: [
        { ops: [{ op: 'set_expires', value: t }, SNAP] },
        { now: NOW + 1000, headers: [cookieHeader('{{prev}}')], ops: [SNAP, set('y', 2)] }
      ]
    })
  })
}

// ----- 7. secrets ---------------------------------------------------------------

{
  const secretCases = {
    empty_in_array: [''],
    empty_first: ['', 'keyboard cat'],
    empty_last: ['keyboard cat', ''],
    empty_string: '',
    unicode: '\u043a\u043b\u044e\u0447-\ud83d\udd11',
    long: 'S'.repeat(200),
    nul: 'a\u0000b',
    sixteen: Array.from({ length: 16 }, (_, i) => 'secret-' + i),
    seventeen: Array.from({ length: 17 }, (_, i) => 'secret-' + i),
    forty: Array.from({ length: 40 }, (_, i) => 'secret-' + i),
    duplicates: ['dup', 'dup', 'keyboard cat'],
    space: ' '
  }
  for (const [tag, secret] of Object.entries(secretCases)) {
    const list = Array.isArray(secret) ? secret : [secret]
    const last = list[list.length - 1]
    add('secret-' + tag, 'secret option ' + JSON.stringify(secret).slice(0, 40) + ': new cookie, read back, and a cookie signed with the last secret.', {
      options: { secret: secret, saveUninitialized: true },
      store_initial: { [K1]: record({ views: 1 }) },
      steps: [
        { ops: [SNAP] },
        { now: NOW + 1, headers: [cookieHeader('{{prev}}')], ops: [SNAP] },
        { now: NOW + 2, headers: [cookieHeader(cookiePair('connect.sid', K1, last))], ops: [incr('views'), SNAP] },
        { now: NOW + 3, url: '/other', options: null, headers: [cookieHeader(cookiePair('connect.sid', K1, 'wrong'))], ops: [SNAP] }
      ]
    })
  }
  add('secret-empty-path-mismatch', 'secret "" and a request outside cookie.path: no error (the path check comes first).', {
    options: { secret: '', cookie: { path: '/app' } },
    steps: [{ url: '/', ops: [SNAP] }, { url: '/app', ops: [SNAP] }]
  })
  add('secret-empty-disconnected', 'secret "" while the store is disconnected: no error.', {
    options: { secret: '' },
    steps: [{ fault: { disconnected: true }, ops: [SNAP] }]
  })
  add('secret-empty-unset-destroy', 'secret "" with unset destroy and a cookie.', {
    options: { secret: '', unset: 'destroy' },
    steps: [{ headers: [cookieHeader('connect.sid=s%3Aabc.def')], ops: [op('unset')] }]
  })
}

// ----- 8. X-Forwarded-Proto / TLS ---------------------------------------------------

{
  const xfps = [['HTTPS'], ['https ,http'], ['Https'], ['https,http'], ['http,https'], [''], ['https;'], ['wss'], ['https', 'http'], ['', 'https'], ['http', 'https'], [', https'], ['https\t,x'], ['x,\thttps'], ['"https"'], ['HTTPS, http'], ['ht tps'], [',https'], ['https', ''], ['', '']]
  const proxies = [true, false, null]
  for (const x of xfps) {
    for (const proxy of proxies) {
      for (const trust of (proxy === null ? [true, false] : [true])) {
        const tag = x.map((s) => s.replace(/[^a-zA-Z]/g, (c) => ({ ' ': '_', ',': 'C', ';': 'S', '\t': 'T', '"': 'Q' })[c] || 'X')).join('+') || 'none'
        add('xfp-' + tag + '-proxy-' + proxy + '-trust-' + trust, 'X-Forwarded-Proto ' + JSON.stringify(x) + ' with proxy ' + proxy + ', trust proxy ' + trust + '.', {
          options: { proxy: proxy, app_trust_proxy: trust, saveUninitialized: true, cookie: { secure: 'auto', sameSite: 'auto' } },
          steps: [{ headers: x.map((v) => ['X-Forwarded-Proto', v]), ops: [SNAP] }]
        })
      }
    }
  }
  add('xfp-secure-true-loaded-rolling', 'cookie.secure true on a loaded session, rolling, over proxies with odd X-Forwarded-Proto.', {
    options: { proxy: true, rolling: true },
    store_initial: { [K1]: record({ v: 1 }, { secure: true }) },
    steps: [
      { headers: [k1Cookie(), ['X-Forwarded-Proto', 'HTTPS , http']], ops: [SNAP] },
      { headers: [k1Cookie(), ['X-Forwarded-Proto', 'http,https']], ops: [SNAP] },
      { tls: true, headers: [k1Cookie(), ['X-Forwarded-Proto', 'http']], ops: [SNAP] }
    ]
  })
  add('tls-secure-auto-then-attr', 'TLS request, secure auto, then secure set to "auto" string by the handler and read over http.', {
    options: { saveUninitialized: true, cookie: { secure: 'auto', sameSite: 'auto' } },
    steps: [
      { tls: true, ops: [attr('secure', 'auto'), SNAP] },
      { headers: [cookieHeader('{{prev}}')], ops: [SNAP] }
    ]
  })
  add('secure-option-AUTO', 'cookie.secure "AUTO" (truthy, not "auto") and sameSite "AUTO".', {
    options: { saveUninitialized: true, cookie: { secure: 'AUTO', sameSite: 'AUTO' } },
    steps: [{ ops: [SNAP] }, { tls: true, ops: [SNAP] }]
  })
}

// ----- 9. URLs and cookie.path -------------------------------------------------------

{
  const cases = [
    ['/app', '/app#frag'], ['/app', '/app?x=1#frag'], ['/app', '/ap#p'], ['/app', '/app%2Fx'], ['/app', '/APP#x'],
    ['/a/b', '/a\\b#x'], ['/a/b', '/a\\b'], ["/a'b", "/a'b#x"], ["/a'b", "/a'b"], ['/a|b', '/a|b/c#d'], ['/a"b', '/a"b#'],
    ['/a{b}', '/a{b}#'], ['/a^b', '/a^b#x'], ['/a`b', '/a`b#x'], ['/a<b>', '/a<b>#x'], ['//', '/\\x#y'],
    ['/app', 'http://example.com/app/x'], ['/app', 'HTTP://EXAMPLE.COM/app'], ['/', 'http://example.com'], ['/', 'http://example.com?x=1'],
    ['/app', 'http://example.com/app#x'], ['/x', 'http://h/x\\y#z'], ['/', '*'], ['/app', '/app?#'], ['/app', '/?/app'],
    ['/app/', '/app'], ['/app/', '/app/'], ['/', '//double'], ['//double', '//double/x'], ['/a%20b', '/a%20b/c'], ['/a b', '/a%20b'],
    ['/app', '/app?x=/#y'], ['/caf\u00e9', '/caf%C3%A9'], ['/x', '/x#'], ['/#', '/#'], ['/?', '/?']
  ]
  cases.forEach(([p, url], i) => {
    add('url-' + i, 'cookie.path ' + JSON.stringify(p) + ', request ' + JSON.stringify(url) + '.', {
      options: { saveUninitialized: true, cookie: { path: p } },
      steps: [{ url: url, ops: [SNAP] }]
    })
  })
  add('url-method-post-head', 'POST and HEAD requests with a query and fragment.', {
    options: { saveUninitialized: true, cookie: { path: '/app' } },
    steps: [{ method: 'POST', url: '/app?x#y', ops: [SNAP] }, { method: 'HEAD', url: '/app#y', headers: [cookieHeader('{{prev}}')], ops: [SNAP] }]
  })
}

// ----- 10. keys that are Object.prototype / Session properties ----------------------

{
  const keys = ['constructor', 'toString', 'valueOf', 'hasOwnProperty', '__proto__', 'isPrototypeOf', '__defineGetter__', 'toLocaleString']
  keys.forEach((k) => {
    add('key-set-' + k, 'set/incr/delete on the key ' + k + ' (an Object.prototype name).', {
      options: { saveUninitialized: false },
      store_initial: { [K1]: record({ views: 1 }) },
      steps: [
        { headers: [k1Cookie()], ops: [set(k, 'x'), SNAP] },
        { now: NOW + 1, headers: [k1Cookie()], ops: [SNAP, incr(k), SNAP, del(k), SNAP] }
      ]
    })
  })
}

// ----- 11. flag combinations, op sequences, faults -------------------------------------

{
  const seqs = [
    [op('regenerate'), op('regenerate')],
    [op('regenerate'), op('save'), set('a', 1)],
    [op('save'), op('regenerate'), op('save')],
    [op('destroy'), op('regenerate')],
    [op('destroy'), op('save'), op('reload')],
    [op('reload'), op('reload'), incr('views')],
    [set('a', 1), op('reload'), SNAP],
    [op('regenerate'), op('reload')],
    [op('regenerate'), set('a', 1), op('reload')],
    [op('unset'), op('regenerate'), SNAP],
    [op('save'), op('save'), op('save')],
    [del('views'), set('views', 1)],
    [op('touch'), { op: 'set_max_age', value: 0 }, op('save')],
    [{ op: 'set_expires', value: null }, op('regenerate'), SNAP],
    [op('destroy'), op('unset'), SNAP],
    [set('a', 1), op('save'), op('destroy'), SNAP],
    [op('reload'), op('destroy'), op('reload')],
    [{ op: 'set_max_age', value: -1000 }, op('save'), op('reload')],
    [{ op: 'set_max_age', value: -1000 }, op('save'), set('x', 1)],
    [op('regenerate'), { op: 'set_max_age', value: -5 }, op('save'), op('reload')]
  ]
  const faults = [null, { get: 'error' }, { get: 'enoent' }, { get: ['ok', 'error'] }, { get: ['ok', 'enoent'] }, { set: 'error' }, { set: ['ok', 'error'] }, { set: ['error', 'ok'] },
    { touch: 'error' }, { destroy: 'error' }, { destroy: ['ok', 'error'] }, { destroy: ['error'] }, { get: 'error', destroy: 'error' },
    { set: 'error', touch: 'error', destroy: 'error' }, { get: ['ok', 'ok', 'error'] }, { set: ['ok', 'ok', 'error'] }]
  let n = 0
  for (const resave of [false, true]) {
    for (const saveUninitialized of [false, true]) {
      for (const rolling of [false, true]) {
        for (const unset of ['keep', 'destroy']) {
          for (let j = 0; j < 5; j++) {
            const seq = pick(seqs)
            const fault = pick(faults)
            const withCookie = chance(0.75)
            const opts = { resave, saveUninitialized, rolling, unset, cookie: { maxAge: pick([HOUR, null, 1000, 0]) } }
            add('combo-' + (n++), 'resave ' + resave + ', saveUninitialized ' + saveUninitialized + ', rolling ' + rolling + ', unset ' + unset +
              '; ops ' + seq.map((o) => o.op).join(',') + '; fault ' + JSON.stringify(fault) + '.', {
              options: opts,
              store_initial: { [K1]: record({ views: 1 }) },
              steps: [
                { headers: withCookie ? [k1Cookie()] : [], fault: fault, ops: seq.concat([SNAP]) },
                { now: NOW + 500, headers: [cookieHeader('{{prev}}')], ops: [SNAP] },
                { now: NOW + 1000, headers: withCookie ? [k1Cookie()] : [], fault: pick(faults), ops: [incr('views'), SNAP] }
              ]
            })
          }
        }
      }
    }
  }
}

// ----- 13. invalid cookie options, odd keys ------------------------------------------

{
  const bad = {
    domain_space: { domain: 'exa mple.com' },
    domain_trailing_dot: { domain: 'example.com.' },
    domain_upper: { domain: 'EXAMPLE.COM' },
    path_semicolon: { path: '/a;b' },
    path_nonascii: { path: '/caf\u00e9' },
    priority_bad: { priority: 'urgent' },
    priority_upper: { priority: 'HIGH' },
    samesite_bad: { sameSite: 'sideways' },
    samesite_upper: { sameSite: 'STRICT' },
    secure_string: { secure: 'yes' },
    partitioned_string: { partitioned: 'no' },
    httponly_zero: { httpOnly: 0 }
  }
  for (const [tag, c] of Object.entries(bad)) {
    add('opt-cookie-' + tag, 'cookie option ' + JSON.stringify(c) + ': new session, then a loaded one.', {
      options: { saveUninitialized: true, rolling: true, cookie: c },
      steps: [
        { url: c.path && /^[\x20-\x7e]*$/.test(c.path) ? c.path + '/x' : '/', ops: [SNAP] },
        { now: NOW + 1, url: c.path && /^[\x20-\x7e]*$/.test(c.path) ? c.path + '/x' : '/', headers: [cookieHeader(cookiePair('connect.sid', idFor('opt-cookie-' + tag + ':0'), 'keyboard cat'))], ops: [SNAP] }
      ]
    })
  }
  add('name-leading-space', 'name " sid": never read back (keys are trimmed), Set-Cookie fails.', {
    options: { name: ' sid', saveUninitialized: true },
    steps: [{ ops: [SNAP] }, { now: NOW + 1, headers: [cookieHeader('sid=' + encodeURIComponent(signedValue(idFor('name-leading-space:0'), 'keyboard cat')))], ops: [SNAP] }]
  })
  loadScenario('key-set-empty-and-odd', 'set on keys "", "Cookie", " ", "\u00e9", "a.b".', record({ views: 1 }),
    { ops: [set('', 1), set('Cookie', 2), set(' ', 3), set('\u00e9', 4), set('a.b', 5), SNAP, del(''), SNAP], second: [SNAP] })
}

// ----- 14. reload/save with records carrying reserved keys ---------------------------

{
  const c = JSON.stringify(record().cookie)
  const bodies = {
    id: '{"cookie":' + c + ',"id":"forged","views":1}',
    proto: '{"__proto__":{"a":1},"cookie":' + c + ',"views":1}',
    int: '{"views":1,"2":"two","cookie":' + c + '}'
  }
  const seqs = { reload: [op('reload'), SNAP], save_reload: [set('x', 1), op('save'), op('reload'), SNAP], reload_set: [op('reload'), set('views', 1), SNAP] }
  for (const [bt, body] of Object.entries(bodies)) {
    for (const [st, seq] of Object.entries(seqs)) {
      for (const resave of [false, true]) {
        loadScenario('reserved-' + bt + '-' + st + (resave ? '-resave' : ''), 'Record with ' + bt + ' key(s), then ' + st + '.', JSON.parse(body),
          { options: { resave: resave }, ops: seq, second: [SNAP] })
      }
    }
  }
}

// ----- 12. random mixtures of odd inputs -------------------------------------------

{
  const oddValues = [null, true, false, 0, -0, 1.5, 1e21, 'str', '', '\u00e9\ud83d\ude00', [], [1, [2]], {}, { a: { b: null } }, 9007199254740993, -1e-7]
  const oddRecords = [
    () => record({ views: 1 }),
    () => record({ views: 1 }, { expires: null, originalMaxAge: null }),
    () => record({ '1': 1, a: 2, '0': 0 }),
    () => record({ views: 'x' }, { originalMaxAge: 0 }),
    () => record({ views: 1 }, { sameSite: 'LAX', priority: 'HIGH', domain: 'EXAMPLE.com' }),
    () => record({ views: 1 }, { expires: new Date(NOW + 5000).toUTCString(), originalMaxAge: 5000 }),
    () => record({ views: 1 }, { expires: iso(NOW), originalMaxAge: 0 }),
    () => record({ views: 1 }, { expires: 'garbage' }),
    () => JSON.parse('{"__proto__":{"x":1},"cookie":{"expires":null,"originalMaxAge":null},"views":2}'),
    () => ({ cookie: {}, views: 3 }),
    () => ({ cookie: { originalMaxAge: 1000 }, views: 4 })
  ]
  const allOps = () => pick([
    set(pick(['a', 'b', '1', '0', 'views', 'x y', '\u00e9']), pick(oddValues)), del(pick(['a', 'views', '1', 'nope'])), incr(pick(['views', 'a', '1'])),
    op('touch'), { op: 'set_max_age', value: pick([0, -1, 1000, null, 1e16, 0.5]) }, { op: 'set_expires', value: pick([null, NOW - 1, NOW + 1000, 8.64e15 + 1]) },
    attr(pick(['domain', 'path', 'sameSite', 'priority', 'secure', 'httpOnly', 'partitioned', 'originalMaxAge']), pick([null, true, false, 0, 1, '', 'Lax', 'x', '/', 'example.com', 1000, -1000])),
    op('save'), op('reload'), op('destroy'), op('regenerate'), op('unset'), SNAP
  ])
  for (let i = 0; i < 80; i++) {
    const opts = {
      resave: chance(0.5), saveUninitialized: chance(0.5), rolling: chance(0.3), unset: chance(0.3) ? 'destroy' : 'keep',
      proxy: pick([null, true, false]), app_trust_proxy: chance(0.5),
      cookie: { maxAge: pick([HOUR, null, 0, -1, 1500.5]), secure: pick([false, 'auto', true]), sameSite: pick([false, 'auto', 'lax', 'none', true]), priority: pick([null, 'low', 'HIGH']), partitioned: pick([null, true, false]) }
    }
    const steps = []
    const nsteps = 2 + Math.floor(rnd() * 3)
    let t = NOW
    for (let s = 0; s < nsteps; s++) {
      const ops = []
      const nops = Math.floor(rnd() * 5)
      for (let k = 0; k < nops; k++) ops.push(allOps())
      ops.push(SNAP)
      const hdrs = []
      const c = pick(['prev', 'k1', 'none', 'k1quoted', 'prev'])
      if (c === 'prev') hdrs.push(cookieHeader('{{prev}}'))
      if (c === 'k1') hdrs.push(k1Cookie())
      if (c === 'k1quoted') hdrs.push(cookieHeader('connect.sid="' + encodeURIComponent(signedValue(K1, 'keyboard cat')) + '"'))
      if (chance(0.3)) hdrs.push(['X-Forwarded-Proto', pick(['https', 'HTTPS', 'http', 'https, http'])])
      steps.push({ now: t, tls: chance(0.1), headers: hdrs, fault: chance(0.2) ? pick([{ set: 'error' }, { get: 'enoent' }, { touch: 'error' }, { destroy: 'error' }, { get: ['ok', 'error'] }]) : null, ops: ops })
      t += pick([0, 1, 999, 1000, 1001, HOUR, 2 * HOUR])
    }
    add('mix-' + i, 'Random mixture of odd inputs #' + i + '.', { options: opts, store_initial: { [K1]: pick(oddRecords)() }, steps: steps })
  }
}

// ----- write ---------------------------------------------------------------------------

// A step-level `options: null` above is only a marker; drop unknown keys.
for (const sc of scenarios) for (const st of sc.steps) delete st.options

// Scenarios that a JSON reader may reject outright go to a separate file:
// lone surrogates (JSON.stringify escapes exactly those) and deep nesting.
const lone = /\\ud[89a-f][0-9a-f]{2}/i
function depth (v) {
  if (v === null || typeof v !== 'object') return 0
  let d = 0
  for (const k of Object.keys(v)) d = Math.max(d, depth(v[k]))
  return d + 1
}
const isLone = (sc) => lone.test(JSON.stringify(sc))
const isDeep = (sc) => depth(sc) > 200
const out = process.argv[2] || 'edge-skeletons.json'
const stem = out.replace(/\.json$/, '')
const files = [
  [out, scenarios.filter((sc) => !isLone(sc) && !isDeep(sc))],
  [stem + '-lone-surrogates.json', scenarios.filter(isLone)],
  [stem + '-deep-nesting.json', scenarios.filter((sc) => isDeep(sc) && !isLone(sc))]
]
for (const [file, list] of files) {
  const doc = {
    format: 'express-session-conformance',
    format_version: 1,
    spec: 'shared/conformance/SPEC.md',
    produced_by: {},
    kind: 'edge',
    seed: null,
    scenarios: list
  }
  fs.writeFileSync(file, JSON.stringify(doc, null, 1) + '\n')
  console.error('wrote ' + list.length + ' scenario skeletons to ' + file)
}
