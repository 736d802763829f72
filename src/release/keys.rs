//! Release signing keys: Ed25519 (RFC 8032) through ed25519-dalek.
//!
//! Text forms, both one line: a public key is `ed25519:` followed by the standard base64 of
//! its 32 bytes; a private key is `ed25519-secret:` followed by the base64 of its 32-byte
//! seed. The private key lives only in a declared secret (`AUTHFLOW_SECRET_<NAME>` or
//! `.authflow/secrets.yaml`), never in a workspace file.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

const PUBLIC_PREFIX: &str = "ed25519:";
const SECRET_PREFIX: &str = "ed25519-secret:";

/// A public key, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

/// A private key, parsed.
pub struct PrivateKey(SigningKey);

/// Why a key or signature could not be used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

fn decode32(text: &str, what: &str) -> Result<[u8; 32], KeyError> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|e| KeyError(format!("{what} is not valid base64: {e}")))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| KeyError(format!("{what} has {} bytes, not 32", b.len())))
}

impl PublicKey {
    /// Parses `ed25519:<base64>`.
    pub fn parse(text: &str) -> Result<PublicKey, KeyError> {
        let text = text.trim();
        let Some(body) = text.strip_prefix(PUBLIC_PREFIX) else {
            return Err(KeyError(format!(
                "a public key starts with `{PUBLIC_PREFIX}` (as `authflow keygen` prints it)"
            )));
        };
        let bytes = decode32(body, "the public key")?;
        VerifyingKey::from_bytes(&bytes)
            .map(PublicKey)
            .map_err(|_| KeyError("the public key is not a valid Ed25519 point".into()))
    }

    /// Checks `signature` (64 bytes) over `message` with strict RFC 8032 verification
    /// (canonical encodings only, no small-order keys).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), KeyError> {
        let bytes: [u8; 64] = signature.try_into().map_err(|_| {
            KeyError(format!(
                "a signature has 64 bytes, this one {}",
                signature.len()
            ))
        })?;
        self.0
            .verify_strict(message, &Signature::from_bytes(&bytes))
            .map_err(|_| KeyError("the signature does not match".into()))
    }

    pub fn bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
}

impl std::fmt::Display for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{PUBLIC_PREFIX}{}", STANDARD.encode(self.0.to_bytes()))
    }
}

impl PrivateKey {
    /// A fresh key from the operating system's random source.
    pub fn generate() -> Result<PrivateKey, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)
            .map_err(|e| KeyError(format!("no randomness for a key: {e}")))?;
        Ok(PrivateKey(SigningKey::from_bytes(&seed)))
    }

    /// Parses `ed25519-secret:<base64 seed>`.
    pub fn parse(text: &str) -> Result<PrivateKey, KeyError> {
        let Some(body) = text.trim().strip_prefix(SECRET_PREFIX) else {
            return Err(KeyError(format!(
                "a private key starts with `{SECRET_PREFIX}` (as `authflow keygen` writes it)"
            )));
        };
        Ok(PrivateKey(SigningKey::from_bytes(&decode32(
            body,
            "the private key",
        )?)))
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    /// The 64-byte signature of `message`.
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }

    /// The text form, for the secret store.
    pub fn to_text(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(self.0.to_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_sign() {
        let key = PrivateKey::generate().unwrap();
        let again = PrivateKey::parse(&key.to_text()).unwrap();
        assert_eq!(key.public(), again.public());
        let public = PublicKey::parse(&key.public().to_string()).unwrap();
        let signature = key.sign(b"manifest");
        assert!(public.verify(b"manifest", &signature).is_ok());
        assert!(public.verify(b"manifesT", &signature).is_err());
        let other = PrivateKey::generate().unwrap().public();
        assert!(other.verify(b"manifest", &signature).is_err());
    }

    #[test]
    fn malformed_keys_say_why() {
        assert!(PublicKey::parse("AAAA").unwrap_err().0.contains("ed25519:"));
        assert!(
            PublicKey::parse("ed25519:AAAA")
                .unwrap_err()
                .0
                .contains("3 bytes")
        );
        assert!(PrivateKey::parse("ed25519:AAAA").is_err());
    }
}
