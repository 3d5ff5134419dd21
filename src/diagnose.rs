//! `--diagnose`: a read-only report for a person at the router's shell, and
//! `--status`: one local scrape for the init scripts.
//!
//! The report is plain text, one finding per line, `LEVEL TOPIC: what`,
//! where LEVEL is `ok`, `info`, `warn`, `FAIL` or `off`; a failure names a
//! one-line fix. It runs every enabled collector once, inline, through the
//! collector table, binds and closes each listener, and writes nothing.
//!
//! opkg's status file is read relative to the directory that holds the
//! procfs root: `/` for `/proc`, the fake root for a test's `proc`. The
//! firmware line is the firmware collector's finding (`[paths] etc`).

use crate::app::ConfigSource;
use crate::collectors::firmware::FirmwareCollector;
use crate::collectors::{COLLECTORS, CollectError, Scope};
use crate::config::Config;
use crate::metrics::exposition::Exposition;
use crate::os::command::CommandError;
use crate::os::duration;
use crate::os::interfaces::{Absence, listen_addrs};
use crate::os::listener::BindProblem;
use crate::os::source::read_bounded;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

/// The report being written, and whether it found a failure.
struct Report {
    text: String,
    failures: usize,
}

impl Report {
    /// Starts a line: `LEVEL TOPIC: ` (the level padded to 4).
    fn head(&mut self, level: &str, topic: &str) {
        self.text.push_str(level);
        for _ in level.len()..4 {
            self.text.push(' ');
        }
        self.text.push(' ');
        self.text.push_str(topic);
        self.text.push_str(": ");
        if level == "FAIL" {
            self.failures += 1;
        }
    }

    fn line(&mut self, level: &str, topic: &str, what: &str) {
        self.head(level, topic);
        self.text.push_str(what);
        self.text.push('\n');
    }

    /// [`Report::line`] with formatted text, written in place rather than
    /// through a `format!` String at each of the many call sites.
    fn linef(&mut self, level: &str, topic: &str, what: std::fmt::Arguments<'_>) {
        self.head(level, topic);
        let _ = self.text.write_fmt(what);
        self.text.push('\n');
    }
}

/// Writes the report for the config from `source` (and, when given, the
/// address of the client that will scrape); returns it and whether all is
/// well: every enabled collector works and every listener can bind.
pub fn report(source: &ConfigSource, client: Option<IpAddr>) -> (String, bool) {
    let mut r = Report { text: String::new(), failures: 0 };
    // The platform section needs the procfs root, so load the config first
    // and report it second.
    let loaded = source.load();
    let config = loaded.as_ref().map_or_else(|_| Config::default(), Clone::clone);
    let kernel = platform(&mut r, &config);
    config_section(&mut r, source, &loaded);
    if loaded.is_err() {
        r.line("info", "diagnose", "stopped here: the other checks need a valid config");
    } else {
        listen(&mut r, &config);
        collectors(&mut r, &config, kernel);
        access(&mut r, &config, client);
    }
    let ok = r.failures == 0;
    if ok {
        r.line("ok", "diagnose", "every enabled collector works and every listener can bind");
    } else {
        let n = r.failures;
        r.linef("FAIL", "diagnose", format_args!("{n} problem{}: see the FAIL lines", if n == 1 { "" } else { "s" }));
    }
    (r.text, ok)
}

/// Reads a small file, or `None`.
fn read(path: &Path) -> Option<String> {
    let mut buf = String::new();
    read_bounded(path, &mut buf).ok().map(|()| buf)
}

/// (major, minor) of a kernel release such as "2.6.22.19".
fn version_of(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// The platform section; returns the kernel's (major, minor).
fn platform(r: &mut Report, config: &Config) -> Option<(u32, u32)> {
    let roots = config.paths.roots();
    // SAFETY: utsname is plain old data; uname fills it in.
    let mut uts: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname writes into the struct we pass.
    let have_uts = unsafe { libc::uname(&mut uts) } == 0;
    let field = |f: &[libc::c_char]| -> String {
        let bytes: Vec<u8> = f.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let machine = if have_uts { field(&uts.machine) } else { "unknown".into() };
    r.linef("info", "platform arch", format_args!("{machine} (this build: {})", crate::TARGET));
    // uname(2) describes this machine, so it stands in only for the live
    // /proc: a fake root that lacks the file would report the host's kernel.
    let release_path = roots.proc_path("sys/kernel/osrelease");
    let live = roots.procfs == Path::new("/proc");
    let release = read(&release_path)
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| (have_uts && live).then(|| field(&uts.release)));
    match &release {
        Some(release) => r.line("info", "platform kernel", release),
        None => r.linef("info", "platform kernel", format_args!("unknown: cannot read {}", release_path.display())),
    }
    let release = release.unwrap_or_default();
    let kernel = version_of(&release);

    let cpuinfo_path = roots.proc_path("cpuinfo");
    match read(&cpuinfo_path) {
        Some(cpuinfo) if has_fpu(&cpuinfo) => r.line("info", "platform fpu", "yes"),
        // Every MIPS and ARM build is soft-float (docs/platforms.md).
        Some(_) => r.line("info", "platform fpu", "no; the MIPS and ARM builds are soft-float and need none"),
        None => r.linef("info", "platform fpu", format_args!("unknown: cannot read {}", cpuinfo_path.display())),
    }

    let sysroot = roots.procfs.parent().unwrap_or(Path::new("/")).to_path_buf();
    r.line("info", "platform firmware", &firmware(config));
    package(r, &sysroot, kernel);
    kernel
}

/// Whether /proc/cpuinfo shows a hardware FPU: x86 `flags: fpu`, ARM
/// `Features: vfp`/`fp`, MIPS `cpu model: ... FPU V0.0`.
fn has_fpu(cpuinfo: &str) -> bool {
    cpuinfo.lines().any(|line| {
        let Some((key, value)) = line.split_once(':') else { return false };
        let key = key.trim();
        let mut words = value.split_whitespace();
        match key {
            "flags" => words.any(|w| w == "fpu"),
            "Features" => words.any(|w| w == "vfp" || w == "fp" || w.starts_with("vfpv")),
            "cpu model" => words.any(|w| w == "FPU"),
            _ => false,
        }
    })
}

/// The firmware, as the firmware collector finds it.
fn firmware(config: &Config) -> String {
    match FirmwareCollector::new(config).identify(&config.paths.roots()) {
        Ok(Some(f)) => f.to_string(),
        Ok(None) => "unknown: no openwrt_release file and no nvram".into(),
        Err(e) => format!("unknown: {e}"),
    }
}

/// The installed package's version and architecture, from opkg's or apk's
/// database, and whether it suits the kernel.
fn package(r: &mut Report, sysroot: &Path, kernel: Option<(u32, u32)>) {
    let dbs = ["opt/lib/opkg/status", "usr/lib/opkg/status", "lib/apk/db/installed"];
    let found = dbs.iter().find_map(|db| {
        let path = sysroot.join(db);
        let text = read(&path)?;
        let (v, a) = package_fields(&text)?;
        Some((path, v, a))
    });
    let Some((path, version, arch)) = found else {
        r.line("info", "platform package", "not installed with opkg or apk");
        return;
    };
    r.linef("info", "platform package", format_args!("ap-exporter {version}, {arch} (from {})", path.display()));
    // Entware names the kernel floor in the architecture: "mipsel-3.4".
    let floor = arch.rsplit_once('-').and_then(|(_, v)| version_of(v));
    match (floor, kernel) {
        (Some(floor), Some(k)) if k < floor => r.linef(
            "warn",
            "platform package",
            format_args!(
                "{arch} needs Linux {}.{} or later; fix: install the legacy package of this CPU",
                floor.0, floor.1
            ),
        ),
        (None, Some(k)) if arch == "mipsel" && k >= (3, 4) => r.line(
            "warn",
            "platform package",
            "the legacy mipsel package (for Linux 2.6) runs on a 3.x+ kernel; fix: use the mipsel-3.4 package \
             (Entware's mipselsf-k3.4 feed)",
        ),
        _ => r.line("ok", "platform package", "suits this kernel"),
    }
}

/// Version and Architecture of ap-exporter in an opkg status file (stanzas
/// of `Key: value`) or apk's installed database (`P:`, `V:`, `A:`).
fn package_fields(text: &str) -> Option<(String, String)> {
    for stanza in text.split("\n\n") {
        let get = |keys: [&str; 2]| {
            stanza.lines().find_map(|l| keys.iter().find_map(|k| l.strip_prefix(k)).map(|v| v.trim().to_string()))
        };
        if get(["Package:", "P:"]).as_deref() == Some("ap-exporter") {
            return Some((
                get(["Version:", "V:"]).unwrap_or_default(),
                get(["Architecture:", "A:"]).unwrap_or_default(),
            ));
        }
    }
    None
}

fn config_section(r: &mut Report, source: &ConfigSource, loaded: &Result<Config, crate::config::ConfigError>) {
    let paths = source.files();
    if paths.is_empty() {
        r.line("info", "config", crate::app::NO_CONFIG_FILE);
        return;
    }
    match loaded {
        Ok(_) => {}
        // A read error says its own fix.
        Err(e @ crate::config::ConfigError::Read { .. }) => {
            r.linef("FAIL", "config", format_args!("{e}"));
            return;
        }
        Err(e) => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or_default();
            r.linef(
                "FAIL",
                "config",
                format_args!("{first}; fix: correct that spot (see the README's config reference)"),
            );
            return;
        }
    };
    r.linef("ok", "config", format_args!("{}: valid", source.display()));
    use std::os::unix::fs::PermissionsExt;
    for path in &paths {
        // Every file was valid in the load above, so each reads alone too.
        let holds_hashes = Config::load(path).is_ok_and(|c| !c.auth.basic_auth_users.is_empty());
        let Ok(meta) = std::fs::metadata(path) else { continue };
        let mode = meta.permissions().mode() & 0o777;
        if holds_hashes && mode & 0o044 != 0 {
            r.linef(
                "warn",
                "config",
                format_args!(
                    "{} holds password hashes and is readable by other users (mode {mode:o}); fix: chmod 600 {}",
                    path.display(),
                    path.display()
                ),
            );
        }
    }
}

fn listen(r: &mut Report, config: &Config) {
    let (addrs, absent) = listen_addrs(&config.listen.0, config.listen_interface.get());
    // The addresses it gave are the listen lines below; here only why there are none.
    if let (Some(name), Some(why)) = (config.listen_interface.get(), &absent) {
        let (level, fix) = match why {
            Absence::NoSuchInterface => ("FAIL", "set listen_interface to one that ip link shows"),
            _ => ("warn", "bring it up (ip addr shows what it has); the exporter listens there once it has one"),
        };
        r.linef(level, &format!("listen interface {name}"), format_args!("{why}; fix: {fix}"));
    }
    for addr in &addrs {
        let topic = format!("listen {addr}");
        match crate::os::listener::bind_listener(*addr) {
            Ok(listener) => {
                drop(listener);
                r.line("ok", &topic, "can bind");
            }
            Err(e) if crate::os::listener::ipv6_unsupported(addr, &e) => {
                r.linef("warn", &topic, format_args!("{e}: this kernel has no IPv6; the exporter skips it"))
            }
            Err(e) => match BindProblem::explain(*addr, &e) {
                BindProblem { running: Some(pid), .. } => {
                    r.linef("ok", &topic, format_args!("in use by ap-exporter (pid {pid}): the exporter is running"))
                }
                problem => r.linef("FAIL", &topic, format_args!("{}; fix: {}", problem.cause, problem.fix)),
            },
        }
    }
}

/// A one-line fix for a collector's failure.
fn fix(name: &str, e: &CollectError, kernel: Option<(u32, u32)>) -> &'static str {
    let msg = e.to_string();
    match (name, e) {
        (_, CollectError::Source(_)) if msg.contains("ermission denied") => "run the exporter as root",
        ("conntrack", CollectError::Unavailable(_)) if kernel.is_some_and(|k| k <= (2, 6)) => {
            "modprobe ip_conntrack (or [collectors] conntrack = false)"
        }
        ("conntrack", CollectError::Unavailable(_)) => "modprobe nf_conntrack (or [collectors] conntrack = false)",
        ("wireless", CollectError::Unavailable(_)) if msg.contains("not found") => {
            "set [wireless] wl_command to the full path of wl (find / -name wl -type f), or backend = \"auto\""
        }
        ("wireless", CollectError::Unavailable(_)) if msg.contains("found no wireless interface") => {
            "bring a radio up, or set [wireless] backend = \"auto\""
        }
        ("wireless", CollectError::Unavailable(_)) if msg.contains("nl80211") => {
            "set [wireless] backend = \"auto\" (Broadcom routers use wl)"
        }
        ("netclass", CollectError::Unavailable(_)) => {
            "set [paths] sysfs to where sysfs is mounted (mount -t sysfs sysfs /sys), or [collectors] netclass = false"
        }
        (_, CollectError::Command(CommandError::Timeout(..))) => {
            "raise [wireless] command_timeout_seconds, and check that the command answers by hand"
        }
        (_, CollectError::Parse { .. } | CollectError::Decode { .. }) => {
            "please report this with the file named (for nl80211: --once --nl80211-capture DIR)"
        }
        _ => "check the file or command named above",
    }
}

fn collectors(r: &mut Report, config: &Config, kernel: Option<(u32, u32)>) {
    let roots = config.paths.roots();
    let mut out = Exposition::new();
    for (i, entry) in COLLECTORS.iter().enumerate() {
        let topic = format!("collector {}", entry.name);
        if entry.scope == Scope::Device && !config.collectors.contains(i) {
            r.linef("off", &topic, format_args!("disabled in [collectors]: {}", entry.summary));
            continue;
        }
        let mut collector = (entry.build)(config);
        out.clear();
        let started = Instant::now();
        let result = crate::collectors::collect_waiting(collector.as_mut(), &roots, &mut out);
        // Tenths of a millisecond in integers: a `{:.1}` of an f64 would link
        // the float formatter (7 KB on MIPS, see metrics::float_text).
        let tenths_ms = duration::micros(started.elapsed()).saturating_add(50) / 100;
        let ms = format!("{}.{}", tenths_ms / 10, tenths_ms % 10);
        let series = out.as_str().lines().filter(|l| !l.starts_with('#') && !l.is_empty()).count();
        let sources = collector.sources();
        let first_source = match (entry.name, sources.first()) {
            ("conntrack", Some((_, s))) => format!("{s}, "),
            _ => String::new(),
        };
        match result {
            // Wireless on and nothing found is what the exporter is for failing.
            Ok(()) if series == 0 && entry.name == "wireless" => {
                let tried: Vec<&str> = sources.iter().filter_map(|(_, s)| Some(s.split_once(':')?.0)).collect();
                r.linef(
                    "FAIL",
                    &topic,
                    format_args!(
                        "no WiFi interface found by any backend (tried {}: the lines below say why); fix: on \
                         Broadcom set [wireless] wl_command to the full path of wl, else load the WiFi driver; \
                         without WiFi set [collectors] wireless = false",
                        if tried.is_empty() { "none".to_string() } else { tried.join(", ") }
                    ),
                )
            }
            Ok(()) => r.linef("ok", &topic, format_args!("{first_source}{series} series, {ms} ms")),
            Err(e) => r.linef("FAIL", &topic, format_args!("{e}; fix: {}", fix(entry.name, &e, kernel))),
        }
        if entry.name != "conntrack" {
            for (good, s) in sources {
                r.line(if good { "info" } else { "warn" }, &topic, &s);
            }
        }
    }
}

fn access(r: &mut Report, config: &Config, client: Option<IpAddr>) {
    let allow: Vec<String> = config.allow.0.iter().map(|c| c.to_string()).collect();
    r.line("info", "access allow", &allow.join(", "));
    let users: Vec<&str> = config.auth.basic_auth_users.keys().map(String::as_str).collect();
    if users.is_empty() {
        r.line("info", "access auth", "off");
    } else {
        r.linef("info", "access auth", format_args!("on, users: {}", users.join(", ")));
    }
    let Some(ip) = client else { return };
    let topic = format!("access client {ip}");
    if config.allow.permits(ip) {
        let auth = if users.is_empty() { "" } else { "; it needs basic auth credentials" };
        r.linef("ok", &topic, format_args!("allowed{auth}"));
    } else {
        let net = if ip.is_ipv4() { format!("{ip}/32") } else { format!("{ip}/128") };
        r.linef("warn", &topic, format_args!("refused with 403; fix: add \"{net}\" (or its network) to allow"));
    }
}

/// `--status`: scrapes the running exporter on its first listen address
/// (a wildcard address is asked on loopback) and says whether it serves,
/// its version and how many collectors fail. The init scripts print this.
pub fn status(config: &Config) -> (String, bool) {
    let (addrs, absent) = listen_addrs(&config.listen.0, config.listen_interface.get());
    let Some(first) = addrs.first() else {
        let name = config.listen_interface.get().unwrap_or_default();
        let why = absent.map_or_else(|| "no listen address".to_string(), |a| format!("listen_interface {name}: {a}"));
        return (format!("not serving: {why}"), false);
    };
    // A wildcard is asked on loopback; any other address as it is, with the
    // scope a link-local one needs.
    let addr = match first.ip() {
        IpAddr::V4(v4) if v4.is_unspecified() => SocketAddr::from(([127, 0, 0, 1], first.port())),
        IpAddr::V6(v6) if v6.is_unspecified() => SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, first.port())),
        _ => *first,
    };
    let budget = Duration::from_secs(config.collector_timeout_seconds.0 + 5);
    let mut body = Vec::new();
    let fetched = crate::os::listener::connect(addr, budget).and_then(|mut s| {
        s.write_all(format!("GET /metrics HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())?;
        s.take(16 * 1024 * 1024).read_to_end(&mut body)
    });
    if let Err(e) = fetched {
        return (format!("not serving on {addr}: {e}"), false);
    }
    let text = String::from_utf8_lossy(&body);
    let status_line = text.lines().next().unwrap_or_default();
    if !status_line.contains(" 200 ") {
        let why = match status_line.split_whitespace().nth(1) {
            Some("403") => "; this address is not in allow",
            Some("401") => "; auth is on, so the local check cannot scrape",
            _ => "",
        };
        return (format!("serving on {addr}, but a scrape got {status_line:?}{why}"), true);
    }
    let version = text
        .lines()
        .find(|l| l.starts_with("ap_exporter_build_info{"))
        .and_then(|l| l.split("version=\"").nth(1))
        .and_then(|v| v.split('"').next())
        .unwrap_or("unknown");
    let results: Vec<&str> = text.lines().filter(|l| l.starts_with("node_scrape_collector_success{")).collect();
    let failing: Vec<&str> = results
        .iter()
        .filter(|l| l.ends_with(" 0"))
        .filter_map(|l| l.split("collector=\"").nth(1)?.split('"').next())
        .collect();
    let mut said =
        format!("serving on {addr}: ap-exporter {version}, {} of {} collectors failing", failing.len(), results.len());
    if !failing.is_empty() {
        let _ = write!(said, " ({}): ap-exporter --diagnose says why", failing.join(", "));
    }
    let restarts = text.lines().find_map(|l| l.strip_prefix("ap_exporter_restarts_total ")?.trim().parse::<u64>().ok());
    if let Some(n) = restarts {
        let _ = write!(said, "; supervised, {n} restarts");
    }
    (said, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fpu_from_cpuinfo() {
        assert!(has_fpu("processor\t: 0\nflags\t\t: fpu vme de\n"));
        assert!(has_fpu("cpu model\t\t: MIPS 24Kc V7.4  FPU V0.0\n"));
        assert!(!has_fpu("cpu model\t\t: Broadcom BMIPS4350 V7.5\n"));
        assert!(has_fpu("Features\t: half thumb fastmult vfp edsp\n"));
        assert!(!has_fpu("Features\t: swp half thumb fastmult edsp\n"));
    }

    #[test]
    fn package_fields_from_opkg_and_apk() {
        let opkg = "Package: other\nVersion: 1\n\nPackage: ap-exporter\nVersion: 0.1.0-1\nArchitecture: mipsel\n";
        assert_eq!(package_fields(opkg), Some(("0.1.0-1".into(), "mipsel".into())));
        assert_eq!(package_fields("P:ap-exporter\nV:0.1.0-r1\nA:x86_64\n"), Some(("0.1.0-r1".into(), "x86_64".into())));
        assert_eq!(package_fields("Package: dropbear\n"), None);
        assert_eq!(version_of("2.6.22.19"), Some((2, 6)));
        assert_eq!(version_of("3.4"), Some((3, 4)));
        assert_eq!(version_of("x"), None);
    }
}
