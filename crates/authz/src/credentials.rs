//! Client credentials: how ids and secrets are made, stored and checked.
//!
//! A secret is 384 random bits, so it cannot be guessed and a plain SHA-256
//! of it is as safe to store as a slow password hash would be; a slow hash
//! (argon2, bcrypt) only pays off for secrets a person chose, and here it
//! would cost milliseconds on every token request for nothing.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng;
use rand::distr::Alphanumeric;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Length of a generated client id, in characters (as long as Auth0's).
const CLIENT_ID_LEN: usize = 32;

/// Random bytes in a generated secret: 384 bits, 64 base64url characters.
const SECRET_BYTES: usize = 48;

/// The SHA-256 of a client secret, the only form in which it is stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash(pub [u8; 32]);

impl std::fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretHash(..)")
    }
}

impl SecretHash {
    pub fn of(secret: &SecretString) -> Self {
        Self(Sha256::digest(secret.expose_secret().as_bytes()).into())
    }

    /// Whether `secret` hashes to this value, in constant time.
    pub fn matches(&self, secret: &SecretString) -> bool {
        Self::of(secret).0.ct_eq(&self.0).into()
    }
}

/// A new client id: 32 letters and digits.
pub fn new_client_id() -> String {
    rand::rng()
        .sample_iter(Alphanumeric)
        .take(CLIENT_ID_LEN)
        .map(char::from)
        .collect()
}

/// A new client secret from the operating system's random source.
pub fn new_client_secret() -> SecretString {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill(&mut bytes);
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_matches_its_own_hash_and_no_other() {
        let secret = new_client_secret();
        let other = new_client_secret();

        let hash = SecretHash::of(&secret);

        assert!(hash.matches(&secret));
        assert!(!hash.matches(&other));
        assert_eq!(secret.expose_secret().len(), 64);
    }

    #[test]
    fn client_ids_are_32_alphanumeric_characters() {
        let id = new_client_id();

        assert_eq!(id.len(), 32);
        assert!(id.chars().all(|c| c.is_ascii_alphanumeric()));
    }
}
