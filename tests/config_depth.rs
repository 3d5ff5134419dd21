//! Deeply nested configs on a router's stack (256 KiB, as `ulimit -s 256`):
//! every TOML form that nests (table headers, `[[...]]`, dotted keys at the
//! top and in inline tables, arrays, inline tables) with 200,000 parts is
//! refused with its file and line by `--check-config`, and by SIGHUP on a
//! running exporter, which keeps serving the old config. A file at the
//! 1 MiB cap nested as deep as the reader allows, in every form at once,
//! does not overflow that stack either.

mod common;

use common::*;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

/// Key parts (or arrays, or inline tables) in each hostile document.
const PARTS: usize = 200_000;

/// The config reader's nesting limit, as its error message says it.
const LIMIT: &str = "at most 32 levels";

/// The size cap of a config file (`MAX_CONFIG_BYTES`).
const CAP: usize = 1024 * 1024;

/// A router's stack, in KiB.
const STACK_KIB: &str = "256";

/// `a.a.a…` of `n` parts.
fn dotted(n: usize) -> String {
    let mut s = "a.".repeat(n);
    s.pop();
    s
}

/// Each hostile form: its name, the document (a comment, then the deep
/// part), the line of the error and what it must say.
fn hostile_documents() -> Vec<(&'static str, String, usize, &'static str)> {
    // Inline tables holding dotted keys: 32 inline tables deep (what the
    // old array and inline-table limit allowed), the parts spread among them.
    let per_level = PARTS / 32;
    let inline_dotted = format!("x = {}1{}", format!("{{{} = ", dotted(per_level)).repeat(32), "}".repeat(32));
    let array_inline_dotted = format!("x = {}1{}", format!("[{{{} = ", dotted(per_level)).repeat(16), "}]".repeat(16));
    vec![
        ("table header", format!("[{}]\n", dotted(PARTS)), 2, LIMIT),
        ("array of tables header", format!("[[{}]]\n", dotted(PARTS)), 2, "not supported in this config"),
        ("dotted key", format!("{} = 1\n", dotted(PARTS)), 2, LIMIT),
        ("dotted key under a header", format!("[b.c]\n{} = 1\n", dotted(PARTS)), 3, LIMIT),
        ("dotted key in an inline table", format!("x = {{ {} = 1 }}\n", dotted(PARTS)), 2, LIMIT),
        ("nested arrays", format!("x = {}1{}\n", "[".repeat(PARTS), "]".repeat(PARTS)), 2, LIMIT),
        ("nested inline tables", format!("x = {}1{}\n", "{a=".repeat(PARTS), "}".repeat(PARTS)), 2, LIMIT),
        ("inline tables of dotted keys", inline_dotted, 2, LIMIT),
        ("arrays of inline tables of dotted keys", array_inline_dotted, 2, LIMIT),
    ]
    .into_iter()
    .map(|(name, deep, line, says)| {
        let text = format!("# {name}\n{deep}");
        assert!(text.len() <= CAP, "{name}: {} bytes", text.len());
        (name, text, line, says)
    })
    .collect()
}

/// A document of exactly [`CAP`] bytes, each line nested as deep as the
/// reader allows (32 levels: key parts and arrays, counted from the top),
/// in every form in turn, with new names so that nothing is a duplicate.
/// Valid TOML; the config refuses its first key, `z0`, as unknown, after
/// the whole tree is built (and before it is dropped).
fn at_the_cap() -> String {
    // Dotted keys of 32 parts at the top, before any header.
    let mut text: String = (0..100).map(|i| format!("z{i}.{} = 1\n", dotted(31))).collect();
    let mut lines = Vec::new();
    for i in 0.. {
        lines.clear();
        // A header of 32 parts.
        lines.push(format!("[h.{}.t{i}]\n", dotted(30)));
        // A header of 21 parts, a dotted key of 2 under it, 9 arrays.
        lines.push(format!("[g.{}.u{i}]\n", dotted(19)));
        lines.push(format!("v.w = {}1{}\n", "[".repeat(9), "]".repeat(9)));
        // Back to the root: `[h]` was named by the first header only.
        lines.push(format!("[h.{}.r{i}]\n", dotted(20)));
        lines.push(format!("d.{}.k = 1\n", dotted(8)));
        // Inline tables, then arrays, then both with dotted keys, from
        // a table at level 1.
        lines.push(format!("[t{i}]\n"));
        lines.push(format!("i = {}1{}\n", "{a=".repeat(30), "}".repeat(30)));
        lines.push(format!("r = {}1{}\n", "[".repeat(30), "]".repeat(30)));
        lines.push(format!("m = {}[[[1]]]{}\n", "[{a.a=".repeat(9), "}]".repeat(9)));
        lines.push(format!("n = {{ {} = {{ {} = 1 }} }}\n", dotted(14), dotted(16)));
        let cycle: usize = lines.iter().map(String::len).sum();
        if text.len() + cycle > CAP {
            break;
        }
        lines.iter().for_each(|l| text.push_str(l));
    }
    // A comment fills the file to the cap, byte for byte.
    let pad = CAP - text.len();
    assert!(pad >= 2);
    text.push('#');
    text.push_str(&"x".repeat(pad - 2));
    text.push('\n');
    assert_eq!(text.len(), CAP);
    text
}

/// `--check-config --config PATH` under a 256 KiB stack.
fn check_on_small_stack(path: &Path) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -s {STACK_KIB} && exec \"$0\" --check-config --config \"$1\""))
        .arg(exporter_bin())
        .arg(path)
        .output()
        .unwrap()
}

/// The exit of a config error (1), not an abort (134) or a signal; stderr
/// names the file, the line and `says`.
fn assert_refused(out: &Output, path: &Path, line: usize, says: &str, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let head: String = stderr.chars().take(300).collect();
    assert_eq!(out.status.signal(), None, "{what}: killed by a signal: {head}");
    assert_eq!(out.status.code(), Some(1), "{what}: {head}");
    let at = format!("ap-exporter: {}:{line}:", path.display());
    assert!(stderr.starts_with(&at), "{what}: expected {at:?} in: {head}");
    assert!(stderr.contains(says), "{what}: expected {says:?} in: {head}");
}

#[test]
fn every_deep_form_is_refused_on_a_small_stack() {
    let dir = TempDir::new("depth");
    for (name, text, line, says) in hostile_documents() {
        let cfg = write_config(dir.path(), &text);
        let out = check_on_small_stack(&cfg);
        assert_refused(&out, &cfg, line, says, name);
    }
}

#[test]
fn a_file_at_the_size_cap_nested_to_the_limit_fits_a_small_stack() {
    let dir = TempDir::new("depth-cap");
    let cfg = write_config(dir.path(), &at_the_cap());
    let out = check_on_small_stack(&cfg);
    // Read in full: the error is the config's, about its first key.
    assert_refused(&out, &cfg, 1, "unknown field `z0`", "at the cap");
}

#[test]
fn sighup_with_a_deep_config_keeps_the_old_one_serving() {
    let dir = TempDir::new("depth-hup");
    let good = format!(
        "listen = [\"127.0.0.1:0\"]\n[collectors]\nwireless = false\nfirmware = false\n[paths]\nprocfs = {:?}\n",
        fixtures().join("modern_openwrt/proc").display().to_string()
    );
    let cfg = write_config(dir.path(), &good);
    let mut exp = Exporter::spawn(
        Command::new("sh")
            .arg("-c")
            .arg(format!("ulimit -s {STACK_KIB} && exec \"$0\" --config \"$1\""))
            .arg(exporter_bin())
            .arg(&cfg),
    );
    let addr = exp.wait_listening();
    assert!(get(addr, "/metrics?collect[]=load").text().contains("node_load1 1.52"));
    let header = format!("# table header\n[{}]\n", dotted(PARTS));
    for (text, line, says) in [(header, 2, LIMIT), (at_the_cap(), 1, "unknown field `z0`")] {
        std::fs::write(&cfg, &text).unwrap();
        exp.signal(libc::SIGHUP);
        let said = exp.wait_for("reload failed", Duration::from_secs(30));
        let head: String = said.chars().take(300).collect();
        assert!(said.contains("keeping the old config"), "{head}");
        assert!(said.contains(&format!("{}:{line}:", cfg.display())), "{head}");
        assert!(said.contains(says), "{head}");
        assert!(exp.alive(), "the exporter died on the reload");
        let now = get(addr, "/metrics?collect[]=load");
        assert_eq!(now.status, 200);
        assert!(now.text().contains("node_load1 1.52"), "the old config serves");
    }
}
