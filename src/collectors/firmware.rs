//! firmware: `node_firmware_info{id,release,revision,target}`, the firmware
//! the router runs, so a fleet dashboard shows it beside the kernel of
//! `node_uname_info`. Not a node_exporter family (its `node_os_info` reads
//! `os-release`, which Broadcom firmwares do not have). Read without side
//! effects, first match wins:
//!
//! | firmware | source | id | release | revision | target |
//! |---|---|---|---|---|---|
//! | OpenWrt | `openwrt_release` under `[paths] etc` | `DISTRIB_ID` | `DISTRIB_RELEASE` | `DISTRIB_REVISION` | `DISTRIB_TARGET` |
//! | ASUSWRT-Merlin | nvram | `ASUSWRT-Merlin` | `buildno` (`386.7`) | `extendno` | `productid` |
//! | ASUSWRT (stock) | nvram | `ASUSWRT` | `buildno` (`386`, no dot) | `extendno` | `productid` |
//! | DD-WRT | nvram | `DD-WRT` | `os_version` (the build number) | `""` | `DD_BOARD` |
//!
//! nvram is `[wireless] nvram_command` with its `command_timeout_seconds`;
//! `nvram get` only reads. A command can hang, so this collector is
//! isolated: it runs in a child process like wireless.

use super::{CollectError, Collector};
use crate::config::Config;
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::command::{self, CommandError};
use crate::os::source::{Roots, read_bounded};
use crate::parse::release;
use std::time::Duration;

/// The firmware collector.
pub struct FirmwareCollector {
    nvram: String,
    timeout: Duration,
    text: String,
    /// What the last collect found, for `--diagnose`.
    found: String,
}

impl FirmwareCollector {
    /// A collector with the config's nvram command and timeout.
    pub fn new(config: &Config) -> Self {
        let mut c = FirmwareCollector {
            nvram: String::new(),
            timeout: Duration::ZERO,
            text: String::new(),
            found: String::new(),
        };
        c.configure(config);
        c
    }

    fn nvram_get(&self, key: &str) -> Result<String, CommandError> {
        command::run(&self.nvram, &["get", key], self.timeout).map(|v| v.trim().to_string())
    }

    /// (id, release, revision, target) from nvram.
    fn ask_nvram(&self) -> Result<[String; 4], CollectError> {
        let build = match self.nvram_get("buildno") {
            Err(e) if e.is_not_found() => {
                return Err(CollectError::Unavailable(format!(
                    "no openwrt_release file and no {} command to ask",
                    self.nvram
                )));
            }
            other => other?,
        };
        if !build.is_empty() {
            let id = if build.contains('.') { "ASUSWRT-Merlin" } else { "ASUSWRT" };
            return Ok([id.into(), build, self.nvram_get("extendno")?, self.nvram_get("productid")?]);
        }
        let version = self.nvram_get("os_version")?;
        if version.is_empty() {
            return Err(CollectError::Unavailable(
                "nvram has neither buildno (ASUSWRT) nor os_version (DD-WRT)".into(),
            ));
        }
        Ok(["DD-WRT".into(), version, String::new(), self.nvram_get("DD_BOARD")?])
    }
}

impl Collector for FirmwareCollector {
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        let path = roots.etc_path("openwrt_release");
        let labels = match read_bounded(&path, &mut self.text) {
            Ok(()) => {
                let r = release::openwrt_release(&self.text)
                    .map_err(|error| CollectError::Parse { path: path.clone(), error })?;
                self.found = format!("{} {} from {}", r.id, r.release, path.display());
                [r.id, r.release, r.revision, r.target].map(str::to_string)
            }
            Err(e) if !e.is_missing() => return Err(e.into()),
            Err(_) => {
                let l = self.ask_nvram()?;
                self.found = format!("{} {} from {} get", l[0], l[1], self.nvram);
                l
            }
        };
        out.family(
            "node_firmware_info",
            "The router firmware: OpenWrt release file, ASUSWRT or DD-WRT nvram.",
            MetricType::Gauge,
        );
        out.sample(
            &[("id", &labels[0]), ("release", &labels[1]), ("revision", &labels[2]), ("target", &labels[3])],
            1u64,
        );
        Ok(())
    }

    fn configure(&mut self, config: &Config) {
        self.nvram = config.wireless.nvram_command.clone();
        self.timeout = Duration::from_secs(config.wireless.command_timeout_seconds.0);
    }

    fn sources(&self) -> Vec<(bool, String)> {
        vec![(true, self.found.clone())]
    }
}
