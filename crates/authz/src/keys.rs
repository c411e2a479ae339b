//! Signing keys: a set chosen by `kid`, each parsed once when it is loaded.
//!
//! Tokens are signed here rather than through `jsonwebtoken::encode`, because
//! that function parses the DER private key again for every signature, which
//! costs more than the signature itself on the token endpoint's hot path. A
//! compact JWS (RFC 7515 section 7.1) is three base64url parts joined by dots,
//! so the hand-written part is small; verification, where the claim checks
//! live, stays with `jsonwebtoken` on the API's side.
//!
//! The key id is the JWK thumbprint of the public key (RFC 7638), so the same
//! key always has the same `kid` and a new key never collides with an old one.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair, RSA_PKCS1_SHA256, RsaKeyPair, RsaPublicKeyComponents};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The file, inside the data directory, that holds the private signing key.
pub const KEY_FILE: &str = "signing-key.pem";

const PEM_TAG: &str = "PRIVATE KEY";

/// Why a key could not be loaded, created or used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("reading signing key {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing signing key {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("signing key {path} is readable by other users (mode {mode:o}); run chmod 600 on it")]
    Permissions { path: PathBuf, mode: u32 },
    #[error("signing key {path} is not a PKCS#8 RSA private key in PEM: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error("generating an RSA key failed")]
    Generate,
    #[error("signing failed")]
    Sign,
}

/// One RS256 signing key with its public half as a JWK.
pub struct SigningKey {
    kid: String,
    pair: RsaKeyPair,
    jwk: Jwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

/// A public key as published in the JWKS (RFC 7517 section 4, RFC 7518
/// section 6.3.1).
#[derive(Debug, Clone, Serialize)]
pub struct Jwk {
    pub kty: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub alg: &'static str,
    pub kid: String,
    pub n: String,
    pub e: String,
}

/// The document served at `/.well-known/jwks.json`.
#[derive(Debug, Clone, Serialize)]
pub struct JwkSet {
    pub keys: Vec<Jwk>,
}

impl SigningKey {
    /// Generates a new RSA-2048 key.
    pub fn generate() -> Result<(Self, Vec<u8>), KeyError> {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate)?;
        let der = pair
            .as_der()
            .map_err(|_| KeyError::Generate)?
            .as_ref()
            .to_vec();
        Ok((Self::from_pair(pair), der))
    }

    /// Parses a PKCS#8 DER private key.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, String> {
        let pair = RsaKeyPair::from_pkcs8(der).map_err(|e| e.to_string())?;
        Ok(Self::from_pair(pair))
    }

    fn from_pair(pair: RsaKeyPair) -> Self {
        let public = RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
        let n = URL_SAFE_NO_PAD.encode(&public.n);
        let e = URL_SAFE_NO_PAD.encode(&public.e);
        let kid = thumbprint(&n, &e);
        let jwk = Jwk {
            kty: "RSA",
            use_: "sig",
            alg: "RS256",
            kid: kid.clone(),
            n,
            e,
        };
        Self { kid, pair, jwk }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// Signs `claims` as a compact JWS with header `{"alg":"RS256",
    /// "typ":"at+jwt","kid":...}`; `at+jwt` is the type RFC 9068 section 2.1
    /// gives access tokens, so they cannot be mistaken for other JWTs.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let header = serde_json::json!({ "alg": "RS256", "typ": "at+jwt", "kid": self.kid });
        let header = serde_json::to_vec(&header).map_err(|_| KeyError::Sign)?;
        let claims = serde_json::to_vec(claims).map_err(|_| KeyError::Sign)?;

        let mut token = URL_SAFE_NO_PAD.encode(header);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(claims, &mut token);

        let mut signature = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                token.as_bytes(),
                &mut signature,
            )
            .map_err(|_| KeyError::Sign)?;
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(signature, &mut token);
        Ok(token)
    }
}

/// RFC 7638 section 3: SHA-256 over the required members in lexical order,
/// with no whitespace.
fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

/// The keys an issuer signs with and publishes. New tokens are signed with
/// the active key; every key in the set is published so that tokens signed
/// by an older one still verify until they expire.
#[derive(Debug)]
pub struct KeySet {
    keys: Vec<SigningKey>,
}

impl KeySet {
    /// Loads the key in `dir`, creating it (mode 0600) on first start.
    pub fn load_or_create(dir: &Path) -> Result<Self, KeyError> {
        let path = dir.join(KEY_FILE);
        let key = if path.exists() {
            load(&path)?
        } else {
            create(&path)?
        };
        Ok(Self { keys: vec![key] })
    }

    /// A set of the given keys; the first is the active one.
    pub fn new(keys: Vec<SigningKey>) -> Option<Self> {
        (!keys.is_empty()).then_some(Self { keys })
    }

    /// The key new tokens are signed with.
    pub fn active(&self) -> &SigningKey {
        &self.keys[0]
    }

    /// The public keys, as served at `/.well-known/jwks.json`.
    pub fn jwks(&self) -> JwkSet {
        JwkSet {
            keys: self.keys.iter().map(|k| k.jwk().clone()).collect(),
        }
    }
}

fn load(path: &Path) -> Result<SigningKey, KeyError> {
    let read_err = |source| KeyError::Read {
        path: path.to_owned(),
        source,
    };
    let mode = fs::metadata(path).map_err(read_err)?.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(KeyError::Permissions {
            path: path.to_owned(),
            mode: mode & 0o777,
        });
    }
    let text = fs::read(path).map_err(read_err)?;
    let format_err = |reason: String| KeyError::Format {
        path: path.to_owned(),
        reason,
    };
    let block = pem::parse(text).map_err(|e| format_err(e.to_string()))?;
    if block.tag() != PEM_TAG {
        return Err(format_err(format!("the PEM block is {:?}", block.tag())));
    }
    SigningKey::from_pkcs8(block.contents()).map_err(format_err)
}

fn create(path: &Path) -> Result<SigningKey, KeyError> {
    let (key, der) = SigningKey::generate()?;
    let text = pem::encode(&pem::Pem::new(PEM_TAG, der));
    let write_err = |source| KeyError::Write {
        path: path.to_owned(),
        source,
    };
    // Written whole to a private temporary file beside it, then linked into
    // place only if no key appeared meanwhile: a crash mid-write leaves no
    // half key that would stop every later start.
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut file = tempfile::NamedTempFile::new_in(dir).map_err(write_err)?;
    file.as_file()
        .set_permissions(fs::Permissions::from_mode(0o600))
        .map_err(write_err)?;
    file.write_all(text.as_bytes()).map_err(write_err)?;
    file.as_file().sync_all().map_err(write_err)?;
    file.persist_noclobber(path)
        .map_err(|e| write_err(e.error))?;
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(write_err)?;
    tracing::info!(kid = key.kid(), path = %path.display(), "created a new signing key");
    Ok(key)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_key_is_created_private_and_loaded_back_with_the_same_kid() {
        let dir = std::env::temp_dir().join(format!("authz-keys-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let _ = fs::remove_file(dir.join(KEY_FILE));

        let first = KeySet::load_or_create(&dir).unwrap();
        let second = KeySet::load_or_create(&dir).unwrap();

        let mode = fs::metadata(dir.join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(first.active().kid(), second.active().kid());
        assert_eq!(first.jwks().keys[0].e, "AQAB");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_token_has_three_parts_and_names_its_key() {
        let (key, _) = SigningKey::generate().unwrap();

        let token = key.sign(&serde_json::json!({ "sub": "x" })).unwrap();

        let parts: Vec<&str> = token.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: serde_json::Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["kid"], key.kid());
        assert_eq!(header["alg"], "RS256");
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 256);
    }
}
