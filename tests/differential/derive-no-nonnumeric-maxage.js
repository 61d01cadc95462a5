#!/usr/bin/env node
// Diagnostic helper: copies a recorded corpus file, dropping every `snapshot`
// op whose recorded maxAge is not a number (null: no expiry, or NaN from an
// invalid Date; or a non-number `expires`), together with its `ops` and
// `snapshots` entries. Snapshots do not change state, so the rest of each
// scenario stays valid; this lets a runner that reports only the first
// mismatch get past the maxAge-representation class.
//   node derive-no-nonnumeric-maxage.js IN.json OUT.json
'use strict'
const fs = require('fs')
const [i, o] = process.argv.slice(2)
const doc = JSON.parse(fs.readFileSync(i, 'utf8'))
let dropped = 0
for (const sc of doc.scenarios) {
  for (const st of sc.steps) {
    const e = st.expect
    if (!e.handler_ran) continue
    const handler = []; const ops = []; const snaps = []
    let si = 0
    st.handler.forEach((op, k) => {
      if (op.op === 'snapshot') {
        const snap = e.snapshots[si++]
        if (typeof snap.maxAge !== 'number') { dropped++; return }
        snaps.push(snap)
      }
      handler.push(op); ops.push(e.ops[k])
    })
    st.handler = handler; e.ops = ops; e.snapshots = snaps
  }
}
fs.writeFileSync(o, JSON.stringify(doc) + '\n')
console.error('dropped ' + dropped + ' snapshot(s)')
