//! time: `node_time_seconds` and `node_time_zone_offset_seconds{time_zone}`,
//! as node_exporter's time collector writes them (without its clocksource
//! families).
//!
//! node_exporter asks Go for the local zone. A router keeps it as a POSIX
//! rule (`CET-1CEST,M3.5.0,M10.5.0/3`) in `/etc/TZ` (under `[paths] etc`),
//! or in the `TZ` variable of the shell that started us; that file comes
//! first, then the variable, and with neither the zone is UTC. Zoneinfo
//! names (`Europe/Berlin`) are not read: a router without the zoneinfo
//! package has no database to look them up in. A `TZ` file that is not a
//! rule is an error naming it; a `TZ` variable that is not one is skipped.

use super::{CollectError, Collector};
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::{Roots, read_bounded};
use crate::parse::tz;
use std::time::{SystemTime, UNIX_EPOCH};

/// The time collector.
#[derive(Default)]
pub struct TimeCollector {
    text: String,
    /// Where the zone came from, for `--diagnose`.
    source: String,
}

impl Collector for TimeCollector {
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        self.source.clear();
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
        let path = roots.etc_path("TZ");
        let env = tz_variable();
        let (rule, source) = match read_bounded(&path, &mut self.text) {
            Ok(()) => {
                let rule = tz::parse(&self.text).map_err(|error| CollectError::Parse { path: path.clone(), error })?;
                (rule, path.display().to_string())
            }
            Err(e) if !e.is_missing() => return Err(e.into()),
            Err(_) => match tz::parse(&env) {
                Ok(rule) => (rule, "the TZ variable".to_string()),
                Err(_) => (
                    tz::Rule { std_name: "UTC", std_east: 0, dst: None },
                    "the default: no TZ file and no TZ rule in the environment".to_string(),
                ),
            },
        };
        let (zone, offset) = rule.at(now as i64);
        self.source = format!("zone {zone} from {source}");
        out.family("node_time_seconds", "System time in seconds since epoch (1970).", MetricType::Gauge);
        out.sample(&[], now);
        out.family("node_time_zone_offset_seconds", "System time zone offset in seconds.", MetricType::Gauge);
        out.sample(&[("time_zone", zone)], offset);
        Ok(())
    }

    fn sources(&self) -> Vec<(bool, String)> {
        if self.source.is_empty() { Vec::new() } else { vec![(true, self.source.clone())] }
    }
}

/// The `TZ` variable, through getenv(3): std's `env::var` costs kilobytes
/// on the router binary, and this process never sets a variable.
fn tz_variable() -> String {
    // SAFETY: a NUL-terminated name; nothing in this process calls setenv.
    let p = unsafe { libc::getenv(c"TZ".as_ptr()) };
    if p.is_null() {
        return String::new();
    }
    // SAFETY: getenv returned a NUL-terminated string that stays valid
    // until a setenv, and this process makes none.
    unsafe { std::ffi::CStr::from_ptr(p) }.to_string_lossy().into_owned()
}
