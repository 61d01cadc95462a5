//! Cookie signatures as cookie-signature 1.0.7 makes them:
//! `value + "." + base64(HMAC-SHA256(secret, value))` without `=` padding.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Length of the unpadded base64 of a SHA-256 MAC.
pub(crate) const SIGNATURE_LEN: usize = 43;

/// A signing key with its HMAC state precomputed once per configuration.
#[derive(Clone)]
pub(crate) struct Key {
    mac: HmacSha256,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(<redacted>)")
    }
}

impl Key {
    pub(crate) fn new(secret: &[u8]) -> Self {
        // HMAC accepts keys of any length, so this cannot fail.
        let mac = <HmacSha256 as Mac>::new_from_slice(secret).unwrap_or_else(|_| unreachable!());
        Key { mac }
    }

    fn tag(&self, value: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(value);
        mac.finalize().into_bytes().into()
    }

    /// The signature of `value` (what follows the `.`).
    pub(crate) fn signature(&self, value: &str) -> Signature {
        let mut sig = Signature { text: [0u8; SIGNATURE_LEN + 1], len: 0 };
        sig.len = STANDARD_NO_PAD.encode_slice(self.tag(value.as_bytes()), &mut sig.text).unwrap_or(0);
        sig
    }

    /// cookie-signature's `unsign`: the value before the last `.` if the whole
    /// input equals its signed form, compared in constant time.
    pub(crate) fn unsign<'a>(&self, input: &'a str) -> Option<&'a str> {
        let dot = input.rfind('.')?;
        let (value, sig) = (&input[..dot], &input.as_bytes()[dot + 1..]);
        if sig.len() != SIGNATURE_LEN {
            return None;
        }
        let mut expected = [0u8; SIGNATURE_LEN + 1];
        let n = STANDARD_NO_PAD.encode_slice(self.tag(value.as_bytes()), &mut expected).unwrap_or(0);
        constant_time_eq(&expected[..n], sig).then_some(value)
    }
}

/// A signature in base64 without padding, kept inline.
#[derive(Clone)]
pub(crate) struct Signature {
    text: [u8; SIGNATURE_LEN + 1],
    len: usize,
}

impl Signature {
    pub(crate) fn as_str(&self) -> &str {
        // Base64 output is ASCII.
        std::str::from_utf8(&self.text[..self.len]).unwrap_or_default()
    }
}

/// Equality without an early exit on the first differing byte.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_cookie_signature() {
        // From the conformance corpus (secret "keyboard cat").
        let k = Key::new(b"keyboard cat");
        let id = "CipzOgVRaeB4oyhZNDUwLmMeYE8SNmog";
        let s = format!("{id}.{}", k.signature(id).as_str());
        assert_eq!(s, "CipzOgVRaeB4oyhZNDUwLmMeYE8SNmog.ftSRFrtVvKLqOY9wIdJAIHEWa0gg9oWbWJ5Qd5iMpgg");
        assert_eq!(k.unsign(&s), Some("CipzOgVRaeB4oyhZNDUwLmMeYE8SNmog"));
        assert_eq!(k.unsign(&(s.clone() + "=")), None);
        assert_eq!(k.unsign("nodot"), None);
        assert_eq!(Key::new(b"other").unsign(&s), None);
    }
}
