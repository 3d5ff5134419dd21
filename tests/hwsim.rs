//! The VM matrix: each router architecture's Entware package on a real
//! Linux kernel. Debian 12's stock kernel of the arch boots in QEMU (TCG)
//! with mac80211_hwsim: hostapd serves a WPA2 AP on one simulated radio,
//! wpa_supplicant associates on the other (tests/hwsim/guest-init.sh). The
//! package is installed into /opt the way an offline opkg does it, and its
//! init script starts the exporter under busybox sh with the rc.func
//! stand-in (tests/hwsim/vm.py). A real Prometheus on this host scrapes the
//! guest through QEMU's port forward on 127.0.0.1; its query API must show
//! the station, its signal, its bytes rising with traffic, the band, a
//! conntrack count and every collector succeeding. Then SIGHUP (the init
//! script's `reconfigure`) applies a changed config in the same process, and
//! SIGTERM ends it with status 0.
//!
//! Needs `make packages` first (`make test` does it). The guest's console
//! is kept in target/vm/ARCH/console.txt and printed when a test fails.
//!
//! `UPDATE_NL80211_FIXTURES=1 cargo test --test hwsim x86_64` also copies the
//! captured nl80211 replies and the guest's /proc/net/dev into
//! tests/fixtures/openwrt_nl80211/.

mod common;

use base64::Engine;
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Seconds the slowest guest (armv7 or mipsel under TCG on a busy 2-core
/// machine) may take from QEMU's start to a running exporter; about 15 s idle.
const BOOT: Duration = Duration::from_secs(240);
/// For one console command, or one Prometheus condition.
const STEP: Duration = Duration::from_secs(60);
/// The station as the AP sees it, on the AP's interface.
const STATION: &str = r#"ifname="wlan0",mac="02:00:00:00:01:00""#;
/// What the `traffic` command moves from the AP to the station.
const TRAFFIC_BYTES: f64 = 512.0 * 1024.0;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A booted guest: QEMU (under `timeout`) with its serial console on our
/// pipes. Lines for the test start with "@@ ".
struct Guest {
    qemu: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    console: Vec<String>,
    console_path: PathBuf,
}

impl Guest {
    fn boot(argv: &[String], console_path: PathBuf) -> Guest {
        // QEMU's own messages (slirp's complaints about early scrapes
        // included) go beside the console log, not into the test output.
        let stderr = std::fs::File::create(console_path.with_extension("qemu-stderr.txt")).unwrap();
        let mut qemu = Command::new(&argv[0])
            .args(&argv[1..])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {} (scripts/install-deps.sh installs it): {e}", argv[4]));
        let stdout = qemu.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        let mut file = std::fs::File::create(&console_path).unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).split(b'\n') {
                let Ok(line) = line else { break };
                let line = String::from_utf8_lossy(&line).trim_end_matches('\r').to_string();
                let _ = writeln!(file, "{line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stdin = qemu.stdin.take().unwrap();
        Guest { qemu, stdin, lines, console: Vec::new(), console_path }
    }

    /// The next console line, or None if none comes within `within`. A
    /// guest that stops fails the test.
    fn next_line(&mut self, within: Duration) -> Option<String> {
        match self.lines.recv_timeout(within) {
            Ok(line) => {
                self.console.push(line.clone());
                Some(line)
            }
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => panic!("QEMU stopped: {:?}", self.qemu.wait()),
        }
    }

    /// Waits for the next "@@ WORD ..." line and returns it. A guest that
    /// reports FAIL fails the test.
    fn expect(&mut self, word: &str, within: Duration) -> String {
        let end = Instant::now() + within;
        let prefix = format!("@@ {word}");
        loop {
            let left = end.saturating_duration_since(Instant::now());
            let line = self.next_line(left).unwrap_or_else(|| panic!("no {prefix:?} from the guest within {within:?}"));
            if line.starts_with("@@ FAIL") {
                // The guest prints its logs after FAIL: collect them.
                while let Ok(l) = self.lines.recv_timeout(Duration::from_secs(2)) {
                    self.console.push(l);
                }
                panic!("the guest failed: {line}");
            }
            if line.starts_with(&prefix) {
                return line;
            }
        }
    }

    fn send(&mut self, command: &str) {
        writeln!(self.stdin, "{command}").expect("the guest's console is closed");
    }

    /// Waits for QEMU to exit after the guest powered off; its status.
    fn wait_exit(&mut self, within: Duration) -> std::process::ExitStatus {
        let end = Instant::now() + within;
        loop {
            if let Some(status) = self.qemu.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < end, "QEMU did not exit within {within:?} of the guest's poweroff");
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Guest {
    fn drop(&mut self) {
        if self.qemu.try_wait().ok().flatten().is_none() {
            // SIGTERM to `timeout`, which passes it on to QEMU; SIGKILL would
            // leave QEMU running without it.
            // SAFETY: signalling our own child process.
            unsafe { libc::kill(self.qemu.id() as i32, libc::SIGTERM) };
            let end = Instant::now() + Duration::from_secs(10);
            while self.qemu.try_wait().ok().flatten().is_none() && Instant::now() < end {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = self.qemu.kill();
            let _ = self.qemu.wait();
        }
        if std::thread::panicking() {
            while let Ok(line) = self.lines.try_recv() {
                self.console.push(line);
            }
            let tail = self.console.len().saturating_sub(200);
            let stderr_path = self.console_path.with_extension("qemu-stderr.txt");
            let stderr = std::fs::read_to_string(&stderr_path).unwrap_or_default();
            let stderr_tail: Vec<&str> = stderr.lines().rev().take(20).collect();
            eprintln!(
                "--- guest console (last 200 lines; all of it in {}):\n{}\n--- QEMU's stderr (last 20 lines of {}):\n{}",
                self.console_path.display(),
                self.console[tail..].join("\n"),
                stderr_path.display(),
                stderr_tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
    }
}

/// The one sample `promql` returns. A scrape that timed out marks every
/// series stale until the next one: wait for it rather than fail.
fn one(prom: &Prometheus, promql: &str) -> f64 {
    let end = Instant::now() + STEP;
    loop {
        let result = prom.query(promql);
        if result.len() == 1 {
            return sample_value(&result[0]);
        }
        assert!(result.is_empty() && Instant::now() < end, "{promql} should give one series: {result:?}");
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Builds the guest with vm.py; returns (QEMU argv, Rust target, console path).
fn build_guest(arch: &str, port: u16) -> (Vec<String>, String, PathBuf) {
    let out = Command::new("python3")
        .arg(repo().join("tests/hwsim/vm.py"))
        .args(["--arch", arch, "--port", &port.to_string(), "--work"])
        .arg(repo().join("target/vm"))
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "vm.py could not build the {arch} guest (see above)");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let argv = v["argv"].as_array().unwrap().iter().map(|a| a.as_str().unwrap().to_string()).collect();
    (argv, v["target"].as_str().unwrap().to_string(), PathBuf::from(v["console"].as_str().unwrap()))
}

fn start_prometheus(dir: &Path, port: u16) -> Prometheus {
    let config = dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: router\n    static_configs:\n      - targets: [\"127.0.0.1:{port}\"]\n"
        ),
    )
    .unwrap();
    Prometheus::start(dir, &config)
}

fn real_kernel(arch: &str) {
    let port = free_port();
    let (argv, target, console_path) = build_guest(arch, port);
    let started = Instant::now();
    let mut guest = Guest::boot(&argv, console_path);
    let dir = TempDir::new(&format!("vm-{arch}"));
    // Prometheus starts while the guest boots; scrapes fail until it serves.
    let prom = start_prometheus(dir.path(), port);

    let booted = guest.expect("BOOTED", BOOT);
    guest.expect("ASSOCIATED", BOOT);
    let start = guest.expect("STARTED", BOOT);
    assert!(start.ends_with("Starting Prometheus exporter for this router... done."), "{start}");
    let pid = start.split_whitespace().nth(2).unwrap().to_string();
    prom.wait_for(r#"up{job="router"}"#, 1.0, STEP);
    println!("{arch}: {booted}; serving after {:.1} s", started.elapsed().as_secs_f64());

    // Bytes rise between two scrapes by what the station downloaded.
    let tx = format!("wifi_station_transmit_bytes_total{{{STATION}}}");
    let rx = format!("wifi_station_receive_bytes_total{{{STATION}}}");
    prom.wait_for(&tx, 0.0, STEP);
    let (tx0, rx0) = (one(&prom, &tx), one(&prom, &rx));
    guest.send("traffic");
    assert_eq!(guest.expect("TRAFFIC", STEP), "@@ TRAFFIC rc=0");
    prom.wait_for(&format!("{tx} - {tx0}"), TRAFFIC_BYTES, STEP);
    assert!(one(&prom, &rx) > rx0, "the station's acknowledgements should count as received bytes");

    assert_eq!(one(&prom, &format!("wifi_station_signal_dbm{{{STATION}}}")), -30.0);
    for family in [
        "wifi_station_transmit_packets_total",
        "wifi_station_receive_packets_total",
        "wifi_station_transmit_kilobits_per_second",
        "wifi_station_connected_seconds",
    ] {
        assert!(one(&prom, &format!("{family}{{{STATION}}}")) > 0.0, "{family} should be above 0");
    }
    assert_eq!(
        one(
            &prom,
            r#"wifi_network_info{band="2.4GHz",bssid="02:00:00:00:00:00",channel="6",ifname="wlan0",mode="ap",radio="phy0",ssid="ap-exporter-test"}"#
        ),
        1.0
    );
    assert_eq!(one(&prom, r#"wifi_network_frequency_hertz{ifname="wlan0"}"#), 2.437e9);
    assert_eq!(one(&prom, r#"wifi_network_channel_width_hertz{ifname="wlan0"}"#), 20e6);
    assert_eq!(one(&prom, r#"wifi_stations{ifname="wlan0"}"#), 1.0);
    // The idle radio (an AP nobody joined) counts 0 stations, not nothing;
    // the radio left down says so and still has wifi_stations 0.
    assert_eq!(one(&prom, r#"wifi_stations{ifname="wlan2"}"#), 0.0);
    assert_eq!(one(&prom, r#"wifi_network_up{ifname="wlan2"}"#), 1.0);
    assert_eq!(one(&prom, r#"wifi_network_up{ifname="wlan3"}"#), 0.0);
    assert_eq!(one(&prom, r#"wifi_stations{ifname="wlan3"}"#), 0.0);
    // Survey: hwsim reports the channels its radio scanned, with time, busy
    // time (an eighth of it) and noise -92; the station's radio scanned
    // channel 6 to associate. Its figures are the last scan's dwell, not a
    // running total (a real driver's only grow), so they are asserted
    // present and consistent, not growing.
    let active = r#"wifi_network_channel_active_seconds_total{ifname="wlan1"}"#;
    let busy = r#"wifi_network_channel_busy_seconds_total{ifname="wlan1"}"#;
    assert!(one(&prom, active) > 0.0, "{active} should be above 0");
    assert!(one(&prom, busy) > 0.0, "{busy} should be above 0");
    assert_eq!(one(&prom, &format!("{busy} * 8 <= bool {active}")), 1.0, "hwsim's busy time is an eighth");
    assert_eq!(one(&prom, r#"wifi_network_noise_dbm{ifname="wlan1"}"#), -92.0);
    assert_eq!(one(&prom, r#"wifi_network_transmit_power_dbm{ifname="wlan0"}"#), 20.0);
    assert_eq!(one(&prom, r#"wifi_network_phy_info{ifname="wlan0",standard="HT"}"#), 1.0);
    // The scrapes' own connection is tracked (nf_conntrack with its hooks on).
    assert!(one(&prom, "node_nf_conntrack_entries") >= 1.0);
    assert!(one(&prom, "node_nf_conntrack_entries_limit") > 0.0);
    let mut collectors: Vec<&str> = ap_exporter::collectors::device_names().collect();
    collectors.sort();
    prom.wait_for("count(node_scrape_collector_success == 1)", collectors.len() as f64, STEP);
    let mut succeeded: Vec<String> = prom
        .query("node_scrape_collector_success == 1")
        .iter()
        .map(|s| s["metric"]["collector"].as_str().unwrap().to_string())
        .collect();
    succeeded.sort();
    assert_eq!(succeeded, collectors, "every collector should succeed");
    assert_eq!(one(&prom, &format!(r#"ap_exporter_build_info{{target="{target}"}}"#)), 1.0);
    let scrape = get(format!("127.0.0.1:{port}").parse().unwrap(), "/metrics");
    assert_eq!(scrape.status, 200);
    promtool_check(&scrape.text()).unwrap();

    if arch == "x86_64" && std::env::var_os("UPDATE_NL80211_FIXTURES").is_some() {
        update_nl80211_fixtures(&mut guest);
    }

    // SIGHUP through the init script: the load collector goes, the process stays.
    let started_at = one(&prom, "process_start_time_seconds");
    guest.send("reconfigure");
    let reconfigured = guest.expect("RECONFIGURED", STEP);
    assert!(reconfigured.starts_with(&format!("@@ RECONFIGURED {pid} ")), "{reconfigured} (was {pid})");
    // A scrape after the reload reports one collector fewer. (A scrape that
    // failed would make every series vanish: not proof enough.)
    let fewer = collectors.len() - 1;
    prom.wait_for(&format!("count(node_scrape_collector_success) == {fewer}"), fewer as f64, STEP);
    assert!(prom.query(r#"node_scrape_collector_success{collector="load"}"#).is_empty());
    assert!(prom.query("node_load1").is_empty());
    prom.wait_for(r#"up{job="router"}"#, 1.0, STEP);
    assert_eq!(one(&prom, "process_start_time_seconds"), started_at, "a reload, not a restart");

    guest.send("stop");
    assert_eq!(guest.expect("EXITED", STEP), "@@ EXITED status=0", "SIGTERM should end the exporter with 0");
    guest.expect("POWEROFF", STEP);
    assert!(guest.wait_exit(STEP).success());
    println!("{arch}: done in {:.1} s", started.elapsed().as_secs_f64());
}

/// Copies the guest's nl80211 replies and /proc/net/dev into the fixture.
fn update_nl80211_fixtures(guest: &mut Guest) {
    guest.send("capture");
    let fixture = repo().join("tests/fixtures/openwrt_nl80211");
    // "@@ FILE NAME", its base64 lines, ..., "@@ CAPTURED".
    let mut files: Vec<(String, String)> = Vec::new();
    loop {
        let line = guest.next_line(STEP).expect("the capture stopped");
        if let Some(name) = line.strip_prefix("@@ FILE ") {
            files.push((name.to_string(), String::new()));
        } else if line == "@@ CAPTURED" {
            break;
        } else if line.starts_with("@@ ") || files.is_empty() {
            panic!("capture: {line}");
        } else {
            files.last_mut().unwrap().1.push_str(&line);
        }
    }
    for (name, body) in files {
        let bytes = base64::engine::general_purpose::STANDARD.decode(body).unwrap();
        let dest = if name == "net_dev" { fixture.join("proc/net/dev") } else { fixture.join("nl80211").join(name) };
        std::fs::write(&dest, bytes).unwrap();
        println!("updated {}", dest.display());
    }
}

#[test]
fn x86_64_pc() {
    real_kernel("x86_64");
}

#[test]
fn mipsel_malta_24kc_without_fpu() {
    real_kernel("mipsel");
}

#[test]
fn armv7_virt_cortex_a15() {
    real_kernel("armv7");
}

#[test]
fn aarch64_virt_cortex_a53() {
    real_kernel("aarch64");
}
