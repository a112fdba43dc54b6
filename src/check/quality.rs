//! Token quality from a sample of issued tokens (RFC 6749 §10.10, RFC 9700
//! §4.14): every token distinct, printable ASCII (VSCHAR), and an estimate
//! of its entropy that says how it was made.
//!
//! The estimate first recognises the sample's shape:
//!
//! - a **signed JWT** (three base64url parts, a header naming an `alg` other
//!   than `none`) whose signature verifies against the target's JWKS:
//!   guessing a valid token means forging that signature, so the token
//!   carries the signature's bits (8 per byte of the shortest). A header's
//!   `alg` proves nothing by itself: a JWT not verified so is judged by the
//!   variation of its claims, as an estimate;
//! - an **encrypted JWT** (five parts, a header naming `enc`): likewise its
//!   authentication tag;
//! - a **UUID version 4** (RFC 9562 §5.4): 122 random bits, the version and
//!   variant bits fixed;
//! - otherwise the smallest **standard alphabet** holding every character
//!   that varies: decimal digits, hex, base32, alphanumerics, base64url or
//!   base64 (a final base64 character carries only the bits left over).
//!
//! Then every character position, over tokens aligned from their start, is
//! credited. A position whose distinct characters are as many as a uniform
//! draw from its alphabet shows (at least the mean less four standard
//! deviations) counts the alphabet's full `log2`; one that shows fewer is
//! credited with the maximum-likelihood number of values behind what it
//! shows (a uniform draw from `A` values shows `A·(1-(1-1/A)^n)` distinct
//! ones in `n` draws on average). So a random hex uuid4 is exactly 122 bits
//! and 32 random bytes in hex or base64url exactly 256, while constant parts
//! (a prefix, a JWT header) count for nothing and a counter's slowly moving
//! digits for little. A sample whose characters fit no standard alphabet is
//! estimated against the characters it shows, and said to be an estimate.
//! With `n` samples a position can show at most `n` values: the sample must
//! be large enough (≥ 16) for random positions to reach their alphabet.

use std::collections::HashSet;

/// What a sample of tokens shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub samples: usize,
    /// Estimated bits of entropy of one token.
    pub bits: f64,
    /// How the bits were found: the shape recognised and its reasoning.
    pub how: String,
    /// The shape's full entropy, with every random position looking
    /// uniform; otherwise the bits are an estimate ("about").
    pub exact: bool,
    /// Distinct characters over the positions that vary.
    pub alphabet: usize,
    /// Positions (of the shortest token) whose character varies.
    pub varying: usize,
    pub shortest: usize,
    /// A token that appears more than once (its index in the sample).
    pub duplicate: Option<usize>,
    /// The first token holding a character outside VSCHAR (0x20-0x7E).
    pub non_vschar: Option<usize>,
}

impl Estimate {
    /// "122 bits (UUID version 4 …)" or "about 37 bits (…)".
    pub fn describe(&self) -> String {
        if self.exact {
            format!("{:.0} bits ({})", self.bits, self.how)
        } else {
            format!(
                "about {:.0} bits ({}; {} of {} positions vary, {} distinct characters, {} samples)",
                self.bits, self.how, self.varying, self.shortest, self.alphabet, self.samples
            )
        }
    }
}

/// Estimates over `tokens` (at least two).
pub fn estimate(tokens: &[&str]) -> Estimate {
    estimate_with(tokens, false)
}

/// [`estimate`], knowing whether the sample's JWT signatures verified
/// against the target's JWKS (only then do they count).
pub fn estimate_with(tokens: &[&str], signatures_verified: bool) -> Estimate {
    let samples = tokens.len();
    let mut seen = HashSet::new();
    let duplicate = tokens.iter().position(|t| !seen.insert(*t));
    let non_vschar = tokens
        .iter()
        .position(|t| t.bytes().any(|b| !(0x20..=0x7e).contains(&b)));
    // Base64 padding says nothing: judge the characters before it.
    let chars: Vec<Vec<char>> = tokens
        .iter()
        .map(|t| t.trim_end_matches('=').chars().collect())
        .collect();
    let shortest = chars.iter().map(Vec::len).min().unwrap_or(0);
    let same_length = chars.iter().all(|c| c.len() == shortest);
    let varying_at: Vec<usize> = (0..shortest)
        .filter(|&i| chars.iter().any(|c| c[i] != chars[0][i]))
        .collect();
    let alphabet: HashSet<char> = varying_at
        .iter()
        .flat_map(|&i| chars.iter().map(move |c| c[i]))
        .collect();
    let base = Estimate {
        samples,
        bits: 0.0,
        how: String::new(),
        exact: false,
        alphabet: alphabet.len(),
        varying: varying_at.len(),
        shortest,
        duplicate,
        non_vschar,
    };
    if let Some(jwt) = jwt_bits(tokens) {
        if signatures_verified || jwt.1.starts_with("encrypted") {
            return Estimate {
                bits: jwt.0,
                how: format!("{} (verified against the target's JWKS)", jwt.1),
                exact: true,
                ..base
            };
        }
        // Unverified: only what the claims show varies.
        if let Some(payloads) = jwt_payloads(tokens) {
            let refs: Vec<&str> = payloads.iter().map(String::as_str).collect();
            let inner = estimate_with(&refs, false);
            return Estimate {
                bits: inner.bits,
                how: format!(
                    "about {:.0} bits from the variation of its claims: a signed JWT whose signature was not verified against the target's JWKS (no jwks_uri, an HMAC key, or another key) proves nothing a guesser must match",
                    inner.bits
                ),
                exact: false,
                ..base
            };
        }
    }
    if let Some(at) = uuid4_at(&chars, &varying_at) {
        // Position 14 is the version ('4'); 19 the variant (2 random bits).
        let (bits, full) = credit(&chars, &varying_at, |i| match i - at {
            19 => 4.0,
            _ => 16.0,
        });
        return Estimate {
            bits: bits.min(122.0),
            how: "UUID version 4, RFC 9562 §5.4: 122 random bits".to_string(),
            exact: full && bits >= 122.0,
            ..base
        };
    }
    let Some(standard) = STANDARD
        .iter()
        .find(|s| alphabet.iter().all(|&c| (s.holds)(c)))
    else {
        let size = alphabet.len().max(1) as f64;
        let (bits, _) = credit(&chars, &varying_at, |_| size);
        return Estimate {
            bits,
            how: format!(
                "per-position estimate against the {} characters seen",
                alphabet.len()
            ),
            ..base
        };
    };
    let size = standard.size as f64;
    // The last character of a fixed-length base64 token carries only the
    // bits left over once the whole bytes before it are spelled out.
    let last_values = (standard.bits_per_char == 6 && same_length && shortest > 0).then(|| {
        let data_bits = 8 * (6 * shortest / 8);
        let left = data_bits.saturating_sub(6 * (shortest - 1));
        (1usize << left.min(6)) as f64
    });
    let (bits, full) = credit(&chars, &varying_at, |i| match last_values {
        Some(v) if i + 1 == shortest => v,
        _ => size,
    });
    let positions = varying_at.len();
    let bits_each = size.log2();
    Estimate {
        bits,
        how: if full {
            format!(
                "{}: {positions} random characters of {bits_each:.2} bits",
                standard.name
            )
            .replace(".00 bits", " bits")
        } else {
            format!("{}, per-position estimate", standard.name)
        },
        exact: full,
        ..base
    }
}

/// A standard token alphabet.
struct Alphabet {
    name: &'static str,
    size: usize,
    bits_per_char: usize,
    holds: fn(char) -> bool,
}

/// Smallest first, so a sample is judged against the tightest that fits.
const STANDARD: &[Alphabet] = &[
    Alphabet {
        name: "decimal digits",
        size: 10,
        bits_per_char: 0,
        holds: |c| c.is_ascii_digit(),
    },
    Alphabet {
        name: "hex",
        size: 16,
        bits_per_char: 4,
        holds: |c| c.is_ascii_digit() || ('a'..='f').contains(&c),
    },
    Alphabet {
        name: "hex",
        size: 16,
        bits_per_char: 4,
        holds: |c| c.is_ascii_digit() || ('A'..='F').contains(&c),
    },
    Alphabet {
        name: "base32 (RFC 4648 §6)",
        size: 32,
        bits_per_char: 5,
        holds: |c| c.is_ascii_uppercase() || ('2'..='7').contains(&c),
    },
    Alphabet {
        name: "alphanumeric",
        size: 62,
        bits_per_char: 0,
        holds: |c| c.is_ascii_alphanumeric(),
    },
    Alphabet {
        name: "base64url",
        size: 64,
        bits_per_char: 6,
        holds: |c| c.is_ascii_alphanumeric() || c == '-' || c == '_',
    },
    Alphabet {
        name: "base64",
        size: 64,
        bits_per_char: 6,
        holds: |c| c.is_ascii_alphanumeric() || c == '+' || c == '/',
    },
];

/// Bits over the varying positions, each against `values(position)`, and
/// whether every one of them got full credit.
fn credit(chars: &[Vec<char>], varying_at: &[usize], values: impl Fn(usize) -> f64) -> (f64, bool) {
    let n = chars.len();
    let mut bits = 0.0;
    let mut full = true;
    for &i in varying_at {
        let a = values(i);
        let k = chars.iter().map(|c| c[i]).collect::<HashSet<char>>().len();
        if looks_uniform(k, n, a) {
            bits += a.log2();
        } else {
            full = false;
            bits += values_behind(k, n, a).log2();
        }
    }
    (bits, full)
}

/// `k` distinct values in `n` draws are what a uniform draw from `a` values
/// plausibly shows: no fewer would be seen with probability under 10⁻⁵ (a
/// random 32-byte token is misjudged about once in 2,000 samples, and then
/// only as "about"). The distribution of the distinct count is exact: each
/// draw either repeats one of the `j` values seen, with probability `j/a`,
/// or adds one.
fn looks_uniform(k: usize, n: usize, a: f64) -> bool {
    let top = (a as usize).min(n);
    if k >= top {
        return true;
    }
    // p[j]: probability of j distinct values after the draws so far.
    let mut p = vec![0.0f64; top + 1];
    p[0] = 1.0;
    for _ in 0..n {
        for j in (0..=top).rev() {
            let stay = p[j] * j as f64 / a;
            let from_below = if j > 0 {
                p[j - 1] * (a - (j - 1) as f64) / a
            } else {
                0.0
            };
            p[j] = stay + from_below;
        }
    }
    p[..=k].iter().sum::<f64>() >= 1e-5
}

/// The number of equally likely values `A` (≤ `cap`) for which `n` draws
/// show `k` distinct ones on average.
fn values_behind(k: usize, n: usize, cap: f64) -> f64 {
    let (k, n) = (k as f64, n as f64);
    let shown = |a: f64| a * (1.0 - (1.0 - 1.0 / a).powf(n));
    if shown(cap) <= k {
        return cap;
    }
    let (mut lo, mut hi) = (k, cap);
    for _ in 0..60 {
        let mid = (lo + hi) / 2.0;
        if shown(mid) < k {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// Where every token holds a uuid4, at the same offset, with nothing
/// around it that varies (a constant prefix such as `at_` is allowed).
fn uuid4_at(chars: &[Vec<char>], varying_at: &[usize]) -> Option<usize> {
    let len = chars.first()?.len();
    if len < 36 || chars.iter().any(|c| c.len() != len) {
        return None;
    }
    (0..=len - 36).find(|&at| {
        varying_at.iter().all(|&i| (at..at + 36).contains(&i))
            && chars.iter().all(|c| is_uuid4(&c[at..at + 36]))
    })
}

/// 8-4-4-4-12 hex, version 4 and the RFC 9562 variant (`10xx`).
fn is_uuid4(c: &[char]) -> bool {
    c.len() == 36
        && c.iter().enumerate().all(|(i, &ch)| match i {
            8 | 13 | 18 | 23 => ch == '-',
            14 => ch == '4',
            19 => matches!(ch.to_ascii_lowercase(), '8' | '9' | 'a' | 'b'),
            _ => ch.is_ascii_hexdigit(),
        })
}

/// The decoded payloads of a sample of JWTs.
fn jwt_payloads(tokens: &[&str]) -> Option<Vec<String>> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    tokens
        .iter()
        .map(|t| {
            let payload = t.split('.').nth(1)?;
            String::from_utf8(b64.decode(payload).ok()?).ok()
        })
        .collect()
}

/// Bits of a sample of JWTs, with the reason: a signed JWS needs its
/// signature, an encrypted JWE its authentication tag. `None` when the
/// sample is not all JWTs, or they are unsigned (`alg: none`).
fn jwt_bits(tokens: &[&str]) -> Option<(f64, String)> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut shortest: Option<usize> = None;
    let mut what = String::new();
    for t in tokens {
        let parts: Vec<&str> = t.split('.').collect();
        let header: serde_json::Value = serde_json::from_slice(&b64.decode(parts[0]).ok()?).ok()?;
        let alg = header.get("alg")?.as_str()?;
        let (kind, proof) = match parts.len() {
            3 if !alg.eq_ignore_ascii_case("none") => ("signed JWT", parts[2]),
            5 if header.get("enc").is_some() => ("encrypted JWT", parts[4]),
            _ => return None,
        };
        let bytes = b64.decode(proof).ok()?.len();
        if bytes == 0 {
            return None;
        }
        shortest = Some(shortest.map_or(bytes, |s| s.min(bytes)));
        what = format!(
            "{kind} ({alg}): a valid token needs its {}-byte {}",
            shortest.unwrap_or(bytes),
            if parts.len() == 3 {
                "signature"
            } else {
                "authentication tag"
            }
        );
    }
    shortest.map(|s| (8.0 * s as f64, what))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_tokens(n: usize, len: usize) -> Vec<String> {
        (0..n).map(|_| crate::oauth::random_token(len)).collect()
    }

    fn refs(tokens: &[String]) -> Vec<&str> {
        tokens.iter().map(String::as_str).collect()
    }

    fn random_bytes(n: usize) -> Vec<u8> {
        use rand::RngCore;
        let mut buf = vec![0u8; n];
        rand::rng().fill_bytes(&mut buf);
        buf
    }

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn random_256_bit_base64url_tokens_are_exactly_256_bits() {
        let tokens = random_tokens(20, 32);
        let e = estimate(&refs(&tokens));
        assert_eq!(e.bits, 256.0, "{e:?}");
        assert!(e.exact, "{e:?}");
        assert!(
            e.describe().starts_with("256 bits (base64url"),
            "{}",
            e.describe()
        );
        assert_eq!(e.duplicate, None);
        assert_eq!(e.non_vschar, None);
    }

    #[test]
    fn random_hex_tokens_are_exactly_four_bits_a_character() {
        let tokens: Vec<String> = (0..20).map(|_| hex(&random_bytes(32))).collect();
        let e = estimate(&refs(&tokens));
        assert_eq!(e.bits, 256.0, "{e:?}");
        assert!(e.how.starts_with("hex"), "{e:?}");
    }

    /// A random UUID version 4 (RFC 9562 §5.4), hyphenated.
    fn uuid4() -> String {
        let mut b = random_bytes(16);
        b[6] = (b[6] & 0x0f) | 0x40;
        b[8] = (b[8] & 0x3f) | 0x80;
        let h = hex(&b);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        )
    }

    #[test]
    fn a_uuid4_is_exactly_122_bits() {
        let tokens: Vec<String> = (0..20).map(|_| uuid4()).collect();
        let e = estimate(&refs(&tokens));
        assert_eq!(e.bits, 122.0, "{e:?}");
        assert!(e.exact);
        assert!(
            e.describe().starts_with("122 bits (UUID version 4"),
            "{}",
            e.describe()
        );
    }

    #[test]
    fn a_uuid4_behind_a_constant_prefix_is_still_122_bits() {
        let tokens: Vec<String> = (0..20).map(|_| format!("at_{}", uuid4())).collect();
        let e = estimate(&refs(&tokens));
        assert_eq!(e.bits, 122.0, "{e:?}");
    }

    #[test]
    fn a_counter_dressed_as_a_uuid4_is_not_credited_122_bits() {
        let tokens: Vec<String> = (0..20)
            .map(|i| format!("00000000-0000-4000-8000-0000000012{i:02}"))
            .collect();
        let e = estimate(&refs(&tokens));
        assert!(e.bits < 10.0, "{e:?}");
        assert!(!e.exact);
        assert!(e.describe().starts_with("about "), "{}", e.describe());
    }

    #[test]
    fn a_signed_jwt_carries_its_signature() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let tokens: Vec<String> = (0..20)
            .map(|i| {
                let payload = b64.encode(format!(r#"{{"sub":"u","jti":"{i}"}}"#));
                format!("{header}.{payload}.{}", b64.encode(random_bytes(256)))
            })
            .collect();
        let e = estimate_with(&refs(&tokens), true);
        assert_eq!(e.bits, 2048.0, "{e:?}");
        assert!(e.how.contains("256-byte signature"), "{e:?}");
        // Not verified: the header's alg proves nothing; the claims (a
        // counter here) are what varies.
        let e = estimate(&refs(&tokens));
        assert!(!e.exact && e.bits < 20.0, "{e:?}");
        assert!(e.how.contains("not verified"), "{e:?}");
    }

    #[test]
    fn an_unsigned_jwt_is_judged_by_its_characters() {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let header = b64.encode(br#"{"alg":"none"}"#);
        let tokens: Vec<String> = (0..20)
            .map(|i| {
                let payload = b64.encode(format!(r#"{{"sub":"u","n":{}}}"#, 1000 + i));
                format!("{header}.{payload}.")
            })
            .collect();
        let e = estimate(&refs(&tokens));
        assert!(e.bits < 20.0, "{e:?}");
    }

    #[test]
    fn a_counter_with_a_constant_prefix_is_weak() {
        let tokens: Vec<String> = (0..20)
            .map(|i| format!("tok-2026-000{:04}", 1200 + i))
            .collect();
        let e = estimate(&refs(&tokens));
        assert!(e.bits < 12.0, "{e:?}");
        assert_eq!(e.varying, 2);
        assert!(!e.exact);
    }

    #[test]
    fn a_short_random_token_is_exactly_its_96_bits() {
        // 12 random bytes = 96 bits, base64url: 16 characters.
        let tokens = random_tokens(20, 12);
        let e = estimate(&refs(&tokens));
        assert_eq!(e.bits, 96.0, "{e:?}");
    }

    #[test]
    fn a_constant_prefix_does_not_widen_the_alphabet() {
        // "gho_" + 36 alphanumerics: judged as alphanumeric, not base64url.
        let tokens: Vec<String> = (0..20)
            .map(|_| {
                let body: String = crate::oauth::random_token(40)
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .take(36)
                    .collect();
                format!("gho_{body}")
            })
            .collect();
        let e = estimate(&refs(&tokens));
        assert!(e.how.starts_with("alphanumeric"), "{e:?}");
        assert!((e.bits - 36.0 * 62f64.log2()).abs() < 1e-9, "{e:?}");
    }

    #[test]
    fn duplicates_and_control_characters_are_found() {
        let e = estimate(&["abc", "abd", "abc", "a\tb"]);
        assert_eq!(e.duplicate, Some(2));
        assert_eq!(e.non_vschar, Some(3));
    }

    #[test]
    fn the_value_estimate_inverts_the_expected_distinct_count() {
        // 64 equally likely values, 20 draws: about 17.3 distinct.
        let a = values_behind(17, 20, 64.0);
        assert!((50.0..64.0).contains(&a), "{a}");
        assert_eq!(values_behind(20, 20, 64.0), 64.0);
        assert!(values_behind(2, 20, 64.0) < 2.5);
    }

    #[test]
    fn uniformity_needs_nearly_the_expected_distinct_count() {
        // 20 draws from 16 values show about 11.6 distinct (sd ≈ 1.3).
        assert!(looks_uniform(8, 20, 16.0));
        assert!(!looks_uniform(5, 20, 16.0));
        // From 4 values, 3 distinct happen about once in 80 samples.
        assert!(looks_uniform(3, 20, 4.0));
        assert!(!looks_uniform(1, 20, 4.0));
        // A counter's digit: 10 distinct where 64 values would show 17.
        assert!(!looks_uniform(10, 20, 64.0));
    }
}
