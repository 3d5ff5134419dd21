//! netclass: link state and properties of every interface from
//! `/sys/class/net/<iface>/*`, named as node_exporter's netclass collector
//! (`node_network_up`, `_info`, `_carrier`, `_speed_bytes`, ...).
//!
//! Like node_exporter 1.5, every directory (or link to one) in `class/net`
//! is an interface (so the file `bonding_masters` is not), no interface is
//! left out by default (`lo` too), and a file that is missing or fails to
//! read (2.6.22 has no `carrier_changes`; a down link answers EINVAL for
//! `carrier` and `speed`) leaves only its own series out. The files it
//! uses are opened by name rather than found by listing the directory.
//! Where node_exporter fails the whole collector (a dangling interface
//! link, a read error other than EINVAL, EOPNOTSUPP, ENOENT or EACCES),
//! this one leaves out that interface or file and goes on.

use super::sysfs::{list_dir, read_attr};
use super::{CollectError, Collector};
use crate::metrics::exposition::{Exposition, MetricType};
use crate::os::source::Roots;
use crate::parse::netclass::{ATTR_READ_BYTES, INFO_AT, INT_ATTRS, Iface};

/// At most this many interfaces are read per scrape (in name order); a
/// router has tens. Beyond it the scrape would grow without bound.
pub const MAX_INTERFACES: usize = 1024;

/// The netclass collector.
#[derive(Default)]
pub struct NetclassCollector {
    buf: Vec<u8>,
    ifaces: Vec<(String, Iface)>,
    /// What the last scrape found, for `--diagnose`.
    found: Vec<(bool, String)>,
}

impl NetclassCollector {
    fn read(&mut self, roots: &Roots) -> Result<(), CollectError> {
        let dir = roots.sysfs.join("class/net");
        self.ifaces.clear();
        self.found.clear();
        let (entries, cut) = match list_dir(&dir, MAX_INTERFACES) {
            Ok(v) => v,
            Err(e) if e.is_missing() => {
                return Err(CollectError::Unavailable(format!(
                    "{} does not exist (is sysfs mounted there? see [paths] sysfs)",
                    dir.display()
                )));
            }
            Err(e) => return Err(e.into()),
        };
        for name in entries {
            let iface_dir = dir.join(&name);
            // Interfaces are directories (or links to them); bonding_masters
            // and other plain files are not.
            if !std::fs::metadata(&iface_dir).is_ok_and(|m| m.is_dir()) {
                continue;
            }
            // Each known file is read directly: one that is missing, not a
            // regular file, or fails to read leaves its series out.
            let mut iface = Iface::default();
            for (k, file) in Iface::files().enumerate() {
                match read_attr(&iface_dir.join(file), ATTR_READ_BYTES, &mut self.buf) {
                    Ok(text) => iface.set_nth(k, &text),
                    Err(e) if e.is_missing() => {}
                    Err(e) => log::debug!("netclass: {e}; series left out"),
                }
            }
            self.ifaces.push((name, iface));
        }
        let up = self.ifaces.iter().filter(|(_, i)| i.up() == 1).count();
        self.found.insert(0, (true, format!("{}: {} interfaces, {up} up", dir.display(), self.ifaces.len())));
        if cut {
            self.found.push((false, format!("more than {MAX_INTERFACES} entries: the rest were left out")));
        }
        Ok(())
    }
}

impl Collector for NetclassCollector {
    fn collect(&mut self, roots: &Roots, out: &mut Exposition) -> Result<(), CollectError> {
        self.read(roots)?;
        // Families in name order; each written only when it has samples.
        let mut name = String::new();
        let mut help = String::new();
        for k in 0..=INT_ATTRS.len() {
            if k == INFO_AT {
                out.family(
                    "node_network_info",
                    "Text properties of the interface from /sys/class/net; always 1.",
                    MetricType::Gauge,
                );
                for (dev, i) in &self.ifaces {
                    let t = &i.texts;
                    let labels = [
                        ("address", t[0].as_str()),
                        ("broadcast", t[1].as_str()),
                        ("device", dev.as_str()),
                        ("duplex", t[2].as_str()),
                        ("ifalias", t[3].as_str()),
                        ("operstate", t[4].as_str()),
                    ];
                    out.sample(&labels, 1u64);
                }
            }
            let Some(&(file, family, counter)) = INT_ATTRS.get(k) else { break };
            if !self.ifaces.iter().any(|(_, i)| i.ints[k].is_some()) {
                continue;
            }
            name.clear();
            name.push_str("node_network_");
            name.push_str(family);
            help.clear();
            help.push_str("Interface property from /sys/class/net/<iface>/");
            help.push_str(file);
            help.push('.');
            out.family(&name, &help, if counter { MetricType::Counter } else { MetricType::Gauge });
            for (dev, i) in &self.ifaces {
                if let Some(v) = i.value(k) {
                    out.sample(&[("device", dev.as_str())], v);
                }
            }
        }
        out.family("node_network_up", "1 when the interface's operstate is \"up\", else 0.", MetricType::Gauge);
        for (dev, i) in &self.ifaces {
            out.sample(&[("device", dev.as_str())], i.up());
        }
        Ok(())
    }

    fn sources(&self) -> Vec<(bool, String)> {
        self.found.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    struct Root(PathBuf);
    impl Drop for Root {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn missing_files_drop_series_and_plain_files_are_not_interfaces() {
        let dir = std::env::temp_dir().join(format!("apx-netclass-{}", std::process::id()));
        let net = dir.join("class/net");
        std::fs::create_dir_all(net.join("eth0")).unwrap();
        std::fs::create_dir_all(net.join("br0")).unwrap();
        let _guard = Root(dir.clone());
        std::fs::write(net.join("bonding_masters"), "\n").unwrap();
        std::fs::write(net.join("eth0/operstate"), "up\n").unwrap();
        std::fs::write(net.join("eth0/mtu"), "1500\n").unwrap();
        std::fs::write(net.join("eth0/speed"), "-1\n").unwrap();
        std::fs::write(net.join("br0/operstate"), "down\n").unwrap();
        // A directory where a file belongs is not read.
        std::fs::create_dir_all(net.join("br0/carrier")).unwrap();
        let roots = Roots { sysfs: dir.clone(), ..Roots::default() };
        let mut c = NetclassCollector::default();
        let mut out = Exposition::new();
        c.collect(&roots, &mut out).unwrap();
        let text = out.as_str();
        assert!(text.contains("node_network_up{device=\"eth0\"} 1\n"), "{text}");
        assert!(text.contains("node_network_up{device=\"br0\"} 0\n"));
        assert!(text.contains("node_network_speed_bytes{device=\"eth0\"} -125000\n"));
        assert!(text.contains("node_network_mtu_bytes{device=\"eth0\"} 1500\n"));
        assert!(!text.contains("node_network_mtu_bytes{device=\"br0\""));
        assert!(!text.contains("bonding_masters"));
        assert!(!text.contains("node_network_carrier"));
        assert!(c.sources()[0].0);
        // No class/net at all: the collector fails, naming the path.
        let roots = Roots { sysfs: dir.join("nowhere"), ..Roots::default() };
        let e = c.collect(&roots, &mut Exposition::new()).unwrap_err();
        assert!(e.to_string().contains("nowhere/class/net does not exist"), "{e}");
    }
}
