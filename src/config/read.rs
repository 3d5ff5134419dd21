//! Turns a parsed TOML document (the `toml` crate's spanned [`DeTable`],
//! no serde) into config values, keeping the span of every value so an
//! error names the line and column of the key or value at fault.
//!
//! A config table reads its keys with [`fields!`]: one line per key, whose
//! value type says how it is read ([`FromToml`]). Keys not listed are an
//! error at the key, so a typo never passes silently.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::PathBuf;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A TOML value with its byte span in the file.
pub type Value<'i> = Spanned<DeValue<'i>>;

/// What is wrong, and where (byte span in the file).
#[derive(Debug)]
pub struct Error {
    /// Bytes of the file the error points at.
    pub span: Range<usize>,
    /// What is wrong.
    pub message: String,
}

impl Error {
    /// An error about `v`.
    pub fn at(v: &Value<'_>, message: String) -> Error {
        Error { span: v.span(), message }
    }

    /// "invalid type: integer `5`, expected a boolean".
    pub fn invalid_type(v: &Value<'_>, expected: &str) -> Error {
        let found = match v.get_ref() {
            DeValue::String(s) => format!("string {s:?}"),
            DeValue::Integer(i) => format!("integer `{i}`"),
            DeValue::Float(f) => format!("floating point `{f}`"),
            DeValue::Boolean(b) => format!("boolean `{b}`"),
            DeValue::Datetime(_) => "datetime".to_string(),
            DeValue::Array(_) => "array".to_string(),
            DeValue::Table(_) => "table".to_string(),
        };
        Error::at(v, format!("invalid type: {found}, expected {expected}"))
    }
}

/// A type a config key can hold, read from its TOML value.
pub trait FromToml: Sized {
    /// Reads `v`, or says what is wrong with it.
    fn from_toml(v: &Value<'_>) -> Result<Self, Error>;
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
                $($key => $place = $crate::config::read::FromToml::from_toml(value)?,)*
                _ => {}
            }
            Ok(())
        })?
    };
}
pub(crate) use fields;

/// The table in `v`, or an error naming what it should have been.
pub fn table<'a, 'i>(v: &'a Value<'i>, expected: &str) -> Result<&'a DeTable<'i>, Error> {
    match v.get_ref() {
        DeValue::Table(t) => Ok(t),
        _ => Err(Error::invalid_type(v, expected)),
    }
}

/// Calls `read` for each key of table `v`, refusing keys not in `known`.
/// Not generic, so each config table costs only its `match`.
pub fn each_field(
    v: &Value<'_>,
    known: &[&str],
    read: &mut dyn FnMut(&str, &Value<'_>) -> Result<(), Error>,
) -> Result<(), Error> {
    for (key, value) in table(v, "a table")?.iter() {
        let name: &str = key.get_ref();
        if !known.contains(&name) {
            return Err(Error { span: key.span(), message: unknown("field", name, known.iter().copied(), "`") });
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
pub fn str<'a>(v: &'a Value<'_>) -> Result<&'a str, Error> {
    match v.get_ref() {
        DeValue::String(s) => Ok(s),
        _ => Err(Error::invalid_type(v, "a string")),
    }
}

/// Which of `names` the string in `v` is (for enums).
pub fn variant(v: &Value<'_>, names: &[&str]) -> Result<usize, Error> {
    let s = str(v)?;
    names.iter().position(|n| *n == s).ok_or_else(|| Error::at(v, unknown("variant", s, names.iter().copied(), "`")))
}

/// The integer in `v` if it lies in `min..=max`.
pub fn int_in(v: &Value<'_>, min: u64, max: u64) -> Result<u64, Error> {
    let DeValue::Integer(i) = v.get_ref() else {
        return Err(Error::invalid_type(v, "an integer"));
    };
    match u64::from_str_radix(i.as_str(), i.radix()) {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(Error::at(v, format!("{i} is out of range (expected {min} to {max})"))),
    }
}

/// The items of the array in `v`.
pub fn array<'a, 'i>(v: &'a Value<'i>, expected: &str) -> Result<&'a [Value<'i>], Error> {
    match v.get_ref() {
        DeValue::Array(a) => Ok(&a[..]),
        _ => Err(Error::invalid_type(v, expected)),
    }
}

impl FromToml for bool {
    fn from_toml(v: &Value<'_>) -> Result<bool, Error> {
        match v.get_ref() {
            DeValue::Boolean(b) => Ok(*b),
            _ => Err(Error::invalid_type(v, "a boolean")),
        }
    }
}

impl FromToml for String {
    fn from_toml(v: &Value<'_>) -> Result<String, Error> {
        str(v).map(String::from)
    }
}

impl FromToml for PathBuf {
    fn from_toml(v: &Value<'_>) -> Result<PathBuf, Error> {
        str(v).map(PathBuf::from)
    }
}

impl<T: FromToml> FromToml for Option<T> {
    fn from_toml(v: &Value<'_>) -> Result<Option<T>, Error> {
        T::from_toml(v).map(Some)
    }
}

impl<T: FromToml> FromToml for Vec<T> {
    fn from_toml(v: &Value<'_>) -> Result<Vec<T>, Error> {
        array(v, "an array")?.iter().map(T::from_toml).collect()
    }
}

/// A table whose keys are names the user chooses (users, interfaces).
impl<T: FromToml> FromToml for BTreeMap<String, T> {
    fn from_toml(v: &Value<'_>) -> Result<BTreeMap<String, T>, Error> {
        let mut map = BTreeMap::new();
        for (key, value) in table(v, "a table")?.iter() {
            map.insert(key.get_ref().to_string(), T::from_toml(value)?);
        }
        Ok(map)
    }
}
