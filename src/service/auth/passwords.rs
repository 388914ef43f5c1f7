//! Password hashing (argon2id), kept off the async workers and bounded to one hash per core.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};

fn argon2() -> Argon2<'static> {
    // OWASP: argon2id, 19 MiB, 2 iterations, 1 lane.
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19_456, 2, 1, None).expect("valid argon2 parameters"),
    )
}

/// Bounds the argon2 work running at once (each check takes ~19 MiB and a core), so a burst
/// of logins queues instead of exhausting memory and the blocking thread pool.
fn argon2_permits() -> &'static Arc<Semaphore> {
    static PERMITS: OnceLock<Arc<Semaphore>> = OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Arc::new(Semaphore::new(cores))
    })
}

/// Runs argon2 work on the blocking pool once a permit is free. The permit moves into the
/// task, so it is held until the work ends even when the request is abandoned.
async fn run_argon2<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    let permit = argon2_permits()
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| Error::Internal(format!("argon2 permits: {e}")))?;
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))
}

/// Hashes a password off the async workers.
pub async fn hash_password(password: String) -> Result<String> {
    run_argon2(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("hashing a password: {e}")))
    })
    .await?
}

/// Checks a password off the async workers. With no stored hash it checks against a dummy,
/// so an unknown account takes as long as a wrong password.
pub(super) async fn verify_password(password: String, stored: Option<String>) -> Result<bool> {
    run_argon2(move || {
        static DUMMY: OnceLock<String> = OnceLock::new();
        let dummy = DUMMY.get_or_init(|| {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            argon2()
                .hash_password(b"not a password", &salt)
                .expect("hashing works")
                .to_string()
        });
        let known = stored.is_some();
        let hash_text = stored.unwrap_or_else(|| dummy.clone());
        let Ok(hash) = PasswordHash::new(&hash_text) else {
            return false;
        };
        argon2().verify_password(password.as_bytes(), &hash).is_ok() && known
    })
    .await
}
