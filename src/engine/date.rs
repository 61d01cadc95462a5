//! JavaScript `Date` arithmetic on time values (milliseconds since the epoch,
//! as `f64`, NaN for an invalid date): `TimeClip`, `toISOString`,
//! `toUTCString` and the subset of `Date.parse` that session records use.

const MS_PER_DAY: f64 = 86_400_000.0;

/// `TimeClip`: the time value `new Date(t)` holds.
pub(crate) fn time_clip(t: f64) -> f64 {
    if !t.is_finite() || t.abs() > 8.64e15 {
        return f64::NAN;
    }
    t.trunc() + 0.0
}

/// Days since 1970-01-01 → (year, month 1-12, day 1-31). Howard Hinnant's
/// `civil_from_days`.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// (year, month 1-12, day) → days since 1970-01-01. Saturating: a year far
/// beyond `Date`'s range (a record may hold any digits) gives a day count
/// that `time_clip` turns into NaN, never an overflow.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y.saturating_sub(1) } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era.saturating_mul(146_097).saturating_add(doe - 719_468)
}

struct Parts {
    year: i64,
    month: u32,
    day: u32,
    weekday: usize,
    hour: i64,
    minute: i64,
    second: i64,
    ms: i64,
}

fn parts(t: f64) -> Parts {
    let t = t as i64;
    let days = t.div_euclid(MS_PER_DAY as i64);
    let in_day = t.rem_euclid(MS_PER_DAY as i64);
    let (year, month, day) = civil_from_days(days);
    Parts {
        year,
        month,
        day,
        weekday: (days + 4).rem_euclid(7) as usize,
        hour: in_day / 3_600_000,
        minute: in_day / 60_000 % 60,
        second: in_day / 1000 % 60,
        ms: in_day % 1000,
    }
}

/// Writes the last `slot.len()` decimal digits of `n` (non-negative) into `slot`.
fn put_digits(slot: &mut [u8], n: i64) {
    let mut v = n.unsigned_abs();
    for d in slot.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

fn push_digits(out: &mut String, n: i64, width: usize) {
    let mut buf = [b'0'; 20];
    let mut v = n.unsigned_abs();
    let mut i = buf.len();
    while v > 0 {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let start = (buf.len() - width).min(i);
    for &d in &buf[start..] {
        out.push(d as char);
    }
}

/// Appends `Date#toISOString` of a valid time value; `false` (nothing
/// written) for an invalid date, where JavaScript throws a RangeError and
/// `toJSON` gives null.
pub(crate) fn write_iso(out: &mut String, t: f64) -> bool {
    if t.is_nan() {
        return false;
    }
    let p = parts(t);
    if (0..=9999).contains(&p.year) {
        // The usual case, filled in place.
        let mut b = *b"0000-00-00T00:00:00.000Z";
        put_digits(&mut b[0..4], p.year);
        put_digits(&mut b[5..7], i64::from(p.month));
        put_digits(&mut b[8..10], i64::from(p.day));
        put_digits(&mut b[11..13], p.hour);
        put_digits(&mut b[14..16], p.minute);
        put_digits(&mut b[17..19], p.second);
        put_digits(&mut b[20..23], p.ms);
        out.push_str(std::str::from_utf8(&b).unwrap_or_default());
        return true;
    } else {
        out.push(if p.year < 0 { '-' } else { '+' });
        push_digits(out, p.year, 6);
    }
    for (sep, v, w) in [
        ('-', i64::from(p.month), 2),
        ('-', i64::from(p.day), 2),
        ('T', p.hour, 2),
        (':', p.minute, 2),
        (':', p.second, 2),
        ('.', p.ms, 3),
    ] {
        out.push(sep);
        push_digits(out, v, w);
    }
    out.push('Z');
    true
}

/// `Date#toISOString` of a valid time value; `None` for an invalid date.
#[cfg(test)]
pub(crate) fn to_iso_string(t: f64) -> Option<String> {
    let mut s = String::with_capacity(24);
    write_iso(&mut s, t).then_some(s)
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Appends `Date#toUTCString` of a valid time value (the cookie `Expires`
/// format); `false` for an invalid date.
pub(crate) fn write_utc(out: &mut String, t: f64) -> bool {
    if t.is_nan() {
        return false;
    }
    let p = parts(t);
    if (0..=9999).contains(&p.year) {
        // The usual case, filled in place: "Tue, 14 Nov 2023 23:12:20 GMT".
        let mut b = *b"Sun, 00 Jan 0000 00:00:00 GMT";
        b[0..3].copy_from_slice(DAYS[p.weekday].as_bytes());
        put_digits(&mut b[5..7], i64::from(p.day));
        b[8..11].copy_from_slice(MONTHS[(p.month - 1) as usize].as_bytes());
        put_digits(&mut b[12..16], p.year);
        put_digits(&mut b[17..19], p.hour);
        put_digits(&mut b[20..22], p.minute);
        put_digits(&mut b[23..25], p.second);
        out.push_str(std::str::from_utf8(&b).unwrap_or_default());
        return true;
    }
    out.push_str(DAYS[p.weekday]);
    out.push_str(", ");
    push_digits(out, i64::from(p.day), 2);
    out.push(' ');
    out.push_str(MONTHS[(p.month - 1) as usize]);
    out.push(' ');
    if p.year < 0 {
        out.push('-');
    }
    push_digits(out, p.year, 4);
    for (sep, v) in [(' ', p.hour), (':', p.minute), (':', p.second)] {
        out.push(sep);
        push_digits(out, v, 2);
    }
    out.push_str(" GMT");
    true
}

/// `Date#toUTCString` of a valid time value; `None` for an invalid date.
pub(crate) fn to_utc_string(t: f64) -> Option<String> {
    let mut s = String::with_capacity(29);
    write_utc(&mut s, t).then_some(s)
}

/// `new Date(string).valueOf()` as V8 computes it: ECMAScript's date-time
/// string format first (`YYYY-MM-DDTHH:mm:ss.sssZ`, expanded years,
/// offsets, date-only forms), then V8's legacy parser, of which the common
/// forms are reproduced: `toString`, `toUTCString` and RFC 850 dates in any
/// case, month names, `M/D/Y` and `Y/M/D`, two-digit years, `GMT`/`UTC`/`Z`
/// and numeric offsets, US zone names, AM/PM, parenthesized comments.
/// Times without a zone are read as UTC (the host's local time in V8).
pub fn parse(s: &str) -> f64 {
    parse_iso_string(s.as_bytes()).or_else(|| parse_iso(s)).or_else(|| parse_legacy(s)).unwrap_or(f64::NAN)
}

/// Exactly `YYYY-MM-DDTHH:mm:ss.sssZ`, what `toISOString` writes for years
/// 0 to 9999 (every record's `expires`): [`parse_iso`]'s result, read at
/// fixed offsets.
fn parse_iso_string(b: &[u8]) -> Option<f64> {
    if b.len() != 24 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    if b[19] != b'.' || b[23] != b'Z' {
        return None;
    }
    let at = |i, n| num(b, i, n);
    make_time(at(0, 4)?, at(5, 2)?, at(8, 2)?, at(11, 2)?, at(14, 2)?, at(17, 2)?, at(20, 3)?)
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok<'a> {
    Num(i64, usize),
    Word(&'a str),
    /// A symbol, and whether whitespace came right before it.
    Sym(u8, bool),
}

fn tokens(s: &str) -> Option<Vec<Tok<'_>>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut space = false;
    while i < b.len() {
        let c = b[i];
        let space_before = std::mem::replace(&mut space, false);
        if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let digits = &s[start..i];
            let n = if digits.len() > 15 { i64::MAX } else { digits.parse().ok()? };
            out.push(Tok::Num(n, i - start));
        } else if c.is_ascii_alphabetic() {
            let start = i;
            while i < b.len() && b[i].is_ascii_alphabetic() {
                i += 1;
            }
            out.push(Tok::Word(&s[start..i]));
        } else if c == b'(' {
            let mut depth = 0;
            while i < b.len() {
                match b[i] {
                    b'(' => depth += 1,
                    b')' => depth -= 1,
                    _ => {}
                }
                i += 1;
                if depth == 0 {
                    break;
                }
            }
        } else if c.is_ascii_whitespace() || c == b',' {
            space = true;
            i += 1;
        } else {
            out.push(Tok::Sym(c, space_before));
            i += 1;
        }
    }
    Some(out)
}

/// V8's legacy date parser (`DateParser::Parse` after the ES5 attempt), for
/// the forms listed at [`parse`].
fn parse_legacy(s: &str) -> Option<f64> {
    let toks = tokens(s)?;
    let (mut comps, mut named_month): (Vec<i64>, Option<i64>) = (Vec::new(), None);
    let (mut hour, mut minute, mut second, mut ms) = (None::<i64>, 0i64, 0i64, 0i64);
    let mut tz: Option<i64> = None; // minutes east of UTC
    let mut pm: Option<bool> = None;
    let mut read_number = false;
    let mut i = 0;
    while i < toks.len() {
        match toks[i] {
            Tok::Num(n, len) => {
                read_number = true;
                if matches!(toks.get(i + 1), Some(Tok::Sym(b':', _))) && hour.is_none() {
                    hour = Some(n);
                    let Some(Tok::Num(m, _)) = toks.get(i + 2) else { return None };
                    minute = *m;
                    i += 3;
                    if matches!(toks.get(i), Some(Tok::Sym(b':', _))) {
                        let Some(Tok::Num(sec, _)) = toks.get(i + 1) else { return None };
                        second = *sec;
                        i += 2;
                        if matches!(toks.get(i), Some(Tok::Sym(b'.', _))) {
                            let Some(Tok::Num(f, flen)) = toks.get(i + 1) else { return None };
                            // Milliseconds: the first three digits.
                            ms = match flen {
                                1 => f * 100,
                                2 => f * 10,
                                3 => *f,
                                _ => f / 10i64.pow((*flen as u32).min(18) - 3),
                            };
                            i += 2;
                        }
                    }
                    continue;
                }
                if comps.len() >= 3 {
                    return None;
                }
                let _ = len;
                comps.push(n);
                i += 1;
                // A date separator.
                if matches!(toks.get(i), Some(Tok::Sym(b'-' | b'/' | b'.', _))) && toks.get(i + 1).is_some() {
                    i += 1;
                }
            }
            Tok::Sym(sign @ (b'+' | b'-'), _) if hour.is_some() || tz.is_some() => {
                let Some(Tok::Num(n, len)) = toks.get(i + 1) else { return None };
                let (h, m, used) = if matches!(toks.get(i + 2), Some(Tok::Sym(b':', _))) {
                    let Some(Tok::Num(mm, _)) = toks.get(i + 3) else { return None };
                    (*n, *mm, 4)
                } else if *len <= 2 {
                    (*n, 0, 2)
                } else {
                    (n / 100, n % 100, 2)
                };
                let off = h.saturating_mul(60).saturating_add(m);
                tz = Some(if sign == b'-' { -off } else { off });
                i += used;
            }
            Tok::Sym(b'-' | b'+', spaced)
                if (spaced || comps.is_empty()) && toks.get(i + 1).is_some_and(|t| matches!(t, Tok::Num(..))) =>
            {
                // A signed number outside a time zone (a negative year, say)
                // is not part of the legacy grammar.
                return None;
            }
            Tok::Sym(..) => i += 1,
            Tok::Word(w) => {
                let lw = w.to_ascii_lowercase();
                let p3 = &lw[..lw.len().min(3)];
                if let Some(m) = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(p3)).filter(|_| lw.len() >= 3) {
                    named_month = Some(m as i64 + 1);
                } else if lw == "am" || lw == "pm" {
                    pm = Some(lw == "pm");
                } else if matches!(lw.as_str(), "utc" | "gmt" | "ut" | "z") {
                    tz = Some(0);
                } else if let Some(off) = match lw.as_str() {
                    "est" => Some(-5),
                    "edt" => Some(-4),
                    "cst" => Some(-6),
                    "cdt" => Some(-5),
                    "mst" => Some(-7),
                    "mdt" => Some(-6),
                    "pst" => Some(-8),
                    "pdt" => Some(-7),
                    _ => None,
                } {
                    tz = Some(off * 60);
                } else if DAYS.iter().any(|d| d.eq_ignore_ascii_case(p3)) && lw.len() >= 3 || !read_number {
                    // Day names, and any word before the first number, are ignored.
                } else {
                    return None;
                }
                i += 1;
            }
        }
    }
    let is_day = |x: i64| (1..=31).contains(&x);
    let (mut year, month, day) = match named_month {
        None => match comps.as_slice() {
            [y, m, d] if !is_day(*y) => (Some(*y), *m, *d),
            [m, d, y] => (Some(*y), *m, *d),
            [m, d] => (None, *m, *d),
            // A lone number is a month of 2001 if it can be one, else a year.
            [n] if (1..=12).contains(n) => (None, *n, 1),
            [n] if is_day(*n) => return None,
            [y] => (Some(*y), 1, 1),
            _ => return None,
        },
        Some(month) => match comps.as_slice() {
            [d] => (None, month, *d),
            [y, d, ..] if !is_day(*y) => (Some(*y), month, *d),
            [d, y, ..] => (Some(*y), month, *d),
            _ => return None,
        },
    };
    if let Some(y) = year {
        if (0..=49).contains(&y) {
            year = Some(y + 2000);
        } else if (50..=99).contains(&y) {
            year = Some(y + 1900);
        }
    }
    let year = year.unwrap_or(2001);
    let mut h = hour.unwrap_or(0);
    match pm {
        Some(true) if h < 12 => h += 12,
        Some(false) if h == 12 => h = 0,
        Some(_) if h > 12 => return None,
        _ => {}
    }
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 24 || minute > 59 || second > 59 {
        return None;
    }
    if h == 24 && (minute != 0 || second != 0 || ms != 0) {
        return None;
    }
    let days = days_from_civil(year, month as u32, day as u32);
    let t = days as f64 * MS_PER_DAY + (h * 3_600_000 + minute * 60_000 + second * 1000 + ms) as f64;
    let t = time_clip(t - tz.unwrap_or(0) as f64 * 60_000.0);
    if t.is_nan() { None } else { Some(t) }
}

fn num(b: &[u8], at: usize, len: usize) -> Option<i64> {
    let d = b.get(at..at + len)?;
    let mut n = 0i64;
    for &c in d {
        if !c.is_ascii_digit() {
            return None;
        }
        n = n * 10 + i64::from(c - b'0');
    }
    Some(n)
}

fn make_time(year: i64, month: i64, day: i64, h: i64, mi: i64, sec: i64, ms: i64) -> Option<f64> {
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || h > 24 || mi > 59 || sec > 59 {
        return None;
    }
    if h == 24 && (mi != 0 || sec != 0 || ms != 0) {
        return None;
    }
    // V8 lets a day past the month's end roll over (Feb 30 is March 2).
    let days = days_from_civil(year, month as u32, day as u32);
    let t = days as f64 * MS_PER_DAY + (h * 3_600_000 + mi * 60_000 + sec * 1000 + ms) as f64;
    let t = time_clip(t);
    if t.is_nan() { None } else { Some(t) }
}

fn parse_iso(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let (year, mut i) = match b.first()? {
        b'+' | b'-' => {
            let y = num(b, 1, 6)?;
            if b[0] == b'-' && y == 0 {
                return None;
            }
            (if b[0] == b'-' { -y } else { y }, 7)
        }
        _ => (num(b, 0, 4)?, 4),
    };
    let (mut month, mut day) = (1, 1);
    if b.get(i) == Some(&b'-') {
        month = num(b, i + 1, 2)?;
        i += 3;
        if b.get(i) == Some(&b'-') {
            day = num(b, i + 1, 2)?;
            i += 3;
        }
    }
    if i == b.len() {
        return make_time(year, month, day, 0, 0, 0, 0);
    }
    if !matches!(b.get(i), Some(b'T' | b't')) {
        return None;
    }
    let h = num(b, i + 1, 2)?;
    if b.get(i + 3) != Some(&b':') {
        return None;
    }
    let mi = num(b, i + 4, 2)?;
    i += 6;
    let (mut sec, mut ms) = (0, 0);
    if b.get(i) == Some(&b':') {
        sec = num(b, i + 1, 2)?;
        i += 3;
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            let mut j = start;
            while b.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            if j == start {
                return None;
            }
            // Only the first three digits count (V8 truncates).
            let digits = j.min(start + 3) - start;
            ms = num(b, start, digits)? * 10i64.pow(3 - digits as u32);
            i = j;
        }
    }
    let offset_min = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(c @ (b'+' | b'-')) if (i + 6 == b.len() && b[i + 3] == b':') || i + 5 == b.len() => {
            let oh = num(b, i + 1, 2)?;
            let om = num(b, if i + 5 == b.len() { i + 3 } else { i + 4 }, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let m = oh * 60 + om;
            if *c == b'+' { m } else { -m }
        }
        None => 0,
        _ => return None,
    };
    let t = make_time(year, month, day, h, mi, sec, ms)?;
    let t = time_clip(t - (offset_min * 60_000) as f64);
    if t.is_nan() { None } else { Some(t) }
}

#[cfg(test)]
mod overflow_tests {
    use super::*;

    /// Digits beyond any date, where a record may put them: an invalid
    /// date, never an overflow (run by `cargo test` in a debug build, which
    /// checks arithmetic overflow).
    #[test]
    fn huge_numbers_are_invalid_dates_not_overflows() {
        for s in [
            "Mon,7777777777777777777",
            "7777777777777777777",
            "1 Jan 7777777777777777777",
            "Jan 1 2020 10:00 +7777777777777777777",
            "Jan 1 2020 10:00 -7777777777777777777",
            "Jan 1 2020 10:00 GMT+99999999999999999",
            "12/31/99999999999999999999",
            "Mon, 01 Jan 2020 99999999999999999999:00:00 GMT",
        ] {
            assert!(parse(s).is_nan(), "{s}");
        }
        // V8 reads the first three fraction digits and ignores the rest.
        assert_eq!(parse("2020-01-01T00:00:00.99999999999999999999Z"), 1_577_836_800_999.0);
    }

    proptest::proptest! {
        /// Any text of date-like characters parses to a number or NaN
        /// without panicking (overflow checks on in debug builds).
        #[test]
        fn date_like_text_never_panics(s in "[0-9 :.,/+TZ-]{0,40}|[A-Za-z]{3} [0-9]{1,25} [0-9]{1,25}( [+-][0-9]{1,25})?") {
            let t = parse(&s);
            proptest::prop_assert!(t.is_nan() || t.abs() <= 8.64e15);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_javascript() {
        let t = 1_700_003_600_000.0;
        assert_eq!(to_iso_string(t).unwrap(), "2023-11-14T23:13:20.000Z");
        assert_eq!(to_utc_string(t).unwrap(), "Tue, 14 Nov 2023 23:13:20 GMT");
        let far = 1_001_700_003_600_000.0;
        assert_eq!(to_iso_string(far).unwrap(), "+033712-08-11T01:00:00.000Z");
        assert_eq!(to_iso_string(-1.0).unwrap(), "1969-12-31T23:59:59.999Z");
        assert_eq!(to_iso_string(-62_198_755_200_000.0).unwrap(), "-000001-01-01T00:00:00.000Z");
        assert_eq!(to_utc_string(-62_198_755_200_000.0).unwrap(), "Fri, 01 Jan -0001 00:00:00 GMT");
        assert!(to_iso_string(f64::NAN).is_none());
        // Both ends of the in-place formats (years 0 to 9999), as Node prints them.
        assert_eq!(to_iso_string(-62_167_219_200_000.0).unwrap(), "0000-01-01T00:00:00.000Z");
        assert_eq!(to_utc_string(-62_167_219_200_000.0).unwrap(), "Sat, 01 Jan 0000 00:00:00 GMT");
        assert_eq!(to_iso_string(253_402_300_799_999.0).unwrap(), "9999-12-31T23:59:59.999Z");
        assert_eq!(to_utc_string(253_402_300_799_999.0).unwrap(), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(to_iso_string(253_402_300_800_000.0).unwrap(), "+010000-01-01T00:00:00.000Z");
        assert_eq!(to_utc_string(253_402_300_800_000.0).unwrap(), "Sat, 01 Jan 10000 00:00:00 GMT");
    }

    #[test]
    fn fixed_iso_strings_read_like_the_general_parser() {
        for s in [
            "2023-11-14T23:13:20.000Z",
            "0000-01-01T00:00:00.000Z",
            "9999-12-31T23:59:59.999Z",
            "2023-02-30T00:00:00.000Z",
            "2023-13-01T00:00:00.000Z",
            "2023-11-14T24:00:00.000Z",
            "2023-11-14T24:00:00.001Z",
            "2023-11-14T23:60:00.000Z",
            "2023-11-14T23:13:20.00XZ",
        ] {
            let general = parse_iso(s).or_else(|| parse_legacy(s)).unwrap_or(f64::NAN);
            assert_eq!(format!("{:?}", parse(s)), format!("{general:?}"), "{s}");
            if let Some(t) = parse_iso_string(s.as_bytes()) {
                assert_eq!(Some(t), parse_iso(s), "{s}");
            }
        }
        assert!(parse_iso_string(b"2023-11-14T23:13:20.000Z").is_some());
    }

    #[test]
    fn parses_what_it_formats() {
        for t in [0.0, 1_700_003_600_123.0, -1.0, 1_001_700_003_600_000.0, -62_198_755_200_000.0, 8.64e15] {
            assert_eq!(parse(&to_iso_string(t).unwrap()), t);
        }
        assert_eq!(parse("Tue, 14 Nov 2023 23:13:20 GMT"), 1_700_003_600_000.0);
        assert_eq!(parse("2023-11-14T23:13:20+01:00"), 1_700_003_600_000.0 - 3_600_000.0);
        assert!(parse("not a date").is_nan());
        assert_eq!(parse("2023-02-30"), parse("2023-03-02")); // V8 rolls the day over
        assert_eq!(time_clip(1500.9), 1500.0);
        assert!(time_clip(9e15).is_nan());
    }
}
