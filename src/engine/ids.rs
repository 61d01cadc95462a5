//! Session ID sources. The engine never reads OS randomness itself: the host
//! hands it entropy (or a list of IDs, like express-session's `genid`).

use std::collections::VecDeque;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of entropy a [`SeededIds`] needs.
pub const SEED_LEN: usize = 32;

/// Where a request gets the IDs of the sessions it creates. An engine asks
/// exactly when express-session would call `genid`.
pub trait IdSource: Send {
    /// The next session ID, or `None` if the source is exhausted.
    fn next_id(&mut self) -> Option<String>;
}

/// IDs derived from 32 bytes of caller-supplied entropy (from a CSPRNG):
/// ID *n* is the base64url form of HMAC-SHA256(seed, "libsession-id" ‖ n),
/// 43 characters carrying 256 bits. One seed yields any number of IDs, so a
/// request that regenerates its session twice needs no more entropy.
pub struct SeededIds {
    seed: [u8; SEED_LEN],
    /// The HMAC key schedule, built on the first ID (most requests need none).
    mac: Option<Hmac<Sha256>>,
    counter: u64,
}

impl std::fmt::Debug for SeededIds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeededIds").field("counter", &self.counter).finish_non_exhaustive()
    }
}

impl SeededIds {
    /// IDs derived from `seed` (take it from a CSPRNG, once per request or
    /// per worker: the IDs are as unpredictable as the seed).
    pub fn new(seed: &[u8; SEED_LEN]) -> Self {
        SeededIds { seed: *seed, mac: None, counter: 0 }
    }
}

impl IdSource for SeededIds {
    fn next_id(&mut self) -> Option<String> {
        let seed = &self.seed;
        let mut mac = self
            .mac
            .get_or_insert_with(|| <Hmac<Sha256> as Mac>::new_from_slice(seed).unwrap_or_else(|_| unreachable!()))
            .clone();
        mac.update(b"libsession-id");
        mac.update(&self.counter.to_be_bytes());
        self.counter = self.counter.wrapping_add(1);
        Some(URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
    }
}

/// A fixed list of IDs handed out in order (tests, or a host with its own
/// ID scheme); IDs pushed first are used first. Optionally falls back to a
/// seeded source when the list runs out.
#[derive(Default, Debug)]
pub struct IdQueue {
    ids: VecDeque<String>,
    fallback: Option<SeededIds>,
}

impl IdQueue {
    /// These IDs, in order.
    pub fn new<I: IntoIterator<Item = S>, S: Into<String>>(ids: I) -> Self {
        IdQueue { ids: ids.into_iter().map(Into::into).collect(), fallback: None }
    }

    /// Use IDs from `seed` once the queue is empty.
    pub fn with_fallback(mut self, seed: &[u8; SEED_LEN]) -> Self {
        self.fallback = Some(SeededIds::new(seed));
        self
    }

    /// Queues one more ID.
    pub fn push(&mut self, id: impl Into<String>) {
        self.ids.push_back(id.into());
    }

    /// IDs not handed out yet.
    pub fn remaining(&self) -> usize {
        self.ids.len()
    }
}

impl IdSource for IdQueue {
    fn next_id(&mut self) -> Option<String> {
        self.ids.pop_front().or_else(|| self.fallback.as_mut().and_then(IdSource::next_id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_ids_are_distinct_and_url_safe() {
        let mut s = SeededIds::new(&[7; 32]);
        let a = s.next_id().unwrap();
        let b = s.next_id().unwrap();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(SeededIds::new(&[7; 32]).next_id().unwrap(), a);
    }

    #[test]
    fn queue_then_fallback() {
        let mut q = IdQueue::new(["x"]).with_fallback(&[1; 32]);
        assert_eq!(q.next_id().unwrap(), "x");
        assert_eq!(q.next_id().unwrap().len(), 43);
        assert_eq!(IdQueue::new(Vec::<String>::new()).next_id(), None);
    }
}
