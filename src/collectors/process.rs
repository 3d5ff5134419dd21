//! The exporter's own `process_*` metrics. These describe this process, not
//! the device, so they always read the real `/proc/self` whatever
//! `paths.procfs` says (fixture roots have no `self`).

use super::{CollectError, Collector, read_parsed};
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::{Roots, SourceError, SourceErrorKind};
use crate::parse::process;
use std::path::Path;

/// Reads `/proc/self` and writes the process families.
#[derive(Default)]
pub struct ProcessCollector {
    text: String,
    /// Boot time never changes, so it is read once.
    boot_time: Option<u64>,
}

impl Collector for ProcessCollector {
    fn collect(&mut self, _roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        let v = self.read()?;
        out.family(
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            MetricType::Counter,
        );
        out.sample(&[], v.cpu_seconds);
        out.family("process_open_fds", "Number of open file descriptors.", MetricType::Gauge);
        out.sample(&[], v.open_fds);
        out.family("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge);
        out.sample(&[], v.rss_bytes);
        out.family(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            MetricType::Gauge,
        );
        out.sample(&[], v.start_time);
        Ok(())
    }
}

impl ProcessCollector {
    fn read(&mut self) -> Result<Values, CollectError> {
        // SAFETY: sysconf has no preconditions; it only reads constants.
        let (ticks, page) = unsafe { (libc::sysconf(libc::_SC_CLK_TCK), libc::sysconf(libc::_SC_PAGESIZE)) };
        if ticks <= 0 || page <= 0 {
            return Err(CollectError::Unavailable("sysconf gave no clock tick or page size".into()));
        }
        let (ticks, page) = (ticks as u64, page as u64);
        let boot_time = match self.boot_time {
            Some(t) => t,
            None => {
                *self.boot_time.insert(read_parsed(Path::new("/proc/stat"), &mut self.text, process::parse_boot_time)?)
            }
        };
        let stat = read_parsed(Path::new("/proc/self/stat"), &mut self.text, process::parse_stat)?;
        let fd_dir = Path::new("/proc/self/fd");
        let open_fds = std::fs::read_dir(fd_dir)
            .map_err(|e| {
                CollectError::Source(SourceError { path: fd_dir.to_path_buf(), kind: SourceErrorKind::Io(e) })
            })?
            .count() as u64;
        let cpu_ticks = stat.utime_ticks.saturating_add(stat.stime_ticks);
        Ok(Values {
            cpu_seconds: cpu_ticks as f64 / ticks as f64,
            // The read_dir handle itself was open while counting.
            open_fds: open_fds.saturating_sub(1),
            rss_bytes: stat.rss_pages.saturating_mul(page),
            start_time: boot_time as f64 + stat.start_ticks as f64 / ticks as f64,
        })
    }
}

struct Values {
    cpu_seconds: f64,
    open_fds: u64,
    rss_bytes: u64,
    start_time: f64,
}
