//! The credentials the built-in blocks verify and the token Issue Session signs: argon2 PHC
//! password hashes, RFC 6238 TOTP codes, and HS256 JWTs.

use base64::Engine as _;
use hmac::{KeyInit, Mac};

/// Verifies a password against an argon2 PHC string (`$argon2id$v=19$...`).
pub fn verify_password(password: &str, phc: &str) -> Result<bool, String> {
    use argon2::PasswordVerifier;
    let hash = argon2::password_hash::phc::PasswordHash::new(phc)
        .map_err(|e| format!("the stored password hash is not a PHC string: {e}"))?;
    Ok(argon2::Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .is_ok())
}

/// Hashes a password into an argon2id PHC string with the given salt (for `authflow hash`
/// and test data).
pub fn hash_password(password: &str, salt: &[u8]) -> Result<String, String> {
    use argon2::PasswordHasher;
    let hash: argon2::password_hash::phc::PasswordHash = argon2::Argon2::default()
        .hash_password_with_salt(password.as_bytes(), salt)
        .map_err(|e| e.to_string())?;
    Ok(hash.to_string())
}

/// Decodes RFC 4648 base32 (the alphabet of TOTP secrets), ignoring padding, spaces and case.
pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
    let mut bits: u64 = 0;
    let mut count = 0;
    let mut out = Vec::new();
    for c in text.chars().filter(|c| !matches!(c, '=' | ' ' | '-')) {
        let v = match c.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u64 - 'A' as u64,
            c @ '2'..='7' => c as u64 - '2' as u64 + 26,
            _ => return None,
        };
        bits = (bits << 5) | v;
        count += 5;
        if count >= 8 {
            count -= 8;
            out.push((bits >> count) as u8);
            bits &= (1 << count) - 1;
        }
    }
    Some(out)
}

/// The 6-digit TOTP code (SHA-1, 30 s steps) of `secret` at `unix_time`.
pub fn totp(secret: &[u8], unix_time: i64) -> String {
    hotp(secret, (unix_time.max(0) / 30) as u64)
}

fn hotp(secret: &[u8], counter: u64) -> String {
    let Ok(mut mac) = hmac::Hmac::<sha1::Sha1>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(&counter.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = (digest[digest.len() - 1] & 0x0f) as usize;
    let code = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!("{:06}", code % 1_000_000)
}

/// Whether `code` is the TOTP of `secret` at `unix_time`, allowing one step of clock drift.
pub fn verify_totp(secret: &[u8], code: &str, unix_time: i64) -> bool {
    let step = unix_time.max(0) / 30;
    (step.saturating_sub(1)..=step + 1)
        .any(|s| constant_time_eq(hotp(secret, s as u64).as_bytes(), code.trim().as_bytes()))
}

/// Whether two secrets are equal, in time that does not depend on where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Signs `claims` as a compact HS256 JWT.
pub fn sign_jwt(claims: &serde_json::Value, key: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = b64.encode(serde_json::to_vec(claims).unwrap_or_default());
    let signing_input = format!("{header}.{payload}");
    let signature = match hmac::Hmac::<sha2::Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(signing_input.as_bytes());
            b64.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    };
    format!("{signing_input}.{signature}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totp_matches_rfc_6238_test_vector() {
        // RFC 6238 appendix B, SHA-1 secret "12345678901234567890", T = 59 -> 94287082 (8 digits).
        let secret = b"12345678901234567890";
        assert_eq!(totp(secret, 59), "287082");
        assert_eq!(totp(secret, 1_111_111_109), "081804");
        assert!(verify_totp(secret, "287082", 59 + 30));
        assert!(!verify_totp(secret, "287082", 59 + 90));
    }

    #[test]
    fn base32_decodes_rfc_4648_vectors() {
        assert_eq!(base32_decode("MZXW6YTBOI======").unwrap(), b"foobar");
        assert_eq!(base32_decode("mzxw6ytb").unwrap(), b"fooba");
        assert!(base32_decode("not base32!").is_none());
    }

    #[test]
    fn passwords_verify_against_phc_strings() {
        let phc = hash_password("correct horse", b"saltsaltsalt1234").unwrap();
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &phc).unwrap());
        assert!(!verify_password("wrong", &phc).unwrap());
        assert!(verify_password("x", "not-a-hash").is_err());
    }

    #[test]
    fn jwt_has_three_parts_and_a_stable_signature() {
        let token = sign_jwt(&serde_json::json!({"sub": "usr_1"}), b"key");
        assert_eq!(token.split('.').count(), 3);
        assert_eq!(
            token,
            sign_jwt(&serde_json::json!({"sub": "usr_1"}), b"key")
        );
    }
}
