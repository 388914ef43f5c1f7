//! Authentication: passwords (argon2id), access tokens (JWT), rotating refresh tokens,
//! API keys for service accounts, and login throttling kept in the database (so it holds
//! across replicas).

mod api_keys;
mod passwords;
mod sessions;
mod throttle;
mod tokens;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub use api_keys::exchange_api_key;
pub use passwords::hash_password;
pub use sessions::{TokenPair, login, logout, refresh, revoke_all_sessions};
pub use tokens::{Auth, Claims, SigningKeys};

/// A new random secret: 32 bytes, URL-safe base64.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}
