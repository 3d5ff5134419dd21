//! ap-exporter: a Prometheus exporter that runs on WiFi access points and
//! home routers, down to Linux 2.6.22 on FPU-less MIPS.
//!
//! Layout (see `docs/design.md`): [`cli`] and [`app`] at the top, then
//! [`config`], [`http`], [`os`] (system calls: files, commands, sockets, signals),
//! [`metrics`] (exposition and the registry that runs a scrape), [`parse`]
//! (pure parsers, no I/O) and [`collectors`] (one file per collector).

pub mod app;
pub mod cli;
pub mod collectors;
pub mod config;
pub mod diagnose;
pub mod http;
pub mod metrics;
pub mod os;
pub mod parse;

/// The crate version, as in `ap_exporter_build_info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The Rust target triple this binary was built for.
pub const TARGET: &str = env!("AP_EXPORTER_TARGET");
