//! cpu: `node_cpu_seconds_total{cpu,mode}` and
//! `node_cpu_guest_seconds_total{cpu,mode}` from `/proc/stat`, as
//! node_exporter's cpu collector writes them (without its optional
//! `/proc/cpuinfo` and thermal throttle families).
//!
//! Ticks are USER_HZ, 100 on every Linux router. A kernel that prints fewer
//! columns (2.6.22 has no guest and guest_nice) gets fewer series: absent
//! modes are left out rather than reported as 0. As in node_exporter, a
//! counter the kernel reports lower than before keeps its previous value
//! (some kernels' idle time steps back), and a CPU whose idle time falls by
//! 3 s or more starts afresh (it was unplugged).

use super::{CollectError, Collector, kept, read_kept_parsed};
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::{KeptFile, Roots};
use crate::parse::stat::{self, CpuTimes, MODES};

/// USER_HZ: the unit of `/proc/stat` CPU columns.
const TICKS_PER_SECOND: f64 = 100.0;
/// node_exporter's threshold for "this CPU was replaced": 3 s of idle time.
const JUMP_BACK_TICKS: u64 = 300;
/// guest and guest_nice are exported under the guest family as user and nice.
const GUEST: usize = 8;

/// The cpu collector: the highest ticks seen per CPU and mode.
#[derive(Default)]
pub struct CpuCollector {
    text: String,
    /// The source, kept open across scrapes (`KeptFile`).
    file: Option<KeptFile>,
    seen: Vec<CpuTimes>,
}

impl CpuCollector {
    /// Keeps each counter from going backwards (see the module doc).
    fn settle(&mut self, now: &[CpuTimes]) {
        if self.seen.len() != now.len() || self.seen.iter().zip(now).any(|(a, b)| a.id != b.id) {
            self.seen = now.to_vec();
            return;
        }
        for (old, new) in self.seen.iter_mut().zip(now) {
            let idle_fell = old.get(3).unwrap_or(0).saturating_sub(new.get(3).unwrap_or(0));
            if idle_fell >= JUMP_BACK_TICKS || old.columns != new.columns {
                *old = *new;
                continue;
            }
            for (o, n) in old.ticks.iter_mut().zip(new.ticks) {
                *o = (*o).max(n);
            }
        }
    }
}

impl Collector for CpuCollector {
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        let cpus = read_kept_parsed(
            kept(&mut self.file, roots, || KeptFile::proc(roots, "stat")),
            &mut self.text,
            stat::parse,
        )?
        .cpus;
        if cpus.is_empty() {
            return Err(CollectError::Unavailable(format!("{}: no cpuN lines", roots.proc_path("stat").display())));
        }
        self.settle(&cpus);
        out.family("node_cpu_seconds_total", "Seconds the CPUs spent in each mode.", MetricType::Counter);
        for cpu in &self.seen {
            let id = cpu.id.to_string();
            for (i, mode) in MODES.iter().enumerate().take(GUEST) {
                if let Some(t) = cpu.get(i) {
                    out.sample(&[("cpu", &id), ("mode", mode)], t as f64 / TICKS_PER_SECOND);
                }
            }
        }
        if self.seen.iter().any(|c| c.get(GUEST).is_some()) {
            out.family(
                "node_cpu_guest_seconds_total",
                "Seconds the CPUs spent in guests (VMs) for each mode.",
                MetricType::Counter,
            );
            for cpu in &self.seen {
                let id = cpu.id.to_string();
                for (i, mode) in [(GUEST, "user"), (GUEST + 1, "nice")] {
                    if let Some(t) = cpu.get(i) {
                        out.sample(&[("cpu", &id), ("mode", mode)], t as f64 / TICKS_PER_SECOND);
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu(id: u32, ticks: &[u64]) -> CpuTimes {
        let mut t = [0; 10];
        t[..ticks.len()].copy_from_slice(ticks);
        CpuTimes { id, ticks: t, columns: ticks.len() }
    }

    #[test]
    fn counters_never_step_back_but_a_replaced_cpu_restarts() {
        let mut c = CpuCollector::default();
        c.settle(&[cpu(0, &[100, 0, 50, 10_000])]);
        c.settle(&[cpu(0, &[90, 0, 60, 9_900])]);
        assert_eq!(&c.seen[0].ticks[..4], [100, 0, 60, 10_000]);
        c.settle(&[cpu(0, &[5, 0, 5, 9_700])]);
        assert_eq!(&c.seen[0].ticks[..4], [5, 0, 5, 9_700]);
        // A CPU coming online changes the set: start afresh.
        c.settle(&[cpu(0, &[6, 0, 6, 9_800]), cpu(1, &[1, 0, 1, 1])]);
        assert_eq!(c.seen.len(), 2);
    }
}
