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
use crate::parse::hwmon::{Sample, Sensors, chip_from_device, chip_from_name, samples, sensor_key};
use std::path::Path;

/// At most this many hwmon chips are read per scrape.
const MAX_CHIPS: usize = 256;
/// At most this many entries of one chip (or its `device/`) are looked at.
const MAX_FILES: usize = 1024;
/// node_exporter reads sensor files with one 128-byte read.
const SENSOR_READ: usize = 128;
/// And the `name` file whole.
const NAME_READ: usize = 4096;

/// The hwmon collector.
#[derive(Default)]
pub struct HwmonCollector {
    buf: Vec<u8>,
    /// Every chip's samples, in the order the chips were read.
    rows: Vec<Sample>,
    found: Vec<(bool, String)>,
}

impl HwmonCollector {
    /// Reads the sensor files of `dir` into `sensors`.
    fn read_sensors(&mut self, dir: &Path, sensors: &mut Sensors) {
        let files = match list_dir(dir, MAX_FILES) {
            Ok((files, _)) => files,
            Err(e) => {
                log::debug!("hwmon: {e}");
                return;
            }
        };
        for file in files {
            let Some((sensor, prop)) = sensor_key(&file) else { continue };
            match read_attr(&dir.join(&file), SENSOR_READ, &mut self.buf) {
                Ok(text) => sensors.insert(sensor, prop, &text),
                Err(e) => log::debug!("hwmon: {e}; left out"),
            }
        }
    }

    /// The chip label of `dir`, by node_exporter's preferences; `name` is
    /// the cleaned `name` file.
    fn chip(&mut self, dir: &Path, name: Option<&str>) -> Option<String> {
        if let Ok(dev) = std::fs::canonicalize(dir.join("device")) {
            let own = dev.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
            let parent = dev.parent().and_then(Path::file_name).map(|n| n.to_string_lossy()).unwrap_or_default();
            if let Some(chip) = chip_from_device(&parent, &own) {
                return Some(chip);
            }
        }
        if let Some(chip) = name {
            return Some(chip.to_string());
        }
        let real = std::fs::canonicalize(dir).ok()?;
        chip_from_name(&real.file_name()?.to_string_lossy())
    }

    fn read_chip(&mut self, dir: &Path) {
        let chip_name = read_attr(&dir.join("name"), NAME_READ, &mut self.buf).ok().and_then(|t| chip_from_name(&t));
        let Some(chip) = self.chip(dir, chip_name.as_deref()) else {
            self.found.push((false, format!("{}: no name for the chip; left out", dir.display())));
            return;
        };
        let mut sensors = Sensors::default();
        self.read_sensors(dir, &mut sensors);
        let device = dir.join("device");
        if std::fs::metadata(&device).is_ok() {
            self.read_sensors(&device, &mut sensors);
        }
        let before = self.rows.len();
        if let Some(n) = &chip_name {
            self.rows.push(Sample {
                name: "node_hwmon_chip_names".to_string(),
                counter: false,
                chip: chip.clone(),
                label: Some(n.clone()),
                sensor: String::new(),
                value: 1.0,
            });
        }
        samples(&sensors, &chip, &mut self.rows);
        let series = self.rows.len() - before - usize::from(chip_name.is_some());
        self.found.push((true, format!("{chip} ({}): {series} series", chip_name.as_deref().unwrap_or("no name"))));
    }
}

impl Collector for HwmonCollector {
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        let dir = roots.sysfs.join("class/hwmon");
        self.rows.clear();
        self.found.clear();
        let (entries, cut) = match list_dir(&dir, MAX_CHIPS) {
            Ok(v) => v,
            Err(e) if e.is_missing() => {
                self.found.push((true, format!("{}: none (no hardware monitoring chip)", dir.display())));
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        for name in entries {
            let chip_dir = dir.join(&name);
            // Directories and links to them (the usual case) only.
            if std::fs::metadata(&chip_dir).is_ok_and(|m| m.is_dir()) {
                self.read_chip(&chip_dir);
            }
        }
        if cut {
            self.found.push((false, format!("more than {MAX_CHIPS} chips: the rest were left out")));
        }
        // Families in name order, samples in label order. The sort is
        // stable, so of two samples with the same labels (two chips with one
        // label) the first read is kept, as node_exporter keeps the first.
        self.rows.sort_by(|a, b| (&a.name, &a.chip, &a.label, &a.sensor).cmp(&(&b.name, &b.chip, &b.label, &b.sensor)));
        let mut prev: Option<&Sample> = None;
        let mut counter = false;
        for s in &self.rows {
            let same_family = prev.is_some_and(|p| p.name == s.name);
            if !same_family {
                let help = match s.name.as_str() {
                    "node_hwmon_chip_names" => "Human-readable name of each hwmon chip; always 1.",
                    "node_hwmon_sensor_label" => "Label of each hwmon sensor; always 1.",
                    _ => "Hardware monitor sensor value, in base units.",
                };
                counter = s.counter;
                out.family(&s.name, help, if counter { MetricType::Counter } else { MetricType::Gauge });
            } else if prev.is_some_and(|p| (&p.chip, &p.label, &p.sensor) == (&s.chip, &s.label, &s.sensor)) {
                continue;
            }
            prev = Some(s);
            if s.counter != counter {
                continue;
            }
            let chip = ("chip", s.chip.as_str());
            let sensor = ("sensor", s.sensor.as_str());
            match &s.label {
                Some(n) if s.name == "node_hwmon_chip_names" => out.sample(&[chip, ("chip_name", n)], s.value),
                Some(l) => out.sample(&[chip, ("label", l), sensor], s.value),
                None => out.sample(&[chip, sensor], s.value),
            }
        }
        Ok(())
    }

    fn sources(&self) -> Vec<(bool, String)> {
        self.found.clone()
    }
}
