//! `/proc/meminfo`: every field, named the way node_exporter names it.
//!
//! node_exporter's rules: the key loses its colon, a parenthesised part
//! becomes an underscore suffix (`Active(anon)` → `Active_anon`), and a
//! line with a unit (always `kB`) is multiplied by 1024 and gets `_bytes`;
//! a line without one (`HugePages_Total`) keeps its count and its name.
//! Any character a metric name cannot hold becomes `_` (no kernel prints
//! one; node_exporter would fail the scrape instead).

use super::ParseError;

/// One field, ready to export as `node_memory_<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The name after `node_memory_`, such as `Active_anon_bytes`.
    pub name: String,
    /// The value: bytes when the line had a unit, else the plain number.
    pub value: i64,
}

/// Most fields accepted: kernels print about 55, and the check for a name
/// given twice compares each new name with all before it.
pub const MAX_FIELDS: usize = 512;

/// Parses the file into fields in file order; a key given twice keeps its
/// last value (node_exporter's map does the same).
pub fn parse(text: &str) -> Result<Vec<Field>, ParseError> {
    let mut fields: Vec<Field> = Vec::new();
    for (idx, line) in text.lines().enumerate() {
        let n = idx + 1;
        let mut words = line.split_ascii_whitespace();
        let Some(key) = words.next() else { continue };
        let (value, unit, extra) = (words.next(), words.next(), words.next());
        let key = key.strip_suffix(':').filter(|k| !k.is_empty());
        let (Some(key), Some(value), None) = (key, value, extra) else {
            return Err(ParseError::new(n, "`Key: value` or `Key: value kB`", line));
        };
        let number = value.parse::<i64>().ok().filter(|_| value.bytes().all(|b| b.is_ascii_digit() || b == b'-'));
        let value = match (number, unit) {
            (Some(v), None) => Some(v),
            (Some(v), Some(_)) => v.checked_mul(1024),
            (None, _) => None,
        }
        .ok_or_else(|| ParseError::new(n, "an integer that fits 64 bits in bytes", line))?;
        let mut name = metric_name(key);
        if unit.is_some() {
            name.push_str("_bytes");
        }
        fields.retain(|f| f.name != name);
        if fields.len() == MAX_FIELDS {
            return Err(ParseError::new(n, format!("at most {MAX_FIELDS} fields"), line));
        }
        fields.push(Field { name, value });
    }
    Ok(fields)
}

/// `Active(anon)` → `Active_anon`: the text from the first `(` to the last
/// `)` becomes `_` and what was inside; other characters outside
/// `[A-Za-z0-9_]` become `_`.
fn metric_name(key: &str) -> String {
    let mut name = String::with_capacity(key.len() + 6);
    let open = key.find('(');
    let close = key.rfind(')');
    for (i, c) in key.char_indices() {
        match (open, close) {
            (Some(o), Some(cl)) if o < cl && i == o => name.push('_'),
            (Some(o), Some(cl)) if o < cl && i == cl => {}
            _ if c.is_ascii_alphanumeric() || c == '_' => name.push(c),
            _ => name.push('_'),
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOST: &str = include_str!("../../tests/samples/meminfo_6.18_x86_64_host.txt");
    const OLD: &str = include_str!("../../tests/samples/meminfo_2.6.22_broadcom.txt");
    const OPENWRT: &str = include_str!("../../tests/samples/meminfo_5.15_openwrt.txt");

    fn get(fields: &[Field], name: &str) -> Option<i64> {
        fields.iter().find(|f| f.name == name).map(|f| f.value)
    }

    #[test]
    fn parses_a_modern_host_with_node_exporter_names() {
        let f = parse(HOST).unwrap();
        assert_eq!(f.len(), HOST.lines().count());
        assert_eq!(get(&f, "MemTotal_bytes"), Some(24684084 * 1024));
        assert_eq!(get(&f, "Active_anon_bytes"), Some(1560 * 1024));
        assert_eq!(get(&f, "Inactive_file_bytes"), Some(9451456 * 1024));
        assert_eq!(get(&f, "HugePages_Total"), Some(0));
        assert_eq!(get(&f, "Hugepagesize_bytes"), Some(2048 * 1024));
        assert_eq!(get(&f, "VmallocTotal_bytes"), Some(34359738367 * 1024));
        assert_eq!(f[0].name, "MemTotal_bytes");
    }

    #[test]
    fn parses_2_6_22_and_openwrt() {
        let f = parse(OLD).unwrap();
        assert_eq!(f.len(), 24);
        assert_eq!(get(&f, "MemFree_bytes"), Some(71340 * 1024));
        assert_eq!(get(&f, "MemAvailable_bytes"), None);
        assert_eq!(get(&f, "Committed_AS_bytes"), Some(22712 * 1024));
        let f = parse(OPENWRT).unwrap();
        assert_eq!(get(&f, "MemAvailable_bytes"), Some(168832 * 1024));
        assert_eq!(get(&f, "LowTotal_bytes"), Some(248596 * 1024));
    }

    #[test]
    fn names_and_odd_lines() {
        assert_eq!(metric_name("Active(anon)"), "Active_anon");
        assert_eq!(metric_name("A(b)(c)"), "A_b__c");
        assert_eq!(metric_name("x-y"), "x_y");
        assert_eq!(metric_name("a)b(c"), "a_b_c");
        let f = parse("\nA: 1\nA: 2 kB\nA: 3\n").unwrap();
        assert_eq!(f, [Field { name: "A_bytes".into(), value: 2048 }, Field { name: "A".into(), value: 3 }]);
        let many: String = (0..=MAX_FIELDS).map(|i| format!("F{i}: 1\n")).collect();
        assert_eq!(parse(&many).unwrap_err().line, MAX_FIELDS + 1);
        // Committed_AS has been printed signed.
        assert_eq!(parse("Committed_AS: -4 kB\n").unwrap()[0].value, -4096);
        assert_eq!(parse("A 1\n").unwrap_err().line, 1);
        assert_eq!(parse(": 1\n").unwrap_err().line, 1);
        assert_eq!(parse("A:\n").unwrap_err().line, 1);
        assert_eq!(parse("A: 1 kB x\n").unwrap_err().line, 1);
        assert_eq!(parse("A: +1\n").unwrap_err().line, 1);
        assert_eq!(parse("A: 1.5\n").unwrap_err().line, 1);
        assert_eq!(parse("A: 9223372036854775807 kB\n").unwrap_err().line, 1);
    }
}
