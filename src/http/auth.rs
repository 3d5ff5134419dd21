//! HTTP basic authentication with bcrypt hashes, as in Prometheus'
//! exporter-toolkit (`basic_auth_users`). A bcrypt check costs about a
//! second on a 500 MHz MIPS at cost 10, so an `Authorization` value that
//! verified once is remembered until the config changes.

use base64::Engine;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// How many verified `Authorization` values are remembered.
const CACHE_SIZE: usize = 8;
/// How many refused `Authorization` values are remembered, so a client
/// repeating a wrong password costs no hashing.
const FAILED_CACHE_SIZE: usize = 64;
/// The highest bcrypt cost accepted. Each step doubles the work: cost 10
/// takes about a second on a 500 MHz MIPS, which a scraper waiting behind
/// it can afford; cost 12 would hold the only thread for four, and a
/// valid-looking cost-31 hash for days.
pub const MAX_COST: u8 = 10;
/// Share of the thread's time that bcrypt may use in all, and in one burst.
const GLOBAL_SHARE: (f64, Duration) = (0.5, Duration::from_secs(3));
/// The same for one client address, so one guesser cannot spend what the
/// others need: about one check at cost 10 on MIPS, then one per 10 s.
const PER_CLIENT_SHARE: (f64, Duration) = (0.1, Duration::from_millis(1500));
/// How many client addresses have a budget of their own; past that, the one
/// idle longest is forgotten.
const CLIENTS_TRACKED: usize = 64;

/// A bcrypt hash whose shape and cost were checked at config load.
#[derive(Debug, Clone, PartialEq, Eq)]
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
/// values, and the budgets that bound hashing.
#[derive(Debug)]
pub struct BasicAuth {
    users: BTreeMap<String, BcryptHash>,
    /// Checked against for unknown users, so their answer takes as long as
    /// a known user's and does not reveal which names exist.
    decoy: BcryptHash,
    /// Header values that verified, with their user.
    verified: Vec<(String, Vec<u8>)>,
    refused: Vec<Vec<u8>>,
    budget: HashBudget,
    per_client: Vec<(IpAddr, HashBudget)>,
    /// A check ran in this turn of the server loop: the next one waits for
    /// the next turn, so the requests that need no hashing (a verified
    /// scraper, anything without auth) wait for one check at most, not for
    /// a burst of them queued by many clients.
    hashed_this_turn: bool,
}

/// A token bucket of hashing time: it fills at `share` seconds per second
/// up to `burst`, and each check spends what it took.
#[derive(Debug, Clone)]
struct HashBudget {
    seconds: f64,
    updated: Instant,
    share: f64,
    burst: f64,
}

impl HashBudget {
    fn full((share, burst): (f64, Duration), now: Instant) -> HashBudget {
        HashBudget { seconds: burst.as_secs_f64(), updated: now, share, burst: burst.as_secs_f64() }
    }

    /// Brings the bucket up to `now`.
    fn refill(&mut self, now: Instant) {
        let refill = now.saturating_duration_since(self.updated).as_secs_f64() * self.share;
        self.seconds = (self.seconds + refill).min(self.burst);
        self.updated = now;
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
    /// Not checked yet: a check ran in this turn already. Ask again in the
    /// next turn.
    NextTurn,
}

/// A well-formed salt and a digest that no password gives, for the decoy.
const DECOY_TAIL: &str = "4SppoHq90W10tCcxhnR1DOsbAzDBifZmh2OT7Qq.JekPaQWG8M.kC";

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
        let budget = HashBudget::full(GLOBAL_SHARE, Instant::now());
        BasicAuth {
            users,
            decoy,
            verified: Vec::new(),
            refused: Vec::new(),
            budget,
            per_client: Vec::new(),
            hashed_this_turn: false,
        }
    }

    /// Takes the users of a reloaded config. Credentials that verified stay
    /// remembered while their user keeps the same hash, so a reload does
    /// not make every scraper pay for a check again; refusals are
    /// forgotten (a changed password may now be right).
    pub fn reconfigure(&mut self, users: BTreeMap<String, BcryptHash>) {
        let mut next = BasicAuth::new(users);
        next.verified = std::mem::take(&mut self.verified)
            .into_iter()
            .filter(|(user, _)| next.users.get(user) == self.users.get(user))
            .collect();
        next.budget = self.budget.clone();
        next.per_client = std::mem::take(&mut self.per_client);
        *self = next;
    }

    /// The budget of one client address, made when first needed.
    fn client_budget(&mut self, peer: IpAddr, now: Instant) -> &mut HashBudget {
        let at = match self.per_client.iter().position(|(ip, _)| *ip == peer) {
            Some(at) => at,
            None => {
                if self.per_client.len() >= CLIENTS_TRACKED {
                    let idle = self.per_client.iter().enumerate().min_by_key(|(_, (_, b))| b.updated).map(|(i, _)| i);
                    if let Some(i) = idle {
                        self.per_client.swap_remove(i);
                    }
                }
                self.per_client.push((peer, HashBudget::full(PER_CLIENT_SHARE, now)));
                self.per_client.len() - 1
            }
        };
        &mut self.per_client[at].1
    }

    /// A new turn of the server loop: one check may run again.
    pub fn new_turn(&mut self) {
        self.hashed_this_turn = false;
    }

    /// Whether authentication is on.
    pub fn enabled(&self) -> bool {
        !self.users.is_empty()
    }

    /// Checks an `Authorization` header value. A value seen before is
    /// answered from the caches; a new one costs a bcrypt check, if the
    /// hashing budget has time left.
    pub fn check(&mut self, authorization: Option<&[u8]>, peer: IpAddr) -> Verdict {
        if !self.enabled() {
            return Verdict::Allowed;
        }
        let Some(value) = authorization else { return Verdict::Denied };
        if self.verified.iter().any(|(_, v)| constant_time_eq(v, value)) {
            return Verdict::Allowed;
        }
        if self.refused.iter().any(|v| v == value) {
            return Verdict::Denied;
        }
        let Some((user, password)) = decode_basic(value) else { return Verdict::Denied };
        if self.hashed_this_turn {
            return Verdict::NextTurn;
        }
        let now = Instant::now();
        self.budget.refill(now);
        let client = self.client_budget(peer, now);
        client.refill(now);
        if client.seconds <= 0.0 || self.budget.seconds <= 0.0 {
            return Verdict::Throttled;
        }
        self.hashed_this_turn = true;
        let hash = self.users.get(&user).unwrap_or(&self.decoy);
        let ok = bcrypt::verify(password.as_bytes(), &hash.0).unwrap_or(false) && self.users.contains_key(&user);
        let took = now.elapsed();
        self.budget.spend(took);
        self.client_budget(peer, now).spend(took);
        if ok {
            if self.verified.len() >= CACHE_SIZE {
                self.verified.remove(0);
            }
            self.verified.push((user, value.to_vec()));
            Verdict::Allowed
        } else {
            if self.refused.len() >= FAILED_CACHE_SIZE {
                self.refused.remove(0);
            }
            self.refused.push(value.to_vec());
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
    const ME: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 1));
    const OTHER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 2));

    fn users(hash: &str) -> BTreeMap<String, BcryptHash> {
        BTreeMap::from([("prometheus".to_string(), BcryptHash::try_from(hash.to_string()).unwrap())])
    }

    fn auth() -> BasicAuth {
        BasicAuth::new(users(HASH))
    }

    /// A check in a turn of its own.
    fn checked(a: &mut BasicAuth, authorization: Option<&[u8]>, peer: IpAddr) -> Verdict {
        a.new_turn();
        a.check(authorization, peer)
    }

    #[test]
    fn one_check_per_turn_and_the_next_in_the_next_turn() {
        let mut a = auth();
        let (first, second) = (header("prometheus", "guess"), header("prometheus", "secret"));
        assert_eq!(a.check(Some(&first), ME), Verdict::Denied);
        assert_eq!(a.check(Some(&second), OTHER), Verdict::NextTurn);
        // What needs no hashing is answered in the same turn.
        assert_eq!(a.check(Some(&first), ME), Verdict::Denied);
        assert_eq!(a.check(None, ME), Verdict::Denied);
        a.new_turn();
        assert_eq!(a.check(Some(&second), OTHER), Verdict::Allowed);
        assert_eq!(a.check(Some(&second), ME), Verdict::Allowed);
    }

    fn header(user: &str, pass: &str) -> Vec<u8> {
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))).into_bytes()
    }

    #[test]
    fn right_and_wrong_credentials() {
        let mut a = auth();
        assert_eq!(checked(&mut a, None, ME), Verdict::Denied);
        assert_eq!(checked(&mut a, Some(&header("prometheus", "wrong")), ME), Verdict::Denied);
        assert_eq!(checked(&mut a, Some(&header("nobody", "secret")), OTHER), Verdict::Denied);
        assert_eq!(checked(&mut a, Some(b"Bearer abc"), ME), Verdict::Denied);
        assert_eq!(checked(&mut a, Some(b"Basic !!!"), ME), Verdict::Denied);
        assert_eq!(checked(&mut a, Some(&header("prometheus", "secret")), OTHER), Verdict::Allowed);
        assert_eq!(a.verified.len(), 1, "a success is cached");
        assert_eq!(checked(&mut a, Some(&header("prometheus", "secret")), ME), Verdict::Allowed);
        assert_eq!(a.verified.len(), 1);
    }

    #[test]
    fn no_users_means_no_check() {
        assert_eq!(BasicAuth::default().check(None, ME), Verdict::Allowed);
    }

    #[test]
    fn hash_shape_and_cost_are_checked() {
        assert!(BcryptHash::try_from(HASH.to_string()).is_ok());
        for bad in ["", "secret", &HASH[..59], &HASH.replace("$04$", "$99$"), &HASH.replace("$2y$", "$1$x")] {
            assert!(BcryptHash::try_from(bad.to_string()).is_err(), "{bad}");
        }
        assert!(BcryptHash::try_from(HASH.replace("$04$", "$10$")).is_ok());
        let e = BcryptHash::try_from(HASH.replace("$04$", "$11$")).unwrap_err();
        assert!(e.contains("cost 11 is above 10"), "{e}");
    }

    #[test]
    fn refused_values_are_remembered_and_cost_no_hashing() {
        let mut a = auth();
        let wrong = header("prometheus", "wrong");
        assert_eq!(checked(&mut a, Some(&wrong), ME), Verdict::Denied);
        assert_eq!(a.refused.len(), 1);
        // With the budget spent, a known refusal is still answered 401 and a
        // new guess is throttled, while a cached success still passes.
        assert_eq!(checked(&mut a, Some(&header("prometheus", "secret")), ME), Verdict::Allowed);
        a.budget.seconds = -10.0;
        assert_eq!(checked(&mut a, Some(&wrong), ME), Verdict::Denied);
        assert_eq!(checked(&mut a, Some(&header("prometheus", "guess")), ME), Verdict::Throttled);
        assert_eq!(checked(&mut a, Some(&header("prometheus", "secret")), ME), Verdict::Allowed);
    }

    #[test]
    fn one_guessing_client_does_not_spend_another_clients_budget() {
        let mut a = auth();
        a.client_budget(ME, Instant::now()).seconds = -10.0;
        assert_eq!(checked(&mut a, Some(&header("prometheus", "guess")), ME), Verdict::Throttled);
        assert_eq!(checked(&mut a, Some(&header("prometheus", "secret")), OTHER), Verdict::Allowed);
        // Only so many addresses are remembered.
        for i in 0..(CLIENTS_TRACKED as u32 + 10) {
            a.client_budget(IpAddr::V4(i.into()), Instant::now());
        }
        assert_eq!(a.per_client.len(), CLIENTS_TRACKED);
    }

    #[test]
    fn unknown_users_are_checked_against_a_decoy_of_the_same_cost() {
        let a = auth();
        assert_eq!(a.decoy.cost(), 4);
        // The decoy really is checked (an unparsable one would fail at once).
        assert_eq!(bcrypt::verify("secret", &a.decoy.0).ok(), Some(false));
        let mut a = auth();
        assert_eq!(checked(&mut a, Some(&header("nobody", "secret")), ME), Verdict::Denied);
        assert_eq!(a.refused.len(), 1, "an unknown user costs a (decoy) check like a known one");
    }

    #[test]
    fn a_reload_keeps_verified_credentials_while_their_hash_stays() {
        let mut a = auth();
        assert_eq!(checked(&mut a, Some(&header("prometheus", "secret")), ME), Verdict::Allowed);
        a.reconfigure(users(HASH));
        assert_eq!(a.verified.len(), 1);
        a.reconfigure(users(&HASH.replace("$04$4S", "$04$5S")));
        assert!(a.verified.is_empty(), "a changed hash must be checked again");
    }

    #[test]
    fn the_budget_refills_over_time() {
        let start = Instant::now();
        let mut b = HashBudget::full(GLOBAL_SHARE, start);
        b.spend(Duration::from_secs(4));
        b.refill(start);
        assert!(b.seconds <= 0.0);
        b.refill(start + Duration::from_secs(3));
        assert!(b.seconds > 0.0, "1 s of debt is repaid in 2 s");
    }
}
