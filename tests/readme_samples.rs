//! The program output shown in README.md and docs/*.md comes from the
//! current build. Each sample is the fenced block right after a line
//! `<!-- sample: NAME -->`; this test makes every sample again by running
//! the exporter, and fails with a diff where the markdown differs.
//! `UPDATE_README=1 cargo test --test readme_samples` rewrites the blocks.
//!
//! The runs read the fake roots under `tests/`, never the host's `/proc`,
//! so a sample reads the same on every machine. What still comes from the
//! host or the run is masked: the host's arch and the build target,
//! durations, ports (shown as 9100) and the pid and name of a port's
//! holder; the temporary config is shown at the path a router keeps it.
//!
//! The second test checks that every relative link and `#anchor` in
//! README.md, CHANGELOG.md and docs/*.md resolves inside the repository.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Where the Entware package keeps the config: `--config`'s default.
const ENTWARE_CONFIG: &str = "/opt/etc/ap-exporter.toml";
/// Where the OpenWrt packages keep it.
const OPENWRT_CONFIG: &str = "/etc/ap-exporter.toml";
/// The port the samples show: the shipped config's.
const SHOWN_PORT: u16 = 9100;

/// A sample: its name in the markdown and the function that makes its text.
struct Sample {
    name: &'static str,
    make: fn() -> String,
}

const SAMPLES: &[Sample] = &[
    Sample { name: "help", make: help },
    Sample { name: "diagnose-merlin", make: diagnose_merlin },
    Sample { name: "diagnose-openwrt-wireless", make: diagnose_openwrt_wireless },
    Sample { name: "diagnose-wrong-package", make: diagnose_wrong_package },
    Sample { name: "diagnose-wl-missing", make: diagnose_wl_missing },
    Sample { name: "diagnose-port-held", make: diagnose_port_held },
    Sample { name: "diagnose-no-wifi", make: diagnose_no_wifi },
    Sample { name: "start-port-held", make: start_port_held },
    Sample { name: "diagnose-readable-hash", make: diagnose_readable_hash },
    Sample { name: "check-config-unknown-key", make: check_config_unknown_key },
    Sample { name: "status", make: status },
    Sample { name: "once-bands", make: once_bands },
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fake root under `tests/` with the config a run uses, written to a
/// temporary file (mode 644, as a checkout makes it).
struct FakeRoot {
    dir: PathBuf,
    config: String,
    /// The path the report shows for the config.
    shown_config: &'static str,
    /// The real listen port and the address it is on, shown with [`SHOWN_PORT`].
    listen: Option<(String, u16)>,
    tmp: common::TempDir,
}

impl FakeRoot {
    /// The root `tests/<dir>` with its own `config.toml`.
    fn new(dir: &str, shown_config: &'static str) -> FakeRoot {
        let dir = repo().join("tests").join(dir);
        let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
        FakeRoot { dir, config, shown_config, listen: None, tmp: common::TempDir::new("readme") }
    }

    /// Uses the config file `tests/<file>` instead.
    fn config_file(mut self, file: &str) -> FakeRoot {
        self.config = std::fs::read_to_string(repo().join("tests").join(file)).unwrap();
        self
    }

    /// Listens on `host:port` instead of the config's `listen`.
    fn listen(mut self, host: &str, port: u16) -> FakeRoot {
        let line = self.config.lines().find(|l| l.starts_with("listen = ")).expect("a listen line").to_string();
        self.config = self.config.replace(&line, &format!("listen = [\"{host}:{port}\"]"));
        self.listen = Some((host.to_string(), port));
        self
    }

    /// Listens on a port of `host` that is free now.
    fn listen_on_free_port(self, host: &str) -> FakeRoot {
        let port = TcpListener::bind((host, 0)).unwrap().local_addr().unwrap().port();
        self.listen(host, port)
    }

    fn config_path(&self) -> PathBuf {
        self.tmp.path().join("ap-exporter.toml")
    }

    /// Runs the binary with `args` and `--config`; returns stdout, stderr
    /// and the exit code, masked.
    fn run(&self, args: &[&str]) -> (String, String, i32) {
        let path = self.config_path();
        std::fs::write(&path, &self.config).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut argv: Vec<&OsStr> = args.iter().map(OsStr::new).collect();
        argv.extend([OsStr::new("--config"), path.as_os_str()]);
        let out = common::run_in_fake_root(&self.dir, &argv);
        let text = |bytes: &[u8]| self.mask(&String::from_utf8_lossy(bytes));
        (text(&out.stdout), text(&out.stderr), out.status.code().unwrap_or(-1))
    }

    fn mask(&self, text: &str) -> String {
        let mut text = text.replace(&self.config_path().display().to_string(), self.shown_config);
        if let Some((host, port)) = &self.listen {
            text = text.replace(&format!("{host}:{port}"), &format!("{host}:{SHOWN_PORT}"));
        }
        text.lines().map(|l| format!("{}\n", common::mask_diagnose_line(l))).collect()
    }
}

/// What a terminal shows for `command`: the prompt line, then its output.
fn shell(command: &str, output: &str) -> String {
    format!("$ {command}\n{output}")
}

/// The same, with the exit status asked after it.
fn shell_with_status(command: &str, output: &str, code: i32) -> String {
    format!("{}$ echo $?\n{code}\n", shell(command, output))
}

/// `command | grep -e P ...`: the lines that match any pattern. A pattern
/// is plain text, or plain text after a `^` that anchors it at the start,
/// so what grep would keep is exactly what this keeps.
fn shell_grep(command: &str, output: &str, patterns: &[&str]) -> String {
    for p in patterns {
        let plain = p.strip_prefix('^').unwrap_or(p);
        assert!(!plain.contains(['.', '*', '[', ']', '\\', '$', '^', '\'']), "not plain text: {p:?}");
    }
    let kept: String = output
        .lines()
        .filter(|l| {
            patterns.iter().any(|p| match p.strip_prefix('^') {
                Some(start) => l.starts_with(start),
                None => l.contains(p),
            })
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let grep = match patterns {
        [one] => format!("grep '{one}'"),
        many => format!("grep {}", many.iter().map(|p| format!("-e '{p}'")).collect::<Vec<_>>().join(" ")),
    };
    shell(&format!("{command} | {grep}"), &kept)
}

fn help() -> String {
    let out = Command::new(common::exporter_bin()).arg("--help").output().unwrap();
    assert!(out.status.success());
    shell("ap-exporter --help", &String::from_utf8(out.stdout).unwrap())
}

/// The whole report of a Merlin router on Linux 2.6.22, asked about a
/// Prometheus that `allow` refuses.
fn diagnose_merlin() -> String {
    let root = FakeRoot::new("diagnose/merlin_2.6.22", ENTWARE_CONFIG).listen_on_free_port("0.0.0.0");
    let (report, _, code) = root.run(&["--diagnose=203.0.113.9"]);
    shell_with_status("ap-exporter --diagnose=203.0.113.9", &report, code)
}

fn diagnose_openwrt_wireless() -> String {
    let root = FakeRoot::new("diagnose/openwrt_nl80211", OPENWRT_CONFIG).listen_on_free_port("0.0.0.0");
    let (report, _, _) = root.run(&["--diagnose"]);
    shell_grep("ap-exporter --diagnose", &report, &["collector wireless"])
}

fn diagnose_wrong_package() -> String {
    let root = FakeRoot::new("diagnose/ddwrt_no_wl", ENTWARE_CONFIG).listen_on_free_port("0.0.0.0");
    let (report, _, _) = root.run(&["--diagnose"]);
    shell_grep("ap-exporter --diagnose", &report, &["platform"])
}

fn diagnose_wl_missing() -> String {
    let root = FakeRoot::new("diagnose/ddwrt_no_wl", ENTWARE_CONFIG).listen_on_free_port("0.0.0.0");
    let (report, _, _) = root.run(&["--diagnose"]);
    shell_grep("ap-exporter --diagnose", &report, &["collector wireless"])
}

/// Port 9100 held by another program (here: this test).
fn diagnose_port_held() -> String {
    let holder = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let root = FakeRoot::new("diagnose/port_held", ENTWARE_CONFIG).listen("0.0.0.0", port);
    let (report, _, _) = root.run(&["--diagnose"]);
    let me = std::process::id();
    let my_name = std::fs::read_to_string("/proc/self/comm").unwrap().trim().to_string();
    let report = report.replace(&format!("pid {me} ({my_name})"), "pid <pid> (<program>)");
    shell_grep("ap-exporter --diagnose", &report, &["listen", "FAIL diagnose"])
}

/// Wireless on, and no backend finds an interface.
fn diagnose_no_wifi() -> String {
    let root = FakeRoot::new("diagnose/no_wifi_found", ENTWARE_CONFIG).listen_on_free_port("0.0.0.0");
    let (report, _, _) = root.run(&["--diagnose"]);
    shell_grep("ap-exporter --diagnose", &report, &["collector wireless"])
}

/// The exporter started on a port another program (here: this test) holds.
fn start_port_held() -> String {
    let holder = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let root = FakeRoot::new("diagnose/port_held", ENTWARE_CONFIG).listen("0.0.0.0", port);
    let (_, err, code) = root.run(&[]);
    let me = std::process::id();
    let my_name = std::fs::read_to_string("/proc/self/comm").unwrap().trim().to_string();
    let err = err.replace(&format!("pid {me} ({my_name})"), "pid 812 (node_exporter)");
    shell_with_status("ap-exporter", &err, code)
}

/// A config with a password hash that others can read, asked about a
/// Prometheus that needs credentials.
fn diagnose_readable_hash() -> String {
    let root = FakeRoot::new("diagnose/readable_hash", ENTWARE_CONFIG).listen_on_free_port("0.0.0.0");
    let (report, _, _) = root.run(&["--diagnose=192.168.1.20"]);
    shell_grep("ap-exporter --diagnose=192.168.1.20", &report, &["config", "access"])
}

fn check_config_unknown_key() -> String {
    let root =
        FakeRoot::new("diagnose/merlin_2.6.22", ENTWARE_CONFIG).config_file("configs/bad/unknown_nested_key.toml");
    let (out, err, code) = root.run(&["--check-config"]);
    shell_with_status("ap-exporter --check-config", &format!("{out}{err}"), code)
}

/// `--status` against an exporter serving the Merlin root, every collector on.
fn status() -> String {
    let root = FakeRoot::new("diagnose/merlin_2.6.22", ENTWARE_CONFIG).listen("127.0.0.1", 0);
    std::fs::write(root.config_path(), &root.config).unwrap();
    let mut exporter = common::Exporter::start(&root.config_path(), &root.dir);
    let addr = exporter.wait_listening();
    let asked = root.listen("127.0.0.1", addr.port());
    let (said, _, code) = asked.run(&["--status"]);
    exporter.signal(libc::SIGTERM);
    assert_eq!(exporter.wait_exit(Duration::from_secs(10)), Some(0));
    shell_with_status("ap-exporter --status", &said, code)
}

/// The series that make the 2.4 GHz against 5 GHz graph, on the Merlin root:
/// each radio's band, and the traffic of its interface.
fn once_bands() -> String {
    let root = FakeRoot::new("diagnose/merlin_2.6.22", ENTWARE_CONFIG);
    let (scrape, _, code) = root.run(&["--once"]);
    assert_eq!(code, 0);
    shell_grep(
        "ap-exporter --once",
        &scrape,
        &["^wifi_network_info", "^node_network_transmit_bytes_total{device=\"eth"],
    )
}

/// The markdown files whose samples and links are checked.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![repo().join("README.md"), repo().join("CHANGELOG.md")];
    let mut docs: Vec<PathBuf> = std::fs::read_dir(repo().join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension() == Some(OsStr::new("md")))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

fn is_fence(line: &str) -> bool {
    line.trim_start().starts_with("```")
}

/// A sample block in a markdown file: its name and the line range of its
/// text, between the fence lines.
struct Block {
    name: String,
    body: std::ops::Range<usize>,
}

fn sample_blocks(file: &Path, lines: &[&str]) -> Vec<Block> {
    let mut blocks = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(name) = line.trim().strip_prefix("<!-- sample: ").and_then(|r| r.strip_suffix(" -->")) else {
            continue;
        };
        assert!(
            lines.get(i + 1).is_some_and(|l| is_fence(l)),
            "{}:{}: a sample marker must stand right before its ``` block",
            file.display(),
            i + 1
        );
        let start = i + 2;
        let len = lines[start..]
            .iter()
            .position(|l| is_fence(l))
            .unwrap_or_else(|| panic!("{}:{}: the sample block never ends", file.display(), i + 1));
        blocks.push(Block { name: name.to_string(), body: start..start + len });
    }
    blocks
}

/// A line diff of `old` against `new`: `-` lines only in old, `+` only in
/// new, in that order where a line changed.
fn diff(old: &str, new: &str) -> String {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push_str(&format!("  {}\n", a[i]));
            (i, j) = (i + 1, j + 1);
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            out.push_str(&format!("- {}\n", a[i]));
            i += 1;
        } else {
            out.push_str(&format!("+ {}\n", b[j]));
            j += 1;
        }
    }
    out
}

#[test]
fn samples_match_the_build() {
    let update = std::env::var_os("UPDATE_README").is_some();
    let names: BTreeSet<&str> = SAMPLES.iter().map(|s| s.name).collect();
    let mut made: BTreeMap<&str, String> = BTreeMap::new();
    let mut used = BTreeSet::new();
    let mut failures = Vec::new();
    for file in markdown_files() {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        let lines: Vec<&str> = text.lines().collect();
        let mut rewritten: Vec<String> = Vec::new();
        let mut copied = 0;
        let shown = file.strip_prefix(repo()).unwrap().display().to_string();
        for block in sample_blocks(&file, &lines) {
            let Some(sample) = SAMPLES.iter().find(|s| s.name == block.name) else {
                failures.push(format!("{shown}: no sample named {:?}; known: {names:?}", block.name));
                continue;
            };
            used.insert(sample.name);
            let want = made.entry(sample.name).or_insert_with(|| (sample.make)());
            assert!(!want.contains("```"), "sample {} holds a fence", sample.name);
            let have: String = lines[block.body.clone()].iter().map(|l| format!("{l}\n")).collect();
            if have != *want {
                failures.push(format!(
                    "{shown}: sample {} differs from the build (- the markdown, + the build):\n{}",
                    sample.name,
                    diff(&have, want)
                ));
            }
            rewritten.extend(lines[copied..block.body.start].iter().map(|l| l.to_string()));
            rewritten.extend(want.lines().map(str::to_string));
            copied = block.body.end;
        }
        if update && copied > 0 {
            rewritten.extend(lines[copied..].iter().map(|l| l.to_string()));
            std::fs::write(&file, rewritten.join("\n") + "\n").unwrap();
        }
    }
    for name in &names {
        if !used.contains(name) {
            failures
                .push(format!("sample {name} is shown nowhere: mark a block with <!-- sample: {name} --> or drop it"));
        }
    }
    if update {
        failures.retain(|f| !f.contains("differs from the build"));
    }
    assert!(
        failures.is_empty(),
        "{}\n(UPDATE_README=1 cargo test --test readme_samples rewrites the blocks)",
        failures.join("\n\n")
    );
}

/// GitHub's anchor for a heading: lower case, punctuation dropped, spaces
/// as hyphens.
fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_' || *c == ' ')
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The text of a line outside code spans, where links can be.
fn outside_code_spans(line: &str) -> String {
    line.split('`').step_by(2).collect::<Vec<_>>().join(" ")
}

/// The anchors of a markdown file's headings and its link targets, with
/// their line numbers; fenced code is skipped.
fn anchors_and_links(text: &str) -> (BTreeSet<String>, Vec<(usize, String)>) {
    let mut anchors = BTreeSet::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut links = Vec::new();
    let mut in_fence = false;
    for (n, line) in text.lines().enumerate() {
        if is_fence(line) {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        if let Some(heading) = line.strip_prefix('#').map(|h| h.trim_start_matches('#')) {
            if heading.starts_with(' ') {
                let base = anchor(heading);
                let count = seen.entry(base.clone()).or_insert(0);
                anchors.insert(if *count == 0 { base.clone() } else { format!("{base}-{count}") });
                *count += 1;
            }
        }
        let line = outside_code_spans(line);
        let mut rest = line.as_str();
        while let Some(at) = rest.find("](") {
            let target = &rest[at + 2..];
            let end = target.find(')').unwrap_or(target.len());
            links.push((n + 1, target[..end].to_string()));
            rest = &target[end..];
        }
    }
    (anchors, links)
}

#[test]
fn links_and_anchors_resolve() {
    let root = repo().canonicalize().unwrap();
    let files = markdown_files();
    let mut anchors: BTreeMap<PathBuf, BTreeSet<String>> = BTreeMap::new();
    let mut links = Vec::new();
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else { continue };
        let (a, l) = anchors_and_links(&text);
        let file = file.canonicalize().unwrap();
        anchors.insert(file.clone(), a);
        links.extend(l.into_iter().map(|(n, target)| (file.clone(), n, target)));
    }
    let mut broken = Vec::new();
    for (file, n, target) in links {
        if target.contains("://") || target.starts_with("mailto:") {
            continue;
        }
        let shown = format!("{}:{n}: {target}", file.strip_prefix(&root).unwrap().display());
        let (path, fragment) = target.split_once('#').unwrap_or((&target, ""));
        let linked = if path.is_empty() { Ok(file.clone()) } else { file.parent().unwrap().join(path).canonicalize() };
        let Ok(linked) = linked else {
            broken.push(format!("{shown}: no such file"));
            continue;
        };
        if !linked.starts_with(&root) {
            broken.push(format!("{shown}: outside the repository"));
            continue;
        }
        if fragment.is_empty() {
            continue;
        }
        match anchors.get(&linked) {
            Some(a) if a.contains(fragment) => {}
            Some(_) => broken.push(format!("{shown}: no heading with that anchor")),
            None => broken.push(format!("{shown}: an anchor into a file whose headings are not read")),
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
