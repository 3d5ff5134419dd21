//! The filesystem collector end to end, with real mounts in a private user
//! and mount namespace (`unshare -rm`, which works as root and as a plain
//! user where user namespaces are allowed):
//! - goldens over fake roots (`tests/filesystem/<case>/`) whose mount points
//!   get tmpfs of fixed `size=` and `nr_inodes=`, so statfs answers the same
//!   every run (`UPDATE_GOLDEN=1 cargo test --test filesystem` rewrites
//!   their `expected.prom`);
//! - a mount that really hangs: a FUSE mount whose server never reads
//!   `/dev/fuse`, so statfs on it sleeps until the connection goes away.
//!   Scrapes still answer, the hung mount is `device_error 1`, the others
//!   have their sizes, the server answers other requests while a scrape
//!   waits, and repeated scrapes do not pile up children.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Directories to mount a tmpfs on, with its `size=` and `nr_inodes=`.
type Tmpfs<'a> = &'a [(&'a str, &'a str, u32)];

/// `sh` commands that mount a tmpfs of `size` bytes and `inodes` inodes on
/// each directory, in order (parents first), creating it if need be.
fn mount_script(mounts: Tmpfs) -> String {
    let mut s = String::from("set -e\n");
    for (dir, size, inodes) in mounts {
        s.push_str(&format!("mkdir -p '{dir}'\nmount -t tmpfs -o size={size},nr_inodes={inodes} fixture '{dir}'\n"));
    }
    s
}

/// Runs `sh -c script` in a new user and mount namespace, in `dir`.
fn in_namespace(dir: &Path, script: &str) -> Command {
    let mut cmd = Command::new("unshare");
    cmd.args(["-rm", "sh", "-c", script]).current_dir(dir).env_remove("TZ");
    cmd
}

fn exporter() -> String {
    exporter_bin().display().to_string()
}

#[test]
fn goldens_over_fixed_size_mounts() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let cases: [(&str, Tmpfs); 2] = [
        (
            "merlin",
            &[
                ("root/tmp", "4m", 1000),
                ("root/jffs", "2m", 500),
                ("root/tmp/mnt/sda1", "8m", 2000),
                ("root/tmp/mnt/My Passport", "16m", 4000),
            ],
        ),
        ("openwrt", &[("root", "8m", 2000), ("root/tmp", "16m", 3000), ("root/overlay", "32m", 4000)]),
    ];
    let mut failures = Vec::new();
    for (case, mounts) in cases {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/filesystem").join(case);
        let tmp = TempDir::new("fs-golden");
        copy_tree(&fixture, tmp.path());
        let script = format!("{}exec {} --once --config config.toml", mount_script(mounts), exporter());
        let out = in_namespace(tmp.path(), &script).output().unwrap();
        assert!(out.status.success(), "{case}: {}", String::from_utf8_lossy(&out.stderr));
        let scrape = String::from_utf8(out.stdout).unwrap();
        promtool_check(&scrape).unwrap_or_else(|e| panic!("{case}: {e}"));
        let got = stable_scrape(&scrape);
        let expected = fixture.join("expected.prom");
        if update {
            std::fs::write(&expected, &got).unwrap();
        } else if std::fs::read_to_string(&expected).unwrap_or_default() != got {
            failures.push(format!("{case}: differs from {} (UPDATE_GOLDEN=1)\n{got}", expected.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The value of the sample whose line starts with `series `.
fn value(text: &str, series: &str) -> Option<String> {
    text.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ').map(str::to_string))
}

/// The processes whose parent is `pid`, from /proc.
fn children_of(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else { continue };
        // The fields after the parenthesised command: state, then ppid.
        let Some((_, rest)) = stat.rsplit_once(')') else { continue };
        let mut fields = rest.split_whitespace();
        if fields.nth(1).and_then(|p| p.parse().ok()) == Some(pid) {
            out.extend(e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()));
        }
    }
    out
}

/// Sends a GET for `path` on a new connection, without reading the answer.
fn send(addr: SocketAddr, path: &str) -> std::net::TcpStream {
    let mut s = connect(addr);
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).unwrap();
    s
}

#[test]
fn a_hung_mount_never_stops_a_scrape() {
    if !Path::new("/dev/fuse").exists() {
        panic!("/dev/fuse is missing: this test needs the fuse module (modprobe fuse)");
    }
    let tmp = TempDir::new("fs-hung");
    for d in ["proc", "root/mnt/hung", "root/mnt/ok"] {
        std::fs::create_dir_all(tmp.path().join(d)).unwrap();
    }
    std::fs::write(
        tmp.path().join("proc/mounts"),
        "hung /mnt/hung fuse rw,nosuid,nodev,relatime,user_id=0,group_id=0 0 0\n\
         ok /mnt/ok tmpfs rw,relatime 0 0\n",
    )
    .unwrap();
    let mut cfg = String::from("listen = [\"127.0.0.1:0\"]\n");
    cfg.push_str(&collectors_only(&["filesystem"]));
    // Long enough that a request answered meanwhile cannot be a coincidence.
    cfg.push_str("[filesystem]\nmount_timeout_seconds = 5\n[paths]\nprocfs = \"proc\"\nrootfs = \"root\"\n");
    std::fs::write(tmp.path().join("config.toml"), cfg).unwrap();
    // The exporter holds the FUSE connection (fd 3) open and never reads it:
    // statfs on the mount waits for an answer that never comes.
    let script = format!(
        "{}exec 3<>/dev/fuse\nmount -t fuse -o fd=3,rootmode=40000,user_id=0,group_id=0 hung root/mnt/hung\n\
         exec {} --config config.toml",
        mount_script(&[("root/mnt/ok", "1m", 100)]),
        exporter()
    );
    let mut exp = Exporter::spawn(&mut in_namespace(tmp.path(), &script));
    let addr = exp.wait_listening();
    let hung = "{device=\"hung\",fstype=\"fuse\",mountpoint=\"/mnt/hung\"}";
    let ok = "{device=\"ok\",fstype=\"tmpfs\",mountpoint=\"/mnt/ok\"}";

    // The first scrape waits for the hung mount's statfs; meanwhile the
    // single serving thread answers others.
    let mut scrape = send(addr, "/metrics");
    let landing = get(addr, "/");
    assert_eq!(landing.status, 200);
    scrape.set_nonblocking(true).unwrap();
    let mut byte = [0u8; 1];
    assert!(
        matches!(scrape.read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the scrape answered before the hung mount's budget was spent"
    );
    scrape.set_nonblocking(false).unwrap();
    scrape.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let first = read_response(&mut scrape, false);
    assert_eq!(first.status, 200);
    let text = first.text();
    assert_eq!(value(&text, &format!("node_filesystem_device_error{hung}")).as_deref(), Some("1"), "{text}");
    assert_eq!(value(&text, &format!("node_filesystem_size_bytes{hung}")), None, "{text}");
    assert_eq!(value(&text, &format!("node_filesystem_device_error{ok}")).as_deref(), Some("0"), "{text}");
    assert_eq!(value(&text, &format!("node_filesystem_size_bytes{ok}")).as_deref(), Some("1048576"), "{text}");
    assert_eq!(value(&text, &format!("node_filesystem_files{ok}")).as_deref(), Some("100"), "{text}");
    assert!(text.contains("node_scrape_collector_success{collector=\"filesystem\"} 1"), "{text}");
    let parked = children_of(exp.pid());
    assert_eq!(parked.len(), 1, "one child, stuck in the hung mount's statfs: {parked:?}");

    // Later scrapes answer at once (the hung mount is not asked again while
    // its child is stuck), and no child is added.
    for i in 0..5 {
        let r = get(addr, "/metrics");
        assert_eq!(r.status, 200, "scrape {i}");
        let text = r.text();
        assert_eq!(value(&text, &format!("node_filesystem_device_error{hung}")).as_deref(), Some("1"), "{text}");
        assert_eq!(value(&text, &format!("node_filesystem_size_bytes{ok}")).as_deref(), Some("1048576"), "{text}");
        assert_eq!(children_of(exp.pid()), parked, "scrape {i} added or lost a child");
    }
    exp.signal(libc::SIGTERM);
    assert_eq!(exp.wait_exit(Duration::from_secs(20)), Some(0), "{}", exp.drain_log());
}

/// Five hung mounts: no more than four children (`MAX_CHILDREN`) ever live,
/// parked ones included, however many scrapes come; mounts that need no
/// child (tmpfs) keep their figures, and the scrapes keep answering.
#[test]
fn hung_mounts_never_pile_up_children() {
    let tmp = TempDir::new("fs-many-hung");
    let hung: Vec<String> = (1..=5).map(|i| format!("/mnt/hung{i}")).collect();
    let mut mounts = String::from("usb /mnt/usb ext4 rw 0 0\nram /mnt/ram tmpfs rw 0 0\n");
    let mut script = mount_script(&[("root/mnt/usb", "1m", 100), ("root/mnt/ram", "2m", 100)]);
    for (fd, m) in (3..).zip(&hung) {
        std::fs::create_dir_all(tmp.path().join("root").join(&m[1..])).unwrap();
        mounts.push_str(&format!("hung{fd} {m} fuse rw 0 0\n"));
        script.push_str(&format!(
            "exec {fd}<>/dev/fuse\nmount -t fuse -o fd={fd},rootmode=40000,user_id=0,group_id=0 hung{fd} root{m}\n"
        ));
    }
    std::fs::create_dir_all(tmp.path().join("proc")).unwrap();
    std::fs::write(tmp.path().join("proc/mounts"), mounts).unwrap();
    let mut cfg = String::from("listen = [\"127.0.0.1:0\"]\n");
    cfg.push_str(&collectors_only(&["filesystem"]));
    cfg.push_str("[filesystem]\nmount_timeout_seconds = 1\n[paths]\nprocfs = \"proc\"\nrootfs = \"root\"\n");
    std::fs::write(tmp.path().join("config.toml"), cfg).unwrap();
    script.push_str(&format!("exec {} --config config.toml", exporter()));
    let mut exp = Exporter::spawn(&mut in_namespace(tmp.path(), &script));
    let addr = exp.wait_listening();
    for i in 0..4 {
        let r = get(addr, "/metrics");
        assert_eq!(r.status, 200, "scrape {i}");
        let text = r.text();
        for (fd, m) in (3..).zip(&hung) {
            let series =
                format!("node_filesystem_device_error{{device=\"hung{fd}\",fstype=\"fuse\",mountpoint=\"{m}\"}}");
            assert_eq!(value(&text, &series).as_deref(), Some("1"), "scrape {i}: {text}");
        }
        let ram = "node_filesystem_size_bytes{device=\"ram\",fstype=\"tmpfs\",mountpoint=\"/mnt/ram\"}";
        assert_eq!(value(&text, ram).as_deref(), Some("2097152"), "scrape {i}: {text}");
        if i == 0 {
            // Asked before the hung mounts took every slot.
            let usb = "node_filesystem_size_bytes{device=\"usb\",fstype=\"ext4\",mountpoint=\"/mnt/usb\"}";
            assert_eq!(value(&text, usb).as_deref(), Some("1048576"), "{text}");
        }
        let children = children_of(exp.pid());
        assert_eq!(children.len(), 4, "scrape {i}: {children:?}");
    }
    exp.signal(libc::SIGTERM);
    assert_eq!(exp.wait_exit(Duration::from_secs(20)), Some(0), "{}", exp.drain_log());
}

/// `--once` and `--diagnose`, which wait for the children right where they
/// are, end too when a mount hangs, and say which one. A tmpfs under the
/// hung mount (mounted before it, so now reached only through it) is asked
/// in a child too: its own statfs never blocks, but the walk to it does.
#[test]
fn once_and_diagnose_end_despite_a_hung_mount() {
    let tmp = TempDir::new("fs-once-hung");
    for d in ["proc", "root/mnt/hung/sub", "root/mnt/usb"] {
        std::fs::create_dir_all(tmp.path().join(d)).unwrap();
    }
    std::fs::write(
        tmp.path().join("proc/mounts"),
        "sub /mnt/hung/sub tmpfs rw 0 0\nhung /mnt/hung fuse rw 0 0\nusb /mnt/usb ext4 rw 0 0\n",
    )
    .unwrap();
    let mut cfg = String::from("listen = [\"127.0.0.1:0\"]\n");
    cfg.push_str(&collectors_only(&["filesystem"]));
    cfg.push_str("[paths]\nprocfs = \"proc\"\nrootfs = \"root\"\n");
    std::fs::write(tmp.path().join("config.toml"), cfg).unwrap();
    // `timeout` turns a hang into a failure here instead of a stuck test.
    let script = format!(
        "{}exec 3<>/dev/fuse\nmount -t fuse -o fd=3,rootmode=40000,user_id=0,group_id=0 hung root/mnt/hung\n\
         timeout -s KILL 60 {exe} --once --config config.toml; echo \"once exit $?\"\n\
         timeout -s KILL 60 {exe} --diagnose --config config.toml; echo \"diagnose exit $?\"\n",
        mount_script(&[("root/mnt/usb", "1m", 100), ("root/mnt/hung/sub", "1m", 100)]),
        exe = exporter()
    );
    let out = in_namespace(tmp.path(), &script).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let hung = "node_filesystem_device_error{device=\"hung\",fstype=\"fuse\",mountpoint=\"/mnt/hung\"}";
    assert_eq!(value(&text, hung).as_deref(), Some("1"), "{text}");
    let sub = "node_filesystem_device_error{device=\"sub\",fstype=\"tmpfs\",mountpoint=\"/mnt/hung/sub\"}";
    assert_eq!(value(&text, sub).as_deref(), Some("1"), "{text}");
    let usb = "node_filesystem_size_bytes{device=\"usb\",fstype=\"ext4\",mountpoint=\"/mnt/usb\"}";
    assert_eq!(value(&text, usb).as_deref(), Some("1048576"), "{text}");
    assert!(text.contains("once exit 0\n"), "{text}");
    assert!(text.contains("ok   collector filesystem: 9 series"), "{text}");
    assert!(
        text.contains("warn collector filesystem: /mnt/hung (fuse): no answer within mount_timeout_seconds\n"),
        "{text}"
    );
    assert!(text.contains("info collector filesystem: /mnt/usb (ext4)\n"), "{text}");
    assert!(text.contains("diagnose exit 0\n"), "{text}");
}

/// When the hung mount's server goes away, the parked child's statfs
/// returns: a later scrape reaps it without waiting, asks the mount again
/// (now a quick ENOTCONN, still device_error 1), and no child is left over.
#[test]
fn a_parked_child_is_reaped_once_its_mount_lets_go() {
    let tmp = TempDir::new("fs-recover");
    for d in ["proc", "root/mnt/hung"] {
        std::fs::create_dir_all(tmp.path().join(d)).unwrap();
    }
    std::fs::write(tmp.path().join("proc/mounts"), "hung /mnt/hung fuse rw 0 0\n").unwrap();
    let mut cfg = String::from("listen = [\"127.0.0.1:0\"]\n");
    cfg.push_str(&collectors_only(&["filesystem"]));
    cfg.push_str("[paths]\nprocfs = \"proc\"\nrootfs = \"root\"\n");
    std::fs::write(tmp.path().join("config.toml"), cfg).unwrap();
    // A `sleep` (not the exporter) holds the FUSE connection; killing it
    // aborts the connection, which ends the waiting statfs.
    let script = format!(
        "set -e\nexec 3<>/dev/fuse\nmount -t fuse -o fd=3,rootmode=40000,user_id=0,group_id=0 hung root/mnt/hung\n\
         (sleep 1000 & echo $! > holder.pid)\nexec 3<&-\nexec {} --config config.toml",
        exporter()
    );
    let mut exp = Exporter::spawn(&mut in_namespace(tmp.path(), &script));
    let addr = exp.wait_listening();
    let hung = "node_filesystem_device_error{device=\"hung\",fstype=\"fuse\",mountpoint=\"/mnt/hung\"}";
    let r = get(addr, "/metrics");
    assert_eq!(value(&r.text(), hung).as_deref(), Some("1"), "{}", r.text());
    assert_eq!(children_of(exp.pid()).len(), 1, "the parked child");
    let holder: i32 = std::fs::read_to_string(tmp.path().join("holder.pid")).unwrap().trim().parse().unwrap();
    // SAFETY: signalling the sleep this test's script started.
    assert_eq!(unsafe { libc::kill(holder, libc::SIGKILL) }, 0);
    // The parked child ends once the connection is gone; each scrape reaps
    // what has ended. Generous: this only waits for the kernel to let go.
    let end = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let r = get(addr, "/metrics");
        assert_eq!(r.status, 200);
        assert_eq!(value(&r.text(), hung).as_deref(), Some("1"), "{}", r.text());
        if children_of(exp.pid()).is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < end, "children left: {:?}", children_of(exp.pid()));
        std::thread::sleep(Duration::from_millis(100));
    }
    exp.signal(libc::SIGTERM);
    assert_eq!(exp.wait_exit(Duration::from_secs(20)), Some(0), "{}", exp.drain_log());
}
