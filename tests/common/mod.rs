//! Helpers shared by the integration tests: run the real binary, talk raw
//! HTTP to it on loopback, and call promtool.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The exporter binary cargo built for these tests.
pub fn exporter_bin() -> PathBuf {
    // AP_EXPORTER_BIN runs the suite against another build, such as an
    // older commit's, to show that a test fails without its fix.
    std::env::var_os("AP_EXPORTER_BIN").map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_ap-exporter")), PathBuf::from)
}

/// A fresh temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let p = std::env::temp_dir().join(format!("apx-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A running exporter whose stderr is collected line by line.
pub struct Exporter {
    pub child: Child,
    pub lines: mpsc::Receiver<String>,
    pub log: Vec<String>,
}

impl Exporter {
    /// Starts the binary with `--config CONFIG`, in `cwd`.
    pub fn start(config: &Path, cwd: &Path) -> Exporter {
        let child = Command::new(exporter_bin())
            .arg("--config")
            .arg(config)
            .current_dir(cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start exporter");
        Exporter::adopt(child)
    }

    /// Starts `cmd` (the exporter, perhaps behind a wrapper such as `ip
    /// netns exec` or the seccomp helper) with no stdin or stdout and its
    /// stderr collected.
    pub fn spawn(cmd: &mut Command) -> Exporter {
        Exporter::adopt(
            cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("start exporter"),
        )
    }

    /// Wraps a child started elsewhere with a piped stderr.
    pub fn adopt(mut child: Child) -> Exporter {
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Exporter { child, lines: rx, log: Vec::new() }
    }

    /// Waits for a stderr line containing `needle`; returns it.
    pub fn wait_for(&mut self, needle: &str, within: Duration) -> String {
        let end = Instant::now() + within;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no log line with {needle:?} within {within:?}; log so far:\n{}", self.log.join("\n")),
            }
        }
    }

    /// Waits for the first "listening on ADDR" line and returns ADDR.
    pub fn wait_listening(&mut self) -> SocketAddr {
        let line = self.wait_for("listening on ", Duration::from_secs(20));
        let addr = line.rsplit("listening on ").next().unwrap().trim();
        addr.parse().unwrap_or_else(|_| panic!("bad address in {line:?}"))
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: sending a signal to our own child process.
        let rc = unsafe { libc::kill(self.child.id() as i32, sig) };
        assert_eq!(rc, 0);
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Every stderr line so far, those already waited for included.
    pub fn drain_log(&mut self) -> String {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
            self.log.push(line);
        }
        self.log.join("\n")
    }

    /// Whether the process is still running.
    pub fn alive(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Waits for exit, up to `within`; returns the exit code.
    pub fn wait_exit(&mut self, within: Duration) -> Option<i32> {
        let end = Instant::now() + within;
        while Instant::now() < end {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("exporter did not exit within {within:?}");
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Reads one response from a stream (Content-Length framed). `head_only`
/// for HEAD requests, whose Content-Length has no body behind it.
pub fn read_response(stream: &mut TcpStream, head_only: bool) -> Response {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).expect("read head");
        assert!(n == 1, "connection closed inside the head: {:?}", String::from_utf8_lossy(&buf));
        buf.push(byte[0]);
    }
    let head = String::from_utf8(buf).unwrap();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status: u16 = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers: Vec<(String, String)> = lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once(':').unwrap();
            (k.trim().to_string(), v.trim().to_string())
        })
        .collect();
    let chunked =
        headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked"));
    if chunked && !head_only {
        // Go's servers (Prometheus) chunk larger responses.
        let mut body = Vec::new();
        loop {
            let mut line = Vec::new();
            while !line.ends_with(b"\r\n") {
                stream.read_exact(&mut byte).expect("read chunk size");
                line.push(byte[0]);
            }
            let size = usize::from_str_radix(String::from_utf8_lossy(&line).trim().split(';').next().unwrap(), 16)
                .expect("chunk size");
            let mut chunk = vec![0u8; size + 2];
            stream.read_exact(&mut chunk).expect("read chunk");
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
        return Response { status, headers, body };
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .map(|(_, v)| v.parse().unwrap())
        .unwrap_or(0);
    let mut body = vec![0u8; if head_only { 0 } else { len }];
    stream.read_exact(&mut body).expect("read body");
    Response { status, headers, body }
}

/// Sends raw bytes on a new connection and reads one response.
pub fn raw(addr: SocketAddr, request: &[u8]) -> Response {
    let mut s = connect(addr);
    s.write_all(request).unwrap();
    read_response(&mut s, request.starts_with(b"HEAD"))
}

/// `GET path` with `Connection: close`.
pub fn get(addr: SocketAddr, path: &str) -> Response {
    raw(addr, format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
}

/// A scrape without the samples that differ from run to run (durations,
/// the process' own figures, the build target), HELP and TYPE lines kept:
/// what the golden files hold.
pub fn stable_scrape(scrape: &str) -> String {
    scrape
        .lines()
        .filter(|l| {
            !(l.starts_with("node_scrape_collector_duration_seconds{")
                || l.starts_with("process_")
                || l.starts_with("node_time_seconds ")
                || l.starts_with("ap_exporter_build_info{"))
        })
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Lints promtool reports for names the metrics table keeps on purpose: they are
/// the names of OpenWrt's prometheus-node-exporter-lua, so its dashboards
/// work unchanged. Every other problem fails the check.
pub const ACCEPTED_LINTS: [&str; 3] = [
    r#"wifi_station_inactive_milliseconds use base unit "seconds" instead of "milliseconds""#,
    r#"wifi_station_receive_kilobits_per_second use base unit "bytes" instead of "kilobits""#,
    r#"wifi_station_transmit_kilobits_per_second use base unit "bytes" instead of "kilobits""#,
];

/// node_exporter's meminfo names keep the kernel's field names
/// (`node_memory_MemTotal_bytes`), which promtool's lint calls camelCase.
fn is_meminfo_case_lint(line: &str) -> bool {
    line.starts_with("node_memory_")
        && line.ends_with(" metric names should be written in 'snake_case' not 'camelCase'")
}

/// Runs `promtool check metrics` on text; returns its combined output on
/// failure. Only the [`ACCEPTED_LINTS`] are let through.
pub fn promtool_check(text: &str) -> Result<(), String> {
    // promtool accepts two samples of the same series; Prometheus rejects the scrape.
    let mut seen = std::collections::HashSet::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let series = line.rsplit_once(' ').map_or(line, |(s, _)| s);
        if !seen.insert(series) {
            return Err(format!("duplicate series: {series}"));
        }
    }
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run promtool (apt-get install prometheus): {e}"))?;
    child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    if out.status.success() {
        return Ok(());
    }
    let report = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let problems: Vec<&str> = report
        .lines()
        .filter(|l| !l.trim().is_empty() && !ACCEPTED_LINTS.contains(&l.trim()) && !is_meminfo_case_lint(l.trim()))
        .collect();
    if problems.is_empty() { Ok(()) } else { Err(problems.join("\n")) }
}

/// Writes a config file into `dir` and returns its path.
pub fn write_config(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("ap-exporter.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// The fixtures directory.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A running Prometheus server on loopback, killed on drop.
pub struct Prometheus {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Prometheus {
    /// Starts `prometheus` with `config` (in `dir`, which also holds its TSDB).
    pub fn start(dir: &Path, config: &Path) -> Prometheus {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let log = std::fs::File::create(dir.join("prometheus.log")).unwrap();
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("tsdb").display()))
            .arg(format!("--web.listen-address={addr}"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus (apt-get install prometheus)");
        let prom = Prometheus { child, addr };
        // It answers 503 until its TSDB is open, and on a machine busy with
        // VMs it may accept and then not answer for a while: both are "not
        // ready yet", not failures.
        let end = Instant::now() + Duration::from_secs(60);
        while !Prometheus::ready(addr) {
            assert!(Instant::now() < end, "prometheus not ready; see {}", dir.join("prometheus.log").display());
            std::thread::sleep(Duration::from_millis(200));
        }
        prom
    }

    /// Whether `GET /-/ready` answers 200 within a few seconds.
    fn ready(addr: SocketAddr) -> bool {
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else { return false };
        let asked = s.set_read_timeout(Some(Duration::from_secs(5))).is_ok()
            && s.write_all(b"GET /-/ready HTTP/1.1\r\nHost: prometheus\r\nConnection: close\r\n\r\n").is_ok();
        let mut head = [0u8; 12];
        asked && s.read_exact(&mut head).is_ok() && head.ends_with(b" 200")
    }

    /// Runs an instant query; returns the `data.result` array.
    pub fn query(&self, promql: &str) -> Vec<serde_json::Value> {
        let mut encoded = String::new();
        for b in promql.bytes() {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                encoded.push(b as char);
            } else {
                encoded.push_str(&format!("%{b:02X}"));
            }
        }
        let r = get(self.addr, &format!("/api/v1/query?query={encoded}"));
        let v: serde_json::Value =
            serde_json::from_slice(&r.body).unwrap_or_else(|e| panic!("bad JSON from Prometheus ({e}): {}", r.text()));
        assert_eq!(v["status"], "success", "query {promql:?} failed: {v}");
        v["data"]["result"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until `promql` returns at least one series with value >= `min`.
    pub fn wait_for(&self, promql: &str, min: f64, within: Duration) {
        let end = Instant::now() + within;
        loop {
            let ok = std::net::TcpStream::connect(self.addr).is_ok()
                && self.query(promql).iter().any(|s| sample_value(s) >= min);
            if ok {
                return;
            }
            assert!(Instant::now() < end, "{promql} never reached {min} within {within:?}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// The value of one instant-vector sample from the query API.
pub fn sample_value(series: &serde_json::Value) -> f64 {
    series["value"][1].as_str().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Copies a directory tree (fixtures into a temp dir the test may change).
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        let ty = entry.file_type().unwrap();
        if ty.is_symlink() {
            // sysfs fixtures link class/net/eth0 to ../../devices/...: keep the link.
            std::os::unix::fs::symlink(std::fs::read_link(entry.path()).unwrap(), &dest).unwrap();
        } else if ty.is_dir() {
            copy_tree(&entry.path(), &dest);
        } else {
            std::fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// Starts the real binary over the modern OpenWrt fixture on an ephemeral
/// loopback port, with `extra` top-level config lines.
/// The collectors that run in a child (wireless, firmware) or start
/// children (filesystem) are off: these servers answer every scrape inline.
pub fn start_on_fixture(extra: &str) -> (TempDir, Exporter, SocketAddr) {
    let dir = TempDir::new("http");
    let proc_root = fixtures().join("modern_openwrt/proc");
    let cfg = write_config(
        dir.path(),
        &format!(
            "listen = [\"127.0.0.1:0\"]\n{extra}\n[collectors]\nwireless = false\nfirmware = false\nfilesystem = false\n[paths]\nprocfs = {:?}\nsysfs = {:?}\n",
            proc_root.display().to_string(),
            fixtures().join("modern_openwrt/sys").display().to_string()
        ),
    );
    let mut exp = Exporter::start(&cfg, dir.path());
    let addr = exp.wait_listening();
    (dir, exp, addr)
}

/// Waits until `GET /metrics` answers 200 again (after a flood or the cap).
pub fn wait_until_serving(addr: SocketAddr, within: Duration) {
    let end = Instant::now() + within;
    while get(addr, "/metrics").status != 200 {
        assert!(Instant::now() < end, "the server did not recover within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The Merlin fixture whose `wl` takes `delay_s` seconds per call, served
/// with `extra` config lines.
pub fn start_slow_wl(delay_s: &str, extra: &str) -> (TempDir, Exporter, SocketAddr) {
    let dir = TempDir::new("slow-wl");
    copy_tree(&fixtures().join("merlin_wl"), dir.path());
    let bin = dir.path().join("bin");
    std::fs::rename(bin.join("wl"), bin.join("wl.real")).unwrap();
    std::fs::write(bin.join("wl"), format!("#!/bin/sh\nsleep {delay_s}\nexec \"${{0%/*}}/wl.real\" \"$@\"\n")).unwrap();
    make_executable(&bin.join("wl"));
    let cfg = write_config(
        dir.path(),
        &format!(
            "listen = [\"127.0.0.1:0\"]\n{extra}\n[collectors]\nconntrack = true\n[wireless]\nbackend = \"wl\"\n\
             wl_command = \"bin/wl\"\nnvram_command = \"bin/nvram\"\nleases = \"dnsmasq.leases\"\n\
             command_timeout_seconds = 10\n[paths]\nprocfs = \"proc\"\n"
        ),
    );
    let mut exp = Exporter::start(&cfg, dir.path());
    let addr = exp.wait_listening();
    (dir, exp, addr)
}

pub fn make_executable(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs the binary with `args` in the fake root `dir` (its relative paths
/// resolve there), with a PATH that has no `wl` and no TZ, so nothing of
/// the host's gets in but what the report then masks.
pub fn run_in_fake_root(dir: &Path, args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(exporter_bin())
        .args(args)
        .current_dir(dir)
        .env("PATH", "/usr/bin:/bin")
        .env_remove("TZ")
        .output()
        .unwrap()
}

/// A `--diagnose` line with what differs from host to host and run to run
/// masked: the host's arch and the build target (a fake root cannot fake
/// uname(2)'s machine), and every "N.N ms" duration, as "<t> ms".
pub fn mask_diagnose_line(line: &str) -> String {
    if line.starts_with("info platform arch: ") {
        return "info platform arch: <host arch> (this build: <target>)".to_string();
    }
    let words: Vec<&str> = line.split(' ').collect();
    let masked: Vec<&str> = words
        .iter()
        .enumerate()
        .map(|(i, word)| {
            let next_is_ms = words.get(i + 1).is_some_and(|w| w.starts_with("ms"));
            let numeric =
                !word.is_empty() && word.trim_end_matches(',').chars().all(|c| c.is_ascii_digit() || c == '.');
            if next_is_ms && numeric { "<t>" } else { word }
        })
        .collect();
    masked.join(" ")
}

/// The `[collectors]` table of a config in which only the device
/// collectors named in `on` run: every other one of this build is turned
/// off, a collector added later included.
pub fn collectors_only(on: &[&str]) -> String {
    use ap_exporter::collectors::{COLLECTORS, Scope};
    let mut table = String::from("[collectors]\n");
    for e in COLLECTORS.iter().filter(|e| e.scope == Scope::Device) {
        table.push_str(&format!("{} = {}\n", e.name, on.contains(&e.name)));
    }
    table
}
