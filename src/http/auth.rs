//! HTTP basic authentication with bcrypt hashes, as in Prometheus'
//! exporter-toolkit (`basic_auth_users`). A bcrypt check costs about a
//! second on a 500 MHz MIPS at cost 10, so an `Authorization` value that
//! verified once is remembered until the config changes.

use base64::Engine;
use std::collections::BTreeMap;

/// How many verified `Authorization` values are remembered.
const CACHE_SIZE: usize = 8;

/// A bcrypt hash whose shape was checked at config load.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct BcryptHash(String);

impl TryFrom<String> for BcryptHash {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        // $2y$10$ + 22 salt chars + 31 hash chars = 60 bytes.
        let b = s.as_bytes();
        let shape_ok = b.len() == 60
            && b.starts_with(b"$2")
            && matches!(b[2], b'a' | b'b' | b'x' | b'y')
            && b[3] == b'$'
            && b[6] == b'$'
            && b[4].is_ascii_digit()
            && b[5].is_ascii_digit()
            && (4..=31).contains(&((b[4] - b'0') * 10 + (b[5] - b'0')))
            && b[7..].iter().all(|&c| c.is_ascii_alphanumeric() || c == b'.' || c == b'/');
        if shape_ok {
            Ok(BcryptHash(s))
        } else {
            Err("not a bcrypt hash (expected $2y$10$ followed by 53 characters; make one with `htpasswd -nBC 10 USER`)"
                .into())
        }
    }
}

/// Users and their hashes, plus the cache of verified header values.
#[derive(Debug, Default)]
pub struct BasicAuth {
    users: BTreeMap<String, BcryptHash>,
    verified: Vec<Vec<u8>>,
}

/// Whether a request may proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No users configured, or the credentials are right.
    Allowed,
    /// Missing or wrong credentials: answer 401.
    Denied,
}

impl BasicAuth {
    /// Checks nothing when `users` is empty.
    pub fn new(users: BTreeMap<String, BcryptHash>) -> BasicAuth {
        BasicAuth { users, verified: Vec::new() }
    }

    /// Whether authentication is on.
    pub fn enabled(&self) -> bool {
        !self.users.is_empty()
    }

    /// Checks an `Authorization` header value.
    pub fn check(&mut self, authorization: Option<&[u8]>) -> Verdict {
        if !self.enabled() {
            return Verdict::Allowed;
        }
        let Some(value) = authorization else { return Verdict::Denied };
        if self.verified.iter().any(|v| constant_time_eq(v, value)) {
            return Verdict::Allowed;
        }
        let Some((user, password)) = decode_basic(value) else { return Verdict::Denied };
        let Some(hash) = self.users.get(&user) else {
            return Verdict::Denied;
        };
        if bcrypt::verify(password.as_bytes(), &hash.0).unwrap_or(false) {
            if self.verified.len() >= CACHE_SIZE {
                self.verified.remove(0);
            }
            self.verified.push(value.to_vec());
            Verdict::Allowed
        } else {
            Verdict::Denied
        }
    }
}

/// `Basic dXNlcjpwYXNz` to `("user", "pass")`.
fn decode_basic(value: &[u8]) -> Option<(String, String)> {
    let value = std::str::from_utf8(value).ok()?.trim();
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Compares without an early exit, so timing does not reveal a prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `htpasswd -nbBC 4 prometheus secret` (cost 4 keeps the test fast).
    const HASH: &str = "$2y$04$4SppoHq90W10tCcxhnR1DOsbAzDBifZmh2OT7Qq.IekPaQWG8M.kC";

    fn auth() -> BasicAuth {
        let mut users = BTreeMap::new();
        users.insert("prometheus".to_string(), BcryptHash::try_from(HASH.to_string()).unwrap());
        BasicAuth::new(users)
    }

    fn header(user: &str, pass: &str) -> Vec<u8> {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))).into_bytes()
    }

    #[test]
    fn right_and_wrong_credentials() {
        let mut a = auth();
        assert_eq!(a.check(None), Verdict::Denied);
        assert_eq!(a.check(Some(&header("prometheus", "wrong"))), Verdict::Denied);
        assert_eq!(a.check(Some(&header("nobody", "secret"))), Verdict::Denied);
        assert_eq!(a.check(Some(b"Bearer abc")), Verdict::Denied);
        assert_eq!(a.check(Some(b"Basic !!!")), Verdict::Denied);
        assert_eq!(a.check(Some(&header("prometheus", "secret"))), Verdict::Allowed);
        assert_eq!(a.verified.len(), 1, "a success is cached");
        assert_eq!(a.check(Some(&header("prometheus", "secret"))), Verdict::Allowed);
        assert_eq!(a.verified.len(), 1);
    }

    #[test]
    fn no_users_means_no_check() {
        assert_eq!(BasicAuth::default().check(None), Verdict::Allowed);
    }

    #[test]
    fn hash_shape_is_checked() {
        assert!(BcryptHash::try_from(HASH.to_string()).is_ok());
        for bad in ["", "secret", &HASH[..59], &HASH.replace("$04$", "$99$"), &HASH.replace("$2y$", "$1$x")] {
            assert!(BcryptHash::try_from(bad.to_string()).is_err(), "{bad}");
        }
    }
}
