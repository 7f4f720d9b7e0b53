//! A tiny seeded PRNG (xorshift64*), so that the random tests need no
//! crate and a failing seed replays exactly.
#![allow(dead_code)]

pub struct Rng(pub u64);

/// The seed in the environment variable `var` (a decimal number), or
/// `default`: a run's seed replays with `var=SEED`.
pub fn seed_from_env(var: &str, default: u64) -> u64 {
    std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
