//! Access roles (the JWT `roles` claim) and the caller they describe.

crate::text_enum! {
    pub enum AccessRole {
        Viewer => "viewer",
        Contributor => "contributor",
        Manager => "manager",
        Auditor => "auditor",
        Admin => "admin",
    }
}

impl AccessRole {
    /// Roles this role includes: a manager is also a contributor and a viewer, and so on.
    fn includes(self, other: AccessRole) -> bool {
        use AccessRole::*;
        self == other
            || match self {
                Admin => true,
                Manager => matches!(other, Contributor | Viewer),
                Contributor | Auditor => other == Viewer,
                Viewer => false,
            }
    }
}

/// Who is calling: the user id and access roles taken from a validated token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: String,
    pub roles: Vec<AccessRole>,
}

impl Principal {
    pub fn has(&self, role: AccessRole) -> bool {
        self.roles.iter().any(|r| r.includes(role))
    }

    pub fn has_any(&self, roles: &[AccessRole]) -> bool {
        roles.iter().any(|r| self.has(*r))
    }

    pub fn can_read_sms(&self) -> bool {
        self.has(AccessRole::Viewer)
    }

    /// Managers (and admins) change the SMS's structure: processes, SMS roles, documents…
    pub fn can_manage_sms(&self) -> bool {
        self.has(AccessRole::Manager)
    }

    pub fn is_admin(&self) -> bool {
        self.has(AccessRole::Admin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AccessRole::*;

    fn p(roles: &[AccessRole]) -> Principal {
        Principal {
            user_id: "u".into(),
            roles: roles.to_vec(),
        }
    }

    #[test]
    fn role_hierarchy() {
        assert!(p(&[Admin]).has(Manager));
        assert!(p(&[Admin]).has(Auditor));
        assert!(p(&[Manager]).has(Contributor));
        assert!(p(&[Manager]).has(Viewer));
        assert!(!p(&[Manager]).has(Auditor));
        assert!(!p(&[Auditor]).has(Manager));
        assert!(p(&[Auditor]).has(Viewer));
        assert!(!p(&[Viewer]).has(Contributor));
        assert!(!p(&[]).can_read_sms());
        assert!(p(&[Viewer, Auditor]).has_any(&[Auditor]));
    }

    #[test]
    fn parse_round_trips() {
        for &r in AccessRole::ALL {
            assert_eq!(AccessRole::parse(r.as_str()), Some(r));
        }
        assert_eq!(AccessRole::parse("root"), None);
    }
}
