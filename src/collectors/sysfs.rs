//! Reading sysfs for the netclass, thermal_zone and hwmon collectors:
//! bounded directory listings and one-read attribute files.
//!
//! sysfs attributes are small and produced whole by one `read(2)`; some
//! return an error instead (EINVAL for `speed` or `carrier` on a link that
//! is down, EOPNOTSUPP, EAGAIN from a broken hwmon driver). Each read here
//! is a single `read(2)` of a regular file opened `O_NONBLOCK`, so such an
//! error costs one series, and a FIFO or a directory planted in a fake root
//! is refused instead of read.

use crate::os::source::{SourceError, SourceErrorKind, open_regular};
use std::io::{self, Read};
use std::path::Path;

/// Lists the names of at most `max` entries of `dir` (names that are not
/// UTF-8 are skipped), sorted, and whether entries were left out. sysfs
/// lists in a stable order, so the same entries are kept every scrape.
pub fn list_dir(dir: &Path, max: usize) -> Result<(Vec<String>, bool), SourceError> {
    let err = |e: io::Error| SourceError {
        path: dir.to_path_buf(),
        kind: if e.kind() == io::ErrorKind::NotFound { SourceErrorKind::Missing } else { SourceErrorKind::Io(e) },
    };
    let mut out = Vec::new();
    let mut cut = false;
    for entry in std::fs::read_dir(dir).map_err(err)? {
        let Ok(entry) = entry else { continue };
        if out.len() == max {
            cut = true;
            break;
        }
        let Ok(name) = entry.file_name().into_string() else { continue };
        out.push(name);
    }
    out.sort_unstable();
    Ok((out, cut))
}

/// Reads an attribute file with one `read(2)` of at most `limit` bytes
/// into `buf`, and returns it as text (bytes that are not UTF-8 replaced).
pub fn read_attr<'b>(
    path: &Path,
    limit: usize,
    buf: &'b mut Vec<u8>,
) -> Result<std::borrow::Cow<'b, str>, SourceError> {
    let mut file = open_regular(path)?;
    buf.clear();
    buf.resize(limit, 0);
    let n = file.read(buf).map_err(|e| SourceError { path: path.to_path_buf(), kind: SourceErrorKind::Io(e) })?;
    buf.truncate(n);
    Ok(String::from_utf8_lossy(buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listing_is_bounded_and_sorted() {
        let dir = std::env::temp_dir().join(format!("apx-sysfs-list-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for n in ["c", "a", "b"] {
            std::fs::write(dir.join(n), "1\n").unwrap();
        }
        let (all, cut) = list_dir(&dir, 10).unwrap();
        assert_eq!(all, ["a", "b", "c"]);
        assert!(!cut);
        let (two, cut) = list_dir(&dir, 2).unwrap();
        assert_eq!((two.len(), cut), (2, true));
        assert!(list_dir(&dir.join("none"), 2).unwrap_err().is_missing());
        let mut buf = Vec::new();
        std::fs::write(dir.join("long"), "x".repeat(300)).unwrap();
        assert_eq!(read_attr(&dir.join("long"), 128, &mut buf).unwrap().len(), 128);
        assert!(read_attr(&dir, 128, &mut buf).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
