//! The operating system's CSPRNG as an ID source (feature `os-rng`): a host
//! convenience, outside the pure engine, which only ever takes entropy as
//! an input. Portable through the `getrandom` crate (getrandom(2),
//! getentropy(2), BCryptGenRandom, …).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::ids::{IdSource, SEED_LEN};

/// IDs from 32 bytes of the operating system's CSPRNG each. It fails closed
/// (no ID, so the request fails with `IdsExhausted`) if the OS source fails.
#[derive(Default, Debug)]
pub struct OsRngIds;

impl IdSource for OsRngIds {
    fn next_id(&mut self) -> Option<String> {
        let mut seed = [0u8; SEED_LEN];
        os_random(&mut seed).ok()?;
        Some(URL_SAFE_NO_PAD.encode(seed))
    }
}

/// Fills `buf` from the operating system's CSPRNG.
pub fn os_random(buf: &mut [u8]) -> std::io::Result<()> {
    getrandom::fill(buf).map_err(|e| std::io::Error::other(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_ids_are_distinct_and_url_safe() {
        let (a, b) = (OsRngIds.next_id().unwrap(), OsRngIds.next_id().unwrap());
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
    }
}
