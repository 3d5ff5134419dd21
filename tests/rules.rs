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

/// The dashboard's new panels compute what they claim, before their
/// collectors exist: tests/rules/dashboard.panels.yml names each query as
/// `panel:TITLE/REFID`; this fills in the expression from the dashboard JSON
/// and runs promtool on the result. The WAN regex must be the dashboard's
/// default, so the test sees what a fresh import shows.
#[test]
fn dashboard_panel_queries_compute_what_they_show() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("files/grafana-dashboard.json")).unwrap()).unwrap();
    let mut exprs = std::collections::BTreeMap::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().map(Vec::as_slice).unwrap_or_default() {
            let key = format!("{}/{}", panel["title"].as_str().unwrap(), target["refId"].as_str().unwrap());
            // Every router, the default WAN regex, the top 2, a 5-minute range.
            let expr = target["expr"]
                .as_str()
                .unwrap()
                .replace("$instance", ".+")
                .replace("$__rate_interval", "5m")
                .replace("$__range", "5m")
                .replace("$wan", "eth0|eth0[.]2|wan|pppoe-wan|vlan2|ppp0")
                .replace("$top", "2");
            exprs.insert(key, expr);
        }
    }
    let wan = dashboard["templating"]["list"].as_array().unwrap().iter().find(|v| v["name"] == "wan").unwrap();
    assert_eq!(wan["query"], "eth0|eth0[.]2|wan|pppoe-wan|vlan2|ppp0", "the wan default changed: update this test");
    let template = std::fs::read_to_string(root.join("tests/rules/dashboard.panels.yml")).unwrap();
    let mut used = 0;
    let filled: Vec<String> = template
        .lines()
        .map(|line| match line.split_once("expr: 'panel:") {
            Some((indent, rest)) => {
                let key = rest.strip_suffix('\'').expect("expr: 'panel:TITLE/REFID'");
                let expr = exprs.get(key).unwrap_or_else(|| panic!("no panel query {key} in the dashboard"));
                used += 1;
                format!("{indent}expr: '{}'", expr.replace('\'', "''"))
            }
            None => line.to_string(),
        })
        .collect();
    assert!(used >= 8, "only {used} panel queries tested");
    let dir = std::env::temp_dir().join(format!("ap-exporter-dashboard-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("dashboard.test.yml");
    std::fs::write(&file, filled.join("\n") + "\n").unwrap();
    promtool(&["test", "rules", file.to_str().unwrap()]);
    let _ = std::fs::remove_dir_all(&dir);
}
