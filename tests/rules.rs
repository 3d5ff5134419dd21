//! The shipped Prometheus rules load (`promtool check rules`) and compute
//! what they claim (`promtool test rules` over tests/rules/*.test.yml).

use std::path::PathBuf;
use std::process::Command;

fn promtool(args: &[&str]) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out =
        Command::new("promtool").args(args).current_dir(&root).output().expect("promtool (apt-get install prometheus)");
    assert!(
        out.status.success(),
        "promtool {args:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Repository-relative paths of the files in `dir` whose names end with `suffix`, sorted.
fn files_ending(dir: &str, suffix: &str) -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<String> = std::fs::read_dir(root.join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .map(|p| p.strip_prefix(&root).unwrap().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no {suffix} files in {dir}");
    files
}

#[test]
fn shipped_rules_load() {
    let files = files_ending("files", ".rules.yml");
    let alerts = files_ending("files", ".alerts.yml");
    let mut args = vec!["check", "rules"];
    args.extend(files.iter().chain(&alerts).map(String::as_str));
    promtool(&args);
}

#[test]
fn rule_unit_tests_pass() {
    let tests = files_ending("tests/rules", ".test.yml");
    let mut args = vec!["test", "rules"];
    args.extend(tests.iter().map(String::as_str));
    promtool(&args);
}
