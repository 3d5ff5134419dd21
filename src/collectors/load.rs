//! load: `node_load1`, `node_load5` and `node_load15` from `/proc/loadavg`.

use super::{CollectError, Collector, kept, read_kept_parsed};
use crate::metrics::exposition::{Exposition, Family, MetricType};
use crate::os::source::{KeptFile, Roots};
use crate::parse::loadavg;

/// The load collector.
pub struct LoadCollector {
    text: String,
    file: Option<KeptFile>,
    /// node_load1, node_load15, node_load5 (sorted, as node_exporter).
    families: [Family; 3],
}

impl Default for LoadCollector {
    fn default() -> Self {
        let gauge = |name, help| Family::new(name, help, MetricType::Gauge);
        LoadCollector {
            text: String::new(),
            file: None,
            families: [
                gauge("node_load1", "1m load average."),
                gauge("node_load15", "15m load average."),
                gauge("node_load5", "5m load average."),
            ],
        }
    }
}

impl Collector for LoadCollector {
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        let l = read_kept_parsed(
            kept(&mut self.file, roots, || KeptFile::proc(roots, "loadavg").single_record()),
            &mut self.text,
            loadavg::parse,
        )?;
        for (family, v) in self.families.iter().zip([l.one, l.fifteen, l.five]) {
            out.start(family);
            out.sample(&[], v);
        }
        Ok(())
    }
}
