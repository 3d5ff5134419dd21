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
///
/// Linear in the number of devices: a sample that lists the same devices in
/// the same order as the last one (the kernel's order is stable) is matched
/// position by position; any other is sorted once (n log n) and merged
/// with the sorted history.
#[derive(Debug, Default)]
pub struct DeviceTracker<const N: usize> {
    devices: Vec<(String, [ExtendedCounter; N])>,
    /// For each position of the last sample, its index in `devices`; empty
    /// when that sample had duplicate names (the next one takes the merge).
    order: Vec<u32>,
    /// The sample being fed, reused across updates.
    incoming: Vec<(u32, [u64; N])>,
    /// Name comparisons made so far: the tests check that they grow
    /// linearly (never by timing).
    #[cfg(test)]
    comparisons: std::cell::Cell<u64>,
}

impl<const N: usize> DeviceTracker<N> {
    /// Feeds one sample: `(name, raw counters)` in any order. Devices absent
    /// from the sample are forgotten, so one that comes back starts afresh
    /// (an interface removed and re-added is a reset, not a wrap). Of two
    /// lines with one name, the first counts. Returns whether the devices
    /// (or their order) changed since the last sample.
    pub fn update<'a>(&mut self, sample: impl IntoIterator<Item = (&'a str, [u64; N])>) -> bool {
        let sample: Vec<(&str, [u64; N])> = sample.into_iter().collect();
        if self.same_order(&sample) {
            for ((_, raw), &i) in sample.iter().zip(&self.order) {
                if let Some((_, counters)) = self.devices.get_mut(i as usize) {
                    for (c, &r) in counters.iter_mut().zip(raw) {
                        c.update(r);
                    }
                }
            }
            return false;
        }
        self.merge(&sample);
        true
    }

    /// Whether `sample` names the devices of the last one, in its order.
    fn same_order(&self, sample: &[(&str, [u64; N])]) -> bool {
        sample.len() == self.order.len()
            && sample.iter().zip(&self.order).all(|((name, _), &i)| {
                self.count(1);
                self.devices.get(i as usize).is_some_and(|(n, _)| n == name)
            })
    }

    /// Sorts the sample by name and merges it with the sorted history.
    fn merge(&mut self, sample: &[(&str, [u64; N])]) {
        let mut incoming = std::mem::take(&mut self.incoming);
        incoming.clear();
        incoming.extend(sample.iter().enumerate().map(|(pos, &(_, raw))| (pos as u32, raw)));
        let name = |pos: u32| sample.get(pos as usize).map_or("", |s| s.0);
        // Stable: of equal names, the first line stays first.
        incoming.sort_by(|a, b| {
            self.count(1);
            name(a.0).cmp(name(b.0))
        });
        let mut old = std::mem::take(&mut self.devices).into_iter().peekable();
        let mut next: Vec<(String, [ExtendedCounter; N])> = Vec::with_capacity(incoming.len());
        let mut order = vec![u32::MAX; sample.len()];
        let mut duplicates = false;
        for &(pos, raw) in &incoming {
            let n = name(pos);
            if next.last().is_some_and(|(last, _)| last == n) {
                duplicates = true;
                continue;
            }
            // Skip the devices that are gone (sorted before this one).
            while old.peek().is_some_and(|(o, _)| {
                self.count(1);
                o.as_str() < n
            }) {
                old.next();
            }
            let entry = match old.next_if(|(o, _)| o == n) {
                Some((o, mut counters)) => {
                    for (c, r) in counters.iter_mut().zip(raw) {
                        c.update(r);
                    }
                    (o, counters)
                }
                None => (n.to_string(), raw.map(ExtendedCounter::new)),
            };
            if let Some(slot) = order.get_mut(pos as usize) {
                *slot = next.len() as u32;
            }
            next.push(entry);
        }
        self.devices = next;
        self.order = if duplicates { Vec::new() } else { order };
        self.incoming = incoming;
    }

    #[cfg(test)]
    fn count(&self, n: u64) {
        self.comparisons.set(self.comparisons.get() + n);
    }

    #[cfg(not(test))]
    fn count(&self, _: u64) {}

    /// Devices from the last sample, sorted by name.
    pub fn devices(&self) -> impl Iterator<Item = (&str, &[ExtendedCounter; N])> {
        self.devices.iter().map(|(n, c)| (n.as_str(), c))
    }

    /// How many devices the last sample had.
    pub fn len(&self) -> usize {
        self.devices.len()
    }

    /// Whether the last sample had no device.
    pub fn is_empty(&self) -> bool {
        self.devices.is_empty()
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
        t.update([("a", [1]), ("b", [2]), ("a", [9])]);
        assert_eq!(t.devices().count(), 2);
        assert_eq!(t.devices().next().map(|(_, c)| c[0].value()), Some(1));
        // Again, the same sample: still the first line's history.
        t.update([("a", [3]), ("b", [2]), ("a", [9])]);
        let v: Vec<_> = t.devices().map(|(n, c)| (n, c[0].value())).collect();
        assert_eq!(v, vec![("a", 3), ("b", 2)]);
    }

    #[test]
    fn reordered_renamed_and_repeated_samples_keep_each_history() {
        let mut t = DeviceTracker::<1>::default();
        t.update([("c", [1]), ("a", [1]), ("b", [1])]);
        t.update([("c", [2]), ("a", [3]), ("b", [4])]); // same order
        t.update([("b", [5]), ("c", [6]), ("d", [7])]); // a gone, d new
        t.update([("b", [6]), ("c", [7]), ("d", [8])]);
        let v: Vec<_> = t.devices().map(|(n, c)| (n, c[0].value())).collect();
        assert_eq!(v, vec![("b", 6), ("c", 7), ("d", 8)]);
        t.update(std::iter::empty());
        assert!(t.is_empty());
    }

    /// Name comparisons of `updates` samples of `n` devices: the first in
    /// one order, then reversed, then rotated, then the same again.
    fn comparisons(n: usize) -> u64 {
        let names: Vec<String> = (0..n).map(|i| format!("eth{i}")).collect();
        let mut t = DeviceTracker::<2>::default();
        let fwd: Vec<(&str, [u64; 2])> = names.iter().map(|n| (n.as_str(), [1, 2])).collect();
        let mut rev = fwd.clone();
        rev.reverse();
        let mut rot = fwd.clone();
        rot.rotate_left(n / 3);
        for sample in [&fwd, &fwd, &rev, &rot, &rot, &rot] {
            t.update(sample.iter().copied());
        }
        assert_eq!(t.len(), n);
        t.comparisons.get()
    }

    #[test]
    fn work_grows_linearly_with_devices() {
        // Sixteen times the devices: sorting costs at most 16 * log2(16n)/log2(n)
        // times the comparisons (under 32 here); the old quadratic
        // duplicate check cost 256 times.
        let (small, big) = (comparisons(500), comparisons(8000));
        assert!(big < 32 * small, "{small} comparisons for 500 devices, {big} for 8000");
        // The steady state (same order) is one comparison per device.
        let mut t = DeviceTracker::<1>::default();
        let names: Vec<String> = (0..1000).map(|i| format!("{i:x}")).collect();
        t.update(names.iter().map(|n| (n.as_str(), [1])));
        let before = t.comparisons.get();
        t.update(names.iter().map(|n| (n.as_str(), [2])));
        assert_eq!(t.comparisons.get() - before, 1000);
    }
}
