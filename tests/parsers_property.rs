//! Property tests for every parser: on any input (random bytes, and real
//! samples mutated by byte flips, splices and truncation) a parser returns
//! `Ok` or `Err`, never panics, and an `Err` names a line inside the input.
//! Bounded: a fixed seed and count, so CI time stays in seconds.

use ap_exporter::config::Config;
use ap_exporter::parse::{
    self, arp, conntrack, leases, loadavg, meminfo, net_dev, netlink, nl80211, process, release, stat, textformat, tz,
    wext, wl,
};
use ap_exporter::parse::{hwmon, mounts, netclass, thermal};
use std::path::Path;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const ALPHABET: &[u8] = b"0123456789abcdefABCDEF :|\n\t.-_()/[]\"\\=#xyz\xc3\xa9";

fn mutate(rng: &mut Rng, seed: &str) -> String {
    let mut bytes = seed.as_bytes().to_vec();
    for _ in 0..1 + rng.below(8) {
        match rng.below(5) {
            0 if !bytes.is_empty() => {
                let i = rng.below(bytes.len());
                bytes[i] = ALPHABET[rng.below(ALPHABET.len())];
            }
            1 if !bytes.is_empty() => {
                let cut = rng.below(bytes.len());
                bytes.truncate(cut);
            }
            2 => {
                let i = rng.below(bytes.len() + 1);
                let insert: Vec<u8> = (0..rng.below(40)).map(|_| ALPHABET[rng.below(ALPHABET.len())]).collect();
                bytes.splice(i..i, insert);
            }
            3 if !bytes.is_empty() => {
                let a = rng.below(bytes.len());
                let b = (a + rng.below(64)).min(bytes.len());
                bytes.drain(a..b);
            }
            _ => {
                // A long run of digits: overflow territory.
                let i = rng.below(bytes.len() + 1);
                bytes.splice(i..i, std::iter::repeat_n(b'9', 1 + rng.below(30)));
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn random_text(rng: &mut Rng) -> String {
    let len = rng.below(300);
    let bytes: Vec<u8> = (0..len).map(|_| ALPHABET[rng.below(ALPHABET.len())]).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn check_line(input: &str, line: usize) {
    assert!(line <= input.lines().count().max(1), "error line {line} beyond input {input:?}");
}

/// Runs `f` on random and mutated inputs. `AP_EXPORTER_FUZZ_ITERATIONS`
/// overrides the count (`make fuzz` runs a long campaign).
fn property(seeds: &[&str], iterations: usize, mut f: impl FnMut(&str)) {
    let iterations =
        std::env::var("AP_EXPORTER_FUZZ_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(iterations);
    let mut rng = Rng(0x2545F4914F6CDD1D);
    for i in 0..iterations {
        let input = if i % 4 == 0 || seeds.is_empty() {
            random_text(&mut rng)
        } else {
            let seed = seeds[rng.below(seeds.len())];
            mutate(&mut rng, seed)
        };
        f(&input);
    }
}

const NET_DEV: [&str; 3] = [
    include_str!("samples/net_dev_2.6.22_broadcom.txt"),
    include_str!("samples/net_dev_5.15_openwrt.txt"),
    include_str!("samples/net_dev_6.18_x86_64_host.txt"),
];

#[test]
fn net_dev_never_panics() {
    property(&NET_DEV, 20_000, |s| match net_dev::parse(s) {
        Ok(devs) => assert!(devs.iter().all(|d| !d.name.is_empty() && !d.name.contains(':'))),
        Err(e) => check_line(s, e.line),
    });
}

#[test]
fn mounts_never_panic_and_skip_only_short_lines() {
    let seeds = [
        include_str!("samples/mounts_merlin_386_rt-ac68u.txt"),
        include_str!("samples/mounts_openwrt_23.05_ubifs.txt"),
        include_str!("samples/mounts_ddwrt_usb.txt"),
        "/dev/sda1 /tmp/mnt/a\\040b\\134c ext4 ro 0 0\n",
    ];
    property(&seeds, 20_000, |s| {
        let (found, skipped) = mounts::parse(s);
        let lines = s.lines().filter(|l| !l.trim_ascii().is_empty()).count();
        assert_eq!(found.len() + skipped, lines, "{s:?}");
        assert!(found.iter().all(|m| !m.device.is_empty() && !m.mountpoint.is_empty() && !m.fstype.is_empty()));
    });
}

#[test]
fn loadavg_never_panics() {
    property(&["0.08 0.03 0.01 1/43 1190\n", "12.50 7.25 3.00 3/120 23145\n"], 20_000, |s| match loadavg::parse(s) {
        Ok(l) => assert!(l.one.is_finite() && l.one >= 0.0),
        Err(e) => check_line(s, e.line),
    });
}

#[test]
fn conntrack_never_panics() {
    let seeds = [
        include_str!("samples/nf_conntrack_stat_5.15_openwrt_4cpu.txt"),
        include_str!("samples/ip_conntrack_stat_2.6.22_broadcom_1cpu.txt"),
        "262144\n",
    ];
    property(&seeds, 20_000, |s| {
        if let Err(e) = conntrack::parse_stat(s) {
            check_line(s, e.line);
        }
        if let Err(e) = parse::parse_single_u64(s) {
            check_line(s, e.line);
        }
    });
}

#[test]
fn process_stat_never_panics() {
    let seeds = [
        "3515 (cat) R 3510 3510 1061 0 -1 4194304 98 0 0 0 0 0 0 0 20 0 1 0 16809 3133440 359 18446744073709551615 0\n",
        "cpu 1 2 3\nbtime 1795593433\n",
    ];
    property(&seeds, 20_000, |s| {
        let _ = process::parse_stat(s);
        let _ = process::parse_boot_time(s);
    });
}

#[test]
fn proc_stat_never_panics() {
    let seeds = [
        include_str!("samples/stat_2.6.22_broadcom_1cpu.txt"),
        include_str!("samples/stat_5.15_openwrt_4cpu.txt"),
        include_str!("samples/stat_6.18_x86_64_host.txt"),
    ];
    property(&seeds, 20_000, |s| match stat::parse(s) {
        Ok(st) => {
            assert!(st.cpus.iter().all(|c| (1..=10).contains(&c.columns)));
            assert!(st.cpus.windows(2).all(|w| w[0].id < w[1].id));
        }
        Err(e) => check_line(s, e.line),
    });
}

#[test]
fn meminfo_never_panics() {
    let seeds = [
        include_str!("samples/meminfo_2.6.22_broadcom.txt"),
        include_str!("samples/meminfo_5.15_openwrt.txt"),
        include_str!("samples/meminfo_6.18_x86_64_host.txt"),
    ];
    property(&seeds, 20_000, |s| match meminfo::parse(s) {
        Ok(fields) => {
            // Every name is a valid metric name suffix, and each appears once.
            for f in &fields {
                assert!(!f.name.is_empty() && f.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'), "{f:?}");
            }
            let mut names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), fields.len());
        }
        Err(e) => check_line(s, e.line),
    });
}

#[test]
fn arp_never_panics() {
    let seeds = [
        include_str!("samples/arp_2.6.22_broadcom.txt"),
        include_str!("samples/arp_5.15_openwrt.txt"),
        include_str!("samples/arp_6.18_x86_64_host.txt"),
    ];
    property(&seeds, 20_000, |s| match arp::parse(s) {
        Ok(counts) => assert!(counts.iter().all(|(d, n)| !d.is_empty() && *n > 0)),
        Err(e) => check_line(s, e.line),
    });
}

#[test]
fn tz_and_release_never_panic() {
    let seeds = [
        "CET-1CEST,M3.5.0,M10.5.0/3\n",
        "NZST-12NZDT,M9.5.0,M4.1.0/3",
        "<+0530>-5:30<+0630>,J60/-167,100/167:59:59",
        "UTC\n",
        "DISTRIB_ID='OpenWrt'\nDISTRIB_RELEASE='23.05.3'\nDISTRIB_TARGET='ramips/mt7621'\n",
    ];
    let mut t: i64 = -1;
    property(&seeds, 20_000, |s| {
        if let Ok(rule) = tz::parse(s) {
            // Any instant, including ones far outside a real clock.
            for at in [0, 1_714_397_040, i64::MIN, i64::MAX, t] {
                let (name, offset) = rule.at(at);
                assert!(!name.is_empty() && offset.abs() <= 26 * 3600, "{s:?} at {at}: {offset}");
            }
        }
        t = t.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        let _ = release::openwrt_release(s);
        if let Err(e) = release::line(s) {
            check_line(s, e.line);
        }
    });
}

#[test]
fn config_never_panics() {
    let seeds =
        [include_str!("../files/ap-exporter.toml"), "listen = [\"[::]:9100\"]\n[netdev]\ninclude = [\"eth[0-9]\"]\n"];
    property(&seeds, 5_000, |s| {
        if let Err(e) = Config::from_toml(s, Path::new("fuzz.toml")) {
            let text = e.to_string();
            assert!(text.starts_with("fuzz.toml"), "{text}");
        }
    });
}

/// Inputs kept from earlier campaigns (tests/corpus/<parser>/): each must
/// give a clean error or value, never a panic. Add crash inputs here.
#[test]
fn corpus_regressions() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut count = 0;
    for parser in std::fs::read_dir(&root).unwrap() {
        let parser = parser.unwrap().path();
        let name = parser.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&parser).unwrap() {
            let bytes = std::fs::read(file.unwrap().path()).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            match name.as_str() {
                "net_dev" => assert!(net_dev::parse(&text).is_err()),
                "conntrack_stat" => assert!(conntrack::parse_stat(&text).is_err()),
                "loadavg" => assert!(loadavg::parse(&text).is_err()),
                other => panic!("no parser for corpus folder {other}"),
            }
            count += 1;
        }
    }
    assert!(count >= 7);
}

#[test]
fn wl_outputs_never_panic() {
    let seeds = [
        include_str!("samples/wl/status_ddwrt_2g.txt"),
        include_str!("samples/wl/status_ddwrt_5g.txt"),
        include_str!("samples/wl/status_merlin_ax_2g.txt"),
        include_str!("samples/wl/sta_info_rt-ac56u.txt"),
        include_str!("samples/wl/sta_info_ver8_5g_160.txt"),
        include_str!("samples/wl/assoclist_ver8.txt"),
        include_str!("samples/wl/chanim_stats_v2.txt"),
        include_str!("samples/wl/chanim_stats_v3.txt"),
        include_str!("samples/wl/phy_tempsense.txt"),
    ];
    property(&seeds, 20_000, |s| {
        let st = wl::parse_status(s);
        let _ = st.frequency_mhz();
        let sta = wl::parse_sta_info("aa:bb:cc:dd:ee:ff", s);
        assert!(sta.signal_dbm.is_none_or(|r| r < 0));
        for mac in wl::parse_assoclist(s) {
            assert_eq!(mac.len(), 17);
        }
        let _ = wl::parse_int(s);
        // Percentages stay percentages, temperatures and noise plausible.
        let chanim = wl::parse_chanim_stats(s);
        assert!(chanim.busy_per10k.is_none_or(|b| b <= 10_000));
        assert!(chanim.noise_dbm.is_none_or(|n| n < 0));
        assert!(wl::parse_tempsense(s).is_none_or(|t| (-40..=150).contains(&t)));
        assert!(wl::parse_noise(s).is_none_or(|n| n < 0));
        let _ = ap_exporter::parse::wifi::parse_iface_up(s);
    });
}

#[test]
fn wext_and_leases_never_panic() {
    let seeds = [
        " wlan1: 0000   70.  -30.  -256        0      0      0      0      0        0\n",
        "1732560000 34:53:d2:fc:e5:12 192.168.1.23 pixel-7 01:34:53:d2:fc:e5:12\nduid 00:01\n",
        "2\n",
    ];
    property(&seeds, 20_000, |s| {
        if let Err(e) = wext::parse(s) {
            check_line(s, e.line);
        }
        // A replayed mode: a label of IW_MODE_* or empty, never a panic.
        let mode = wext::parse_mode(s);
        assert_eq!(wext::mode_label(mode).is_empty(), mode.is_none_or(|m| m > 7), "{s:?}");
        let l = leases::parse(s);
        assert!(l.skipped <= s.lines().count(), "{s:?}");
        if let Some(e) = l.first_skipped {
            check_line(s, e.line);
        }
    });
}

/// Good leases of a dual-stack dnsmasq: (line, MAC, hostname).
const GOOD_LEASES: [(&str, &str, &str); 4] = [
    ("1732560000 34:53:d2:fc:e5:12 192.168.1.23 pixel-7 01:34:53:d2:fc:e5:12", "34:53:d2:fc:e5:12", "pixel-7"),
    ("0 7E:BA:8E:9E:62:06 192.168.1.40 * *", "7e:ba:8e:9e:62:06", ""),
    ("1732563600 f0:99:bf:92:1c:98 fd00::31 AppleTV *", "f0:99:bf:92:1c:98", "AppleTV"),
    ("1732560000 02:00:00:00:00:01 10.0.0.1 nas 01:02:00:00:00:00:01", "02:00:00:00:00:01", "nas"),
];

#[test]
fn a_leases_line_never_costs_the_other_lines_their_hostnames() {
    let seeds = [
        GOOD_LEASES[0].0,
        "duid 00:01:00:01:2c:1f:4e:aa:34:53:d2:fc:e5:12",
        "1732560000 T2345678 2001:db8::9a3c laptop 00:01:00:01:2c:1f:4e:aa:34:53:d2:fc:e5:12",
        "1732560000 02:00:00:00:00:09 fe80::1%br-lan phone *",
        "1732560000 06-00:11:22:33:44:55 192.168.1.50 tr *",
    ];
    property(&seeds, 20_000, |s| {
        // Any one line (a newline in it would make two), anywhere.
        let inserted = s.replace(['\n', '\r'], " ");
        let at = s.len() % (GOOD_LEASES.len() + 1);
        let mut lines: Vec<&str> = GOOD_LEASES.iter().map(|g| g.0).collect();
        lines.insert(at, &inserted);
        let text = lines.join("\n");
        let got = leases::parse(&text);
        let alone = leases::parse(&inserted);
        for (_, mac, host) in GOOD_LEASES {
            // A good lease of the same MAC may replace one; nothing else may.
            if alone.lookup(mac).is_none() {
                assert_eq!(got.lookup(mac).map(|(h, _)| h), Some(host), "{text:?}");
            }
        }
        assert_eq!(got.skipped, alone.skipped, "{text:?}");
        if let Some(e) = got.first_skipped {
            assert_eq!(e.line, at + 1, "{text:?}");
        }
    });
}

#[test]
fn nl80211_decoder_never_panics() {
    // Random bytes and mutated real requests/replies: Ok or Err, never a panic.
    let mut rng = Rng(0x9E3779B97F4A7C15);
    let mut seeds: Vec<Vec<u8>> = vec![
        nl80211::get_family_request(1),
        netlink::genl_request(0x22, 0, 2, 5, &[(4, b"wlan0\0"), (3, &7u32.to_ne_bytes())]),
    ];
    // Captured replies in both byte orders: a big-endian build mutates its
    // own order's replies too (tests/nl80211_byte_order.rs).
    for dir in [
        "tests/fixtures/openwrt_nl80211/nl80211",
        "tests/fixtures/openwrt_nl80211/nl80211-be",
        "tests/fixtures/wext_only/nl80211",
    ] {
        if let Ok(entries) = std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)) {
            seeds.extend(entries.filter_map(|e| std::fs::read(e.ok()?.path()).ok()));
        }
    }
    let iterations =
        std::env::var("AP_EXPORTER_FUZZ_ITERATIONS").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000usize);
    for i in 0..iterations {
        let mut bytes = if i % 5 == 0 {
            (0..rng.below(200)).map(|_| rng.next() as u8).collect::<Vec<u8>>()
        } else {
            seeds[rng.below(seeds.len())].clone()
        };
        for _ in 0..1 + rng.below(6) {
            if bytes.is_empty() {
                break;
            }
            let at = rng.below(bytes.len());
            match rng.below(3) {
                0 => bytes[at] = rng.next() as u8,
                1 => bytes.truncate(at),
                _ => bytes[at] = bytes[at].wrapping_add(4),
            }
        }
        let _ = nl80211::decode_interfaces(&bytes);
        let _ = nl80211::decode_stations(&bytes);
        if let Ok(entries) = nl80211::decode_survey(&bytes) {
            let _ = nl80211::survey_in_use(&entries, Some(2437));
        }
        let _ = nl80211::decode_family_id(&bytes);
        check_netlink_walk(&bytes);
    }
}

/// Walks attributes and, treating every payload as a possible nested list,
/// their children: each lies inside the reply and after the one before.
fn check_attr_walk(attrs: netlink::Attrs<'_>, reply_len: usize, depth: usize) {
    let mut previous = None;
    for a in attrs {
        match a {
            Ok(a) => {
                assert!(previous.is_none_or(|p| a.offset > p), "attributes must move forward");
                assert!(a.offset + a.payload.len() <= reply_len);
                previous = Some(a.offset);
                if depth < 3 {
                    check_attr_walk(netlink::attrs(a.payload, a.offset), reply_len, depth + 1);
                }
            }
            Err(netlink::DecodeError::Truncated { offset }) => assert!(offset < reply_len),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
}

/// The framing layer walks forward on any bytes: each message and attribute
/// lies inside the buffer, after the previous one, and errors name an
/// offset inside it, so no walk can loop or read out of bounds.
fn check_netlink_walk(bytes: &[u8]) {
    let mut last = None;
    for m in netlink::messages(bytes) {
        match m {
            Ok(m) => {
                assert!(last.is_none_or(|l| m.offset > l), "messages must move forward");
                assert!(m.offset + netlink::NLMSG_HDRLEN + m.body.len() <= bytes.len());
                last = Some(m.offset);
                if let Ok(attrs) = netlink::genl_attrs(&m) {
                    check_attr_walk(attrs, bytes.len(), 0);
                }
            }
            Err(netlink::DecodeError::Truncated { offset }) => assert!(offset < bytes.len()),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
}

const TEXTFILES: [&str; 4] = [
    include_str!("samples/textfile/apt_info_debian12.prom"),
    include_str!("samples/textfile/directory_size_debian12.prom"),
    "# HELP wan_up Whether the WAN answers.\n# TYPE wan_up gauge\nwan_up{target=\"8.8.8.8\",via=\"a\\\"b\\\\c\\nd\"} 1\n\
     # TYPE rtt_seconds summary\nrtt_seconds{quantile=\"0.5\"} 0.01\nrtt_seconds_sum 1\nrtt_seconds_count 9\n",
    "# TYPE h histogram\nh_bucket{le=\"0.1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 0.3\nh_count 2\nx -Inf\ny NaN 12\n",
];

#[test]
fn textformat_never_panics_and_merges_what_parses() {
    let mut merged = textformat::Merged::new(5000);
    property(&TEXTFILES, 20_000, |input| match textformat::parse(input, 1000) {
        Ok(families) => {
            for f in &families {
                assert!(textformat::is_metric_name(&f.name), "{:?} from {input:?}", f.name);
                assert!(!f.samples.is_empty());
            }
            // Merging never panics either; conflicts are errors.
            let _ = merged.add("fuzz.prom", families, |n| n.starts_with("node_textfile_"));
        }
        Err(e) => check_line(input, e.line),
    });
}

/// Large and adversarial inputs: the parser's cost is linear in the input
/// (a quadratic step would take minutes here), and the caps hold.
#[test]
fn textformat_scales_linearly() {
    // 100 000 series of one family, and 100 000 families.
    let many: String = (0..100_000).map(|i| format!("m{{i=\"{i}\"}} {i}\n")).collect();
    assert_eq!(textformat::parse(&many, 200_000).unwrap()[0].samples.len(), 100_000);
    let families: String = (0..100_000).map(|i| format!("f{i} 1\n")).collect();
    assert_eq!(textformat::parse(&families, 200_000).unwrap().len(), 100_000);
    // The sample cap stops a file early, at the line that passes it.
    assert_eq!(textformat::parse(&many, 10).unwrap_err().line, 11);
    // One 4 MiB line: a label value, or a HELP text.
    let long = format!("x{{a=\"{}\"}} 1\n", "v".repeat(4 << 20));
    assert_eq!(textformat::parse(&long, 10).unwrap()[0].samples[0].labels[0].1.len(), 4 << 20);
    let help = format!("# HELP x {}\nx 1\n", "\\n".repeat(1 << 20));
    assert_eq!(textformat::parse(&help, 10).unwrap()[0].help.as_ref().unwrap().len(), 1 << 20);
    // 300 000 labels on one line (the duplicate check sorts, never compares pairs).
    let labels: String = (0..300_000).map(|i| format!("l{i}=\"v\",")).collect();
    assert_eq!(textformat::parse(&format!("x{{{labels}}} 1\n"), 10).unwrap()[0].samples[0].labels.len(), 300_000);
    assert!(textformat::parse(&format!("x{{{labels}l7=\"w\"}} 1\n"), 10).is_err());
    // Comments only.
    assert!(textformat::parse(&"# just a comment\n".repeat(200_000), 10).unwrap().is_empty());
}

/// netclass: any file contents give a value (0 for what does not parse, as
/// procfs does); Go's integer syntax agrees with a plain decimal parse on
/// decimal input; speed conversion never panics.
#[test]
fn netclass_attributes_never_panic() {
    let seeds = ["0x1003\n", "1000\n", "-1\n", "up\n", "60:38:e0:c2:7a:10\n", "017\n", "1_000\n", "+1\n", ""];
    property(&seeds, 20_000, |s| {
        let mut iface = netclass::Iface::default();
        for (file, _, _) in netclass::INT_ATTRS {
            iface.set(file, s);
        }
        for file in netclass::TEXT_ATTRS {
            iface.set(file, s);
        }
        assert_eq!(iface.values().count(), netclass::INT_ATTRS.len());
        assert_eq!(iface.text("operstate"), s.trim());
        assert!(iface.up() <= 1);
        let t = s.trim();
        if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) && !t.starts_with('0') {
            assert_eq!(netclass::go_parse_int(t), t.parse::<i64>().ok(), "{t:?}");
        }
        if let Some(v) = netclass::go_parse_int(t) {
            let _ = netclass::speed_bytes(v);
        }
    });
}

/// thermal: `temp` and the cooling states parse to a decimal integer or
/// fail at line 1.
#[test]
fn thermal_values_never_panic() {
    let seeds = ["52600\n", "-5000\n", "+45123\n", "3\n", "cpu-thermal\n", "thermal_zone10"];
    property(&seeds, 20_000, |s| {
        // Go's ParseInt(s, 10, 64) and Rust's i64 parse take the same syntax.
        match thermal::parse_int(s) {
            Ok(v) => assert_eq!(Ok(v), s.trim().parse::<i64>()),
            Err(e) => {
                assert_eq!(e.line, 1);
                assert!(s.trim().parse::<i64>().is_err(), "{s:?}");
            }
        }
        let _ = thermal::celsius(thermal::parse_int(s).unwrap_or(0));
        let _ = thermal::entry_number(s, "thermal_zone");
        let _ = thermal::type_name(s);
    });
}

/// hwmon: any file name splits or is refused without panicking, a split
/// name's parts rebuild it, and any set of files gives samples with valid
/// metric names.
#[test]
fn hwmon_names_and_values_never_panic() {
    let seeds = ["temp1_input", "temp1_crit_alarm", "in0_label", "fan1", "update_interval", "temp_x1a", "45500\n"];
    let mut sensors = hwmon::Sensors::default();
    property(&seeds, 20_000, |s| {
        if let Some((ty, num, prop)) = hwmon::explode(s) {
            assert!(!ty.is_empty() && !ty.bytes().any(|b| b.is_ascii_digit()), "{s:?}");
            assert!(s.starts_with(ty) && s.ends_with(prop), "{s:?}");
            assert!(num <= i64::MAX as u64);
        }
        let clean = hwmon::clean_name(s);
        assert!(clean.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b':' || b == b'_'));
        let _ = hwmon::go_parse_float(s);
        if sensors.0.len() < 50 {
            let name = s.split(['\n', '/']).next().unwrap_or("");
            sensors.add(name, s);
        }
    });
    let mut all = Vec::new();
    hwmon::samples(&sensors, "chip", &mut all);
    for sample in all {
        let valid = sample.name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':');
        assert!(valid && sample.name.starts_with("node_hwmon_"), "{}", sample.name);
    }
}

/// The bits of a parse of an unsigned decimal, out of range as +Inf's.
fn float_bits(v: Option<f64>) -> u64 {
    v.map_or(f64::INFINITY.to_bits(), f64::to_bits)
}

/// `parse::float`: with at most 19 significant digits, bit for bit what
/// std parses, at any exponent (spelled in every way a .prom file may, and
/// halfway cases written out exactly); with more digits (from the 20th on
/// only sticky) within 1 ulp. Exponents to ±400 cover subnormals, underflow
/// to 0 and overflow (+Inf standing for the range error). 200,000 cases
/// each.
#[test]
fn decimal_f64_matches_std() {
    let mut rng = Rng(0x5eed_f10a);
    let digits = |rng: &mut Rng, n: usize| -> String { (0..n).map(|_| (b'0' + rng.below(10) as u8) as char).collect() };
    // Writes `mant` × 10^exp in one of the spellings a .prom file may use.
    let spell = |rng: &mut Rng, mant: &str, exp: i64| -> String {
        match rng.below(3) {
            0 => format!("{mant}e{exp}"),
            1 => format!("{mant}E{}{exp}", if exp >= 0 { "+" } else { "" }),
            _ => {
                // The point moved into or before the digits, exponent adjusted.
                let at = rng.below(mant.len() + 1);
                let (int, frac) = mant.split_at(at);
                let e = exp + frac.len() as i64;
                if e == 0 { format!("{int}.{frac}") } else { format!("{int}.{frac}e{e}") }
            }
        }
    };
    let mut inexact = 0;
    for round in 0..200_000 {
        // Leading zeros are not significant digits; most cases are near the
        // values exporters write, the rest anywhere.
        let n = 1 + rng.below(19);
        let mant = format!("{}{}", "0".repeat(rng.below(3)), digits(&mut rng, n));
        let exp = if round % 2 == 0 { rng.below(61) as i64 - 35 } else { rng.below(801) as i64 - 400 };
        let s = spell(&mut rng, &mant, exp);
        let std = s.parse::<f64>().unwrap();
        assert_eq!(float_bits(parse::float::decimal_f64(&s)), std.to_bits(), "{s}");
        // Halfway between two f64s: 54 significant bits, the last one set,
        // over 2^j, written exactly as (m × 5^j)e-j in at most 19 digits.
        let j = rng.below(4) as u32;
        let half = (rng.next() >> 10) | 1 << 53 | 1;
        let text = format!("{}e-{j}", u128::from(half) * 5u128.pow(j));
        assert_eq!(parse::float::decimal_f64(&text), text.parse::<f64>().ok(), "{text}");
        // 20 to 40 digits.
        let n = 20 + rng.below(21);
        let mant = digits(&mut rng, n);
        let exp = rng.below(801) as i64 - 400;
        let s = spell(&mut rng, &mant, exp);
        let (ours, std) = (float_bits(parse::float::decimal_f64(&s)), s.parse::<f64>().unwrap().to_bits());
        assert!(ours.abs_diff(std) <= 1, "{s}: {ours:#x} vs {std:#x}");
        inexact += usize::from(ours != std);
    }
    // Only when a halfway point lies between the 19 digits and the rest.
    assert!(inexact < 200, "{inexact} results off by 1 ulp");
}

/// `parse::float::go_float` never panics on mutated numbers.
#[test]
fn go_float_never_panics() {
    let seeds = ["1", "-2.5", "1e-3", "1.5E+10", "NaN", "+Inf", "-Infinity", "12345678901234567890123e-330"];
    property(&seeds, 20_000, |s| {
        let _ = parse::float::go_float(s);
    });
}

#[test]
fn if_inet6_never_panics_and_keeps_only_whole_lines() {
    let seed = "00000000000000000000000000000001 01 80 10 80       lo\n\
                fd12345678900000000000000000000a 0b 40 00 80   br-lan\n\
                fe80000000000000021122fffe334455 0b 40 20 c0   br-lan\n";
    property(&[seed], 20_000, |s| {
        let got = ap_exporter::parse::if_inet6::parse(s);
        // Never more addresses than lines, and each one's name a word of its line.
        assert!(got.len() <= s.lines().count(), "{s:?}");
        assert!(got.iter().all(|a| !a.name.is_empty() && !a.name.contains(char::is_whitespace)), "{s:?}");
    });
}
