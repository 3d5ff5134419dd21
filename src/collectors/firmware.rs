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
//! isolated: it runs in a child process like wireless. With no release file
//! and no nvram command (a PC, say) it writes nothing and succeeds;
//! `--diagnose` says none was found.

use super::{CollectError, Collector};
use crate::config::Config;
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::command::{self, CommandError};
use crate::os::source::{Roots, read_bounded};
use crate::parse::release;
use std::time::Duration;

/// What the firmware calls itself: the labels of `node_firmware_info`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firmware {
    /// `OpenWrt`, `ASUSWRT-Merlin`, `ASUSWRT` or `DD-WRT`.
    pub id: String,
    /// Its release or build number.
    pub release: String,
    /// Its revision (OpenWrt's commit, ASUSWRT's extendno), or empty.
    pub revision: String,
    /// What it was built for: OpenWrt's target, the router model.
    pub target: String,
}

impl std::fmt::Display for Firmware {
    /// `OpenWrt 23.05.3 r23809-234f1a2efa on ramips/mt7621`,
    /// `ASUSWRT-Merlin 386.7_2 on RT-AC68U`, `DD-WRT 55630 on Netgear R7000`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.id, self.release)?;
        match self.revision.as_str() {
            "" => {}
            rev if self.id.starts_with("ASUSWRT") => write!(f, "_{rev}")?,
            rev => write!(f, " {rev}")?,
        }
        if !self.target.is_empty() {
            write!(f, " on {}", self.target)?;
        }
        Ok(())
    }
}

/// The firmware collector.
pub struct FirmwareCollector {
    nvram: String,
    timeout: Duration,
    text: String,
    /// What the last collect found, for `--diagnose`.
    found: Option<(bool, String)>,
}

impl FirmwareCollector {
    /// A collector with the config's nvram command and timeout.
    pub fn new(config: &Config) -> Self {
        let mut c =
            FirmwareCollector { nvram: String::new(), timeout: Duration::ZERO, text: String::new(), found: None };
        c.configure(config);
        c
    }

    fn nvram_get(&self, key: &str) -> Result<String, CommandError> {
        command::run(&self.nvram, &["get", key], self.timeout).map(|v| v.trim().to_string())
    }

    /// Finds the firmware: `Ok(None)` when there is neither a release file
    /// nor an nvram command, or nvram names no firmware this knows.
    pub fn identify(&mut self, roots: &Roots) -> Result<Option<Firmware>, CollectError> {
        let path = roots.etc_path("openwrt_release");
        match read_bounded(&path, &mut self.text) {
            Ok(()) => {
                let r = release::openwrt_release(&self.text)
                    .map_err(|error| CollectError::Parse { path: path.clone(), error })?;
                let [id, release, revision, target] = [r.id, r.release, r.revision, r.target].map(str::to_string);
                self.found = Some((true, format!("{} from {}", r.id, path.display())));
                return Ok(Some(Firmware { id, release, revision, target }));
            }
            Err(e) if !e.is_missing() => return Err(e.into()),
            Err(_) => {}
        }
        let build = match self.nvram_get("buildno") {
            Err(e) if e.is_not_found() => {
                let why = format!("none found: no {} and no {} command", path.display(), self.nvram);
                self.found = Some((false, why));
                return Ok(None);
            }
            other => other?,
        };
        let firmware = if !build.is_empty() {
            let id = if build.contains('.') { "ASUSWRT-Merlin" } else { "ASUSWRT" };
            Firmware {
                id: id.into(),
                release: build,
                revision: self.nvram_get("extendno")?,
                target: self.nvram_get("productid")?,
            }
        } else {
            let version = self.nvram_get("os_version")?;
            if version.is_empty() {
                self.found =
                    Some((false, "none found: nvram has neither buildno (ASUSWRT) nor os_version (DD-WRT)".into()));
                return Ok(None);
            }
            Firmware {
                id: "DD-WRT".into(),
                release: version,
                revision: String::new(),
                target: self.nvram_get("DD_BOARD")?,
            }
        };
        self.found = Some((true, format!("{} from {} get", firmware.id, self.nvram)));
        Ok(Some(firmware))
    }
}

impl Collector for FirmwareCollector {
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        self.found = None;
        let Some(f) = self.identify(roots)? else { return Ok(()) };
        out.family(
            "node_firmware_info",
            "The router firmware: OpenWrt release file, ASUSWRT or DD-WRT nvram.",
            MetricType::Gauge,
        );
        out.sample(&[("id", &f.id), ("release", &f.release), ("revision", &f.revision), ("target", &f.target)], 1u64);
        Ok(())
    }

    fn configure(&mut self, config: &Config) {
        self.nvram = config.wireless.nvram_command.clone();
        self.timeout = Duration::from_secs(config.wireless.command_timeout_seconds.0);
    }

    fn sources(&self) -> Vec<(bool, String)> {
        self.found.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions() {
        let f = |id: &str, release: &str, revision: &str, target: &str| {
            Firmware { id: id.into(), release: release.into(), revision: revision.into(), target: target.into() }
                .to_string()
        };
        assert_eq!(
            f("OpenWrt", "23.05.3", "r23809-234f1a2efa", "ramips/mt7621"),
            "OpenWrt 23.05.3 r23809-234f1a2efa on ramips/mt7621"
        );
        assert_eq!(f("ASUSWRT-Merlin", "380.70", "0", "RT-N16"), "ASUSWRT-Merlin 380.70_0 on RT-N16");
        assert_eq!(f("DD-WRT", "55630", "", ""), "DD-WRT 55630");
    }
}
