//! A small `log` backend: stderr with a UTC timestamp, or syslog via
//! `/dev/log`. Its settings live in atomics so a SIGHUP can change them
//! without locks.

use crate::config::{LogConfig, LogLevel, LogTarget};
use std::cell::RefCell;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};

thread_local! {
    /// The syslog socket path. Only the serving thread logs, so a
    /// thread-local needs no lock.
    static SYSLOG_SOCKET: RefCell<PathBuf> = RefCell::new(PathBuf::from("/dev/log"));
    /// Lines held back instead of written, in a collector's child process
    /// (see [`capture`]).
    static CAPTURED: RefCell<Option<Vec<(log::Level, String)>>> = const { RefCell::new(None) };
}

static TO_SYSLOG: AtomicBool = AtomicBool::new(false);
/// Set by `--syslog`: overrides `log.target`, across reloads too.
static FORCE_SYSLOG: AtomicBool = AtomicBool::new(false);
static LOGGER: Logger = Logger;

struct Logger;

/// Installs the logger (once) and applies the settings.
pub fn init(config: &LogConfig) {
    // A second call fails harmlessly; the settings below still apply.
    let _ = log::set_logger(&LOGGER);
    apply(config);
}

/// Applies new settings (on reload).
pub fn apply(config: &LogConfig) {
    log::set_max_level(match config.level {
        LogLevel::Error => log::LevelFilter::Error,
        LogLevel::Warn => log::LevelFilter::Warn,
        LogLevel::Info => log::LevelFilter::Info,
        LogLevel::Debug => log::LevelFilter::Debug,
    });
    SYSLOG_SOCKET.with(|p| p.replace(config.syslog_socket.clone()));
    let syslog = config.target == LogTarget::Syslog || FORCE_SYSLOG.load(Ordering::Relaxed);
    TO_SYSLOG.store(syslog, Ordering::Relaxed);
}

/// Holds every later log line back, to be taken with [`take_captured`]. A
/// collector's child process uses it to hand its lines to the parent,
/// which logs a repeated warning once, as it does for its own.
pub fn capture() {
    CAPTURED.with(|c| *c.borrow_mut() = Some(Vec::new()));
}

/// The lines held back since [`capture`].
pub fn take_captured() -> Vec<(log::Level, String)> {
    CAPTURED.with(|c| c.borrow_mut().as_mut().map(std::mem::take).unwrap_or_default())
}

/// Sends every later log line to syslog, whatever the config says. Init
/// scripts use this: Entware's rc.func throws stdout and stderr away.
pub fn force_syslog() {
    FORCE_SYSLOG.store(true, Ordering::Relaxed);
    TO_SYSLOG.store(true, Ordering::Relaxed);
}

/// Whether log lines go to syslog (else to stderr, where a message printed
/// for the console would show twice).
pub fn to_syslog() -> bool {
    TO_SYSLOG.load(Ordering::Relaxed)
}

impl log::Log for Logger {
    fn enabled(&self, metadata: &log::Metadata) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let held = CAPTURED.with(|c| match c.borrow_mut().as_mut() {
            Some(lines) => {
                lines.push((record.level(), record.args().to_string()));
                true
            }
            None => false,
        });
        if held {
            return;
        }
        if TO_SYSLOG.load(Ordering::Relaxed) && send_syslog(record).is_ok() {
            return;
        }
        let line = format!("{} {:<5} {}\n", utc_timestamp(), record.level(), record.args());
        // One write per line, so concurrent writers (there are none) could not interleave.
        let _ = std::io::stderr().write_all(line.as_bytes());
    }

    fn flush(&self) {}
}

/// Sends one RFC 3164-style message to the local syslog socket, facility
/// daemon. A new socket per message: log lines are rare, and this survives
/// syslogd restarts.
fn send_syslog(record: &log::Record) -> std::io::Result<()> {
    let severity = match record.level() {
        log::Level::Error => 3,
        log::Level::Warn => 4,
        log::Level::Info => 6,
        log::Level::Debug | log::Level::Trace => 7,
    };
    const DAEMON: u32 = 3 << 3;
    let msg = format!("<{}>ap-exporter[{}]: {}", DAEMON | severity, std::process::id(), record.args());
    let sock = std::os::unix::net::UnixDatagram::unbound()?;
    SYSLOG_SOCKET.with(|p| sock.send_to(msg.as_bytes(), &*p.borrow())).map(|_| ())
}

/// `YYYY-MM-DDTHH:MM:SSZ` for now, without a date library.
fn utc_timestamp() -> String {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days((secs / 86400) as i64);
    let rem = secs % 86400;
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem / 60 % 60, rem % 60)
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_417), (2025, 11, 25));
    }
}
