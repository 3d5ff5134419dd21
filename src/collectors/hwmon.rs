//! hwmon: hardware sensors from `/sys/class/hwmon/hwmonN/` (and, as on
//! older kernels, its `device/`), named as node_exporter 1.5's hwmon
//! collector names them: `node_hwmon_temp_celsius{chip,sensor}` and the
//! other temperature, voltage, fan, current, power, energy and humidity
//! families, `node_hwmon_chip_names{chip,chip_name}` and
//! `node_hwmon_sensor_label{chip,label,sensor}`.
//!
//! The chip label is, as in node_exporter: the resolved `device` link's
//! parent and own directory names (`platform_gpio_fan`), else the `name`
//! file (`cpu_thermal`), else the hwmon directory's name (`hwmon0`).
//! A file that fails to read is left out (hwmon drivers answer EAGAIN or
//! EIO when a sensor is absent). No `class/hwmon` (most MIPS routers) is
//! no chip and no series; node_exporter reports that as a failed scrape of
//! the collector (`node_scrape_collector_success` 0), which on a router
//! would be an alarm for hardware it never had. Two chips with the same label (two
//! `cpu_thermal` hwmons without a device link) give the first one's
//! series only, as node_exporter's exposition keeps only the first
//! duplicate.

use super::sysfs::{list_dir, read_attr};
use super::{CollectError, Collector};
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::Roots;
use crate::parse::hwmon::{Sensors, chip_from_device, chip_from_name, samples, sensor_key};
use std::collections::BTreeMap;
use std::path::Path;

/// At most this many hwmon chips are read per scrape.
const MAX_CHIPS: usize = 256;
/// At most this many entries of one chip (or its `device/`) are looked at.
const MAX_FILES: usize = 1024;
/// node_exporter reads sensor files with one 128-byte read.
const SENSOR_READ: usize = 128;
/// And the `name` file whole.
const NAME_READ: usize = 4096;

/// One family: counter or gauge, label names, and samples by label values.
struct Family {
    counter: bool,
    labels: &'static [&'static str],
    samples: BTreeMap<Vec<String>, f64>,
}

/// The hwmon collector.
#[derive(Default)]
pub struct HwmonCollector {
    buf: Vec<u8>,
    families: BTreeMap<String, Family>,
    found: Vec<(bool, String)>,
}

impl HwmonCollector {
    fn add(&mut self, name: &str, counter: bool, labels: &'static [&'static str], values: Vec<String>, v: f64) {
        let f = self.families.entry(name.to_string()).or_insert_with(|| Family {
            counter,
            labels,
            samples: BTreeMap::new(),
        });
        if f.counter == counter && f.labels == labels {
            f.samples.entry(values).or_insert(v);
        }
    }

    /// Reads the sensor files of `dir` into `sensors`.
    fn read_sensors(&mut self, dir: &Path, sensors: &mut Sensors) {
        let files = match list_dir(dir, MAX_FILES) {
            Ok((files, _)) => files,
            Err(e) => {
                log::debug!("hwmon: {e}");
                return;
            }
        };
        for (file, _) in files {
            if sensor_key(&file).is_none() {
                continue;
            }
            match read_attr(&dir.join(&file), SENSOR_READ, &mut self.buf) {
                Ok(text) => sensors.add(&file, &text),
                Err(e) => log::debug!("hwmon: {e}; left out"),
            }
        }
    }

    fn read_name(&mut self, dir: &Path) -> Option<String> {
        read_attr(&dir.join("name"), NAME_READ, &mut self.buf).ok().map(|t| t.into_owned())
    }

    /// The chip label of `dir`, by node_exporter's preferences.
    fn chip(&mut self, dir: &Path, name: Option<&str>) -> Option<String> {
        if let Ok(dev) = std::fs::canonicalize(dir.join("device")) {
            let own = dev.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
            let parent = dev.parent().and_then(Path::file_name).map(|n| n.to_string_lossy()).unwrap_or_default();
            if let Some(chip) = chip_from_device(&parent, &own) {
                return Some(chip);
            }
        }
        if let Some(chip) = name.filter(|n| !n.is_empty()).and_then(chip_from_name) {
            return Some(chip);
        }
        let real = std::fs::canonicalize(dir).ok()?;
        chip_from_name(&real.file_name()?.to_string_lossy())
    }

    fn read_chip(&mut self, dir: &Path) {
        let name = self.read_name(dir);
        let Some(chip) = self.chip(dir, name.as_deref()) else {
            self.found.push((false, format!("{}: no name for the chip; left out", dir.display())));
            return;
        };
        let mut sensors = Sensors::default();
        self.read_sensors(dir, &mut sensors);
        let device = dir.join("device");
        if std::fs::metadata(&device).is_ok() {
            self.read_sensors(&device, &mut sensors);
        }
        const CHIP_NAME: &[&str] = &["chip", "chip_name"];
        const SENSOR: &[&str] = &["chip", "sensor"];
        const LABEL: &[&str] = &["chip", "label", "sensor"];
        let chip_name = name.as_deref().and_then(chip_from_name);
        if let Some(n) = &chip_name {
            self.add("node_hwmon_chip_names", false, CHIP_NAME, vec![chip.clone(), n.clone()], 1.0);
        }
        let all = samples(&sensors);
        self.found
            .push((true, format!("{chip} ({}): {} series", chip_name.as_deref().unwrap_or("no name"), all.len())));
        for s in all {
            match s.label {
                Some(label) => self.add(&s.name, false, LABEL, vec![chip.clone(), label, s.sensor], s.value),
                None => self.add(&s.name, s.counter, SENSOR, vec![chip.clone(), s.sensor], s.value),
            }
        }
    }
}

impl Collector for HwmonCollector {
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        let dir = roots.sysfs.join("class/hwmon");
        self.families.clear();
        self.found.clear();
        let (entries, cut) = match list_dir(&dir, MAX_CHIPS) {
            Ok(v) => v,
            Err(e) if e.is_missing() => {
                self.found.push((true, format!("{}: none (no hardware monitoring chip)", dir.display())));
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        for (name, _) in entries {
            let chip_dir = dir.join(&name);
            // Directories and links to them (the usual case) only.
            if std::fs::metadata(&chip_dir).is_ok_and(|m| m.is_dir()) {
                self.read_chip(&chip_dir);
            }
        }
        if cut {
            self.found.push((false, format!("more than {MAX_CHIPS} chips: the rest were left out")));
        }
        for (name, f) in &self.families {
            let help = match name.as_str() {
                "node_hwmon_chip_names" => "Human-readable name of each hwmon chip; always 1.",
                "node_hwmon_sensor_label" => "Label of each hwmon sensor; always 1.",
                _ => "Hardware monitor sensor value, in base units.",
            };
            out.family(name, help, if f.counter { MetricType::Counter } else { MetricType::Gauge });
            for (values, v) in &f.samples {
                let labels: Vec<(&str, &str)> =
                    f.labels.iter().copied().zip(values.iter().map(String::as_str)).collect();
                out.sample(&labels, *v);
            }
        }
        Ok(())
    }

    fn sources(&self) -> Vec<(bool, String)> {
        self.found.clone()
    }
}
