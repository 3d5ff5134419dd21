//! The shipped Prometheus rules load (`promtool check rules`) and compute
//! what they claim (`promtool test rules` over tests/rules/*.test.yml).

use std::path::PathBuf;
use std::process::Command;

fn promtool(args: &[&str]) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = Command::new("promtool").args(args).current_dir(&root).output().expect("promtool (apt-get install prometheus)");
    assert!(
        out.status.success(),
        "promtool {args:?}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn shipped_rules_load() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<String> = std::fs::read_dir(root.join("files"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".rules.yml"))
        .map(|p| p.strip_prefix(&root).unwrap().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut args = vec!["check", "rules"];
    args.extend(files.iter().map(String::as_str));
    promtool(&args);
}

#[test]
fn rule_unit_tests_pass() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut tests: Vec<String> = std::fs::read_dir(root.join("tests/rules"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".test.yml"))
        .map(|p| p.strip_prefix(&root).unwrap().to_string_lossy().into_owned())
        .collect();
    tests.sort();
    assert!(!tests.is_empty());
    let mut args = vec!["test", "rules"];
    args.extend(tests.iter().map(String::as_str));
    promtool(&args);
}
