//! Users of the service: people and service accounts.

use super::DomainError;
use super::access::AccessRole;
use super::validation::{Validator, dedup};
use crate::{editable_fields, text_enum};

editable_fields! {
    /// The fields of a user an admin may change.
    pub struct UserFields / UserPatch {
        #[schema(min_length = 1, max_length = 120)]
        display_name: String,
        #[schema(max_items = 5)]
        roles: Vec<AccessRole>,
        /// Deactivating a user ends their sessions.
        active: bool,
    }
}

/// Normalizes a user's changeable fields. `is_self`: admins may not lock themselves out.
pub fn validate_fields(fields: UserFields, is_self: bool) -> Result<UserFields, DomainError> {
    let mut v = Validator::new();
    let display_name = v.required_text("display_name", &fields.display_name, 120);
    if is_self {
        v.check(fields.active, "active", "you cannot deactivate yourself");
        v.check(
            fields.roles.contains(&AccessRole::Admin),
            "roles",
            "you cannot remove your own admin role",
        );
    }
    v.finish()?;
    Ok(UserFields {
        display_name,
        roles: dedup(&fields.roles),
        active: fields.active,
    })
}

text_enum! {
    pub enum UserKind { Person => "person", Service => "service" }
}

pub const MIN_PASSWORD_CHARS: usize = 12;
pub const MAX_PASSWORD_CHARS: usize = 128;

/// An email address, compared case-insensitively (stored lower-case).
pub fn normalize_email(v: &mut Validator, field: &str, email: &str) -> String {
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        })
        && !email.chars().any(char::is_whitespace);
    v.check(valid, field, "must be an email address");
    email
}

pub fn check_password(v: &mut Validator, field: &str, password: &str) {
    let n = password.chars().count();
    v.check(
        (MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&n),
        field,
        "must be 12 to 128 characters long",
    );
}

/// Deactivation and any change of access roles end a user's sessions: whoever holds a
/// refresh token logs in again, with the new roles.
pub fn ends_sessions(before: &UserFields, after: &UserFields) -> bool {
    let same_roles = before.roles.len() == after.roles.len()
        && after.roles.iter().all(|r| before.roles.contains(r));
    !after.active || !same_roles
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub email: String,
    pub display_name: String,
    pub kind: UserKind,
    pub roles: Vec<AccessRole>,
    /// People log in with a password; service accounts use API keys and have none.
    pub password: Option<String>,
}

pub fn validate_new(input: NewUser) -> Result<NewUser, DomainError> {
    let mut v = Validator::new();
    let email = normalize_email(&mut v, "email", &input.email);
    let display_name = v.required_text("display_name", &input.display_name, 120);
    match (input.kind, &input.password) {
        (UserKind::Person, Some(p)) => check_password(&mut v, "password", p),
        (UserKind::Person, None) => v.add("password", "is required for a person"),
        (UserKind::Service, Some(_)) => v.add(
            "password",
            "service accounts authenticate with API keys, not passwords",
        ),
        (UserKind::Service, None) => {}
    }
    v.finish()?;
    Ok(NewUser {
        email,
        display_name,
        roles: dedup(&input.roles),
        ..input
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(email: &str, password: &str) -> NewUser {
        NewUser {
            email: email.into(),
            display_name: "Ann".into(),
            kind: UserKind::Person,
            roles: vec![AccessRole::Viewer, AccessRole::Viewer],
            password: Some(password.into()),
        }
    }

    #[test]
    fn email_is_lowercased_and_roles_deduped() {
        let u = validate_new(person(" Ann@Example.COM ", "correct horse battery")).unwrap();
        assert_eq!(u.email, "ann@example.com");
        assert_eq!(u.roles, vec![AccessRole::Viewer]);
    }

    #[test]
    fn bad_email_and_short_password_are_refused() {
        for (email, pw) in [
            ("ann", "correct horse battery"),
            ("a@b", "correct horse battery"),
            ("a@b.c", "short"),
        ] {
            assert!(validate_new(person(email, pw)).is_err(), "{email} {pw}");
        }
    }

    #[test]
    fn service_accounts_have_no_password() {
        let mut u = person("bot@example.com", "correct horse battery");
        u.kind = UserKind::Service;
        assert!(validate_new(u.clone()).is_err());
        u.password = None;
        assert!(validate_new(u).is_ok());
    }
}
