//! The delay between polls of a remote source. While the source answers,
//! `poll_min`; after failures in a row it doubles, up to `poll_max`. Every
//! delay is drawn between 80 % and 100 % of that figure, so replicas started
//! together drift apart instead of polling in step, and neither bound is
//! ever exceeded.

use std::time::Duration;

/// The share of a delay that jitter may take off.
const JITTER: f64 = 0.2;

/// The delay before the next poll after `failures` failed polls in a row;
/// `unit` is a random number in `[0, 1)`.
pub(super) fn delay(min: Duration, max: Duration, failures: u32, unit: f64) -> Duration {
    // Past 2^16 × min the ceiling has long been reached; the cap keeps the
    // multiplication from overflowing.
    let factor = 1u32 << failures.min(16);
    let base = min.saturating_mul(factor).min(max);
    base.mul_f64(1.0 - JITTER * unit.clamp(0.0, 1.0))
}

/// A random number in `[0, 1)`; the middle when the system has no
/// randomness to give (jitter is a courtesy, not a safety property).
pub(super) fn random_unit() -> f64 {
    match getrandom::u64() {
        // The top 53 bits fill an f64's mantissa exactly.
        Ok(bits) => (bits >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(10);
    const MAX: Duration = Duration::from_secs(300);

    #[test]
    fn a_healthy_source_is_polled_every_min_less_jitter() {
        assert_eq!(delay(MIN, MAX, 0, 0.0), MIN);
        assert_eq!(delay(MIN, MAX, 0, 0.5), Duration::from_secs(9));
        assert!(delay(MIN, MAX, 0, 0.999_999) > Duration::from_secs(8));
    }

    #[test]
    fn failures_double_the_delay_up_to_max() {
        let delays: Vec<_> = (0..8).map(|n| delay(MIN, MAX, n, 0.0)).collect();
        let secs: Vec<_> = delays.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(delay(MIN, MAX, u32::MAX, 0.0), MAX);
        assert_eq!(delay(MIN, MAX, u32::MAX, 1.0), Duration::from_secs(240));
    }

    #[test]
    fn random_units_stay_in_range() {
        for _ in 0..1000 {
            let u = random_unit();
            assert!((0.0..1.0).contains(&u), "{u}");
        }
    }
}
