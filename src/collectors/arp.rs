//! arp: `node_arp_entries{device}` from `/proc/net/arp`, the neighbours per
//! interface (per bridge on a router: wired and wireless clients together).
//! Counts every entry, incomplete ones too, as node_exporter 1.5 does.

use super::{CollectError, Collector, read_parsed};
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::Roots;
use crate::parse::arp;

/// The arp collector.
#[derive(Default)]
pub struct ArpCollector {
    text: String,
}

impl Collector for ArpCollector {
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        let counts = read_parsed(&roots.proc_path("net/arp"), &mut self.text, arp::parse)?;
        if counts.is_empty() {
            return Ok(());
        }
        out.family("node_arp_entries", "ARP entries by device", MetricType::Gauge);
        for (device, n) in counts {
            out.sample(&[("device", device)], n);
        }
        Ok(())
    }
}
