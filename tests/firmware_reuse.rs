//! The firmware collector asks nvram once, not per scrape: its output is
//! reused for an hour (`reuse_for` in the collector table), and a reload
//! (SIGHUP) asks again.

mod common;

use common::*;
use std::time::Duration;

#[test]
fn nvram_is_asked_once_per_config_not_per_scrape() {
    let dir = TempDir::new("fwreuse");
    let calls = dir.path().join("calls");
    let nvram = dir.path().join("nvram");
    // The Merlin replay, logging each `nvram get buildno`.
    std::fs::write(
        &nvram,
        format!(
            "#!/bin/sh\n[ \"$2\" = buildno ] && echo x >> {calls:?}\nexec {:?} \"$@\"\n",
            fixtures().join("merlin_wl/bin/nvram")
        ),
    )
    .unwrap();
    make_executable(&nvram);
    let cfg = write_config(
        dir.path(),
        &format!(
            "listen = [\"127.0.0.1:0\"]\n[collectors]\nwireless = false\n[wireless]\nnvram_command = {:?}\n\
             [paths]\nprocfs = {:?}\netc = \"no-etc\"\nsysfs = \"no-sys\"\n[textfile]\ndirectory = \"no-textfile\"\n",
            nvram.display().to_string(),
            fixtures().join("merlin_wl/proc").display().to_string()
        ),
    );
    let mut exporter = Exporter::start(&cfg, dir.path());
    let addr = exporter.wait_listening();
    let count = || std::fs::read_to_string(&calls).map_or(0, |s| s.lines().count());
    let info = "node_firmware_info{id=\"ASUSWRT-Merlin\",release=\"386.7\",revision=\"2\",target=\"RT-AC68U\"} 1";
    for i in 0..5 {
        let text = get(addr, "/metrics").text();
        assert!(text.contains(info), "scrape {i}:\n{text}");
        assert!(text.contains("node_scrape_collector_success{collector=\"firmware\"} 1"), "scrape {i}");
    }
    assert_eq!(count(), 1, "nvram get buildno ran more than once for five scrapes");

    // A reload starts afresh: the next scrape asks nvram again, once.
    exporter.signal(libc::SIGHUP);
    exporter.wait_for("reloaded", Duration::from_secs(10));
    for _ in 0..3 {
        assert!(get(addr, "/metrics").text().contains(info));
    }
    assert_eq!(count(), 2, "a reload should ask nvram once more");
}
