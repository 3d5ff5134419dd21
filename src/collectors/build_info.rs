//! build_info: `ap_exporter_build_info{target,version} 1`, so a fleet
//! dashboard shows which build each router runs; under `--supervise`, also
//! `ap_exporter_restarts_total`, so a crashing exporter can be alerted on.

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
        if let Some(restarts) = crate::os::supervisor::restarts() {
            out.family(
                "ap_exporter_restarts_total",
                "Times the supervisor (--supervise) started the exporter again after it died.",
                MetricType::Counter,
            );
            out.sample(&[], u64::from(restarts));
        }
        Ok(())
    }
}
