//! Referral codes: `PREFIX-BODY`, e.g. `LOVE-7KQMX4TPR8`.
//!
//! * The prefix is one of the wedding words of the referrer's kind (the seed's lists).
//! * The body is `NNNN` (the device's code namespace, issued by the server at log-in and
//!   unique per device) + `RRRRR` (random) + `C` (check character). Two devices can
//!   never make the same code because their namespaces differ; a device never repeats
//!   one of its own because it checks its local store (and the server's unique index
//!   is the last word). So codes are made offline, forever, after one log-in.
//! * The alphabet has 29 symbols — no 0/O, 1/I/L, U/V — so nothing reads as something
//!   else on a printed table card. 29 is prime, which is what makes the check character
//!   catch every single-character substitution and every transposition (see
//!   [`check_symbol`]).
//! * Parsing is case-insensitive and ignores spaces and dashes inside the body.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::account::AccountKind;

/// Unambiguous symbols, in value order. Length 29 (prime).
pub const ALPHABET: &[u8; 29] = b"23456789ABCDEFGHJKMNPQRSTWXYZ";
const RADIX: u32 = ALPHABET.len() as u32;

pub const SUPPLIER_PREFIXES: [&str; 5] = ["LOVE", "WED", "DREAM", "BLISS", "CHARM"];
pub const COUPLE_PREFIXES: [&str; 5] = ["COUPLE", "UNITY", "FOREVER", "HEARTS", "VOWS"];

pub const NAMESPACE_LEN: usize = 4;
pub const RANDOM_LEN: usize = 5;
pub const BODY_LEN: usize = NAMESPACE_LEN + RANDOM_LEN + 1;

/// Why a string is not a referral code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("a referral code looks like LOVE-7KQMX4TPR8: a wedding word, a dash and {BODY_LEN} characters")]
    Shape,
    #[error("'{0}' is not one of Bouquet's code words")]
    UnknownPrefix(String),
    #[error("'{0}' cannot appear in a referral code")]
    BadCharacter(char),
    #[error("this code has a typo: its last character does not match the rest")]
    CheckFailed,
}

/// A device's code namespace: four alphabet symbols, unique per device.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CodeNamespace(String);

impl CodeNamespace {
    pub fn parse(s: &str) -> Result<Self, CodeError> {
        let up = s.trim().to_ascii_uppercase();
        if up.len() != NAMESPACE_LEN {
            return Err(CodeError::Shape);
        }
        for ch in up.chars() {
            symbol_value(ch)?;
        }
        Ok(Self(up))
    }

    /// A random namespace; the server retries on its unique index until one is free.
    pub fn random() -> Self {
        Self(random_symbols(NAMESPACE_LEN))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for CodeNamespace {
    type Error = CodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<CodeNamespace> for String {
    fn from(ns: CodeNamespace) -> Self {
        ns.0
    }
}

/// A valid referral code in canonical form (upper case, one dash).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReferralCode(String);

impl ReferralCode {
    /// Makes a new code in `namespace` with a random part. `pick` chooses the prefix
    /// among the kind's wedding words (callers pass a random index).
    pub fn generate(kind: AccountKind, namespace: &CodeNamespace, pick: usize) -> Self {
        let prefixes = prefixes_for(kind);
        let prefix = prefixes[pick % prefixes.len()];
        let mut body = String::with_capacity(BODY_LEN);
        body.push_str(namespace.as_str());
        body.push_str(&random_symbols(RANDOM_LEN));
        Self::assemble(prefix, &body)
    }

    /// Adds the check character to `prefix` + `body_without_check`.
    fn assemble(prefix: &str, body_without_check: &str) -> Self {
        let check = check_symbol(prefix, body_without_check)
            .expect("generated bodies use only alphabet symbols");
        Self(format!("{prefix}-{body_without_check}{check}"))
    }

    /// Parses what a person typed or a link carried: case-insensitive, surrounding
    /// whitespace and dashes/spaces inside the body ignored. Rejects typos.
    pub fn parse(input: &str) -> Result<Self, CodeError> {
        let upper = input.trim().to_ascii_uppercase();
        let (prefix, rest) = upper.split_once('-').ok_or(CodeError::Shape)?;
        let prefix = prefix.trim();
        if !SUPPLIER_PREFIXES.contains(&prefix) && !COUPLE_PREFIXES.contains(&prefix) {
            return Err(CodeError::UnknownPrefix(prefix.to_string()));
        }
        let body: String = rest.chars().filter(|c| *c != '-' && !c.is_whitespace()).collect();
        if body.chars().count() != BODY_LEN {
            return Err(CodeError::Shape);
        }
        for ch in body.chars() {
            symbol_value(ch)?;
        }
        let (payload, check) = body.split_at(BODY_LEN - 1);
        if check_symbol(prefix, payload)?.to_string() != check {
            return Err(CodeError::CheckFailed);
        }
        Ok(Self(format!("{prefix}-{body}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn prefix(&self) -> &str {
        self.0.split_once('-').map(|(p, _)| p).unwrap_or_default()
    }

    /// The namespace of the device that made this code.
    pub fn namespace(&self) -> &str {
        let body = self.0.split_once('-').map(|(_, b)| b).unwrap_or_default();
        &body[..NAMESPACE_LEN]
    }

    /// Which kind of account's word this code starts with.
    pub fn referrer_kind(&self) -> AccountKind {
        if COUPLE_PREFIXES.contains(&self.prefix()) { AccountKind::Couple } else { AccountKind::Supplier }
    }
}

impl TryFrom<String> for ReferralCode {
    type Error = CodeError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<ReferralCode> for String {
    fn from(code: ReferralCode) -> Self {
        code.0
    }
}

impl fmt::Display for ReferralCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn prefixes_for(kind: AccountKind) -> &'static [&'static str; 5] {
    match kind {
        AccountKind::Supplier | AccountKind::Admin => &SUPPLIER_PREFIXES,
        AccountKind::Couple => &COUPLE_PREFIXES,
    }
}

fn symbol_value(ch: char) -> Result<u32, CodeError> {
    ALPHABET
        .iter()
        .position(|&s| s as char == ch)
        .map(|p| p as u32)
        .ok_or(CodeError::BadCharacter(ch))
}

fn random_symbols(len: usize) -> String {
    let alphabet: Vec<char> = ALPHABET.iter().map(|&b| b as char).collect();
    nanoid::nanoid!(len, &alphabet)
}

/// The check character: a weighted sum modulo 29 over the prefix (as its index among
/// all ten wedding words) and each body symbol, weights 1, 2, 3, … .
///
/// Because 29 is prime and every weight is below it (at most 11 positions), changing
/// one symbol changes the sum by `weight × difference`, never a multiple of 29; swapping
/// two symbols changes it by `(wᵢ − wⱼ) × (a − b)`, likewise never 0. A mistyped code is
/// therefore rejected instead of being credited to someone else.
fn check_symbol(prefix: &str, payload: &str) -> Result<char, CodeError> {
    let prefix_value = SUPPLIER_PREFIXES
        .iter()
        .chain(COUPLE_PREFIXES.iter())
        .position(|p| *p == prefix)
        .ok_or_else(|| CodeError::UnknownPrefix(prefix.to_string()))? as u32;
    let mut sum = prefix_value;
    for (i, ch) in payload.chars().enumerate() {
        sum += (i as u32 + 2) * symbol_value(ch)?;
    }
    Ok(ALPHABET[(sum % RADIX) as usize] as char)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ns(s: &str) -> CodeNamespace {
        CodeNamespace::parse(s).unwrap()
    }

    #[test]
    fn generated_codes_have_the_documented_shape() {
        for pick in 0..10 {
            let code = ReferralCode::generate(AccountKind::Supplier, &ns("7KQM"), pick);
            let (prefix, body) = code.as_str().split_once('-').unwrap();
            assert!(SUPPLIER_PREFIXES.contains(&prefix));
            assert_eq!(body.len(), BODY_LEN);
            assert!(body.starts_with("7KQM"));
            assert!(body.bytes().all(|b| ALPHABET.contains(&b)));
            assert_eq!(ReferralCode::parse(code.as_str()).unwrap(), code);
            assert_eq!(code.namespace(), "7KQM");
        }
        let couple = ReferralCode::generate(AccountKind::Couple, &ns("2222"), 3);
        assert_eq!(couple.prefix(), "HEARTS");
        assert_eq!(couple.referrer_kind(), AccountKind::Couple);
    }

    #[test]
    fn alphabet_has_no_look_alikes_and_a_prime_size() {
        for bad in [b'0', b'O', b'1', b'I', b'L', b'U', b'V'] {
            assert!(!ALPHABET.contains(&bad), "{}", bad as char);
        }
        let n = ALPHABET.len();
        assert!((2..n).all(|d| !n.is_multiple_of(d)));
    }

    #[test]
    fn parsing_is_case_insensitive_and_tolerates_separators() {
        let code = ReferralCode::generate(AccountKind::Supplier, &ns("ABCD"), 0);
        let lower = code.as_str().to_ascii_lowercase();
        assert_eq!(ReferralCode::parse(&lower).unwrap(), code);
        let (prefix, body) = code.as_str().split_once('-').unwrap();
        let spaced = format!("  {prefix}-{} {}-{}  ", &body[..4], &body[4..7], &body[7..]);
        assert_eq!(ReferralCode::parse(&spaced).unwrap(), code);
    }

    #[test]
    fn check_character_catches_every_single_substitution() {
        for pick in 0..5 {
            let code = ReferralCode::generate(AccountKind::Supplier, &CodeNamespace::random(), pick);
            let (prefix, body) = code.as_str().split_once('-').unwrap();
            for pos in 0..BODY_LEN {
                for &sym in ALPHABET.iter() {
                    let mut typo: Vec<u8> = body.bytes().collect();
                    if typo[pos] == sym {
                        continue;
                    }
                    typo[pos] = sym;
                    let typed = format!("{prefix}-{}", String::from_utf8(typo).unwrap());
                    assert_eq!(ReferralCode::parse(&typed), Err(CodeError::CheckFailed), "{typed}");
                }
            }
            // The wrong wedding word with the right body is a typo too.
            for other in SUPPLIER_PREFIXES.iter().chain(COUPLE_PREFIXES.iter()) {
                if *other != prefix {
                    assert!(ReferralCode::parse(&format!("{other}-{body}")).is_err());
                }
            }
        }
    }

    #[test]
    fn check_character_catches_transpositions() {
        let code = ReferralCode::generate(AccountKind::Supplier, &ns("K7Q3"), 1);
        let (prefix, body) = code.as_str().split_once('-').unwrap();
        let bytes: Vec<u8> = body.bytes().collect();
        for i in 0..BODY_LEN {
            for j in i + 1..BODY_LEN {
                if bytes[i] == bytes[j] {
                    continue;
                }
                let mut swapped = bytes.clone();
                swapped.swap(i, j);
                let typed = format!("{prefix}-{}", String::from_utf8(swapped).unwrap());
                assert!(ReferralCode::parse(&typed).is_err(), "{typed}");
            }
        }
    }

    #[test]
    fn malformed_inputs_get_specific_errors() {
        assert_eq!(ReferralCode::parse("hello"), Err(CodeError::Shape));
        assert_eq!(ReferralCode::parse("LOVE-ABC"), Err(CodeError::Shape));
        assert!(matches!(ReferralCode::parse("PARTY-2345678923"), Err(CodeError::UnknownPrefix(_))));
        assert_eq!(ReferralCode::parse("LOVE-23456789O2"), Err(CodeError::BadCharacter('O')));
        assert!(CodeNamespace::parse("AB1D").is_err());
        assert!(CodeNamespace::parse("ABCDE").is_err());
    }

    #[test]
    fn codes_round_trip_through_json_and_reject_bad_ones() {
        let code = ReferralCode::generate(AccountKind::Couple, &ns("MMMM"), 2);
        let json = serde_json::to_string(&code).unwrap();
        assert_eq!(serde_json::from_str::<ReferralCode>(&json).unwrap(), code);
        assert!(serde_json::from_str::<ReferralCode>("\"LOVE-22222222222\"").is_err());
    }
}
