//! HTTP basic authentication with bcrypt hashes, as in Prometheus'
//! exporter-toolkit (`basic_auth_users`). A bcrypt check costs about a
//! second on a 500 MHz MIPS at cost 10, so an `Authorization` value that
//! verified once is remembered until the config changes.

use base64::Engine;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How many verified `Authorization` values are remembered.
const CACHE_SIZE: usize = 8;
/// How many refused `Authorization` values are remembered, so a client
/// repeating a wrong password costs no hashing.
const FAILED_CACHE_SIZE: usize = 64;
/// The highest bcrypt cost accepted. Each step doubles the work: cost 10
/// takes about a second on a 500 MHz MIPS, so cost 12 takes four, and a
/// valid-looking cost-31 hash would hold the only thread for days.
pub const MAX_COST: u8 = 12;
/// Share of the thread's time that bcrypt may use, refilled continuously.
const HASH_SHARE: f64 = 0.25;
/// Hashing time that may be spent in one burst (two checks at cost 10 on MIPS).
const HASH_BURST: Duration = Duration::from_secs(2);

/// A bcrypt hash whose shape and cost were checked at config load.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct BcryptHash(String);

impl BcryptHash {
    /// The cost (log2 of the rounds).
    pub fn cost(&self) -> u8 {
        let b = self.0.as_bytes();
        (b[4] - b'0') * 10 + (b[5] - b'0')
    }
}

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
        if !shape_ok {
            return Err(
                "not a bcrypt hash (expected $2y$10$ followed by 53 characters; make one with `htpasswd -nBC 10 USER`)"
                    .into(),
            );
        }
        let hash = BcryptHash(s);
        if hash.cost() > MAX_COST {
            return Err(format!(
                "bcrypt cost {} is above {MAX_COST}: each check would hold the exporter for minutes on a router; \
                 make the hash with `htpasswd -nBC 10 USER`",
                hash.cost()
            ));
        }
        Ok(hash)
    }
}

/// Users and their hashes, the caches of verified and refused header
/// values, and the budget that bounds hashing.
#[derive(Debug)]
pub struct BasicAuth {
    users: BTreeMap<String, BcryptHash>,
    /// Checked against for unknown users, so their answer takes as long as
    /// a known user's and does not reveal which names exist.
    decoy: BcryptHash,
    verified: Vec<Vec<u8>>,
    refused: Vec<Vec<u8>>,
    budget: HashBudget,
}

/// A token bucket of hashing time: it fills at [`HASH_SHARE`] seconds per
/// second up to [`HASH_BURST`], and each check spends what it took.
#[derive(Debug)]
struct HashBudget {
    seconds: f64,
    updated: Instant,
}

impl HashBudget {
    fn full() -> HashBudget {
        HashBudget { seconds: HASH_BURST.as_secs_f64(), updated: Instant::now() }
    }

    /// Whether a check may run now.
    fn available(&mut self, now: Instant) -> bool {
        let refill = now.saturating_duration_since(self.updated).as_secs_f64() * HASH_SHARE;
        self.seconds = (self.seconds + refill).min(HASH_BURST.as_secs_f64());
        self.updated = now;
        self.seconds > 0.0
    }

    fn spend(&mut self, took: Duration) {
        self.seconds -= took.as_secs_f64();
    }
}

/// Whether a request may proceed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No users configured, or the credentials are right.
    Allowed,
    /// Missing or wrong credentials: answer 401.
    Denied,
    /// Credentials not checked, because hashing used up its share of time:
    /// answer 429 and let the client come back.
    Throttled,
}

/// A valid hash salt and digest, for the decoy (what it hashes is unknown).
const DECOY_TAIL: &str = "4SppoHq90W10tCcxhnR1DOsbAzDBifZmh2OT7Qq.IekPaQWG8M.kC";

impl Default for BasicAuth {
    fn default() -> Self {
        BasicAuth::new(BTreeMap::new())
    }
}

impl BasicAuth {
    /// Checks nothing when `users` is empty.
    pub fn new(users: BTreeMap<String, BcryptHash>) -> BasicAuth {
        let cost = users.values().map(BcryptHash::cost).max().unwrap_or(4);
        let decoy = BcryptHash(format!("$2y${cost:02}${DECOY_TAIL}"));
        BasicAuth { users, decoy, verified: Vec::new(), refused: Vec::new(), budget: HashBudget::full() }
    }

    /// Whether authentication is on.
    pub fn enabled(&self) -> bool {
        !self.users.is_empty()
    }

    /// Checks an `Authorization` header value. A value seen before is
    /// answered from the caches; a new one costs a bcrypt check, if the
    /// hashing budget has time left.
    pub fn check(&mut self, authorization: Option<&[u8]>) -> Verdict {
        if !self.enabled() {
            return Verdict::Allowed;
        }
        let Some(value) = authorization else { return Verdict::Denied };
        if self.verified.iter().any(|v| constant_time_eq(v, value)) {
            return Verdict::Allowed;
        }
        if self.refused.iter().any(|v| v == value) {
            return Verdict::Denied;
        }
        let Some((user, password)) = decode_basic(value) else { return Verdict::Denied };
        let now = Instant::now();
        if !self.budget.available(now) {
            return Verdict::Throttled;
        }
        let hash = self.users.get(&user).unwrap_or(&self.decoy);
        let ok = bcrypt::verify(password.as_bytes(), &hash.0).unwrap_or(false) && self.users.contains_key(&user);
        self.budget.spend(now.elapsed());
        let cache = if ok { (&mut self.verified, CACHE_SIZE) } else { (&mut self.refused, FAILED_CACHE_SIZE) };
        if cache.0.len() >= cache.1 {
            cache.0.remove(0);
        }
        cache.0.push(value.to_vec());
        if ok { Verdict::Allowed } else { Verdict::Denied }
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
        assert!(BcryptHash::try_from(HASH.replace("$04$", "$12$")).is_ok());
        let e = BcryptHash::try_from(HASH.replace("$04$", "$31$")).unwrap_err();
        assert!(e.contains("cost 31 is above 12"), "{e}");
    }

    #[test]
    fn refused_values_are_remembered_and_cost_no_hashing() {
        let mut a = auth();
        let wrong = header("prometheus", "wrong");
        assert_eq!(a.check(Some(&wrong)), Verdict::Denied);
        assert_eq!(a.refused.len(), 1);
        // With the budget spent, a known refusal is still answered 401 and a
        // new guess is throttled, while a cached success still passes.
        assert_eq!(a.check(Some(&header("prometheus", "secret"))), Verdict::Allowed);
        a.budget.seconds = -10.0;
        assert_eq!(a.check(Some(&wrong)), Verdict::Denied);
        assert_eq!(a.check(Some(&header("prometheus", "guess"))), Verdict::Throttled);
        assert_eq!(a.check(Some(&header("prometheus", "secret"))), Verdict::Allowed);
    }

    #[test]
    fn unknown_users_are_checked_against_a_decoy_of_the_same_cost() {
        let a = auth();
        assert_eq!(a.decoy.cost(), 4);
        assert!(BcryptHash::try_from(a.decoy.0.clone()).is_ok(), "the decoy is a well-formed hash");
        let mut a = auth();
        assert_eq!(a.check(Some(&header("nobody", "secret"))), Verdict::Denied);
        assert_eq!(a.refused.len(), 1, "an unknown user costs a (decoy) check like a known one");
    }

    #[test]
    fn the_budget_refills_over_time() {
        let mut b = HashBudget::full();
        let start = b.updated;
        b.spend(Duration::from_secs(3));
        assert!(!b.available(start));
        assert!(b.available(start + Duration::from_secs(5)), "1 s of debt is repaid in 4 s");
    }
}
