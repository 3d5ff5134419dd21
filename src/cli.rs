//! Command-line parsing and the top-level flow behind `main`.

use crate::app::{self, App, ConfigSource};
use crate::config::Config;
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Args {
    /// Where the config comes from.
    pub config: ConfigSource,
    /// Validate the config and exit.
    pub check_config: bool,
    /// Print one scrape and exit.
    pub once: bool,
    /// Print the version and exit.
    pub version: bool,
    /// Print usage and exit.
    pub help: bool,
    /// Log to syslog whatever `log.target` says.
    pub syslog: bool,
    /// With `--once`: save the raw nl80211 replies into this directory.
    pub nl80211_capture: Option<PathBuf>,
    /// `--diagnose[=ADDR]`: print the report, with the address of the
    /// client that will scrape when given.
    pub diagnose: Option<Option<IpAddr>>,
    /// `--status`: scrape the running exporter and say how it does.
    pub status: bool,
    /// `--supervise`: serve from a child process, started again when it dies.
    pub supervise: bool,
}

/// Usage text for `--help` and for argument errors.
pub const USAGE: &str = "\
Usage: ap-exporter [--config PATH]... [--check-config] [--once [--nl80211-capture DIR]] [--syslog]
                   [--diagnose[=ADDR]] [--status] [--supervise] [--version] [--help]

Prometheus exporter for WiFi access points and routers.

Options:
  --config PATH    config file (default /opt/etc/ap-exporter.toml, else
                   OpenWrt's /etc/ap-exporter.toml with its UCI settings,
                   else built-in defaults); given
                   again, each file is read over the ones before (the OpenWrt
                   init script adds the settings made with uci this way)
  --check-config   validate the config and exit (0 = valid)
  --once           print one scrape to stdout and exit
  --syslog         log to syslog (/dev/log) whatever log.target says;
                   the init scripts use it
  --nl80211-capture DIR
                   with --once: also save the raw nl80211 replies in DIR
                   (attach them to a bug report; paths.nl80211 replays them)
  --diagnose[=ADDR]
                   check platform, config, listeners, collectors and access,
                   and say how to fix what fails (changes nothing; exit 0 =
                   all well); ADDR: the Prometheus address, to check allow
  --status         scrape the running exporter on loopback: its version and
                   failing collectors (exit 0 = serving); init scripts use it
  --supervise      serve from a child process and start it again when it
                   dies (Entware's init script uses it: rc.func has no respawn)
  --version        print the version and exit
  -h, --help       print this help

Signals: SIGHUP reloads the config; SIGTERM and SIGINT stop the exporter.
";

/// Parses the arguments after the program name.
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<Args, String> {
    let mut out = Args {
        config: ConfigSource::DefaultPath,
        check_config: false,
        once: false,
        version: false,
        help: false,
        syslog: false,
        nl80211_capture: None,
        diagnose: None,
        status: false,
        supervise: false,
    };
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--config" | "-c" => {
                let path = args.next().ok_or("--config needs a path")?;
                out.config.add(PathBuf::from(path));
            }
            s if s.starts_with("--config=") => out.config.add(PathBuf::from(&s["--config=".len()..])),
            "--check-config" => out.check_config = true,
            "--once" => out.once = true,
            "--version" | "-V" => out.version = true,
            "--help" | "-h" => out.help = true,
            "--syslog" => out.syslog = true,
            "--diagnose" => out.diagnose = Some(None),
            s if s.starts_with("--diagnose=") => {
                let addr = &s["--diagnose=".len()..];
                let ip = addr.parse().map_err(|_| format!("--diagnose={addr}: not an IP address"))?;
                out.diagnose = Some(Some(ip));
            }
            "--status" => out.status = true,
            "--supervise" => out.supervise = true,
            "--nl80211-capture" => {
                let dir = args.next().ok_or("--nl80211-capture needs a directory")?;
                out.nl80211_capture = Some(PathBuf::from(dir));
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(out)
}

/// Runs the program; the exit code is 0 on success, 1 on a config or
/// runtime error, 2 on a usage error.
pub fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("ap-exporter: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if args.help {
        print!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    if args.version {
        println!("ap-exporter {} ({})", crate::VERSION, crate::TARGET);
        return ExitCode::SUCCESS;
    }
    if let Some(client) = args.diagnose {
        // Collectors' own log lines would repeat the report's findings.
        crate::os::logging::init(&crate::config::LogConfig {
            level: crate::config::LogLevel::Error,
            ..Default::default()
        });
        let (report, ok) = crate::diagnose::report(&args.config, client);
        print!("{report}");
        return if ok { ExitCode::SUCCESS } else { ExitCode::from(1) };
    }
    // Log to stderr at info until the config says otherwise; with --syslog,
    // to syslog from the start, so an init script (whose stderr goes
    // nowhere) still shows why a bad config stopped the exporter.
    crate::os::logging::init(&Config::default().log);
    if args.syslog {
        crate::os::logging::force_syslog();
    }
    let config = match args.config.load() {
        Ok(c) => c,
        Err(e) => {
            if args.syslog {
                log::error!("not starting: {e}");
            }
            eprintln!("ap-exporter: {e}");
            return ExitCode::from(1);
        }
    };
    if args.status {
        let (said, serving) = crate::diagnose::status(&config);
        println!("{said}");
        return if serving { ExitCode::SUCCESS } else { ExitCode::from(1) };
    }
    if args.check_config {
        match &args.config {
            source if source.files().is_empty() => {
                println!("{}: valid", crate::app::NO_CONFIG_FILE)
            }
            source => println!("{}: valid", source.display()),
        }
        return ExitCode::SUCCESS;
    }
    if args.nl80211_capture.is_some() && !args.once {
        eprintln!("ap-exporter: --nl80211-capture works with --once only\n\n{USAGE}");
        return ExitCode::from(2);
    }
    if args.once {
        // --once is for eyes on a console: keep the configured level but stay on stderr.
        let mut log = config.log.clone();
        log.target = crate::config::LogTarget::Stderr;
        crate::os::logging::apply(&log);
        let mut app = App::new(config);
        if let Some(dir) = &args.nl80211_capture {
            app.capture_nl80211(dir);
        }
        let text = app.scrape_all().to_string();
        let mut stdout = std::io::stdout().lock();
        return match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ap-exporter: cannot write to stdout: {e}");
                ExitCode::from(1)
            }
        };
    }
    crate::os::logging::apply(&config.log);
    if args.supervise {
        if let crate::os::supervisor::Role::Finished(code) = crate::os::supervisor::run() {
            return ExitCode::from(code);
        }
    }
    match app::serve(args.config, config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // Once on the console, and once in syslog when the log goes there.
            if crate::os::logging::to_syslog() {
                log::error!("not starting: {e}");
            }
            eprintln!("ap-exporter: {e}");
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(a: &[&str]) -> Result<Args, String> {
        parse_args(a.iter().map(|s| s.to_string()))
    }

    #[test]
    fn parses_flags() {
        let a = parse(&["--config", "/x.toml", "--once"]).unwrap();
        assert_eq!(a.config, ConfigSource::Explicit(vec!["/x.toml".into()]));
        assert!(a.once && !a.check_config);
        assert_eq!(parse(&["--config=/y"]).unwrap().config, ConfigSource::Explicit(vec!["/y".into()]));
        assert_eq!(
            parse(&["--config", "/a", "--config=/b"]).unwrap().config,
            ConfigSource::Explicit(vec!["/a".into(), "/b".into()])
        );
        assert_eq!(parse(&[]).unwrap().config, ConfigSource::DefaultPath);
        assert!(parse(&["--config"]).is_err());
        assert!(parse(&["--bogus"]).is_err());
        assert_eq!(parse(&["--diagnose"]).unwrap().diagnose, Some(None));
        assert_eq!(parse(&["--diagnose=10.0.0.5"]).unwrap().diagnose, Some(Some("10.0.0.5".parse().unwrap())));
        assert!(parse(&["--diagnose=nope"]).is_err());
        assert!(parse(&["--status"]).unwrap().status);
        assert!(parse(&["--supervise"]).unwrap().supervise);
    }
}
