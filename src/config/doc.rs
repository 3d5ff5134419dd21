//! A reader for the part of TOML a config file uses, keeping the byte span
//! of every key and value so an error can name the line and column.
//!
//! Read: comments; bare, quoted and dotted keys; `[table]` and `[a.b.c]`
//! headers; basic strings with every escape (`\uXXXX`, `\xHH`, `\e`) and
//! literal strings; integers (decimal with sign, `0x`, `0o`, `0b`,
//! underscores between digits); booleans; arrays (over several lines, with
//! comments and a trailing comma); inline tables. Duplicate keys and tables
//! defined twice are errors, as TOML says.
//!
//! Refused with "not supported in this config": multi-line strings and
//! arrays of tables (`[[x]]`), which no config key takes. Floats and dates
//! are read only as far as needed to say "invalid type" (no key takes
//! them), so their text is kept, not their value.
//!
//! It replaced the `toml` crate: about 60 KB less on MIPS, measured in
//! docs/design.md. A test compares it with the `toml` crate on every valid
//! document it generates.

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
    let mut p = Parser { text, s: text.as_bytes(), i: 0 };
    let mut root = Table { entries: Vec::new(), how: How::Header };
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
                let keys = p.keys()?;
                p.skip_ws();
                p.expect(b']', "`]` to close the table header")?;
                let mut t = &mut root;
                current.clear();
                for (n, key) in keys.iter().enumerate() {
                    let i = t.find_or_add(key, How::Implicit);
                    current.push(i);
                    t = match &mut t.entries[i].1.kind {
                        // On the way: any table not inline; the last: one only
                        // named on the way so far (or just added).
                        Kind::Table(sub)
                            if (n + 1 < keys.len() && sub.how != How::Inline) || sub.how == How::Implicit =>
                        {
                            if n + 1 == keys.len() {
                                sub.how = How::Header;
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
        if let Some(i) = self.entries.iter().position(|(k, _)| k.name == key.name) {
            return i;
        }
        let value = Value { span: key.span.clone(), kind: Kind::Table(Table { entries: Vec::new(), how }) };
        self.entries.push((Key { name: key.name.clone(), span: key.span.clone() }, value));
        self.entries.len() - 1
    }
}

fn duplicate(key: &Key) -> Error {
    Error { span: key.span.clone(), message: format!("duplicate key `{}`", key.name) }
}

struct Parser<'a> {
    text: &'a str,
    s: &'a [u8],
    i: usize,
}

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

    fn expect(&mut self, b: u8, what: &str) -> Result<(), Error> {
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

    /// A newline (`\n` or `\r\n`); with `required`, also the end of the file.
    /// Returns whether one was there.
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

    /// A dotted key: `a`, `"a b".c`, `'x'`.
    fn keys(&mut self) -> Result<Vec<Key>, Error> {
        let mut keys = Vec::new();
        loop {
            let start = self.i;
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
        self.expect(b'=', "`=` after the key")?;
        self.skip_ws();
        let value = self.value()?;
        let mut t = t;
        let (last, path) = keys.split_last().ok_or_else(|| self.unexpected("a key"))?;
        for key in path {
            let i = t.find_or_add(key, How::Dotted);
            t = match &mut t.entries[i].1.kind {
                Kind::Table(sub) if sub.how == How::Dotted => sub,
                _ => return Err(duplicate(key)),
            };
        }
        if t.entries.iter().any(|(k, _)| k.name == last.name) {
            return Err(duplicate(last));
        }
        t.entries.push((Key { name: last.name.clone(), span: last.span.clone() }, value));
        Ok(())
    }

    fn value(&mut self) -> Result<Value, Error> {
        let start = self.i;
        let kind = match self.peek() {
            Some(b'"') => Kind::String(self.basic_string()?),
            Some(b'\'') => Kind::String(self.literal_string()?),
            Some(b'[') => {
                self.i += 1;
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
