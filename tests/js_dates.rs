//! `date::parse` against V8's `Date.parse` (Node, with TZ=UTC) on the date
//! strings in `tests/js/date_strings.txt`: ISO forms, `toString`,
//! `toUTCString` and RFC 850 variants, month names, US dates, odd inputs.

use std::process::Command;

#[path = "common/tools.rs"]
mod tools;

#[test]
fn date_parse_agrees_with_v8() {
    if !tools::present("date_parse_agrees_with_v8", &["node"]) {
        return;
    }
    let list = format!("{}/tests/js/date_strings.txt", env!("CARGO_MANIFEST_DIR"));
    let script = "const l=require('fs').readFileSync(process.argv[1],'utf8').split('\\n');l.pop();\
                  for(const s of l){const t=Date.parse(s);console.log(Number.isNaN(t)?'NaN':String(t));}";
    let out = Command::new("node")
        .args(["-e", script, &list])
        .env("TZ", "UTC")
        .output()
        .expect("node is installed (Debian's nodejs or the machine's Node 20)");
    assert!(out.status.success(), "node failed: {}", String::from_utf8_lossy(&out.stderr));
    let expected = String::from_utf8(out.stdout).expect("utf-8");
    let inputs = std::fs::read_to_string(&list).expect("list");
    let mut mismatches = vec![];
    let mut count = 0;
    for (input, v8) in inputs.lines().zip(expected.lines()) {
        count += 1;
        let ours = libsession_engine::__private::parse_js_date(input);
        let ours = if ours.is_nan() { "NaN".to_string() } else { format!("{ours}") };
        if ours != v8 {
            mismatches.push(format!("{input:?}: V8 {v8}, ours {ours}"));
        }
    }
    assert!(count > 40, "the list was read");
    assert!(mismatches.is_empty(), "{} of {count} differ:\n{}", mismatches.len(), mismatches.join("\n"));
}
