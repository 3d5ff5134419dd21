//! `f64` to its shortest decimal text without Rust's float formatter: any
//! `{}` of an `f64` links both halves of `core::fmt::float` (Grisu with its
//! power-of-ten table and the Dragon fallback, shortest and exact), about
//! 7 KB on MIPS, for the rare sample that is neither an integer nor a short
//! decimal (see `exposition::push_short_decimal`).
//!
//! How: the value `m × 2^e` is exact as the integer `m × 2^e` (`e ≥ 0`) or
//! `m × 5^-e` with the decimal point `-e` places from its end (`e < 0`),
//! built on 32-bit limbs and turned into decimal digits nine at a time. For
//! 1, 2, … 17 significant digits, the digits rounded to nearest and the
//! other neighbour are read back with the crate's own float reader
//! ([`crate::parse::float::decimal_f64`]); the first that gives the same
//! `f64` is printed. Seventeen digits always read back, so the loop ends.
//! Positional layout, no exponent, as `{}` prints: `0.000012`, `1e21` as
//! `1000000000000000000000`, `-0` for negative zero.

use crate::parse::float::decimal_f64;

/// Limbs for the largest exact value: `2^52 × 5^1074` (the smallest
/// subnormals) is below 2^2546, and `(2^53 - 1) × 2^971` (`f64::MAX`) below
/// 2^1024.
const LIMBS: usize = 80;

/// Writes the finite `v` as the shortest decimal that reads back as `v`,
/// positional as `{}` writes it. NaN and infinities are the caller's.
pub fn push_shortest(out: &mut String, v: f64) {
    let bits = v.to_bits();
    if v.is_sign_negative() {
        out.push('-');
    }
    let biased = ((bits >> 52) & 0x7ff) as i32;
    let fraction = bits & ((1u64 << 52) - 1);
    let (mant, exp2) = if biased == 0 { (fraction, -1074) } else { (fraction | 1 << 52, biased - 1075) };
    if mant == 0 {
        out.push('0');
        return;
    }
    let mut exact = BigUint::from_u64(mant);
    if exp2 >= 0 {
        for _ in 0..exp2 / 31 {
            exact.mul_small(1 << 31);
        }
        exact.mul_small(1 << (exp2 % 31));
    } else {
        let fives = -exp2;
        for _ in 0..fives / 13 {
            exact.mul_small(1_220_703_125); // 5^13, the largest power of 5 in a u32
        }
        exact.mul_small(5u32.pow((fives % 13) as u32));
    }
    let digits = exact.into_decimal();
    // value = 0.digits × 10^point
    let point = digits.len() as i32 + exp2.min(0);
    let mut text = String::with_capacity(32);
    for precision in 1..=17usize {
        let kept = digits.get(..precision).unwrap_or(&digits);
        let rest = digits.get(precision..).unwrap_or(&[]);
        let up = Candidate::rounded_up(kept, point);
        let down = Candidate { digits: kept.to_vec(), point };
        // Nearest first: the rest of the digits against one half; an exact
        // half rounds up, as `{}` does when both neighbours read back.
        let from_half = rest.first().is_some_and(|&d| d >= 5);
        let (first, second) = if from_half { (up, down) } else { (down, up) };
        for candidate in [first, second] {
            text.clear();
            candidate.write_positional(&mut text);
            if decimal_f64(&text) == Some(v.abs()) {
                out.push_str(&text);
                return;
            }
        }
        if rest.is_empty() {
            break;
        }
    }
    // Unreachable for a correct reader: seventeen digits, or all of them,
    // always read back. The exact digits are still a right answer.
    Candidate { digits, point }.write_positional(out);
}

/// Decimal digits (0..=9 each) with the value `0.digits × 10^point`.
struct Candidate {
    digits: Vec<u8>,
    point: i32,
}

impl Candidate {
    /// `kept` plus one unit in its last place.
    fn rounded_up(kept: &[u8], point: i32) -> Candidate {
        let mut digits = kept.to_vec();
        let mut point = point;
        let mut i = digits.len();
        loop {
            if i == 0 {
                // All nines: 0.999 × 10^p becomes 0.1 × 10^(p+1).
                digits.insert(0, 1);
                digits.pop();
                point += 1;
                break;
            }
            i -= 1;
            if digits[i] == 9 {
                digits[i] = 0;
            } else {
                digits[i] += 1;
                break;
            }
        }
        Candidate { digits, point }
    }

    /// `123.45`, `0.00012`, `12000`: no exponent, no trailing zeros after
    /// the point.
    fn write_positional(&self, out: &mut String) {
        let significant = self.digits.iter().rposition(|&d| d != 0).map_or(0, |i| i + 1);
        let digits = &self.digits[..significant];
        let digit = |d: &u8| char::from(b'0' + d);
        if digits.is_empty() {
            out.push('0');
        } else if self.point <= 0 {
            out.push_str("0.");
            out.extend((0..-self.point).map(|_| '0'));
            out.extend(digits.iter().map(digit));
        } else {
            let point = self.point as usize;
            if point >= digits.len() {
                out.extend(digits.iter().map(digit));
                out.extend((digits.len()..point).map(|_| '0'));
            } else {
                out.extend(digits[..point].iter().map(digit));
                out.push('.');
                out.extend(digits[point..].iter().map(digit));
            }
        }
    }
}

/// An unsigned integer of up to `LIMBS` 32-bit limbs, least significant
/// first: only what the exact expansion needs.
struct BigUint {
    limbs: [u32; LIMBS],
    len: usize,
}

impl BigUint {
    fn from_u64(v: u64) -> BigUint {
        let mut limbs = [0; LIMBS];
        limbs[0] = v as u32;
        limbs[1] = (v >> 32) as u32;
        BigUint { limbs, len: if v >> 32 == 0 { 1 } else { 2 } }
    }

    /// `self × m`. The callers stay below `LIMBS` limbs (see there).
    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for limb in &mut self.limbs[..self.len] {
            let product = u64::from(*limb) * u64::from(m) + carry;
            *limb = product as u32;
            carry = product >> 32;
        }
        if carry > 0 && self.len < LIMBS {
            self.limbs[self.len] = carry as u32;
            self.len += 1;
        }
    }

    /// `self /= d`, returning the remainder.
    fn div_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for limb in self.limbs[..self.len].iter_mut().rev() {
            let cur = rem << 32 | u64::from(*limb);
            *limb = (cur / u64::from(d)) as u32;
            rem = cur % u64::from(d);
        }
        while self.len > 0 && self.limbs[self.len - 1] == 0 {
            self.len -= 1;
        }
        rem as u32
    }

    /// The decimal digits, most significant first, no leading zeros.
    fn into_decimal(mut self) -> Vec<u8> {
        let mut reversed = Vec::with_capacity(self.len * 10);
        while self.len > 0 {
            let mut chunk = self.div_small(1_000_000_000);
            for _ in 0..9 {
                reversed.push((chunk % 10) as u8);
                chunk /= 10;
            }
        }
        while reversed.last() == Some(&0) {
            reversed.pop();
        }
        reversed.reverse();
        reversed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shortest(v: f64) -> String {
        let mut s = String::new();
        push_shortest(&mut s, v);
        s
    }

    #[test]
    fn prints_as_display_does() {
        for v in [
            0.0,
            -0.0,
            1.0,
            0.1,
            0.3,
            0.1 + 0.2,
            1.0 / 3.0,
            2.0 / 3.0,
            123.456,
            -98.765e-10,
            1e21,
            1e22,
            1e23,
            5e-324,
            -5e-324,
            2.2250738585072014e-308,
            2.225073858507201e-308,
            f64::MAX,
            f64::MIN,
            f64::EPSILON,
            9007199254740993.0,
            0.000012345,
            1.5e-5,
            4.35,
            9.5,
            0.95,
            99.99999999999999,
        ] {
            assert_eq!(shortest(v), format!("{v}"), "{:e}", v);
        }
    }

    #[test]
    fn every_power_of_two_and_ten_prints_as_display_does() {
        // Powers of two have a narrower gap below them than above: the
        // shortest digits may lie on the far side of the nearest ones.
        for e in -1074..=1023 {
            let v = 2f64.powi(e);
            assert_eq!(shortest(v), format!("{v}"), "2^{e}");
        }
        for e in -323..=308 {
            let v: f64 = format!("1e{e}").parse().unwrap();
            assert_eq!(shortest(v), format!("{v}"), "1e{e}");
        }
    }

    #[test]
    fn random_bit_patterns_read_back_and_print_as_display_does() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        // Half the property tests' inputs (20,000 on the host); the cross
        // tests under qemu ask for a fifth of those.
        let rounds = std::env::var("AP_EXPORTER_FUZZ_ITERATIONS").ok().and_then(|v| v.parse::<usize>().ok());
        let rounds = rounds.map_or(10_000, |n| n / 2);
        let mut checked = 0;
        while checked < rounds {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let v = f64::from_bits(x);
            if !v.is_finite() {
                continue;
            }
            let text = shortest(v);
            assert_eq!(text.parse::<f64>().map(f64::to_bits), Ok(v.to_bits()), "{text}");
            assert_eq!(text, format!("{v}"), "{v:e}");
            checked += 1;
        }
    }
}
