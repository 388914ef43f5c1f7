//! Processes of the SMS (clauses 4.4 and 8): fields, RACI and the approval workflow.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;

use super::DomainError;
use super::access::AccessRole;
use super::clause;
use super::validation::{Validator, dedup};
use super::workflow::{Actor, Transition};
use crate::text_enum;

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

const MANAGERS: &[Actor] = &[Actor::Role(AccessRole::Manager)];

pub const WORKFLOW: &[Transition<ProcessState, ProcessAction>] = &[
    Transition {
        from: ProcessState::Draft,
        action: ProcessAction::Approve,
        to: ProcessState::Active,
        who: MANAGERS,
    },
    Transition {
        from: ProcessState::Active,
        action: ProcessAction::Retire,
        to: ProcessState::Retired,
        who: MANAGERS,
    },
    Transition {
        from: ProcessState::Active,
        action: ProcessAction::Revise,
        to: ProcessState::Draft,
        who: MANAGERS,
    },
];

/// The editable fields of a process, as a client sends them.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessInput {
    pub code: String,
    pub name: String,
    pub purpose: Option<String>,
    pub description: Option<String>,
    pub clauses: Vec<String>,
    pub owner_role_id: Option<String>,
    pub review_due: Option<NaiveDate>,
}

/// Normalizes and validates a process's fields.
pub fn validate(input: ProcessInput) -> Result<ProcessInput, DomainError> {
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
    Ok(ProcessInput {
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

/// Whether a process in `state` may take these fields and RACI: a retired process is
/// frozen, and an active one keeps what its approval needed.
pub fn check_edit(
    state: ProcessState,
    owner_role_id: Option<&str>,
    clauses: &[String],
    raci: &[RaciAssignment],
) -> Result<(), DomainError> {
    match state {
        ProcessState::Retired => Err(DomainError::Conflict(
            "a retired process cannot be changed".into(),
        )),
        ProcessState::Active => check_approval(owner_role_id, clauses, raci),
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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaciAssignment {
    pub role_id: String,
    pub activity: Option<String>,
    pub responsibility: Raci,
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

/// What approval needs: an owner role, at least one clause and a RACI with an accountable role.
pub fn check_approval(
    owner_role_id: Option<&str>,
    clauses: &[String],
    raci: &[RaciAssignment],
) -> Result<(), DomainError> {
    let missing = if owner_role_id.is_none() {
        Some(("owner_role_id", "an owner role is needed before approval"))
    } else if clauses.is_empty() {
        Some(("clauses", "at least one clause is needed before approval"))
    } else if !raci.iter().any(|a| a.responsibility == Raci::A) {
        Some((
            "raci",
            "a RACI with an accountable (A) role is needed before approval",
        ))
    } else {
        None
    };
    match missing {
        Some((field, message)) => Err(DomainError::Precondition {
            field: field.into(),
            message: message.into(),
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::{AccessRole::*, Principal};
    use crate::domain::workflow::{Relation, allowed_actions, decide};

    fn input() -> ProcessInput {
        ProcessInput {
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

    #[test]
    fn approval_names_the_missing_precondition() {
        let raci = vec![a("r1", None, Raci::A)];
        let clauses = vec!["8.6.1".to_string()];
        let field = |r: Result<(), DomainError>| match r {
            Err(DomainError::Precondition { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(check_approval(None, &clauses, &raci)),
            "owner_role_id"
        );
        assert_eq!(field(check_approval(Some("o"), &[], &raci)), "clauses");
        assert_eq!(field(check_approval(Some("o"), &clauses, &[])), "raci");
        assert!(check_approval(Some("o"), &clauses, &raci).is_ok());
    }

    #[test]
    fn edits_keep_an_active_process_approvable() {
        let raci = vec![a("r1", None, Raci::A)];
        let clauses = vec!["8.6.1".to_string()];
        assert!(check_edit(ProcessState::Draft, None, &[], &[]).is_ok());
        assert!(check_edit(ProcessState::Active, Some("o"), &clauses, &raci).is_ok());
        assert!(matches!(
            check_edit(ProcessState::Active, Some("o"), &clauses, &[]),
            Err(DomainError::Precondition { .. })
        ));
        assert!(matches!(
            check_edit(ProcessState::Retired, Some("o"), &clauses, &raci),
            Err(DomainError::Conflict(_))
        ));
    }

    /// Every state × action × role: only managers and admins move a process, and only along the table.
    #[test]
    fn workflow_over_every_state_action_and_role() {
        for &state in ProcessState::ALL {
            for &action in ProcessAction::ALL {
                for &role in AccessRole::ALL {
                    let caller = Principal {
                        user_id: "u".into(),
                        roles: vec![role],
                    };
                    let result = decide(WORKFLOW, state, action, &caller, Relation::default());
                    let expected_to = match (state, action) {
                        (ProcessState::Draft, ProcessAction::Approve) => Some(ProcessState::Active),
                        (ProcessState::Active, ProcessAction::Retire) => {
                            Some(ProcessState::Retired)
                        }
                        (ProcessState::Active, ProcessAction::Revise) => Some(ProcessState::Draft),
                        _ => None,
                    };
                    let may = matches!(role, Manager | Admin);
                    match (expected_to, may) {
                        (Some(to), true) => assert_eq!(result, Ok(to)),
                        (Some(_), false) => {
                            assert!(matches!(result, Err(DomainError::Forbidden(_))))
                        }
                        (None, _) => {
                            assert!(matches!(result, Err(DomainError::InvalidTransition { .. })))
                        }
                    }
                    let allowed = allowed_actions(WORKFLOW, state, &caller, Relation::default());
                    assert_eq!(allowed.contains(&action), expected_to.is_some() && may);
                }
            }
        }
    }
}
