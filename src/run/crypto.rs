//! The credentials the built-in blocks verify and the token Issue Session signs: argon2 PHC
//! password hashes, RFC 6238 TOTP codes, and HS256 JWTs.
//!
//! Password hashes come from users.yaml and event files, so their costs are hostile input:
//! [`ARGON2_CAPS`] bounds them before any hashing starts.

use base64::Engine as _;
use hmac::{KeyInit, Mac};

/// The largest argon2 costs authflow verifies. OWASP's recommendation (m=19456, t=2, p=1) and
/// RFC 9106's second recommended option (m=65536, t=3, p=4) fit; one verification at the caps
/// needs 64 MiB and about a second, never more.
pub struct Argon2Caps {
    /// Memory, in KiB (`m`).
    pub memory_kib: u32,
    /// Passes over memory (`t`).
    pub iterations: u32,
    /// Lanes (`p`).
    pub parallelism: u32,
    /// Hash output, in bytes.
    pub output_bytes: usize,
}

pub const ARGON2_CAPS: Argon2Caps = Argon2Caps {
    memory_kib: 65536,
    iterations: 10,
    parallelism: 16,
    output_bytes: 64,
};

/// How to fix a password hash that `check_password_hash` refuses.
pub const PASSWORD_HASH_HELP: &str = "make a new hash with `authflow hash-password`; authflow verifies argon2 PHC strings with m <= 65536 (KiB), t <= 10, p <= 16";

/// The public key Issue Session signs with when the workspace configures none (or its
/// `session.signing_secret` has no value). It is in the source code and the README: tokens
/// signed with it prove nothing. HS256 needs a key of at least 32 bytes (RFC 7518, 3.2).
pub const SIMULATION_SIGNING_KEY: &[u8] = b"authflow public simulation key: not a secret";

/// The shortest HS256 key authflow signs with (RFC 7518, section 3.2: the hash's size).
pub const MIN_SIGNING_KEY_BYTES: usize = 32;

/// Parses a PHC string and checks that authflow can verify it within [`ARGON2_CAPS`].
fn parse_password_hash(
    phc: &str,
) -> Result<
    (
        argon2::password_hash::phc::PasswordHash,
        argon2::Params,
        argon2::Algorithm,
    ),
    String,
> {
    let hash = argon2::password_hash::phc::PasswordHash::new(phc)
        .map_err(|e| format!("the password hash is not a PHC string ({e})"))?;
    let algorithm = argon2::Algorithm::try_from(hash.algorithm.as_str()).map_err(|_| {
        format!(
            "the password hash uses `{}`; authflow verifies argon2id, argon2i and argon2d",
            hash.algorithm
        )
    })?;
    let params = argon2::Params::try_from(&hash)
        .map_err(|e| format!("the password hash has invalid argon2 parameters ({e})"))?;
    let caps = &ARGON2_CAPS;
    let over = |name: &str, value: u64, cap: u64| {
        (value > cap).then(|| {
            format!("the password hash's argon2 `{name}={value}` is above authflow's cap of {cap}")
        })
    };
    if let Some(problem) = over("m", params.m_cost().into(), caps.memory_kib.into())
        .or_else(|| over("t", params.t_cost().into(), caps.iterations.into()))
        .or_else(|| over("p", params.p_cost().into(), caps.parallelism.into()))
        .or_else(|| {
            over(
                "output length",
                params.output_len().unwrap_or(0) as u64,
                caps.output_bytes as u64,
            )
        })
    {
        return Err(problem);
    }
    Ok((hash, params, algorithm))
}

/// Whether authflow can verify `phc` (a PHC string within [`ARGON2_CAPS`]), without hashing.
pub fn check_password_hash(phc: &str) -> Result<(), String> {
    parse_password_hash(phc).map(|_| ())
}

/// Whether `secret` is a usable TOTP secret: base32 of at least 128 bits (RFC 4226, 4).
pub fn check_totp_secret(secret: &str) -> Result<(), String> {
    match base32_decode(secret) {
        None => Err("the TOTP secret is not base32".into()),
        Some(bytes) if bytes.len() < 16 => Err(format!(
            "the TOTP secret has {} bits; RFC 4226 requires at least 128",
            bytes.len() * 8
        )),
        Some(_) => Ok(()),
    }
}

/// Verifies a password against an argon2 PHC string (`$argon2id$v=19$...`). A hash whose
/// costs exceed [`ARGON2_CAPS`] is an error, and nothing is hashed.
pub fn verify_password(password: &str, phc: &str) -> Result<bool, String> {
    use argon2::PasswordVerifier;
    let (hash, params, algorithm) = parse_password_hash(phc)?;
    let version = hash
        .version
        .map(argon2::Version::try_from)
        .transpose()
        .map_err(|e| format!("the password hash has an unknown argon2 version ({e})"))?
        .unwrap_or_default();
    Ok(argon2::Argon2::new(algorithm, version, params)
        .verify_password(password.as_bytes(), &hash)
        .is_ok())
}

/// The password verifications one test run has already done, kept by a SHA-256 digest of
/// (hash, password): a suite checks the same test password against the same hash in case after
/// case, and argon2 is slow on purpose, so each pair is hashed once per run. It keeps digests
/// and answers only, never a password, and at most [`VerifiedPasswords::CAPACITY`] of them.
/// A verification is a pure function of the pair, so a remembered answer is the answer.
#[derive(Debug, Default)]
pub struct VerifiedPasswords {
    known: std::sync::Mutex<std::collections::HashMap<[u8; 32], bool>>,
}

impl VerifiedPasswords {
    /// The most pairs remembered; past it the memory starts over.
    pub const CAPACITY: usize = 4096;

    /// [`verify_password`], hashing only pairs this run has not verified yet. Refused hashes
    /// are not remembered (refusing one costs no hashing).
    pub fn verify(&self, password: &str, phc: &str) -> Result<bool, String> {
        use sha2::Digest;
        let mut digest = sha2::Sha256::new();
        digest.update((phc.len() as u64).to_le_bytes());
        digest.update(phc.as_bytes());
        digest.update(password.as_bytes());
        let key: [u8; 32] = digest.finalize().into();
        let known = |key: &[u8; 32]| {
            self.known
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .get(key)
                .copied()
        };
        if let Some(answer) = known(&key) {
            return Ok(answer);
        }
        // Hashed without the lock: cases on other threads keep going meanwhile.
        let answer = verify_password(password, phc)?;
        let mut known = self
            .known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if known.len() >= Self::CAPACITY {
            known.clear();
        }
        known.insert(key, answer);
        Ok(answer)
    }
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
    fn remembered_verifications_answer_as_fresh_ones() {
        let memo = VerifiedPasswords::default();
        let first = hash_password("correct horse", b"saltsaltsalt1234").unwrap();
        let second = hash_password("battery staple", b"saltsaltsalt5678").unwrap();
        for _ in 0..2 {
            for (password, phc) in [
                ("correct horse", &first),
                ("battery staple", &first),
                ("correct horse", &second),
                ("battery staple", &second),
            ] {
                assert_eq!(
                    memo.verify(password, phc),
                    verify_password(password, phc),
                    "{password} against {phc}"
                );
            }
        }
        assert!(memo.verify("correct horse", "not-a-hash").is_err());
    }

    #[test]
    fn hostile_argon2_costs_are_refused_before_hashing() {
        let salt = "c2FsdHNhbHRzYWx0MTIzNA";
        let out = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        for (params, cap) in [
            ("m=4096,t=4294967295,p=1", "t=4294967295"),
            ("m=1048576,t=1,p=1", "m=1048576"),
            ("m=4096,t=1,p=255", "p=255"),
        ] {
            let phc = format!("$argon2id$v=19${params}${salt}${out}");
            // Uncapped, the first would hash for days and the second take 1 GiB: refused
            // before any hashing, so the test finishes at all.
            let error = verify_password("pw", &phc).unwrap_err();
            assert!(error.contains(cap), "{error}");
            assert!(check_password_hash(&phc).is_err());
        }
        let ok = hash_password("pw", b"saltsaltsalt1234").unwrap();
        assert!(check_password_hash(&ok).is_ok());
        assert!(check_password_hash("$scrypt$ln=16,r=8,p=1$aGVsbG8$aGVsbG8").is_err());
    }

    #[test]
    fn totp_secrets_need_128_bits_of_base32() {
        assert!(check_totp_secret("JBSWY3DPEHPK3PXP").is_err(), "80 bits");
        assert!(check_totp_secret("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ").is_ok());
        assert!(check_totp_secret("not base32!").is_err());
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
