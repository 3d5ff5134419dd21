//! arp: `node_arp_entries{device}` from `/proc/net/arp`, the neighbours per
//! interface (per bridge on a router: wired and wireless clients together).
//! Counts every entry, incomplete ones too, as node_exporter 1.5 does.

use super::{CollectError, Collector, kept, read_kept_parsed};
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::{KeptFile, Roots};
use crate::parse::arp;

/// The arp collector.
#[derive(Default)]
pub struct ArpCollector {
    text: String,
    /// The source, kept open across scrapes (`KeptFile`).
    file: Option<KeptFile>,
}

impl Collector for ArpCollector {
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        let counts = read_kept_parsed(
            kept(&mut self.file, roots, || KeptFile::proc(roots, "net/arp")),
            &mut self.text,
            arp::parse,
        )?;
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
