//! Metric output: the text exposition format, the counter-wrap extension for
//! 32-bit kernels, and the registry that runs a scrape over the collector
//! table. May import `collectors`, `config`, `os` and `parse`.

pub mod counter_wrap;
pub mod exposition;
pub mod float_text;
pub mod registry;
