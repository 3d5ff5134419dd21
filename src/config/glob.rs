//! Shell-style glob patterns for interface names: `*`, `?` and `[...]`
//! classes (`[!...]` negates, `a-z` ranges). Small on purpose: interface
//! names are short ASCII, and a regex engine would cost flash.

use std::fmt;

/// A compiled glob pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Glob {
    tokens: Vec<Token>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Literal(char),
    AnyOne,
    AnyMany,
    Class { negated: bool, ranges: Vec<(char, char)> },
}

/// Why a pattern is not a valid glob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GlobError {
    /// A `[` without its `]`.
    UnclosedClass,
    /// A `[]` or `[!]` that matches nothing.
    EmptyClass,
    /// A range whose start is after its end, like `[z-a]`.
    ReversedRange(char, char),
    /// The empty pattern, which matches no interface.
    Empty,
}

impl fmt::Display for GlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GlobError::UnclosedClass => write!(f, "'[' is not closed by ']'"),
            GlobError::EmptyClass => write!(f, "empty character class"),
            GlobError::ReversedRange(a, b) => write!(f, "range {a}-{b} is reversed"),
            GlobError::Empty => write!(f, "empty pattern"),
        }
    }
}

impl Glob {
    /// Compiles a pattern.
    pub fn new(pattern: &str) -> Result<Glob, GlobError> {
        if pattern.is_empty() {
            return Err(GlobError::Empty);
        }
        let chars: Vec<char> = pattern.chars().collect();
        let mut tokens = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => {
                    if tokens.last() != Some(&Token::AnyMany) {
                        tokens.push(Token::AnyMany);
                    }
                    i += 1;
                }
                '?' => {
                    tokens.push(Token::AnyOne);
                    i += 1;
                }
                '[' => {
                    let mut j = i + 1;
                    let negated = matches!(chars.get(j), Some('!') | Some('^'));
                    if negated {
                        j += 1;
                    }
                    let mut ranges = Vec::new();
                    // A ']' right after the opening is a literal member.
                    let mut first = true;
                    loop {
                        let Some(&c) = chars.get(j) else { return Err(GlobError::UnclosedClass) };
                        if c == ']' && !first {
                            break;
                        }
                        first = false;
                        if chars.get(j + 1) == Some(&'-') && chars.get(j + 2).is_some_and(|&e| e != ']') {
                            let end = chars[j + 2];
                            if end < c {
                                return Err(GlobError::ReversedRange(c, end));
                            }
                            ranges.push((c, end));
                            j += 3;
                        } else {
                            ranges.push((c, c));
                            j += 1;
                        }
                    }
                    if ranges.is_empty() {
                        return Err(GlobError::EmptyClass);
                    }
                    tokens.push(Token::Class { negated, ranges });
                    i = j + 1;
                }
                '\\' if i + 1 < chars.len() => {
                    tokens.push(Token::Literal(chars[i + 1]));
                    i += 2;
                }
                c => {
                    tokens.push(Token::Literal(c));
                    i += 1;
                }
            }
        }
        Ok(Glob { tokens })
    }

    /// Whether `name` matches the whole pattern.
    pub fn matches(&self, name: &str) -> bool {
        // Iterative matching with one backtrack point for the last `*`:
        // linear-ish and no recursion, so hostile patterns cannot blow the stack.
        let text: Vec<char> = name.chars().collect();
        let (mut t, mut p) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while t < text.len() {
            match self.tokens.get(p) {
                Some(Token::AnyMany) => {
                    star = Some((p, t));
                    p += 1;
                }
                Some(tok) if tok_matches(tok, text[t]) => {
                    p += 1;
                    t += 1;
                }
                _ => match star {
                    Some((sp, st)) => {
                        p = sp + 1;
                        t = st + 1;
                        star = Some((sp, st + 1));
                    }
                    None => return false,
                },
            }
        }
        self.tokens[p.min(self.tokens.len())..].iter().all(|tok| *tok == Token::AnyMany)
    }
}

fn tok_matches(tok: &Token, c: char) -> bool {
    match tok {
        Token::Literal(l) => *l == c,
        Token::AnyOne => true,
        Token::AnyMany => true,
        Token::Class { negated, ranges } => ranges.iter().any(|&(a, b)| a <= c && c <= b) != *negated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        Glob::new(p).unwrap().matches(s)
    }

    #[test]
    fn matches_like_fnmatch() {
        assert!(m("lo", "lo"));
        assert!(!m("lo", "lo0"));
        assert!(m("wl*", "wl0.1"));
        assert!(m("*", ""));
        assert!(m("eth?", "eth1"));
        assert!(!m("eth?", "eth10"));
        assert!(m("veth*[0-9]", "vethab12"));
        assert!(!m("veth*[0-9]", "vethab"));
        assert!(m("[!e]*", "wlan0"));
        assert!(!m("[!e]*", "eth0"));
        assert!(m("[]x]", "]"));
        assert!(m("a*b*c", "aXXbYYbZc"));
        assert!(m("\\*", "*"));
        assert!(!m("*a", "b"));
    }

    #[test]
    fn rejects_bad_patterns() {
        assert_eq!(Glob::new("eth[0-"), Err(GlobError::UnclosedClass));
        assert_eq!(Glob::new("[z-a]"), Err(GlobError::ReversedRange('z', 'a')));
        assert_eq!(Glob::new(""), Err(GlobError::Empty));
        assert_eq!(Glob::new("[!"), Err(GlobError::UnclosedClass));
    }
}
