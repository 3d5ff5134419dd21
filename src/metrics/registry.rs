//! The registry: one instance of every collector in the table, and the
//! scrapes that run the selected ones and add the meta families
//! (`node_scrape_collector_duration_seconds` and `_success`).
//!
//! Most collectors read a few files and run inline. Those marked
//! `isolated` in the table (wireless: it may run Broadcom's `wl` dozens of
//! times) run in a child process (`os::child`) whose pipe the poll loop
//! watches: a scrape that needs one is answered when the child is done or
//! its `collector_timeout_seconds` budget is spent, and the server serves
//! everyone else meanwhile. Scrapes that arrive while a child runs share
//! its result.

use crate::collectors::{COLLECTORS, CollectError, Collector, CollectorSet, Scope, device_names};
use crate::config::Config;
use crate::metrics::exposition::{Exposition, Family, MetricType, render_labels};
use crate::os::child::{self, Child};
use crate::os::duration;
use crate::os::source::Roots;
use std::fmt;
use std::os::fd::RawFd;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long a stopped child has to end its command and exit before SIGKILL.
const STOP_GRACE: Duration = Duration::from_millis(500);

/// A collector and what the registry remembers about it across scrapes.
struct Slot {
    collector: Box<dyn Collector>,
    /// The last error logged, so a persisting failure is logged once.
    last_error: Option<String>,
    /// The warnings its last child run logged, so a repeated one is logged once.
    last_warnings: Vec<String>,
    /// Its child process, while one runs.
    job: Option<Job>,
    /// For an inline collector waiting on children of its own (see
    /// `Collector::start`): when it started and when its time is up.
    waiting: Option<(Instant, Instant)>,
    /// The buffer of its last part, for its next one: an inline
    /// collector writes into a buffer of the right size, and its text
    /// becomes the scrape's part without a copy.
    spare: String,
    /// The last successful output of a collector with `reuse_for`, and when
    /// its child gave it.
    reused: Option<(String, Instant)>,
}

/// An isolated collector running in a child.
struct Job {
    child: Child,
    started: Instant,
    deadline: Instant,
}

/// What one collector gave one scrape.
struct Part {
    text: String,
    ok: bool,
    took: Duration,
}

/// A scrape waiting for isolated collectors.
struct Pending {
    ticket: u64,
    /// One per row of [`COLLECTORS`]: `Some` once that collector is done;
    /// rows not selected stay `None` and are not waited for.
    parts: Vec<Option<Part>>,
    selection: CollectorSet,
}

impl Pending {
    fn complete(&self) -> bool {
        self.parts.iter().enumerate().all(|(i, p)| p.is_some() || !self.selection.contains(i))
    }
}

/// Runs the enabled collectors and adds the meta metrics.
pub struct Registry {
    roots: Roots,
    enabled: CollectorSet,
    /// One per row of [`COLLECTORS`], in table order.
    slots: Vec<Slot>,
    scratch: Exposition,
    /// `node_scrape_collector_duration_seconds` and `_success`, and each
    /// row's `{collector="..."}`, rendered once.
    meta: [Family; 2],
    meta_labels: Vec<String>,
    budget: Duration,
    pending: Vec<Pending>,
    next_ticket: u64,
    /// Finished or stopped children not reaped yet, with when they may be
    /// killed outright.
    stopping: Vec<(Child, Instant)>,
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
        let slots = COLLECTORS
            .iter()
            .map(|e| Slot {
                collector: (e.build)(config),
                last_error: None,
                last_warnings: Vec::new(),
                job: None,
                waiting: None,
                spare: String::new(),
                reused: None,
            })
            .collect();
        Registry {
            roots: config.paths.roots(),
            enabled: config.collectors,
            slots,
            scratch: Exposition::new(),
            meta: [
                Family::new(
                    "node_scrape_collector_duration_seconds",
                    "ap-exporter: Duration of a collector scrape.",
                    MetricType::Gauge,
                ),
                Family::new(
                    "node_scrape_collector_success",
                    "ap-exporter: Whether a collector succeeded.",
                    MetricType::Gauge,
                ),
            ],
            meta_labels: COLLECTORS.iter().map(|e| render_labels(&[("collector", e.name)])).collect(),
            budget: Duration::from_secs(config.collector_timeout_seconds.0),
            pending: Vec::new(),
            next_ticket: 0,
            stopping: Vec::new(),
        }
    }

    /// Applies a reloaded config in place; collectors keep their state
    /// (counter history) across reloads.
    pub fn apply(&mut self, config: &Config) {
        let capture = self.roots.nl80211_capture.take();
        self.roots = config.paths.roots();
        self.roots.nl80211_capture = capture;
        self.enabled = config.collectors;
        self.budget = Duration::from_secs(config.collector_timeout_seconds.0);
        for slot in &mut self.slots {
            slot.collector.configure(config);
            slot.reused = None;
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
            let i = CollectorSet::device_position(name).ok_or_else(|| SelectionError::Unknown(name.into()))?;
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

    /// Starts a scrape of the selected device collectors: the inline ones
    /// run now, the isolated ones in children (joining one that runs
    /// already). Returns the ticket for [`Registry::finish`].
    pub fn begin(&mut self, selection: CollectorSet) -> u64 {
        let selection = only_devices(selection);
        let mut parts: Vec<Option<Part>> = COLLECTORS.iter().map(|_| None).collect();
        for (i, entry) in COLLECTORS.iter().enumerate() {
            if !selection.contains(i) {
                continue;
            }
            if let (Some(ttl), Some((text, at))) = (entry.reuse_for, &self.slots[i].reused)
                && at.elapsed() < ttl
            {
                parts[i] = Some(Part { text: text.clone(), ok: true, took: Duration::ZERO });
            } else if entry.isolated {
                if let Err(part) = self.start_job(i) {
                    parts[i] = Some(part);
                }
            } else if self.slots[i].waiting.is_none() {
                let started = Instant::now();
                match self.slots[i].collector.start(&self.roots) {
                    Some(deadline) => self.slots[i].waiting = Some((started, deadline)),
                    None => parts[i] = Some(self.run_inline(i)),
                }
            }
        }
        self.next_ticket += 1;
        self.pending.push(Pending { ticket: self.next_ticket, parts, selection });
        self.next_ticket
    }

    /// Writes the scrape of `ticket` into `out` (cleared first) if every
    /// collector it waits for is done, and forgets the ticket. The exporter's
    /// own collectors run now, so their figures are current.
    pub fn finish(&mut self, ticket: u64, out: &mut Exposition) -> bool {
        let Some(at) = self.pending.iter().position(|p| p.ticket == ticket && p.complete()) else { return false };
        let scrape = self.pending.swap_remove(at);
        out.clear();
        let done: Vec<(&str, &Part)> = self
            .meta_labels
            .iter()
            .zip(&scrape.parts)
            .filter_map(|(l, p)| p.as_ref().map(|p| (l.as_str(), p)))
            .collect();
        for (_, part) in &done {
            if part.ok {
                out.append_text(&part.text);
            }
        }
        let [duration, success] = &self.meta;
        out.start(duration);
        for (labels, part) in &done {
            out.sample_rendered(labels, part.took.as_secs_f64());
        }
        out.start(success);
        for (labels, part) in &done {
            out.sample_rendered(labels, u64::from(part.ok));
        }
        for (i, entry) in COLLECTORS.iter().enumerate() {
            if entry.scope == Scope::Exporter {
                let part = self.run_inline(i);
                if part.ok {
                    out.append_text(&part.text);
                }
                self.recycle(i, part.text);
            }
        }
        for (i, part) in scrape.parts.into_iter().enumerate() {
            if let Some(part) = part {
                self.recycle(i, part.text);
            }
        }
        true
    }

    /// Keeps a part's buffer for collector `i`'s next part, unless it is
    /// large (a scrape of thousands of interfaces should not pin its
    /// megabytes until the next one).
    fn recycle(&mut self, i: usize, text: String) {
        if let Some(slot) = self.slots.get_mut(i) {
            if text.capacity() <= 256 * 1024 && text.capacity() > slot.spare.capacity() {
                slot.spare = text;
            }
        }
    }

    /// When the scrape of `ticket` will be complete at the latest: when its
    /// slowest child runs out of budget.
    pub fn ready_by(&self, ticket: u64) -> Instant {
        let now = Instant::now();
        let Some(scrape) = self.pending.iter().find(|p| p.ticket == ticket) else { return now };
        self.slots
            .iter()
            .enumerate()
            .filter(|(i, _)| scrape.selection.contains(*i) && scrape.parts[*i].is_none())
            .filter_map(|(_, s)| s.job.as_ref().map(|j| j.deadline).or(s.waiting.map(|w| w.1)))
            .max()
            .unwrap_or(now)
    }

    /// Forgets a scrape nobody waits for any more.
    pub fn abandon(&mut self, ticket: u64) {
        self.pending.retain(|p| p.ticket != ticket);
    }

    /// One whole scrape, waiting for isolated collectors right here: for
    /// `--once`, where there is nothing else to serve.
    pub fn scrape(&mut self, selection: CollectorSet, out: &mut Exposition) {
        let ticket = self.begin(selection);
        while !self.finish(ticket, out) {
            let mut fds = Vec::new();
            let due = self.pending_fds(&mut fds);
            let mut pollfds: Vec<libc::pollfd> =
                fds.iter().map(|&fd| libc::pollfd { fd, events: libc::POLLIN, revents: 0 }).collect();
            let ms = due
                .map_or(100, |t| duration::millis(t.saturating_duration_since(Instant::now())).clamp(1, 1000) as i32);
            // SAFETY: pollfds is a valid array of pollfds.len() entries.
            unsafe { libc::poll(pollfds.as_mut_ptr(), pollfds.len() as libc::nfds_t, ms) };
            self.advance(Instant::now());
        }
    }

    /// The children's pipes to poll, and the earliest budget deadline.
    pub fn pending_fds(&self, fds: &mut Vec<RawFd>) -> Option<Instant> {
        let jobs = self.slots.iter().filter_map(|s| s.job.as_ref());
        let mut due = None;
        for job in jobs {
            fds.push(job.child.fd());
            due = Some(due.map_or(job.deadline, |d: Instant| d.min(job.deadline)));
        }
        for slot in &self.slots {
            if let Some((_, deadline)) = slot.waiting {
                slot.collector.waiting_fds(fds);
                due = Some(due.map_or(deadline, |d: Instant| d.min(deadline)));
            }
        }
        if !self.stopping.is_empty() {
            // Look again soon to reap what was stopped.
            let soon = Instant::now() + Duration::from_millis(100);
            due = Some(due.map_or(soon, |d: Instant| d.min(soon)));
        }
        due
    }

    /// Reads the children's output; a finished child, or one past its
    /// budget, gives its result to every scrape waiting for it.
    pub fn advance(&mut self, now: Instant) {
        self.stopping.retain_mut(|(c, kill_at)| {
            if !c.try_reap() && now >= *kill_at {
                c.kill();
            }
            !c.try_reap()
        });
        for i in 0..self.slots.len() {
            let answered = self.slots[i].collector.advance();
            if let Some((started, deadline)) = self.slots[i].waiting {
                if answered || now >= deadline {
                    self.slots[i].waiting = None;
                    let part = self.run_inline(i);
                    self.give(i, &part.text, part.ok, part.took + now.saturating_duration_since(started));
                    self.recycle(i, part.text);
                }
            }
            let Some(job) = self.slots[i].job.as_mut() else { continue };
            let outcome = match job.child.read_available() {
                Ok(true) => decode_child_output(job.child.output()),
                Ok(false) if now < job.deadline => continue,
                Ok(false) => Err(CollectError::Unavailable(format!(
                    "still running after {} s (collector_timeout_seconds); stopped",
                    self.budget.as_secs()
                ))),
                Err(e) => Err(CollectError::Unavailable(format!("reading its child process: {e}"))),
            };
            let Some(mut job) = self.slots[i].job.take() else { continue };
            let took = now.saturating_duration_since(job.started);
            if !job.child.try_reap() {
                if outcome.is_err() {
                    // SIGTERM first: the child then kills the command it runs.
                    job.child.stop();
                }
                self.stopping.push((job.child, now + STOP_GRACE));
            }
            let (text, ok) = match outcome {
                Ok(ChildResult { text, warnings, debug }) => {
                    self.relog(i, warnings, debug);
                    (text, true)
                }
                Err(e) => (String::new(), self.note(i, Err(e))),
            };
            if ok {
                self.note(i, Ok(()));
            }
            let reuse = COLLECTORS.get(i).and_then(|e| e.reuse_for);
            self.slots[i].reused = match reuse {
                Some(_) if ok => Some((text.clone(), now)),
                _ => None,
            };
            self.give(i, &text, ok, took);
        }
    }

    /// Gives collector `i`'s result to every scrape waiting for it.
    fn give(&mut self, i: usize, text: &str, ok: bool, took: Duration) {
        for scrape in self.pending.iter_mut().filter(|p| p.selection.contains(i) && p.parts[i].is_none()) {
            scrape.parts[i] = Some(Part { text: text.to_string(), ok, took });
        }
    }

    /// Stops every child (at shutdown): SIGTERM, so each kills the command
    /// it runs, then SIGKILL for any still there after [`STOP_GRACE`].
    pub fn stop_children(&mut self) {
        let now = Instant::now();
        for slot in &mut self.slots {
            if let Some(mut job) = slot.job.take() {
                job.child.stop();
                self.stopping.push((job.child, now + STOP_GRACE));
            }
        }
        let end = now + STOP_GRACE;
        while !self.stopping.is_empty() && Instant::now() < end {
            self.stopping.retain_mut(|(c, _)| !c.try_reap());
            std::thread::sleep(Duration::from_millis(10));
        }
        for (child, _) in &mut self.stopping {
            child.kill();
        }
    }

    /// Starts (or joins) the child of isolated collector `i`. Fails with the
    /// part to report when no child can be started.
    fn start_job(&mut self, i: usize) -> Result<(), Part> {
        if self.slots[i].job.is_some() {
            return Ok(());
        }
        let roots = self.roots.clone();
        let slot = &mut self.slots[i];
        let collector = &mut slot.collector;
        let started = Instant::now();
        let spawned = child::spawn(|| {
            crate::os::logging::capture();
            let mut out = Exposition::new();
            let result = collector.collect(&roots, &mut out);
            encode_child_output(result, out.as_str(), crate::os::logging::take_captured())
        });
        match spawned {
            Ok(child) => {
                slot.job = Some(Job { child, started, deadline: started + self.budget });
                Ok(())
            }
            Err(e) => {
                let ok = self.note(i, Err(CollectError::Unavailable(format!("cannot start a child process: {e}"))));
                Err(Part { text: String::new(), ok, took: started.elapsed() })
            }
        }
    }

    /// Runs collector `i` here and now: its text (empty on failure), whether
    /// it succeeded, and how long `collect` took.
    fn run_inline(&mut self, i: usize) -> Part {
        let Some(slot) = self.slots.get_mut(i) else {
            return Part { text: String::new(), ok: false, took: Duration::ZERO };
        };
        self.scratch.swap_text(&mut slot.spare);
        let started = Instant::now();
        let outcome = slot.collector.collect(&self.roots, &mut self.scratch);
        let took = started.elapsed();
        let ok = self.note(i, outcome);
        let mut text = String::new();
        if ok {
            self.scratch.swap_text(&mut text);
        }
        Part { text, ok, took }
    }

    /// Logs an outcome of collector `i` (see [`note_outcome`]); returns
    /// whether it succeeded.
    fn note(&mut self, i: usize, outcome: Result<(), CollectError>) -> bool {
        let ok = outcome.is_ok();
        note_outcome(COLLECTORS[i].name, &mut self.slots[i].last_error, outcome);
        ok
    }

    /// Logs what a child logged: its warnings only when they differ from its
    /// last run's (as the parent does for its own), the rest as it came.
    fn relog(&mut self, i: usize, warnings: Vec<(log::Level, String)>, debug: Vec<(log::Level, String)>) {
        for (level, line) in debug {
            log::log!(level, "{line}");
        }
        let slot = &mut self.slots[i];
        let lines: Vec<String> = warnings.iter().map(|(_, l)| l.clone()).collect();
        for (level, line) in warnings {
            if !slot.last_warnings.contains(&line) {
                log::log!(level, "{line}");
            }
        }
        slot.last_warnings = lines;
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

/// The device rows of a selection (exporter rows always run, at the end).
fn only_devices(selection: CollectorSet) -> CollectorSet {
    let mut out = CollectorSet::EMPTY;
    for (i, e) in COLLECTORS.iter().enumerate() {
        if e.scope == Scope::Device && selection.contains(i) {
            out.insert(i);
        }
    }
    out
}

/// What a child reports: its exposition text and the lines it logged.
struct ChildResult {
    text: String,
    /// Warnings and errors, logged once while they repeat.
    warnings: Vec<(log::Level, String)>,
    /// Everything else it logged.
    debug: Vec<(log::Level, String)>,
}

/// The child's report: a status line (`ok` or `failed`), a line with the
/// number of log lines, the log lines (`LEVEL message`), then the
/// exposition text or the error message.
fn encode_child_output(result: Result<(), CollectError>, text: &str, logs: Vec<(log::Level, String)>) -> Vec<u8> {
    let mut out = String::new();
    out.push_str(if result.is_ok() { "ok\n" } else { "failed\n" });
    out.push_str(&format!("{}\n", logs.len()));
    for (level, line) in logs {
        out.push_str(&format!("{} {}\n", level as usize, line.replace('\n', " ")));
    }
    match result {
        Ok(()) => out.push_str(text),
        Err(e) => out.push_str(&e.to_string()),
    }
    out.into_bytes()
}

/// Reads a child's report. A report cut short (the child died) is a failure.
fn decode_child_output(bytes: &[u8]) -> Result<ChildResult, CollectError> {
    let cut = || CollectError::Unavailable("its child process ended without a complete report".into());
    let text = std::str::from_utf8(bytes).map_err(|_| cut())?;
    let (status, rest) = text.split_once('\n').ok_or_else(cut)?;
    let (count, mut rest) = rest.split_once('\n').ok_or_else(cut)?;
    let count: usize = count.parse().map_err(|_| cut())?;
    let mut warnings = Vec::new();
    let mut debug = Vec::new();
    for _ in 0..count {
        let (line, after) = rest.split_once('\n').ok_or_else(cut)?;
        rest = after;
        let (level, message) = line.split_once(' ').ok_or_else(cut)?;
        let level = match level {
            "1" => log::Level::Error,
            "2" => log::Level::Warn,
            "3" => log::Level::Info,
            "4" => log::Level::Debug,
            _ => log::Level::Trace,
        };
        if level <= log::Level::Warn { &mut warnings } else { &mut debug }.push((level, message.to_string()));
    }
    match status {
        "ok" => Ok(ChildResult { text: rest.to_string(), warnings, debug }),
        "failed" => Err(CollectError::Unavailable(rest.to_string())),
        _ => Err(cut()),
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
