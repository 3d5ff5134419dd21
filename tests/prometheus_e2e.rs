//! The shipped monitoring assets against a real Prometheus (Debian's
//! package): the example prometheus.yml scrapes two exporters (a Merlin and
//! a DD-WRT fixture root, two bands each) every second while a thread
//! advances their counters; then every dashboard panel query, taken from
//! the JSON with its template variables resolved as Grafana would, must
//! return data for each router, each band panel exactly one series per
//! router and band, and the recording rules the by-band series of each.

mod common;

use common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Rewrites proc/net/dev with counters that grow every call: the 2.4 GHz
/// radio (eth1) and its guest network by 1 MB, the 5 GHz one (eth2) by 4 MB.
fn write_net_dev(proc_root: &Path, step: u64) {
    let mut text = String::from(
        "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n",
    );
    for (dev, per_step) in [
        ("lo", 0u64),
        ("eth0", 500_000),
        ("eth1", 1_000_000),
        ("eth2", 4_000_000),
        ("wl0.1", 100_000),
        ("br0", 2_000_000),
    ] {
        let bytes = per_step * step;
        let packets = bytes / 1000;
        text.push_str(&format!("{dev:>6}: {bytes} {packets} 0 0 0 0 0 0 {bytes} {packets} 0 0 0 0 0 0\n"));
    }
    let tmp = proc_root.join("net/dev.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(tmp, proc_root.join("net/dev")).unwrap();
}

/// The routers of the test: each a fixture root with two bands (eth1 on
/// 2.4 GHz, eth2 on 5 GHz) and its own exporter.
const ROUTERS: [&str; 2] = ["merlin_wl", "ddwrt_wl"];

/// The mounts of each router's filesystem collector: Merlin's /jffs, the
/// tmpfs /tmp and an Entware USB disk, each a directory under `rootfs`.
const MOUNTS: &str = "rootfs / rootfs rw 0 0\n/dev/mtdblock4 /jffs jffs2 rw,noatime 0 0\ntmpfs /tmp tmpfs rw,nodev 0 0\n/dev/sda1 /tmp/mnt/sda1 ext4 rw,relatime 0 0\n";

/// Copies the fixture `name` to `root`, so the test can advance its
/// counters, and gives it what every panel needs.
fn make_router(name: &str, root: &Path) {
    copy_tree(&fixtures().join(name), root);
    // RT-AC68U and R7000 have no thermal zone or hwmon chip: borrow the
    // OpenWrt root's, so every query of the temperature panel has data.
    let openwrt_sys = fixtures().join("modern_openwrt/sys");
    for part in ["class/thermal", "class/hwmon", "devices"] {
        copy_tree(&openwrt_sys.join(part), &root.join("sys").join(part));
    }
    // DD-WRT runs the same Broadcom wl: give its replay the radio commands
    // (chanim_stats, phy_tempsense) the Merlin capture has.
    let merlin = fixtures().join("merlin_wl");
    std::fs::copy(merlin.join("bin/wl"), root.join("bin/wl")).unwrap();
    for radio in ["eth1", "eth2"] {
        for cmd in ["chanim_stats", "phy_tempsense"] {
            let f = format!("{radio}.{cmd}");
            std::fs::copy(merlin.join("wl").join(&f), root.join("wl").join(&f)).unwrap();
        }
    }
    // DD-WRT's dnsmasq keeps its leases too (the fixture has none).
    if !root.join("dnsmasq.leases").exists() {
        std::fs::write(root.join("dnsmasq.leases"), "1712345678 34:53:d2:fc:e5:12 192.168.1.50 Galaxy-S21 *\n")
            .unwrap();
    }
    std::fs::write(root.join("proc/mounts"), MOUNTS).unwrap();
    for dir in ["jffs", "tmp/mnt/sda1"] {
        std::fs::create_dir_all(root.join("rootfs").join(dir)).unwrap();
    }
    write_net_dev(&root.join("proc"), 1);
}

/// A band panel's query (what, the expression sent) and the sorted
/// (instance, band) pairs of its series.
type BandQuery = (String, String, Vec<(String, String)>);

#[test]
fn dashboard_queries_and_recording_rules_on_a_real_prometheus() {
    let dir = TempDir::new("prom");
    let roots: Vec<PathBuf> = ROUTERS.iter().map(|name| dir.path().join(name)).collect();
    let mut exporters = Vec::new();
    let mut targets = Vec::new();
    for (name, root) in ROUTERS.iter().zip(&roots) {
        make_router(name, root);
        let config = "listen = [\"127.0.0.1:0\"]\n[collectors]\nfilesystem = true\n[wireless]\nbackend = \"wl\"\nwl_command = \"bin/wl\"\nnvram_command = \"bin/nvram\"\nleases = \"dnsmasq.leases\"\n[paths]\nprocfs = \"proc\"\nsysfs = \"sys\"\netc = \"etc\"\nrootfs = \"rootfs\"\n[textfile]\ndirectory = \"textfile\"\n";
        let cfg = write_config(root, config);
        let mut exporter = Exporter::start(&cfg, root);
        targets.push(exporter.wait_listening().to_string());
        exporters.push(exporter);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let advancer = {
        let stop = stop.clone();
        let procs: Vec<PathBuf> = roots.iter().map(|r| r.join("proc")).collect();
        std::thread::spawn(move || {
            let mut step = 2;
            while !stop.load(Ordering::Relaxed) {
                for proc_root in &procs {
                    write_net_dev(proc_root, step);
                }
                step += 1;
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };

    // The shipped example, with only the targets and the intervals changed.
    let example = std::fs::read_to_string(repo().join("files/prometheus/prometheus.yml")).unwrap();
    let listed = targets.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ");
    let config = example
        .replace("scrape_interval: 15s", "scrape_interval: 1s")
        .replace("evaluation_interval: 15s", "evaluation_interval: 1s")
        .replace("\"192.168.1.1:9100\"", &listed);
    assert_ne!(config, example, "the example's target line changed; update this test");
    let prom_dir = dir.path().join("prometheus");
    std::fs::create_dir_all(&prom_dir).unwrap();
    for f in ["ap-exporter.rules.yml", "ap-exporter.alerts.yml"] {
        std::fs::copy(repo().join("files").join(f), prom_dir.join(f)).unwrap();
    }
    let config_path = prom_dir.join("prometheus.yml");
    std::fs::write(&config_path, config).unwrap();
    let check = std::process::Command::new("promtool").arg("check").arg("config").arg(&config_path).output().unwrap();
    assert!(check.status.success(), "promtool check config: {}", String::from_utf8_lossy(&check.stdout));

    let prom = Prometheus::start(&prom_dir, &config_path);
    let routers = targets.len() as f64;
    prom.wait_for("count(up{job=\"ap-exporter\"} == 1)", routers, Duration::from_secs(60));
    // Enough scrapes of every router for rate() over the dashboard's window.
    prom.wait_for("min(count_over_time(up{job=\"ap-exporter\"}[1m]))", 6.0, Duration::from_secs(60));

    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo().join("files/grafana-dashboard.json")).unwrap()).unwrap();
    let queries = dashboard_queries(&dashboard);
    assert!(queries.len() >= 40, "only {} panel queries", queries.len());
    let choices = resolve_variables(&prom, &dashboard);
    let every_router: BTreeSet<String> = targets.iter().cloned().collect();
    let instance_var = &choices[0].1["instance"];
    for t in &targets {
        assert!(instance_var.contains(&regex_escape(t)), "the instance variable misses {t}: {instance_var}");
    }

    let mut empty = Vec::new();
    // Per panel and variable set: the routers its series name.
    let mut per_panel: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    let mut panel_has_instance: BTreeSet<String> = BTreeSet::new();
    // The band panels' (instance, band) pairs, per query and variable set.
    let mut bands_seen: Vec<BandQuery> = Vec::new();
    for q in &queries {
        for (choice, values) in &choices {
            let expr = substitute(&q.expr, values);
            let result = prom.query(&expr);
            if result.is_empty() {
                empty.push(format!("{} ({}), variables {choice}: {expr}", q.panel, q.ref_id));
                continue;
            }
            let seen = per_panel.entry((q.panel.clone(), choice.clone())).or_default();
            for s in &result {
                if let Some(i) = s["metric"]["instance"].as_str() {
                    seen.insert(i.to_string());
                    panel_has_instance.insert(q.panel.clone());
                }
            }
            if q.panel.contains("by band") {
                let mut pairs: Vec<(String, String)> = result
                    .iter()
                    .map(|s| {
                        let l = |k: &str| s["metric"][k].as_str().unwrap_or("(none)").to_string();
                        (l("instance"), l("band"))
                    })
                    .collect();
                pairs.sort();
                bands_seen.push((format!("{} ({}), variables {choice}", q.panel, q.ref_id), expr, pairs));
            }
        }
    }
    assert!(empty.is_empty(), "panel queries without data:\n{}", empty.join("\n"));

    // Every panel whose series name a router shows every router (a panel
    // that sums the fleet, like "Routers up", names none).
    let mut missing = Vec::new();
    for ((panel, choice), seen) in &per_panel {
        if panel_has_instance.contains(panel) && seen != &every_router {
            missing.push(format!("{panel}, variables {choice}: {seen:?}"));
        }
    }
    assert!(missing.is_empty(), "panels without a series for every router {every_router:?}:\n{}", missing.join("\n"));
    for panel in ["Uptime", "Firmware", "Clients per router", "WiFi throughput per router", "WAN throughput"] {
        assert!(panel_has_instance.contains(panel), "{panel} shows no router");
    }

    // Each band panel: one 2.4 GHz and one 5 GHz series per router, exactly.
    let mut expected_bands: Vec<(String, String)> =
        targets.iter().flat_map(|t| ["2.4GHz", "5GHz"].map(|b| (t.clone(), b.to_string()))).collect();
    expected_bands.sort();
    assert!(bands_seen.len() >= 4 * choices.len(), "only {} band queries", bands_seen.len());
    for (what, expr, pairs) in &bands_seen {
        assert_eq!(pairs, &expected_bands, "{what}: {expr}");
    }

    // The recording rules give one series per router and band, and 5 GHz
    // carries four times the 2.4 GHz radio's own traffic (plus its guest
    // network's) on each.
    prom.wait_for("count(instance_band:wifi_network_transmit_bytes:rate5m)", 2.0 * routers, Duration::from_secs(30));
    let by_band = prom.query("instance_band:wifi_network_transmit_bytes:rate5m");
    assert_eq!(by_band.len(), 2 * targets.len(), "{by_band:?}");
    for t in &targets {
        let rate = |band: &str| {
            by_band
                .iter()
                .find(|s| s["metric"]["instance"] == t.as_str() && s["metric"]["band"] == band)
                .map(sample_value)
                .unwrap_or_else(|| panic!("no {band} series for {t}: {by_band:?}"))
        };
        let (g24, g5) = (rate("2.4GHz"), rate("5GHz"));
        assert!(g24 > 0.0 && g5 > 3.0 * g24, "{t}: 5 GHz should carry about 3.6x the 2.4 GHz traffic: {g24} {g5}");
    }
    assert_eq!(prom.query("instance_band:wifi_stations:sum").len(), 2 * targets.len());
    // Alert rules are loaded and healthy.
    let rules = get(prom.addr, "/api/v1/rules").text();
    assert!(rules.contains("WifiStationWeakSignal") && rules.contains("FilesystemAlmostFull"), "{rules}");
    assert!(!rules.contains("\"health\":\"err\""), "{rules}");

    stop.store(true, Ordering::Relaxed);
    advancer.join().unwrap();
    for mut e in exporters {
        assert!(e.alive());
    }
}

/// One target query of a dashboard panel.
struct Query {
    panel: String,
    ref_id: String,
    expr: String,
}

/// Every target expression of every panel, rows' nested panels included.
/// A panel that shows data but has no query fails here.
fn dashboard_queries(dashboard: &serde_json::Value) -> Vec<Query> {
    fn walk(panels: &[serde_json::Value], out: &mut Vec<Query>) {
        for panel in panels {
            let title = panel["title"].as_str().unwrap_or("(untitled)").to_string();
            if let Some(nested) = panel["panels"].as_array() {
                walk(nested, out);
            }
            if matches!(panel["type"].as_str(), Some("row" | "text")) {
                continue;
            }
            let targets = panel["targets"].as_array().map(Vec::as_slice).unwrap_or_default();
            let before = out.len();
            for target in targets {
                let expr = target["expr"].as_str().unwrap_or_else(|| panic!("panel {title}: a target without expr"));
                out.push(Query {
                    panel: title.clone(),
                    ref_id: target["refId"].as_str().unwrap_or("?").to_string(),
                    expr: expr.to_string(),
                });
            }
            assert!(out.len() > before, "panel {title} has no query");
        }
    }
    let mut out = Vec::new();
    walk(dashboard["panels"].as_array().expect("panels"), &mut out);
    out
}

/// The template variables' values, resolved against Prometheus as Grafana
/// would: one set with every value of each variable picked (Grafana's
/// regex-escaped `(a|b)`), and, where a variable has an "All" value, one set
/// with All. Built-in interval variables get values that suit the test's 1 s
/// scrape interval.
fn resolve_variables(prom: &Prometheus, dashboard: &serde_json::Value) -> Vec<(String, BTreeMap<String, String>)> {
    let mut picked = BTreeMap::new();
    for (k, v) in [("__rate_interval", "10s"), ("__interval", "2s"), ("__range", "1m"), ("__range_s", "60")] {
        picked.insert(k.to_string(), v.to_string());
    }
    let mut all = picked.clone();
    let mut has_all = false;
    for var in dashboard["templating"]["list"].as_array().map(Vec::as_slice).unwrap_or_default() {
        let name = var["name"].as_str().expect("variable name").to_string();
        let kind = var["type"].as_str().unwrap_or("");
        let values: Vec<String> = match kind {
            // Not usable in a query: leave it out, so a use fails below.
            "datasource" => continue,
            "query" => {
                let definition = var["definition"]
                    .as_str()
                    .or(var["query"]["query"].as_str())
                    .or(var["query"].as_str())
                    .unwrap_or_else(|| panic!("variable {name}: no query"));
                let definition = substitute(definition, &picked);
                let args = definition
                    .strip_prefix("label_values(")
                    .and_then(|r| r.strip_suffix(')'))
                    .unwrap_or_else(|| panic!("variable {name}: only label_values(...) is supported: {definition}"));
                let (selector, label) = args
                    .rsplit_once(',')
                    .unwrap_or_else(|| panic!("variable {name}: label_values needs a metric: {definition}"));
                let label = label.trim();
                let mut values: Vec<String> = prom
                    .query(&format!("group by ({label}) ({})", selector.trim()))
                    .iter()
                    .filter_map(|s| s["metric"][label].as_str().map(String::from))
                    .collect();
                values.sort();
                values
            }
            "custom" | "interval" => {
                let current = var["current"]["value"].as_str().filter(|v| !v.is_empty());
                let first = var["query"].as_str().and_then(|q| q.split(',').next()).map(str::trim);
                vec![current.or(first).unwrap_or_else(|| panic!("variable {name}: no value")).to_string()]
            }
            "constant" | "textbox" => vec![var["query"].as_str().unwrap_or("").to_string()],
            other => panic!("variable {name}: type {other:?} is not handled by this test"),
        };
        assert!(!values.is_empty(), "variable {name} lists nothing: its panels would be empty");
        let multi = var["multi"].as_bool().unwrap_or(false) || var["includeAll"].as_bool().unwrap_or(false);
        let value = if multi && values.len() > 1 {
            format!("({})", values.iter().map(|v| regex_escape(v)).collect::<Vec<_>>().join("|"))
        } else if multi {
            regex_escape(&values[0])
        } else {
            values[0].clone()
        };
        picked.insert(name.clone(), value.clone());
        match var["allValue"].as_str().filter(|a| var["includeAll"].as_bool().unwrap_or(false) && !a.is_empty()) {
            Some(a) => {
                has_all = true;
                all.insert(name, a.to_string());
            }
            None => {
                all.insert(name, value);
            }
        }
    }
    let mut sets = vec![("every value picked".to_string(), picked)];
    if has_all {
        sets.push(("All".to_string(), all));
    }
    sets
}

/// Grafana's escaping of a picked value inside a Prometheus regex matcher
/// (a PromQL string, hence the doubled backslash).
fn regex_escape(v: &str) -> String {
    let mut out = String::new();
    for c in v.chars() {
        if "\\^$*+?.()|{}[]'".contains(c) {
            out.push_str("\\\\");
        }
        out.push(c);
    }
    out
}

/// Replaces `$name`, `${name}`, `${name:format}` and `[[name]]` with the
/// variable's value. `$1` (label_replace) stays; any other `$` reference to
/// a variable not in `values` fails the test.
fn substitute(expr: &str, values: &BTreeMap<String, String>) -> String {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::new();
    let mut rest = expr;
    while let Some(c) = rest.chars().next() {
        let found: Option<(&str, usize)> = if let Some(r) = rest.strip_prefix("${") {
            let end = r.find('}').unwrap_or_else(|| panic!("unclosed ${{ in {expr}"));
            Some((r[..end].split(':').next().unwrap_or(""), 2 + end + 1))
        } else if let Some(r) = rest.strip_prefix("[[") {
            r.find("]]").filter(|&end| end > 0 && r[..end].chars().all(ident)).map(|end| (&r[..end], 2 + end + 2))
        } else if let Some(r) = rest.strip_prefix('$') {
            let n = r.chars().take_while(|&c| ident(c)).count();
            if n > 0 && !r.starts_with(|c: char| c.is_ascii_digit()) { Some((&r[..n], 1 + n)) } else { None }
        } else {
            None
        };
        match found {
            Some((name, len)) => {
                let value = values.get(name).unwrap_or_else(|| panic!("unknown variable {name} in {expr}"));
                out.push_str(value);
                rest = &rest[len..];
            }
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// The identifier-like words of a query (metric names among them).
fn tokens(expr: &str) -> BTreeSet<&str> {
    expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).filter(|t| !t.is_empty()).collect()
}

#[test]
fn substitution_follows_grafana() {
    let mut v = BTreeMap::new();
    v.insert("instance".to_string(), "(a\\\\.b|c)".to_string());
    v.insert("__rate_interval".to_string(), "10s".to_string());
    assert_eq!(
        substitute(
            "rate(x{instance=~\"$instance\"}[$__rate_interval]) + y{i=~\"${instance}\",j=~\"${instance:regex}\",k=~\"[[instance]]\"}",
            &v
        ),
        "rate(x{instance=~\"(a\\\\.b|c)\"}[10s]) + y{i=~\"(a\\\\.b|c)\",j=~\"(a\\\\.b|c)\",k=~\"(a\\\\.b|c)\"}"
    );
    assert_eq!(
        substitute("label_replace(x, \"d\", \"$1\", \"i\", \"(.+)\")", &v),
        "label_replace(x, \"d\", \"$1\", \"i\", \"(.+)\")"
    );
    assert_eq!(substitute("x[5m:1m]", &v), "x[5m:1m]");
    assert_eq!(regex_escape("127.0.0.1:9100"), "127\\\\.0\\\\.0\\\\.1:9100");
    assert!(std::panic::catch_unwind(|| substitute("x{i=~\"$datasource\"}", &BTreeMap::new())).is_err());
    assert!(tokens("a_b{c=\"d\"} / on (e) f:g").contains("f:g"));
}
