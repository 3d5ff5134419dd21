//! Small text files that name the system: the one-line files under
//! `/proc/sys/kernel` (`ostype`, `osrelease`, `version`, `hostname`,
//! `domainname`, `arch`), and OpenWrt's `/etc/openwrt_release`, a shell
//! fragment of `KEY='value'` lines.

use super::ParseError;

/// The first line of a one-line file, without its newline. An empty file
/// is an error: every such kernel file holds at least `(none)`.
pub fn line(text: &str) -> Result<&str, ParseError> {
    match text.lines().next() {
        Some(l) if !l.is_empty() => Ok(l),
        _ => Err(ParseError::new(1, "one line of text", text)),
    }
}

/// The fields of `/etc/openwrt_release` this exporter reports.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenwrtRelease<'a> {
    /// `DISTRIB_ID`, such as `OpenWrt`.
    pub id: &'a str,
    /// `DISTRIB_RELEASE`, such as `23.05.3`.
    pub release: &'a str,
    /// `DISTRIB_REVISION`, such as `r23809-234f1a2efa`.
    pub revision: &'a str,
    /// `DISTRIB_TARGET`, such as `ramips/mt7621`.
    pub target: &'a str,
}

/// Reads `KEY='value'` (or `"value"`, or bare) lines; other lines and keys
/// are ignored. A file without `DISTRIB_ID` is not an OpenWrt release file.
pub fn openwrt_release(text: &str) -> Result<OpenwrtRelease<'_>, ParseError> {
    let mut r = OpenwrtRelease::default();
    for line in text.lines() {
        let Some((key, value)) = line.trim().split_once('=') else { continue };
        let value = unquote(value.trim());
        match key.trim() {
            "DISTRIB_ID" => r.id = value,
            "DISTRIB_RELEASE" => r.release = value,
            "DISTRIB_REVISION" => r.revision = value,
            "DISTRIB_TARGET" => r.target = value,
            _ => {}
        }
    }
    if r.id.is_empty() {
        return Err(ParseError::new(0, "a DISTRIB_ID line", text.lines().next().unwrap_or("")));
    }
    Ok(r)
}

fn unquote(v: &str) -> &str {
    for q in ['\'', '"'] {
        if let Some(inner) = v.strip_prefix(q).and_then(|s| s.strip_suffix(q)) {
            return inner;
        }
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_one_liners() {
        assert_eq!(line("Linux\n"), Ok("Linux"));
        assert_eq!(line("#1 SMP PREEMPT Tue Apr 16 2024\n"), Ok("#1 SMP PREEMPT Tue Apr 16 2024"));
        assert_eq!(line("(none)\n"), Ok("(none)"));
        assert!(line("").is_err());
        assert!(line("\n").is_err());
    }

    #[test]
    fn openwrt_23_05_release_file() {
        // The file as OpenWrt 23.05.3 ships it.
        let text = "DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='23.05.3'\nDISTRIB_REVISION='r23809-234f1a2efa'\n\
                    DISTRIB_TARGET='ramips/mt7621'\nDISTRIB_ARCH='mipsel_24kc'\n\
                    DISTRIB_DESCRIPTION='OpenWrt 23.05.3 r23809-234f1a2efa'\nDISTRIB_TAINTS=''\n";
        let r = openwrt_release(text).unwrap();
        assert_eq!(
            r,
            OpenwrtRelease {
                id: "OpenWrt",
                release: "23.05.3",
                revision: "r23809-234f1a2efa",
                target: "ramips/mt7621"
            }
        );
        assert_eq!(openwrt_release("DISTRIB_ID=\"LEDE\"\nDISTRIB_RELEASE=17.01.7\n").unwrap().release, "17.01.7");
        assert!(openwrt_release("NAME=x\n").is_err());
        assert!(openwrt_release("").is_err());
    }
}
