"""The subset of JavaScript ``Date`` that stores need: ``Date.parse`` of the
formats session records hold (ISO 8601 / ECMAScript date-time strings and
the ``toUTCString`` form), ``Number(value)`` and MemoryStore's expiry rule.
A port of the library's ``src/date.rs`` and ``memory_store::expiry_of``,
so the Python store expires records exactly as the Rust reference store does.
"""

from __future__ import annotations

import math
import re
from typing import Any

__all__ = ["parse_date", "js_number", "record_expiry"]

_MS_PER_DAY = 86_400_000
_DAYS = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _time_clip(t: float) -> float:
    if not math.isfinite(t) or abs(t) > 8.64e15:
        return math.nan
    return float(math.trunc(t)) + 0.0


def _civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719_468
    era = z // 146_097
    doe = z % 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return (y + 1 if m <= 2 else y), m, d


def _days_from_civil(y: int, m: int, d: int) -> int:
    y = y - 1 if m <= 2 else y
    era = y // 400
    yoe = y % 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def _make_time(year: int, month: int, day: int, h: int, mi: int, sec: int, ms: int) -> float | None:
    if not 1 <= month <= 12 or not 1 <= day <= 31 or h > 24 or mi > 59 or sec > 59:
        return None
    if h == 24 and (mi != 0 or sec != 0 or ms != 0):
        return None
    days = _days_from_civil(year, month, day)
    _, m2, d2 = _civil_from_days(days)
    if m2 != month or d2 != day:
        return None
    t = _time_clip(float(days * _MS_PER_DAY + h * 3_600_000 + mi * 60_000 + sec * 1000 + ms))
    return None if math.isnan(t) else t


def _num(s: str, at: int, n: int) -> int | None:
    d = s[at : at + n]
    if len(d) != n or not all("0" <= c <= "9" for c in d):
        return None
    return int(d)


def _parse_iso(s: str) -> float | None:
    if not s:
        return None
    if s[0] in "+-":
        y = _num(s, 1, 6)
        if y is None or (s[0] == "-" and y == 0):
            return None
        year, i = (-y if s[0] == "-" else y), 7
    else:
        y = _num(s, 0, 4)
        if y is None:
            return None
        year, i = y, 4
    month = day = 1
    if s[i : i + 1] == "-":
        month = _num(s, i + 1, 2)
        if month is None:
            return None
        i += 3
        if s[i : i + 1] == "-":
            day = _num(s, i + 1, 2)
            if day is None:
                return None
            i += 3
    if i == len(s):
        return _make_time(year, month, day, 0, 0, 0, 0)
    if s[i : i + 1] != "T":
        return None
    h = _num(s, i + 1, 2)
    if h is None or s[i + 3 : i + 4] != ":":
        return None
    mi = _num(s, i + 4, 2)
    if mi is None:
        return None
    i += 6
    sec = ms = 0
    if s[i : i + 1] == ":":
        sec = _num(s, i + 1, 2)
        if sec is None:
            return None
        i += 3
        if s[i : i + 1] == ".":
            start = j = i + 1
            while j < len(s) and "0" <= s[j] <= "9":
                j += 1
            if j == start:
                return None
            frac = s[start : min(j, start + 3)]  # V8 keeps the first three digits
            ms = int(frac) * 10 ** (3 - len(frac))
            i = j
    c = s[i : i + 1]
    if c == "Z" and i + 1 == len(s):
        offset = 0
    elif c in ("+", "-") and c and i + 6 == len(s) and s[i + 3] == ":":
        oh, om = _num(s, i + 1, 2), _num(s, i + 4, 2)
        if oh is None or om is None or oh > 23 or om > 59:
            return None
        offset = oh * 60 + om if c == "+" else -(oh * 60 + om)
    elif c == "":
        offset = 0
    else:
        return None
    t = _make_time(year, month, day, h, mi, sec, ms)
    if t is None:
        return None
    t = _time_clip(t - offset * 60_000)
    return None if math.isnan(t) else t


_INT = re.compile(r"[+-]?[0-9]+\Z")


def _int(s: str) -> int | None:
    # Rust's `i64::from_str`: optional sign, ASCII digits only.
    if not _INT.match(s):
        return None
    v = int(s)
    return v if -(2**63) <= v < 2**63 else None


def _parse_utc_string(s: str) -> float | None:
    if len(s) < 5 or not any(s.startswith(d) for d in _DAYS) or not s[3:].startswith(", "):
        return None
    parts = s[5:].split(" ")
    if len(parts) != 5 or parts[4] != "GMT":
        return None
    day, year = _int(parts[0]), _int(parts[2])
    if day is None or year is None or parts[1] not in _MONTHS:
        return None
    month = _MONTHS.index(parts[1]) + 1
    hms = parts[3].split(":")
    if len(hms) < 3:
        return None
    h, mi, sec = _int(hms[0]), _int(hms[1]), _int(hms[2])
    if h is None or mi is None or sec is None:
        return None
    return _make_time(year, month, day, h, mi, sec, 0)


def parse_date(s: str) -> float:
    """``new Date(s).valueOf()`` for the formats stores write; NaN otherwise."""
    t = _parse_iso(s)
    if t is None:
        t = _parse_utc_string(s)
    return math.nan if t is None else t


# JavaScript's WhiteSpace and LineTerminator code points (what Number() trims).
_JS_WS = (
    " \t\n\v\f\r\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000\ufeff"
)
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")


def _string_to_number(s: str) -> float:
    t = s.strip(_JS_WS)
    if not t:
        return 0.0
    for prefix, radix in (("0x", 16), ("0X", 16), ("0o", 8), ("0O", 8), ("0b", 2), ("0B", 2)):
        if t.startswith(prefix):
            try:
                return float(int(t[2:], radix)) if t[2:] and t[2:].isalnum() else math.nan
            except ValueError:
                return math.nan
    sign, body = 1.0, t
    if t[0] in "+-":
        sign, body = (-1.0 if t[0] == "-" else 1.0), t[1:]
    if body == "Infinity":
        return sign * math.inf
    if _DECIMAL.match(t):
        return float(t)
    return math.nan


def js_number(v: Any) -> float:
    """JavaScript ``Number(v)`` for a JSON value."""
    if v is None:
        return 0.0
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        return _string_to_number(v)
    if isinstance(v, list):  # Number(String(array))
        if not v:
            return 0.0
        if len(v) == 1 and not isinstance(v[0], (dict, list)):
            x = v[0]
            if x is None:
                return 0.0
            return js_number(x if not isinstance(x, bool) else ("true" if x else "false"))
        return math.nan
    return math.nan


def _truthy(v: Any) -> bool:
    if v is None or v is False:
        return False
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v != 0 and not (isinstance(v, float) and math.isnan(v))
    if isinstance(v, str):
        return v != ""
    return True


def record_expiry(record: Any) -> int | None:
    """The Unix ms at which a parsed record counts as expired by
    MemoryStore's ``expires <= now`` rule, or ``None`` if it never does."""
    if not isinstance(record, dict):
        return None
    cookie = record.get("cookie")
    if not isinstance(cookie, dict) or "expires" not in cookie:
        return None
    e = cookie["expires"]
    if isinstance(e, str):
        t = parse_date(e)
    elif not _truthy(e):
        return None
    else:
        t = js_number(e)
    if math.isnan(t) or t == math.inf:
        return None
    if t == -math.inf:
        return -(2**63)
    return math.ceil(t)
