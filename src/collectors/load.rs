//! load: `node_load1`, `node_load5` and `node_load15` from `/proc/loadavg`.

use super::{CollectError, Collector, read_parsed};
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::Roots;
use crate::parse::loadavg;

/// The load collector.
#[derive(Default)]
pub struct LoadCollector {
    text: String,
}

impl Collector for LoadCollector {
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        let l = read_parsed(&roots.proc_path("loadavg"), &mut self.text, loadavg::parse)?;
        for (name, help, v) in [
            ("node_load1", "1m load average.", l.one),
            ("node_load15", "15m load average.", l.fifteen),
            ("node_load5", "5m load average.", l.five),
        ] {
            out.family(name, help, MetricType::Gauge);
            out.sample(&[], v);
        }
        Ok(())
    }
}
