//! Decimal text to `f64` without Rust's `str::parse::<f64>`: that parser
//! (its Eisel-Lemire tables and big-decimal fallback) costs about 17 KB on
//! MIPS, for the textfile values and the odd non-integer sysfs file.
//!
//! How: the first 19 significant digits as an integer `mant` (later
//! nonzero digits only mark the value as a little above it), then
//! `mant × 10^exp` computed one factor of ten (5 × 2) at a time on a
//! 128-bit integer and a binary exponent: × 5 as `v + 4v`, / 5 as an integer
//! division after moving `v` to the top, noting whether any nonzero bit or
//! remainder is lost ("sticky"). One rounding to 53 bits at the end (ties to
//! even, subnormals included). No tables, no f64 arithmetic.
//!
//! Accuracy, decided and tested (`tests/parsers_property.rs`):
//! - Exact for every integer up to 19 digits times 5^27 and every quotient
//!   by up to 5^27, so for each value lying exactly halfway between two
//!   f64s (only such exponents make one): ties go to even as in Go and std.
//! - Otherwise at least 124 bits are kept through each of at most 343
//!   steps, so the error before the final rounding is below 2^-115 of the
//!   value, and the result is the correctly rounded one unless the exact
//!   value lies that close to a halfway point without being on it. With at
//!   most 19 significant digits, 200,000 random cases over all exponents
//!   equal `str::parse::<f64>` bit for bit. This replaces Clinger's fast
//!   path (exact only for a 53-bit mantissa and `exp` within ±22).
//! - With more than 19 significant digits, the result can be 1 ulp low when
//!   a halfway point lies between the first 19 digits and the full number;
//!   never further. Go prints at most 17.
//! - Cost: at most 343 steps (an exponent beyond is 0 or out of range at
//!   once); a division of 128 bits per step below 1, none above.
//!
//! Syntax and range follow Go's `strconv.ParseFloat(s, 64)` as node_exporter
//! uses it (see [`go_float`]).

/// Go's `strconv.ParseFloat(s, 64)` as node_exporter's readers see it: an
/// optional sign, then decimal digits with at most one `.` and at least one
/// digit, then optionally `e`/`E`, an optional sign and digits; or `inf`,
/// `infinity` (any case, optional sign), or `nan` (any case, no sign).
/// `None` where Go returns an error: bad syntax, and a finite number that
/// rounds beyond `f64::MAX` (Go's range error; a number too small rounds to
/// zero without error, as in Go). Go's hexadecimal floats and `_` digit
/// separators are refused: the text format parser refuses `p`, `P` and `_`
/// before calling ParseFloat, and no kernel prints them.
pub fn go_float(s: &str) -> Option<f64> {
    let (neg, unsigned) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let v = if unsigned.eq_ignore_ascii_case("inf") || unsigned.eq_ignore_ascii_case("infinity") {
        f64::INFINITY
    } else if s.eq_ignore_ascii_case("nan") {
        return Some(f64::NAN);
    } else {
        decimal_f64(unsigned)?
    };
    Some(if neg { -v } else { v })
}

/// An unsigned decimal (`12`, `1.5`, `.5`, `5.`, `1e-3`, `2.5E+10`) as the
/// nearest f64 (see the module notes for the accuracy); `None` on any other
/// text and when the value rounds beyond `f64::MAX`.
pub fn decimal_f64(s: &str) -> Option<f64> {
    let mut mant = 0u64;
    let mut digits = 0u32;
    let mut exp = 0i64;
    let (mut seen, mut dot, mut sticky) = (false, false, false);
    let mut rest = None;
    for (i, b) in s.bytes().enumerate() {
        match b {
            b'0'..=b'9' => {
                seen = true;
                let d = u64::from(b - b'0');
                if digits < 19 && (mant > 0 || d > 0) {
                    mant = mant * 10 + d;
                    digits += 1;
                    exp -= i64::from(dot);
                } else if mant == 0 {
                    // A leading zero: only its place after the point counts.
                    exp -= i64::from(dot);
                } else {
                    // A digit beyond the 19 kept ones.
                    exp += i64::from(!dot);
                    sticky |= d > 0;
                }
            }
            b'.' if !dot => dot = true,
            _ => {
                rest = Some((i, b));
                break;
            }
        }
    }
    if !seen {
        return None;
    }
    if let Some((i, e)) = rest {
        // `e` is ASCII, so the exponent starts on a char boundary after it.
        let tail = s.get(i + 1..).filter(|_| e | 0x20 == b'e')?;
        let (eneg, edigits) = match tail.as_bytes().first() {
            Some(b'-') => (true, &tail[1..]),
            Some(b'+') => (false, &tail[1..]),
            _ => (false, tail),
        };
        if edigits.is_empty() || !edigits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Saturates: beyond 10^100000 every value is 0 or out of range.
        let e = edigits.bytes().fold(0i64, |n, b| (n * 10 + i64::from(b - b'0')).min(100_000));
        exp += if eneg { -e } else { e };
    }
    if mant == 0 {
        return Some(0.0);
    }
    // mant × 10^exp < 10^(exp + 19): below 10^-325, under half the smallest
    // subnormal (4.9e-324), it rounds to 0; from 10^309 it is out of range.
    if exp <= -344 {
        return Some(0.0);
    }
    if exp >= 309 {
        return None;
    }
    // mant × 10^exp = v × 2^e2 with v held in 128 bits, one factor of 10
    // (5 × 2) at a time. `sticky` records any nonzero bit or remainder lost.
    let (mut v, mut e2) = (u128::from(mant), 0i32);
    for _ in 0..exp {
        // v × 5 must fit: keep v below 2^125.
        while v >> 125 != 0 {
            sticky |= v & 1 != 0;
            v >>= 1;
            e2 += 1;
        }
        v += v << 2;
        e2 += 1;
    }
    for _ in exp..0 {
        // v at the top of 128 bits keeps at least 125 bits after / 5.
        let lz = v.leading_zeros();
        v <<= lz;
        let (q, rem) = div5(v);
        sticky |= rem;
        v = q;
        e2 -= lz as i32 + 1;
    }
    from_u128(v, e2, sticky)
}

/// `v / 5`, and whether it left a remainder, by long division on 32-bit
/// limbs: `u128` division is a 2 KB library routine on 32-bit MIPS.
fn div5(v: u128) -> (u128, bool) {
    let (mut q, mut rem) = (0u128, 0u64);
    for shift in [96, 64, 32, 0] {
        // rem < 5, so cur < 5 × 2^32 and its quotient fits one limb.
        let cur = (rem << 32) | u64::from((v >> shift) as u32);
        q |= u128::from(cur / 5) << shift;
        rem = cur % 5;
    }
    (q, rem != 0)
}

/// `v × 2^e` (v > 0; `sticky` when nonzero bits were lost below v)
/// rounded to the nearest f64, ties to even; `None` beyond `f64::MAX`.
fn from_u128(v: u128, e: i32, sticky: bool) -> Option<f64> {
    let lz = v.leading_zeros();
    let v = v << lz;
    // The top 64 bits r: the value is r × 2^t with t = e + 64 - lz, in
    // [2^(t + 63), 2^(t + 64)), so its biased exponent is t + 63 + 1023.
    let (r, sticky) = ((v >> 64) as u64, sticky || v as u64 != 0);
    let biased = e + 64 - lz as i32 + 1086;
    if biased >= 2047 {
        return None;
    }
    // Bits of r below the kept mantissa: 11 for a normal, more below.
    let drop = if biased >= 1 { 11 } else { 12 - biased } as u32;
    if drop > 64 {
        return Some(0.0);
    }
    let kept = r.checked_shr(drop).unwrap_or(0);
    let below = if drop == 64 { r } else { r & ((1 << drop) - 1) };
    let half = 1u64 << (drop - 1);
    let up = below > half || (below == half && (sticky || kept & 1 == 1));
    // For a normal, kept has its implicit bit at 2^52: adding (biased - 1)
    // << 52 sets the exponent, and a carry out of rounding moves it up.
    let base = if biased >= 1 { ((biased - 1) as u64) << 52 } else { 0 };
    let bits = base + kept + u64::from(up);
    (bits < 0x7ff0_0000_0000_0000).then(|| f64::from_bits(bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn div5_is_u128_division() {
        let mut cases = vec![0, 1, 4, 5, 6, u128::MAX, u128::MAX - 1, u128::MAX / 5, 1 << 127, (1 << 127) - 1];
        for shift in [31, 32, 33, 63, 64, 65, 95, 96, 97, 125] {
            let p = 1u128 << shift;
            cases.extend([p - 1, p, p + 1, p * 3 + 2]);
        }
        // Every limb nonzero, and a spread of values from a fixed LCG.
        let mut x = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210u128;
        for _ in 0..1000 {
            cases.push(x);
            x = x.wrapping_mul(0x2360_ed05_1fc6_5da4_4385_df64_9fcc_f645).wrapping_add(1);
        }
        for v in cases {
            assert_eq!(div5(v), (v / 5, v % 5 != 0), "{v:#x}");
        }
    }

    fn same(s: &str) {
        let ours = go_float(s).map(f64::to_bits);
        let std = s.parse::<f64>().ok().filter(|v| v.is_finite()).map(f64::to_bits);
        assert_eq!(ours, std, "{s}");
    }

    #[test]
    fn matches_std_on_edges() {
        for s in [
            "0",
            "-0",
            "00000",
            "0.0",
            "000123",
            "0.000123",
            "123.456",
            "1e0",
            "1e22",
            "1e23",
            "9007199254740993",
            "9007199254740992",
            "18446744073709551615",
            "18446744073709551616",
            "99999999999999999999",
            "12345678901234567890123",
            "0.1",
            "0.3",
            "1e-22",
            "1e-23",
            "2.2250738585072014e-308",
            "4.9e-324",
            "2.4703282292062328e-324",
            "2.4703282292062327e-324",
            "5e-324",
            "1e-324",
            "1e-400",
            "1.7976931348623157e308",
            "1.7976931348623158e308",
            "1.7976931348623159e308",
            "1e308",
            "1e309",
            "1e400",
            "123456789e-30",
            "3.141592653589793238462643383279",
            "1e-3",
            "1.5E+10",
            "1795691447.3279812",
            "0e99999999999999",
            "1e-99999999999999",
            "1e99999999999999",
            "4503599627370496.5",
            "4503599627370497.5",
            ".5",
            "5.",
            "1.e5",
            "-1.5e-7",
            "+42000",
        ] {
            same(s);
        }
    }

    #[test]
    fn go_syntax() {
        assert_eq!(go_float("Inf"), Some(f64::INFINITY));
        assert_eq!(go_float("+inf"), Some(f64::INFINITY));
        assert_eq!(go_float("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(go_float("NaN").unwrap().is_nan());
        assert_eq!(go_float("-0").map(f64::to_bits), Some((-0.0f64).to_bits()));
        for s in [
            "",
            "+",
            "-",
            ".",
            "e5",
            ".e5",
            "1e",
            "1e+",
            "1e-",
            "1e+-5",
            "1.2.3",
            "--1",
            "+-1",
            "1_000",
            "0x10",
            "0x1p3",
            "1p3",
            "+nan",
            "-NaN",
            "nan1",
            "infin",
            "infinit",
            "infinityy",
            " 1",
            "1 ",
            "1\n",
            "١",
            "1e5.5",
            "1f",
            "1,5",
            "1e400",
            "-1e400",
            "12345678901234567890e300",
        ] {
            assert_eq!(go_float(s).map(f64::to_bits), None, "{s:?}");
        }
    }
}
