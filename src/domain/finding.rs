//! Audit findings (clause 9.2): what an audit found, graded.

use super::DomainError;
use super::access::AccessRole;
use super::audit::AuditState;
use super::clause;
use super::validation::Validator;
use super::workflow::{Actor, Need, Transition};
use crate::text_enum;

text_enum! {
    pub enum FindingType {
        MajorNonconformity => "major_nonconformity",
        MinorNonconformity => "minor_nonconformity",
        Observation => "observation",
        OpportunityForImprovement => "opportunity_for_improvement",
    }
}

text_enum! {
    pub enum FindingState { Open => "open", Closed => "closed" }
}

impl FindingType {
    /// Nonconformities need a clause and a corrective action.
    pub fn is_nonconformity(self) -> bool {
        matches!(
            self,
            FindingType::MajorNonconformity | FindingType::MinorNonconformity
        )
    }
}

text_enum! {
    pub enum FindingAction { Close => "close" }
}

crate::editable_fields! {
    /// The editable fields of a finding.
    pub struct FindingFields / FindingPatch {
        r#type: FindingType,
        /// The clause not conformed to: required for nonconformities.
        #[serde(default)]
        #[schema(value_type = Option<super::clause::ClauseNumber>)]
        clause: Option<String>,
        /// The process the finding is about.
        #[serde(default)]
        #[schema(format = Uuid, max_length = 36)]
        process_id: Option<String>,
        /// What was found.
        #[schema(min_length = 1, max_length = 10000)]
        statement: String,
        /// The audit evidence it rests on (9.2.2 c).
        #[serde(default)]
        #[schema(max_length = 20000)]
        evidence: Option<String>,
    }
}

/// Normalizes and validates a finding's fields.
pub fn validate(input: FindingFields) -> Result<FindingFields, DomainError> {
    let mut v = Validator::new();
    // Free text that may run over several lines, but not blank.
    let statement = v.optional_text("statement", Some(&input.statement), 10_000);
    v.check(statement.is_some(), "statement", "must not be empty");
    let evidence = v.optional_text("evidence", input.evidence.as_deref(), 20_000);
    match &input.clause {
        Some(c) => v.check(
            clause::exists(c),
            "clause",
            "is not a clause number of ISO/IEC 20000-1:2018",
        ),
        None => v.check(
            !input.r#type.is_nonconformity(),
            "clause",
            "a nonconformity names the clause it does not conform to",
        ),
    }
    v.finish()?;
    Ok(FindingFields {
        statement: statement.unwrap_or_default(),
        evidence,
        ..input
    })
}

/// A finding's workflow: a nonconformity closes with its corrective action (not here);
/// observations and opportunities for improvement are closed by the audit's team.
pub const WORKFLOW: &[Transition<FindingState, FindingAction, FindingType>] = &[Transition {
    from: FindingState::Open,
    action: FindingAction::Close,
    to: FindingState::Closed,
    who: &[
        Actor::AssigneeWith(AccessRole::Auditor),
        Actor::Role(AccessRole::Admin),
    ],
    not_after: None,
    needs: &[Need {
        field: "type",
        message: "a nonconformity is closed by closing its corrective action",
        holds: |t| !t.is_nonconformity(),
    }],
    when: None,
}];

/// Findings are recorded and changed only while their audit is open for them.
pub fn ensure_recordable(audit_state: AuditState) -> Result<(), DomainError> {
    if !matches!(audit_state, AuditState::InProgress | AuditState::Reporting) {
        return Err(DomainError::Conflict(format!(
            "findings are recorded while the audit is in_progress or reporting; it is {audit_state}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::workflow::check_exhaustively;

    fn fields(t: FindingType, clause: Option<&str>) -> FindingFields {
        FindingFields {
            r#type: t,
            clause: clause.map(Into::into),
            process_id: None,
            statement: " Changes skip the CAB ".into(),
            evidence: Some("  ".into()),
        }
    }

    #[test]
    fn a_nonconformity_needs_a_catalog_clause() {
        let f = validate(fields(FindingType::MinorNonconformity, Some("8.5.1"))).unwrap();
        assert_eq!(
            (f.statement.as_str(), f.evidence),
            ("Changes skip the CAB", None)
        );
        for (t, clause, ok) in [
            (FindingType::MajorNonconformity, None, false),
            (FindingType::MajorNonconformity, Some("99"), false),
            (FindingType::Observation, None, true),
            (FindingType::OpportunityForImprovement, Some("99"), false),
        ] {
            let result = validate(fields(t, clause));
            assert_eq!(result.is_ok(), ok, "{t} {clause:?}");
            if let Err(DomainError::Validation(errors)) = result {
                assert_eq!(errors[0].field, "clause");
            }
        }
    }

    #[test]
    fn findings_are_recorded_while_the_audit_is_under_way() {
        for &state in AuditState::ALL {
            let open = matches!(state, AuditState::InProgress | AuditState::Reporting);
            assert_eq!(ensure_recordable(state).is_ok(), open, "{state}");
        }
    }

    #[test]
    fn workflow_over_every_state_action_and_role() {
        check_exhaustively(
            WORKFLOW,
            FindingState::ALL,
            FindingAction::ALL,
            &FindingType::Observation,
            &FindingType::MinorNonconformity,
        );
    }
}
