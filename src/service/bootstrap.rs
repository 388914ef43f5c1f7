//! Start-up: database ready, catalog loaded, a first admin, and a JWT secret.

use std::path::Path;

use anyhow::Context;
use sea_orm::DatabaseConnection;

use super::audit_trail::{self, ChainKey};
use super::auth::{SigningKeys, random_secret};
use super::{Caller, users};
use crate::clock::Clock;
use crate::config::{JwtAlgorithm, Settings};
use crate::domain::access::AccessRole;
use crate::domain::user::{NewUser, UserKind};
use crate::error::Error;
use crate::persistence;

/// Connects, migrates and seeds the clause catalog.
pub async fn database(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let url = settings.database_url();
    let db = persistence::connect(&url, &settings.database)
        .await
        .with_context(|| {
            format!(
                "connecting to the database (database.url = {})",
                redact(&url)
            )
        })?;
    persistence::migrate(&db)
        .await
        .context("applying migrations and loading the clause catalog")?;
    Ok(db)
}

/// The audit trail's key from `audit.hmac_key` or `audit.hmac_key_file`, if one is set.
pub fn audit_key(settings: &Settings) -> anyhow::Result<Option<ChainKey>> {
    let audit = &settings.audit;
    let secret = if !audit.hmac_key.is_empty() {
        audit.hmac_key.as_bytes().to_vec()
    } else if !audit.hmac_key_file.is_empty() {
        let text = std::fs::read_to_string(&audit.hmac_key_file)
            .with_context(|| format!("reading {} (audit.hmac_key_file)", audit.hmac_key_file))?;
        text.trim().as_bytes().to_vec()
    } else {
        return Ok(None);
    };
    ChainKey::new(&secret)
        .map(Some)
        .map_err(|e| anyhow::anyhow!("invalid configuration: audit.hmac_key: {e}"))
}

/// Readies the audit trail for appending with the configured key (see
/// `audit_trail::prepare`); returns the key for verification.
pub async fn audit_chain(
    db: &DatabaseConnection,
    settings: &Settings,
) -> anyhow::Result<Option<ChainKey>> {
    let key = audit_key(settings)?;
    audit_trail::prepare(db, key.as_ref())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(key)
}

/// Hides a password in a database URL.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// Creates the first admin when there are no users. Returns the generated password, if any,
/// so it can be shown once.
pub async fn first_admin(
    db: &DatabaseConnection,
    settings: &Settings,
) -> anyhow::Result<Option<String>> {
    if users::count(db).await? > 0 {
        return Ok(None);
    }
    let configured = settings.bootstrap.admin_password.clone();
    let password = if configured.is_empty() {
        random_secret()
    } else {
        configured.clone()
    };
    let admin = NewUser {
        email: settings.bootstrap.admin_email.clone(),
        display_name: "Administrator".into(),
        kind: UserKind::Person,
        roles: vec![AccessRole::Admin],
        password: Some(password.clone()),
    };
    match users::create(db, &Caller::service(Clock::default().now()), admin).await {
        Ok(_) => Ok(configured.is_empty().then_some(password)),
        // Another replica created it first.
        Err(Error::Domain(crate::domain::DomainError::Conflict(_))) => Ok(None),
        Err(e) => Err(anyhow::anyhow!(
            "creating the first admin (bootstrap.admin_password): {e}"
        )),
    }
}

/// The keys that sign and check access tokens: a key pair read from the configured PEM
/// files, or the HS256 secret.
pub fn signing_keys(settings: &Settings) -> anyhow::Result<SigningKeys> {
    let auth = &settings.auth;
    if auth.jwt_algorithm == JwtAlgorithm::HS256 {
        return Ok(SigningKeys::hs256(&jwt_secret(settings)?));
    }
    let read = |key: &str, path: &str| {
        std::fs::read(path).with_context(|| format!("reading {path} (auth.{key})"))
    };
    let private_pem = read("jwt_private_key_file", &auth.jwt_private_key_file)?;
    let public_pem = read("jwt_public_key_file", &auth.jwt_public_key_file)?;
    SigningKeys::key_pair(auth.jwt_algorithm, &private_pem, &public_pem)
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
}

/// The configured secret, or one generated once and kept under the data folder.
pub fn jwt_secret(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if !settings.auth.jwt_secret.is_empty() {
        return Ok(settings.auth.jwt_secret.as_bytes().to_vec());
    }
    let path = settings.server.data_dir.join("jwt_secret");
    if path.exists() {
        return read_secret(&path);
    }
    write_secret(&path)
}

fn read_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    let secret =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let secret = secret.trim();
    anyhow::ensure!(
        secret.len() >= 32,
        "{} holds a secret shorter than 32 bytes",
        path.display()
    );
    Ok(secret.as_bytes().to_vec())
}

/// Creates the secret file, readable by the owner only from the moment it exists, and never
/// over an existing one: if another process created it first, its secret is used.
fn write_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Write;

    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return read_secret(path),
        Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
    };
    let secret = random_secret();
    if let Err(e) = file
        .write_all(secret.as_bytes())
        .and_then(|()| file.sync_all())
    {
        drop(file);
        // Leave no half-written secret behind for the next start.
        let _ = std::fs::remove_file(path);
        return Err(e).with_context(|| format!("writing {}", path.display()));
    }
    Ok(secret.into_bytes())
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_passwords() {
        assert_eq!(
            super::redact("postgres://u:secret@db/x"),
            "postgres://***@db/x"
        );
        assert_eq!(
            super::redact("sqlite://./data/x.db"),
            "sqlite://./data/x.db"
        );
    }

    #[test]
    fn the_secret_file_is_private_and_new() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested").join("jwt_secret");
        let secret = super::write_secret(&path).unwrap();
        assert!(secret.len() >= 32);
        assert_eq!(std::fs::read(&path).unwrap(), secret);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        }
    }

    #[test]
    fn an_existing_secret_file_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("jwt_secret");
        let existing = "a-secret-another-replica-wrote-0123456789";
        std::fs::write(&path, existing).unwrap();
        assert_eq!(super::write_secret(&path).unwrap(), existing.as_bytes());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), existing);
    }
}
