//! The registry: one instance of every collector in the table, and the
//! scrape that runs the selected ones and adds the meta families
//! (`node_scrape_collector_duration_seconds` and `_success`).

use crate::collectors::{COLLECTORS, CollectError, Collector, CollectorSet, Scope, device_names};
use crate::config::Config;
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::Roots;
use std::fmt;
use std::path::Path;
use std::time::{Duration, Instant};

/// A collector and what the registry remembers about it across scrapes.
struct Slot {
    collector: Box<dyn Collector>,
    /// The last error logged, so a persisting failure is logged once.
    last_error: Option<String>,
}

/// Runs the enabled collectors and adds the meta metrics.
pub struct Registry {
    roots: Roots,
    enabled: CollectorSet,
    /// One per row of [`COLLECTORS`], in table order.
    slots: Vec<Slot>,
    scratch: Exposition,
}

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
            SelectionError::Unknown(n) => {
                write!(f, "unknown collector {n:?} (known: {})", device_names().collect::<Vec<_>>().join(", "))
            }
            SelectionError::Disabled(n) => write!(f, "collector {n:?} is disabled in the config"),
            SelectionError::Both => write!(f, "collect[] and exclude[] cannot be combined"),
        }
    }
}

impl Registry {
    /// Builds every collector for a config.
    pub fn new(config: &Config) -> Registry {
        let slots = COLLECTORS.iter().map(|e| Slot { collector: (e.build)(config), last_error: None }).collect();
        Registry { roots: config.paths.roots(), enabled: config.collectors, slots, scratch: Exposition::new() }
    }

    /// Applies a reloaded config in place; collectors keep their state
    /// (counter history) across reloads.
    pub fn apply(&mut self, config: &Config) {
        let capture = self.roots.nl80211_capture.take();
        self.roots = config.paths.roots();
        self.roots.nl80211_capture = capture;
        self.enabled = config.collectors;
        for slot in &mut self.slots {
            slot.collector.configure(config);
        }
    }

    /// Saves nl80211 replies into `dir` during scrapes (`--nl80211-capture`).
    pub fn capture_nl80211(&mut self, dir: &Path) {
        self.roots.nl80211_capture = Some(dir.to_path_buf());
    }

    /// All enabled collectors.
    pub fn all_enabled(&self) -> CollectorSet {
        self.enabled
    }

    /// Resolves `collect[]` (only these) or `exclude[]` (all enabled but these).
    pub fn select(&self, collect: &[&str], exclude: &[&str]) -> Result<CollectorSet, SelectionError> {
        if !collect.is_empty() && !exclude.is_empty() {
            return Err(SelectionError::Both);
        }
        let position = |name: &str| -> Result<usize, SelectionError> {
            let i = CollectorSet::position(name).ok_or_else(|| SelectionError::Unknown(name.into()))?;
            if self.enabled.contains(i) { Ok(i) } else { Err(SelectionError::Disabled(name.into())) }
        };
        if !collect.is_empty() {
            let mut selection = CollectorSet::EMPTY;
            for name in collect {
                selection.insert(position(name)?);
            }
            return Ok(selection);
        }
        let mut selection = self.enabled;
        for name in exclude {
            selection.remove(position(name)?);
        }
        Ok(selection)
    }

    /// Runs one scrape of the selected device collectors into `out` (cleared
    /// first), then the meta families, then the exporter's own collectors.
    pub fn scrape(&mut self, selection: CollectorSet, out: &mut Exposition) {
        out.clear();
        let mut results: Vec<(&'static str, Duration, bool)> = Vec::with_capacity(COLLECTORS.len());
        for (i, entry) in COLLECTORS.iter().enumerate() {
            if entry.scope == Scope::Device && selection.contains(i) {
                let started = Instant::now();
                let ok = self.run(i, out);
                results.push((entry.name, started.elapsed(), ok));
            }
        }
        out.family(
            "node_scrape_collector_duration_seconds",
            "ap-exporter: Duration of a collector scrape.",
            MetricType::Gauge,
        );
        for (name, took, _) in &results {
            out.sample(&[("collector", name)], took.as_secs_f64());
        }
        out.family("node_scrape_collector_success", "ap-exporter: Whether a collector succeeded.", MetricType::Gauge);
        for (name, _, ok) in &results {
            out.sample(&[("collector", name)], u64::from(*ok));
        }
        for (i, entry) in COLLECTORS.iter().enumerate() {
            if entry.scope == Scope::Exporter {
                self.run(i, out);
            }
        }
    }

    /// Runs collector `i` into a scratch buffer and appends it to `out` only
    /// if it succeeded. Returns whether it did.
    fn run(&mut self, i: usize, out: &mut Exposition) -> bool {
        let Some(slot) = self.slots.get_mut(i) else { return false };
        self.scratch.clear();
        let outcome = slot.collector.collect(&self.roots, &mut self.scratch);
        let ok = outcome.is_ok();
        note_outcome(COLLECTORS[i].name, &mut slot.last_error, outcome);
        if ok {
            out.append(&self.scratch);
        }
        ok
    }

    /// The earliest time any enabled collector wants a between-scrape sample.
    pub fn next_sample(&self) -> Option<Instant> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(i, _)| self.enabled.contains(*i))
            .filter_map(|(_, s)| s.collector.next_sample())
            .min()
    }

    /// Runs the between-scrape samples that are due.
    pub fn sample_due(&mut self, now: Instant) {
        for (i, slot) in self.slots.iter_mut().enumerate() {
            if self.enabled.contains(i) && slot.collector.next_sample().is_some_and(|t| t <= now) {
                slot.collector.sample(&self.roots);
            }
        }
    }
}

/// Logs a failure once (and again only if its message changes), and a
/// recovery once.
fn note_outcome(name: &str, last_error: &mut Option<String>, outcome: Result<(), CollectError>) {
    match outcome {
        Ok(()) => {
            if last_error.take().is_some() {
                log::info!("collector {name} recovered");
            }
        }
        Err(e) => {
            let msg = e.to_string();
            if last_error.as_deref() != Some(msg.as_str()) {
                log::warn!("collector {name} failed: {msg}");
                *last_error = Some(msg);
            }
        }
    }
}
