//! A reader for the part of TOML a config file uses, keeping the byte span
//! of every key and value so an error can name the line and column.
//!
//! Read: comments; bare, quoted and dotted keys; `[table]` and `[a.b.c]`
//! headers; basic strings with every escape (`\uXXXX`, `\xHH`, `\e`) and
//! literal strings; integers (decimal with sign, `0x`, `0o`, `0b`,
//! underscores between digits); booleans; arrays (over several lines, with
//! comments and a trailing comma); inline tables (also over several lines,
//! as TOML 1.1 allows). Duplicate keys and tables
//! defined twice are errors, as TOML says.
//!
//! Refused with "not supported in this config": multi-line strings and
//! arrays of tables (`[[x]]`), which no config key takes. Floats and dates
//! are read only as far as needed to say "invalid type" (no key takes
//! them), so their text is kept, not their value.
//!
//! Nesting is bounded in every form, so that no document under the size
//! cap can exhaust a router's 256 KiB stack, here or where the tree is
//! walked or dropped (both recursive): no value may sit more than
//! [`MAX_DEPTH`] levels from the top of the file, where each key part (of
//! a table header or a dotted key, in an inline table too) and each array
//! is one level. `[a.b]` then `c.d = [1]` puts `1` at level 5. The config
//! needs 4. The part or `[` that would go deeper is refused on reading,
//! before any of the deeper tree is built.
//!
//! It replaced the `toml` crate: about 58 KB less on MIPS, measured in
//! docs/design.md. A test compares it with the `toml` crate on every valid
//! document it generates.

use std::collections::BTreeMap;
use std::ops::Range;

/// What is wrong, and where (byte span in the file).
#[derive(Debug)]
pub struct Error {
    /// Bytes of the file the error points at.
    pub span: Range<usize>,
    /// What is wrong.
    pub message: String,
}

/// A value with its byte span in the file.
#[derive(Debug)]
pub struct Value {
    /// Where the value is (for a table made by a header: its name).
    pub span: Range<usize>,
    /// The value.
    pub kind: Kind,
}

/// The kinds of TOML value.
#[derive(Debug)]
pub enum Kind {
    /// A string, escapes decoded.
    String(String),
    /// An integer as written (checked: sign, prefix, digits, underscores).
    Integer(String),
    /// A float as written (not converted: no key takes one).
    Float(String),
    /// `true` or `false`.
    Boolean(bool),
    /// A date or time (not converted: no key takes one).
    Datetime,
    /// An array.
    Array(Vec<Value>),
    /// A table.
    Table(Table),
}

/// A table's keys and values in file order.
#[derive(Debug, Default)]
pub struct Table {
    /// The entries.
    pub entries: Vec<(Key, Value)>,
    /// Key name to entry, so a file of many keys is not read in square time.
    index: BTreeMap<String, usize>,
    how: How,
}

/// A key and where it is written.
#[derive(Debug)]
pub struct Key {
    /// The key, quotes and escapes removed.
    pub name: String,
    /// Where it is written.
    pub span: Range<usize>,
}

/// How a table came to be, which says whether it may be extended later.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum How {
    /// Named in a header before its own (`a` in `[a.b]`): may get a header.
    #[default]
    Implicit,
    /// By its own header.
    Header,
    /// By a dotted key (`a` in `a.b = 1`): more dotted keys may add to it.
    Dotted,
    /// Inline (`{ ... }`): closed.
    Inline,
}

/// Parses `text` into its root table.
pub fn parse(text: &str) -> Result<Value, Error> {
    let mut p = Parser { text, s: text.as_bytes(), i: 0, level: 0 };
    let mut root = Table { how: How::Header, ..Table::default() };
    // The table that key = value lines go to: entry indices from the root.
    let mut current: Vec<usize> = Vec::new();
    loop {
        p.skip_ws();
        match p.peek() {
            None => break,
            Some(b'[') => {
                let start = p.i;
                p.i += 1;
                if p.peek() == Some(b'[') {
                    return Err(
                        p.error(start..start + 2, "arrays of tables (`[[...]]`) are not supported in this config")
                    );
                }
                p.skip_ws();
                p.level = 0;
                let keys = p.keys()?;
                // Its `key = value` lines are under the header's parts.
                p.level = keys.len();
                p.skip_ws();
                p.eat_or_fail(b']', "`]` to close the table header")?;
                let mut t = &mut root;
                current.clear();
                for (n, key) in keys.iter().enumerate() {
                    let i = t.find_or_add(key, How::Implicit);
                    current.push(i);
                    let (k, v) = &mut t.entries[i];
                    t = match &mut v.kind {
                        // On the way: any table not inline; the last: one only
                        // named on the way so far (or just added).
                        Kind::Table(sub)
                            if (n + 1 < keys.len() && sub.how != How::Inline) || sub.how == How::Implicit =>
                        {
                            if n + 1 == keys.len() {
                                // Errors about it point at its own header.
                                sub.how = How::Header;
                                k.span = key.span.clone();
                                v.span = key.span.clone();
                            }
                            sub
                        }
                        _ => return Err(duplicate(key)),
                    };
                }
            }
            Some(b'\n' | b'\r' | b'#') => {}
            Some(_) => {
                let mut t = &mut root;
                for &i in &current {
                    // Each index was a table when the header was read.
                    let Some((_, Value { kind: Kind::Table(sub), .. })) = t.entries.get_mut(i) else {
                        return Err(p.error(0..0, "internal error: lost the current table"));
                    };
                    t = sub;
                }
                p.key_value(t)?;
            }
        }
        p.end_of_line()?;
    }
    Ok(Value { span: 0..text.len(), kind: Kind::Table(root) })
}

impl Table {
    /// The index of entry `key`, added as an empty table made `how` if absent.
    fn find_or_add(&mut self, key: &Key, how: How) -> usize {
        if let Some(&i) = self.index.get(&key.name) {
            return i;
        }
        let value = Value { span: key.span.clone(), kind: Kind::Table(Table { how, ..Table::default() }) };
        self.push(key, value)
    }

    /// Adds `key = value` (the caller checked the key is new); its index.
    fn push(&mut self, key: &Key, value: Value) -> usize {
        let i = self.entries.len();
        self.index.insert(key.name.clone(), i);
        self.entries.push((Key { name: key.name.clone(), span: key.span.clone() }, value));
        i
    }
}

fn duplicate(key: &Key) -> Error {
    Error { span: key.span.clone(), message: format!("duplicate key `{}`", key.name) }
}

struct Parser<'a> {
    text: &'a str,
    s: &'a [u8],
    i: usize,
    /// Levels from the top of the file to the table whose keys, or the
    /// array whose items, are read now (see [`MAX_DEPTH`]).
    level: usize,
}

/// Most levels (key parts and arrays) from the top of the file to any
/// value: bounds the recursion of reading, walking and dropping the tree.
pub const MAX_DEPTH: usize = 32;

/// The error for going deeper than [`MAX_DEPTH`] (a test keeps the number
/// equal; a literal, as `format!` would cost more).
const TOO_DEEP: &str = "nested too deep, expected at most 32 levels of key parts and arrays";

impl<'a> Parser<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn error(&self, span: Range<usize>, message: &str) -> Error {
        Error { span, message: message.to_string() }
    }

    /// "expected WHAT, found X" at the current position.
    fn unexpected(&self, what: &str) -> Error {
        let found = match self.peek() {
            None => "the end of the file".to_string(),
            Some(b'\n') => "the end of the line".to_string(),
            Some(b'\r') => "a carriage return".to_string(),
            Some(_) => {
                let rest = self.text_from(self.i);
                format!("`{}`", rest.chars().next().unwrap_or(' '))
            }
        };
        let end = self.i + usize::from(self.i < self.s.len());
        Error { span: self.i..end, message: format!("expected {what}, found {found}") }
    }

    /// The text from byte `i` (empty if `i` is not on a character).
    fn text_from(&self, i: usize) -> &'a str {
        self.text.get(i..).unwrap_or("")
    }

    /// Consumes byte `b`, or fails naming `what` was expected there; returns an
    /// error, never panics.
    fn eat_or_fail(&mut self, b: u8, what: &str) -> Result<(), Error> {
        if self.peek() == Some(b) {
            self.i += 1;
            Ok(())
        } else {
            Err(self.unexpected(what))
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    /// A comment to the end of its line; control characters are refused.
    fn comment(&mut self) -> Result<(), Error> {
        while let Some(b) = self.peek() {
            if b == b'\n' || b == b'\r' {
                break;
            }
            if (b < 0x20 && b != b'\t') || b == 0x7f {
                return Err(self.error(self.i..self.i + 1, "control character in a comment"));
            }
            self.i += 1;
        }
        Ok(())
    }

    /// Spaces, an optional comment, then a newline or the end of the file.
    fn end_of_line(&mut self) -> Result<(), Error> {
        self.skip_ws();
        if self.peek() == Some(b'#') {
            self.comment()?;
        }
        self.newline(true)
    }

    /// A newline (`\n` or `\r\n`) or the end of the file; without one, an
    /// error if `required`.
    fn newline(&mut self, required: bool) -> Result<(), Error> {
        match self.peek() {
            Some(b'\n') => self.i += 1,
            Some(b'\r') if self.s.get(self.i + 1) == Some(&b'\n') => self.i += 2,
            None => {}
            _ if required => return Err(self.unexpected("a newline")),
            _ => {}
        }
        Ok(())
    }

    /// Spaces, newlines and comments (inside arrays and inline tables).
    fn skip_blank(&mut self) -> Result<(), Error> {
        loop {
            self.skip_ws();
            match self.peek() {
                Some(b'#') => self.comment()?,
                Some(b'\n') => self.i += 1,
                Some(b'\r') if self.s.get(self.i + 1) == Some(&b'\n') => self.i += 2,
                _ => return Ok(()),
            }
        }
    }

    /// A dotted key: `a`, `"a b".c`, `'x'`, under `self.level` levels; a
    /// part deeper than [`MAX_DEPTH`] is refused before it is read.
    fn keys(&mut self) -> Result<Vec<Key>, Error> {
        let mut keys = Vec::new();
        loop {
            let start = self.i;
            if self.level + keys.len() >= MAX_DEPTH {
                return Err(self.error(start..start + 1, TOO_DEEP));
            }
            let name = match self.peek() {
                Some(b'"') => self.basic_string()?,
                Some(b'\'') => self.literal_string()?,
                _ => {
                    while matches!(self.peek(), Some(b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-')) {
                        self.i += 1;
                    }
                    if self.i == start {
                        return Err(self.unexpected("a key"));
                    }
                    self.text_from(start).get(..self.i - start).unwrap_or("").to_string()
                }
            };
            keys.push(Key { name, span: start..self.i });
            self.skip_ws();
            if self.peek() != Some(b'.') {
                return Ok(keys);
            }
            self.i += 1;
            self.skip_ws();
        }
    }

    /// `key = value`, stored in `t` (dotted keys make tables on the way).
    fn key_value(&mut self, t: &mut Table) -> Result<(), Error> {
        let keys = self.keys()?;
        self.eat_or_fail(b'=', "`=` after the key")?;
        self.skip_ws();
        // The value sits under the key's parts.
        self.level += keys.len();
        let value = self.value()?;
        self.level -= keys.len();
        let mut t = t;
        let (last, path) = keys.split_last().ok_or_else(|| self.unexpected("a key"))?;
        for key in path {
            let i = t.find_or_add(key, How::Dotted);
            t = match &mut t.entries[i].1.kind {
                Kind::Table(sub) if sub.how == How::Dotted => sub,
                _ => return Err(duplicate(key)),
            };
        }
        if t.index.contains_key(&last.name) {
            return Err(duplicate(last));
        }
        t.push(last, value);
        Ok(())
    }

    /// A value at `self.level`: an array's items are one level deeper, an
    /// inline table's keys count their own parts.
    fn value(&mut self) -> Result<Value, Error> {
        let start = self.i;
        let kind = match self.peek() {
            Some(b'"') => Kind::String(self.basic_string()?),
            Some(b'\'') => Kind::String(self.literal_string()?),
            Some(b'[') => {
                if self.level >= MAX_DEPTH {
                    return Err(self.error(start..start + 1, TOO_DEEP));
                }
                self.i += 1;
                self.level += 1;
                let mut items = Vec::new();
                loop {
                    let before = self.i;
                    self.skip_blank()?;
                    match self.peek() {
                        Some(b']') => break,
                        None => return Err(self.error(before..before, "unclosed array, expected `]`")),
                        _ => {}
                    }
                    items.push(self.value()?);
                    let before = self.i;
                    self.skip_blank()?;
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b']') => break,
                        None => return Err(self.error(before..before, "unclosed array, expected `]`")),
                        _ => return Err(self.unexpected("`,` or `]` in the array")),
                    }
                }
                self.i += 1;
                self.level -= 1;
                Kind::Array(items)
            }
            Some(b'{') => {
                self.i += 1;
                let mut t = Table::default();
                loop {
                    let before = self.i;
                    self.skip_blank()?;
                    match self.peek() {
                        Some(b'}') => break,
                        None => return Err(self.error(before..before, "unclosed inline table, expected `}`")),
                        _ => {}
                    }
                    self.key_value(&mut t)?;
                    let before = self.i;
                    self.skip_blank()?;
                    match self.peek() {
                        Some(b',') => self.i += 1,
                        Some(b'}') => break,
                        None => return Err(self.error(before..before, "unclosed inline table, expected `}`")),
                        _ => return Err(self.unexpected("`,` or `}` in the inline table")),
                    }
                }
                self.i += 1;
                t.how = How::Inline;
                Kind::Table(t)
            }
            _ => self.scalar()?,
        };
        Ok(Value { span: start..self.i, kind })
    }

    /// A boolean, integer, float or date: a run of the characters they use.
    fn scalar(&mut self) -> Result<Kind, Error> {
        let start = self.i;
        let word = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'+' | b'-' | b'.' | b':');
        while self.peek().is_some_and(word) {
            self.i += 1;
        }
        let b = &self.s[start..self.i];
        // A date and a time may be separated by one space.
        if is_date(b) && self.peek() == Some(b' ') && self.s.get(self.i + 1).is_some_and(u8::is_ascii_digit) {
            self.i += 1;
            while self.peek().is_some_and(word) {
                self.i += 1;
            }
        }
        let text = self.text_from(start).get(..self.i - start).unwrap_or("");
        let unsigned = b.strip_prefix(b"+").or_else(|| b.strip_prefix(b"-")).unwrap_or(b);
        Ok(match b {
            b"true" => Kind::Boolean(true),
            b"false" => Kind::Boolean(false),
            _ if is_integer(b) => Kind::Integer(text.to_string()),
            _ if is_date(b) || (b.len() > 2 && b[2] == b':' && b[..2].iter().all(u8::is_ascii_digit)) => Kind::Datetime,
            _ if matches!(unsigned, b"inf" | b"nan")
                || (unsigned.first().is_some_and(u8::is_ascii_digit)
                    && !unsigned.starts_with(b"0x")
                    && unsigned.iter().any(|c| matches!(c, b'.' | b'e' | b'E'))) =>
            {
                Kind::Float(text.to_string())
            }
            _ => {
                self.i = start;
                let what = "a value (a string, number, true, false, array or inline table; strings need quotes)";
                let mut e = self.unexpected(what);
                if !text.is_empty() {
                    e.span = start..start + text.len();
                    e.message = format!("expected {what}, found `{text}`");
                }
                return Err(e);
            }
        })
    }

    /// A `"..."` string, escapes decoded.
    fn basic_string(&mut self) -> Result<String, Error> {
        let start = self.i;
        if self.s[self.i..].starts_with(b"\"\"\"") {
            return Err(self.error(start..start + 3, "multi-line strings are not supported in this config"));
        }
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.text_from(self.i).chars().next() else {
                return Err(self.error(start..self.i, "unclosed string, expected `\"`"));
            };
            match c {
                '"' => {
                    self.i += 1;
                    return Ok(out);
                }
                '\\' => {
                    let at = self.i;
                    self.i += 1;
                    let e = self.peek().unwrap_or(b' ');
                    self.i += 1;
                    let hex = |p: &mut Self, n: usize| {
                        let digits = p.s.get(p.i..p.i + n).and_then(|d| std::str::from_utf8(d).ok());
                        let c = digits
                            .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
                            .and_then(|d| u32::from_str_radix(d, 16).ok())
                            .and_then(char::from_u32);
                        p.i += n;
                        c.ok_or_else(|| p.error(at..p.i.min(p.s.len()), "invalid unicode escape"))
                    };
                    out.push(match e {
                        b'b' => '\u{8}',
                        b't' => '\t',
                        b'n' => '\n',
                        b'f' => '\u{c}',
                        b'r' => '\r',
                        b'e' => '\u{1b}',
                        b'"' => '"',
                        b'\\' => '\\',
                        b'x' => hex(self, 2)?,
                        b'u' => hex(self, 4)?,
                        b'U' => hex(self, 8)?,
                        _ => {
                            let end = (at + 2).min(self.s.len());
                            return Err(self.error(at..end, "invalid escape, expected one of \\b \\t \\n \\f \\r \\e \\\" \\\\ \\xHH \\uHHHH \\UHHHHHHHH"));
                        }
                    });
                }
                c if (c < ' ' && c != '\t') || c == '\u{7f}' => {
                    let what = if c == '\n' || c == '\r' {
                        "unclosed string, expected `\"`"
                    } else {
                        "control character in a string"
                    };
                    return Err(self.error(self.i..self.i + 1, what));
                }
                c => {
                    out.push(c);
                    self.i += c.len_utf8();
                }
            }
        }
    }

    /// A `'...'` string, taken as written.
    fn literal_string(&mut self) -> Result<String, Error> {
        let start = self.i;
        if self.s[self.i..].starts_with(b"'''") {
            return Err(self.error(start..start + 3, "multi-line strings are not supported in this config"));
        }
        self.i += 1;
        loop {
            match self.peek() {
                Some(b'\'') => {
                    self.i += 1;
                    return Ok(self.text_from(start + 1).get(..self.i - start - 2).unwrap_or("").to_string());
                }
                None | Some(b'\n' | b'\r') => return Err(self.error(start..self.i, "unclosed string, expected `'`")),
                Some(b) if (b < 0x20 && b != b'\t') || b == 0x7f => {
                    return Err(self.error(self.i..self.i + 1, "control character in a string"));
                }
                Some(_) => self.i += 1,
            }
        }
    }
}

/// `YYYY-MM-DD...`: starts like a date.
fn is_date(b: &[u8]) -> bool {
    b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

/// A TOML integer: `[+-]` decimal without leading zeros, or `0x`/`0o`/`0b`
/// digits; `_` only between two digits.
fn is_integer(b: &[u8]) -> bool {
    let (digits, radix) = match b {
        [b'0', b'x', rest @ ..] => (rest, 16),
        [b'0', b'o', rest @ ..] => (rest, 8),
        [b'0', b'b', rest @ ..] => (rest, 2),
        [b'+' | b'-', rest @ ..] => (rest, 10),
        _ => (b, 10),
    };
    let digit = |c: &u8| (*c as char).is_digit(radix);
    let leading_zero = radix == 10 && digits.len() > 1 && digits[0] == b'0';
    !digits.is_empty()
        && !leading_zero
        && digits.first().is_some_and(digit)
        && digits.last().is_some_and(digit)
        && digits.windows(2).all(|w| digit(&w[0]) || (w[0] == b'_' && digit(&w[1])))
        && digits.iter().all(|c| digit(c) || *c == b'_')
}

/// The value of an integer that [`parse`] accepted, if it fits a `u64`.
pub fn integer_value(text: &str) -> Option<u64> {
    let (digits, radix) = match text.as_bytes() {
        [b'0', b'x', ..] => (&text[2..], 16),
        [b'0', b'o', ..] => (&text[2..], 8),
        [b'0', b'b', ..] => (&text[2..], 2),
        [b'-', ..] => return None,
        [b'+', ..] => (&text[1..], 10),
        _ => (text, 10),
    };
    let mut n: u64 = 0;
    for c in digits.chars().filter(|&c| c != '_') {
        n = n.checked_mul(radix)?.checked_add(u64::from(c.to_digit(radix as u32)?))?;
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document as one line: tables sorted by key, integers as numbers,
    /// floats and dates by kind only; with `spans`, each key and non-table
    /// value's span too.
    fn ours(v: &Value, spans: bool, out: &mut String) {
        match &v.kind {
            Kind::String(s) => out.push_str(&format!("{s:?}")),
            Kind::Integer(i) => out.push_str(&int128(i)),
            Kind::Float(_) => out.push_str("float"),
            Kind::Boolean(b) => out.push_str(&b.to_string()),
            Kind::Datetime => out.push_str("datetime"),
            Kind::Array(a) => {
                out.push('[');
                for item in a {
                    ours(item, spans, out);
                    out.push(',');
                }
                out.push(']');
            }
            Kind::Table(t) => {
                let mut entries: Vec<&(Key, Value)> = t.entries.iter().collect();
                entries.sort_by(|a, b| a.0.name.cmp(&b.0.name));
                out.push('{');
                for (k, v) in entries {
                    out.push_str(&format!("{:?}", k.name));
                    if spans {
                        out.push_str(&format!("@{:?}", k.span));
                    }
                    out.push('=');
                    ours(v, spans, out);
                    out.push(',');
                }
                out.push('}');
                return;
            }
        }
        if spans {
            out.push_str(&format!("@{:?}", v.span));
        }
    }

    fn theirs(v: &toml::Spanned<toml::de::DeValue<'_>>, spans: bool, out: &mut String) {
        use toml::de::DeValue;
        match v.get_ref() {
            DeValue::String(s) => out.push_str(&format!("{s:?}")),
            // The crate takes `0x` with no digits; the config refused it
            // as out of range, we refuse it as a number.
            DeValue::Integer(i) if i.as_str().is_empty() => out.push_str("no digits"),
            DeValue::Integer(i) => out.push_str(
                &i128::from_str_radix(i.as_str(), i.radix()).map_or_else(|_| "big".to_string(), |n| n.to_string()),
            ),
            DeValue::Float(_) => out.push_str("float"),
            DeValue::Boolean(b) => out.push_str(&b.to_string()),
            DeValue::Datetime(_) => out.push_str("datetime"),
            DeValue::Array(a) => {
                out.push('[');
                for item in a {
                    theirs(item, spans, out);
                    out.push(',');
                }
                out.push(']');
            }
            DeValue::Table(t) => {
                out.push('{');
                for (k, v) in t {
                    out.push_str(&format!("{:?}", k.get_ref()));
                    if spans {
                        out.push_str(&format!("@{:?}", k.span()));
                    }
                    out.push('=');
                    theirs(v, spans, out);
                    out.push(',');
                }
                out.push('}');
                return;
            }
        }
        if spans {
            out.push_str(&format!("@{:?}", v.span()));
        }
    }

    fn int128(text: &str) -> String {
        let t: String = text.chars().filter(|&c| c != '_').collect();
        let (t, radix) = match t.get(..2) {
            Some("0x") => (&t[2..], 16),
            Some("0o") => (&t[2..], 8),
            Some("0b") => (&t[2..], 2),
            _ => (&t[..], 10),
        };
        i128::from_str_radix(t, radix).map_or_else(|_| "big".to_string(), |n| n.to_string())
    }

    fn has_float_or_date(v: &Value) -> bool {
        match &v.kind {
            Kind::Float(_) | Kind::Datetime => true,
            Kind::Array(a) => a.iter().any(has_float_or_date),
            Kind::Table(t) => t.entries.iter().any(|(_, v)| has_float_or_date(v)),
            _ => false,
        }
    }

    /// Ours against the `toml` crate on `text`: the same tree (and spans)
    /// when both accept it; where only one does, the reason must be one
    /// this reader documents.
    /// Returns whether both accepted it.
    fn compare(text: &str) -> bool {
        let mine = parse(text);
        let full = toml::de::DeTable::parse(text);
        match (&mine, &full) {
            (Ok(m), Ok(f)) => {
                let f = toml::Spanned::new(f.span(), toml::de::DeValue::Table(f.get_ref().clone()));
                let (mut a, mut b) = (String::new(), String::new());
                ours(m, true, &mut a);
                theirs(&f, true, &mut b);
                assert_eq!(a, b, "different trees or spans for {text:?}");
                return true;
            }
            (Err(e), Ok(f)) => {
                let f = toml::Spanned::new(f.span(), toml::de::DeValue::Table(f.get_ref().clone()));
                let mut b = String::new();
                theirs(&f, false, &mut b);
                let documented = e.message.contains("not supported in this config")
                    || e.message == TOO_DEEP
                    || b.contains("no digits");
                assert!(documented, "we refuse {text:?}: {}", e.message)
            }
            (Ok(m), Err(e)) => {
                assert!(has_float_or_date(m), "we accept {text:?}, toml says {e}");
            }
            (Err(e), Err(_)) => assert!(e.span.start <= text.len() && e.span.end <= text.len(), "{text:?}"),
        }
        false
    }

    fn err(text: &str) -> (usize, String) {
        let e = parse(text).unwrap_err();
        (e.span.start, e.message)
    }

    #[test]
    fn every_syntax_element_agrees_with_the_toml_crate() {
        for text in [
            "",
            "# only a comment\n",
            "a = 1\r\nb = 2\r\n",
            "a = 1 # comment\n\n\t b\t=\t2",
            "bare-key_1 = 1\n\"quoted key\" = 2\n'literal key' = 3\n\"\" = 4\n",
            "a.b.c = 1\na.b.d = 2\na . e = 3\n\"x\".'y' = 4\n",
            "[t]\nk = 1\n[t.sub]\nk = 2\n[u . \"v w\"]\n",
            "[wireless.interfaces.eth1]\nband = \"2.4GHz\"\n[wireless]\nbackend = \"wl\"\n",
            "[a.b]\n[a]\nc = 1\n",
            "[a]\nb.c = 1\n[a.b.d]\n",
            r#"s = "tab\tnl\nq\"bs\\u\u00e9U\U0001F600x\x41e\e b\b f\f r\r""#,
            "s = 'C:\\path\\no escapes'\n",
            "s = \"é ü 日本\"\n",
            "i = [0, 1, -1, +1, 1_000, 0x1f, 0xDEAD_beef, 0o17, 0b1010, -0, +0, 9223372036854775807]\n",
            "t = true\nf = false\n",
            "a = []\nb = [1,]\nc = [\n  1, # one\n  2,\n  # gap\n]\nd = [[1, 2], [\"x\"]]\ne = [ { x = 1 }, {} ]\n",
            "t = { a = 1, b.c = \"x\", 'd' = [1] }\nu = {}\n",
            "t = {\n a = 1, # c\n b = 2,\n}\n",
            "f = 1.5\ng = -0.0\nh = 1e10\ni = inf\nj = -nan\nk = 6.626e-34\n",
            "d = 1979-05-27\ne = 1979-05-27T07:32:00Z\nf = 1979-05-27 07:32:00.5+01:00\ng = 07:32:00\n",
        ] {
            assert!(compare(text), "{text:?}: {:?}", parse(text).err());
        }
    }

    #[test]
    fn every_error_agrees_and_is_located() {
        let cases: &[(&str, usize, &str)] = &[
            ("a = 1\na = 2\n", 6, "duplicate key `a`"),
            ("[a]\n[a]\n", 5, "duplicate key `a`"),
            ("a.b = 1\n[a]\n", 9, "duplicate key `a`"),
            ("[a]\nb.c = 1\n[a.b]\n", 15, "duplicate key `b`"),
            ("a = 1\n[a.b]\n", 7, "duplicate key `a`"),
            ("a = { b = 1 }\n[a.c]\n", 15, "duplicate key `a`"),
            ("a = { b = 1 }\na.c = 2\n", 14, "duplicate key `a`"),
            ("a = { b = 1, b = 2 }\n", 13, "duplicate key `b`"),
            ("x = = 1", 4, "expected a value"),
            ("x = yes", 4, "found `yes`"),
            ("x = 1 2", 6, "expected a newline"),
            ("x", 1, "expected `=`"),
            ("= 1", 0, "expected a key"),
            ("[a", 2, "expected `]`"),
            ("[a]x = 1", 3, "expected a newline"),
            ("[[a]]\n", 0, "arrays of tables (`[[...]]`) are not supported in this config"),
            ("s = \"\"\"x\"\"\"\n", 4, "multi-line strings are not supported in this config"),
            ("s = '''x'''\n", 4, "multi-line strings are not supported in this config"),
            ("s = \"abc\n", 8, "unclosed string"),
            ("s = \"abc", 4, "unclosed string"),
            ("s = 'abc\n", 4, "unclosed string"),
            ("s = \"\\q\"", 5, "invalid escape"),
            ("s = \"\\uD800\"", 5, "invalid unicode escape"),
            ("s = \"\\u12\"", 5, "invalid unicode escape"),
            ("s = \"a\u{1}\"", 6, "control character in a string"),
            ("# a\u{7f}\n", 3, "control character in a comment"),
            ("a = 1\rb = 2", 5, "expected a newline, found a carriage return"),
            ("a = [1 2]", 7, "expected `,` or `]`"),
            ("a = [,]", 5, "expected a value"),
            ("listen = [\n", 10, "unclosed array, expected `]`"),
            ("a = { b = 1", 11, "unclosed inline table"),
            ("a = { b = 1 c = 2 }", 12, "expected `,` or `}`"),
            ("i = 01", 4, "found `01`"),
            ("i = 1__0", 4, "found `1__0`"),
            ("i = _1", 4, "found `_1`"),
            ("i = 1_", 4, "found `1_`"),
            ("i = 0x", 4, "found `0x`"),
            ("i = +0x1", 4, "found `+0x1`"),
            ("i = 0X1", 4, "found `0X1`"),
            ("i = 0b12", 4, "found `0b12`"),
        ];
        for &(text, at, message) in cases {
            let (start, got) = err(text);
            assert!(got.contains(message), "{text:?}: {got}");
            assert_eq!(start, at, "{text:?}: {got}");
            compare(text);
        }
    }

    /// `a.a.a…` of `n` parts.
    fn dotted(n: usize) -> String {
        let mut s = "a.".repeat(n);
        s.pop();
        s
    }

    /// `f(n)`, a document `n` levels deep: accepted at `n = MAX_DEPTH`, and
    /// one level deeper refused at byte `at(MAX_DEPTH)`.
    fn limit_holds(form: &str, f: impl Fn(usize) -> String, at: impl Fn(usize) -> usize) {
        let ok = f(MAX_DEPTH);
        if let Err(e) = parse(&ok) {
            panic!("{form}: {ok:?} at the limit refused: {}", e.message);
        }
        let over = f(MAX_DEPTH + 1);
        let (start, message) = err(&over);
        assert_eq!(message, TOO_DEEP, "{form}");
        assert_eq!(start, at(MAX_DEPTH), "{form}: {over:?}: at {start}");
    }

    #[test]
    fn every_form_nests_to_the_limit_and_not_one_level_more() {
        // Each `n` is the level of the deepest value (see `MAX_DEPTH`).
        limit_holds("header", |n| format!("[{}]\n", dotted(n)), |n| 1 + 2 * n);
        limit_holds("key under a header", |n| format!("[{}]\nk = 1\n", dotted(n - 1)), |n| 2 * n + 2);
        limit_holds("dotted key", |n| format!("{} = 1\n", dotted(n)), |n| 2 * n);
        limit_holds("dotted key under a header", |n| format!("[b.c]\n{} = 1\n", dotted(n - 2)), |n| 6 + 2 * (n - 2));
        limit_holds(
            "dotted key in an inline table",
            |n| format!("x = {{ {} = 1 }}", dotted(n - 1)),
            |n| 6 + 2 * (n - 1),
        );
        limit_holds("arrays", |n| format!("x = {}1{}", "[".repeat(n - 1), "]".repeat(n - 1)), |n| 4 + (n - 1));
        limit_holds(
            "inline tables",
            |n| format!("x = {}1{}", "{a=".repeat(n - 1), "}".repeat(n - 1)),
            |n| 5 + 3 * (n - 1),
        );
        // Levels: a b (header), c d, the array's item, e, the array's item.
        limit_holds(
            "all at once",
            |n| format!("# top\n[{}]\nc.d = [{{e = [1]}}]\n", dotted(n - 5)),
            |n| "# top\n[".len() + 2 * (n - 4) - 1 + "]\nc.d = [{e = ".len(),
        );
        // The limit stands where an array of tables would be read too.
        let (at, message) = err(&format!("[[{}]]", dotted(MAX_DEPTH + 1)));
        assert!(at == 0 && message.contains("not supported in this config"), "{message}");
        assert!(TOO_DEEP.contains(&format!("at most {MAX_DEPTH} levels")), "{TOO_DEEP}");
    }

    /// 200,000 parts of each form, on a router's 256 KiB stack: an error
    /// near the start, with nothing deep built or dropped.
    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        const PARTS: usize = 200_000;
        let texts = [
            format!("[{}]", dotted(PARTS)),
            format!("{} = 1", dotted(PARTS)),
            format!("x = {{{} = 1}}", dotted(PARTS)),
            format!("x = {}", "[".repeat(PARTS)),
            format!("x = {}", "{a=".repeat(PARTS)),
            format!("x = {}", "[{b=".repeat(PARTS)),
            format!("x = {}1", format!("{{{} = ", dotted(PARTS / 32)).repeat(32)),
        ];
        let small_stack = std::thread::Builder::new().stack_size(256 << 10);
        let errors = small_stack.spawn(move || texts.iter().map(|t| err(t)).collect::<Vec<_>>()).unwrap().join();
        for (at, message) in errors.unwrap() {
            assert_eq!(message, TOO_DEEP);
            assert!(at < 200, "{at}");
        }
    }

    #[test]
    fn integers_keep_their_text_and_value() {
        assert_eq!(integer_value("0x1f"), Some(31));
        assert_eq!(integer_value("0o17"), Some(15));
        assert_eq!(integer_value("0b1010"), Some(10));
        assert_eq!(integer_value("+1_000"), Some(1000));
        assert_eq!(integer_value("-3"), None);
        assert_eq!(integer_value("-0"), None);
        assert_eq!(integer_value("99999999999999999999999"), None);
        assert_eq!(integer_value("18446744073709551615"), Some(u64::MAX));
    }

    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n.max(1) as u64) as usize
        }
    }

    /// Random edits of the shipped config and of small documents made of
    /// TOML's own pieces: never a panic, and always the `toml` crate's
    /// verdict (see `compare`).
    #[test]
    fn random_documents_agree_with_the_toml_crate() {
        const PIECES: &[&str] = &[
            "a",
            "b",
            "\"q\"",
            "'l'",
            ".",
            " ",
            "\t",
            "=",
            "\n",
            "\r\n",
            "#c",
            "[",
            "]",
            "[[",
            "{",
            "}",
            ",",
            "1",
            "0x1f",
            "-",
            "+",
            "_",
            "0",
            "1.5",
            "e",
            "true",
            "false",
            "\"s\\n\"",
            "'s'",
            "\"",
            "'",
            "\\",
            "1979-05-27",
            ":",
            "inf",
            "x",
            "é",
        ];
        let shipped = include_str!("../../files/ap-exporter.toml");
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut valid = [0, 0];
        for round in 0..20_000 {
            let mut text = if round % 2 == 0 { shipped.to_string() } else { String::new() };
            for _ in 0..1 + rng.below(if round % 2 == 0 { 4 } else { 24 }) {
                let mut at = rng.below(text.len() + 1);
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                if round % 2 == 0 && rng.below(3) == 0 {
                    let mut end = (at + rng.below(16)).min(text.len());
                    while !text.is_char_boundary(end) {
                        end -= 1;
                    }
                    text.replace_range(at..end, "");
                } else {
                    text.insert_str(at, PIECES[rng.below(PIECES.len())]);
                }
            }
            if compare(&text) {
                valid[round % 2] += 1;
            }
        }
        // Enough valid documents of each kind for the comparison to mean something.
        assert!(valid[0] > 1000 && valid[1] > 200, "{valid:?}");
    }
}
