//! Token quality from a sample of issued tokens (RFC 6749 §10.10, RFC 9700
//! §4.14): every token distinct, printable ASCII (VSCHAR), and an estimate
//! of its entropy.
//!
//! The estimate is per character position, over tokens aligned from their
//! start: at each position, the number of distinct characters seen in the
//! sample gives a maximum-likelihood estimate of how many values that
//! position takes (a uniform draw from `A` values shows `A·(1-(1-1/A)^n)`
//! distinct ones in `n` draws on average), capped by the alphabet seen in
//! the whole sample; the token's entropy is the sum of `log2` of these. So
//! constant parts (a JWT header, a prefix) count for nothing, a counter's
//! slowly moving digits for little, and a random base64url character for
//! about 6 bits. With `n` samples a position can show at most `n` values:
//! the sample must be large enough (≥ 16) for random positions to reach the
//! alphabet cap.

/// What a sample of tokens shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    pub samples: usize,
    /// Estimated bits of entropy of one token.
    pub bits: f64,
    /// Distinct characters over the whole sample.
    pub alphabet: usize,
    /// Positions (of the shortest token) whose character varies.
    pub varying: usize,
    pub shortest: usize,
    /// A token that appears more than once (its index in the sample).
    pub duplicate: Option<usize>,
    /// The first token holding a character outside VSCHAR (0x20-0x7E).
    pub non_vschar: Option<usize>,
}

/// Estimates over `tokens` (at least two).
pub fn estimate(tokens: &[&str]) -> Estimate {
    let samples = tokens.len();
    let mut seen = std::collections::HashSet::new();
    let duplicate = tokens.iter().position(|t| !seen.insert(*t));
    let non_vschar = tokens
        .iter()
        .position(|t| t.bytes().any(|b| !(0x20..=0x7e).contains(&b)));
    let alphabet: std::collections::HashSet<char> = tokens.iter().flat_map(|t| t.chars()).collect();
    let chars: Vec<Vec<char>> = tokens.iter().map(|t| t.chars().collect()).collect();
    let shortest = chars.iter().map(Vec::len).min().unwrap_or(0);
    let cap = alphabet.len().max(1) as f64;
    let mut bits = 0.0;
    let mut varying = 0;
    for i in 0..shortest {
        let distinct: std::collections::HashSet<char> = chars.iter().map(|c| c[i]).collect();
        if distinct.len() > 1 {
            varying += 1;
            bits += values_behind(distinct.len(), samples, cap).log2();
        }
    }
    Estimate {
        samples,
        bits,
        alphabet: alphabet.len(),
        varying,
        shortest,
        duplicate,
        non_vschar,
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn random_tokens(n: usize, len: usize) -> Vec<String> {
        (0..n).map(|_| crate::oauth::random_token(len)).collect()
    }

    #[test]
    fn random_256_bit_tokens_estimate_well_above_160_bits() {
        let tokens = random_tokens(20, 32);
        let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let e = estimate(&refs);
        assert!(e.bits > 200.0, "{e:?}");
        assert_eq!(e.duplicate, None);
        assert_eq!(e.non_vschar, None);
    }

    #[test]
    fn a_counter_with_a_constant_prefix_is_weak() {
        let tokens: Vec<String> = (0..20)
            .map(|i| format!("tok-2026-000{:04}", 1200 + i))
            .collect();
        let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let e = estimate(&refs);
        assert!(e.bits < 12.0, "{e:?}");
        assert_eq!(e.varying, 2);
    }

    #[test]
    fn a_short_random_token_is_under_128_bits() {
        // 12 random bytes = 96 bits, base64url: 16 characters.
        let tokens = random_tokens(20, 12);
        let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let e = estimate(&refs);
        assert!(e.bits < 128.0 && e.bits > 60.0, "{e:?}");
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
}
