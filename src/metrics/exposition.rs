//! Prometheus text exposition format 0.0.4, written straight into a reusable
//! buffer: no per-series allocation on the scrape path.

/// Content type of the text format served on `/metrics`.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The metric types this exporter emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricType {
    /// A monotonically increasing count.
    Counter,
    /// A value that goes up and down.
    Gauge,
    /// No type given (textfile families only).
    Untyped,
    /// Quantiles, `_sum` and `_count` (textfile families only).
    Summary,
    /// `_bucket`s, `_sum` and `_count` (textfile families only).
    Histogram,
}

/// A sample value. Counters stay exact integers; floats are only for
/// naturally fractional gauges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// An exact unsigned integer.
    U64(u64),
    /// A signed integer (dBm, for example).
    I64(i64),
    /// A floating-point value.
    F64(f64),
}

impl From<u64> for Value {
    fn from(v: u64) -> Self {
        Value::U64(v)
    }
}
impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::I64(v)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Self {
        Value::F64(v)
    }
}

/// A family's name with its `# HELP` and `# TYPE` lines rendered once, for
/// collectors that write the same families every scrape.
#[derive(Debug, Clone)]
pub struct Family {
    name: String,
    header: String,
}

impl Family {
    /// Renders the header of family `name`.
    pub fn new(name: &str, help: &str, ty: MetricType) -> Family {
        let mut e = Exposition::new();
        e.family(name, help, ty);
        Family { name: name.to_string(), header: e.buf }
    }

    /// The family's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Renders a label set, such as `{device="eth0"}`, for
/// [`Exposition::sample_rendered`].
pub fn render_labels(labels: &[(&str, &str)]) -> String {
    let mut out = String::new();
    push_labels(&mut out, labels);
    out
}

/// Writes families and samples in order. Callers emit each family once, with
/// its samples right after it, sorted by label values.
#[derive(Debug, Default)]
pub struct Exposition {
    buf: String,
    family: String,
}

impl Exposition {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Clears the text but keeps the allocation for the next scrape.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.family.clear();
    }

    /// Gives the buffer's memory back when it has room for more than
    /// `keep` bytes: one large scrape should not pin its megabytes.
    pub fn release_above(&mut self, keep: usize) {
        if self.buf.capacity() > keep {
            self.buf = String::new();
        }
    }

    /// The text written so far.
    pub fn as_str(&self) -> &str {
        &self.buf
    }

    /// Exchanges the text written so far for `other` (cleared first): a
    /// collector's output leaves without a copy, and `other`'s allocation is
    /// reused.
    pub fn swap_text(&mut self, other: &mut String) {
        other.clear();
        std::mem::swap(&mut self.buf, other);
        self.family.clear();
    }

    /// Makes room for `additional` more bytes at once (rather than doubling
    /// its way there, which can leave twice the memory reserved).
    pub fn reserve(&mut self, additional: usize) {
        self.buf.reserve(additional);
    }

    /// Appends another writer's text (a collector's finished output).
    pub fn append(&mut self, other: &Exposition) {
        self.append_text(&other.buf);
    }

    /// Appends whole families already rendered as text.
    pub fn append_text(&mut self, text: &str) {
        self.buf.push_str(text);
        self.family.clear();
    }

    /// Starts a family: writes its HELP and TYPE lines.
    pub fn family(&mut self, name: &str, help: &str, ty: MetricType) {
        self.family.clear();
        self.family.push_str(name);
        self.buf.push_str("# HELP ");
        self.buf.push_str(name);
        self.buf.push(' ');
        escape_into(&mut self.buf, help, false);
        self.buf.push_str("\n# TYPE ");
        self.buf.push_str(name);
        self.buf.push_str(match ty {
            MetricType::Counter => " counter\n",
            MetricType::Gauge => " gauge\n",
            MetricType::Untyped => " untyped\n",
            MetricType::Summary => " summary\n",
            MetricType::Histogram => " histogram\n",
        });
    }

    /// Starts a family whose header was rendered before.
    pub fn start(&mut self, family: &Family) {
        self.family.clear();
        self.family.push_str(&family.name);
        self.buf.push_str(&family.header);
    }

    /// Writes one sample of the current family.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: impl Into<Value>) {
        self.sample_suffixed("", labels, value);
    }

    /// Writes one sample named the family's name plus `suffix` (`_sum`,
    /// `_count`, `_bucket` of a summary or histogram).
    pub fn sample_suffixed(&mut self, suffix: &str, labels: &[(&str, &str)], value: impl Into<Value>) {
        self.buf.push_str(&self.family);
        self.buf.push_str(suffix);
        push_labels(&mut self.buf, labels);
        self.value(value.into());
    }

    /// Writes one sample of the current family with labels rendered by
    /// [`render_labels`].
    pub fn sample_rendered(&mut self, labels: &str, value: impl Into<Value>) {
        self.buf.push_str(&self.family);
        self.buf.push_str(labels);
        self.value(value.into());
    }

    /// Writes ` value\n`.
    fn value(&mut self, value: Value) {
        let v = match value {
            Value::U64(v) => return push_integer(&mut self.buf, false, v),
            Value::I64(v) => return push_integer(&mut self.buf, v < 0, v.unsigned_abs()),
            Value::F64(v) => v,
        };
        if v.is_nan() {
            self.buf.push_str(" NaN\n");
        } else if v.is_infinite() {
            self.buf.push_str(if v > 0.0 { " +Inf\n" } else { " -Inf\n" });
        } else if !push_short_decimal(&mut self.buf, v) {
            self.buf.push(' ');
            super::float_text::push_shortest(&mut self.buf, v);
            self.buf.push('\n');
        }
    }
}

/// Appends `{a="1",b="2"}`, escaped; nothing for no labels.
fn push_labels(out: &mut String, labels: &[(&str, &str)]) {
    if labels.is_empty() {
        return;
    }
    out.push('{');
    for (i, (name, value)) in labels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(name);
        out.push_str("=\"");
        escape_into(out, value, true);
        out.push('"');
    }
    out.push('}');
}

/// Escapes `\` and newline always, and `"` inside label values. Text that
/// needs no escaping (nearly all of it) is copied in one piece.
fn escape_into(out: &mut String, s: &str, quote: bool) {
    let special = |b: u8| b == b'\\' || b == b'\n' || (quote && b == b'"');
    if !s.bytes().any(special) {
        out.push_str(s);
        return;
    }
    let mut start = 0;
    for (i, b) in s.bytes().enumerate() {
        if special(b) {
            out.push_str(&s[start..i]);
            out.push_str(match b {
                b'\\' => "\\\\",
                b'\n' => "\\n",
                _ => "\\\"",
            });
            start = i + 1;
        }
    }
    out.push_str(&s[start..]);
}

/// Two decimal digits for each of 0..100.
const DIGIT_PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
2021222324252627282930313233343536373839\
4041424344454647484950515253545556575859\
6061626364656667686970717273747576777879\
8081828384858687888990919293949596979899";

/// Appends ` <integer>\n` in one piece, two digits a step, without the
/// `fmt` machinery (a hot path: most samples of every scrape).
fn push_integer(out: &mut String, negative: bool, mut v: u64) {
    let mut buf = [0u8; 24];
    let mut i = buf.len() - 1;
    buf[i] = b'\n';
    while v >= 100 {
        let pair = (v % 100) as usize * 2;
        v /= 100;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    }
    if v >= 10 {
        let pair = v as usize * 2;
        i -= 2;
        buf[i..i + 2].copy_from_slice(&DIGIT_PAIRS[pair..pair + 2]);
    } else {
        i -= 1;
        buf[i] = b'0' + v as u8;
    }
    if negative {
        i -= 1;
        buf[i] = b'-';
    }
    i -= 1;
    buf[i] = b' ';
    // SAFETY: only ASCII bytes were written to buf[i..].
    out.push_str(unsafe { std::str::from_utf8_unchecked(&buf[i..]) });
}

/// Appends ` <v>\n` for a non-negative `v` with at most 9 decimals, as
/// `{v}` would print it (the shortest digits that read back as `v`), and
/// returns true; false, writing nothing, for anything else. Load averages
/// and durations take this path instead of the general float printer.
///
/// With `d` decimals, `n = round(v * 10^d)` is the only candidate of that
/// length (below 2^52, steps of 10^-d are wider than half the gap between
/// floats), and `n / 10^d` reads back as `v` exactly when the division of
/// two exactly represented numbers rounds to `v`; the smallest such `d`
/// gives the fewest digits.
fn push_short_decimal(out: &mut String, v: f64) -> bool {
    if v.is_nan() || v.is_sign_negative() {
        return false;
    }
    let mut scale = 1.0f64;
    for decimals in 0..=9usize {
        let n = (v * scale).round();
        if n >= (1u64 << 52) as f64 {
            return false;
        }
        if n / scale == v {
            let mut digits = [0u8; 24];
            let mut i = digits.len();
            let mut rest = n as u64;
            let mut written = 0;
            while rest > 0 || written <= decimals {
                if written == decimals && decimals > 0 {
                    i -= 1;
                    digits[i] = b'.';
                }
                i -= 1;
                digits[i] = b'0' + (rest % 10) as u8;
                rest /= 10;
                written += 1;
            }
            out.push(' ');
            // SAFETY: only ASCII digits and a dot were written to digits[i..].
            out.push_str(unsafe { std::str::from_utf8_unchecked(&digits[i..]) });
            out.push('\n');
            return true;
        }
        scale *= 10.0;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_decimals_print_as_display_does() {
        let mut values =
            vec![0.0, 1.0, 0.5, 0.08, 0.4, 1.52, 10.0, 123.456, 0.000012345, 1e-9, 3.0e15, 0.1 + 0.2, 1.0 / 3.0];
        // Durations and load averages as the exporter computes them.
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for _ in 0..20_000 {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let micros = x >> 40;
            values.push(micros as f64 / 1e6);
            values.push((x >> 50) as f64 / 100.0);
            values.push(1.7e9 + (x >> 44) as f64 / 100.0);
            values.push(f64::from_bits(x >> 2));
        }
        let mut taken = 0;
        for v in &values {
            let mut fast = String::new();
            if push_short_decimal(&mut fast, *v) {
                assert_eq!(fast, format!(" {v}\n"), "{v:e}");
                taken += 1;
            }
        }
        // The durations, loads and start times (three in four) are short.
        assert!(taken >= 3 * 20_000, "{taken} of {}", values.len());
        let mut s = String::new();
        assert!(!push_short_decimal(&mut s, -1.0) && !push_short_decimal(&mut s, -0.0));
        assert!(!push_short_decimal(&mut s, 1.0 / 3.0) && s.is_empty());
    }

    #[test]
    fn writes_families_with_escaping_and_exact_integers() {
        let mut e = Exposition::new();
        e.family("x_total", "Help with \\ and\nnewline \"kept\".", MetricType::Counter);
        e.sample(&[("device", "a\"b\\c\nd")], u64::MAX);
        e.sample(&[], -5i64);
        e.sample(&[], i64::MIN);
        e.sample(&[], 0u64);
        for v in [9u64, 10, 99, 100, 101, 1000, 123456789] {
            e.sample(&[], v);
        }
        e.family("g", "G.", MetricType::Gauge);
        e.sample(&[("a", "1"), ("b", "2")], 0.25);
        e.sample(&[], f64::NAN);
        e.sample(&[], f64::NEG_INFINITY);
        let f = Family::new("h", "H \\.", MetricType::Gauge);
        let mut r = Exposition::new();
        r.start(&f);
        r.sample_rendered(&render_labels(&[("device", "a\"b")]), 7u64);
        r.sample_rendered(&render_labels(&[]), 8u64);
        let mut plain = Exposition::new();
        plain.family("h", "H \\.", MetricType::Gauge);
        plain.sample(&[("device", "a\"b")], 7u64);
        plain.sample(&[], 8u64);
        assert_eq!(r.as_str(), plain.as_str());
        assert_eq!(f.name(), "h");
        assert_eq!(
            e.as_str(),
            "# HELP x_total Help with \\\\ and\\nnewline \"kept\".\n# TYPE x_total counter\n\
             x_total{device=\"a\\\"b\\\\c\\nd\"} 18446744073709551615\nx_total -5\nx_total -9223372036854775808\nx_total 0\n\
             x_total 9\nx_total 10\nx_total 99\nx_total 100\nx_total 101\nx_total 1000\nx_total 123456789\n\
             # HELP g G.\n# TYPE g gauge\ng{a=\"1\",b=\"2\"} 0.25\ng NaN\ng -Inf\n"
        );
    }
}
