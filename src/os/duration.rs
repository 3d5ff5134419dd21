//! Durations as whole milliseconds or microseconds in a `u64`, for poll(2)
//! timeouts and log lines. `Duration::as_millis` and `as_micros` return a
//! `u128`, whose arithmetic and printing are library code on 32-bit MIPS
//! (2.8 KB there for these few uses); a `u64` of milliseconds lasts 584
//! million years, and these saturate beyond it.

use std::time::Duration;

/// Whole milliseconds in `d`, rounded down (as `Duration::as_millis`).
pub fn millis(d: Duration) -> u64 {
    d.as_secs().saturating_mul(1000).saturating_add(u64::from(d.subsec_millis()))
}

/// Milliseconds in `d`, rounded up: a poll that waits this long does not
/// wake a hair before a deadline and spin.
pub fn millis_ceil(d: Duration) -> u64 {
    millis(d).saturating_add(u64::from(d.subsec_nanos() % 1_000_000 != 0))
}

/// Whole microseconds in `d`, rounded down (as `Duration::as_micros`).
pub fn micros(d: Duration) -> u64 {
    d.as_secs().saturating_mul(1_000_000).saturating_add(u64::from(d.subsec_micros()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The u128 originals, the reference the u64 forms must match wherever
    /// the result fits.
    fn reference(d: Duration) -> (u128, u128, u128) {
        let ceil = d.as_millis() + u128::from(d.subsec_nanos() % 1_000_000 != 0);
        (d.as_millis(), ceil, d.as_micros())
    }

    #[test]
    fn agree_with_the_u128_forms() {
        let cases = [
            Duration::ZERO,
            Duration::from_nanos(1),
            Duration::from_nanos(999),
            Duration::from_nanos(1_000),
            Duration::from_nanos(999_999),
            Duration::from_nanos(1_000_000),
            Duration::from_nanos(1_000_001),
            Duration::from_nanos(1_999_999_999),
            Duration::from_millis(1),
            Duration::from_millis(999),
            Duration::from_secs(1),
            Duration::from_secs(86_400 * 365),
            Duration::new(u64::MAX / 1_000_000, 999_999_999),
            Duration::new(u64::MAX / 1000 - 1, 999_999_999),
        ];
        for d in cases {
            let (m, c, u) = reference(d);
            assert_eq!(u128::from(millis(d)), m, "{d:?}");
            assert_eq!(u128::from(millis_ceil(d)), c, "{d:?}");
            if u <= u128::from(u64::MAX) {
                assert_eq!(u128::from(micros(d)), u, "{d:?}");
            }
        }
    }

    #[test]
    fn sub_millisecond_rounds_down_or_up() {
        let d = Duration::from_micros(1);
        assert_eq!((millis(d), millis_ceil(d), micros(d)), (0, 1, 1));
        let d = Duration::from_nanos(1_500_000);
        assert_eq!((millis(d), millis_ceil(d), micros(d)), (1, 2, 1500));
        assert_eq!(millis_ceil(Duration::from_millis(7)), 7);
    }

    #[test]
    fn huge_durations_saturate() {
        assert_eq!(millis(Duration::MAX), u64::MAX);
        assert_eq!(millis_ceil(Duration::MAX), u64::MAX);
        assert_eq!(micros(Duration::MAX), u64::MAX);
        assert_eq!(millis(Duration::new(u64::MAX / 1000, 999_999_999)), u64::MAX);
        assert_eq!(micros(Duration::new(u64::MAX / 1_000_000 + 1, 0)), u64::MAX);
    }
}
