//! Webhook signatures as the Standard Webhooks specification defines them (issue 14), so
//! a receiver can check ours with that specification's published libraries: each request
//! carries `webhook-id`, `webhook-timestamp` (Unix seconds) and `webhook-signature:
//! v1,<base64 of HMAC-SHA256 over "{id}.{timestamp}.{body}">`, keyed by the subscription's
//! secret, shown to the operator once as `whsec_` + base64 of its bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

const SECRET_PREFIX: &str = "whsec_";
/// How far a signed timestamp may be from now, either way, before it is refused: the
/// specification's suggestion, which stops a captured request being replayed later.
pub const TOLERANCE_SECONDS: i64 = 5 * 60;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error("a webhook secret is `whsec_` followed by base64")]
    BadSecret,
    #[error("the webhook's timestamp is more than {TOLERANCE_SECONDS} seconds from now")]
    OutOfTolerance,
    #[error("no v1 signature in the header matches the body")]
    NoMatch,
}

/// A subscription's signing key.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(Vec<u8>);

impl std::fmt::Debug for WebhookSecret {
    // A secret never reaches a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(…)")
    }
}

impl WebhookSecret {
    /// A new random secret (24 bytes, as the specification's examples) and its text.
    pub fn generate() -> (Self, String) {
        let mut bytes = vec![0u8; 24];
        rand::thread_rng().fill_bytes(&mut bytes);
        let secret = Self(bytes);
        let text = secret.text();
        (secret, text)
    }

    /// The secret from its `whsec_…` text.
    pub fn parse(text: &str) -> Result<Self, SignatureError> {
        let encoded = text.strip_prefix(SECRET_PREFIX).ok_or(SignatureError::BadSecret)?;
        let bytes = BASE64.decode(encoded).map_err(|_| SignatureError::BadSecret)?;
        if bytes.is_empty() {
            return Err(SignatureError::BadSecret);
        }
        Ok(Self(bytes))
    }

    pub fn text(&self) -> String {
        format!("{SECRET_PREFIX}{}", BASE64.encode(&self.0))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The `webhook-signature` header's value for this message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", BASE64.encode(self.mac(id, timestamp, body).finalize().into_bytes()))
    }

    /// Checks a received message as a receiver would: the timestamp within tolerance of
    /// `now`, and one of the header's space-separated signatures (others' versions are
    /// skipped, so a key rotation can send two) matching, compared in constant time.
    pub fn verify(&self, id: &str, timestamp: i64, body: &[u8], header: &str, now: i64) -> Result<(), SignatureError> {
        if (now - timestamp).abs() > TOLERANCE_SECONDS {
            return Err(SignatureError::OutOfTolerance);
        }
        let matches = header
            .split_whitespace()
            .filter_map(|s| s.strip_prefix("v1,"))
            .filter_map(|s| BASE64.decode(s).ok())
            .any(|candidate| self.mac(id, timestamp, body).verify_slice(&candidate).is_ok());
        if matches { Ok(()) } else { Err(SignatureError::NoMatch) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The Standard Webhooks reference libraries' own example: the same secret, id,
    // timestamp and body must give the same signature here, or receivers' verifiers
    // would refuse every webhook we send.
    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    #[test]
    fn signs_as_the_specifications_example() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        assert_eq!(secret.sign(ID, TIMESTAMP, BODY), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert_eq!(secret.text(), SECRET);
    }

    #[test]
    fn verifies_what_it_signed_and_nothing_else() {
        let secret = WebhookSecret::parse(SECRET).unwrap();
        let header = secret.sign(ID, TIMESTAMP, BODY);
        assert_eq!(secret.verify(ID, TIMESTAMP, BODY, &header, TIMESTAMP + 10), Ok(()));
        // A rotation: an old key's signature first, ours second.
        let (other, _) = WebhookSecret::generate();
        let both = format!("{} {header}", other.sign(ID, TIMESTAMP, BODY));
        assert_eq!(secret.verify(ID, TIMESTAMP, BODY, &both, TIMESTAMP), Ok(()));
        assert_eq!(secret.verify(ID, TIMESTAMP, br#"{"test": 2432232315}"#, &header, TIMESTAMP), Err(SignatureError::NoMatch));
        assert_eq!(secret.verify("msg_other", TIMESTAMP, BODY, &header, TIMESTAMP), Err(SignatureError::NoMatch));
        assert_eq!(other.verify(ID, TIMESTAMP, BODY, &header, TIMESTAMP), Err(SignatureError::NoMatch));
        assert_eq!(secret.verify(ID, TIMESTAMP, BODY, &header.replace("v1,", "v2,"), TIMESTAMP), Err(SignatureError::NoMatch));
        // Replayed six minutes later, or stamped in the future.
        assert_eq!(secret.verify(ID, TIMESTAMP, BODY, &header, TIMESTAMP + 360), Err(SignatureError::OutOfTolerance));
        assert_eq!(secret.verify(ID, TIMESTAMP, BODY, &header, TIMESTAMP - 360), Err(SignatureError::OutOfTolerance));
    }

    #[test]
    fn secrets_round_trip_and_bad_ones_are_refused() {
        let (secret, text) = WebhookSecret::generate();
        assert!(text.starts_with("whsec_"));
        assert_eq!(WebhookSecret::parse(&text).unwrap(), secret);
        assert_ne!(WebhookSecret::generate().1, text, "each secret is new");
        for bad in ["MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_", "whsec_not base64!", "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"] {
            assert_eq!(WebhookSecret::parse(bad), Err(SignatureError::BadSecret), "{bad}");
        }
        assert_eq!(format!("{secret:?}"), "WebhookSecret(…)");
    }
}
