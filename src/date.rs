//! JavaScript `Date` arithmetic on time values (milliseconds since the epoch,
//! as `f64`, NaN for an invalid date): `TimeClip`, `toISOString`,
//! `toUTCString` and the subset of `Date.parse` that session records use.

const MS_PER_DAY: f64 = 86_400_000.0;

/// `TimeClip`: the time value `new Date(t)` holds.
pub fn time_clip(t: f64) -> f64 {
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

/// (year, month 1-12, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
pub fn write_iso(out: &mut String, t: f64) -> bool {
    if t.is_nan() {
        return false;
    }
    let p = parts(t);
    if (0..=9999).contains(&p.year) {
        push_digits(out, p.year, 4);
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
pub fn to_iso_string(t: f64) -> Option<String> {
    let mut s = String::with_capacity(24);
    write_iso(&mut s, t).then_some(s)
}

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Appends `Date#toUTCString` of a valid time value (the cookie `Expires`
/// format); `false` for an invalid date.
pub fn write_utc(out: &mut String, t: f64) -> bool {
    if t.is_nan() {
        return false;
    }
    let p = parts(t);
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
pub fn to_utc_string(t: f64) -> Option<String> {
    let mut s = String::with_capacity(29);
    write_utc(&mut s, t).then_some(s)
}

/// `new Date(string).valueOf()` for the formats stores write: ECMAScript's
/// date-time string format (`YYYY-MM-DDTHH:mm:ss.sssZ`, expanded years,
/// offsets, date-only forms) and the `toUTCString` form. Other strings are
/// an invalid date (NaN); V8 accepts more legacy formats than this.
/// Date-times without an offset are read as UTC.
pub fn parse(s: &str) -> f64 {
    parse_iso(s).or_else(|| parse_utc_string(s)).unwrap_or(f64::NAN)
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
    let days = days_from_civil(year, month as u32, day as u32);
    // Day overflow (e.g. Feb 30) is invalid for the ISO format.
    let (_, m2, d2) = civil_from_days(days);
    if i64::from(m2) != month || i64::from(d2) != day {
        return None;
    }
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
    if b.get(i) != Some(&b'T') {
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
            let frac = &s[start..j.min(start + 3)];
            ms = frac.parse::<i64>().ok()? * 10i64.pow(3 - frac.len() as u32);
            i = j;
        }
    }
    let offset_min = match b.get(i) {
        Some(b'Z') if i + 1 == b.len() => 0,
        Some(c @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let oh = num(b, i + 1, 2)?;
            let om = num(b, i + 4, 2)?;
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

/// "Tue, 14 Nov 2023 23:13:20 GMT".
fn parse_utc_string(s: &str) -> Option<f64> {
    let rest = s.get(5..)?;
    if !DAYS.iter().any(|d| s.starts_with(d)) || !s[3..].starts_with(", ") {
        return None;
    }
    let mut it = rest.split(' ');
    let day = it.next()?.parse::<i64>().ok()?;
    let mon = it.next()?;
    let month = MONTHS.iter().position(|m| *m == mon)? as i64 + 1;
    let year = it.next()?.parse::<i64>().ok()?;
    let hms = it.next()?;
    if it.next()? != "GMT" || it.next().is_some() {
        return None;
    }
    let mut hp = hms.split(':');
    let h = hp.next()?.parse::<i64>().ok()?;
    let mi = hp.next()?.parse::<i64>().ok()?;
    let sec = hp.next()?.parse::<i64>().ok()?;
    make_time(year, month, day, h, mi, sec, 0)
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
    }

    #[test]
    fn parses_what_it_formats() {
        for t in [0.0, 1_700_003_600_123.0, -1.0, 1_001_700_003_600_000.0, -62_198_755_200_000.0, 8.64e15] {
            assert_eq!(parse(&to_iso_string(t).unwrap()), t);
        }
        assert_eq!(parse("Tue, 14 Nov 2023 23:13:20 GMT"), 1_700_003_600_000.0);
        assert_eq!(parse("2023-11-14T23:13:20+01:00"), 1_700_003_600_000.0 - 3_600_000.0);
        assert!(parse("not a date").is_nan());
        assert!(parse("2023-02-30").is_nan());
        assert_eq!(time_clip(1500.9), 1500.0);
        assert!(time_clip(9e15).is_nan());
    }
}
