//! netdev: `/proc/net/dev` counters, extended past 32-bit wraps, with
//! node_exporter's names (`node_network_receive_bytes_total`, ...).

use super::{CollectError, Collector};
use crate::config::NetdevConfig;
use crate::counter_wrap::DeviceTracker;
use crate::exposition::{Exposition, MetricType};
use crate::procfs::net_dev::{self, FIELD_COUNT, RECEIVE_FIELDS, TRANSMIT_FIELDS};
use crate::source::Roots;
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
    last_read: Option<Instant>,
}

impl NetdevCollector {
    /// A collector with the given settings.
    pub fn new(config: &NetdevConfig) -> Self {
        NetdevCollector {
            config: config.clone(),
            text: String::new(),
            tracker: DeviceTracker::default(),
            families: FamilyNames::new(),
            last_read: None,
        }
    }

    /// Takes new settings, keeping the counter history.
    pub fn configure(&mut self, config: &NetdevConfig) {
        self.config = config.clone();
    }

    /// Reads `/proc/net/dev` and feeds the selected devices to the tracker.
    fn read(&mut self, roots: &Roots) -> Result<(), CollectError> {
        self.last_read = Some(Instant::now());
        roots.read_proc(SOURCE, &mut self.text)?;
        let devices = net_dev::parse(&self.text)
            .map_err(|error| CollectError::Parse { path: roots.proc_path(SOURCE), error })?;
        let config = &self.config;
        self.tracker.update(devices.iter().filter(|d| config.selects(d.name)).map(|d| (d.name, d.counters)));
        Ok(())
    }
}

impl Collector for NetdevCollector {
    fn name(&self) -> &'static str {
        "netdev"
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
        Some(self.last_read.map_or_else(Instant::now, |t| t + every))
    }
}
