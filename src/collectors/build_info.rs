//! build_info: `ap_exporter_build_info{target,version} 1`, so a fleet
//! dashboard shows which build each router runs.

use super::{CollectError, Collector};
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::Roots;

/// The build info collector.
pub struct BuildInfoCollector;

impl Collector for BuildInfoCollector {
    fn collect(&mut self, _roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        out.family(
            "ap_exporter_build_info",
            "A metric with a constant '1' value labeled by version and target.",
            MetricType::Gauge,
        );
        out.sample(&[("target", crate::TARGET), ("version", crate::VERSION)], 1u64);
        Ok(())
    }
}
