//! `/sys/class/hwmon/hwmonN/*`: sensor files (`temp1_input`, `fan1_min`,
//! `in0_label`, ...) turned into node_exporter's hwmon families, with its
//! rules for file names, chip names, units and metric names.

/// The sensor types node_exporter reads; other files are ignored.
pub const SENSOR_TYPES: &[&str] = &[
    "vrm",
    "beep_enable",
    "update_interval",
    "in",
    "cpu",
    "fan",
    "pwm",
    "temp",
    "curr",
    "power",
    "energy",
    "humidity",
    "intrusion",
];

/// Splits a sensor file name as node_exporter's
/// `^(?P<type>[^0-9]+)(?P<id>[0-9]*)?(_(?P<property>.+))?$` does, with
/// that regexp's leftmost-first preference (the longest type that lets
/// the rest match): `temp1_crit_alarm` is (`temp`, 1, `crit_alarm`),
/// `update_interval` is (`update_interval`, 0, ``). The number is 0 when
/// absent; `None` when nothing matches or the number overflows.
pub fn explode(name: &str) -> Option<(&str, u64, &str)> {
    let max = name.find(|c: char| c.is_ascii_digit()).unwrap_or(name.len());
    if max == 0 {
        return None;
    }
    // The property: `_` then at least one character, none a newline
    // (`.` does not match one), up to the end.
    fn property(after: &str) -> Option<&str> {
        if after.is_empty() {
            return Some("");
        }
        let p = after.strip_prefix('_')?;
        (!p.is_empty() && !p.contains('\n')).then_some(p)
    }
    // The longest type: all the non-digits, then the digits as the id.
    let rest = &name[max..];
    let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
    if let Some(p) = property(&rest[digits..]) {
        let id = &rest[..digits];
        let num = if id.is_empty() { 0 } else { go_atoi(id)? };
        return Some((&name[..max], num, p));
    }
    // A shorter type ends just before a `_` that starts the property;
    // no id then. The regexp prefers the longest such type.
    let mut end = max;
    while let Some(i) = name[..end].rfind('_') {
        if i > 0 {
            if let Some(p) = property(&name[i..]) {
                return Some((&name[..i], 0, p));
            }
        }
        end = i;
    }
    None
}

/// Go's `strconv.Atoi` on ASCII digits: `None` past `i64::MAX`.
fn go_atoi(digits: &str) -> Option<u64> {
    digits.parse::<u64>().ok().filter(|&n| n <= i64::MAX as u64)
}

/// The sensor (`temp1`) and property (`input`) a file feeds, if its type
/// is one node_exporter reads.
pub fn sensor_key(file: &str) -> Option<(String, &str)> {
    let (ty, num, prop) = explode(file)?;
    SENSOR_TYPES.contains(&ty).then(|| (format!("{ty}{num}"), prop))
}

/// node_exporter's `cleanMetricName`: lower case, every character but
/// `a-z0-9:_` replaced by `_`, and `_` trimmed from both ends.
pub fn clean_name(name: &str) -> String {
    let mapped: String = name
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' | ':' | '_' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            // Go lowercases these two to ASCII letters.
            '\u{212A}' => 'k',
            '\u{0130}' => 'i',
            _ => '_',
        })
        .collect();
    mapped.trim_matches('_').to_string()
}

/// The chip label from the resolved `device` link (its parent directory's
/// name and its own): `platform_coretemp_0` for
/// `/sys/devices/platform/coretemp.0`, or the device alone when the parent
/// cleans to nothing; `None` when both do.
pub fn chip_from_device(parent: &str, device: &str) -> Option<String> {
    let (ty, dev) = (clean_name(parent), clean_name(device));
    match (ty.is_empty(), dev.is_empty()) {
        (false, false) => Some(format!("{ty}_{dev}")),
        (_, false) => Some(dev),
        _ => None,
    }
}

/// The chip label from a `name` file, or from the hwmon directory's own
/// name (`hwmon0`): cleaned, `None` when that leaves nothing.
pub fn chip_from_name(text: &str) -> Option<String> {
    Some(clean_name(text)).filter(|n| !n.is_empty())
}

/// Go's `strconv.ParseFloat(s, 64)` for what sysfs prints (see
/// [`super::float::go_float`]). The kernel prints integers here, which
/// come out exact, as in Go, so `v * 0.001` matches node_exporter bit for
/// bit; a rare non-integer file is read with Go's syntax, correctly
/// rounded in all but contrived cases. Hexadecimal and `_` are refused.
pub fn go_parse_float(s: &str) -> Option<f64> {
    super::float::go_float(s)
}

/// The sensor files of one chip: (sensor `temp1`, property `input`,
/// `label`, or `` for a bare `pwm1`, the file's text with newlines
/// trimmed), kept sorted by sensor and property.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sensors(pub Vec<(String, String, String)>);

impl Sensors {
    /// Records the contents of `file` if node_exporter reads it; a later
    /// file for the same sensor and property (`temp01_input` after
    /// `temp1_input`, or one in `device/`) replaces an earlier one.
    pub fn add(&mut self, file: &str, contents: &str) {
        if let Some((sensor, prop)) = sensor_key(file) {
            self.insert(sensor, prop, contents);
        }
    }

    /// Records `contents` as the value of `sensor`'s `prop` (see
    /// [`sensor_key`]), replacing an earlier one.
    pub fn insert(&mut self, sensor: String, prop: &str, contents: &str) {
        let text = contents.trim_matches('\n').to_string();
        match self.0.binary_search_by(|e| (e.0.as_str(), e.1.as_str()).cmp(&(sensor.as_str(), prop))) {
            Ok(i) => self.0[i].2 = text,
            Err(i) => self.0.insert(i, (sensor, prop.to_string(), text)),
        }
    }
}

/// One sample of a hwmon family.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The family name, such as `node_hwmon_temp_celsius`.
    pub name: String,
    /// Counter (energy) or gauge.
    pub counter: bool,
    /// The chip label value.
    pub chip: String,
    /// For `node_hwmon_sensor_label`, the label text (for
    /// `node_hwmon_chip_names`, the chip name).
    pub label: Option<String>,
    /// The sensor label value (`temp1`).
    pub sensor: String,
    /// The value in base units.
    pub value: f64,
}

/// node_exporter's unit rules, first match wins: (sensor types, or "" for
/// any; properties, or "*" for any, including the bare value; the name's
/// suffix; 0 to keep the value, 1 to multiply it by 0.001, 2 to divide it
/// by 1e6). A property without a rule keeps its value and gets no suffix;
/// `_joule_total` families are counters.
const UNITS: &[(&str, &str, &str, u8)] = &[
    ("", "fault|alarm", "", 0),
    ("", "beep", "_enabled", 0),
    ("in|cpu", "*", "_volts", 1),
    ("temp", "type", "", 0),
    ("temp", "*", "_celsius", 1),
    ("curr", "*", "_amps", 1),
    ("energy", "*", "_joule_total", 2),
    ("power", "accuracy", "", 2),
    ("power", "average_interval|average_interval_min|average_interval_max", "_seconds", 1),
    ("power", "*", "_watt", 2),
    ("humidity", "*", "", 2),
    ("fan", "input|min|max|target", "_rpm", 0),
];

/// Whether `s` is one of the `|`-separated words of `list`.
fn one_of(s: &str, list: &str) -> bool {
    list.split('|').any(|w| w == s)
}

/// Appends to `out` every sample node_exporter writes for one chip's
/// sensors, with `chip` as their chip label: units converted
/// (millidegrees, millivolts and milliamps times 0.001, microwatts and
/// microjoules over 1e6), names built as node_exporter builds them,
/// including its odd ones (`temp1_crit_alarm` is
/// `node_hwmon_temp_crit_alarm_celsius`).
pub fn samples(sensors: &Sensors, chip: &str, out: &mut Vec<Sample>) {
    for props in sensors.0.chunk_by(|a, b| a.0 == b.0) {
        let sensor = props[0].0.as_str();
        let ty = explode(sensor).map_or("", |(t, _, _)| t);
        let mut push = |name: &str, counter: bool, label: Option<&str>, value: f64| {
            out.push(Sample {
                name: name.to_string(),
                counter,
                chip: chip.to_string(),
                label: label.map(str::to_string),
                sensor: sensor.to_string(),
                value,
            });
        };
        let get = |p: &str| props.iter().find(|e| e.1 == p).map(|e| e.2.as_str());
        if let Some(label) = get("label") {
            push("node_hwmon_sensor_label", false, Some(label), 1.0);
        }
        let bare = get("");
        let special = match ty {
            "beep_enable" => Some(("node_hwmon_beep_enabled", Some(f64::from(u8::from(bare == Some("1")))))),
            "vrm" => Some(("node_hwmon_voltage_regulator_version", bare.and_then(go_parse_float))),
            "update_interval" => {
                Some(("node_hwmon_update_interval_seconds", bare.and_then(go_parse_float).map(|v| v * 0.001)))
            }
            _ => None,
        };
        if let Some((name, value)) = special {
            if let Some(v) = value {
                push(name, false, None, v);
            }
            continue;
        }
        let mut name = String::new();
        for (_, e, text) in props {
            let e = e.as_str();
            if e == "label" {
                continue;
            }
            let Some(v) = go_parse_float(text) else { continue };
            name.clear();
            name.push_str("node_hwmon_");
            name.push_str(ty);
            if e == "input" {
                if bare.is_some() {
                    name.push_str("_input");
                }
            } else if !e.is_empty() {
                name.push('_');
                name.push_str(&clean_name(e));
            }
            let (_, _, suffix, scale) = UNITS
                .iter()
                .find(|(t, el, _, _)| (t.is_empty() || one_of(ty, t)) && (*el == "*" || one_of(e, el)))
                .unwrap_or(&("", "", "", 0));
            let value = match scale {
                1 => v * 0.001,
                2 => v / 1_000_000.0,
                _ => v,
            };
            let counter = *suffix == "_joule_total";
            name.push_str(suffix);
            push(&name, counter, None, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(s: &str) -> Option<(&str, u64, &str)> {
        explode(s)
    }

    #[test]
    fn file_names_split_like_the_regexp() {
        assert_eq!(ex("temp1_input"), Some(("temp", 1, "input")));
        assert_eq!(ex("temp1_crit_alarm"), Some(("temp", 1, "crit_alarm")));
        assert_eq!(ex("pwm1"), Some(("pwm", 1, "")));
        assert_eq!(ex("in0_input"), Some(("in", 0, "input")));
        assert_eq!(ex("temp007_max"), Some(("temp", 7, "max")));
        assert_eq!(ex("update_interval"), Some(("update_interval", 0, "")));
        assert_eq!(ex("beep_enable"), Some(("beep_enable", 0, "")));
        assert_eq!(ex("name"), Some(("name", 0, "")));
        assert_eq!(ex("temp_x1a"), Some(("temp", 0, "x1a")));
        assert_eq!(ex("temp1a"), None);
        assert_eq!(ex("temp1_"), None);
        assert_eq!(ex("1_input"), None);
        assert_eq!(ex(""), None);
        assert_eq!(ex("temp99999999999999999999_input"), None);
        assert_eq!(ex("temp1_in\nput"), None);
        assert_eq!(sensor_key("temp1_input"), Some(("temp1".to_string(), "input")));
        assert_eq!(sensor_key("uevent"), None);
        assert_eq!(sensor_key("power"), Some(("power0".to_string(), "")));
    }

    #[test]
    fn names_clean_like_node_exporter() {
        assert_eq!(clean_name("coretemp.0"), "coretemp_0");
        assert_eq!(clean_name("cpu_thermal\n"), "cpu_thermal");
        assert_eq!(clean_name("__Max-Hyst__"), "max_hyst");
        assert_eq!(clean_name("é"), "");
        assert_eq!(chip_from_device("platform", "coretemp.0").as_deref(), Some("platform_coretemp_0"));
        assert_eq!(chip_from_device("i2c-0", "0-0048").as_deref(), Some("i2c_0_0_0048"));
        assert_eq!(chip_from_device("", "0-0048").as_deref(), Some("0_0048"));
        assert_eq!(chip_from_device("platform", "..."), None);
        assert_eq!(chip_from_name("hwmon0").as_deref(), Some("hwmon0"));
        assert_eq!(chip_from_name("\n"), None);
    }

    #[test]
    fn floats_like_go() {
        assert_eq!(go_parse_float("42000"), Some(42000.0));
        assert_eq!(go_parse_float("-5.5e3"), Some(-5500.0));
        assert_eq!(go_parse_float("+1"), Some(1.0));
        assert_eq!(go_parse_float("Inf"), Some(f64::INFINITY));
        assert_eq!(go_parse_float("-infinity"), Some(f64::NEG_INFINITY));
        assert!(go_parse_float("NaN").unwrap().is_nan());
        assert_eq!(go_parse_float("-nan"), None);
        assert_eq!(go_parse_float("1e400"), None);
        assert_eq!(go_parse_float(""), None);
        assert_eq!(go_parse_float(" 1"), None);
        assert_eq!(go_parse_float("1\n"), None);
        assert_eq!(go_parse_float("0x10"), None);
    }

    fn samples_of(files: &[(&str, &str)]) -> Vec<Sample> {
        let mut s = Sensors::default();
        for (f, c) in files {
            s.add(f, c);
        }
        let mut all = Vec::new();
        samples(&s, "chip", &mut all);
        all
    }

    fn find<'a>(all: &'a [Sample], name: &str, sensor: &str) -> Option<&'a Sample> {
        all.iter().find(|s| s.name == name && s.sensor == sensor)
    }

    #[test]
    fn a_thermal_hwmon_on_a_router() {
        // Linux 5.15 thermal zones register a hwmon: /sys/class/hwmon/hwmon0
        // on a GL.iNet MT3000 (mt7981) holds name "cpu_thermal" and
        // temp1_input, and no device link.
        let all = samples_of(&[("name", "cpu_thermal\n"), ("temp1_input", "52600\n")]);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].name, "node_hwmon_temp_celsius");
        assert_eq!(all[0].value, 52600.0 * 0.001);
    }

    #[test]
    fn every_unit_and_odd_name() {
        // lm75 / tmp421 on I2C (Turris Omnia), a gpio-fan, and the odd ones.
        let all = samples_of(&[
            ("temp1_input", "45500\n"),
            ("temp1_max", "80000\n"),
            ("temp1_max_hyst", "75000\n"),
            ("temp1_crit_alarm", "0\n"),
            ("temp1_alarm", "0\n"),
            ("temp1_label", "CPU\n"),
            ("temp1_type", "1\n"),
            ("in0_input", "1200\n"),
            ("fan1_input", "2900\n"),
            ("fan1_target", "3000\n"),
            ("fan1_div", "2\n"),
            ("pwm1", "128\n"),
            ("pwm1_enable", "2\n"),
            ("curr1_input", "1500\n"),
            ("power1_input", "4500000\n"),
            ("power1_average_interval", "1000\n"),
            ("energy1_input", "2000000\n"),
            ("humidity1_input", "45000\n"),
            ("update_interval", "2000\n"),
            ("vrm", "9.0\n"),
            ("beep_enable", "1\n"),
            ("temp2_input", "not a number\n"),
        ]);
        let get = |n: &str, s: &str| find(&all, n, s).map(|s| s.value);
        assert_eq!(get("node_hwmon_temp_celsius", "temp1"), Some(45500.0 * 0.001));
        assert_eq!(get("node_hwmon_temp_max_celsius", "temp1"), Some(80.0));
        assert_eq!(get("node_hwmon_temp_max_hyst_celsius", "temp1"), Some(75.0));
        assert_eq!(get("node_hwmon_temp_crit_alarm_celsius", "temp1"), Some(0.0));
        assert_eq!(get("node_hwmon_temp_alarm", "temp1"), Some(0.0));
        assert_eq!(get("node_hwmon_temp_type", "temp1"), Some(1.0));
        assert_eq!(find(&all, "node_hwmon_sensor_label", "temp1").unwrap().label.as_deref(), Some("CPU"));
        assert_eq!(get("node_hwmon_in_volts", "in0"), Some(1200.0 * 0.001));
        assert_eq!(get("node_hwmon_fan_rpm", "fan1"), Some(2900.0));
        assert_eq!(get("node_hwmon_fan_target_rpm", "fan1"), Some(3000.0));
        assert_eq!(get("node_hwmon_fan_div", "fan1"), Some(2.0));
        assert_eq!(get("node_hwmon_pwm", "pwm1"), Some(128.0));
        assert_eq!(get("node_hwmon_pwm_enable", "pwm1"), Some(2.0));
        assert_eq!(get("node_hwmon_curr_amps", "curr1"), Some(1.5));
        assert_eq!(get("node_hwmon_power_watt", "power1"), Some(4.5));
        assert_eq!(get("node_hwmon_power_average_interval_seconds", "power1"), Some(1.0));
        let energy = find(&all, "node_hwmon_energy_joule_total", "energy1").unwrap();
        assert!(energy.counter);
        assert_eq!(energy.value, 2.0);
        assert_eq!(get("node_hwmon_humidity", "humidity1"), Some(0.045));
        assert_eq!(get("node_hwmon_update_interval_seconds", "update_interval0"), Some(2.0));
        assert_eq!(get("node_hwmon_voltage_regulator_version", "vrm0"), Some(9.0));
        assert_eq!(get("node_hwmon_beep_enabled", "beep_enable0"), Some(1.0));
        assert!(all.iter().all(|s| s.sensor != "temp2"));
    }

    #[test]
    fn a_later_file_replaces_an_earlier_one() {
        let all = samples_of(&[("temp1_input", "1000"), ("temp01_input", "2000"), ("temp2_input", "3000")]);
        assert_eq!(all.len(), 2);
        assert_eq!(find(&all, "node_hwmon_temp_celsius", "temp1").map(|s| s.value), Some(2.0));
        assert_eq!(all[0].chip, "chip");
    }

    #[test]
    fn input_next_to_a_bare_value_keeps_its_name() {
        let all = samples_of(&[("fan1", "10"), ("fan1_input", "20")]);
        assert_eq!(find(&all, "node_hwmon_fan", "fan1").map(|s| s.value), Some(10.0));
        assert_eq!(find(&all, "node_hwmon_fan_input_rpm", "fan1").map(|s| s.value), Some(20.0));
    }
}
