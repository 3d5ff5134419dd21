//! The exporter on Linux 2.6.22's syscall surface (docs/platforms.md), simulated with
//! the seccomp filter in `tests/old_kernel/seccomp_2_6_22.c` around the
//! x86_64-unknown-linux-musl build (`make test` builds it first; by hand:
//! `scripts/cross-build.sh x86_64-unknown-linux-musl`). Under it the exporter
//! must start, serve 20 scrapes that pass promtool, answer `--status` and
//! `--diagnose`, reload on SIGHUP, idle below 1 % CPU, serve from one
//! thread, and exit on SIGTERM.

mod common;

use common::*;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

fn musl_binary() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/x86_64-unknown-linux-musl/release/ap-exporter");
    assert!(
        p.exists(),
        "{} is missing: run `make test`, or scripts/cross-build.sh x86_64-unknown-linux-musl",
        p.display()
    );
    p
}

fn seccomp_helper(dir: &std::path::Path) -> PathBuf {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/old_kernel/seccomp_2_6_22.c");
    let out = dir.join("seccomp_2_6_22");
    let status =
        Command::new("cc").args(["-O2", "-Wall", "-o"]).arg(&out).arg(&src).status().expect("a C compiler (cc)");
    assert!(status.success());
    out
}

/// CPU ticks (user + system) a process has used.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

#[test]
fn serves_reloads_idles_and_stops_on_a_2_6_22_syscall_surface() {
    let dir = TempDir::new("oldk");
    let helper = seccomp_helper(dir.path());
    // The filter itself works: a SOCK_CLOEXEC socket is refused and pipe2 is gone.
    let probe = Command::new(&helper)
        .args(["/usr/bin/python3", "-c", "import socket,os\ntry:\n socket.socket(socket.AF_INET, socket.SOCK_STREAM|socket.SOCK_CLOEXEC)\nexcept OSError as e: print(e.errno)\ntry:\n os.pipe2(0)\nexcept OSError as e: print(e.errno)"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&probe.stdout), "22\n38\n", "filter not in force");

    // The Merlin fixture: netdev and load from its proc root, and the wl
    // backend, so helper processes (wl, nvram) are spawned under the filter too.
    let merlin = fixtures().join("merlin_wl");
    let base = format!(
        "listen = [\"127.0.0.1:0\"]\n[netdev]\nsample_interval_seconds = 1\n[collectors]\nwireless = true\n\
         [wireless]\nbackend = \"wl\"\nwl_command = {:?}\nnvram_command = {:?}\nleases = \"\"\n[paths]\nprocfs = {:?}\n",
        merlin.join("bin/wl").display().to_string(),
        merlin.join("bin/nvram").display().to_string(),
        merlin.join("proc").display().to_string()
    );
    let cfg = write_config(dir.path(), &base);
    let mut exp = Exporter::spawn(Command::new(&helper).arg(musl_binary()).arg("--config").arg(&cfg));
    let addr = exp.wait_listening();

    for i in 0..20 {
        let r = get(addr, "/metrics");
        assert_eq!(r.status, 200, "scrape {i}");
        let text = r.text();
        promtool_check(&text).unwrap_or_else(|e| panic!("scrape {i}: {e}"));
        assert!(
            text.contains("node_scrape_collector_success{collector=\"wireless\"} 1"),
            "wl backend failed under the filter:\n{text}"
        );
        assert!(text.contains("wifi_stations{ifname=\"eth2\"} 2"));
        // The per-radio wl runs (chanim_stats, phy_tempsense) work here too.
        assert!(text.contains("wifi_network_channel_busy_ratio{ifname=\"eth2\"} 0.8"), "{text}");
        assert!(text.contains("wifi_radio_temperature_celsius{ifname=\"eth2\"} 61"), "{text}");
    }
    // The init scripts' --status (a client socket made without
    // SOCK_CLOEXEC) and a person's --diagnose (which binds and closes the
    // listen address, and runs wl) work on this surface too.
    let status_cfg = dir.path().join("status.toml");
    std::fs::write(&status_cfg, format!("listen = [\"{addr}\"]\n")).unwrap();
    let out =
        Command::new(&helper).arg(musl_binary()).arg("--status").arg("--config").arg(&status_cfg).output().unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.starts_with(&format!("serving on {addr}: ap-exporter ")) && said.contains(", 0 of 16 collectors failing"),
        "--status under the filter: {said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(&helper).arg(musl_binary()).arg("--diagnose").arg("--config").arg(&cfg).output().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        report
            .contains("info collector wireless: wl: eth2 (ap, radio wl1, 5GHz, 2 stations, airtime from chanim_stats)"),
        "{report}"
    );
    assert_eq!(out.status.code(), Some(0), "--diagnose under the filter:\n{report}");

    let pid = exp.child.id();
    let threads = std::fs::read_dir(format!("/proc/{pid}/task")).unwrap().count();
    assert_eq!(threads, 1, "serving must stay on one thread (std's futex waits spin on 2.6.22)");

    std::fs::write(&cfg, base.replace("wireless = true", "wireless = true\nload = false")).unwrap();
    exp.signal(libc::SIGHUP);
    exp.wait_for("reloaded", Duration::from_secs(10));
    assert!(!get(addr, "/metrics").text().contains("node_load1"));

    // Idle for 5 s (the netdev sampler still fires every second): under 1 %
    // of one core is under 50 ms, i.e. 5 ticks at 100 Hz.
    let before = cpu_ticks(pid);
    std::thread::sleep(Duration::from_secs(5));
    let used = cpu_ticks(pid) - before;
    // SAFETY: sysconf only reads a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    println!("idle CPU over 5 s: {used} ticks at {hz} Hz");
    assert!(used * 100 < 5 * hz, "idle CPU {used} ticks in 5 s is 1 % or more");

    exp.signal(libc::SIGTERM);
    assert_eq!(exp.wait_exit(Duration::from_secs(10)), Some(0));
}

/// Entware's respawn and the LAN-interface listen on the oldest kernels:
/// `--supervise` forks, restarts a killed exporter, idles in sigtimedwait,
/// and stops with it; `listen_interface` asks lo's address with the
/// SIOCGIFADDR ioctl.
#[test]
fn supervises_and_listens_by_interface_on_a_2_6_22_syscall_surface() {
    let dir = TempDir::new("oldk-sup");
    let helper = seccomp_helper(dir.path());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let cfg = write_config(
        dir.path(),
        &format!(
            "listen = [\"0.0.0.0:{port}\"]\nlisten_interface = \"lo\"\n[collectors]\nwireless = false\n[paths]\nprocfs = {:?}\n",
            fixtures().join("merlin_wl/proc").display().to_string()
        ),
    );
    let mut exp =
        Exporter::spawn(Command::new(&helper).arg(musl_binary()).arg("--supervise").arg("--config").arg(&cfg));
    let addr = exp.wait_listening();
    assert_eq!(addr, format!("127.0.0.1:{port}").parse().unwrap(), "lo's address, from getifaddrs");
    assert_eq!(get(addr, "/metrics").status, 200);
    // Its line came before the exporter's "listening on": the pid is read from the log kept so far.
    let log = exp.drain_log();
    let first: u32 = log
        .lines()
        .find_map(|l| l.split("supervising the exporter (pid ").nth(1))
        .and_then(|rest| rest.split(')').next())
        .and_then(|pid| pid.parse().ok())
        .unwrap_or_else(|| panic!("no supervising line in:\n{log}"));
    // SAFETY: killing the exporter this test's supervisor started.
    assert_eq!(unsafe { libc::kill(first as i32, libc::SIGKILL) }, 0);
    exp.wait_for("was killed by signal 9; starting it again in 1 s", Duration::from_secs(10));
    exp.wait_for("listening on", Duration::from_secs(10));
    assert!(get(addr, "/metrics").text().contains("ap_exporter_restarts_total 1"));
    // The supervisor waits in sigtimedwait: no CPU while all is well.
    let supervisor = exp.child.id();
    let before = cpu_ticks(supervisor);
    std::thread::sleep(Duration::from_secs(3));
    let used = cpu_ticks(supervisor) - before;
    // SAFETY: sysconf only reads a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    assert!(used * 100 < 3 * hz, "the supervisor used {used} ticks in 3 s idle");
    assert_eq!(std::fs::read_dir(format!("/proc/{supervisor}/task")).unwrap().count(), 1, "one thread");
    exp.signal(libc::SIGTERM);
    assert_eq!(exp.wait_exit(Duration::from_secs(15)), Some(0));
}

/// CPU seconds (user + system) a finished child used, from wait4.
#[allow(clippy::zombie_processes)] // reaped by wait4 below, which also reports its CPU time
/// Runs `cmd` to its end: the CPU seconds it used and its stdout.
fn run_cpu_seconds(cmd: &mut Command) -> (f64, String) {
    let mut child = cmd.stdout(Stdio::piped()).spawn().unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
    let mut status = 0;
    // SAFETY: rusage is plain old data, so all zeroes is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 fills the two locals it is given; the pid is our own child.
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(usage.ru_utime) + secs(usage.ru_stime), out)
}

#[test]
fn the_filter_makes_a_condvar_waiter_spin() {
    // Shows the test above would catch a server that blocks on std locks:
    // the same filter turns a 2 s Condvar wait into a busy loop.
    let dir = TempDir::new("cv");
    let helper = seccomp_helper(dir.path());
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/old_kernel/condvar_wait.rs");
    let bin = dir.path().join("condvar_wait");
    let built = Command::new("rustc").args(["-O", "-o"]).arg(&bin).arg(&src).status().unwrap();
    assert!(built.success());
    let (plain_cpu, plain) = run_cpu_seconds(&mut Command::new(&bin));
    let (filtered_cpu, filtered) = run_cpu_seconds(Command::new(&helper).arg(&bin));
    let wakeups = |out: &str| out.trim().parse::<u64>().unwrap_or_else(|_| panic!("condvar_wait printed {out:?}"));
    let (plain, filtered) = (wakeups(&plain), wakeups(&filtered));
    println!(
        "2 s Condvar wait: {plain} wake-ups and {plain_cpu:.3} CPU s normally, \
         {filtered} wake-ups and {filtered_cpu:.3} CPU s under the 2.6.22 filter"
    );
    // Counts, not times: a loaded machine slows the spin but cannot make it
    // return fewer than thousands of times in 2 s.
    assert!(plain <= 3, "the wait should return once normally ({plain} wake-ups)");
    assert!(filtered > 1000, "under the filter the wait should spin ({filtered} wake-ups)");
}
