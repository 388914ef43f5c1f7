//! Password hashing (argon2id), kept off the async workers, at most one hash per core, in
//! work memory that is reused rather than allocated for every hash.

use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use argon2::password_hash::{Output, ParamsString, PasswordHash, Salt, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::{Error, Result};

/// OWASP: argon2id, 19 MiB, 2 iterations, 1 lane.
fn params() -> Params {
    Params::new(19_456, 2, 1, None).expect("valid argon2 parameters")
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

/// A turn at argon2 work; login holds it across its throttle check too, so at most one
/// check per core is ever in flight.
pub(super) async fn permit() -> Result<OwnedSemaphorePermit> {
    argon2_permits()
        .clone()
        .acquire_owned()
        .await
        .map_err(|e| Error::Internal(format!("argon2 permits: {e}")))
}

/// Runs argon2 work on the blocking pool. The permit moves into the task, so it is held
/// until the work ends even when the request is abandoned.
async fn run_argon2<T: Send + 'static>(
    permit: OwnedSemaphorePermit,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        work()
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))
}

/// Argon2 work memory, kept for the next hash. Allocating and freeing 19 MiB per hash leaves
/// glibc holding the freed buffers in per-thread arenas, so resident memory grew with every
/// burst of logins. With the permits, at most one buffer per core is ever in use, so this
/// holds at most that many.
static BLOCKS: Mutex<Vec<Vec<Block>>> = Mutex::new(Vec::new());

/// Runs `work` on `count` blocks: pooled ones for the configured cost, fresh ones for a
/// stored hash made with another cost.
fn with_blocks<T>(count: usize, work: impl FnOnce(&mut [Block]) -> T) -> T {
    let standard = params().block_count();
    let pooled = if count == standard {
        BLOCKS.lock().unwrap_or_else(PoisonError::into_inner).pop()
    } else {
        None
    };
    let mut blocks = pooled.unwrap_or_else(|| vec![Block::default(); count]);
    let result = work(&mut blocks);
    if blocks.len() == standard {
        BLOCKS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(blocks);
    }
    result
}

/// A PHC string (`$argon2id$v=19$m=…`) for `password` with a new random salt.
fn hash_now(password: &[u8]) -> std::result::Result<String, String> {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    let params = params();
    let mut salt_buf = [0u8; Salt::MAX_LENGTH];
    let salt_bytes = salt.decode_b64(&mut salt_buf).map_err(|e| e.to_string())?;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    with_blocks(params.block_count(), |blocks| {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params.clone())
            .hash_password_into_with_memory(password, salt_bytes, &mut out, blocks)
    })
    .map_err(|e| e.to_string())?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(&params).map_err(|e| e.to_string())?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&out).map_err(|e| e.to_string())?),
    };
    Ok(hash.to_string())
}

/// Whether `password` matches the PHC string `stored`, with the algorithm, version and cost
/// the string names; the comparison takes constant time.
fn matches(password: &[u8], stored: &str) -> bool {
    let Ok(hash) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(hash.algorithm),
        Params::try_from(&hash),
        hash.salt,
        hash.hash,
    ) else {
        return false;
    };
    let Ok(version) = hash.version.map_or(Ok(Version::V0x13), Version::try_from) else {
        return false;
    };
    let mut salt_buf = [0u8; Salt::MAX_LENGTH];
    let Ok(salt_bytes) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let computed = with_blocks(params.block_count(), |blocks| {
        Argon2::new(algorithm, version, params.clone())
            .hash_password_into_with_memory(password, salt_bytes, &mut out, blocks)
    });
    computed.is_ok() && Output::new(&out).is_ok_and(|o| o == expected)
}

/// Hashes a password off the async workers.
pub async fn hash_password(password: String) -> Result<String> {
    run_argon2(permit().await?, move || hash_now(password.as_bytes()))
        .await?
        .map_err(|e| Error::Internal(format!("hashing a password: {e}")))
}

/// Checks a password off the async workers, using the caller's permit. With no stored hash
/// it checks against a dummy, so an unknown account takes as long as a wrong password.
pub(super) async fn verify_password(
    permit: OwnedSemaphorePermit,
    password: String,
    stored: Option<String>,
) -> Result<bool> {
    run_argon2(permit, move || {
        static DUMMY: OnceLock<String> = OnceLock::new();
        let dummy = DUMMY.get_or_init(|| hash_now(b"not a password").expect("hashing works"));
        match stored {
            Some(hash) => matches(password.as_bytes(), &hash),
            None => {
                std::hint::black_box(matches(password.as_bytes(), dummy));
                false
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::{PasswordHasher, PasswordVerifier};

    use super::*;

    #[test]
    fn hashes_are_standard_argon2id_strings() {
        let ours = hash_now(b"a long password").unwrap();
        assert!(
            ours.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{ours}"
        );
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"a long password", &parsed)
                .is_ok()
        );
        assert!(matches(b"a long password", &ours));
        assert!(!matches(b"another password", &ours));
        assert_ne!(ours, hash_now(b"a long password").unwrap(), "salted");
    }

    #[test]
    fn hashes_made_elsewhere_and_with_other_costs_are_checked() {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let cheap = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(1024, 1, 1, None).unwrap(),
        );
        let theirs = cheap
            .hash_password(b"pw-123456", &salt)
            .unwrap()
            .to_string();
        assert!(matches(b"pw-123456", &theirs));
        assert!(!matches(b"pw-1234567", &theirs));
        assert!(!matches(b"pw-123456", "not a hash"));
    }
}
