//! filesystem: size, free space and inodes of each mount in
//! `<procfs>/mounts`, with node_exporter's names, labels and semantics
//! (`node_filesystem_*{device,fstype,mountpoint}`).
//!
//! statfs(2) on a dead USB disk or a stale network share can block for
//! minutes, often in an uninterruptible sleep. So each mount's statfs runs
//! (but for tmpfs and flash types, see [`NEVER_BLOCKS`]) in a child
//! process of its own (`os::child`), started when a scrape
//! begins; the registry polls their pipes with the serving loop
//! ([`Collector::start`]) and the scrape is written when all have answered
//! or `mount_timeout_seconds` has passed. A mount that did not answer, or
//! whose statfs failed, gets `node_filesystem_device_error 1` and no other
//! series. A child that did not answer is not waited for: it is parked,
//! reaped without blocking on later scrapes, and while it is parked its
//! mount is reported as an error without asking again (as node_exporter
//! does with its stuck mounts). At most [`MAX_CHILDREN`] children live at
//! once, parked ones included: mounts beyond that wait for a child to
//! answer, and while that many are parked the mounts that need a child are
//! reported as errors without asking.

use super::{CollectError, Collector};
use crate::config::{Config, FilesystemConfig};
use crate::metrics::exposition::{Exposition, Family, MetricType};
use crate::os::child::{self, Child};
use crate::os::source::{MAX_SOURCE_BYTES, Roots, SourceError, SourceErrorKind, open_regular};
use crate::parse::mounts::{self, Mount};
use std::ffi::CString;
use std::io::Read;
use std::os::fd::RawFd;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

/// Most statfs children alive at once, asking or parked.
pub const MAX_CHILDREN: usize = 4;

/// Most mounts reported (after the excludes, in file order); a router has
/// ten or so. Beyond it a scrape would fork without bound.
pub const MAX_MOUNTS: usize = 512;

/// Types whose statfs reads counters in memory and never waits on a device
/// or a server: asked inline, without a child, unless the path to them
/// crosses a mount of a type in [`MAY_BLOCK_A_WALK`]. On OpenWrt that is
/// all but the overlay `/` (whose upper layer may be a USB disk, with
/// extroot).
const NEVER_BLOCKS: [&str; 4] = ["tmpfs", "ramfs", "jffs2", "ubifs"];

/// Types that may ask a server while a path is walked through them (to
/// revalidate a name, or to automount): a tmpfs below one of these needs a
/// child too. FUSE types all start with `fuse`.
const MAY_BLOCK_A_WALK: [&str; 10] = ["nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "afs", "coda", "autofs"];

/// Whether `mountpoint` is `ancestor` or lies below it. The same point
/// counts: a mount listed later on it (one excluded, so not the one kept)
/// is what a walk to that point reaches.
fn below(mountpoint: &str, ancestor: &str) -> bool {
    mountpoint
        .strip_prefix(ancestor)
        .is_some_and(|rest| rest.is_empty() || ancestor.ends_with('/') || rest.starts_with('/'))
}

/// The families, in the order written, with node_exporter's HELP texts.
const FAMILIES: [(&str, &str); 7] = [
    ("node_filesystem_size_bytes", "Filesystem size in bytes."),
    ("node_filesystem_free_bytes", "Filesystem free space in bytes."),
    ("node_filesystem_avail_bytes", "Filesystem space available to non-root users in bytes."),
    ("node_filesystem_files", "Filesystem total file nodes."),
    ("node_filesystem_files_free", "Filesystem total free file nodes."),
    ("node_filesystem_readonly", "Filesystem read-only status."),
    ("node_filesystem_device_error", "Whether an error occurred while getting statistics for the given device."),
];

/// What statfs said: size, free, available (bytes), files, free files.
type Stats = [u64; 5];

/// Where a mount's statfs is.
enum State {
    /// Waiting for a free child slot, with the path to ask.
    Queued(CString),
    /// Its child has not answered yet.
    Asking(Child),
    /// Answered (`None`: it failed, did not answer, or was not asked).
    Done(Option<Stats>),
}

/// The filesystem collector.
pub struct FilesystemCollector {
    config: FilesystemConfig,
    families: Vec<Family>,
    buf: String,
    /// This scrape's mounts (one per mount point, the last listed) and
    /// their statfs.
    mounts: Vec<(Mount, State)>,
    /// Why the mounts file could not be read this scrape.
    failed: Option<CollectError>,
    /// Children whose mount did not answer in time, by mount point, and
    /// under "" those that answered but had not exited yet: all are
    /// reaped later, without blocking.
    parked: Vec<(String, Child)>,
    /// What each mount gave the last scrape, for `--diagnose`.
    found: Vec<(bool, String)>,
}

impl FilesystemCollector {
    /// A collector for a config's `[filesystem]` settings.
    pub fn new(config: &Config) -> FilesystemCollector {
        FilesystemCollector {
            config: config.filesystem.clone(),
            families: FAMILIES.iter().map(|(n, h)| Family::new(n, h, MetricType::Gauge)).collect(),
            buf: String::new(),
            mounts: Vec::new(),
            failed: None,
            parked: Vec::new(),
            found: Vec::new(),
        }
    }

    /// Reads the mounts, asks those of [`NEVER_BLOCKS`] types here, and
    /// queues the others for a child each.
    fn ask(&mut self, roots: &Roots) -> Result<(), CollectError> {
        let path = roots.proc_path("mounts");
        // Not read_bounded: the kernel writes a mount point's bytes as they
        // are (a Latin-1 USB label), and one such mount must not hide the
        // others. Its label gets U+FFFD (and its statfs fails).
        let mut bytes = Vec::new();
        let read = open_regular(&path)?.take(MAX_SOURCE_BYTES).read_to_end(&mut bytes);
        read.map_err(|e| SourceError { path, kind: SourceErrorKind::Io(e) })?;
        self.buf = String::from_utf8_lossy(&bytes).into_owned();
        let (all, _) = mounts::parse(&self.buf);
        // Where a walk may wait on a server, excluded mounts included.
        let risky: Vec<String> = all
            .iter()
            .filter(|m| m.fstype.starts_with("fuse") || MAY_BLOCK_A_WALK.contains(&m.fstype.as_str()))
            .map(|m| m.mountpoint.clone())
            .collect();
        for m in all.into_iter().filter(|m| self.config.selects(&m.mountpoint, &m.fstype)) {
            // statfs sees the last mount on a mount point, so only that one
            // is reported (under the others' labels its figures would lie).
            self.mounts.retain(|(old, _)| old.mountpoint != m.mountpoint);
            if self.mounts.len() < MAX_MOUNTS {
                self.mounts.push((m, State::Done(None)));
            }
        }
        for (m, state) in &mut self.mounts {
            if self.parked.iter().any(|(p, _)| *p == m.mountpoint) {
                continue;
            }
            let path = roots.rootfs.join(m.mountpoint.trim_start_matches('/'));
            let Ok(path) = CString::new(path.as_os_str().as_bytes()) else { continue };
            let inline = NEVER_BLOCKS.contains(&m.fstype.as_str()) && !risky.iter().any(|r| below(&m.mountpoint, r));
            *state = if inline { State::Done(decode(&statfs(&path))) } else { State::Queued(path) };
        }
        self.launch();
        Ok(())
    }

    /// Starts a child for queued mounts while fewer than [`MAX_CHILDREN`]
    /// live. Returns whether any is asking.
    fn launch(&mut self) -> bool {
        let mut alive = self.parked.len();
        alive += self.mounts.iter().filter(|(_, s)| matches!(s, State::Asking(_))).count();
        for (_, state) in &mut self.mounts {
            let State::Queued(path) = state else { continue };
            if alive >= MAX_CHILDREN {
                break;
            }
            let spawned = child::spawn(|| {
                // SAFETY: back to the default action, so that the SIGTERM the
                // parent's death sends kills this child even in a killable
                // wait inside statfs.
                unsafe { libc::signal(libc::SIGTERM, libc::SIG_DFL) };
                statfs(path)
            });
            *state = match spawned {
                Ok(c) => {
                    alive += 1;
                    State::Asking(c)
                }
                Err(_) => State::Done(None),
            };
        }
        alive > self.parked.len()
    }

    /// Reads what the children sent, without blocking.
    fn read_answers(&mut self) {
        for (_, state) in &mut self.mounts {
            let State::Asking(c) = state else { continue };
            match c.read_available() {
                Ok(false) => {}
                finished => {
                    let stats = finished.ok().and_then(|_| decode(c.output()));
                    if let State::Asking(mut c) = std::mem::replace(state, State::Done(stats)) {
                        // Its pipe may close a moment before it has exited.
                        if !c.try_reap() {
                            // Kept with the parked ones, under no mount point: it
                            // still counts against MAX_CHILDREN until reaped.
                            self.parked.push((String::new(), c));
                        }
                    }
                }
            }
        }
    }
}

/// statfs of `path` (in a child unless [`NEVER_BLOCKS`]), as 40 bytes
/// (five u64, native order), or nothing when it fails.
fn statfs(path: &CString) -> Vec<u8> {
    // SAFETY: a zeroed statfs is a valid value of this plain C struct.
    let mut s: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: path is NUL-terminated and s is a valid statfs to fill.
    if unsafe { libc::statfs(path.as_ptr(), &mut s) } != 0 {
        return Vec::new();
    }
    // The field types differ between libcs and word sizes (i64, u32, u64);
    // node_exporter multiplies the block counts by f_bsize too.
    #[allow(clippy::unnecessary_cast)]
    let (bsize, counts) = (
        s.f_bsize as u64,
        [s.f_blocks as u64, s.f_bfree as u64, s.f_bavail as u64, s.f_files as u64, s.f_ffree as u64],
    );
    let stats: Stats = [
        counts[0].saturating_mul(bsize),
        counts[1].saturating_mul(bsize),
        counts[2].saturating_mul(bsize),
        counts[3],
        counts[4],
    ];
    let mut bytes = Vec::with_capacity(40);
    for v in stats {
        bytes.extend_from_slice(&v.to_ne_bytes());
    }
    bytes
}

/// The child's 40 bytes back as [`Stats`].
fn decode(bytes: &[u8]) -> Option<Stats> {
    if bytes.len() != 40 {
        return None;
    }
    let mut stats = [0u64; 5];
    for (v, chunk) in stats.iter_mut().zip(bytes.chunks_exact(8)) {
        *v = u64::from_ne_bytes(chunk.try_into().ok()?);
    }
    Some(stats)
}

impl Collector for FilesystemCollector {
    fn start(&mut self, roots: &Roots) -> Option<Instant> {
        // Parked children that have returned are reaped; what they found
        // is old.
        self.advance();
        self.mounts.clear();
        self.found.clear();
        self.failed = self.ask(roots).err();
        let asking = self.mounts.iter().any(|(_, s)| matches!(s, State::Asking(_)));
        asking.then(|| Instant::now() + Duration::from_secs(self.config.mount_timeout_seconds.0))
    }

    fn waiting_fds(&self, fds: &mut Vec<RawFd>) {
        fds.extend(self.mounts.iter().filter_map(|(_, s)| match s {
            State::Asking(c) => Some(c.fd()),
            _ => None,
        }));
    }

    fn advance(&mut self) -> bool {
        // The registry calls this on every turn, scrape or not: a child
        // that ended is reaped even with the collector turned off.
        self.parked.retain_mut(|(_, c)| !c.try_reap());
        self.read_answers();
        // Queued mounts take the slots that answers freed.
        !self.launch()
    }

    fn collect(&mut self, _roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        self.read_answers();
        if let Some(e) = self.failed.take() {
            return Err(e);
        }
        for (m, state) in &mut self.mounts {
            let why = match std::mem::replace(state, State::Done(None)) {
                State::Asking(c) => {
                    // Out of time: park the child rather than wait for it.
                    self.parked.push((m.mountpoint.clone(), c));
                    ": no answer within mount_timeout_seconds"
                }
                State::Queued(_) => ": not asked, all statfs children busy",
                State::Done(None) if self.parked.iter().any(|(p, _)| *p == m.mountpoint) => {
                    ": an earlier statfs is still stuck"
                }
                State::Done(None) => ": statfs failed",
                State::Done(s) => {
                    *state = State::Done(s);
                    ""
                }
            };
            self.found.push((why.is_empty(), format!("{} ({}){why}", m.mountpoint, m.fstype)));
        }
        for (k, family) in self.families.iter().enumerate() {
            let mut started = false;
            for (m, state) in &self.mounts {
                let stats = match state {
                    State::Done(s) => *s,
                    _ => None,
                };
                let value = match (k, stats) {
                    (6, s) => u64::from(s.is_none()),
                    (5, Some(_)) => u64::from(m.readonly),
                    (_, Some(s)) => s.get(k).copied().unwrap_or(0),
                    (_, None) => continue,
                };
                if !started {
                    out.start(family);
                    started = true;
                }
                out.sample(&[("device", &m.device), ("fstype", &m.fstype), ("mountpoint", &m.mountpoint)], value);
            }
        }
        Ok(())
    }

    fn configure(&mut self, config: &Config) {
        self.config = config.filesystem.clone();
    }

    fn sources(&self) -> Vec<(bool, String)> {
        self.found.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_is_by_whole_path_components() {
        assert!(below("/tmp", "/") && below("/mnt/nfs/tmp", "/mnt/nfs") && below("/a/b/c", "/a"));
        assert!(below("/", "/") && below("/mnt/nfs", "/mnt/nfs") && !below("/mnt/nfs2", "/mnt/nfs"));
        assert!(!below("/tmp", "/tmp/mnt"));
    }

    #[test]
    fn statfs_of_a_real_directory_and_of_nothing() {
        let here = CString::new(env!("CARGO_MANIFEST_DIR")).unwrap();
        let s = decode(&statfs(&here)).unwrap();
        assert!(s[0] > 0 && s[0] >= s[1] && s[1] >= s[2], "{s:?}");
        assert!(decode(&statfs(&CString::new("/nonexistent/mount").unwrap())).is_none());
        assert!(decode(&[0; 39]).is_none());
    }
}
