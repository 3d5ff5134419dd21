//! ap-exporter: a Prometheus exporter that runs on WiFi access points and
//! home routers, down to Linux 2.6.22 on FPU-less MIPS.

pub mod app;
pub mod auth;
pub mod cidr;
pub mod cli;
pub mod collectors;
pub mod command;
pub mod config;
pub mod counter_wrap;
pub mod exposition;
pub mod glob;
pub mod http;
pub mod logging;
pub mod procfs;
pub mod server;
pub mod signals;
pub mod source;
pub mod wireless;

/// The crate version, as in `ap_exporter_build_info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The Rust target triple this binary was built for.
pub const TARGET: &str = env!("AP_EXPORTER_TARGET");
