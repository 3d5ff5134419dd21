//! meminfo: every `/proc/meminfo` field as `node_memory_<Field>[_bytes]`,
//! named and typed by node_exporter's rules (see `parse::meminfo`): gauges,
//! except a unit-less field whose name ends in `_total` (none does today).

use super::{CollectError, Collector, kept, read_kept_parsed};
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::{KeptFile, Roots};
use crate::parse::meminfo;

/// The meminfo collector.
#[derive(Default)]
pub struct MeminfoCollector {
    text: String,
    /// The source, kept open across scrapes (`KeptFile`).
    file: Option<KeptFile>,
    name: String,
    help: String,
}

impl Collector for MeminfoCollector {
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        let fields = read_kept_parsed(
            kept(&mut self.file, roots, || KeptFile::proc(roots, "meminfo")),
            &mut self.text,
            meminfo::parse,
        )?;
        for f in &fields {
            self.name.clear();
            self.name.push_str("node_memory_");
            self.name.push_str(&f.name);
            self.help.clear();
            self.help.push_str("Memory information field ");
            self.help.push_str(&f.name);
            self.help.push('.');
            let ty = if f.name.ends_with("_total") { MetricType::Counter } else { MetricType::Gauge };
            out.family(&self.name, &self.help, ty);
            out.sample(&[], f.value);
        }
        Ok(())
    }
}
