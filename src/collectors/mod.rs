//! Collectors, one file each behind the [`Collector`] trait, and the
//! [`Registry`] that runs them and adds the meta metrics.

pub mod conntrack;
pub mod load;
pub mod netdev;
pub mod process;
pub mod wireless;

use crate::config::Config;
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::{Roots, SourceError};
use crate::parse::ParseError;
use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

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
    /// The data this collector needs is not available on this system.
    Unavailable(String),
}

impl From<SourceError> for CollectError {
    fn from(e: SourceError) -> Self {
        CollectError::Source(e)
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
            CollectError::Unavailable(why) => write!(f, "{why}"),
        }
    }
}

/// A source of metrics. `collect` writes whole families into `out`; on error
/// the registry throws `out` away, so a failure never leaves half a family.
pub trait Collector {
    /// Reads the sources and writes complete families.
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError>;
    /// Work between scrapes (netdev samples counters to catch 32-bit wraps).
    fn sample(&mut self, _roots: &Roots) {}
    /// When [`Collector::sample`] next wants to run, if ever.
    fn next_sample(&self) -> Option<Instant> {
        None
    }
}

/// Names of every collector that can be switched on, sorted: the names in
/// `collect[]=` and the `collector` label. The registry indexes its
/// collectors in this order.
pub const COLLECTOR_NAMES: [&str; 4] = ["conntrack", "load", "netdev", "wireless"];

/// Per-collector state the registry keeps across scrapes.
#[derive(Debug, Default)]
struct Health {
    /// The last error logged, so a persisting failure is logged once.
    last_error: Option<String>,
}

/// Runs the enabled collectors and adds the meta metrics.
pub struct Registry {
    roots: Roots,
    enabled: [bool; 4],
    conntrack: conntrack::ConntrackCollector,
    load: load::LoadCollector,
    netdev: netdev::NetdevCollector,
    wireless: wireless::WirelessCollector,
    process: process::ProcessCollector,
    health: [Health; 4],
    scratch: Exposition,
}

/// Which collectors one scrape runs: a subset of the enabled ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Selection([bool; 4]);

/// A `collect[]`/`exclude[]` request that cannot be honoured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectionError {
    /// No collector of that name exists.
    Unknown(String),
    /// The collector exists but the config turns it off.
    Disabled(String),
    /// Both `collect[]` and `exclude[]` were given.
    Both,
}

impl fmt::Display for SelectionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SelectionError::Unknown(n) => write!(f, "unknown collector {n:?} (known: {})", COLLECTOR_NAMES.join(", ")),
            SelectionError::Disabled(n) => write!(f, "collector {n:?} is disabled in the config"),
            SelectionError::Both => write!(f, "collect[] and exclude[] cannot be combined"),
        }
    }
}

impl Registry {
    /// Builds the registry for a config.
    pub fn new(config: &Config) -> Registry {
        let mut r = Registry {
            roots: config.paths.roots(),
            enabled: [false; 4],
            conntrack: conntrack::ConntrackCollector::default(),
            load: load::LoadCollector::default(),
            netdev: netdev::NetdevCollector::new(&config.netdev),
            wireless: wireless::WirelessCollector::new(&config.wireless),
            process: process::ProcessCollector::default(),
            health: Default::default(),
            scratch: Exposition::new(),
        };
        r.apply(config);
        r
    }

    /// Applies a new config in place, keeping counter state (wrap tracking)
    /// across reloads.
    pub fn apply(&mut self, config: &Config) {
        let c = &config.collectors;
        self.enabled = [c.conntrack, c.load, c.netdev, c.wireless];
        self.roots = config.paths.roots();
        self.netdev.configure(&config.netdev);
        self.wireless.configure(&config.wireless, &config.paths.nl80211);
    }

    /// All enabled collectors.
    pub fn all_enabled(&self) -> Selection {
        Selection(self.enabled)
    }

    /// Resolves `collect[]` (only these) or `exclude[]` (all enabled but these).
    pub fn select(&self, collect: &[&str], exclude: &[&str]) -> Result<Selection, SelectionError> {
        if !collect.is_empty() && !exclude.is_empty() {
            return Err(SelectionError::Both);
        }
        let index = |name: &str| -> Result<usize, SelectionError> {
            let i =
                COLLECTOR_NAMES.iter().position(|n| *n == name).ok_or_else(|| SelectionError::Unknown(name.into()))?;
            if self.enabled[i] { Ok(i) } else { Err(SelectionError::Disabled(name.into())) }
        };
        if !collect.is_empty() {
            let mut sel = [false; 4];
            for name in collect {
                sel[index(name)?] = true;
            }
            return Ok(Selection(sel));
        }
        let mut sel = self.enabled;
        for name in exclude {
            sel[index(name)?] = false;
        }
        Ok(Selection(sel))
    }

    /// The roots and collector `i` (in [`COLLECTOR_NAMES`] order), borrowed apart.
    fn parts(&mut self, i: usize) -> (&Roots, &mut dyn Collector) {
        let Registry { roots, conntrack, load, netdev, wireless, .. } = self;
        let c: &mut dyn Collector = match i {
            0 => conntrack,
            1 => load,
            2 => netdev,
            _ => wireless,
        };
        (roots, c)
    }

    /// Runs one scrape of the selected collectors into `out` (cleared first).
    pub fn scrape(&mut self, selection: Selection, out: &mut Exposition) {
        out.clear();
        let mut results: [Option<(Duration, bool)>; 4] = [None; 4];
        for (i, result) in results.iter_mut().enumerate() {
            if !selection.0[i] {
                continue;
            }
            let mut scratch = std::mem::take(&mut self.scratch);
            scratch.clear();
            let started = Instant::now();
            let (roots, collector) = self.parts(i);
            let outcome = collector.collect(roots, &mut scratch);
            let took = started.elapsed();
            let ok = outcome.is_ok();
            self.note_outcome(i, outcome);
            if ok {
                out.append(&scratch);
            }
            self.scratch = scratch;
            *result = Some((took, ok));
        }
        out.family(
            "node_scrape_collector_duration_seconds",
            "ap-exporter: Duration of a collector scrape.",
            MetricType::Gauge,
        );
        for (i, r) in results.iter().enumerate() {
            if let Some((took, _)) = r {
                out.sample(&[("collector", COLLECTOR_NAMES[i])], took.as_secs_f64());
            }
        }
        out.family("node_scrape_collector_success", "ap-exporter: Whether a collector succeeded.", MetricType::Gauge);
        for (i, r) in results.iter().enumerate() {
            if let Some((_, ok)) = r {
                out.sample(&[("collector", COLLECTOR_NAMES[i])], u64::from(*ok));
            }
        }
        out.family(
            "ap_exporter_build_info",
            "A metric with a constant '1' value labeled by version and target.",
            MetricType::Gauge,
        );
        out.sample(&[("target", crate::TARGET), ("version", crate::VERSION)], 1u64);
        self.process.write(out);
    }

    /// Logs a failure once (and again only if its message changes), and a
    /// recovery once.
    fn note_outcome(&mut self, i: usize, outcome: Result<(), CollectError>) {
        let health = &mut self.health[i];
        match outcome {
            Ok(()) => {
                if health.last_error.take().is_some() {
                    log::info!("collector {} recovered", COLLECTOR_NAMES[i]);
                }
            }
            Err(e) => {
                let msg = e.to_string();
                if health.last_error.as_deref() != Some(msg.as_str()) {
                    log::warn!("collector {} failed: {msg}", COLLECTOR_NAMES[i]);
                    health.last_error = Some(msg);
                }
            }
        }
    }

    /// Saves nl80211 replies into `dir` during scrapes (`--nl80211-capture`).
    pub fn capture_nl80211(&mut self, dir: &std::path::Path) {
        self.wireless.capture_nl80211(dir);
    }

    /// The earliest time any enabled collector wants a between-scrape sample.
    pub fn next_sample(&self) -> Option<Instant> {
        (0..4).filter(|&i| self.enabled[i]).filter_map(|i| self.collector_ref(i).next_sample()).min()
    }

    fn collector_ref(&self, i: usize) -> &dyn Collector {
        match i {
            0 => &self.conntrack,
            1 => &self.load,
            2 => &self.netdev,
            _ => &self.wireless,
        }
    }

    /// Runs the between-scrape samples that are due.
    pub fn sample_due(&mut self, now: Instant) {
        for i in 0..4 {
            if self.enabled[i] && self.collector_ref(i).next_sample().is_some_and(|t| t <= now) {
                let (roots, collector) = self.parts(i);
                collector.sample(roots);
            }
        }
    }
}
