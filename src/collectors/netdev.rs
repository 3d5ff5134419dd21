//! netdev: `/proc/net/dev` counters, extended past 32-bit wraps, with
//! node_exporter's names (`node_network_receive_bytes_total`, ...).

use super::{CollectError, Collector, read_parsed};
use crate::config::{Config, NetdevConfig};
use crate::metrics::counter_wrap::DeviceTracker;
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::Roots;
use crate::parse::net_dev::{self, FIELD_COUNT, RECEIVE_FIELDS, TRANSMIT_FIELDS};
use std::time::{Duration, Instant};

const SOURCE: &str = "net/dev";

/// Family names and HELP texts, built once: 8 receive then 8 transmit.
struct FamilyNames {
    names: Vec<(String, String)>,
}

impl FamilyNames {
    fn new() -> Self {
        let names = RECEIVE_FIELDS
            .iter()
            .map(|f| ("receive", f))
            .chain(TRANSMIT_FIELDS.iter().map(|f| ("transmit", f)))
            .map(|(dir, f)| (format!("node_network_{dir}_{f}_total"), format!("Network device statistic {dir}_{f}.")))
            .collect();
        FamilyNames { names }
    }
}

/// The netdev collector.
pub struct NetdevCollector {
    config: NetdevConfig,
    text: String,
    tracker: DeviceTracker<FIELD_COUNT>,
    families: FamilyNames,
    /// When `/proc/net/dev` was last read, or when the collector was made:
    /// the first sample is due at once, at that fixed time. (Answering
    /// "now" instead is never reached by a later clock reading, and the
    /// loop would spin until the first scrape.)
    last_read: Instant,
    /// Whether `/proc/net/dev` was read yet.
    read_once: bool,
}

impl NetdevCollector {
    /// A collector with the given settings.
    pub fn new(config: &NetdevConfig) -> Self {
        NetdevCollector {
            config: config.clone(),
            text: String::new(),
            tracker: DeviceTracker::default(),
            families: FamilyNames::new(),
            last_read: Instant::now(),
            read_once: false,
        }
    }

    /// Reads `/proc/net/dev` and feeds the selected devices to the tracker.
    fn read(&mut self, roots: &Roots) -> Result<(), CollectError> {
        self.last_read = Instant::now();
        self.read_once = true;
        let devices = read_parsed(&roots.proc_path(SOURCE), &mut self.text, net_dev::parse)?;
        let config = &self.config;
        self.tracker.update(devices.iter().filter(|d| config.selects(d.name)).map(|d| (d.name, d.counters)));
        Ok(())
    }
}

impl Collector for NetdevCollector {
    fn configure(&mut self, config: &Config) {
        // The counter history stays: a reload must not reset the totals.
        self.config = config.netdev.clone();
    }

    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        self.read(roots)?;
        for (field, (name, help)) in self.families.names.iter().enumerate() {
            out.family(name, help, MetricType::Counter);
            for (device, counters) in self.tracker.devices() {
                out.sample(&[("device", device)], counters[field].value());
            }
        }
        Ok(())
    }

    fn sample(&mut self, roots: &Roots) {
        // A failure here shows up at the next scrape, which logs it.
        if let Err(e) = self.read(roots) {
            log::debug!("netdev sample failed: {e}");
        }
    }

    fn next_sample(&self) -> Option<Instant> {
        let every = self.config.sample_interval_seconds.0;
        if every == 0 {
            return None;
        }
        let every = Duration::from_secs(every);
        Some(if self.read_once { self.last_read + every } else { self.last_read })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    struct Root(PathBuf);
    impl Drop for Root {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn root(tag: &str) -> (Root, Roots) {
        let dir = std::env::temp_dir().join(format!("apx-netdev-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("net")).unwrap();
        let roots = Roots { procfs: dir.clone(), ..Roots::default() };
        (Root(dir), roots)
    }

    /// Writes net/dev with one line per `(name, rx_bytes)`, as 2.6.22 prints it.
    fn write(roots: &Roots, devs: &[(&str, u64)]) {
        let mut text = String::from("Inter-|   Receive |  Transmit\n face |bytes packets|bytes\n");
        for (name, rx) in devs {
            text.push_str(&format!("{name:>6}:{rx:8} 1 0 0 0 0 0 0 2 3 0 0 0 0 0 0\n"));
        }
        std::fs::write(roots.proc_path("net/dev"), text).unwrap();
    }

    fn rx_bytes(c: &mut NetdevCollector, roots: &Roots, dev: &str) -> Option<u64> {
        let mut out = Exposition::new();
        c.collect(roots, &mut out).unwrap();
        let prefix = format!("node_network_receive_bytes_total{{device=\"{dev}\"}} ");
        out.as_str().lines().find_map(|l| l.strip_prefix(&prefix)).map(|v| v.parse().unwrap())
    }

    #[test]
    fn sampling_between_scrapes_catches_a_wrap() {
        let (_guard, roots) = root("wrap");
        let mut c = NetdevCollector::new(&Config::default().netdev);
        let near_top = (1u64 << 32) - 100;
        write(&roots, &[("eth0", near_top)]);
        assert_eq!(rx_bytes(&mut c, &roots, "eth0"), Some(near_top));
        // The counter wraps; the timer sample sees it before the next scrape.
        write(&roots, &[("eth0", 50)]);
        c.sample(&roots);
        write(&roots, &[("eth0", 4000)]);
        assert_eq!(rx_bytes(&mut c, &roots, "eth0"), Some(near_top + 100 + 4000));
    }

    #[test]
    fn removed_interface_is_a_reset_and_lo_is_excluded() {
        let (_guard, roots) = root("reset");
        let mut c = NetdevCollector::new(&Config::default().netdev);
        let near_top = (1u64 << 32) - 100;
        write(&roots, &[("lo", 5), ("wl0", near_top)]);
        assert_eq!(rx_bytes(&mut c, &roots, "wl0"), Some(near_top));
        assert_eq!(rx_bytes(&mut c, &roots, "lo"), None);
        write(&roots, &[("lo", 5)]);
        c.sample(&roots);
        assert_eq!(rx_bytes(&mut c, &roots, "wl0"), None);
        // Re-added with a small counter: a fresh start, not a wrap.
        write(&roots, &[("lo", 5), ("wl0", 10)]);
        assert_eq!(rx_bytes(&mut c, &roots, "wl0"), Some(10));
    }

    #[test]
    fn sample_timer_follows_the_config() {
        let mut config = Config::default().netdev;
        let c = NetdevCollector::new(&config);
        // Due at once, at a fixed time the loop's clock reaches.
        let due = c.next_sample().unwrap();
        assert!(due <= Instant::now());
        assert_eq!(c.next_sample(), Some(due));
        config.sample_interval_seconds = crate::config::Bounded(0);
        let c = NetdevCollector::new(&config);
        assert_eq!(c.next_sample(), None);
    }
}
