//! Turns a parsed TOML document (`doc`, every key and value with its span)
//! into config values, so an error names the line and column of the key or
//! value at fault.
//!
//! A config table reads its keys with [`fields!`]: one line per key, whose
//! value type says how it is read ([`FromToml`]). Keys not listed are an
//! error at the key, so a typo never passes silently.

pub use crate::config::doc::{Error, Value};
use crate::config::doc::{Key, Kind};
use std::collections::BTreeMap;
use std::path::PathBuf;

impl Error {
    /// An error about `v`.
    pub fn at(v: &Value, message: String) -> Error {
        Error { span: v.span.clone(), message }
    }

    /// "invalid type: integer `5`, expected a boolean".
    pub fn invalid_type(v: &Value, expected: &str) -> Error {
        let found = match &v.kind {
            Kind::String(s) => format!("string {s:?}"),
            Kind::Integer(i) => format!("integer `{i}`"),
            Kind::Float(f) => format!("floating point `{f}`"),
            Kind::Boolean(b) => format!("boolean `{b}`"),
            Kind::Datetime => "datetime".to_string(),
            Kind::Array(_) => "array".to_string(),
            Kind::Table(_) => "table".to_string(),
        };
        Error::at(v, format!("invalid type: {found}, expected {expected}"))
    }
}

/// A type a config key can hold, read from its TOML value.
pub trait FromToml: Sized {
    /// Reads `v`, or says what is wrong with it.
    fn from_toml(v: &Value) -> Result<Self, Error>;

    /// Reads `v` over the value a file read before set (`--config A
    /// --config B`): a table keeps the keys `v` does not give, anything else
    /// is replaced whole.
    // Inline: for a plain value this is the assignment `fields!` made before.
    #[inline]
    fn read_onto(&mut self, v: &Value) -> Result<(), Error> {
        *self = Self::from_toml(v)?;
        Ok(())
    }
}

/// A config table read from scratch: its defaults, then the keys `v` gives.
pub fn read_table<T: FromToml + Default>(v: &Value) -> Result<T, Error> {
    let mut t = T::default();
    t.read_onto(v)?;
    Ok(t)
}

/// Reads the keys of a config table, one line per key:
///
/// ```ignore
/// fields!(v, {
///     "level" => c.level,
///     "syslog_socket" => c.syslog_socket,
/// });
/// ```
///
/// Each listed key that is present is read with the [`FromToml`] impl of
/// the place's type and stored there; any other key is an error. Keys that
/// are absent leave the place as it was (its default).
macro_rules! fields {
    ($table:expr, { $($key:literal => $place:expr),* $(,)? }) => {
        $crate::config::read::each_field($table, &[$($key),*], &mut |key, value| {
            match key {
                $($key => $crate::config::read::FromToml::read_onto(&mut $place, value)?,)*
                _ => {}
            }
            Ok(())
        })?
    };
}
pub(crate) use fields;

/// The table in `v`, or an error naming what it should have been.
pub fn table<'a>(v: &'a Value, expected: &str) -> Result<&'a [(Key, Value)], Error> {
    match &v.kind {
        Kind::Table(t) => Ok(&t.entries),
        _ => Err(Error::invalid_type(v, expected)),
    }
}

/// Calls `read` for each key of table `v`, refusing keys not in `known`.
/// Not generic, so each config table costs only its `match`.
pub fn each_field(
    v: &Value,
    known: &[&str],
    read: &mut dyn FnMut(&str, &Value) -> Result<(), Error>,
) -> Result<(), Error> {
    for (key, value) in table(v, "a table")? {
        let name = key.name.as_str();
        if !known.contains(&name) {
            return Err(Error { span: key.span.clone(), message: unknown("field", name, known.iter().copied(), "`") });
        }
        read(name, value)?;
    }
    Ok(())
}

/// "unknown WHAT `name`, expected one of `a`, `b`", each name of `known`
/// between `quote`s. One copy for every table, enum and the collector list.
pub fn unknown<'a>(what: &str, name: &str, known: impl Iterator<Item = &'a str>, quote: &str) -> String {
    let mut m = format!("unknown {what} `{name}`, expected one of ");
    for (i, k) in known.enumerate() {
        if i > 0 {
            m.push_str(", ");
        }
        m.push_str(quote);
        m.push_str(k);
        m.push_str(quote);
    }
    m
}

/// The string in `v`.
pub fn str(v: &Value) -> Result<&str, Error> {
    match &v.kind {
        Kind::String(s) => Ok(s),
        _ => Err(Error::invalid_type(v, "a string")),
    }
}

/// Which of `names` the string in `v` is (for enums).
pub fn variant(v: &Value, names: &[&str]) -> Result<usize, Error> {
    let s = str(v)?;
    names.iter().position(|n| *n == s).ok_or_else(|| Error::at(v, unknown("variant", s, names.iter().copied(), "`")))
}

/// The integer in `v` if it lies in `min..=max`.
pub fn int_in(v: &Value, min: u64, max: u64) -> Result<u64, Error> {
    let Kind::Integer(i) = &v.kind else {
        return Err(Error::invalid_type(v, "an integer"));
    };
    match crate::config::doc::integer_value(i) {
        Some(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(Error::at(v, format!("{i} is out of range (expected {min} to {max})"))),
    }
}

/// The items of the array in `v`.
pub fn array<'a>(v: &'a Value, expected: &str) -> Result<&'a [Value], Error> {
    match &v.kind {
        Kind::Array(a) => Ok(a),
        _ => Err(Error::invalid_type(v, expected)),
    }
}

impl FromToml for bool {
    fn from_toml(v: &Value) -> Result<bool, Error> {
        match &v.kind {
            Kind::Boolean(b) => Ok(*b),
            _ => Err(Error::invalid_type(v, "a boolean")),
        }
    }
}

impl FromToml for String {
    fn from_toml(v: &Value) -> Result<String, Error> {
        str(v).map(String::from)
    }
}

impl FromToml for PathBuf {
    fn from_toml(v: &Value) -> Result<PathBuf, Error> {
        str(v).map(PathBuf::from)
    }
}

impl<T: FromToml> FromToml for Option<T> {
    fn from_toml(v: &Value) -> Result<Option<T>, Error> {
        T::from_toml(v).map(Some)
    }
}

impl<T: FromToml> FromToml for Vec<T> {
    fn from_toml(v: &Value) -> Result<Vec<T>, Error> {
        array(v, "an array")?.iter().map(T::from_toml).collect()
    }
}

/// A table whose keys are names the user chooses (users, interfaces).
impl<T: FromToml> FromToml for BTreeMap<String, T> {
    fn from_toml(v: &Value) -> Result<BTreeMap<String, T>, Error> {
        let mut map = BTreeMap::new();
        map.read_onto(v)?;
        Ok(map)
    }

    /// A later file adds entries and reads over the ones it names.
    fn read_onto(&mut self, v: &Value) -> Result<(), Error> {
        for (key, value) in table(v, "a table")? {
            match self.get_mut(&key.name) {
                Some(entry) => entry.read_onto(value)?,
                None => {
                    self.insert(key.name.clone(), T::from_toml(value)?);
                }
            }
        }
        Ok(())
    }
}
