//! uname: `node_uname_info{domainname,machine,nodename,release,sysname,version}`,
//! the labels node_exporter takes from uname(2).
//!
//! Read from the procfs root instead, so a fixture root describes its own
//! kernel: `sys/kernel/ostype`, `osrelease`, `version`, `hostname` and
//! `domainname` hold exactly what uname(2) returns. The machine has no
//! procfs file before Linux 6.1 (`sys/kernel/arch`); without it, the
//! machine comes from uname(2) when procfs is the live `/proc`, and is empty
//! for any other root (the running kernel's would describe the wrong system).

use super::{CollectError, Collector, read_parsed};
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::Roots;
use crate::parse::release;
use std::path::Path;

/// The uname collector.
#[derive(Default)]
pub struct UnameCollector {
    text: String,
}

impl UnameCollector {
    fn read(&mut self, roots: &Roots, name: &str) -> Result<String, CollectError> {
        let path = roots.proc_path(&format!("sys/kernel/{name}"));
        read_parsed(&path, &mut self.text, release::line).map(str::to_string)
    }
}

impl Collector for UnameCollector {
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        let sysname = self.read(roots, "ostype")?;
        let release = self.read(roots, "osrelease")?;
        let version = self.read(roots, "version")?;
        let nodename = self.read(roots, "hostname")?;
        let domainname = self.read(roots, "domainname")?;
        let machine = match self.read(roots, "arch") {
            Ok(m) => m,
            Err(CollectError::Source(e)) if e.is_missing() && roots.procfs == Path::new("/proc") => uname_machine(),
            Err(CollectError::Source(e)) if e.is_missing() => String::new(),
            Err(e) => return Err(e),
        };
        out.family(
            "node_uname_info",
            "Labeled system information as provided by the uname system call.",
            MetricType::Gauge,
        );
        out.sample(
            &[
                ("domainname", &domainname),
                ("machine", &machine),
                ("nodename", &nodename),
                ("release", &release),
                ("sysname", &sysname),
                ("version", &version),
            ],
            1u64,
        );
        Ok(())
    }
}

/// The running kernel's machine, such as `mips` or `armv7l`.
fn uname_machine() -> String {
    // SAFETY: utsname is plain C data, valid when zeroed.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname writes into the struct we own.
    if unsafe { libc::uname(&mut u) } != 0 {
        return String::new();
    }
    let bytes: Vec<u8> = u.machine.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_running_kernel_has_a_machine() {
        assert!(!uname_machine().is_empty());
    }
}
