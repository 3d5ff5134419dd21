//! netdev: `/proc/net/dev` counters, extended past 32-bit wraps, with
//! node_exporter's names (`node_network_receive_bytes_total`, ...).

use super::{CollectError, Collector, kept};
use crate::config::{Config, NetdevConfig};
use crate::metrics::counter_wrap::DeviceTracker;
use crate::metrics::exposition::{Exposition, Family, MetricType, render_labels};
use crate::os::source::{KeptFile, Roots};
use crate::parse::net_dev::{self, FIELD_COUNT, RECEIVE_FIELDS, TRANSMIT_FIELDS};
use std::time::{Duration, Instant};

const SOURCE: &str = "net/dev";

/// Most interfaces exported. A router has dozens; a 4 MiB `/proc/net/dev`
/// (the read cap) of the shortest lines has 105,000, whose 16 families
/// would come to 80 MB of text. Past this many, the rest (in the kernel's
/// order, after `include`/`exclude`) are left out, with a warning and
/// `ap_exporter_netdev_interfaces_dropped`, so the read cap also bounds
/// the output (about 7 MB), memory and CPU.
pub const MAX_INTERFACES: usize = 8192;

/// The 16 families, rendered once: 8 receive then 8 transmit; then the
/// count of interfaces left out.
fn families() -> Vec<Family> {
    let dropped = Family::new(
        "ap_exporter_netdev_interfaces_dropped",
        "ap-exporter: Interfaces left out of the netdev families, past the most it exports.",
        MetricType::Gauge,
    );
    RECEIVE_FIELDS
        .iter()
        .map(|f| ("receive", f))
        .chain(TRANSMIT_FIELDS.iter().map(|f| ("transmit", f)))
        .map(|(dir, f)| {
            Family::new(
                &format!("node_network_{dir}_{f}_total"),
                &format!("Network device statistic {dir}_{f}."),
                MetricType::Counter,
            )
        })
        .chain([dropped])
        .collect()
}

/// The netdev collector.
pub struct NetdevCollector {
    config: NetdevConfig,
    text: String,
    file: Option<KeptFile>,
    tracker: DeviceTracker<FIELD_COUNT>,
    /// `{device="..."}` of each tracked device, in the tracker's order.
    labels: Vec<String>,
    families: Vec<Family>,
    /// Interfaces left out of the last read (past [`MAX_INTERFACES`]).
    dropped: usize,
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
            file: None,
            tracker: DeviceTracker::default(),
            labels: Vec::new(),
            families: families(),
            dropped: 0,
            last_read: Instant::now(),
            read_once: false,
        }
    }

    /// Reads `/proc/net/dev` and feeds the selected devices to the tracker.
    fn read(&mut self, roots: &Roots) -> Result<(), CollectError> {
        self.last_read = Instant::now();
        self.read_once = true;
        let file = kept(&mut self.file, roots, || KeptFile::proc(roots, SOURCE));
        file.read(&mut self.text)?;
        let config = &self.config;
        let mut selected = Vec::with_capacity(self.tracker.len().min(MAX_INTERFACES));
        let mut dropped = 0;
        net_dev::parse_each(&self.text, |d| {
            if config.selects(d.name) {
                if selected.len() < MAX_INTERFACES {
                    selected.push((d.name, d.counters));
                } else {
                    dropped += 1;
                }
            }
        })
        .map_err(|error| CollectError::Parse { path: file.path().to_path_buf(), error })?;
        if self.tracker.update(selected) {
            self.labels.clear();
            self.labels.extend(self.tracker.devices().map(|(name, _)| render_labels(&[("device", name)])));
        }
        if dropped > 0 && self.dropped == 0 {
            log::warn!(
                "{}: {} interfaces, more than {MAX_INTERFACES}: the rest are left out \
                 (see ap_exporter_netdev_interfaces_dropped)",
                file.path().display(),
                MAX_INTERFACES + dropped
            );
        } else if dropped == 0 && self.dropped > 0 {
            log::info!("{}: all interfaces exported again", file.path().display());
        }
        self.dropped = dropped;
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
        for (field, family) in self.families.iter().take(FIELD_COUNT).enumerate() {
            out.start(family);
            for ((_, counters), labels) in self.tracker.devices().zip(&self.labels) {
                if let Some(c) = counters.get(field) {
                    out.sample_rendered(labels, c.value());
                }
            }
        }
        if let Some(dropped) = self.families.get(FIELD_COUNT) {
            out.start(dropped);
            out.sample(&[], self.dropped as u64);
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
