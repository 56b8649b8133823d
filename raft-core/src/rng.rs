//! A small deterministic PRNG for election-timeout jitter.
//!
//! Jitter needs no cryptographic strength, and a seedable generator makes
//! simulations replayable, so raft-core carries its own instead of a
//! dependency.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

/// SplitMix64: tiny, fast, and good enough to spread election timeouts.
#[derive(Clone, Debug)]
pub(crate) struct Rng {
    state: u64,
}

impl Rng {
    pub(crate) fn new(seed: Option<u64>) -> Rng {
        let state = seed.unwrap_or_else(|| {
            // std seeds RandomState from the OS; hashing nothing with it
            // yields a fresh random 64-bit value without extra crates.
            RandomState::new().build_hasher().finish()
        });
        Rng { state }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A value in `[0, n)`; `n` must be positive.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_runs_repeat_and_stay_in_range() {
        let mut a = Rng::new(Some(7));
        let mut b = Rng::new(Some(7));
        for _ in 0..1000 {
            let x = a.below(10);
            assert_eq!(x, b.below(10));
            assert!(x < 10);
        }
    }

    #[test]
    fn covers_the_whole_range() {
        let mut r = Rng::new(Some(1));
        let mut seen = [false; 10];
        for _ in 0..1000 {
            seen[r.below(10)] = true;
        }
        assert!(seen.iter().all(|s| *s));
    }
}
