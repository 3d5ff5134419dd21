//! stat: boot time, context switches, forks, interrupts and the runnable and
//! blocked process counts from `/proc/stat`, named as node_exporter's stat
//! collector names them. A total the kernel does not print is left out.

use super::{CollectError, Collector, kept, read_kept_parsed};
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::{KeptFile, Roots};
use crate::parse::stat;

/// The stat collector.
#[derive(Default)]
pub struct StatCollector {
    text: String,
    /// The source, kept open across scrapes (`KeptFile`).
    file: Option<KeptFile>,
}

impl Collector for StatCollector {
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        let s = read_kept_parsed(
            kept(&mut self.file, roots, || KeptFile::proc(roots, "stat")),
            &mut self.text,
            stat::parse,
        )?;
        // Sorted by name, as node_exporter writes them.
        for (name, help, ty, value) in [
            ("node_boot_time_seconds", "Node boot time, in unixtime.", MetricType::Gauge, s.boot_time),
            (
                "node_context_switches_total",
                "Total number of context switches.",
                MetricType::Counter,
                s.context_switches,
            ),
            ("node_forks_total", "Total number of forks.", MetricType::Counter, s.forks),
            ("node_intr_total", "Total number of interrupts serviced.", MetricType::Counter, s.interrupts),
            (
                "node_procs_blocked",
                "Number of processes blocked waiting for I/O to complete.",
                MetricType::Gauge,
                s.procs_blocked,
            ),
            ("node_procs_running", "Number of processes in runnable state.", MetricType::Gauge, s.procs_running),
        ] {
            if let Some(v) = value {
                out.family(name, help, ty);
                out.sample(&[], v);
            }
        }
        Ok(())
    }
}
