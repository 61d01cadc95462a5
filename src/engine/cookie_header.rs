//! Reading one cookie out of a `Cookie` header, exactly as express-session
//! does through `cookie.parse` 0.7.2, and the URI component codecs.
//!
//! Header bytes are read as Latin-1, one character per byte, which is how
//! Node's HTTP parser hands header values to JavaScript; so any byte sequence
//! has a defined meaning and nothing here can fail on invalid UTF-8.

use std::borrow::Cow;

/// How far the parser reads; a longer header is ignored past this point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CookieLimits {
    /// Bytes of the (joined) Cookie header that are examined.
    pub max_header_bytes: usize,
    /// `name=value` pairs that are examined before giving up.
    pub max_pairs: usize,
}

impl Default for CookieLimits {
    fn default() -> Self {
        // Node's default limit for all request headers together is 16 KiB;
        // nginx allows 4 × 8 KiB buffers. 32 KiB covers both, and so does the
        // pair limit (a pair takes at least two bytes, `=` and `;`).
        CookieLimits { max_header_bytes: 32 * 1024, max_pairs: 16 * 1024 }
    }
}

fn is_sp(c: u8) -> bool {
    c == b' ' || c == b'\t'
}

fn find(h: &[u8], c: u8, from: usize) -> Option<usize> {
    find_byte(h.get(from..)?, c).map(|p| p + from)
}

/// The first `c` in `h`, eight bytes per step (headers are scanned on every
/// request; a byte-by-byte search does not vectorize).
fn find_byte(h: &[u8], c: u8) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    let pattern = LO.wrapping_mul(u64::from(c));
    let mut words = h.chunks_exact(8);
    let mut at = 0;
    for chunk in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w) ^ pattern;
        // The lowest set bit marks the first zero byte of `x` (bits above a
        // zero byte may be false positives; bits below it never are).
        let zero = x.wrapping_sub(LO) & !x & HI;
        if zero != 0 {
            return Some(at + (zero.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    words.remainder().iter().position(|&x| x == c).map(|p| p + at)
}

/// Where the raw values (after trimming and unquoting, before
/// percent-decoding) of the pairs named `name` are, in header order,
/// following `cookie.parse` 0.7.2 step by step, including its back-tracking
/// over fragments that have no `=`. express-session reads the first; the
/// others are for trying each of several cookies of one name (RFC 6265bis:
/// a parent domain's or a longer path's cookie is sent beside the app's own).
pub(crate) fn raw_values<'h>(header: &'h [u8], name: &'h [u8], limits: CookieLimits) -> RawValues<'h> {
    let h = &header[..header.len().min(limits.max_header_bytes)];
    RawValues { h, name, max_pairs: limits.max_pairs, index: 0, pairs: 0, done: h.len() < 2 }
}

/// The iterator of [`raw_values`].
pub(crate) struct RawValues<'h> {
    h: &'h [u8],
    name: &'h [u8],
    max_pairs: usize,
    index: usize,
    pairs: usize,
    done: bool,
}

impl Iterator for RawValues<'_> {
    type Item = (usize, usize);

    fn next(&mut self) -> Option<(usize, usize)> {
        let h = self.h;
        let len = h.len();
        while !self.done {
            let index = self.index;
            let Some(eq) = find(h, b'=', index) else {
                self.done = true;
                return None;
            };
            let end = match find(h, b';', index) {
                None => len,
                Some(semi) if eq > semi => {
                    // Back-track to just after the last ';' before this '='.
                    self.index = h[..eq].iter().rposition(|&c| c == b';').map_or(0, |p| p + 1);
                    continue;
                }
                Some(semi) => semi,
            };
            self.pairs += 1;
            if self.pairs > self.max_pairs {
                self.done = true;
                return None;
            }
            self.index = end + 1;
            if self.index >= len {
                self.done = true;
            }
            let mut ks = index;
            while ks < eq && is_sp(h[ks]) {
                ks += 1;
            }
            let mut ke = eq;
            while ke > ks && is_sp(h[ke - 1]) {
                ke -= 1;
            }
            if &h[ks..ke] != self.name {
                continue;
            }
            let mut vs = eq + 1;
            while vs < end && is_sp(h[vs]) {
                vs += 1;
            }
            let mut ve = end;
            while ve > vs && is_sp(h[ve - 1]) {
                ve -= 1;
            }
            // cookie 0.7.2 compares the characters at vs and ve-1 even when they
            // are the same single '"', which leaves an empty value.
            if h.get(vs) == Some(&b'"') && ve > 0 && h.get(ve - 1) == Some(&b'"') {
                if ve - vs < 2 {
                    return Some((0, 0));
                }
                vs += 1;
                ve -= 1;
            }
            return Some((vs, ve));
        }
        None
    }
}

/// Latin-1 bytes as a string (each byte becomes the code point of its value).
pub(crate) fn latin1(bytes: &[u8]) -> Cow<'_, str> {
    if bytes.is_ascii() {
        // ASCII is valid UTF-8.
        Cow::Borrowed(std::str::from_utf8(bytes).unwrap_or_default())
    } else {
        Cow::Owned(bytes.iter().map(|&b| char::from(b)).collect())
    }
}

/// `decodeURIComponent`; `None` where JavaScript throws a URIError.
pub(crate) fn decode_uri_component(s: &str) -> Option<Cow<'_, str>> {
    if !s.contains('%') {
        return Some(Cow::Borrowed(s));
    }
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hi = (*b.get(i + 1)? as char).to_digit(16)?;
            let lo = (*b.get(i + 2)? as char).to_digit(16)?;
            out.push((hi * 16 + lo) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    // Escaped bytes must form valid UTF-8 on their own; raw characters are
    // already complete sequences, so validating the whole buffer is the same
    // check JavaScript makes sequence by sequence.
    String::from_utf8(out).ok().map(Cow::Owned)
}

/// `decodeURIComponent` of bytes that are ASCII (or UTF-8) into `buf`;
/// `None` if JavaScript would throw, or if the result does not fit (then use
/// [`decode_uri_component`]). The result is checked to be UTF-8 once, at
/// the end.
pub(crate) fn decode_bytes_into<'b>(b: &[u8], buf: &'b mut [u8]) -> Option<&'b str> {
    let (mut i, mut n) = (0, 0);
    while i < b.len() {
        // Copy the run up to the next escape in one go.
        let run = find_byte(&b[i..], b'%').unwrap_or(b.len() - i);
        buf.get_mut(n..n + run)?.copy_from_slice(&b[i..i + run]);
        n += run;
        i += run;
        if i < b.len() {
            let hi = (*b.get(i + 1)? as char).to_digit(16)?;
            let lo = (*b.get(i + 2)? as char).to_digit(16)?;
            *buf.get_mut(n)? = (hi * 16 + lo) as u8;
            n += 1;
            i += 3;
        }
    }
    std::str::from_utf8(&buf[..n]).ok()
}

/// Bytes `encodeURIComponent` leaves as they are: ASCII letters and digits
/// and `- _ . ! ~ * ' ( )`.
const UNRESERVED: [bool; 256] = {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'!' | b'~' | b'*' | b'\'' | b'(' | b')');
        c += 1;
    }
    t
};

/// `%00%01…%FF`: the escape of byte `b` is at `3 * b`.
const ESCAPES: &str = {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    const BYTES: [u8; 768] = {
        let mut t = [0u8; 768];
        let mut c = 0;
        while c < 256 {
            t[3 * c] = b'%';
            t[3 * c + 1] = HEX[c >> 4];
            t[3 * c + 2] = HEX[c & 15];
            c += 1;
        }
        t
    };
    match std::str::from_utf8(&BYTES) {
        Ok(s) => s,
        Err(_) => panic!("ASCII"),
    }
};

/// Where the first byte at or after `from` that `encodeURIComponent`
/// escapes is. IDs and signatures are long runs of unreserved bytes, so
/// they are checked eight at a time, with one branch per eight.
fn next_reserved(b: &[u8], mut from: usize) -> Option<usize> {
    while let Some(chunk) = b.get(from..from + 8) {
        if !chunk.iter().fold(true, |all, &c| all & UNRESERVED[usize::from(c)]) {
            break;
        }
        from += 8;
    }
    b.get(from..)?.iter().position(|&c| !UNRESERVED[usize::from(c)]).map(|p| p + from)
}

/// Whether `raw` is exactly what `encodeURIComponent` makes of its decoded
/// text: unreserved bytes as they are, every other byte as `%XY` in upper
/// case, nothing escaped that need not be.
pub(crate) fn is_uri_component_encoding(raw: &[u8]) -> bool {
    let hex = |at: usize| match raw.get(at) {
        Some(&c @ b'0'..=b'9') => Some(c - b'0'),
        Some(&c @ b'A'..=b'F') => Some(c - b'A' + 10),
        _ => None,
    };
    let mut from = 0;
    while let Some(i) = next_reserved(raw, from) {
        match (raw[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) if !UNRESERVED[usize::from((hi << 4) | lo)] => from = i + 3,
            _ => return false,
        }
    }
    true
}

/// `encodeURIComponent` (UTF-8, upper-case hex, unreserved marks kept).
pub(crate) fn encode_uri_component(s: &str, out: &mut String) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 8);
    let mut start = 0;
    while let Some(i) = next_reserved(bytes, start) {
        // A run of unreserved bytes is ASCII; the run before a continuation
        // byte is empty (and `start` may then sit inside a character).
        out.push_str(s.get(start..i).unwrap_or_default());
        let at = 3 * usize::from(bytes[i]);
        out.push_str(ESCAPES.get(at..at + 3).unwrap_or_default());
        start = i + 1;
    }
    out.push_str(s.get(start..).unwrap_or_default());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(h: &'a str, n: &str) -> Option<&'a str> {
        raw_values(h.as_bytes(), n.as_bytes(), CookieLimits::default()).next().map(|(a, b)| &h[a..b])
    }

    #[test]
    fn finds_bytes_a_word_at_a_time() {
        let h: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for len in 0..h.len() {
            for c in [b'a', b'h', b'i', b'p', b'z', b'=', 0x80, 0xff] {
                let mut h = h[..len].to_vec();
                assert_eq!(find_byte(&h, c), h.iter().position(|&x| x == c), "{len} {c}");
                // Bytes just above and below the one sought (carry and borrow cases).
                for at in 0..len {
                    h[at] = c;
                    assert_eq!(find_byte(&h, c), h.iter().position(|&x| x == c), "{len} {c} at {at}");
                    h[at] = c.wrapping_add(1);
                    assert_eq!(find_byte(&h, c), h.iter().position(|&x| x == c));
                    h[at] = c.wrapping_sub(1);
                    assert_eq!(find_byte(&h, c), h.iter().position(|&x| x == c));
                }
            }
        }
    }

    #[test]
    fn recognizes_its_own_encoding() {
        for text in ["", "s:Cipz+/=.%", "abcdefghijklmnop:", "é😀", "(!*'~)-_.", "a b"] {
            let mut encoded = String::new();
            encode_uri_component(text, &mut encoded);
            assert!(is_uri_component_encoding(encoded.as_bytes()), "{encoded}");
        }
        for raw in ["s:abc", "s%3a", "%41", "%2", "%G1", "a b", "abcdefgh%7e", "\u{e9}"] {
            assert!(!is_uri_component_encoding(raw.as_bytes()), "{raw}");
        }
    }

    #[test]
    fn follows_cookie_parse() {
        assert_eq!(get("a=1; b=2", "b"), Some("2"));
        assert_eq!(get("a=1; a=2", "a"), Some("1"));
        assert_eq!(get(" \ta \t= \t\"x\" ; b=2", "a"), Some("x"));
        assert_eq!(get("junk; a=1", "a"), Some("1"));
        assert_eq!(get("x;y;a=1;", "a"), Some("1"));
        assert_eq!(get("a=\"", "a"), Some(""));
        assert_eq!(get("a", "a"), None);
        assert_eq!(get("=", ""), None);
        assert_eq!(get("=1", ""), Some("1"));
        assert_eq!(get("a=b=c", "a"), Some("b=c"));
    }

    #[test]
    fn encode_matches_a_byte_by_byte_reference() {
        for text in [
            "",
            "abc",
            "s:Cipz+/=.%; ,",
            "é",
            "a😀b",
            "\u{7f}\u{80}",
            "(!*'~)-_.",
            "s:CipzOgVRaeB4oyhZNDUwLmMeYE8SNmog.ftSRFrtVvKLqOY9wIdJAIHEWa0gg9oWbWJ5Qd5iMpgg",
            "abcdefgh+abcdefg/abcdefgéabcdefgh😀",
            "abcdefg+",
            "+abcdefgh",
        ]
        .into_iter()
        .map(String::from)
        .chain(["é".repeat(100) + &"a+".repeat(70), "x".repeat(127) + "é" + &"/".repeat(200)])
        {
            let text = text.as_str();
            let mut fast = String::new();
            encode_uri_component(text, &mut fast);
            let slow: String = text
                .bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-_.!~*'()".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect();
            assert_eq!(fast, slow, "{text:?}");
        }
    }

    #[test]
    fn codecs() {
        assert_eq!(decode_uri_component("s%3Aab%2B").unwrap(), "s:ab+");
        assert!(decode_uri_component("%ZZ").is_none());
        assert!(decode_uri_component("%E2%82").is_none());
        let mut buf = [0u8; 16];
        assert_eq!(decode_bytes_into(b"s%3Aab%2Bc", &mut buf), Some("s:ab+c"));
        assert_eq!(decode_bytes_into(b"%41", &mut buf), Some("A"));
        assert_eq!(decode_bytes_into(b"", &mut buf), Some(""));
        assert_eq!(decode_bytes_into(b"ab%4", &mut buf), None);
        assert_eq!(decode_bytes_into(b"%C3%A9", &mut buf), Some("é"));
        assert_eq!(decode_bytes_into(b"%C3", &mut buf), None);
        assert_eq!(decode_bytes_into(b"0123456789abcdefX", &mut buf), None, "does not fit");
        let mut s = String::new();
        encode_uri_component("s:a+b/c=é ", &mut s);
        assert_eq!(s, "s%3Aa%2Bb%2Fc%3D%C3%A9%20");
        assert_eq!(latin1(b"a\xe9"), "aé");
    }

    proptest::proptest! {
        /// The ASCII fast path of reading a cookie value (`decode_bytes_into`)
        /// agrees with the reference (`latin1` then `decode_uri_component`)
        /// wherever it answers, and answers for every ASCII value that fits.
        #[test]
        fn ascii_decoding_agrees_with_the_reference(raw in "([A-Za-z0-9:._+/=-]|%[0-9A-Fa-f]{2}|%[0-9G]?){0,40}") {
            let mut buf = [0u8; 256];
            let reference = decode_uri_component(&latin1(raw.as_bytes())).map(Cow::into_owned);
            let fast = decode_bytes_into(raw.as_bytes(), &mut buf).map(str::to_string);
            proptest::prop_assert_eq!(fast, reference);
        }

        /// The as-sent copy of a returning cookie (`is_uri_component_encoding`,
        /// asked of values that decoded) is taken exactly when encoding the
        /// decoded text gives it back, so the Set-Cookie is the one encoding
        /// would write.
        #[test]
        fn the_as_sent_copy_is_what_encoding_writes(raw in "([A-Za-z0-9:._~*'()!-]|%[0-9A-Fa-f]{2}|[ +/=]){0,40}") {
            if let Some(text) = decode_uri_component(&raw) {
                let mut re_encoded = String::new();
                encode_uri_component(&text, &mut re_encoded);
                proptest::prop_assert_eq!(is_uri_component_encoding(raw.as_bytes()), re_encoded == raw, "{}", raw);
            }
        }
    }
}
