//! The single I/O seam: every `/proc` and `/sys` path a collector reads is
//! resolved here against configurable roots, so tests run on fixture trees.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Largest file we will read from procfs or sysfs. `/proc/net/dev` with 512
/// interfaces is about 60 KiB; anything far larger is not a file we understand.
pub const MAX_SOURCE_BYTES: u64 = 4 * 1024 * 1024;

/// Where collectors read from: fixtures point these elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roots {
    /// Where `/proc` is mounted.
    pub procfs: PathBuf,
    /// Where `/sys` is mounted.
    pub sysfs: PathBuf,
    /// The system's `/etc` (firmware release files, the `TZ` file).
    pub etc: PathBuf,
    /// Where the mounts listed in `/proc/mounts` are reached (`/`).
    pub rootfs: PathBuf,
    /// Empty: ask the kernel over netlink. A directory: replay the nl80211
    /// replies captured there.
    pub nl80211: PathBuf,
    /// Where to save every nl80211 reply (`--nl80211-capture`), if anywhere.
    pub nl80211_capture: Option<PathBuf>,
}

impl Default for Roots {
    fn default() -> Self {
        Roots {
            procfs: PathBuf::from("/proc"),
            sysfs: PathBuf::from("/sys"),
            etc: PathBuf::from("/etc"),
            rootfs: PathBuf::from("/"),
            nl80211: PathBuf::new(),
            nl80211_capture: None,
        }
    }
}

/// A failure to read a source file, naming the resolved path.
#[derive(Debug)]
pub struct SourceError {
    /// The resolved path that could not be read.
    pub path: PathBuf,
    /// What went wrong.
    pub kind: SourceErrorKind,
}

/// Why a source file could not be read.
#[derive(Debug)]
pub enum SourceErrorKind {
    /// The file does not exist (the kernel lacks the feature, or a fixture omits it).
    Missing,
    /// The file exists but reading failed.
    Io(io::Error),
    /// The file is larger than [`MAX_SOURCE_BYTES`].
    TooLarge,
    /// The file is not UTF-8 text.
    NotText,
    /// The path is a FIFO, device or directory, not a file to read.
    NotRegular,
    /// The file could be changed by users other than root and us.
    Untrusted(&'static str),
}

impl SourceError {
    /// True when the file simply does not exist.
    pub fn is_missing(&self) -> bool {
        matches!(self.kind, SourceErrorKind::Missing)
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.path.display();
        match &self.kind {
            SourceErrorKind::Missing => write!(f, "{p}: no such file"),
            SourceErrorKind::Io(e) => write!(f, "{p}: {e}"),
            SourceErrorKind::TooLarge => write!(f, "{p}: larger than {MAX_SOURCE_BYTES} bytes"),
            SourceErrorKind::NotText => write!(f, "{p}: not UTF-8 text"),
            SourceErrorKind::NotRegular => write!(f, "{p}: not a regular file"),
            SourceErrorKind::Untrusted(why) => write!(f, "{p}: ignored because it {why}"),
        }
    }
}

impl Roots {
    /// Resolves a path relative to the procfs root, such as `net/dev`.
    pub fn proc_path(&self, rel: &str) -> PathBuf {
        self.procfs.join(rel)
    }

    /// Resolves a path relative to the etc root, such as `openwrt_release`.
    pub fn etc_path(&self, rel: &str) -> PathBuf {
        self.etc.join(rel)
    }
}

/// Opens a regular file for reading without ever blocking in `open`: a
/// FIFO planted at a path (in a fixture root, or in world-writable `/tmp`)
/// would otherwise hang the only thread until a writer appears. Anything
/// but a regular file is refused; `/proc` and `/sys` files are regular.
pub fn open_regular(path: &Path) -> Result<File, SourceError> {
    open_regular_with(path, libc::O_NONBLOCK)
}

/// Opens a file that others might have planted or forged (the leases file,
/// which can live in world-writable `/tmp`): as [`open_regular`], but a
/// symbolic link is refused (it could point at any root-owned file, whose
/// first line a parse error would then log), and so is a file that is
/// writable by everyone or owned by a user other than root and us.
pub fn open_untrusted(path: &Path) -> Result<File, SourceError> {
    let file = open_regular_with(path, libc::O_NONBLOCK | libc::O_NOFOLLOW)?;
    check_trusted(path, &file)?;
    Ok(file)
}

/// As [`open_regular`], but a symbolic link at `path` is refused (with
/// ELOOP), so a name checked before opening cannot become a link to any
/// other file in between.
pub fn open_regular_nofollow(path: &Path) -> Result<File, SourceError> {
    open_regular_with(path, libc::O_NONBLOCK | libc::O_NOFOLLOW)
}

fn open_regular_with(path: &Path, flags: libc::c_int) -> Result<File, SourceError> {
    let err = |kind| SourceError { path: path.to_path_buf(), kind };
    let file = OpenOptions::new().read(true).custom_flags(flags).open(path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound { err(SourceErrorKind::Missing) } else { err(SourceErrorKind::Io(e)) }
    })?;
    match file.metadata() {
        Ok(m) if m.file_type().is_file() => Ok(file),
        Ok(_) => Err(err(SourceErrorKind::NotRegular)),
        Err(e) => Err(err(SourceErrorKind::Io(e))),
    }
}

/// Refuses a file that is writable by everyone, or owned by a user other
/// than root and this process's own: it may hold forged content.
fn check_trusted(path: &Path, file: &File) -> Result<(), SourceError> {
    let err = |kind| SourceError { path: path.to_path_buf(), kind };
    let meta = file.metadata().map_err(|e| err(SourceErrorKind::Io(e)))?;
    if meta.mode() & 0o002 != 0 {
        return Err(err(SourceErrorKind::Untrusted("is writable by everyone")));
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if meta.uid() != 0 && meta.uid() != me {
        return Err(err(SourceErrorKind::Untrusted("belongs to another user")));
    }
    Ok(())
}

/// Reads a whole file into `buf` (cleared first), refusing more than
/// [`MAX_SOURCE_BYTES`]. Reusing `buf` keeps the scrape path allocation-free
/// once buffers have grown.
pub fn read_bounded(path: &Path, buf: &mut String) -> Result<(), SourceError> {
    let file = open_regular(path)?;
    read_file_bounded(path, file, buf)
}

/// Like [`read_bounded`], for a file opened already (after
/// [`open_untrusted`], say).
pub fn read_file_bounded(path: &Path, file: File, buf: &mut String) -> Result<(), SourceError> {
    read_file_limited(path, file, buf, MAX_SOURCE_BYTES)
}

/// Like [`read_file_bounded`], refusing more than `limit` bytes (at most
/// [`MAX_SOURCE_BYTES`]) with `TooLarge`: never more than `limit + 1`
/// bytes are read, however large the file has grown since it was sized.
pub fn read_file_limited(path: &Path, file: File, buf: &mut String, limit: u64) -> Result<(), SourceError> {
    let err = |kind| SourceError { path: path.to_path_buf(), kind };
    let limit = limit.min(MAX_SOURCE_BYTES);
    buf.clear();
    let mut bytes = std::mem::take(buf).into_bytes();
    let res = file.take(limit + 1).read_to_end(&mut bytes);
    let outcome = match res {
        Err(e) => Err(err(SourceErrorKind::Io(e))),
        Ok(_) if bytes.len() as u64 > limit => Err(err(SourceErrorKind::TooLarge)),
        Ok(_) => Ok(()),
    };
    into_text(bytes, buf, outcome, path)
}

/// A source file kept open across scrapes and re-read from offset 0 with
/// `lseek` and `read`: three system calls a scrape instead of six (`open`,
/// musl's `fcntl` for `O_CLOEXEC`, `fstat`, two `read`s, `close`), and no
/// path lookup. `pread` is no alternative: Linux before 2.6.30 refuses it on
/// seq_file files (`/proc/net/dev`) with ESPIPE.
///
/// Only files on a real procfs are kept (one `fstatfs` when opened): a file
/// in a fixture root may be replaced by another at the same path, which a
/// kept descriptor would never see, so those are opened afresh every time.
/// A kept descriptor that fails (a file removed with its module, such as
/// conntrack's; reads then fail with EIO or ENOENT) or reads empty is
/// dropped and the path opened again once, so a vanished file reports
/// [`SourceErrorKind::Missing`] as an unkept one would.
#[derive(Debug)]
pub struct KeptFile {
    path: PathBuf,
    /// The procfs root `path` was resolved against, if any.
    root: PathBuf,
    file: Option<File>,
    keep: bool,
    /// See [`KeptFile::single_record`].
    one_read: bool,
    /// The size of the last read, to size the next one's first request.
    last_len: usize,
}

/// procfs' `f_type` in `statfs`.
const PROC_SUPER_MAGIC: i64 = 0x9fa0;

impl KeptFile {
    /// A file of the kernel itself (`/proc/net/dev`, `/proc/loadavg`,
    /// sysctl files): keeping it open pins nothing.
    pub fn new(path: PathBuf) -> Self {
        KeptFile { path, root: PathBuf::new(), file: None, keep: true, one_read: false, last_len: 0 }
    }

    /// [`KeptFile::new`] for `rel` under the procfs root.
    pub fn proc(roots: &Roots, rel: &str) -> Self {
        KeptFile { root: roots.procfs.clone(), ..KeptFile::new(roots.proc_path(rel)) }
    }

    /// [`KeptFile::module_owned`] for `rel` under the procfs root.
    pub fn proc_module_owned(roots: &Roots, rel: &str) -> Self {
        KeptFile { root: roots.procfs.clone(), ..KeptFile::module_owned(roots.proc_path(rel)) }
    }

    /// Whether the file was resolved under `roots`' procfs (a reloaded
    /// config may point elsewhere).
    pub fn is_under(&self, roots: &Roots) -> bool {
        self.root == roots.procfs
    }

    /// A procfs file that a module provides (`/proc/net/stat/nf_conntrack`).
    /// Before Linux 2.6.23 an open procfs file holds a reference on its
    /// module, so keeping it open would make `rmmod` fail: there it is
    /// opened afresh every time.
    pub fn module_owned(path: PathBuf) -> Self {
        KeptFile { keep: procfs_releases_modules(), ..KeptFile::new(path) }
    }

    /// For a file the kernel prints in one piece (a sysctl value,
    /// `/proc/loadavg`, `/proc/<pid>/statm`; not `/proc/net/dev`, which
    /// comes a page at a time): a first read that returns less than it asked
    /// for, ending in a newline, is the whole file, which saves the read
    /// that would return nothing. The first read asks for twice the last
    /// size (sysctl files allocate and clear a kernel buffer as large as
    /// the request).
    pub fn single_record(mut self) -> Self {
        self.one_read = true;
        self
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a descriptor is kept now (for tests).
    pub fn is_kept(&self) -> bool {
        self.file.is_some()
    }

    /// Reads the whole file into `buf` (cleared first), as [`read_bounded`].
    pub fn read(&mut self, buf: &mut String) -> Result<(), SourceError> {
        let first = if self.one_read { (2 * self.last_len).max(256) } else { usize::MAX };
        let outcome = self.read_with(buf, first);
        self.last_len = buf.len();
        outcome
    }

    fn read_with(&mut self, buf: &mut String, first: usize) -> Result<(), SourceError> {
        let one_read = self.one_read;
        if let Some(file) = self.file.as_mut() {
            let reread = rewind(file).and_then(|()| read_all(file, &self.path, buf, first, one_read));
            match reread {
                Ok(()) if !buf.is_empty() => return Ok(()),
                // A file that grew past the cap is no stale descriptor.
                Err(e) if matches!(e.kind, SourceErrorKind::TooLarge | SourceErrorKind::NotText) => return Err(e),
                _ => self.file = None,
            }
        }
        let mut file = open_regular(&self.path)?;
        read_all(&mut file, &self.path, buf, first, one_read)?;
        if self.keep && on_procfs(&file) {
            self.file = Some(file);
        }
        Ok(())
    }
}

fn rewind(file: &mut File) -> Result<(), SourceError> {
    // SAFETY: lseek on a descriptor we own; no memory is passed.
    if unsafe { libc::lseek(file.as_raw_fd(), 0, libc::SEEK_SET) } == 0 {
        Ok(())
    } else {
        Err(SourceError { path: PathBuf::new(), kind: SourceErrorKind::Io(io::Error::last_os_error()) })
    }
}

/// Whether `file` lives on procfs.
fn on_procfs(file: &File) -> bool {
    // SAFETY: statfs is plain old data that fstatfs fills in.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: a descriptor we own and a struct of the right type.
    (unsafe { libc::fstatfs(file.as_raw_fd(), &mut st) } == 0) && st.f_type as i64 == PROC_SUPER_MAGIC
}

/// Whether open procfs files no longer hold their module: Linux 2.6.23 on.
fn procfs_releases_modules() -> bool {
    // SAFETY: utsname is plain old data; uname fills it in.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname writes into the struct we pass.
    if unsafe { libc::uname(&mut uts) } != 0 {
        return false;
    }
    let release: Vec<u8> = uts.release.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    kernel_at_least(&release, (2, 6, 23))
}

/// Whether a kernel release string such as `2.6.22.19` is at least `want`.
fn kernel_at_least(release: &[u8], want: (u32, u32, u32)) -> bool {
    let mut parts = release.split(|b| !b.is_ascii_digit()).map(|p| {
        p.iter().try_fold(0u32, |n, &d| n.checked_mul(10)?.checked_add(u32::from(d - b'0'))).unwrap_or(u32::MAX)
    });
    let mut next = || parts.next().unwrap_or(0);
    (next(), next(), next()) >= want
}

/// Reads `file` to its end into `buf` (cleared first), refusing more than
/// [`MAX_SOURCE_BYTES`]. The first read asks for at most `first` bytes, the
/// others for as much as `buf` holds (at least a page). With `one_read`, a
/// short first read ending in a newline is the end (see
/// [`KeptFile::single_record`]).
fn read_all(file: &mut File, path: &Path, buf: &mut String, first: usize, one_read: bool) -> Result<(), SourceError> {
    let err = |kind| SourceError { path: path.to_path_buf(), kind };
    buf.clear();
    let mut bytes = std::mem::take(buf).into_bytes();
    let cap = MAX_SOURCE_BYTES as usize + 1;
    let outcome = loop {
        if bytes.len() >= cap {
            break Err(err(SourceErrorKind::TooLarge));
        }
        if bytes.capacity() - bytes.len() < 4096 {
            // Doubling, but never past the cap (`reserve` could double to 8 MiB).
            bytes.reserve_exact(4096.max(bytes.len()).min(cap - bytes.len()));
        }
        let mut room = (bytes.capacity() - bytes.len()).min(cap - bytes.len());
        let is_first = bytes.is_empty();
        if is_first {
            room = room.min(first.max(1));
        }
        let spare = &mut bytes.spare_capacity_mut()[..room];
        // SAFETY: reads at most `room` bytes into the vector's spare capacity.
        let n = unsafe { libc::read(file.as_raw_fd(), spare.as_mut_ptr().cast(), room) };
        match n {
            0 => break Ok(()),
            n if n > 0 => {
                // SAFETY: the kernel initialised the first n bytes of the spare capacity.
                unsafe { bytes.set_len(bytes.len() + n as usize) };
                if one_read && is_first && (n as usize) < room && bytes.last() == Some(&b'\n') {
                    break Ok(());
                }
            }
            _ => {
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::Interrupted {
                    break Err(err(SourceErrorKind::Io(e)));
                }
            }
        }
    };
    into_text(bytes, buf, outcome, path)
}

/// Puts what was read back into `buf` as text: the read's `outcome`, or
/// `NotText` when it read fine but is not UTF-8 (then `buf` is left empty,
/// keeping its allocation for the next read).
fn into_text(
    bytes: Vec<u8>,
    buf: &mut String,
    outcome: Result<(), SourceError>,
    path: &Path,
) -> Result<(), SourceError> {
    match String::from_utf8(bytes) {
        Ok(s) => {
            *buf = s;
            outcome
        }
        Err(e) => {
            let mut bytes = e.into_bytes();
            bytes.clear();
            *buf = String::from_utf8(bytes).unwrap_or_default();
            outcome.and(Err(SourceError { path: path.to_path_buf(), kind: SourceErrorKind::NotText }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_file_is_reported_as_missing_with_path() {
        let roots = Roots { procfs: PathBuf::from("/nonexistent-root"), ..Roots::default() };
        let mut buf = String::new();
        let e = read_bounded(&roots.proc_path("net/dev"), &mut buf).unwrap_err();
        assert!(e.is_missing());
        assert_eq!(e.to_string(), "/nonexistent-root/net/dev: no such file");
    }

    #[test]
    fn fifos_are_refused_without_blocking() {
        let dir = std::env::temp_dir().join(format!("apx-fifo-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fifo = dir.join("dev");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        let mut buf = String::new();
        let e = read_bounded(&fifo, &mut buf).unwrap_err();
        assert!(matches!(e.kind, SourceErrorKind::NotRegular), "{e}");
        assert!(matches!(read_bounded(&dir, &mut buf).unwrap_err().kind, SourceErrorKind::NotRegular));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn world_writable_files_are_untrusted() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("apx-trust-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("leases");
        std::fs::write(&p, "x").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(check_trusted(&p, &open_regular(&p).unwrap()).is_ok());
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o666)).unwrap();
        let e = check_trusted(&p, &open_regular(&p).unwrap()).unwrap_err();
        assert!(e.to_string().ends_with("ignored because it is writable by everyone"), "{e}");
        // A link, even to a trusted file, is not followed.
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        let link = dir.join("link");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        assert!(open_untrusted(&p).is_ok());
        assert!(open_untrusted(&link).is_err());
        assert!(open_regular(&link).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn procfs_files_are_kept_and_a_failing_descriptor_is_replaced() {
        let mut f = KeptFile::new(PathBuf::from("/proc/loadavg"));
        let mut buf = String::new();
        f.read(&mut buf).unwrap();
        assert!(f.is_kept() && buf.contains('/'), "{buf}");
        // Point the kept descriptor at a directory: reads fail (EISDIR),
        // as on a file removed with its module; the path is opened again.
        let fd = f.file.as_ref().unwrap().as_raw_fd();
        let dir = File::open("/proc").unwrap();
        // SAFETY: replaces a descriptor this test owns with another it owns.
        assert_eq!(unsafe { libc::dup2(dir.as_raw_fd(), fd) }, fd);
        buf.clear();
        f.read(&mut buf).unwrap();
        assert!(f.is_kept() && buf.contains('/'), "{buf}");
        // Gone for good: missing, like an unkept file.
        let mut gone = KeptFile::new(PathBuf::from("/proc/no-such-file"));
        assert!(gone.read(&mut buf).unwrap_err().is_missing());
    }

    #[test]
    fn files_outside_procfs_are_read_afresh() {
        let dir = std::env::temp_dir().join(format!("apx-kept-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("net")).unwrap();
        let roots = Roots { procfs: dir.clone(), ..Roots::default() };
        let mut f = KeptFile::proc(&roots, "net/dev");
        let mut buf = String::new();
        assert!(f.read(&mut buf).unwrap_err().is_missing());
        std::fs::write(dir.join("net/dev"), "one").unwrap();
        f.read(&mut buf).unwrap();
        assert_eq!(buf, "one");
        assert!(!f.is_kept() && f.is_under(&roots));
        // Replaced by another file: the new one is read.
        std::fs::remove_file(dir.join("net/dev")).unwrap();
        std::fs::write(dir.join("net/dev"), "two").unwrap();
        f.read(&mut buf).unwrap();
        assert_eq!(buf, "two");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn kernel_releases_compare_by_number() {
        assert!(!kernel_at_least(b"2.6.22.19", (2, 6, 23)));
        assert!(kernel_at_least(b"2.6.23", (2, 6, 23)));
        assert!(kernel_at_least(b"2.6.36.4brcmarm", (2, 6, 23)));
        assert!(kernel_at_least(b"5.15.167", (2, 6, 23)));
        assert!(!kernel_at_least(b"", (2, 6, 23)));
        assert!(!kernel_at_least(b"2.4.20", (2, 6, 23)));
    }

    #[test]
    fn a_limited_read_stops_one_byte_past_the_limit() {
        let dir = std::env::temp_dir().join(format!("apx-limit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("grown");
        std::fs::write(&p, "x".repeat(100)).unwrap();
        let mut buf = String::new();
        read_file_limited(&p, open_regular(&p).unwrap(), &mut buf, 100).unwrap();
        assert_eq!(buf.len(), 100);
        let e = read_file_limited(&p, open_regular(&p).unwrap(), &mut buf, 40).unwrap_err();
        assert!(matches!(e.kind, SourceErrorKind::TooLarge), "{e}");
        assert_eq!(buf.len(), 41, "read past the limit");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn non_utf8_is_rejected() {
        let dir = std::env::temp_dir().join(format!("apx-src-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bin");
        std::fs::write(&p, [0xff, 0xfe, 0x00]).unwrap();
        let mut buf = String::new();
        let e = read_bounded(&p, &mut buf).unwrap_err();
        assert!(matches!(e.kind, SourceErrorKind::NotText));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
