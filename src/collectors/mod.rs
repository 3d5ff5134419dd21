//! Collectors: one file per collector behind the [`Collector`] trait, and
//! [`COLLECTORS`], the one table that names them. The config's
//! `[collectors]` keys, `collect[]`/`exclude[]`, the `collector` label and
//! the README's collector table all come from that table.
//!
//! A collector reads through `os::source` (or `os::command`, `os::netlink`)
//! under the configured roots, parses with a pure parser from `parse`, and
//! writes whole families into an `Exposition`. It may import `config`, `os`,
//! `parse` and `metrics::exposition`/`metrics::counter_wrap`, never `http`.

pub mod arp;
pub mod build_info;
pub mod conntrack;
pub mod cpu;
pub mod filesystem;
pub mod firmware;
pub mod hwmon;
pub mod load;
pub mod meminfo;
pub mod netclass;
pub mod netdev;
pub mod process;
pub mod stat;
pub mod sysfs;
pub mod textfile;
pub mod thermal_zone;
pub mod time;
pub mod uname;
pub mod wireless;

use crate::config::Config;
use crate::metrics::exposition::Exposition;
use crate::os::command::CommandError;
use crate::os::source::{KeptFile, Roots, SourceError, read_bounded};
use crate::parse::ParseError;
use crate::parse::netlink::DecodeError;
use std::fmt;
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A source of metrics. `collect` writes whole families into `out`; on error
/// the registry throws `out` away, so a failure never leaves half a family.
pub trait Collector {
    /// Reads the sources and writes complete families.
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError>;
    /// Takes a reloaded config, keeping state such as counter history.
    fn configure(&mut self, _config: &Config) {}
    /// Work between scrapes (netdev samples counters to catch 32-bit wraps).
    fn sample(&mut self, _roots: &Roots) {}
    /// When [`Collector::sample`] next wants to run, if ever.
    fn next_sample(&self) -> Option<Instant> {
        None
    }
    /// What the last [`Collector::collect`] found, for `--diagnose`: the
    /// sources it tried, in order, one finding each, with whether that
    /// finding is fine (`false`: a radio that is down, say). Empty for
    /// collectors with a single source.
    fn sources(&self) -> Vec<(bool, String)> {
        Vec::new()
    }
    /// For an inline collector that waits on children of its own
    /// (filesystem: a statfs per mount, which may hang): starts them as a
    /// scrape begins and returns when they must be done, or `None` when
    /// there is nothing to wait for. The registry polls
    /// [`Collector::waiting_fds`], calls [`Collector::advance`] as they
    /// become readable, and runs `collect` once that returns true or the
    /// time is up. `collect` then reports what did not answer.
    fn start(&mut self, _roots: &Roots) -> Option<Instant> {
        None
    }
    /// The pipes of the children [`Collector::start`] started, to poll.
    fn waiting_fds(&self, _fds: &mut Vec<RawFd>) {}
    /// Reads what those children sent, without blocking; true once none is
    /// left to wait for. Called on every turn of the serving loop, also
    /// between scrapes and while the collector is off, to reap children.
    fn advance(&mut self) -> bool {
        true
    }
}

/// [`Collector::start`], a wait for its children right here, then
/// [`Collector::collect`]: for `--diagnose`, which serves no one meanwhile.
pub fn collect_waiting(c: &mut dyn Collector, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
    if let Some(deadline) = c.start(roots) {
        while !c.advance() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    c.collect(roots, out)
}

/// Whose metrics a collector writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The device's. Switched in `[collectors]`, chosen per scrape with
    /// `collect[]`/`exclude[]`, and reported in `node_scrape_collector_*`.
    Device,
    /// The exporter's own (build info, process figures): always on, and
    /// written after the scrape's meta families.
    Exporter,
}

/// One row of the collector table.
pub struct Entry {
    /// The name: config key, `collect[]` value and `collector` label.
    pub name: &'static str,
    /// Device or exporter metrics.
    pub scope: Scope,
    /// Whether it runs when the config does not mention it.
    pub enabled_by_default: bool,
    /// What it exports, in a few words (the README's collector table).
    pub summary: &'static str,
    /// Runs in a child process with a time budget, because it can stall
    /// (it runs external commands); see `metrics::registry`.
    pub isolated: bool,
    /// For an isolated collector whose findings change only with a firmware
    /// upgrade: how long its last successful output is reused instead of a
    /// child per scrape (a reload starts afresh).
    pub reuse_for: Option<Duration>,
    /// Builds the collector for a config.
    pub build: fn(&Config) -> Box<dyn Collector>,
}

/// Every collector, sorted by name within each scope: device collectors
/// first, in the order their families appear in a scrape.
pub const COLLECTORS: &[Entry] = &[
    Entry {
        name: "arp",
        scope: Scope::Device,
        enabled_by_default: true,
        summary: "ARP (neighbour) entries per interface",
        isolated: false,
        reuse_for: None,
        build: |_| Box::<arp::ArpCollector>::default(),
    },
    Entry {
        name: "conntrack",
        scope: Scope::Device,
        enabled_by_default: true,
        summary: "connection tracking table size, limit and statistics",
        isolated: false,
        reuse_for: None,
        build: |_| Box::<conntrack::ConntrackCollector>::default(),
    },
    Entry {
        name: "cpu",
        scope: Scope::Device,
        enabled_by_default: true,
        summary: "seconds each CPU spent per mode, from /proc/stat",
        isolated: false,
        reuse_for: None,
        build: |_| Box::<cpu::CpuCollector>::default(),
    },
    Entry {
        name: "filesystem",
        scope: Scope::Device,
        enabled_by_default: true,
        summary: "free space and inodes of each mount: flash, USB disks, tmpfs",
        isolated: false,
        reuse_for: None,
        build: |c| Box::new(filesystem::FilesystemCollector::new(c)),
    },
    Entry {
        name: "firmware",
        scope: Scope::Device,
        enabled_by_default: true,
        summary: "the firmware's name, release and target (OpenWrt file, ASUSWRT or DD-WRT nvram)",
        isolated: true,
        // nvram and the release file change with a firmware upgrade, which
        // restarts the exporter: no need to fork and run nvram per scrape.
        reuse_for: Some(Duration::from_secs(3600)),
        build: |c| Box::new(firmware::FirmwareCollector::new(c)),
    },
    Entry {
        name: "hwmon",
        scope: Scope::Device,
        enabled_by_default: true,
        summary: "hardware sensors: temperatures, voltages, fans (/sys/class/hwmon)",
        isolated: false,
        reuse_for: None,
        build: |_| Box::<hwmon::HwmonCollector>::default(),
    },
    Entry {
        name: "load",
        scope: Scope::Device,
        enabled_by_default: true,
        summary: "1, 5 and 15 minute load averages",
        isolated: false,
        reuse_for: None,
        build: |_| Box::<load::LoadCollector>::default(),
    },
    Entry {
        name: "meminfo",
        scope: Scope::Device,
        enabled_by_default: true,
        summary: "every /proc/meminfo field, named as node_exporter names it",
        isolated: false,
        reuse_for: None,
        build: |_| Box::<meminfo::MeminfoCollector>::default(),
    },
    Entry {
        name: "netclass",
        scope: Scope::Device,
        enabled_by_default: true,
        summary: "link state, speed, MTU and properties of each interface (/sys/class/net)",
        isolated: false,
        reuse_for: None,
        build: |_| Box::<netclass::NetclassCollector>::default(),
    },
    Entry {
        name: "netdev",
        scope: Scope::Device,
        enabled_by_default: true,
        summary: "per-interface traffic counters, extended past 32-bit wraps",
        isolated: false,
        reuse_for: None,
        build: |c| Box::new(netdev::NetdevCollector::new(&c.netdev)),
    },
    Entry {
        name: "stat",
        scope: Scope::Device,
        enabled_by_default: true,
        summary: "boot time, context switches, forks, interrupts, runnable and blocked processes",
        isolated: false,
        reuse_for: None,
        build: |_| Box::<stat::StatCollector>::default(),
    },
    Entry {
        name: "textfile",
        scope: Scope::Device,
        enabled_by_default: true,
        summary: "your own metrics: the .prom files in [textfile] directory, checked and merged",
        isolated: false,
        reuse_for: None,
        build: |c| Box::new(textfile::TextfileCollector::new(c)),
    },
    Entry {
        name: "thermal_zone",
        scope: Scope::Device,
        enabled_by_default: true,
        summary: "thermal zone temperatures and cooling device states (/sys/class/thermal)",
        isolated: false,
        reuse_for: None,
        build: |_| Box::<thermal_zone::ThermalZoneCollector>::default(),
    },
    Entry {
        name: "time",
        scope: Scope::Device,
        enabled_by_default: true,
        summary: "system time and time zone offset",
        isolated: false,
        reuse_for: None,
        build: |_| Box::<time::TimeCollector>::default(),
    },
    Entry {
        name: "uname",
        scope: Scope::Device,
        enabled_by_default: true,
        summary: "kernel name, release, version, machine and host name",
        isolated: false,
        reuse_for: None,
        build: |_| Box::<uname::UnameCollector>::default(),
    },
    Entry {
        name: "wireless",
        scope: Scope::Device,
        enabled_by_default: true,
        summary: "WiFi interfaces, bands and stations (nl80211, Broadcom wl, WEXT)",
        isolated: true,
        reuse_for: None,
        build: |c| Box::new(wireless::WirelessCollector::new(&c.wireless)),
    },
    Entry {
        name: "build_info",
        scope: Scope::Exporter,
        enabled_by_default: true,
        summary: "the exporter's version and target",
        isolated: false,
        reuse_for: None,
        build: |_| Box::new(build_info::BuildInfoCollector),
    },
    Entry {
        name: "process",
        scope: Scope::Exporter,
        enabled_by_default: true,
        summary: "the exporter's own CPU time, memory, open files and start time",
        isolated: false,
        reuse_for: None,
        build: |_| Box::<process::ProcessCollector>::default(),
    },
];

/// The device collectors' names, in table order.
pub fn device_names() -> impl Iterator<Item = &'static str> {
    COLLECTORS.iter().filter(|e| e.scope == Scope::Device).map(|e| e.name)
}

/// A set of collectors, as positions in [`COLLECTORS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CollectorSet(u64);

// The set is one bit per table row.
const _: () = assert!(COLLECTORS.len() <= 64);

impl CollectorSet {
    /// No collector.
    pub const EMPTY: CollectorSet = CollectorSet(0);

    /// The device collectors that are on by default.
    pub fn defaults() -> CollectorSet {
        let mut set = CollectorSet::EMPTY;
        for (i, e) in COLLECTORS.iter().enumerate() {
            if e.scope == Scope::Device && e.enabled_by_default {
                set.insert(i);
            }
        }
        set
    }

    /// The table position of a device collector named `name`.
    pub fn device_position(name: &str) -> Option<usize> {
        COLLECTORS.iter().position(|e| e.scope == Scope::Device && e.name == name)
    }

    /// Whether row `i` is in the set.
    pub fn contains(self, i: usize) -> bool {
        i < 64 && self.0 & (1 << i) != 0
    }

    /// Adds row `i`.
    pub fn insert(&mut self, i: usize) {
        if i < 64 {
            self.0 |= 1 << i;
        }
    }

    /// Removes row `i`.
    pub fn remove(&mut self, i: usize) {
        if i < 64 {
            self.0 &= !(1 << i);
        }
    }
}

impl Default for CollectorSet {
    fn default() -> Self {
        CollectorSet::defaults()
    }
}

/// Why a collector produced nothing this scrape.
#[derive(Debug)]
pub enum CollectError {
    /// A source file could not be read.
    Source(SourceError),
    /// A source file was read but is not in the expected format.
    Parse {
        /// The file.
        path: PathBuf,
        /// Where and what.
        error: ParseError,
    },
    /// A netlink reply could not be decoded.
    Decode {
        /// Which request it answered, such as "nl80211 station dump of wlan0".
        request: String,
        /// What is wrong with it.
        error: DecodeError,
    },
    /// A helper command (`wl`, `nvram`) hung, flooded its output, could not
    /// run or crashed.
    Command(CommandError),
    /// The data this collector needs is not available on this system.
    Unavailable(String),
}

impl From<SourceError> for CollectError {
    fn from(e: SourceError) -> Self {
        CollectError::Source(e)
    }
}

impl From<CommandError> for CollectError {
    fn from(e: CommandError) -> Self {
        CollectError::Command(e)
    }
}

impl fmt::Display for CollectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CollectError::Source(e) => write!(f, "{e}"),
            CollectError::Parse { path, error } if error.line > 0 => {
                write!(f, "{}:{}: expected {}, found {:?}", path.display(), error.line, error.expected, error.found)
            }
            CollectError::Parse { path, error } => write!(f, "{}: {error}", path.display()),
            CollectError::Decode { request, error } => write!(f, "{request} failed: {error}"),
            CollectError::Command(e) => write!(f, "{e}"),
            CollectError::Unavailable(why) => write!(f, "{why}"),
        }
    }
}

/// Reads the file at `path` into `buf` and parses it; errors name the file
/// (and, for parse errors, the line). The one read-parse step of every
/// file-based collector.
pub fn read_parsed<'b, T>(
    path: &Path,
    buf: &'b mut String,
    parse: impl FnOnce(&'b str) -> Result<T, ParseError>,
) -> Result<T, CollectError> {
    read_bounded(path, buf)?;
    parse(buf).map_err(|error| CollectError::Parse { path: path.to_path_buf(), error })
}

/// [`read_parsed`] for a file kept open across scrapes.
pub fn read_kept_parsed<'b, T>(
    file: &mut KeptFile,
    buf: &'b mut String,
    parse: impl FnOnce(&'b str) -> Result<T, ParseError>,
) -> Result<T, CollectError> {
    file.read(buf)?;
    parse(buf).map_err(|error| CollectError::Parse { path: file.path().to_path_buf(), error })
}

/// The kept file in `slot`, made anew by `make` when the slot is empty or
/// the roots changed (a reloaded config).
pub fn kept<'a>(slot: &'a mut Option<KeptFile>, roots: &Roots, make: impl FnOnce() -> KeptFile) -> &'a mut KeptFile {
    if slot.as_ref().is_some_and(|f| f.is_under(roots)) {
        if let Some(f) = slot {
            return f;
        }
    }
    slot.insert(make())
}

/// Reads and parses the first of `candidates` (relative to the procfs
/// root) that exists, and returns its position in `candidates` with the
/// value, or `None` when none exists. Kernels rename files (`ip_conntrack`
/// became `nf_conntrack`); other read errors are errors, naming the file.
pub fn read_first_parsed<'b, T>(
    roots: &Roots,
    candidates: &[&str],
    buf: &'b mut String,
    parse: impl FnOnce(&'b str) -> Result<T, ParseError>,
) -> Result<Option<(usize, T)>, CollectError> {
    for (i, rel) in candidates.iter().enumerate() {
        let path = roots.proc_path(rel);
        match read_bounded(&path, buf) {
            Ok(()) => return parse(buf).map(|v| Some((i, v))).map_err(|error| CollectError::Parse { path, error }),
            Err(e) if e.is_missing() => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_sorted_within_each_scope() {
        for scope in [Scope::Device, Scope::Exporter] {
            let names: Vec<&str> = COLLECTORS.iter().filter(|e| e.scope == scope).map(|e| e.name).collect();
            let mut sorted = names.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(names, sorted, "{scope:?} collectors must be sorted and unique");
        }
        // Device rows come first: the scrape writes them in table order.
        let first_exporter = COLLECTORS.iter().position(|e| e.scope == Scope::Exporter).unwrap();
        assert!(COLLECTORS[first_exporter..].iter().all(|e| e.scope == Scope::Exporter));
    }

    /// The README's collector table, generated from [`COLLECTORS`].
    fn readme_table() -> String {
        let mut table = String::from("| collector | scope | default | what it exports |\n|---|---|---|---|\n");
        for e in COLLECTORS {
            let (scope, default) = match (e.scope, e.enabled_by_default) {
                (Scope::Exporter, _) => ("exporter", "always"),
                (Scope::Device, true) => ("device", "on"),
                (Scope::Device, false) => ("device", "off"),
            };
            table.push_str(&format!("| `{}` | {scope} | {default} | {} |\n", e.name, e.summary));
        }
        table
    }

    /// The shipped config's `[collectors]` table, generated from [`COLLECTORS`].
    fn shipped_switches() -> String {
        let mut out = String::from("[collectors]\n");
        for e in COLLECTORS.iter().filter(|e| e.scope == Scope::Device) {
            out.push_str(&format!("{} = {:<5} # {}\n", e.name, e.enabled_by_default, e.summary));
        }
        out
    }

    /// Checks that the text between `begin` and `end` in `file` is
    /// `content`; with `UPDATE_GENERATED=1`, writes it there instead.
    fn generated(file: &str, begin: &str, end: &str, content: &str) {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        let start = text.find(begin).unwrap_or_else(|| panic!("{file} has no {begin:?} line")) + begin.len();
        let stop = start + text[start..].find(end).unwrap_or_else(|| panic!("{file} has no {end:?} line"));
        if std::env::var_os("UPDATE_GENERATED").is_some() {
            std::fs::write(&path, format!("{}{content}{}", &text[..start], &text[stop..])).unwrap();
            return;
        }
        assert_eq!(&text[start..stop], content, "{file} is out of date: run UPDATE_GENERATED=1 cargo test --lib");
    }

    #[test]
    fn the_readme_table_and_shipped_switches_come_from_the_table() {
        generated("README.md", "<!-- collectors:begin -->\n", "<!-- collectors:end -->", &readme_table());
        generated("files/ap-exporter.toml", "# collectors:begin\n", "# collectors:end", &shipped_switches());
    }

    #[test]
    fn exporter_collectors_are_not_switches() {
        assert_eq!(CollectorSet::device_position("process"), None);
        let netdev = COLLECTORS.iter().position(|e| e.name == "netdev");
        assert_eq!(CollectorSet::device_position("netdev"), netdev);
        assert!(
            COLLECTORS.iter().all(|e| e.scope == Scope::Device || e.enabled_by_default),
            "exporter collectors always run; enabled_by_default = false would not stop them"
        );
        let d = CollectorSet::defaults();
        assert!(!d.contains(COLLECTORS.iter().position(|e| e.name == "process").unwrap()));
    }
}
