//! `/proc/mounts`: one mount a line, `device mountpoint fstype options dump
//! pass`. The kernel writes space, tab, newline and backslash in the first
//! two fields as three-digit octal escapes (`\040` for a space). A line
//! with fewer than four fields is skipped and counted, never fatal: one odd
//! entry must not hide the others.

/// One mount.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// The device (`/dev/sda1`, `overlayfs:/overlay`, `tmpfs`).
    pub device: String,
    /// Where it is mounted, escapes decoded.
    pub mountpoint: String,
    /// The filesystem type.
    pub fstype: String,
    /// Mounted read-only (`ro` among the options).
    pub readonly: bool,
}

/// The mounts of a file, in file order, and how many lines were skipped.
pub fn parse(text: &str) -> (Vec<Mount>, usize) {
    let mut mounts = Vec::new();
    let mut skipped = 0;
    for line in text.lines() {
        let mut fields = line.split_ascii_whitespace();
        match (fields.next(), fields.next(), fields.next(), fields.next()) {
            (Some(device), Some(mountpoint), Some(fstype), Some(options)) => mounts.push(Mount {
                device: unescape(device),
                mountpoint: unescape(mountpoint),
                fstype: unescape(fstype),
                readonly: options.split(',').any(|o| o == "ro"),
            }),
            (None, ..) => {}
            _ => skipped += 1,
        }
    }
    (mounts, skipped)
}

/// Decodes `\NNN` octal escapes (at most `\377`); any other backslash is
/// kept as written. Bytes that are not UTF-8 become U+FFFD.
fn unescape(field: &str) -> String {
    if !field.contains('\\') {
        return field.to_string();
    }
    let b = field.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if let Some(&[b'\\', x @ b'0'..=b'3', y @ b'0'..=b'7', z @ b'0'..=b'7']) = b.get(i..i + 4) {
            out.push(((x - b'0') << 6) | ((y - b'0') << 3) | (z - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(device: &str, mountpoint: &str, fstype: &str, readonly: bool) -> Mount {
        Mount { device: device.into(), mountpoint: mountpoint.into(), fstype: fstype.into(), readonly }
    }

    #[test]
    fn merlin_rt_ac68u_with_a_usb_disk() {
        let text = include_str!("../../tests/samples/mounts_merlin_386_rt-ac68u.txt");
        let (mounts, skipped) = parse(text);
        assert_eq!(skipped, 0);
        assert_eq!(mounts.len(), 11);
        assert_eq!(mounts[1], m("/dev/root", "/", "squashfs", true));
        assert_eq!(mounts[7], m("/dev/mtdblock4", "/jffs", "jffs2", false));
        assert_eq!(mounts[9], m("/dev/sda1", "/tmp/mnt/sda1", "ext4", false));
    }

    #[test]
    fn openwrt_overlay_on_ubifs_and_jffs2() {
        let text = include_str!("../../tests/samples/mounts_openwrt_23.05_ubifs.txt");
        let (mounts, skipped) = parse(text);
        assert_eq!((mounts.len(), skipped), (12, 0));
        assert_eq!(mounts[0], m("/dev/root", "/rom", "squashfs", true));
        assert_eq!(mounts[5], m("/dev/ubi0_1", "/overlay", "ubifs", false));
        assert_eq!(mounts[6], m("overlayfs:/overlay", "/", "overlay", false));
        // A small-flash OpenWrt device keeps its overlay on jffs2.
        let (mounts, _) = parse("/dev/mtdblock6 /overlay jffs2 rw,noatime 0 0\n");
        assert_eq!(mounts[0].fstype, "jffs2");
    }

    #[test]
    fn dd_wrt_with_jffs_and_a_usb_stick() {
        let text = include_str!("../../tests/samples/mounts_ddwrt_usb.txt");
        let (mounts, skipped) = parse(text);
        assert_eq!((mounts.len(), skipped), (9, 0));
        assert_eq!(mounts[7].fstype, "vfat");
        assert_eq!(mounts[8], m("/dev/sdb1", "/tmp/mnt/My Passport", "ntfs", true));
    }

    #[test]
    fn escapes_are_decoded_and_odd_backslashes_kept() {
        assert_eq!(unescape("/mnt/a\\040b\\011c\\012d\\134e"), "/mnt/a b\tc\nd\\e");
        assert_eq!(unescape("/mnt/\\303\\251t\\303\\251"), "/mnt/été");
        // Not an escape: too short, not octal, or above \377.
        assert_eq!(unescape("/a\\04"), "/a\\04");
        assert_eq!(unescape("/a\\049"), "/a\\049");
        assert_eq!(unescape("/a\\400"), "/a\\400");
        assert_eq!(unescape("\\"), "\\");
        assert_eq!(unescape("/a\\377"), "/a\u{fffd}");
    }

    #[test]
    fn bad_lines_are_skipped_not_fatal() {
        let (mounts, skipped) = parse("garbage\n\n/dev/sda1 /mnt\ntmpfs /tmp tmpfs rw 0 0\n  \n");
        assert_eq!(skipped, 2);
        assert_eq!(mounts, vec![m("tmpfs", "/tmp", "tmpfs", false)]);
        // Old kernels and busybox omit nothing, but dump and pass are not needed.
        assert_eq!(parse("tmpfs /tmp tmpfs ro").0, vec![m("tmpfs", "/tmp", "tmpfs", true)]);
        // "ro" only as a whole option.
        assert!(!parse("x /a ext4 rw,errors=remount-ro 0 0").0[0].readonly);
    }
}
