//! Documented information (clause 7.5): the register of the SMS's documents and records,
//! their approval workflow and review dates.

use chrono::{DateTime, NaiveDate, Utc};

use super::DomainError;
use super::access::AccessRole;
use super::clause::{self, ClauseNumber};
use super::validation::{FieldError, Validator};
use super::workflow::{Actor, Need, Transition};
use crate::{editable_fields, text_enum};

text_enum! {
    pub enum DocumentState { Draft => "draft", Approved => "approved", Obsolete => "obsolete" }
}

text_enum! {
    pub enum DocumentAction { Approve => "approve", Revise => "revise", Withdraw => "withdraw" }
}

text_enum! {
    /// What the document is; `record` is evidence of what was done (clause 7.5.1 b), the
    /// others are documents the SMS works by.
    pub enum DocumentKind {
        Policy => "policy",
        Plan => "plan",
        Procedure => "procedure",
        Record => "record",
        Agreement => "agreement",
        Other => "other",
    }
}

pub const LOCATION_MAX: usize = 2000;
pub const VERSION_LABEL_MAX: usize = 50;

editable_fields! {
    /// The editable fields of a document.
    pub struct DocumentFields / DocumentPatch {
        #[schema(example = "Service management policy", min_length = 1, max_length = 200)]
        title: String,
        kind: DocumentKind,
        /// Clause catalog numbers the document serves, e.g. `5.2`.
        #[serde(default)]
        #[schema(value_type = Vec<ClauseNumber>, max_items = 100)]
        clauses: Vec<String>,
        /// The SMS role that owns the document.
        #[serde(default)]
        #[schema(format = Uuid, max_length = 36)]
        owner_role_id: Option<String>,
        /// The version in the document store, e.g. `2.1`. Fixed while the document is approved.
        #[serde(default)]
        #[schema(example = "2.1", max_length = 50)]
        version_label: Option<String>,
        /// Where the document is kept: an absolute URI into the document store (RFC 3986;
        /// non-ASCII letters are accepted as in an IRI, spaces must be `%20`). Fixed while
        /// the document is approved.
        #[serde(default)]
        #[schema(example = "https://dms.example.com/sms/policy-v2.1.pdf", max_length = 2000)]
        location: Option<String>,
        /// When the document is next to be reviewed.
        #[serde(default)]
        review_due: Option<NaiveDate>,
    }
}

/// A document as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub fields: DocumentFields,
    pub state: DocumentState,
    /// Who approved the version in force, and when (cleared by `revise`).
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
}

const MANAGERS: &[Actor] = &[Actor::Role(AccessRole::Manager)];

/// What approval needs; an approved document keeps them through every edit.
const APPROVAL_NEEDS: &[Need<Document>] = &[
    Need {
        field: "owner_role_id",
        message: "an owner role is needed before approval",
        holds: |d| d.fields.owner_role_id.is_some(),
    },
    Need {
        field: "clauses",
        message: "at least one clause is needed before approval",
        holds: |d| !d.fields.clauses.is_empty(),
    },
    Need {
        field: "version_label",
        message: "a version label is needed before approval",
        holds: |d| d.fields.version_label.is_some(),
    },
    Need {
        field: "location",
        message: "the document's location in the document store is needed before approval",
        holds: |d| d.fields.location.is_some(),
    },
    Need {
        field: "review_due",
        message: "a review date is needed before approval",
        holds: |d| d.fields.review_due.is_some(),
    },
];

const fn withdraw(from: DocumentState) -> Transition<DocumentState, DocumentAction, Document> {
    Transition {
        from,
        action: DocumentAction::Withdraw,
        to: DocumentState::Obsolete,
        who: MANAGERS,
        not_after: None,
        needs: &[],
        when: None,
    }
}

/// Draft → approved → obsolete; an approved document goes back to draft to be revised, and
/// a draft (a revision abandoned, a document never put in force) may be withdrawn too.
pub const WORKFLOW: &[Transition<DocumentState, DocumentAction, Document>] = &[
    Transition {
        from: DocumentState::Draft,
        action: DocumentAction::Approve,
        to: DocumentState::Approved,
        who: MANAGERS,
        not_after: None,
        needs: APPROVAL_NEEDS,
        when: None,
    },
    Transition {
        from: DocumentState::Approved,
        action: DocumentAction::Revise,
        to: DocumentState::Draft,
        who: MANAGERS,
        not_after: None,
        needs: &[],
        when: None,
    },
    withdraw(DocumentState::Approved),
    withdraw(DocumentState::Draft),
];

/// The document after a transition to `to` taken by `actor` at `at`: approval records who
/// and when; a revision clears them, as what they approved is no longer in force.
pub fn after_transition(
    before: &Document,
    to: DocumentState,
    actor: &str,
    at: DateTime<Utc>,
) -> Document {
    let mut after = Document {
        state: to,
        ..before.clone()
    };
    match (before.state, to) {
        (_, DocumentState::Approved) => {
            after.approved_by = Some(actor.to_string()).filter(|a| !a.is_empty());
            after.approved_at = Some(at);
        }
        (_, DocumentState::Draft) => {
            after.approved_by = None;
            after.approved_at = None;
        }
        _ => {}
    }
    after
}

/// Normalizes and validates a document's own fields (the owner role is checked by the
/// service).
pub fn validate(input: DocumentFields) -> Result<DocumentFields, DomainError> {
    let mut v = Validator::new();
    let title = v.required_text("title", &input.title, 200);
    let clauses = clause::validate_refs(&mut v, "clauses", &input.clauses);
    let version_label = input
        .version_label
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| v.required_text("version_label", l, VERSION_LABEL_MAX));
    let location = input
        .location
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            if let Err(message) = check_absolute_uri(l) {
                v.add("location", message);
            }
            l.to_string()
        });
    v.finish()?;
    Ok(DocumentFields {
        title,
        kind: input.kind,
        clauses,
        owner_role_id: input.owner_role_id,
        version_label,
        location,
        review_due: input.review_due,
    })
}

/// An absolute URI (RFC 3986 section 4.3, with a fragment allowed): a scheme, `:`, and a
/// non-empty rest made of URI characters and well-formed percent escapes. Letters outside
/// ASCII are accepted as in an IRI (RFC 3987); whitespace and control characters are not.
/// `http` and `https` need a host.
pub fn check_absolute_uri(text: &str) -> Result<(), String> {
    if text.chars().count() > LOCATION_MAX {
        return Err(format!("must be at most {LOCATION_MAX} characters"));
    }
    let not_absolute = || {
        "must be an absolute URI with a scheme, such as https://dms.example.com/policy.pdf"
            .to_string()
    };
    let (scheme, rest) = text.split_once(':').ok_or_else(not_absolute)?;
    let mut scheme_chars = scheme.chars();
    let scheme_ok = scheme_chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme_chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok || rest.is_empty() {
        return Err(not_absolute());
    }
    let bytes: Vec<char> = rest.chars().collect();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c == '%' {
            let hex = |j: usize| bytes.get(j).is_some_and(|h| h.is_ascii_hexdigit());
            if !(hex(i + 1) && hex(i + 2)) {
                return Err("has a `%` that is not followed by two hexadecimal digits".into());
            }
            i += 3;
            continue;
        }
        let allowed = c.is_ascii_alphanumeric()
            || "-._~:/?#[]@!$&'()*+,;=".contains(c)
            || (!c.is_ascii() && !c.is_control() && !c.is_whitespace());
        if !allowed {
            return Err(format!(
                "must not contain {}; percent-encode it (a space is %20)",
                match c {
                    ' ' => "spaces".to_string(),
                    c if c.is_control() || c.is_whitespace() => {
                        "control or whitespace characters".to_string()
                    }
                    c => format!("`{c}`"),
                }
            ));
        }
        i += 1;
    }
    if rest.matches('#').count() > 1 {
        return Err("must not contain more than one `#`".into());
    }
    let scheme = scheme.to_ascii_lowercase();
    if scheme == "http" || scheme == "https" {
        let host = rest
            .strip_prefix("//")
            .map(|r| r.split(['/', '?', '#']).next().unwrap_or_default())
            .map(|authority| authority.rsplit('@').next().unwrap_or_default())
            .unwrap_or_default();
        if host.is_empty() || host.starts_with(':') {
            return Err(format!(
                "a {scheme} URI needs a host, as in {scheme}://host/path"
            ));
        }
    }
    Ok(())
}

/// Whether `before` may become `edited` by a PATCH: an obsolete document is frozen; an
/// approved one keeps what its approval needed and the version it approved (its
/// `version_label` and `location` change only through `revise`).
pub fn check_edit(before: &Document, edited: &Document) -> Result<(), DomainError> {
    match edited.state {
        DocumentState::Obsolete => Err(DomainError::Conflict(
            "an obsolete document cannot be changed".into(),
        )),
        DocumentState::Approved => {
            let (b, e) = (&before.fields, &edited.fields);
            let changed: Vec<&str> = [
                ("version_label", b.version_label != e.version_label),
                ("location", b.location != e.location),
            ]
            .into_iter()
            .filter_map(|(field, changed)| changed.then_some(field))
            .collect();
            if !changed.is_empty() {
                return Err(DomainError::Conflict(format!(
                    "the {} of an approved document cannot change; `revise` it first, then approve the new version",
                    changed.join(" and ")
                )));
            }
            let unmet: Vec<_> = APPROVAL_NEEDS
                .iter()
                .filter(|n| !(n.holds)(edited))
                .map(|n| FieldError::new(n.field, n.message))
                .collect();
            if unmet.is_empty() {
                Ok(())
            } else {
                Err(DomainError::PreconditionMissing(unmet))
            }
        }
        DocumentState::Draft => Ok(()),
    }
}

/// Only drafts are deleted; an approved document is withdrawn instead, to keep its history.
pub fn ensure_deletable(state: DocumentState) -> Result<(), DomainError> {
    if state != DocumentState::Draft {
        return Err(DomainError::Conflict(format!(
            "only draft documents can be deleted; this one is {state} (withdraw it instead)"
        )));
    }
    Ok(())
}

/// An approved document whose review date is before `today` is overdue for review. Drafts
/// and obsolete documents are not in force, so they are never overdue.
pub fn is_review_overdue(
    review_due: Option<NaiveDate>,
    state: DocumentState,
    today: NaiveDate,
) -> bool {
    state == DocumentState::Approved && review_due.is_some_and(|due| due < today)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Principal;
    use crate::domain::workflow::{Relation, allowed_actions, check_exhaustively, decide};
    use DocumentAction as A;
    use DocumentState as S;

    fn input() -> DocumentFields {
        DocumentFields {
            title: " Service management policy ".into(),
            kind: DocumentKind::Policy,
            clauses: vec!["5.2".into(), "5.2".into()],
            owner_role_id: None,
            version_label: Some("  ".into()),
            location: Some(" https://dms.example.com/policy.pdf ".into()),
            review_due: None,
        }
    }

    fn document(state: S, complete: bool) -> Document {
        let mut fields = validate(input()).unwrap();
        if complete {
            fields.owner_role_id = Some("o".into());
            fields.version_label = Some("1.0".into());
            fields.review_due = NaiveDate::from_ymd_opt(2027, 1, 1);
        } else {
            fields.clauses.clear();
            fields.location = None;
        }
        Document {
            fields,
            state,
            approved_by: None,
            approved_at: None,
        }
    }

    fn caller(role: AccessRole) -> Principal {
        Principal {
            user_id: "u".into(),
            roles: vec![role],
        }
    }

    #[test]
    fn validate_normalizes() {
        let d = validate(input()).unwrap();
        assert_eq!(d.title, "Service management policy");
        assert_eq!(d.clauses, vec!["5.2"]);
        assert_eq!(d.version_label, None);
        assert_eq!(
            d.location.as_deref(),
            Some("https://dms.example.com/policy.pdf")
        );
    }

    #[test]
    fn validate_names_each_bad_field() {
        let mut i = input();
        i.title = "".into();
        i.clauses = vec!["5.2".into(), "99".into()];
        i.version_label = Some("v\u{7}1".into());
        i.location = Some("policy.pdf".into());
        let Err(DomainError::Validation(errors)) = validate(i) else {
            panic!()
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["title", "clauses[1]", "version_label", "location"]
        );
    }

    #[test]
    fn locations_are_absolute_uris() {
        for good in [
            "https://dms.example.com/sms/policy%20v2.pdf?rev=3#page=2",
            "http://user@intranet:8080/docs",
            "file:///srv/docs/policy.pdf",
            "urn:isbn:9780580000000",
            "sharepoint+https://tenant.example.com/sites/SMS",
            "https://dms.example.com/Procédure.docx",
            "mailto:sms@example.com",
        ] {
            assert_eq!(check_absolute_uri(good), Ok(()), "{good}");
        }
        for bad in [
            "policy.pdf",
            "/docs/policy.pdf",
            "//dms.example.com/policy.pdf",
            "dms.example.com/policy.pdf",
            "1http://x",
            "https:",
            "https://",
            "https:///path",
            "https://dms.example.com/my policy.pdf",
            "https://dms.example.com/a\tb",
            "https://dms.example.com/%zz",
            "https://dms.example.com/a%2",
            "https://dms.example.com/<x>",
            "https://x/a#b#c",
            "C:\\docs\\policy.pdf",
        ] {
            assert!(check_absolute_uri(bad).is_err(), "{bad}");
        }
        let long = format!("https://x/{}", "a".repeat(LOCATION_MAX));
        assert!(check_absolute_uri(&long).is_err());
    }

    #[test]
    fn approval_names_every_missing_precondition() {
        let bare = Document {
            fields: DocumentFields {
                clauses: vec![],
                location: None,
                version_label: None,
                ..validate(input()).unwrap()
            },
            state: S::Draft,
            approved_by: None,
            approved_at: None,
        };
        let result = decide(
            WORKFLOW,
            S::Draft,
            A::Approve,
            &caller(AccessRole::Manager),
            &Relation::default(),
            &bare,
        );
        let Err(DomainError::PreconditionMissing(missing)) = result else {
            panic!("{result:?}")
        };
        let fields: Vec<_> = missing.iter().map(|m| m.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "owner_role_id",
                "clauses",
                "version_label",
                "location",
                "review_due"
            ]
        );
    }

    #[test]
    fn approval_is_recorded_and_cleared_by_a_revision() {
        let at = DateTime::parse_from_rfc3339("2027-01-02T03:04:05Z")
            .unwrap()
            .to_utc();
        let approved = after_transition(&document(S::Draft, true), S::Approved, "m", at);
        assert_eq!(approved.approved_by.as_deref(), Some("m"));
        assert_eq!(approved.approved_at, Some(at));
        let obsolete = after_transition(&approved, S::Obsolete, "n", at);
        assert_eq!(obsolete.approved_by.as_deref(), Some("m"), "kept");
        let revised = after_transition(&approved, S::Draft, "m", at);
        assert_eq!((revised.approved_by, revised.approved_at), (None, None));
    }

    #[test]
    fn edits_keep_an_approved_document_as_approved() {
        let draft = document(S::Draft, false);
        assert!(check_edit(&draft, &draft).is_ok());
        let approved = document(S::Approved, true);
        let mut later = approved.clone();
        later.fields.review_due = NaiveDate::from_ymd_opt(2028, 1, 1);
        later.fields.title = "Policy".into();
        assert!(check_edit(&approved, &later).is_ok());
        let mut moved = approved.clone();
        moved.fields.location = Some("https://elsewhere.example.com/p.pdf".into());
        moved.fields.version_label = Some("1.1".into());
        let Err(DomainError::Conflict(message)) = check_edit(&approved, &moved) else {
            panic!()
        };
        assert!(message.contains("version_label and location"), "{message}");
        let mut unowned = approved.clone();
        unowned.fields.owner_role_id = None;
        unowned.fields.review_due = None;
        let Err(DomainError::PreconditionMissing(missing)) = check_edit(&approved, &unowned) else {
            panic!()
        };
        assert_eq!(missing.len(), 2);
        let obsolete = document(S::Obsolete, true);
        assert!(matches!(
            check_edit(&obsolete, &obsolete),
            Err(DomainError::Conflict(_))
        ));
    }

    #[test]
    fn only_drafts_are_deleted() {
        assert!(ensure_deletable(S::Draft).is_ok());
        assert!(ensure_deletable(S::Approved).is_err());
        assert!(ensure_deletable(S::Obsolete).is_err());
    }

    #[test]
    fn review_overdue_only_for_approved_documents_past_their_date() {
        let today = NaiveDate::from_ymd_opt(2027, 3, 10).unwrap();
        let past = NaiveDate::from_ymd_opt(2027, 3, 9);
        assert!(is_review_overdue(past, S::Approved, today));
        assert!(!is_review_overdue(Some(today), S::Approved, today));
        assert!(!is_review_overdue(None, S::Approved, today));
        assert!(!is_review_overdue(past, S::Draft, today));
        assert!(!is_review_overdue(past, S::Obsolete, today));
    }

    #[test]
    fn the_table_gives_managers_every_action() {
        let none = Relation::default();
        let manager = caller(AccessRole::Manager);
        assert_eq!(
            allowed_actions(WORKFLOW, S::Draft, &manager, &none),
            vec![A::Approve, A::Withdraw]
        );
        assert_eq!(
            allowed_actions(WORKFLOW, S::Approved, &manager, &none),
            vec![A::Revise, A::Withdraw]
        );
        assert!(
            allowed_actions(WORKFLOW, S::Obsolete, &caller(AccessRole::Admin), &none).is_empty()
        );
        for role in [
            AccessRole::Viewer,
            AccessRole::Contributor,
            AccessRole::Auditor,
        ] {
            assert!(allowed_actions(WORKFLOW, S::Draft, &caller(role), &none).is_empty());
        }
    }

    #[test]
    fn workflow_over_every_state_action_and_role() {
        check_exhaustively(
            WORKFLOW,
            S::ALL,
            A::ALL,
            &document(S::Draft, true),
            &document(S::Draft, false),
        );
    }
}
