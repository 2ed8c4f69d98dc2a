//! The random values the reconnect policy asks for, for its jitter. Not
//! for cryptography: it only has to differ between clients.

use core::hash::{BuildHasher, Hasher};
use std::collections::hash_map::RandomState;

/// A xorshift generator seeded from the standard library's per-process
/// random hash keys.
#[derive(Debug, Clone)]
pub(crate) struct Random(u64);

impl Random {
    pub(crate) fn new() -> Random {
        let mut hasher = RandomState::new().build_hasher();
        hasher.write_u64(0x5353_454b_4954);
        // Xorshift must not start at zero.
        Random(hasher.finish() | 1)
    }

    pub(crate) fn next_u32(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        // The high half is the better mixed.
        (x >> 32) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::Random;

    #[test]
    fn values_vary() {
        let mut random = Random::new();
        let values: std::vec::Vec<u32> = (0..8).map(|_| random.next_u32()).collect();
        assert!(values.windows(2).any(|w| w[0] != w[1]));
    }
}
