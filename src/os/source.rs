//! The single I/O seam: every `/proc` and `/sys` path a collector reads is
//! resolved here against configurable roots, so tests run on fixture trees.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read};
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
    let err = |kind| SourceError { path: path.to_path_buf(), kind };
    buf.clear();
    let mut bytes = std::mem::take(buf).into_bytes();
    let res = file.take(MAX_SOURCE_BYTES + 1).read_to_end(&mut bytes);
    let outcome = match res {
        Err(e) => Err(err(SourceErrorKind::Io(e))),
        Ok(_) if bytes.len() as u64 > MAX_SOURCE_BYTES => Err(err(SourceErrorKind::TooLarge)),
        Ok(_) => Ok(()),
    };
    match String::from_utf8(bytes) {
        Ok(s) => {
            *buf = s;
            outcome
        }
        Err(e) => {
            let mut bytes = e.into_bytes();
            bytes.clear();
            // Keep the allocation for the next read; the content is discarded.
            *buf = String::from_utf8(bytes).unwrap_or_default();
            outcome.and(Err(err(SourceErrorKind::NotText)))
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
