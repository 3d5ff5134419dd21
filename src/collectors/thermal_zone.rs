//! thermal_zone: `node_thermal_zone_temp{type,zone}` from
//! `/sys/class/thermal/thermal_zoneN/{type,temp}`, and
//! `node_cooling_device_{cur,max}_state{name,type}` from
//! `cooling_deviceN/{type,cur_state,max_state}`, as node_exporter 1.5's
//! thermal_zone collector writes them.
//!
//! No `class/thermal` (Linux 2.6.22, most MIPS routers) is no zone, not an
//! error, as in node_exporter. Where node_exporter fails the whole
//! collector (a zone without `policy`, a `temp` that cannot be read, a
//! cooling device with a bad state), this one leaves that zone or device
//! out, says so in `--diagnose`, and keeps the others.

use super::sysfs::{list_dir, read_attr};
use super::{CollectError, Collector};
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::Roots;
use crate::parse::thermal::{celsius, entry_number, parse_int, type_name};
use std::path::Path;

/// At most this many `class/thermal` entries are looked at.
const MAX_ENTRIES: usize = 512;
/// procfs reads `type` and the states with one 128-byte read.
const SHORT_READ: usize = 128;
/// `temp` is read whole (it is a few bytes).
const LONG_READ: usize = 4096;

/// The cooling device families, in name order, with their HELP.
const COOLING: [(&str, &str); 2] = [
    ("node_cooling_device_cur_state", "Current throttle state of the cooling device."),
    ("node_cooling_device_max_state", "Highest throttle state of the cooling device."),
];

/// The thermal_zone collector.
#[derive(Default)]
pub struct ThermalZoneCollector {
    buf: Vec<u8>,
    /// (zone, type, millidegrees)
    zones: Vec<(String, String, i64)>,
    /// (name, type, [cur_state, max_state])
    coolers: Vec<(String, String, [i64; 2])>,
    found: Vec<(bool, String)>,
}

impl ThermalZoneCollector {
    /// The integer in `dir/file`, or `None` with the reason recorded.
    fn read_int(&mut self, dir: &Path, file: &str, limit: usize) -> Option<i64> {
        let path = dir.join(file);
        let read = match read_attr(&path, limit, &mut self.buf) {
            Ok(text) => parse_int(&text).map_err(|e| format!("{}: {e}", path.display())),
            Err(e) => Err(e.to_string()),
        };
        read.map_err(|e| self.skipped(e)).ok()
    }

    /// The trimmed text of `dir/type`, or `None` with the reason recorded.
    fn read_type(&mut self, dir: &Path) -> Option<String> {
        let read = read_attr(&dir.join("type"), SHORT_READ, &mut self.buf).map(|t| type_name(&t).to_string());
        read.map_err(|e| self.skipped(e.to_string())).ok()
    }

    fn read(&mut self, roots: &Roots) -> Result<(), CollectError> {
        let dir = roots.sysfs.join("class/thermal");
        self.zones.clear();
        self.coolers.clear();
        self.found.clear();
        let entries = match list_dir(&dir, MAX_ENTRIES) {
            Ok((entries, _)) => entries,
            Err(e) if e.is_missing() => {
                self.found.push((true, format!("{}: none (no thermal sensors)", dir.display())));
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        for name in entries {
            let path = dir.join(&name);
            if let Some(zone) = entry_number(&name, "thermal_zone") {
                let Some(ty) = self.read_type(&path) else { continue };
                let Some(temp) = self.read_int(&path, "temp", LONG_READ) else { continue };
                self.zones.push((zone.to_string(), ty, temp));
            } else if let Some(dev) = entry_number(&name, "cooling_device") {
                let Some(ty) = self.read_type(&path) else { continue };
                let Some(max) = self.read_int(&path, "max_state", SHORT_READ) else { continue };
                let Some(cur) = self.read_int(&path, "cur_state", SHORT_READ) else { continue };
                self.coolers.push((dev.to_string(), ty, [cur, max]));
            }
        }
        let summary = format!("{}: {} zones, {} cooling devices", dir.display(), self.zones.len(), self.coolers.len());
        self.found.insert(0, (true, summary));
        Ok(())
    }

    fn skipped(&mut self, why: String) {
        log::debug!("thermal_zone: left out: {why}");
        self.found.push((false, format!("left out: {why}")));
    }
}

impl Collector for ThermalZoneCollector {
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        self.read(roots)?;
        for (k, (family, help)) in COOLING.iter().enumerate() {
            if self.coolers.is_empty() {
                break;
            }
            out.family(family, help, MetricType::Gauge);
            for (name, ty, states) in &self.coolers {
                out.sample(&[("name", name.as_str()), ("type", ty.as_str())], states[k]);
            }
        }
        if !self.zones.is_empty() {
            out.family(
                "node_thermal_zone_temp",
                "Temperature of the thermal zone in degrees Celsius.",
                MetricType::Gauge,
            );
            for (zone, ty, temp) in &self.zones {
                out.sample(&[("type", ty.as_str()), ("zone", zone.as_str())], celsius(*temp));
            }
        }
        Ok(())
    }

    fn sources(&self) -> Vec<(bool, String)> {
        self.found.clone()
    }
}
