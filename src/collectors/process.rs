//! The exporter's own `process_*` metrics. These describe this process, not
//! the device, so they always read the real `/proc/self` whatever
//! `paths.procfs` says (fixture roots have no `self`).

use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::read_bounded;
use crate::parse::process;
use std::path::Path;

/// Reads `/proc/self` and writes the process families.
#[derive(Default)]
pub struct ProcessCollector {
    text: String,
    /// Boot time never changes, so it is read once.
    boot_time: Option<u64>,
    /// Whether a failure was logged already.
    logged: bool,
}

impl ProcessCollector {
    /// Writes the families it can; logs the first failure only.
    pub fn write(&mut self, out: &mut Exposition) {
        match self.read() {
            Ok(v) => {
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
            }
            Err(e) if !self.logged => {
                self.logged = true;
                log::warn!("process metrics unavailable: {e}");
            }
            Err(_) => {}
        }
    }

    fn read(&mut self) -> Result<Values, String> {
        // SAFETY: sysconf has no preconditions; it only reads constants.
        let (ticks, page) = unsafe { (libc::sysconf(libc::_SC_CLK_TCK), libc::sysconf(libc::_SC_PAGESIZE)) };
        if ticks <= 0 || page <= 0 {
            return Err("sysconf gave no clock tick or page size".into());
        }
        let (ticks, page) = (ticks as u64, page as u64);
        if self.boot_time.is_none() {
            read_bounded(Path::new("/proc/stat"), &mut self.text).map_err(|e| e.to_string())?;
            self.boot_time = Some(process::parse_boot_time(&self.text).map_err(|e| format!("/proc/stat: {e}"))?);
        }
        read_bounded(Path::new("/proc/self/stat"), &mut self.text).map_err(|e| e.to_string())?;
        let stat = process::parse_stat(&self.text).map_err(|e| format!("/proc/self/stat: {e}"))?;
        let open_fds = std::fs::read_dir("/proc/self/fd").map_err(|e| format!("/proc/self/fd: {e}"))?.count() as u64;
        let cpu_ticks = stat.utime_ticks.saturating_add(stat.stime_ticks);
        Ok(Values {
            cpu_seconds: cpu_ticks as f64 / ticks as f64,
            // The read_dir handle itself was open while counting.
            open_fds: open_fds.saturating_sub(1),
            rss_bytes: stat.rss_pages.saturating_mul(page),
            start_time: self.boot_time.unwrap_or(0) as f64 + stat.start_ticks as f64 / ticks as f64,
        })
    }
}

struct Values {
    cpu_seconds: f64,
    open_fds: u64,
    rss_bytes: u64,
    start_time: f64,
}
