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
        self.buf.push_str(&other.buf);
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
        });
    }

    /// Writes one sample of the current family.
    pub fn sample(&mut self, labels: &[(&str, &str)], value: impl Into<Value>) {
        self.buf.push_str(&self.family);
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
        // Writing to a String cannot fail.
        let _ = match value.into() {
            Value::U64(v) => write!(self.buf, "{v}"),
            Value::I64(v) => write!(self.buf, "{v}"),
            Value::F64(v) if v.is_nan() => write!(self.buf, "NaN"),
            Value::F64(v) if v.is_infinite() => write!(self.buf, "{}", if v > 0.0 { "+Inf" } else { "-Inf" }),
            Value::F64(v) => write!(self.buf, "{v}"),
        };
        self.buf.push('\n');
    }
}

/// Escapes `\` and newline always, and `"` inside label values.
fn escape_into(out: &mut String, s: &str, quote: bool) {
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
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
        e.family("g", "G.", MetricType::Gauge);
        e.sample(&[("a", "1"), ("b", "2")], 0.25);
        e.sample(&[], f64::NAN);
        e.sample(&[], f64::NEG_INFINITY);
        assert_eq!(
            e.as_str(),
            "# HELP x_total Help with \\\\ and\\nnewline \"kept\".\n# TYPE x_total counter\n\
             x_total{device=\"a\\\"b\\\\c\\nd\"} 18446744073709551615\nx_total -5\n\
             # HELP g G.\n# TYPE g gauge\ng{a=\"1\",b=\"2\"} 0.25\ng NaN\ng -Inf\n"
        );
    }
}
