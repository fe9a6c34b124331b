//! How long to wait before trying again: exponential, jittered, bounded
//! (KIP-580, Java's `ExponentialBackoff`: retry.backoff.ms 100, doubling,
//! retry.backoff.max.ms 1000, jitter 20%), and never past the caller's
//! deadline.

use std::time::Duration;

/// A retry schedule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first wait.
    pub initial: Duration,
    /// No wait is longer.
    pub max: Duration,
    /// Each wait is the doubled base times a factor in `1 ± jitter`, so
    /// clients that failed together do not retry together.
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
            jitter: 0.2,
        }
    }
}

impl Backoff {
    /// The wait before retry number `attempt` (0 = the first retry), with
    /// `unit` a random number in `[0, 1)`: within
    /// `[initial * (1 - jitter), max]`.
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let jitter = self.jitter.clamp(0.0, 1.0);
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let base = self
            .initial
            .saturating_mul(1u32 << attempt.min(20))
            .min(self.max);
        let factor = 1.0 - jitter + 2.0 * jitter * unit;
        base.mul_f64(factor).min(self.max)
    }

    /// [`Backoff::delay`] with a fresh random factor, cut to `remaining`:
    /// `None` when no time would be left to try again.
    pub fn next(&self, attempt: u32, remaining: Duration) -> Option<Duration> {
        let d = self.delay(attempt, fastrand::f64());
        (d < remaining).then_some(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn doubles_up_to_the_max() {
        let b = Backoff {
            jitter: 0.0,
            ..Backoff::default()
        };
        let ms: Vec<u128> = (0..6).map(|a| b.delay(a, 0.5).as_millis()).collect();
        assert_eq!(ms, vec![100, 200, 400, 800, 1000, 1000]);
        assert_eq!(b.delay(u32::MAX, 0.5), Duration::from_secs(1));
        assert_eq!(b.next(0, Duration::from_millis(50)), None);
        assert_eq!(
            b.next(0, Duration::from_secs(5)),
            Some(Duration::from_millis(100))
        );
    }

    proptest! {
        #[test]
        fn every_delay_is_within_its_bounds(
            initial_ms in 1u64..5_000,
            extra_ms in 0u64..60_000,
            jitter in 0.0f64..1.0,
            attempt in 0u32..100,
            unit in 0.0f64..1.0,
            remaining_ms in 0u64..120_000,
        ) {
            let b = Backoff {
                initial: Duration::from_millis(initial_ms),
                max: Duration::from_millis(initial_ms + extra_ms),
                jitter,
            };
            let d = b.delay(attempt, unit);
            prop_assert!(d <= b.max);
            prop_assert!(d >= b.initial.mul_f64(1.0 - jitter).min(b.max) - Duration::from_micros(1));
            // Later attempts never wait less than earlier ones, for the same draw.
            prop_assert!(b.delay(attempt + 1, unit) >= d);
            let remaining = Duration::from_millis(remaining_ms);
            if let Some(w) = b.next(attempt, remaining) {
                prop_assert!(w < remaining && w <= b.max);
            }
        }
    }
}
