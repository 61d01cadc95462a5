#!/usr/bin/env node
// Removes every step's `expect` from a corpus file (makes skeletons).
//   node strip.js IN.json OUT.json
'use strict'
const fs = require('fs')
const [i, o] = process.argv.slice(2)
const doc = JSON.parse(fs.readFileSync(i, 'utf8'))
for (const sc of doc.scenarios) for (const st of sc.steps) delete st.expect
fs.writeFileSync(o, JSON.stringify(doc, null, 1) + '\n')
