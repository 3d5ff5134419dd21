//! The Prometheus text exposition format (version 0.0.4), as users write it
//! into `*.prom` files for the textfile collector, and the merge of several
//! such files into one set of families.
//!
//! The grammar is the one node_exporter's textfile collector accepts
//! (Prometheus' `expfmt` text parser): `# HELP` and `# TYPE` comments (other
//! comments are ignored), samples `name{label="value",...} value
//! [timestamp]`, label values with the escapes `\\`, `\"` and `\n`, HELP
//! text with `\\` and `\n`, values as Go's `ParseFloat` reads them (`NaN`,
//! `+Inf`, `-Inf`, exponents). Where `expfmt` quietly drops or mangles a line
//! (a summary sample without `quantile`, a duplicate series) this parser
//! refuses the file instead, so what is served is always what was written.
//!
//! Nothing is echoed: every name is checked against the metric and label
//! name grammar, and the collector renders the typed values again, so a
//! hostile file cannot inject lines into the exposition. The cost is n log n
//! in the input, and the number of samples a file may hold is capped.

use std::collections::BTreeMap;

/// The one map type of this module: a name or key to a position in a
/// vector. One instantiation of `BTreeMap` (and no sort at all) keeps the
/// code small on the router: the ordered keys give the exposition order.
type Index = BTreeMap<String, usize>;
use std::fmt;

/// A family's type, from its `# TYPE` line (untyped without one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `counter`
    Counter,
    /// `gauge`
    Gauge,
    /// `untyped`, or no TYPE line
    Untyped,
    /// `summary`: `name{quantile=...}`, `name_sum`, `name_count`
    Summary,
    /// `histogram`: `name_bucket{le=...}`, `name_sum`, `name_count`
    Histogram,
}

impl Kind {
    /// The word of the TYPE line.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Untyped => "untyped",
            Kind::Summary => "summary",
            Kind::Histogram => "histogram",
        }
    }
}

/// Which sample of a summary or histogram series a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Suffix {
    /// The family's own name: counters, gauges, untyped, summary quantiles.
    None,
    /// `_bucket` of a histogram.
    Bucket,
    /// `_sum` of a summary or histogram.
    Sum,
    /// `_count` of a summary or histogram.
    Count,
}

impl Suffix {
    /// What the sample name adds to the family name.
    pub fn as_str(self) -> &'static str {
        match self {
            Suffix::None => "",
            Suffix::Bucket => "_bucket",
            Suffix::Sum => "_sum",
            Suffix::Count => "_count",
        }
    }
}

/// One sample line.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Which sample of the series (always `None` outside summaries and histograms).
    pub suffix: Suffix,
    /// Label pairs sorted by name, without empty values (Prometheus treats
    /// an empty label as an absent one) and without `quantile`/`le` of a
    /// summary/histogram, which are in `bound`.
    pub labels: Vec<(String, String)>,
    /// The `quantile` of a summary sample or the `le` of a bucket.
    pub bound: Option<f64>,
    /// The value.
    pub value: f64,
    /// The timestamp in milliseconds, when the line had one.
    pub timestamp: Option<i64>,
    /// 1-based line number.
    pub line: usize,
}

/// A metric family of one file.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    /// The name (checked against the metric name grammar).
    pub name: String,
    /// The HELP text, unescaped; `None` when absent or empty.
    pub help: Option<String>,
    /// The type.
    pub kind: Kind,
    /// The samples, in file order.
    pub samples: Vec<Sample>,
}

/// Why a file is not valid text format.
#[derive(Debug, Clone, PartialEq)]
pub enum ErrorKind {
    /// The last line has no newline: the file is cut short, typically
    /// written while it was read.
    NoFinalNewline,
    /// A line ends in `\r` (DOS line endings).
    CarriageReturn,
    /// A metric name was expected.
    MetricName,
    /// A label name was expected.
    LabelName,
    /// `__name__` is not a label one may set.
    ReservedLabel,
    /// The same label name twice on one line.
    DuplicateLabel,
    /// `=` after a label name was expected.
    Equals,
    /// `"` opening a label value was expected.
    OpenQuote,
    /// A label value has no closing `"` on its line.
    UnterminatedValue,
    /// An escape other than `\\`, `\"` (label values only) and `\n`.
    Escape(char),
    /// A control character in a label value or HELP text.
    ControlCharacter,
    /// `,` or `}` after a label value was expected.
    CommaOrBrace,
    /// A float was expected as the sample value.
    Value,
    /// An integer (milliseconds) was expected as the timestamp.
    Timestamp,
    /// Text after the timestamp.
    TrailingText,
    /// A second HELP line for a family.
    SecondHelp,
    /// A second TYPE line for a family, or one after its samples.
    SecondType,
    /// A TYPE other than counter, gauge, untyped, summary, histogram.
    UnknownType,
    /// A float was expected in the `quantile` or `le` label.
    Bound(&'static str),
    /// A sample of a summary or histogram that is not one of its forms.
    SampleForm(&'static str),
    /// A summary or histogram series without its `_sum` or `_count`.
    Incomplete(&'static str),
    /// A `_count` or bucket that is negative or not a number.
    Count,
    /// The same series twice in the file.
    DuplicateSeries,
    /// More samples than the cap.
    TooManySamples(usize),
}

/// A parse failure at a line. Its message names the line and what was
/// expected but quotes nothing of it: the file may be any file a symbolic
/// or hard link points at (`/etc/shadow`), and messages go to the log.
#[derive(Debug, Clone, PartialEq)]
pub struct Error {
    /// 1-based line number (for a series, the line of its last sample).
    pub line: usize,
    /// What is wrong.
    pub kind: ErrorKind,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: ", self.line)?;
        match &self.kind {
            ErrorKind::NoFinalNewline => {
                write!(f, "no newline at the end: the file is cut short (write it under another name, then rename it)")
            }
            ErrorKind::CarriageReturn => write!(f, "carriage return at the end of the line (DOS line endings)"),
            ErrorKind::MetricName => write!(f, "expected a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)"),
            ErrorKind::LabelName => write!(f, "expected a label name ([a-zA-Z_][a-zA-Z0-9_]*)"),
            ErrorKind::ReservedLabel => write!(f, "the label name __name__ is reserved"),
            ErrorKind::DuplicateLabel => write!(f, "a label name given twice"),
            ErrorKind::Equals => write!(f, "expected '=' after the label name"),
            ErrorKind::OpenQuote => write!(f, "expected '\"' to open the label value"),
            ErrorKind::UnterminatedValue => write!(f, "the label value has no closing '\"'"),
            ErrorKind::Escape(c) => write!(f, "invalid escape \\{}", c.escape_debug()),
            ErrorKind::ControlCharacter => write!(f, "control character in a label value or HELP text"),
            ErrorKind::CommaOrBrace => write!(f, "expected ',' or '}}' after the label value"),
            ErrorKind::Value => write!(f, "expected a float as the value (such as 1, -2.5, 1e3, NaN, +Inf)"),
            ErrorKind::Timestamp => write!(f, "expected an integer timestamp (milliseconds) after the value"),
            ErrorKind::TrailingText => write!(f, "text after the timestamp"),
            ErrorKind::SecondHelp => write!(f, "second HELP line for the family"),
            ErrorKind::SecondType => write!(f, "second TYPE line for the family, or TYPE after its samples"),
            ErrorKind::UnknownType => write!(f, "expected TYPE counter, gauge, untyped, summary or histogram"),
            ErrorKind::Bound(l) => write!(f, "expected a float in label {l}"),
            ErrorKind::SampleForm(w) => write!(f, "expected {w}"),
            ErrorKind::Incomplete(w) => write!(f, "series without its {w}"),
            ErrorKind::Count => write!(f, "a count must be a non-negative number"),
            ErrorKind::DuplicateSeries => write!(f, "duplicate series"),
            ErrorKind::TooManySamples(n) => write!(f, "more than {n} samples"),
        }
    }
}

impl std::error::Error for Error {}

/// Parses a whole file into its families, in the order they are first
/// named, refusing more than `max_samples` samples.
pub fn parse(text: &str, max_samples: usize) -> Result<Vec<Family>, Error> {
    let mut p =
        Parser { families: Vec::new(), typed: Vec::new(), by_name: BTreeMap::new(), samples: 0, max_samples, no: 0 };
    let mut lines = text.split('\n').enumerate().peekable();
    while let Some((i, line)) = lines.next() {
        let no = i + 1;
        if lines.peek().is_none() {
            // What follows the last '\n': nothing in a complete file.
            if !line.is_empty() {
                return Err(Error { line: no, kind: ErrorKind::NoFinalNewline });
            }
            break;
        }
        if line.ends_with('\r') {
            return Err(Error { line: no, kind: ErrorKind::CarriageReturn });
        }
        p.no = no;
        p.line(line).map_err(|kind| Error { line: no, kind })?;
    }
    p.finish()
}

struct Parser {
    families: Vec<Family>,
    /// Per family: whether it had a TYPE line ("untyped" is one too).
    typed: Vec<bool>,
    /// Family name to its position in `families`.
    by_name: Index,
    samples: usize,
    max_samples: usize,
    /// The line being parsed.
    no: usize,
}

/// A cursor over one line. Tokens are ASCII, so slicing at the positions
/// it stops at is always on a character boundary.
struct Cur<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Cur<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }
    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }
    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }
    /// Bytes up to the next blank or the end of the line.
    fn token(&mut self) -> &'a str {
        let start = self.pos;
        while !matches!(self.peek(), None | Some(b' ' | b'\t')) {
            self.pos += 1;
        }
        self.s.get(start..self.pos).unwrap_or("")
    }
    /// A name: `first` for the first byte, `first` or a digit after.
    fn name(&mut self, first: fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        if self.peek().is_some_and(first) {
            self.pos += 1;
            while self.peek().is_some_and(|b| first(b) || b.is_ascii_digit()) {
                self.pos += 1;
            }
        }
        self.s.get(start..self.pos).unwrap_or("")
    }
}

fn metric_name_byte(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_' || b == b':'
}

fn label_name_byte(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

/// Whether `s` is a valid metric name.
pub fn is_metric_name(s: &str) -> bool {
    let mut c = Cur { s, pos: 0 };
    !s.is_empty() && c.name(metric_name_byte).len() == s.len()
}

fn is_control(c: char) -> bool {
    (c.is_control() && c != '\t') || c == '\u{7f}'
}

/// A float as Go's `ParseFloat` reads one, minus hex and underscores (as
/// `expfmt` refuses them): see [`super::float::go_float`].
pub fn parse_float(s: &str) -> Option<f64> {
    super::float::go_float(s)
}

impl Parser {
    fn line(&mut self, line: &str) -> Result<(), ErrorKind> {
        let mut c = Cur { s: line, pos: 0 };
        c.skip_blanks();
        match c.peek() {
            None => Ok(()),
            Some(b'#') => {
                c.pos += 1;
                self.comment(c)
            }
            Some(_) => self.sample(c),
        }
    }

    /// The family a name belongs to: its own, or the summary/histogram it
    /// is the `_sum`, `_count` (or `_bucket`) of.
    fn lookup(&self, name: &str) -> Option<(usize, Suffix)> {
        if let Some(&i) = self.by_name.get(name) {
            return Some((i, Suffix::None));
        }
        for (suffix, kinds) in [
            (Suffix::Count, &[Kind::Summary, Kind::Histogram][..]),
            (Suffix::Sum, &[Kind::Summary, Kind::Histogram][..]),
            (Suffix::Bucket, &[Kind::Histogram][..]),
        ] {
            if let Some(base) = name.strip_suffix(suffix.as_str()).filter(|b| !b.is_empty())
                && let Some(&i) = self.by_name.get(base)
                && self.families.get(i).is_some_and(|f| kinds.contains(&f.kind))
            {
                return Some((i, suffix));
            }
        }
        None
    }

    fn family(&mut self, name: &str) -> (usize, Suffix) {
        if let Some(found) = self.lookup(name) {
            return found;
        }
        self.families.push(Family { name: name.to_string(), help: None, kind: Kind::Untyped, samples: Vec::new() });
        self.typed.push(false);
        self.by_name.insert(name.to_string(), self.families.len() - 1);
        (self.families.len() - 1, Suffix::None)
    }

    fn comment(&mut self, mut c: Cur<'_>) -> Result<(), ErrorKind> {
        c.skip_blanks();
        let keyword = c.token();
        if keyword != "HELP" && keyword != "TYPE" {
            return Ok(());
        }
        c.skip_blanks();
        if c.peek().is_none() {
            return Ok(());
        }
        let name = c.name(metric_name_byte);
        if c.peek().is_none() {
            return Ok(());
        }
        if name.is_empty() || !matches!(c.peek(), Some(b' ' | b'\t')) {
            return Err(ErrorKind::MetricName);
        }
        let (i, _) = self.family(name);
        c.skip_blanks();
        if c.peek().is_none() {
            return Ok(());
        }
        let typed = self.typed.get(i).copied().unwrap_or(false);
        let Some(family) = self.families.get_mut(i) else { return Ok(()) };
        if keyword == "HELP" {
            if family.help.is_some() {
                return Err(ErrorKind::SecondHelp);
            }
            let help = unescape(c.rest(), false)?;
            // An empty HELP is no HELP (as node_exporter has it); keep the
            // marker so a second HELP line is still caught.
            family.help = Some(help);
            return Ok(());
        }
        if !family.samples.is_empty() || typed {
            return Err(ErrorKind::SecondType);
        }
        let word = c.rest();
        family.kind = [Kind::Counter, Kind::Gauge, Kind::Untyped, Kind::Summary, Kind::Histogram]
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(word))
            .ok_or(ErrorKind::UnknownType)?;
        if let Some(t) = self.typed.get_mut(i) {
            *t = true;
        }
        Ok(())
    }

    fn sample(&mut self, mut c: Cur<'_>) -> Result<(), ErrorKind> {
        let name = c.name(metric_name_byte);
        if name.is_empty() {
            return Err(ErrorKind::MetricName);
        }
        let (i, suffix) = self.family(name);
        let kind = self.families.get(i).map_or(Kind::Untyped, |f| f.kind);
        let bound_label = match kind {
            Kind::Summary => Some("quantile"),
            Kind::Histogram => Some("le"),
            _ => None,
        };
        c.skip_blanks();
        // Label name to its value's position in `values`: sorted, and a
        // second label of one name is caught as it is inserted.
        let mut names = Index::new();
        let mut values: Vec<String> = Vec::new();
        let mut bound = None;
        if c.peek() == Some(b'{') {
            c.pos += 1;
            loop {
                c.skip_blanks();
                if c.peek() == Some(b'}') {
                    c.pos += 1;
                    break;
                }
                let label = c.name(label_name_byte);
                if label.is_empty() {
                    return Err(ErrorKind::LabelName);
                }
                if label == "__name__" {
                    return Err(ErrorKind::ReservedLabel);
                }
                if names.insert(label.to_string(), values.len()).is_some() {
                    return Err(ErrorKind::DuplicateLabel);
                }
                c.skip_blanks();
                if c.peek() != Some(b'=') {
                    return Err(ErrorKind::Equals);
                }
                c.pos += 1;
                c.skip_blanks();
                if c.peek() != Some(b'"') {
                    return Err(ErrorKind::OpenQuote);
                }
                c.pos += 1;
                let value = label_value(&mut c)?;
                if Some(label) == bound_label {
                    match parse_float(&value) {
                        Some(b) => bound = Some(b),
                        None => return Err(ErrorKind::Bound(label_str(kind))),
                    }
                }
                values.push(value);
                c.skip_blanks();
                match c.peek() {
                    Some(b',') => c.pos += 1,
                    Some(b'}') => {
                        c.pos += 1;
                        break;
                    }
                    _ => return Err(ErrorKind::CommaOrBrace),
                }
            }
            c.skip_blanks();
        }
        let token = c.token();
        let value = parse_float(token).ok_or(ErrorKind::Value)?;
        let mut timestamp = None;
        if c.peek().is_some() {
            c.pos += 1;
            c.skip_blanks();
            let t = c.token();
            timestamp = Some(t.parse::<i64>().map_err(|_| ErrorKind::Timestamp)?);
            if c.peek().is_some() {
                return Err(ErrorKind::TrailingText);
            }
        }
        match (kind, suffix, bound.is_some()) {
            (Kind::Summary, Suffix::None, false) => {
                return Err(ErrorKind::SampleForm("a quantile label on a summary's own samples"));
            }
            (Kind::Histogram, Suffix::None, _) => {
                return Err(ErrorKind::SampleForm("NAME_bucket, NAME_sum or NAME_count in a histogram"));
            }
            (Kind::Histogram, Suffix::Bucket, false) => {
                return Err(ErrorKind::SampleForm("an le label on a histogram bucket"));
            }
            (_, Suffix::Sum | Suffix::Count, true) => {
                return Err(ErrorKind::SampleForm("no quantile or le label on _sum and _count"));
            }
            _ => {}
        }
        if matches!(suffix, Suffix::Count | Suffix::Bucket) && (value.is_nan() || value < 0.0) {
            return Err(ErrorKind::Count);
        }
        // A count is an integer (node_exporter truncates it the same way).
        let value = if matches!(suffix, Suffix::Count | Suffix::Bucket) { value.trunc() } else { value };
        if self.samples >= self.max_samples {
            return Err(ErrorKind::TooManySamples(self.max_samples));
        }
        self.samples += 1;
        let labels: Vec<(String, String)> = names
            .into_iter()
            .filter(|(name, _)| Some(name.as_str()) != bound_label)
            .filter_map(|(name, at)| values.get_mut(at).map(|v| (name, std::mem::take(v))))
            .filter(|(_, v)| !v.is_empty())
            .collect();
        if let Some(f) = self.families.get_mut(i) {
            f.samples.push(Sample { suffix, labels, bound, value, timestamp, line: self.no });
        }
        Ok(())
    }

    /// Checks each family: no duplicate series, summaries and histograms
    /// complete (a histogram without a `+Inf` bucket gets one, equal to its
    /// count). Drops families without samples and empty HELP texts.
    fn finish(mut self) -> Result<Vec<Family>, Error> {
        self.families.retain(|f| !f.samples.is_empty());
        for f in &mut self.families {
            if f.help.as_deref() == Some("") {
                f.help = None;
            }
            let mut seen = Index::new();
            for s in &f.samples {
                if seen.insert(series_key(s), 0).is_some() {
                    return Err(Error { line: s.line, kind: ErrorKind::DuplicateSeries });
                }
            }
            if !matches!(f.kind, Kind::Summary | Kind::Histogram) {
                continue;
            }
            // Per series (labels): line of its last sample, whether it has
            // _sum, its _count, and whether it has a +Inf bucket.
            let mut by_labels = Index::new();
            let mut series: Vec<(&[(String, String)], SeriesParts)> = Vec::new();
            for s in &f.samples {
                let mut key = String::new();
                push_labels_key(&mut key, &s.labels);
                let at = *by_labels.entry(key).or_insert(series.len());
                if at == series.len() {
                    series.push((&s.labels, (s.line, false, None, false)));
                }
                let Some((_, e)) = series.get_mut(at) else { continue };
                e.0 = e.0.max(s.line);
                match s.suffix {
                    Suffix::Sum => e.1 = true,
                    Suffix::Count => e.2 = Some(s.value),
                    Suffix::Bucket if s.bound == Some(f64::INFINITY) => e.3 = true,
                    _ => {}
                }
            }
            let mut extra = Vec::new();
            for (labels, (line, sum, count, inf)) in series {
                let Some(count) = count else {
                    return Err(Error { line, kind: ErrorKind::Incomplete("_count") });
                };
                if !sum {
                    return Err(Error { line, kind: ErrorKind::Incomplete("_sum") });
                }
                if f.kind == Kind::Histogram && !inf {
                    extra.push(Sample {
                        suffix: Suffix::Bucket,
                        labels: labels.to_vec(),
                        bound: Some(f64::INFINITY),
                        value: count,
                        timestamp: None,
                        line,
                    });
                }
            }
            f.samples.extend(extra);
        }
        Ok(self.families)
    }
}

fn label_str(kind: Kind) -> &'static str {
    if kind == Kind::Summary { "quantile" } else { "le" }
}

/// Of one summary or histogram series: the line of its last sample,
/// whether it has `_sum`, its `_count`, whether it has a `+Inf` bucket.
type SeriesParts = (usize, bool, Option<f64>, bool);

/// Appends the labels part of a series key: each name and value followed
/// by `\x02`, then `\x01`. Names and values hold no control character, so
/// these keys sort as the label lists do (a shorter list first).
fn push_labels_key(key: &mut String, labels: &[(String, String)]) {
    for (name, value) in labels {
        key.push_str(name);
        key.push('\u{2}');
        key.push_str(value);
        key.push('\u{2}');
    }
    key.push('\u{1}');
}

/// What identifies a series within its family, and sorts it into
/// exposition order: by labels, then quantiles or buckets by bound, `_sum`,
/// `_count`.
fn series_key(s: &Sample) -> String {
    let mut key = String::new();
    push_labels_key(&mut key, &s.labels);
    key.push(match s.suffix {
        Suffix::None => '0',
        Suffix::Bucket => '1',
        Suffix::Sum => '2',
        Suffix::Count => '3',
    });
    if let Some(b) = s.bound {
        // +0.0 and -0.0 are one bound, every NaN is one too; the bits
        // turned so that their hex digits sort as the floats do.
        let bits = if b == 0.0 {
            0
        } else if b.is_nan() {
            f64::NAN.to_bits()
        } else {
            b.to_bits()
        };
        let ordered = if bits >> 63 == 1 { !bits } else { bits | 1 << 63 };
        for shift in (0..16).rev() {
            key.push(char::from(b"0123456789abcdef"[((ordered >> (shift * 4)) & 0xf) as usize]));
        }
    }
    key
}

/// A label value after its opening quote, up to and past the closing one.
fn label_value(c: &mut Cur<'_>) -> Result<String, ErrorKind> {
    let rest = c.rest();
    let mut out = String::new();
    let mut chars = rest.char_indices();
    while let Some((i, ch)) = chars.next() {
        match ch {
            '"' => {
                c.pos += i + 1;
                return Ok(out);
            }
            '\\' => match chars.next() {
                Some((_, '\\')) => out.push('\\'),
                Some((_, '"')) => out.push('"'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, other)) => return Err(ErrorKind::Escape(other)),
                None => return Err(ErrorKind::UnterminatedValue),
            },
            ch if is_control(ch) => return Err(ErrorKind::ControlCharacter),
            ch => out.push(ch),
        }
    }
    Err(ErrorKind::UnterminatedValue)
}

/// HELP text: `\\` and `\n` are the escapes.
fn unescape(s: &str, quotes: bool) -> Result<String, ErrorKind> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(ch) = chars.next() {
        match ch {
            '\\' => match chars.next() {
                Some('\\') => out.push('\\'),
                Some('n') => out.push('\n'),
                Some('"') if quotes => out.push('"'),
                Some(other) => return Err(ErrorKind::Escape(other)),
                None => return Err(ErrorKind::Escape(' ')),
            },
            ch if is_control(ch) => return Err(ErrorKind::ControlCharacter),
            ch => out.push(ch),
        }
    }
    Ok(out)
}

/// Sample names a family's lines use: a clash between two families here
/// would make the exposition ambiguous.
fn claimed_names(name: &str, kind: Kind) -> Vec<String> {
    let mut names = vec![name.to_string()];
    if matches!(kind, Kind::Summary | Kind::Histogram) {
        names.push(format!("{name}_sum"));
        names.push(format!("{name}_count"));
    }
    if kind == Kind::Histogram {
        names.push(format!("{name}_bucket"));
    }
    names
}

/// One family merged from every file that has it.
#[derive(Debug)]
pub struct MergedFamily {
    /// The name.
    pub name: String,
    /// The first non-empty HELP of the files that have it.
    pub help: Option<String>,
    /// The type (equal in every file).
    pub kind: Kind,
    /// The files it came from, in the order they were added.
    pub sources: Vec<String>,
    /// Every sample, in the order added.
    pub samples: Vec<Sample>,
    /// Series key to its sample's position in `samples`.
    series: Index,
}

impl MergedFamily {
    /// The samples in exposition order: by labels, then (summaries and
    /// histograms) quantiles or buckets by bound, `_sum`, `_count`.
    pub fn sorted_samples(&self) -> impl Iterator<Item = &Sample> {
        self.series.values().filter_map(|&i| self.samples.get(i))
    }
}

/// Why a file that parsed cannot join the files merged before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeError {
    /// The name belongs to a family the exporter writes itself.
    Reserved(String),
    /// Another file gave the family another TYPE.
    TypeMismatch {
        /// The family.
        name: String,
        /// The type merged so far.
        was: Kind,
        /// This file's type.
        now: Kind,
    },
    /// Another file gave the family another HELP text.
    HelpMismatch(String),
    /// A series another file has already.
    DuplicateSeries {
        /// The family.
        name: String,
        /// The line in this file.
        line: usize,
    },
    /// A sample name that another family's samples use (`x_sum` of a
    /// summary `x` and a gauge `x_sum`).
    NameClash {
        /// The sample name.
        name: String,
        /// The family that has it already.
        other: String,
    },
    /// The file would take the total past the cap.
    TooManySamples(usize),
}

impl fmt::Display for MergeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MergeError::Reserved(n) => write!(f, "{n} is a metric of the exporter itself"),
            MergeError::TypeMismatch { name, was, now } => {
                write!(f, "{name} has TYPE {} here but {} in an earlier file", now.as_str(), was.as_str())
            }
            MergeError::HelpMismatch(n) => write!(f, "{n} has a HELP text different from an earlier file's"),
            MergeError::DuplicateSeries { name, line } => {
                write!(f, "line {line}: a series of {name} that an earlier file has already")
            }
            MergeError::NameClash { name, other } => write!(f, "sample name {name} is one of family {other}'s"),
            MergeError::TooManySamples(n) => write!(f, "more than {n} samples in all files together"),
        }
    }
}

impl std::error::Error for MergeError {}

/// Families merged from several files; a file joins whole or not at all.
#[derive(Debug)]
pub struct Merged {
    families: Vec<MergedFamily>,
    /// Family name to its position in `families`.
    by_name: Index,
    /// Sample name to the position of the family whose lines use it.
    claims: Index,
    samples: usize,
    max_samples: usize,
}

impl Merged {
    /// Nothing merged yet; at most `max_samples` samples in all.
    pub fn new(max_samples: usize) -> Merged {
        Merged { families: Vec::new(), by_name: Index::new(), claims: Index::new(), samples: 0, max_samples }
    }

    /// The families, by name.
    pub fn families(&self) -> impl Iterator<Item = &MergedFamily> {
        self.by_name.values().filter_map(|&i| self.families.get(i))
    }

    /// The family named `name`.
    pub fn family(&self, name: &str) -> Option<&MergedFamily> {
        self.by_name.get(name).and_then(|&i| self.families.get(i))
    }

    /// Samples merged so far.
    pub fn sample_count(&self) -> usize {
        self.samples
    }

    /// Adds a file's families if none of them conflicts with what is
    /// merged already, with each other, or with `reserved` names; else
    /// adds nothing.
    pub fn add(&mut self, source: &str, file: Vec<Family>, reserved: impl Fn(&str) -> bool) -> Result<(), MergeError> {
        let total: usize = file.iter().map(|f| f.samples.len()).sum();
        if self.samples.saturating_add(total) > self.max_samples {
            return Err(MergeError::TooManySamples(self.max_samples));
        }
        // Sample names this file claims, to the position of its family in `file`.
        let mut new_claims = Index::new();
        for (at, f) in file.iter().enumerate() {
            for claimed in claimed_names(&f.name, f.kind) {
                if reserved(&claimed) {
                    return Err(MergeError::Reserved(claimed));
                }
                let merged = self.claims.get(&claimed).and_then(|&i| self.families.get(i)).map(|m| &m.name);
                let here = new_claims.get(&claimed).and_then(|&i| file.get(i)).map(|g| &g.name);
                if let Some(other) = merged.or(here).filter(|o| **o != f.name) {
                    return Err(MergeError::NameClash { name: claimed, other: other.clone() });
                }
                new_claims.insert(claimed, at);
            }
            let Some(m) = self.family(&f.name) else { continue };
            if m.kind != f.kind {
                return Err(MergeError::TypeMismatch { name: f.name.clone(), was: m.kind, now: f.kind });
            }
            if let (Some(a), Some(b)) = (&m.help, &f.help)
                && a != b
            {
                return Err(MergeError::HelpMismatch(f.name.clone()));
            }
            if let Some(s) = f.samples.iter().find(|s| m.series.contains_key(&series_key(s))) {
                return Err(MergeError::DuplicateSeries { name: f.name.clone(), line: s.line });
            }
        }
        for f in file {
            let at = match self.by_name.get(&f.name) {
                Some(&at) => at,
                None => {
                    self.by_name.insert(f.name.clone(), self.families.len());
                    self.families.push(MergedFamily {
                        name: f.name.clone(),
                        help: None,
                        kind: f.kind,
                        sources: Vec::new(),
                        samples: Vec::new(),
                        series: Index::new(),
                    });
                    self.families.len() - 1
                }
            };
            for claimed in claimed_names(&f.name, f.kind) {
                self.claims.insert(claimed, at);
            }
            let Some(m) = self.families.get_mut(at) else { continue };
            if m.help.is_none() {
                m.help = f.help;
            }
            m.sources.push(source.to_string());
            for s in f.samples {
                m.series.insert(series_key(&s), m.samples.len());
                m.samples.push(s);
            }
        }
        self.samples += total;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> Vec<Family> {
        parse(text, 1000).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    fn err(text: &str) -> Error {
        parse(text, 1000).unwrap_err()
    }

    #[test]
    fn parses_comments_help_type_labels_and_values() {
        let f = ok("# A comment\n\
                    # HELP wan_up Whether the WAN answers \\\\ pings.\\nSecond line.\n\
                    # TYPE wan_up gauge\n\
                    wan_up{target=\"8.8.8.8\", via=\"a\\\"b\\\\c\\nd\",} 1\n\
                    \n  \t wan_up{target=\"1.1.1.1\"} -Inf\n\
                    untyped_thing 1.5e3\n\
                    nan_thing NaN\n");
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].name, "wan_up");
        assert_eq!(f[0].help.as_deref(), Some("Whether the WAN answers \\ pings.\nSecond line."));
        assert_eq!(f[0].kind, Kind::Gauge);
        assert_eq!(
            f[0].samples[0].labels,
            vec![("target".into(), "8.8.8.8".into()), ("via".into(), "a\"b\\c\nd".into())]
        );
        assert_eq!(f[0].samples[1].value, f64::NEG_INFINITY);
        assert_eq!(f[1].kind, Kind::Untyped);
        assert_eq!(f[1].samples[0].value, 1500.0);
        assert!(f[2].samples[0].value.is_nan());
    }

    #[test]
    fn reads_real_textfile_script_outputs() {
        // Debian 12's prometheus-node-exporter-collectors, see tests/samples/README.md.
        let apt = ok(include_str!("../../tests/samples/textfile/apt_info_debian12.prom"));
        let names: Vec<&str> = apt.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "apt_upgrades_pending",
                "apt_upgrades_held",
                "apt_autoremove_pending",
                "apt_package_cache_timestamp_seconds",
                "node_reboot_required"
            ]
        );
        assert_eq!(apt[0].samples.len(), 6);
        assert_eq!(apt[0].samples[1].labels[0], ("arch".into(), "amd64".into()));
        assert!(apt[1].samples[0].labels.is_empty(), "empty label values are dropped");
        assert_eq!(apt[3].samples[0].value, 1795691447.3279812);
        let dirs = ok(include_str!("../../tests/samples/textfile/directory_size_debian12.prom"));
        assert_eq!(dirs[0].samples[0].labels[0].1, "/usr/share/doc");
        assert_eq!(dirs[0].help.as_deref(), Some("Disk space used by some directories"));
        assert!(ok(include_str!("../../tests/samples/textfile/fstab_check_debian12.prom")).is_empty());
    }

    #[test]
    fn floats_follow_go() {
        for (s, v) in [("1", 1.0), ("-2.5", -2.5), ("+3", 3.0), (".5", 0.5), ("5.", 5.0), ("1E-3", 0.001)] {
            assert_eq!(parse_float(s), Some(v), "{s}");
        }
        for s in ["+Inf", "inf", "Infinity", "-inf"] {
            assert!(parse_float(s).unwrap().is_infinite(), "{s}");
        }
        for s in ["", "0x10", "1_000", "1e400", "1e", "one", "+nan", "1.2.3", "0x1p3", "--1"] {
            assert_eq!(parse_float(s), None, "{s}");
        }
    }

    #[test]
    fn empty_labels_are_absent_and_labels_are_sorted() {
        let f = ok("x{b=\"2\",a=\"1\",c=\"\"} 1\ny{} 2\n");
        assert_eq!(f[0].samples[0].labels, vec![("a".into(), "1".into()), ("b".into(), "2".into())]);
        assert!(f[1].samples[0].labels.is_empty());
        // x{a=""} and x are the same series.
        assert_eq!(err("x{a=\"\"} 1\nx 2\n").kind, ErrorKind::DuplicateSeries);
    }

    #[test]
    fn timestamps_are_parsed_for_the_collector_to_refuse() {
        let f = ok("x 1 1441205977284\n");
        assert_eq!(f[0].samples[0].timestamp, Some(1441205977284));
        assert_eq!(err("x 1 12.5\n").kind, ErrorKind::Timestamp);
        // A blank after the value starts a timestamp (as in expfmt).
        assert_eq!(err("x 1 \n").kind, ErrorKind::Timestamp);
        assert_eq!(err("x 1 2 3\n").kind, ErrorKind::TrailingText);
    }

    #[test]
    fn cut_short_files_are_refused() {
        assert_eq!(err("a 1\nb 2").kind, ErrorKind::NoFinalNewline);
        assert_eq!(err("a 1\nb 2").line, 2);
        assert_eq!(err("a 1\nb{x=\"").line, 2);
        assert!(ok("").is_empty());
        assert!(ok("\n\n").is_empty());
        assert_eq!(err("a 1\r\n").kind, ErrorKind::CarriageReturn);
    }

    #[test]
    fn syntax_errors_name_the_line() {
        for (text, line, kind) in [
            ("1x 1\n", 1, ErrorKind::MetricName),
            ("ok 1\nx{1=\"a\"} 1\n", 2, ErrorKind::LabelName),
            ("x{__name__=\"y\"} 1\n", 1, ErrorKind::ReservedLabel),
            ("x{a=\"1\",a=\"2\"} 1\n", 1, ErrorKind::DuplicateLabel),
            ("x{a \"1\"} 1\n", 1, ErrorKind::Equals),
            ("x{a=1} 1\n", 1, ErrorKind::OpenQuote),
            ("x{a=\"1} 1\n", 1, ErrorKind::UnterminatedValue),
            ("x{a=\"\\t\"} 1\n", 1, ErrorKind::Escape('t')),
            ("x{a=\"\u{1}\"} 1\n", 1, ErrorKind::ControlCharacter),
            ("x{a=\"1\" b=\"2\"} 1\n", 1, ErrorKind::CommaOrBrace),
            ("x\n", 1, ErrorKind::Value),
            ("x one\n", 1, ErrorKind::Value),
            ("x-y 1\n", 1, ErrorKind::Value),
            ("# HELP x a\n# HELP x b\n", 2, ErrorKind::SecondHelp),
            ("x 1\n# TYPE x gauge\n", 2, ErrorKind::SecondType),
            ("# TYPE x gauge\n# TYPE x gauge\n", 2, ErrorKind::SecondType),
            ("# TYPE x untyped\n# TYPE x gauge\n", 2, ErrorKind::SecondType),
            ("# TYPE x gauge_histogram\n", 1, ErrorKind::UnknownType),
            ("# HELP 1x y\n", 1, ErrorKind::MetricName),
            ("# HELP x \\q\n", 1, ErrorKind::Escape('q')),
            ("x 1\nx 2\n", 2, ErrorKind::DuplicateSeries),
        ] {
            let e = err(text);
            assert_eq!((e.line, &e.kind), (line, &kind), "{text:?}: {e}");
        }
    }

    #[test]
    fn lenient_where_expfmt_is() {
        // Other comments, bare HELP/TYPE keywords, a TYPE in any case, no
        // blank before the value after labels.
        let f = ok("#\n# TODO\n# HELP\n# TYPE x\n# TYPE y COUNTER\ny{a=\"1\"}3\n# HELP z\n");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].kind, Kind::Counter);
        // HELP and TYPE without samples make no family; empty HELP is none.
        let f = ok("# HELP q \n# TYPE q gauge\n# HELP e \ne 1\n");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].help, None);
    }

    #[test]
    fn summaries_and_histograms() {
        let f = ok("# TYPE rtt_seconds summary\n\
                    rtt_seconds{target=\"a\",quantile=\"0.5\"} 0.01\n\
                    rtt_seconds{target=\"a\",quantile=\"0.99\"} 0.2\n\
                    rtt_seconds_sum{target=\"a\"} 12\n\
                    rtt_seconds_count{target=\"a\"} 600.9\n\
                    # TYPE size_bytes histogram\n\
                    size_bytes_bucket{le=\"100\"} 3\n\
                    size_bytes_sum 250\n\
                    size_bytes_count 4\n");
        let s = &f[0];
        assert_eq!(s.samples.len(), 4);
        assert_eq!(s.samples[0].bound, Some(0.5));
        assert_eq!(s.samples[0].labels, vec![("target".into(), "a".into())]);
        assert_eq!(s.samples[3].suffix, Suffix::Count);
        assert_eq!(s.samples[3].value, 600.0);
        let h = &f[1];
        assert_eq!(h.samples.len(), 4, "a +Inf bucket equal to the count is added");
        assert_eq!(h.samples[3].bound, Some(f64::INFINITY));
        assert_eq!(h.samples[3].value, 4.0);
        for (text, kind) in [
            ("# TYPE s summary\ns 1\n", "quantile"),
            ("# TYPE s summary\ns{quantile=\"x\"} 1\n", "label quantile"),
            ("# TYPE h histogram\nh 1\n", "NAME_bucket"),
            ("# TYPE h histogram\nh_bucket 1\n", "le"),
            ("# TYPE h histogram\nh_sum{le=\"1\"} 1\n", "no quantile or le"),
            ("# TYPE s summary\ns_sum 1\n", "_count"),
            ("# TYPE s summary\ns_count 1\n", "_sum"),
            ("# TYPE h histogram\nh_count -1\n", "count"),
        ] {
            let e = err(text);
            let msg = e.to_string();
            assert!(msg.contains(kind), "{text:?}: {msg}");
        }
        // le is an ordinary label outside histograms.
        assert_eq!(ok("x{le=\"1\"} 1\n")[0].samples[0].labels.len(), 1);
    }

    #[test]
    fn sample_cap_stops_early() {
        let text = "x{a=\"1\"} 1\nx{a=\"2\"} 1\nx{a=\"3\"} 1\n";
        assert_eq!(parse(text, 2).unwrap_err(), Error { line: 3, kind: ErrorKind::TooManySamples(2) });
        assert!(parse(text, 3).is_ok());
    }

    #[test]
    fn merge_is_all_or_nothing() {
        let none = |_: &str| false;
        let mut m = Merged::new(100);
        m.add("a.prom", ok("# HELP e Events.\n# TYPE e counter\ne{f=\"a\"} 1\n"), none).unwrap();
        // The same family from another file, without HELP: merged.
        m.add("b.prom", ok("# TYPE e counter\ne{f=\"b\"} 2\n"), none).unwrap();
        let before = m.sample_count();
        for (text, want) in [
            ("# TYPE e gauge\ne{f=\"c\"} 1\nok 1\n", "has TYPE gauge here but counter"),
            ("# HELP e Other.\n# TYPE e counter\ne{f=\"c\"} 1\nok 1\n", "HELP text different"),
            ("ok 1\n# TYPE e counter\ne{f=\"a\"} 5\n", "earlier file has already"),
            ("node_textfile_scrape_error 1\n", "the exporter itself"),
        ] {
            let e = m.add("c.prom", ok(text), |n| n.starts_with("node_textfile_")).unwrap_err();
            assert!(e.to_string().contains(want), "{text:?}: {e}");
            assert_eq!(m.sample_count(), before);
            assert!(m.family("ok").is_none());
        }
        // A summary x and a gauge x_sum in two files clash too.
        m.add("d.prom", ok("# TYPE s summary\ns_sum 1\ns_count 1\n"), none).unwrap();
        assert!(m.add("e.prom", ok("s_sum 1\n"), none).is_err());
        assert!(m.add("e.prom", ok("s_count_total 1\n"), none).is_ok());
        let e = m.family("e").unwrap();
        assert_eq!(e.help.as_deref(), Some("Events."));
        assert_eq!(e.sources, ["a.prom", "b.prom"]);
        let mut small = Merged::new(2);
        small.add("a", ok("a 1\nb 1\n"), none).unwrap();
        assert_eq!(small.add("b", ok("c 1\n"), none), Err(MergeError::TooManySamples(2)));
    }

    #[test]
    fn sorted_samples_put_sum_and_count_after_buckets() {
        let mut m = Merged::new(100);
        let text = "# TYPE h histogram\nh_count{a=\"2\"} 1\nh_sum{a=\"2\"} 1\nh_bucket{a=\"2\",le=\"+Inf\"} 1\n\
                    h_bucket{a=\"2\",le=\"0.5\"} 1\nh_sum{a=\"1\"} 0\nh_count{a=\"1\"} 0\n";
        m.add("h", ok(text), |_| false).unwrap();
        let order: Vec<(String, Suffix, Option<f64>)> =
            m.family("h").unwrap().sorted_samples().map(|s| (s.labels[0].1.clone(), s.suffix, s.bound)).collect();
        assert_eq!(
            order,
            vec![
                ("1".into(), Suffix::Bucket, Some(f64::INFINITY)),
                ("1".into(), Suffix::Sum, None),
                ("1".into(), Suffix::Count, None),
                ("2".into(), Suffix::Bucket, Some(0.5)),
                ("2".into(), Suffix::Bucket, Some(f64::INFINITY)),
                ("2".into(), Suffix::Sum, None),
                ("2".into(), Suffix::Count, None),
            ]
        );
    }
}

#[cfg(test)]
mod messages {
    use super::*;

    /// Every message, pinned: the Display impls are written for size.
    #[test]
    fn every_message() {
        let cases = [
            (
                ErrorKind::NoFinalNewline,
                "no newline at the end: the file is cut short (write it under another name, then rename it)"
                    .to_string(),
            ),
            (ErrorKind::CarriageReturn, "carriage return at the end of the line (DOS line endings)".into()),
            (ErrorKind::MetricName, "expected a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)".into()),
            (ErrorKind::LabelName, "expected a label name ([a-zA-Z_][a-zA-Z0-9_]*)".into()),
            (ErrorKind::ReservedLabel, "the label name __name__ is reserved".into()),
            (ErrorKind::DuplicateLabel, "a label name given twice".into()),
            (ErrorKind::Equals, "expected '=' after the label name".into()),
            (ErrorKind::OpenQuote, "expected '\"' to open the label value".into()),
            (ErrorKind::UnterminatedValue, "the label value has no closing '\"'".into()),
            (ErrorKind::Escape('t'), "invalid escape \\t".into()),
            (ErrorKind::Escape('\u{1}'), "invalid escape \\\\u{1}".into()),
            (ErrorKind::ControlCharacter, "control character in a label value or HELP text".into()),
            (ErrorKind::CommaOrBrace, "expected ',' or '}' after the label value".into()),
            (ErrorKind::Value, "expected a float as the value (such as 1, -2.5, 1e3, NaN, +Inf)".into()),
            (ErrorKind::Timestamp, "expected an integer timestamp (milliseconds) after the value".into()),
            (ErrorKind::TrailingText, "text after the timestamp".into()),
            (ErrorKind::SecondHelp, "second HELP line for the family".into()),
            (ErrorKind::SecondType, "second TYPE line for the family, or TYPE after its samples".into()),
            (ErrorKind::UnknownType, "expected TYPE counter, gauge, untyped, summary or histogram".into()),
            (ErrorKind::Bound("le"), "expected a float in label le".into()),
            (ErrorKind::SampleForm("an le label"), "expected an le label".into()),
            (ErrorKind::Incomplete("_sum"), "series without its _sum".into()),
            (ErrorKind::Count, "a count must be a non-negative number".into()),
            (ErrorKind::DuplicateSeries, "duplicate series".into()),
            (ErrorKind::TooManySamples(20000), "more than 20000 samples".into()),
        ];
        for (kind, text) in cases {
            assert_eq!(Error { line: 7, kind }.to_string(), format!("line 7: {text}"));
        }
        let merge = [
            (MergeError::Reserved("node_x".into()), "node_x is a metric of the exporter itself"),
            (
                MergeError::TypeMismatch { name: "m".into(), was: Kind::Gauge, now: Kind::Counter },
                "m has TYPE counter here but gauge in an earlier file",
            ),
            (MergeError::HelpMismatch("m".into()), "m has a HELP text different from an earlier file's"),
            (
                MergeError::DuplicateSeries { name: "m".into(), line: 3 },
                "line 3: a series of m that an earlier file has already",
            ),
            (
                MergeError::NameClash { name: "x_sum".into(), other: "x".into() },
                "sample name x_sum is one of family x's",
            ),
            (MergeError::TooManySamples(5), "more than 5 samples in all files together"),
        ];
        for (e, text) in merge {
            assert_eq!(e.to_string(), text);
        }
    }
}
