//! Prometheus text exposition format 0.0.4, written straight into a reusable
//! buffer: no per-series allocation on the scrape path.

use std::fmt::Write;

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

    /// The text written so far.
    pub fn as_str(&self) -> &str {
        &self.buf
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

    /// Writes one sample of the current family.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: impl Into<Value>) {
        self.sample_suffixed("", labels, value);
    }

    /// Writes one sample named the family's name plus `suffix` (`_sum`,
    /// `_count`, `_bucket` of a summary or histogram).
    pub fn sample_suffixed(&mut self, suffix: &str, labels: &[(&str, &str)], value: impl Into<Value>) {
        self.buf.push_str(&self.family);
        self.buf.push_str(suffix);
        if !labels.is_empty() {
            self.buf.push('{');
            for (i, (name, value)) in labels.iter().enumerate() {
                if i > 0 {
                    self.buf.push(',');
                }
                self.buf.push_str(name);
                self.buf.push_str("=\"");
                escape_into(&mut self.buf, value, true);
                self.buf.push('"');
            }
            self.buf.push('}');
        }
        self.buf.push(' ');
        match value.into() {
            Value::U64(v) => push_u64(&mut self.buf, v),
            Value::I64(v) => {
                if v < 0 {
                    self.buf.push('-');
                }
                push_u64(&mut self.buf, v.unsigned_abs());
            }
            Value::F64(v) if v.is_nan() => self.buf.push_str("NaN"),
            Value::F64(v) if v.is_infinite() => self.buf.push_str(if v > 0.0 { "+Inf" } else { "-Inf" }),
            // Writing to a String cannot fail.
            Value::F64(v) => {
                let _ = write!(self.buf, "{v}");
            }
        }
        self.buf.push('\n');
    }
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

/// Appends an integer in decimal without the `fmt` machinery (a hot path:
/// every sample of every scrape).
fn push_u64(out: &mut String, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    // Only ASCII digits were written.
    out.push_str(std::str::from_utf8(&buf[i..]).unwrap_or("0"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_families_with_escaping_and_exact_integers() {
        let mut e = Exposition::new();
        e.family("x_total", "Help with \\ and\nnewline \"kept\".", MetricType::Counter);
        e.sample(&[("device", "a\"b\\c\nd")], u64::MAX);
        e.sample(&[], -5i64);
        e.sample(&[], i64::MIN);
        e.sample(&[], 0u64);
        e.family("g", "G.", MetricType::Gauge);
        e.sample(&[("a", "1"), ("b", "2")], 0.25);
        e.sample(&[], f64::NAN);
        e.sample(&[], f64::NEG_INFINITY);
        assert_eq!(
            e.as_str(),
            "# HELP x_total Help with \\\\ and\\nnewline \"kept\".\n# TYPE x_total counter\n\
             x_total{device=\"a\\\"b\\\\c\\nd\"} 18446744073709551615\nx_total -5\nx_total -9223372036854775808\nx_total 0\n\
             # HELP g G.\n# TYPE g gauge\ng{a=\"1\",b=\"2\"} 0.25\ng NaN\ng -Inf\n"
        );
    }
}
