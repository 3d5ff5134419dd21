//! An input near the size caps costs a bounded multiple of its size: a
//! 4 MiB `/proc/net/dev` of the shortest lines (over 100,000 interfaces)
//! is answered with a bounded output and a bounded peak RSS, and the rest
//! of the interfaces are reported as dropped. No timings: the bounds are
//! bytes (see docs/design.md, "Bounded by the read cap").

mod common;

use common::*;
use std::io::Read;
use std::process::{Command, Stdio};

/// The read cap of `os::source`.
const READ_CAP: usize = 4 * 1024 * 1024;
/// `collectors::netdev::MAX_INTERFACES`.
const MAX_INTERFACES: usize = 8192;

/// A net/dev just under the read cap: hex names, single-digit counters.
fn near_cap_net_dev() -> (String, usize) {
    let mut text = String::from("Inter-|   Receive |  Transmit\n face |bytes packets|bytes packets\n");
    let mut count = 0;
    loop {
        let line = format!("{count:x}: 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6\n");
        if text.len() + line.len() > READ_CAP - 1024 {
            return (text, count);
        }
        text.push_str(&line);
        count += 1;
    }
}

/// Runs `--once` and returns (stdout, exit code, peak RSS in KiB).
#[allow(clippy::zombie_processes)] // reaped by wait4, which also gives the RSS
fn once(config: &std::path::Path) -> (String, i32, i64) {
    let mut child = Command::new(exporter_bin())
        .arg("--config")
        .arg(config)
        .arg("--once")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain old data that wait4 fills in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child, with valid out-pointers.
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as libc::pid_t);
    (out, libc::WEXITSTATUS(status), usage.ru_maxrss)
}

#[test]
fn a_near_cap_net_dev_has_bounded_output_and_memory() {
    let dir = TempDir::new("nearcap");
    let proc = dir.path().join("proc");
    std::fs::create_dir_all(proc.join("net")).unwrap();
    let (text, count) = near_cap_net_dev();
    assert!(count > 100_000, "{count} interfaces");
    std::fs::write(proc.join("net/dev"), &text).unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "[collectors]\nconntrack = false\nload = false\nwireless = false\n[netdev]\nexclude = []\n[paths]\nprocfs = {:?}\n",
            proc.display().to_string()
        ),
    );
    let (out, code, rss_kib) = once(&config);
    assert_eq!(code, 0);
    let dropped = format!("ap_exporter_netdev_interfaces_dropped {}\n", count - MAX_INTERFACES);
    assert!(out.contains(&dropped), "expected {dropped:?}");
    let series = out.lines().filter(|l| l.starts_with("node_network_receive_bytes_total{")).count();
    assert_eq!(series, MAX_INTERFACES);
    // 16 families of 8192 interfaces, at most 90 bytes a line: 12 MiB
    // whatever the input; here, with short names and values, about 7 MB.
    let bound = 16 * MAX_INTERFACES * 90;
    assert!(out.len() < bound, "{} bytes of output, bound {bound}", out.len());
    // The input, the tracker and two copies of the output: about 35 MiB,
    // under 64 MiB (442 MB when the tracker was quadratic).
    assert!(rss_kib < 64 * 1024, "peak RSS {rss_kib} KiB");
}
