//! Bulk imports: what may be imported, and how an imported record may start in a later
//! state of its workflow than the one a create gives.

use std::collections::VecDeque;

use super::access::Principal;
use super::validation::FieldError;
use super::workflow::{Relation, Transition, WorkflowValue};
use crate::text_enum;

text_enum! {
    /// The collections a bulk import loads.
    pub enum ImportResource {
        Processes => "processes",
        Roles => "roles",
        Documents => "documents",
        Risks => "risks",
        TrainingRecords => "training-records",
    }
}

/// The field of a row's problem: `rows[17].code` (rows counted from 1).
pub fn row_field(row: usize, field: &str) -> String {
    if field.is_empty() {
        format!("rows[{row}]")
    } else if field.starts_with('[') {
        format!("rows[{row}]{field}")
    } else {
        format!("rows[{row}].{field}")
    }
}

/// The actions that take a new record from `initial` to `target` under the workflow's own
/// rules: each row one the caller may take, with every precondition met by `record` (the
/// record as it will be stored). A record imported in `target` is thus one that could have
/// got there through the API. The shortest such path; when there is none, what the shortest
/// path lacks, naming each unmet precondition (empty when `target` cannot be reached at all).
pub fn path_to<S: WorkflowValue, A: WorkflowValue, R>(
    table: &[Transition<S, A, R>],
    initial: S,
    target: S,
    caller: &Principal,
    record: &R,
) -> Result<Vec<A>, Vec<FieldError>> {
    let met = |t: &Transition<S, A, R>| t.needs.iter().all(|n| (n.holds)(record));
    if let Some(path) = shortest(table, initial, target, caller, record, met) {
        return Ok(path.into_iter().map(|t| t.action).collect());
    }
    let path = shortest(table, initial, target, caller, record, |_| true).unwrap_or_default();
    let mut unmet: Vec<FieldError> = Vec::new();
    for need in path
        .iter()
        .flat_map(|t| t.needs.iter())
        .filter(|n| !(n.holds)(record))
    {
        if !unmet.iter().any(|u| u.field == need.field) {
            unmet.push(FieldError::new(need.field, need.message));
        }
    }
    Err(unmet)
}

/// A shortest path of rows the caller may take, each passing `usable`.
fn shortest<'t, S: WorkflowValue, A: WorkflowValue, R>(
    table: &'t [Transition<S, A, R>],
    initial: S,
    target: S,
    caller: &Principal,
    record: &R,
    usable: impl Fn(&Transition<S, A, R>) -> bool,
) -> Option<Vec<&'t Transition<S, A, R>>> {
    let relation = Relation::default();
    let mut queue = VecDeque::from([(initial, Vec::new())]);
    let mut seen = vec![initial];
    while let Some((state, path)) = queue.pop_front() {
        if state == target {
            return Some(path);
        }
        for row in table.iter().filter(|t| {
            t.from == state
                && t.permits(caller, &relation)
                && t.when.as_ref().is_none_or(|w| (w.holds)(record))
                && usable(t)
        }) {
            if !seen.contains(&row.to) {
                seen.push(row.to);
                let mut next = path.clone();
                next.push(row);
                queue.push_back((row.to, next));
            }
        }
    }
    None
}

/// The message that refuses a row's `state`: what the state needs that the row lacks.
pub fn unmet_state_message(state: &str, unmet: &[FieldError]) -> String {
    if unmet.is_empty() {
        return format!("a new record cannot be put in `{state}`");
    }
    let needs: Vec<String> = unmet
        .iter()
        .map(|u| format!("{} (`{}`)", u.message, u.field))
        .collect();
    format!(
        "`{state}` needs what its transitions need: {}",
        needs.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::AccessRole;
    use crate::domain::document::{self, DocumentAction, DocumentKind, DocumentState};
    use crate::domain::process::{self, ProcessAction, ProcessState, Raci, RaciAssignment};
    use crate::domain::risk::{self, RiskKind, RiskState};

    fn manager() -> Principal {
        Principal {
            user_id: "u".into(),
            roles: vec![AccessRole::Manager],
        }
    }

    fn a_process(complete: bool) -> process::Process {
        process::Process {
            fields: process::ProcessFields {
                code: "INC".into(),
                name: "Incidents".into(),
                purpose: None,
                description: None,
                clauses: if complete {
                    vec!["8.6.1".into()]
                } else {
                    vec![]
                },
                owner_role_id: complete.then(|| "r".into()),
                review_due: None,
            },
            state: ProcessState::Draft,
            raci: if complete {
                vec![RaciAssignment {
                    role_id: "r".into(),
                    activity: None,
                    responsibility: Raci::A,
                }]
            } else {
                vec![]
            },
        }
    }

    #[test]
    fn a_state_is_reached_through_the_workflow() {
        let w = process::WORKFLOW;
        let (draft, active, retired) = (
            ProcessState::Draft,
            ProcessState::Active,
            ProcessState::Retired,
        );
        let complete = a_process(true);
        assert_eq!(path_to(w, draft, draft, &manager(), &complete), Ok(vec![]));
        assert_eq!(
            path_to(w, draft, retired, &manager(), &complete),
            Ok(vec![ProcessAction::Approve, ProcessAction::Retire])
        );
        let fields: Vec<String> = path_to(w, draft, active, &manager(), &a_process(false))
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(fields, ["owner_role_id", "clauses", "raci"]);
        // Retired is reached through approval, so it needs the same.
        assert!(path_to(w, draft, retired, &manager(), &a_process(false)).is_err());
        // Who may not take the steps cannot import the state.
        let viewer = Principal {
            user_id: "v".into(),
            roles: vec![AccessRole::Viewer],
        };
        assert_eq!(
            path_to(w, draft, active, &viewer, &complete),
            Err(Vec::new())
        );
    }

    #[test]
    fn the_shortest_path_that_holds_is_taken() {
        let fields = document::DocumentFields {
            title: "Policy".into(),
            kind: DocumentKind::Policy,
            clauses: vec![],
            owner_role_id: None,
            version_label: None,
            location: None,
            review_due: None,
        };
        let d = document::Document {
            fields,
            state: DocumentState::Draft,
            approved_by: None,
            approved_at: None,
        };
        // A draft may be withdrawn directly: obsolete needs nothing.
        assert_eq!(
            path_to(
                document::WORKFLOW,
                DocumentState::Draft,
                DocumentState::Obsolete,
                &manager(),
                &d
            ),
            Ok(vec![DocumentAction::Withdraw])
        );
        let r = risk::Risk {
            fields: risk::RiskFields {
                title: "R".into(),
                kind: RiskKind::Risk,
                description: None,
                likelihood: 2,
                impact: 2,
                treatment: None,
                owner_role_id: None,
                process_id: None,
                review_due: None,
                corrective_action_id: None,
                improvement_id: None,
            },
            state: RiskState::Identified,
            acceptance_rationale: None,
        };
        let unmet = path_to(
            risk::WORKFLOW,
            RiskState::Identified,
            RiskState::Accepted,
            &manager(),
            &r,
        )
        .unwrap_err();
        assert_eq!(unmet[0].field, "acceptance_rationale");
        assert!(unmet_state_message("accepted", &unmet).contains("`acceptance_rationale`"));
    }

    #[test]
    fn row_fields() {
        assert_eq!(row_field(3, "code"), "rows[3].code");
        assert_eq!(row_field(3, ""), "rows[3]");
        assert_eq!(row_field(3, "[0]"), "rows[3][0]");
    }
}
