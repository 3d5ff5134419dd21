//! Extends 32-bit kernel counters to monotonic 64-bit ones.
//!
//! On 32-bit kernels `/proc/net/dev` counters wrap at 4 GiB: every 34 s at
//! 1 Gbit/s. The exporter samples between scrapes and adds up the deltas,
//! treating a fall as a wrap only when it is plausible; anything else is a
//! real reset, which the output shows as a fall (Prometheus' `rate()` copes).

/// Largest increase a single sample interval may show across a wrap. A fall
/// needing more than half the 32-bit range to explain is a reset instead:
/// e.g. 1e9 -> 5e6 would need 3.3e9 more bytes, so it is a reset.
pub const MAX_WRAP_DELTA: u64 = 1 << 31;

/// One counter's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExtendedCounter {
    last_raw: u64,
    extended: u64,
}

impl ExtendedCounter {
    /// Starts from a first raw reading.
    pub fn new(raw: u64) -> Self {
        ExtendedCounter { last_raw: raw, extended: raw }
    }

    /// The monotonic (until a reset) value.
    pub fn value(&self) -> u64 {
        self.extended
    }

    /// Feeds the next raw reading.
    pub fn update(&mut self, raw: u64) {
        const RANGE: u64 = 1 << 32;
        let last = self.last_raw;
        if raw >= last {
            self.extended = self.extended.wrapping_add(raw - last);
        } else if last < RANGE && RANGE - last + raw <= MAX_WRAP_DELTA {
            // A 32-bit counter went past 2^32: count the distance travelled.
            self.extended = self.extended.wrapping_add(RANGE - last + raw);
        } else {
            // A 64-bit counter fell, or a 32-bit one fell too far: a reset.
            self.extended = raw;
        }
        self.last_raw = raw;
    }
}

/// Tracked counters for a set of named devices, kept sorted by name.
#[derive(Debug, Default)]
pub struct DeviceTracker<const N: usize> {
    devices: Vec<(String, [ExtendedCounter; N])>,
}

impl<const N: usize> DeviceTracker<N> {
    /// Feeds one sample: `(name, raw counters)` in any order. Devices absent
    /// from the sample are forgotten, so one that comes back starts afresh
    /// (an interface removed and re-added is a reset, not a wrap).
    pub fn update<'a>(&mut self, sample: impl IntoIterator<Item = (&'a str, [u64; N])>) {
        let mut old = std::mem::take(&mut self.devices);
        let mut next: Vec<(String, [ExtendedCounter; N])> = Vec::with_capacity(old.len());
        for (name, raw) in sample {
            if next.iter().any(|(n, _)| n == name) {
                continue; // a duplicate line: keep the first
            }
            match old.binary_search_by(|(n, _)| n.as_str().cmp(name)) {
                Ok(i) => {
                    let n = std::mem::take(&mut old[i].0);
                    let mut counters = old[i].1;
                    for (c, r) in counters.iter_mut().zip(raw) {
                        c.update(r);
                    }
                    next.push((n, counters));
                }
                Err(_) => next.push((name.to_string(), raw.map(ExtendedCounter::new))),
            }
        }
        next.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        self.devices = next;
    }

    /// Devices from the last sample, sorted by name.
    pub fn devices(&self) -> impl Iterator<Item = (&str, &[ExtendedCounter; N])> {
        self.devices.iter().map(|(n, c)| (n.as_str(), c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(raws: &[u64]) -> Vec<u64> {
        let mut c = ExtendedCounter::new(raws[0]);
        let mut out = vec![c.value()];
        for &r in &raws[1..] {
            c.update(r);
            out.push(c.value());
        }
        out
    }

    #[test]
    fn wrap_is_extended() {
        let top = (1u64 << 32) - 1000;
        assert_eq!(run(&[top, 500, 5000]), vec![top, top + 1500, top + 6000]);
        // Two wraps in a row.
        assert_eq!(run(&[top, 0, top, 10])[3], top + 1000 + top + 1010);
    }

    #[test]
    fn big_fall_is_a_reset() {
        assert_eq!(run(&[1_000_000_000, 5_000_000, 6_000_000]), vec![1_000_000_000, 5_000_000, 6_000_000]);
    }

    #[test]
    fn sixty_four_bit_counters_never_wrap_at_32() {
        let big = 5u64 << 32;
        assert_eq!(run(&[big, 100]), vec![big, 100]);
        assert_eq!(run(&[big, big + 7]), vec![big, big + 7]);
    }

    #[test]
    fn removed_and_readded_device_starts_afresh() {
        let top = (1u64 << 32) - 10;
        let mut t = DeviceTracker::<1>::default();
        t.update([("eth0", [top]), ("wl0", [1])]);
        t.update([("eth0", [20])]);
        let v: Vec<_> = t.devices().map(|(n, c)| (n.to_string(), c[0].value())).collect();
        assert_eq!(v, vec![("eth0".to_string(), top + 30)]);
        t.update([("wl0", [3]), ("eth0", [40])]);
        let v: Vec<_> = t.devices().map(|(n, c)| (n.to_string(), c[0].value())).collect();
        assert_eq!(v, vec![("eth0".to_string(), top + 50), ("wl0".to_string(), 3)]);
    }

    #[test]
    fn duplicate_names_keep_the_first() {
        let mut t = DeviceTracker::<1>::default();
        t.update([("a", [1]), ("a", [9])]);
        assert_eq!(t.devices().count(), 1);
        assert_eq!(t.devices().next().map(|(_, c)| c[0].value()), Some(1));
    }
}
