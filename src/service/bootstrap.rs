//! Start-up: database ready, catalog loaded, a first admin, and a JWT secret.

use std::path::Path;

use anyhow::Context;
use sea_orm::DatabaseConnection;

use super::auth::random_secret;
use super::users;
use crate::config::Settings;
use crate::domain::access::AccessRole;
use crate::domain::user::{NewUser, UserKind};
use crate::error::Error;
use crate::persistence;

/// Connects, migrates and seeds the clause catalog.
pub async fn database(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let url = settings.database_url();
    let db = persistence::connect(&url, settings.database.max_connections)
        .await
        .with_context(|| {
            format!(
                "connecting to the database (database.url = {})",
                redact(&url)
            )
        })?;
    persistence::migrate(&db)
        .await
        .context("applying migrations")?;
    persistence::seed_clauses(&db)
        .await
        .context("loading the clause catalog")?;
    Ok(db)
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
    match users::create(db, None, admin).await {
        Ok(_) => Ok(configured.is_empty().then_some(password)),
        // Another replica created it first.
        Err(Error::Domain(crate::domain::DomainError::Conflict(_))) => Ok(None),
        Err(e) => Err(anyhow::anyhow!(
            "creating the first admin (bootstrap.admin_password): {e}"
        )),
    }
}

/// The configured secret, or one generated once and kept under the data folder.
pub fn jwt_secret(settings: &Settings) -> anyhow::Result<Vec<u8>> {
    if !settings.auth.jwt_secret.is_empty() {
        return Ok(settings.auth.jwt_secret.as_bytes().to_vec());
    }
    let path = settings.server.data_dir.join("jwt_secret");
    if path.exists() {
        let secret = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let secret = secret.trim();
        anyhow::ensure!(
            secret.len() >= 32,
            "{} holds a secret shorter than 32 bytes",
            path.display()
        );
        return Ok(secret.as_bytes().to_vec());
    }
    write_secret(&path)
}

fn write_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let secret = random_secret();
    std::fs::write(path, &secret).with_context(|| format!("writing {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
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
}
