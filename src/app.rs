//! The running exporter: config loading and reloading, the HTTP routes, and
//! the main loop that ties the server, the signals and the collectors together.

use crate::collectors::CollectorSet;
use crate::config::{Config, ConfigError, DEFAULT_PATH};
use crate::http::auth::{BasicAuth, Verdict};
use crate::http::server::{Answer, Handler, Limits, Reply, Server};
use crate::http::{self, Request, Status};
use crate::metrics::exposition::{CONTENT_TYPE, Exposition};
use crate::metrics::registry::Registry;
use crate::os::interfaces::{Absence, listen_addrs};
use crate::os::listener::ensure_fd_limit;
use crate::os::signals::Signals;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::RawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Where OpenWrt's packages keep the config, and the file of settings their
/// init script writes from UCI, read over it.
pub const OPENWRT_PATHS: [&str; 2] = ["/etc/ap-exporter.toml", "/var/etc/ap-exporter.uci.toml"];

/// What is said when no package's config file is there (one string, no formatting).
pub const NO_CONFIG_FILE: &str = "no file at /opt/etc/ap-exporter.toml or /etc/ap-exporter.toml: built-in defaults";

/// Where the config comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// `--config PATH`, once or more: each file must exist, and each is
    /// read over the ones before it.
    Explicit(Vec<PathBuf>),
    /// No `--config`: the files a package installed (see [`ConfigSource::files`]),
    /// else built-in defaults.
    DefaultPath,
}

impl ConfigSource {
    /// The files to read. With no `--config`: Entware's, else OpenWrt's
    /// (with the UCI settings over it once the init script wrote them), so
    /// `ap-exporter --diagnose` reads what the running exporter reads on
    /// both; none when neither is there.
    pub fn files(&self) -> Vec<PathBuf> {
        let exists = |p: &str| Path::new(p).exists();
        match self {
            ConfigSource::Explicit(paths) => paths.clone(),
            ConfigSource::DefaultPath if exists(DEFAULT_PATH) => vec![PathBuf::from(DEFAULT_PATH)],
            ConfigSource::DefaultPath if exists(OPENWRT_PATHS[0]) => {
                OPENWRT_PATHS.iter().filter(|p| exists(p)).map(PathBuf::from).collect()
            }
            ConfigSource::DefaultPath => Vec::new(),
        }
    }

    /// Loads the config, logging when built-in defaults stand in for
    /// missing default files.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let files = self.files();
        if files.is_empty() {
            log::info!("{NO_CONFIG_FILE}");
            return Ok(Config::default());
        }
        Config::load_all(&files)
    }

    /// Adds a `--config` file after those given before.
    pub fn add(&mut self, path: PathBuf) {
        match self {
            ConfigSource::Explicit(paths) => paths.push(path),
            ConfigSource::DefaultPath => *self = ConfigSource::Explicit(vec![path]),
        }
    }

    /// The files, as messages show them: "A" or "A + B".
    pub fn display(&self) -> String {
        let mut shown = String::new();
        for p in self.files() {
            if !shown.is_empty() {
                shown.push_str(" + ");
            }
            shown.push_str(&p.to_string_lossy());
        }
        if shown.is_empty() {
            shown.push_str("the built-in defaults");
        }
        shown
    }
}

const LANDING_PAGE: &str = "<!DOCTYPE html>\n<html><head><title>ap-exporter</title></head><body>\n\
<h1>ap-exporter</h1>\n<p>Prometheus exporter for WiFi access points and routers.</p>\n\
<p><a href=\"/metrics\">Metrics</a></p>\n</body></html>\n";

/// The application state behind the HTTP routes.
pub struct App {
    config: Config,
    registry: Registry,
    auth: BasicAuth,
    metrics: Exposition,
    listening: Listening,
}

/// How often the addresses of `listen_interface` are looked at again, so a
/// DHCP change or a late ifup is followed without a SIGHUP.
const LISTEN_RECHECK: Duration = Duration::from_secs(10);

/// The addresses listened on, and, with `listen_interface`, when to look
/// at the interface again.
#[derive(Default)]
struct Listening {
    addrs: Vec<SocketAddr>,
    /// Why the interface gave no address, as last logged (logged once).
    absent: Option<Absence>,
    /// Whether binding its new addresses failed (logged once, until they change again).
    failed: bool,
    next_check: Option<Instant>,
}

impl Listening {
    /// Binds what `config` says to listen on now (`listen`, narrowed to
    /// `listen_interface`'s addresses). On failure nothing changes.
    fn bind(&mut self, config: &Config, server: &mut Server) -> Result<(), String> {
        let (addrs, absent) = listen_addrs(&config.listen.0, config.listen_interface.get());
        server.listen_on(&addrs).map_err(|e| e.to_string())?;
        self.settle(config, addrs, absent);
        Ok(())
    }

    /// With `listen_interface`, when it is time: binds the interface's
    /// addresses anew if they changed. A failure keeps the old listeners,
    /// is logged once, and is tried again at the next look.
    fn follow(&mut self, config: &Config, server: &mut Server, now: Instant) {
        if self.next_check.is_none_or(|t| t > now) {
            return;
        }
        self.next_check = Some(now + LISTEN_RECHECK);
        let (addrs, absent) = listen_addrs(&config.listen.0, config.listen_interface.get());
        if addrs == self.addrs {
            return;
        }
        match server.listen_on(&addrs) {
            Ok(()) => self.settle(config, addrs, absent),
            Err(e) => {
                if !self.failed {
                    log::error!("listen_interface: the new addresses cannot be used, keeping the old: {e}");
                }
                self.failed = true;
            }
        }
    }

    /// Records what a (re)bind gave; warns once when the interface gave
    /// nothing, and schedules the next look.
    fn settle(&mut self, config: &Config, addrs: Vec<SocketAddr>, absent: Option<Absence>) {
        let interface = config.listen_interface.get();
        if absent != self.absent {
            if let (Some(name), Some(why)) = (interface, &absent) {
                log::warn!(
                    "listen_interface {name}: {why}: not listening there until it has one (looked at every 10 s)"
                );
            }
        }
        self.addrs = addrs;
        self.absent = absent;
        self.failed = false;
        self.next_check = interface.map(|_| Instant::now() + LISTEN_RECHECK);
    }
}

fn limits(config: &Config) -> Limits {
    Limits {
        max_connections: config.max_connections.0 as usize,
        timeout: Duration::from_secs(config.connection_timeout_seconds.0),
    }
}

impl App {
    /// Builds the app for a config.
    pub fn new(config: Config) -> App {
        let registry = Registry::new(&config);
        let auth = BasicAuth::new(config.auth.basic_auth_users.clone());
        App { config, registry, auth, metrics: Exposition::new(), listening: Listening::default() }
    }

    /// Saves nl80211 replies into `dir` during scrapes.
    pub fn capture_nl80211(&mut self, dir: &Path) {
        self.registry.capture_nl80211(dir);
    }

    /// One scrape of every enabled collector, as text.
    pub fn scrape_all(&mut self) -> &str {
        let sel = self.registry.all_enabled();
        self.registry.scrape(sel, &mut self.metrics);
        self.metrics.as_str()
    }

    fn selection(&self, query: &str) -> Result<CollectorSet, String> {
        let mut collect = Vec::new();
        let mut exclude = Vec::new();
        for (k, v) in http::query_pairs(query) {
            match k.as_ref() {
                "collect[]" => collect.push(v),
                "exclude[]" => exclude.push(v),
                _ => {}
            }
        }
        let collect: Vec<&str> = collect.iter().map(|c| c.as_ref()).collect();
        let exclude: Vec<&str> = exclude.iter().map(|c| c.as_ref()).collect();
        self.registry.select(&collect, &exclude).map_err(|e| e.to_string())
    }

    /// Applies a new config: listeners first (the only step that can fail),
    /// then everything else. On failure nothing changes.
    fn apply(&mut self, new: Config, server: &mut Server) -> Result<(), String> {
        let limits = limits(&new);
        ensure_fd_limit(limits.max_open() as u64)?;
        self.listening.bind(&new, server)?;
        server.set_limits(limits);
        crate::os::logging::apply(&new.log);
        self.registry.apply(&new);
        // Credentials whose user kept its hash stay verified.
        self.auth.reconfigure(new.auth.basic_auth_users.clone());
        self.config = new;
        // Connections from clients the new allow list refuses end now.
        server.revalidate(self);
        Ok(())
    }
}

fn reply(status: Status, content_type: &'static str) -> Reply {
    Reply { status, content_type, headers: Vec::new() }
}

fn text_reply(status: Status, body: &mut Vec<u8>, text: &str) -> Reply {
    body.extend_from_slice(text.as_bytes());
    reply(status, "text/plain; charset=utf-8")
}

impl Handler for App {
    fn permits(&self, peer: IpAddr) -> bool {
        self.config.allow.permits(peer)
    }

    fn handle(&mut self, request: &Request, peer: IpAddr, body: &mut Vec<u8>) -> Answer {
        match self.route(request, peer, body) {
            Route::NextTurn => Answer::NextTurn,
            Route::Reply(reply) => Answer::Now(reply),
            Route::Scrape(selection) => {
                let ticket = self.registry.begin(selection);
                // Without an isolated collector the scrape is complete already.
                match self.finish(ticket, body) {
                    Some(reply) => Answer::Now(reply),
                    None => Answer::Later { ticket, ready_by: self.registry.ready_by(ticket) },
                }
            }
        }
    }

    fn finish(&mut self, ticket: u64, body: &mut Vec<u8>) -> Option<Reply> {
        if !self.registry.finish(ticket, &mut self.metrics) {
            return None;
        }
        body.extend_from_slice(self.metrics.as_str().as_bytes());
        // The body has the text now; a normal scrape is tens of KiB.
        self.metrics.release_above(256 * 1024);
        Some(reply(Status::Ok, CONTENT_TYPE))
    }

    fn abandon(&mut self, ticket: u64) {
        self.registry.abandon(ticket);
    }

    fn pending(&self, fds: &mut Vec<RawFd>) -> Option<Instant> {
        self.registry.pending_fds(fds)
    }

    fn advance(&mut self, now: Instant) {
        self.auth.new_turn();
        self.registry.advance(now);
    }
}

/// Where a request goes.
enum Route {
    /// Answered at once.
    Reply(Reply),
    /// A scrape of these collectors.
    Scrape(CollectorSet),
    /// Asked again in the next turn (see `Verdict::NextTurn`).
    NextTurn,
}

impl App {
    fn route(&mut self, request: &Request, peer: IpAddr, body: &mut Vec<u8>) -> Route {
        let done = Route::Reply;
        match self.auth.check(request.authorization, peer) {
            Verdict::Allowed => {}
            Verdict::Denied => {
                let mut r = text_reply(Status::Unauthorized, body, "401 Unauthorized\n");
                r.headers.push(("WWW-Authenticate", "Basic realm=\"ap-exporter\", charset=\"UTF-8\"".into()));
                return done(r);
            }
            Verdict::NextTurn => return Route::NextTurn,
            Verdict::Throttled => {
                let mut r =
                    text_reply(Status::TooManyRequests, body, "429 Too Many Requests: too many new credentials\n");
                r.headers.push(("Retry-After", "1".into()));
                return done(r);
            }
        }
        let known = matches!(request.path, "/metrics" | "/");
        if !known {
            return done(text_reply(Status::NotFound, body, "404 Not Found: try /metrics\n"));
        }
        if request.method != "GET" && request.method != "HEAD" {
            let mut r = text_reply(Status::MethodNotAllowed, body, "405 Method Not Allowed: use GET or HEAD\n");
            r.headers.push(("Allow", "GET, HEAD".into()));
            return done(r);
        }
        if request.path == "/" {
            body.extend_from_slice(LANDING_PAGE.as_bytes());
            return done(reply(Status::Ok, "text/html; charset=utf-8"));
        }
        match self.selection(request.query) {
            Ok(selection) => Route::Scrape(selection),
            Err(msg) => done(text_reply(Status::BadRequest, body, &format!("400 Bad Request: {msg}\n"))),
        }
    }
}

/// Serves until SIGTERM or SIGINT. Returns an error message if the server
/// cannot start.
pub fn serve(source: ConfigSource, config: Config) -> Result<(), String> {
    // An exporter its supervisor started again reads the config anew, so a
    // file fixed after a crash applies.
    let config = match crate::os::supervisor::restarts() {
        Some(1..) => {
            let fresh = source.load().map_err(|e| e.to_string())?;
            crate::os::logging::apply(&fresh.log);
            fresh
        }
        _ => config,
    };
    let signals = Signals::install().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    ensure_fd_limit(limits(&config).max_open() as u64)?;
    let mut server = Server::new(limits(&config));
    let mut app = App::new(config);
    app.listening.bind(&app.config, &mut server).map_err(|e| format!("{}: {e}", source.display()))?;
    log::info!("ap-exporter {} ({}) started", crate::VERSION, crate::TARGET);
    loop {
        let wake = [app.registry.next_sample(), app.listening.next_check].into_iter().flatten().min();
        if let Err(e) = server.turn(&mut app, signals.fd(), wake) {
            // poll itself failing is not something waiting fixes; don't spin.
            log::error!("poll failed: {e}");
            std::thread::sleep(Duration::from_millis(100));
        }
        let pending = signals.take();
        if pending.terminate {
            log::info!("shutting down");
            app.registry.stop_children();
            return Ok(());
        }
        if pending.reload {
            match source.load() {
                Ok(new) => match app.apply(new, &mut server) {
                    Ok(()) => log::info!("reloaded {}", source.display()),
                    Err(e) => log::error!("reload of {} failed, keeping the old config: {e}", source.display()),
                },
                Err(e) => log::error!("reload failed, keeping the old config: {e}"),
            }
        }
        app.registry.sample_due(Instant::now());
        app.listening.follow(&app.config, &mut server, Instant::now());
    }
}
