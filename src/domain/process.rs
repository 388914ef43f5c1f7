//! Processes of the SMS (clauses 4.4 and 8): fields, RACI and the approval workflow.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::DomainError;
use super::access::AccessRole;
use super::clause::{self, ClauseNumber};
use super::validation::{FieldError, Validator, dedup};
use super::workflow::{Actor, Need, Transition};
use crate::{editable_fields, text_enum};

text_enum! {
    pub enum ProcessState { Draft => "draft", Active => "active", Retired => "retired" }
}

text_enum! {
    pub enum ProcessAction { Approve => "approve", Retire => "retire", Revise => "revise" }
}

text_enum! {
    /// Responsible, Accountable, Consulted, Informed.
    pub enum Raci { R => "R", A => "A", C => "C", I => "I" }
}

editable_fields! {
    /// The editable fields of a process.
    pub struct ProcessFields / ProcessPatch {
        /// Unique short code: an upper-case letter, then A-Z, 0-9, `-` or `_`.
        #[schema(example = "INC", min_length = 1, max_length = 16, pattern = "^[A-Z][A-Z0-9_-]*$")]
        code: String,
        #[schema(example = "Incident management", min_length = 1, max_length = 200)]
        name: String,
        #[serde(default)]
        #[schema(max_length = 2000)]
        purpose: Option<String>,
        #[serde(default)]
        #[schema(max_length = 10000)]
        description: Option<String>,
        /// Clause catalog numbers the process implements, e.g. `8.6.1`.
        #[serde(default)]
        #[schema(value_type = Vec<ClauseNumber>, max_items = 100)]
        clauses: Vec<String>,
        /// The SMS role that owns the process.
        #[serde(default)]
        #[schema(format = Uuid, max_length = 36)]
        owner_role_id: Option<String>,
        #[serde(default)]
        review_due: Option<NaiveDate>,
    }
}

/// One line of a RACI matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RaciAssignment {
    #[schema(format = Uuid, max_length = 36)]
    pub role_id: String,
    /// The activity; absent or null for the process as a whole.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub activity: Option<String>,
    pub responsibility: Raci,
}

/// A process as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Process {
    pub fields: ProcessFields,
    pub state: ProcessState,
    pub raci: Vec<RaciAssignment>,
}

const MANAGERS: &[Actor] = &[Actor::Role(AccessRole::Manager)];

/// What approval needs; an active process keeps them through every edit.
const APPROVAL_NEEDS: &[Need<Process>] = &[
    Need {
        field: "owner_role_id",
        message: "an owner role is needed before approval",
        holds: |p| p.fields.owner_role_id.is_some(),
    },
    Need {
        field: "clauses",
        message: "at least one clause is needed before approval",
        holds: |p| !p.fields.clauses.is_empty(),
    },
    Need {
        field: "raci",
        message: "a RACI with an accountable (A) role is needed before approval",
        holds: |p| p.raci.iter().any(|a| a.responsibility == Raci::A),
    },
];

pub const WORKFLOW: &[Transition<ProcessState, ProcessAction, Process>] = &[
    Transition {
        from: ProcessState::Draft,
        action: ProcessAction::Approve,
        to: ProcessState::Active,
        who: MANAGERS,
        not_after: None,
        needs: APPROVAL_NEEDS,
        when: None,
    },
    Transition {
        from: ProcessState::Active,
        action: ProcessAction::Retire,
        to: ProcessState::Retired,
        who: MANAGERS,
        not_after: None,
        needs: &[],
        when: None,
    },
    Transition {
        from: ProcessState::Active,
        action: ProcessAction::Revise,
        to: ProcessState::Draft,
        who: MANAGERS,
        not_after: None,
        needs: &[],
        when: None,
    },
];

/// Normalizes and validates a process's fields.
pub fn validate(input: ProcessFields) -> Result<ProcessFields, DomainError> {
    let mut v = Validator::new();
    let code = v.required_text("code", &input.code, 16);
    v.check(
        code.is_empty() || is_valid_code(&code),
        "code",
        "must start with an upper-case letter and hold only A-Z, 0-9, `-` and `_`",
    );
    let name = v.required_text("name", &input.name, 200);
    let purpose = v.optional_text("purpose", input.purpose.as_deref(), 2000);
    let description = v.optional_text("description", input.description.as_deref(), 10_000);
    let clauses = clause::validate_refs(&mut v, "clauses", &input.clauses);
    v.finish()?;
    Ok(ProcessFields {
        code,
        name,
        purpose,
        description,
        clauses,
        owner_role_id: input.owner_role_id,
        review_due: input.review_due,
    })
}

fn is_valid_code(code: &str) -> bool {
    let mut chars = code.chars();
    chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

/// Whether a process may become `edited`: a retired process is frozen, and an active one
/// keeps what its approval needed.
pub fn check_edit(edited: &Process) -> Result<(), DomainError> {
    match edited.state {
        ProcessState::Retired => Err(DomainError::Conflict(
            "a retired process cannot be changed".into(),
        )),
        ProcessState::Active => {
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
        ProcessState::Draft => Ok(()),
    }
}

/// Only drafts are deleted; an approved process is retired instead, to keep its history.
pub fn ensure_deletable(state: ProcessState) -> Result<(), DomainError> {
    if state != ProcessState::Draft {
        return Err(DomainError::Conflict(format!(
            "only draft processes can be deleted; this one is {state} (retire it instead)"
        )));
    }
    Ok(())
}

/// A RACI matrix: each (role, activity) once, and exactly one `A` per activity.
pub fn validate_raci(assignments: Vec<RaciAssignment>) -> Result<Vec<RaciAssignment>, DomainError> {
    let mut v = Validator::new();
    if assignments.len() > 500 {
        v.add("assignments", "must have at most 500 items");
    }
    let mut seen = HashSet::new();
    let mut accountable: HashMap<Option<String>, usize> = HashMap::new();
    let mut activities = Vec::new();
    let normalized: Vec<RaciAssignment> = assignments
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let activity = v.optional_text(
                &format!("assignments[{i}].activity"),
                a.activity.as_deref(),
                200,
            );
            if !seen.insert((a.role_id.clone(), activity.clone())) {
                v.add(
                    format!("assignments[{i}]"),
                    "this role already has a responsibility for this activity",
                );
            }
            activities.push(activity.clone());
            if a.responsibility == Raci::A {
                *accountable.entry(activity.clone()).or_default() += 1;
            }
            RaciAssignment {
                role_id: a.role_id,
                activity,
                responsibility: a.responsibility,
            }
        })
        .collect();
    for activity in dedup(&activities) {
        let count = accountable.get(&activity).copied().unwrap_or(0);
        if count != 1 {
            let name = activity.as_deref().unwrap_or("(the process as a whole)");
            v.add(
                "assignments",
                format!(
                    "activity `{name}` has {count} accountable (A) roles; it needs exactly one"
                ),
            );
        }
    }
    v.finish()?;
    Ok(normalized)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Principal;
    use crate::domain::workflow::{Relation, check_exhaustively, decide};

    fn input() -> ProcessFields {
        ProcessFields {
            code: "INC".into(),
            name: "Incident management".into(),
            purpose: None,
            description: Some("  ".into()),
            clauses: vec!["8.6.1".into(), "8.6.1".into()],
            owner_role_id: None,
            review_due: None,
        }
    }

    fn a(role: &str, activity: Option<&str>, r: Raci) -> RaciAssignment {
        RaciAssignment {
            role_id: role.into(),
            activity: activity.map(Into::into),
            responsibility: r,
        }
    }

    #[test]
    fn validate_normalizes() {
        let p = validate(input()).unwrap();
        assert_eq!(p.clauses, vec!["8.6.1"]);
        assert_eq!(p.description, None);
    }

    #[test]
    fn validate_rejects_bad_code_and_clause() {
        let mut i = input();
        i.code = "inc".into();
        i.clauses = vec!["99".into()];
        let Err(DomainError::Validation(errors)) = validate(i) else {
            panic!()
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["code", "clauses[0]"]);
    }

    #[test]
    fn raci_needs_exactly_one_a_per_activity() {
        assert!(validate_raci(vec![a("r1", None, Raci::A), a("r2", None, Raci::R)]).is_ok());
        assert!(validate_raci(vec![a("r1", None, Raci::R)]).is_err());
        assert!(
            validate_raci(vec![
                a("r1", Some("triage"), Raci::A),
                a("r2", Some("triage"), Raci::A)
            ])
            .is_err()
        );
        assert!(
            validate_raci(vec![
                a("r1", Some("triage"), Raci::A),
                a("r1", Some("triage"), Raci::R)
            ])
            .is_err()
        );
        assert!(
            validate_raci(vec![
                a("r1", Some("triage"), Raci::A),
                a("r1", Some("close"), Raci::A)
            ])
            .is_ok()
        );
        assert!(validate_raci(vec![]).is_ok());
    }

    fn process(state: ProcessState, complete: bool) -> Process {
        let mut fields = validate(input()).unwrap();
        let mut raci = vec![];
        if complete {
            fields.owner_role_id = Some("o".into());
            raci.push(a("r1", None, Raci::A));
        } else {
            fields.clauses.clear();
        }
        Process {
            fields,
            state,
            raci,
        }
    }

    #[test]
    fn approval_names_every_missing_precondition() {
        let manager = Principal {
            user_id: "u".into(),
            roles: vec![AccessRole::Manager],
        };
        let draft = process(ProcessState::Draft, false);
        let result = decide(
            WORKFLOW,
            draft.state,
            ProcessAction::Approve,
            &manager,
            &Relation::default(),
            &draft,
        );
        let Err(DomainError::PreconditionMissing(missing)) = result else {
            panic!("{result:?}")
        };
        let fields: Vec<_> = missing.iter().map(|m| m.field.as_str()).collect();
        assert_eq!(fields, vec!["owner_role_id", "clauses", "raci"]);
    }

    #[test]
    fn edits_keep_an_active_process_approvable() {
        assert!(check_edit(&process(ProcessState::Draft, false)).is_ok());
        assert!(check_edit(&process(ProcessState::Active, true)).is_ok());
        assert!(matches!(
            check_edit(&process(ProcessState::Active, false)),
            Err(DomainError::PreconditionMissing(_))
        ));
        assert!(matches!(
            check_edit(&process(ProcessState::Retired, true)),
            Err(DomainError::Conflict(_))
        ));
    }

    #[test]
    fn workflow_over_every_state_action_and_role() {
        check_exhaustively(
            WORKFLOW,
            ProcessState::ALL,
            ProcessAction::ALL,
            &process(ProcessState::Draft, true),
            &process(ProcessState::Draft, false),
        );
    }
}
