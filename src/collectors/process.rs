//! The exporter's own `process_*` metrics. These describe this process, not
//! the device, so they always read the real `/proc/self` whatever
//! `paths.procfs` says (fixture roots have no `self`).
//!
//! Cheap on purpose, since every scrape pays for it: the CPU time comes from
//! `getrusage`, the resident size from `/proc/self/statm` kept open, the
//! open descriptors from `/proc/self/fd` kept open and listed again from
//! its start; the start time is read once.

use super::{CollectError, Collector, read_parsed};
use crate::metrics::exposition::{Exposition, Family, MetricType};
use crate::os::source::{KeptFile, Roots, SourceError, SourceErrorKind};
use crate::parse::process;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};

const FD_DIR: &str = "/proc/self/fd";

/// Reads `/proc/self` and writes the process families.
pub struct ProcessCollector {
    text: String,
    statm: KeptFile,
    fd_dir: Option<OwnedFd>,
    /// The start time never changes, so it is read once.
    start_time: Option<f64>,
    /// CPU, open descriptors, resident memory, start time.
    families: [Family; 4],
}

impl Default for ProcessCollector {
    fn default() -> Self {
        ProcessCollector {
            text: String::new(),
            statm: KeptFile::new(PathBuf::from("/proc/self/statm")).single_record(),
            fd_dir: None,
            start_time: None,
            families: [
                Family::new(
                    "process_cpu_seconds_total",
                    "Total user and system CPU time spent in seconds.",
                    MetricType::Counter,
                ),
                Family::new("process_open_fds", "Number of open file descriptors.", MetricType::Gauge),
                Family::new("process_resident_memory_bytes", "Resident memory size in bytes.", MetricType::Gauge),
                Family::new(
                    "process_start_time_seconds",
                    "Start time of the process since unix epoch in seconds.",
                    MetricType::Gauge,
                ),
            ],
        }
    }
}

impl Collector for ProcessCollector {
    fn collect(&mut self, _roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        let v = self.read()?;
        let [cpu, fds, rss, start] = &self.families;
        out.start(cpu);
        out.sample(&[], v.cpu_seconds);
        out.start(fds);
        out.sample(&[], v.open_fds);
        out.start(rss);
        out.sample(&[], v.rss_bytes);
        out.start(start);
        out.sample(&[], v.start_time);
        Ok(())
    }
}

impl ProcessCollector {
    fn read(&mut self) -> Result<Values, CollectError> {
        // SAFETY: sysconf has no preconditions; it only reads constants.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if page <= 0 {
            return Err(CollectError::Unavailable("sysconf gave no page size".into()));
        }
        let start_time = match self.start_time {
            Some(t) => t,
            None => {
                let t = self.read_start_time()?;
                *self.start_time.insert(t)
            }
        };
        // SAFETY: rusage is plain old data that getrusage fills in.
        let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: RUSAGE_SELF and a struct of the right type.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) } != 0 {
            return Err(CollectError::Unavailable(format!("getrusage: {}", std::io::Error::last_os_error())));
        }
        // Whole microseconds, divided once: the figure prints short. (The
        // fields are 32-bit on some 32-bit targets.)
        #[allow(clippy::unnecessary_cast)]
        let micros = |t: libc::timeval| (t.tv_sec as i64).saturating_mul(1_000_000).saturating_add(t.tv_usec as i64);
        let rss_pages = {
            let path = self.statm.path().to_path_buf();
            self.statm.read(&mut self.text)?;
            process::parse_statm_resident(&self.text).map_err(|error| CollectError::Parse { path, error })?
        };
        Ok(Values {
            cpu_seconds: micros(ru.ru_utime).saturating_add(micros(ru.ru_stime)) as f64 / 1e6,
            open_fds: self.open_fds()?,
            rss_bytes: rss_pages.saturating_mul(page as u64),
            start_time,
        })
    }

    /// Boot time plus the start after boot from `/proc/self/stat`.
    fn read_start_time(&mut self) -> Result<f64, CollectError> {
        // SAFETY: sysconf has no preconditions; it only reads constants.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        if ticks <= 0 {
            return Err(CollectError::Unavailable("sysconf gave no clock tick".into()));
        }
        let boot = read_parsed(Path::new("/proc/stat"), &mut self.text, process::parse_boot_time)?;
        let stat = read_parsed(Path::new("/proc/self/stat"), &mut self.text, process::parse_stat)?;
        // In ticks, divided once: the figure prints short.
        let ticks = ticks as u64;
        Ok(boot.saturating_mul(ticks).saturating_add(stat.start_ticks) as f64 / ticks as f64)
    }

    /// Counts the entries of `/proc/self/fd` but the directory's own.
    fn open_fds(&mut self) -> Result<u64, CollectError> {
        let err = |e: std::io::Error| {
            CollectError::Source(SourceError { path: PathBuf::from(FD_DIR), kind: SourceErrorKind::Io(e) })
        };
        if let Some(dir) = &self.fd_dir {
            if let Ok(n) = count_entries(dir) {
                return Ok(n.saturating_sub(1));
            }
            self.fd_dir = None;
        }
        let dir = open_dir(FD_DIR).map_err(err)?;
        let n = count_entries(&dir).map_err(err)?;
        self.fd_dir = Some(dir);
        Ok(n.saturating_sub(1))
    }
}

/// Opens a directory to list with `getdents64`.
fn open_dir(path: &str) -> std::io::Result<OwnedFd> {
    let c = std::ffi::CString::new(path).map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    // SAFETY: a valid NUL-terminated path; the descriptor is owned below.
    let fd = unsafe { libc::open(c.as_ptr(), libc::O_RDONLY | libc::O_DIRECTORY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fd was just opened and nothing else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Lists a directory from its start and counts its entries but `.` and `..`.
fn count_entries(dir: &OwnedFd) -> std::io::Result<u64> {
    let fd = dir.as_raw_fd();
    // SAFETY: lseek on a descriptor we own.
    if unsafe { libc::lseek(fd, 0, libc::SEEK_SET) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // Aligned for the kernel's 8-byte records.
    let mut buf = [0u64; 512];
    let mut count = 0u64;
    loop {
        // SAFETY: the kernel writes at most size_of_val(&buf) bytes into buf.
        let n = unsafe {
            libc::syscall(libc::SYS_getdents64, fd, buf.as_mut_ptr(), std::mem::size_of_val(&buf) as libc::c_uint)
        };
        if n < 0 {
            return Err(std::io::Error::last_os_error());
        }
        if n == 0 {
            return Ok(count);
        }
        // SAFETY: u64s seen as bytes; n is at most the buffer's size.
        let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), n as usize) };
        count += process::count_dirents(bytes);
        // procfs fills the buffer until an entry does not fit: room left
        // for a long one means the listing is complete. (Names here are
        // descriptor numbers; a record is at most 32 bytes.)
        if n as usize + 256 <= std::mem::size_of_val(&buf) {
            return Ok(count);
        }
    }
}

struct Values {
    cpu_seconds: f64,
    open_fds: u64,
    rss_bytes: u64,
    start_time: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str, name: &str) -> f64 {
        let prefix = format!("{name} ");
        text.lines().find_map(|l| l.strip_prefix(&prefix)).unwrap().parse().unwrap()
    }

    #[test]
    fn counts_descriptors_as_they_open_and_close() {
        let mut c = ProcessCollector::default();
        let mut out = Exposition::new();
        c.collect(&Roots::default(), &mut out).unwrap();
        let before = value(out.as_str(), "process_open_fds");
        assert!(value(out.as_str(), "process_resident_memory_bytes") > 0.0);
        assert!(value(out.as_str(), "process_start_time_seconds") > 1e9);
        let files: Vec<std::fs::File> = (0..40).map(|_| std::fs::File::open("/proc/self/stat").unwrap()).collect();
        out.clear();
        c.collect(&Roots::default(), &mut out).unwrap();
        // Other tests' threads open files too: at least ours are counted.
        assert!(value(out.as_str(), "process_open_fds") >= before + 40.0 - 10.0, "{}", out.as_str());
        drop(files);
        // Kept open: the second scrape listed the same directory again.
        assert!(c.fd_dir.is_some() && c.statm.is_kept());
    }
}
