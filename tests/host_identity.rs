//! No file under `tests/` may hold this machine's identity: its kernel
//! release, host name or user name. A golden that does passes where it was
//! written and fails on every other machine (it happened: a `--diagnose`
//! golden held `platform kernel: 6.18.44-...` of the machine it was made on).
//!
//! The values searched are this machine's, from `/proc/sys/kernel`, uname(2)
//! and the environment, and the real ones that `scripts/as-stranger.sh`
//! (which `make test` runs the suite under, as another machine) passes on.
//! Each is matched as a whole token. A value too common to be anyone's
//! identity (`root`, `localhost`) is not searched for. A value that is one
//! plain word (a host named `vm`, `build` or `router`) is searched for only
//! where a golden would hold a value, such as `nodename="vm"` or `: vm` at
//! the end of a line, and only in data files: such words are all over the
//! prose and code of the tests. Fixture inputs under `proc/sys/kernel/` are
//! left out: a fake root's release or host name is chosen, not leaked. The
//! behaviour under another identity is what the as-stranger run checks.

use std::path::{Path, PathBuf};

/// Values that name no particular machine.
const COMMON: &[&str] = &["root", "user", "localhost", "(none)", ""];

/// Source files of the tests themselves (as opposed to fixtures and goldens).
fn is_code(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("rs" | "py" | "sh" | "md"))
}

/// A value that is one plain word, which text holds by chance.
fn is_word(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_lowercase())
}

/// Whether `text` holds `value` with no letter, digit, `-`, `_` or `.` on
/// either side (so "vm" is not found in "vmstat", nor "6.1.0" in "6.1.0-18";
/// a '.' that ends a sentence is a side). With `as_value`, it must also
/// stand where a value does: after `"`, `=` or `: `, and before `"`, `)`
/// or the end of the line.
fn holds_token(text: &str, value: &str, as_value: bool) -> bool {
    let part = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    text.match_indices(value).any(|(at, _)| {
        let before = &text[..at];
        let after = &text[at + value.len()..];
        let mut next = after.chars();
        let ends = match next.next() {
            None => true,
            Some('.') => !next.next().is_some_and(|c| c.is_ascii_alphanumeric()),
            Some(c) => !part(c),
        };
        if !ends || before.chars().next_back().is_some_and(part) {
            return false;
        }
        !as_value
            || ((before.ends_with(['"', '=']) || before.ends_with(": "))
                && (after.is_empty() || after.starts_with(['"', ')', '\n'])))
    })
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        // Not through symlinks: fixtures hold none that matter, and a loop would never end.
        let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
        if meta.is_dir() {
            files_under(&path, out);
        } else if meta.is_file() {
            out.push(path);
        }
    }
}

/// The files under `root` that hold one of `values` (name, value) as the
/// rules above say, as "path: name "value"" lines.
fn leaks(root: &Path, values: &[(&str, String)]) -> Vec<String> {
    let mut files = Vec::new();
    files_under(root, &mut files);
    files.sort();
    let mut found = Vec::new();
    for path in files {
        if path.to_string_lossy().contains("/proc/sys/kernel/") {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else { continue };
        let text = String::from_utf8_lossy(&bytes);
        for (name, value) in values {
            let word = is_word(value);
            if COMMON.contains(&value.as_str()) || (word && is_code(&path)) {
                continue;
            }
            if holds_token(&text, value, word) {
                found.push(format!("{}: {name} {value:?}", path.display()));
            }
        }
    }
    found
}

fn uname() -> (String, String) {
    // SAFETY: utsname is plain old data; uname fills it in.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    // SAFETY: uname writes into the struct we own.
    assert_eq!(unsafe { libc::uname(&mut u) }, 0);
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    (field(&u.release), field(&u.nodename))
}

/// This machine's identity, as every way a test could pick it up sees it.
fn identity() -> Vec<(&'static str, String)> {
    let kernel_file = |name: &str| std::fs::read_to_string(format!("/proc/sys/kernel/{name}")).unwrap_or_default();
    let (release, nodename) = uname();
    let mut values = vec![
        ("kernel release", kernel_file("osrelease").trim().to_string()),
        ("kernel release (uname)", release),
        ("host name", kernel_file("hostname").trim().to_string()),
        ("host name (uname)", nodename),
    ];
    for var in ["USER", "LOGNAME"] {
        if let Ok(v) = std::env::var(var) {
            values.push(("user name", v));
        }
    }
    for (name, var) in
        [("real kernel release", "AP_EXPORTER_REAL_RELEASE"), ("real host name", "AP_EXPORTER_REAL_HOSTNAME")]
    {
        if let Ok(v) = std::env::var(var) {
            values.push((name, v.trim().to_string()));
        }
    }
    values.sort_by(|a, b| a.1.cmp(&b.1));
    values.dedup_by(|a, b| a.1 == b.1);
    values
}

#[test]
fn no_test_file_holds_this_machines_identity() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let values = identity();
    let found = leaks(&tests, &values);
    assert!(
        found.is_empty(),
        "these test files hold this machine's identity, so they fail on any other machine; make the fake \
         root carry the value, or mask it:\n{}",
        found.join("\n")
    );
}

/// The check can fail: a golden holding a planted release, host name or
/// user name is found; the same values inside longer tokens, a plain word
/// in prose or code, and a fake root's own release, are not.
#[test]
fn a_planted_identity_is_found() {
    let dir = std::env::temp_dir().join(format!("apx-identity-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("case")).unwrap();
    let values = vec![
        ("kernel release", "6.18.44-fc-v669".to_string()),
        ("host name", "vm".to_string()),
        ("user name", "builder7".to_string()),
        ("user name", "root".to_string()),
    ];
    std::fs::write(dir.join("case/expected.txt"), "info platform kernel: 6.18.44-fc-v669\nnodename=\"vm\"\n").unwrap();
    std::fs::write(dir.join("case/owner"), "/home/builder7/x\n").unwrap();
    std::fs::write(dir.join("case/prose.txt"), "written on 6.18.44-fc-v669.\n").unwrap();
    std::fs::write(
        dir.join("near_misses.txt"),
        "6.18.44-fc-v6690 vmstat x-vm root\na vm in prose, the vm's disk, vm.py\n",
    )
    .unwrap();
    std::fs::write(dir.join("code.rs"), "let vm = start(); // nodename=\"vm\"\n").unwrap();
    std::fs::create_dir_all(dir.join("case/proc/sys/kernel")).unwrap();
    std::fs::write(dir.join("case/proc/sys/kernel/osrelease"), "6.18.44-fc-v669\n").unwrap();
    let found = leaks(&dir, &values);
    let _ = std::fs::remove_dir_all(&dir);
    let expected: Vec<String> = [
        "case/expected.txt: host name \"vm\"",
        "case/expected.txt: kernel release \"6.18.44-fc-v669\"",
        "case/owner: user name \"builder7\"",
        "case/prose.txt: kernel release \"6.18.44-fc-v669\"",
    ]
    .iter()
    .map(|s| format!("{}/{s}", dir.display()))
    .collect();
    let mut found_sorted = found.clone();
    found_sorted.sort();
    assert_eq!(found_sorted, expected);
}

/// Host and user names a CI machine plausibly has are not found in the
/// tests as they are, so the check above does not fail on such a machine
/// for nothing. (Not every word can be: a machine named like a fixture's
/// own value, such as the user `prometheus` of an auth fixture, is told
/// apart by the as-stranger run, not by this search.)
#[test]
fn plausible_machine_names_are_not_found_by_chance() {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let names = [
        "vm", "build", "builder", "test", "tests", "runner", "ci", "dev", "router", "openwrt", "debian", "ubuntu",
        "server", "host", "sandbox", "worker", "node", "admin",
    ];
    let values: Vec<(&str, String)> = names.iter().map(|n| ("host name", n.to_string())).collect();
    let found = leaks(&tests, &values);
    assert!(found.is_empty(), "{}", found.join("\n"));
}
