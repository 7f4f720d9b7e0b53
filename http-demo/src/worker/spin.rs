//! How long a worker polls for a completion before it sleeps: up to the
//! configured `--spin-us`, while recent waits were short enough for a spin
//! to catch them.
//!
//! A spin that catches the completion saves a sleep and a wake-up (on a
//! loaded server, most waits are a few µs); a spin that runs out only
//! burns CPU (one slow client: every wait is a round trip). So each wait
//! that ran out of spin is timed: if it still ended within the maximum, a
//! spin of the maximum would have caught it and the next wait spins that
//! long; if it took longer, the next spin is halved, down to none. A wait
//! that spun and caught its completion leaves the budget as it is.

use std::time::{Duration, Instant};

use ring_core::Spun;

/// Below this a spin is not worth its clock reads: none.
const SMALLEST: Duration = Duration::from_micros(1);

pub(super) struct SpinPolicy {
    max: Duration,
    budget: Duration,
}

impl SpinPolicy {
    pub(super) fn new(max: Duration) -> Self {
        SpinPolicy { max, budget: max }
    }

    /// Whether spinning is configured at all (if not, nothing is timed).
    pub(super) fn enabled(&self) -> bool {
        !self.max.is_zero()
    }

    /// How long the next wait may spin.
    pub(super) fn budget(&self) -> Duration {
        self.budget
    }

    /// Learns from a wait that started at `start`.
    pub(super) fn after(&mut self, spun: Spun, start: Instant) {
        if !spun.waited {
            return;
        }
        self.budget = if start.elapsed() <= self.max {
            self.max
        } else if self.budget / 2 < SMALLEST {
            Duration::ZERO
        } else {
            self.budget / 2
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waited() -> Spun {
        Spun {
            submitted: 0,
            waited: true,
        }
    }

    #[test]
    fn long_waits_halve_the_spin_to_none_and_a_short_one_restores_it() {
        let mut p = SpinPolicy::new(Duration::from_micros(20));
        let long_ago = Instant::now() - Duration::from_millis(5);
        p.after(waited(), long_ago);
        assert_eq!(p.budget(), Duration::from_micros(10));
        for _ in 0..5 {
            p.after(waited(), long_ago);
        }
        assert_eq!(p.budget(), Duration::ZERO);
        // A wait that ended within the maximum: a spin would have caught it.
        p.after(waited(), Instant::now());
        assert_eq!(p.budget(), Duration::from_micros(20));
    }

    #[test]
    fn a_caught_completion_keeps_the_budget() {
        let mut p = SpinPolicy::new(Duration::from_micros(20));
        p.after(waited(), Instant::now() - Duration::from_millis(5));
        let caught = Spun {
            submitted: 3,
            waited: false,
        };
        p.after(caught, Instant::now() - Duration::from_millis(5));
        assert_eq!(p.budget(), Duration::from_micros(10));
    }
}
