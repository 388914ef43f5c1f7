//! Audits (clause 9.2): the audit programme, each audit's scope and team, its workflow and
//! the impartiality of its auditors.

use chrono::NaiveDate;

use super::DomainError;
use super::access::{AccessRole, Principal};
use super::clause::{self, ClauseNumber};
use super::validation::{FieldError, Validator, dedup};
use super::workflow::{Actor, Need, Transition};
use crate::{editable_fields, text_enum};

text_enum! {
    pub enum AuditKind {
        Internal => "internal",
        External => "external",
        CertificationStage1 => "certification_stage1",
        CertificationStage2 => "certification_stage2",
        Surveillance => "surveillance",
        Recertification => "recertification",
    }
}

text_enum! {
    pub enum AuditState {
        Planned => "planned",
        InProgress => "in_progress",
        Reporting => "reporting",
        Closed => "closed",
        Cancelled => "cancelled",
    }
}

text_enum! {
    pub enum AuditAction { Start => "start", Report => "report", Close => "close", Cancel => "cancel" }
}

editable_fields! {
    /// The editable fields of an audit.
    pub struct AuditFields / AuditPatch {
        #[schema(example = "Internal audit of incident management", min_length = 1, max_length = 200)]
        title: String,
        kind: AuditKind,
        /// Clause catalog numbers in scope; a clause covers its sub-clauses.
        #[serde(default)]
        #[schema(value_type = Vec<ClauseNumber>, max_items = 100)]
        scope_clauses: Vec<String>,
        /// Processes in scope.
        #[serde(default)]
        #[schema(max_items = 100)]
        scope_process_ids: Vec<String>,
        /// The audit criteria (9.2.2 b): the requirements audited against.
        #[serde(default)]
        #[schema(max_length = 10000)]
        criteria: Option<String>,
        #[serde(default)]
        planned_start: Option<NaiveDate>,
        /// On or after `planned_start`.
        #[serde(default)]
        planned_end: Option<NaiveDate>,
        /// An active user holding the `auditor` access role.
        #[serde(default)]
        #[schema(format = Uuid, max_length = 36)]
        lead_auditor_id: Option<String>,
        /// Active users holding the `auditor` access role.
        #[serde(default)]
        #[schema(max_items = 50)]
        auditor_ids: Vec<String>,
        /// The audit's results (9.2.2 c), written while reporting.
        #[serde(default)]
        #[schema(max_length = 20000)]
        summary: Option<String>,
    }
}

/// An audit as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Audit {
    pub fields: AuditFields,
    pub state: AuditState,
}

impl Audit {
    /// Whether the user is the audit's lead auditor or one of its auditors.
    pub fn on_team(&self, user_id: &str) -> bool {
        self.fields.lead_auditor_id.as_deref() == Some(user_id)
            || self.fields.auditor_ids.iter().any(|a| a == user_id)
    }

    /// Each team member with the field that names them: `lead_auditor_id`, `auditor_ids[i]`.
    pub fn team(&self) -> Vec<(String, &str)> {
        let lead = self
            .fields
            .lead_auditor_id
            .as_deref()
            .map(|id| ("lead_auditor_id".to_string(), id));
        lead.into_iter()
            .chain(
                self.fields
                    .auditor_ids
                    .iter()
                    .enumerate()
                    .map(|(i, id)| (format!("auditor_ids[{i}]"), id.as_str())),
            )
            .collect()
    }

    /// Open audits take findings and edits; closed and cancelled ones are kept as they are.
    pub fn is_open(&self) -> bool {
        !matches!(self.state, AuditState::Closed | AuditState::Cancelled)
    }

    fn has_scope(&self) -> bool {
        !self.fields.scope_clauses.is_empty() || !self.fields.scope_process_ids.is_empty()
    }
}

/// What a transition looks at: the audit after the request, and what its findings hold.
#[derive(Debug, Clone)]
pub struct AuditFacts {
    pub audit: Audit,
    /// Nonconformity findings of the audit that have no corrective action yet.
    pub nonconformities_without_action: u64,
}

/// The lead auditor or auditors of the audit (holding `auditor`), and admins. Managers may
/// also cancel: planning audits is the auditors' job, stopping one a management decision.
const TEAM: &[Actor] = &[
    Actor::AssigneeWith(AccessRole::Auditor),
    Actor::Role(AccessRole::Admin),
];
const TEAM_OR_MANAGER: &[Actor] = &[
    Actor::AssigneeWith(AccessRole::Auditor),
    Actor::Role(AccessRole::Admin),
    Actor::Role(AccessRole::Manager),
];

/// What starting an audit needs; a started audit keeps them through every edit.
const START_NEEDS: &[Need<AuditFacts>] = &[
    Need {
        field: "lead_auditor_id",
        message: "a lead auditor is needed before the audit starts",
        holds: |f| f.audit.fields.lead_auditor_id.is_some(),
    },
    Need {
        field: "scope_clauses",
        message: "at least one clause or process in scope is needed before the audit starts",
        holds: |f| f.audit.has_scope(),
    },
];

const CLOSE_NEEDS: &[Need<AuditFacts>] = &[Need {
    field: "findings",
    message: "every nonconformity found needs a corrective action before the audit closes",
    holds: |f| f.nonconformities_without_action == 0,
}];

pub const WORKFLOW: &[Transition<AuditState, AuditAction, AuditFacts>] = &[
    Transition {
        from: AuditState::Planned,
        action: AuditAction::Start,
        to: AuditState::InProgress,
        who: TEAM,
        not_after: None,
        needs: START_NEEDS,
        when: None,
    },
    Transition {
        from: AuditState::InProgress,
        action: AuditAction::Report,
        to: AuditState::Reporting,
        who: TEAM,
        not_after: None,
        needs: &[],
        when: None,
    },
    Transition {
        from: AuditState::Reporting,
        action: AuditAction::Close,
        to: AuditState::Closed,
        who: TEAM,
        not_after: None,
        needs: CLOSE_NEEDS,
        when: None,
    },
    Transition {
        from: AuditState::Planned,
        action: AuditAction::Cancel,
        to: AuditState::Cancelled,
        who: TEAM_OR_MANAGER,
        not_after: None,
        needs: &[],
        when: None,
    },
    Transition {
        from: AuditState::InProgress,
        action: AuditAction::Cancel,
        to: AuditState::Cancelled,
        who: TEAM_OR_MANAGER,
        not_after: None,
        needs: &[],
        when: None,
    },
];

/// Normalizes and validates an audit's fields.
pub fn validate(input: AuditFields) -> Result<AuditFields, DomainError> {
    let mut v = Validator::new();
    let title = v.required_text("title", &input.title, 200);
    let scope_clauses = clause::validate_refs(&mut v, "scope_clauses", &input.scope_clauses);
    if input.scope_process_ids.len() > 100 {
        v.add("scope_process_ids", "must have at most 100 items");
    }
    if input.auditor_ids.len() > 50 {
        v.add("auditor_ids", "must have at most 50 items");
    }
    let criteria = v.optional_text("criteria", input.criteria.as_deref(), 10_000);
    let summary = v.optional_text("summary", input.summary.as_deref(), 20_000);
    if let (Some(start), Some(end)) = (input.planned_start, input.planned_end) {
        v.check(
            end >= start,
            "planned_end",
            "must not be before planned_start",
        );
    }
    v.finish()?;
    let lead = input.lead_auditor_id;
    // The lead auditor is named once, as the lead.
    let auditor_ids = dedup(&input.auditor_ids)
        .into_iter()
        .filter(|a| Some(a) != lead.as_ref())
        .collect();
    Ok(AuditFields {
        title,
        kind: input.kind,
        scope_clauses,
        scope_process_ids: dedup(&input.scope_process_ids),
        criteria,
        planned_start: input.planned_start,
        planned_end: input.planned_end,
        lead_auditor_id: lead,
        auditor_ids,
        summary,
    })
}

/// Whether an audit may become `edited`: closed and cancelled audits are frozen, and a
/// started one keeps what starting it needed.
pub fn check_edit(edited: &Audit) -> Result<(), DomainError> {
    if !edited.is_open() {
        return Err(DomainError::Conflict(format!(
            "a {} audit cannot be changed",
            edited.state
        )));
    }
    if edited.state == AuditState::Planned {
        return Ok(());
    }
    let facts = AuditFacts {
        audit: edited.clone(),
        nonconformities_without_action: 0,
    };
    let unmet: Vec<_> = START_NEEDS
        .iter()
        .filter(|n| !(n.holds)(&facts))
        .map(|n| FieldError::new(n.field, n.message))
        .collect();
    if unmet.is_empty() {
        Ok(())
    } else {
        Err(DomainError::PreconditionMissing(unmet))
    }
}

/// Only planned audits are deleted; a started one is cancelled instead, to keep its history.
pub fn ensure_deletable(state: AuditState) -> Result<(), DomainError> {
    if state != AuditState::Planned {
        return Err(DomainError::Conflict(format!(
            "only planned audits can be deleted; this one is {state} (cancel it instead)"
        )));
    }
    Ok(())
}

/// Who changes an audit's fields or deletes it: its team and admins; an audit nobody is
/// assigned to yet belongs to the programme, so any auditor may plan it.
pub fn may_manage(audit: &Audit, caller: &Principal) -> bool {
    caller.is_admin()
        || (caller.has(AccessRole::Auditor)
            && (audit.team().is_empty() || audit.on_team(&caller.user_id)))
}

/// A team member who holds an SMS role owning a process in scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnershipConflict {
    pub user_id: String,
    pub process_code: String,
    pub role_name: String,
}

/// Impartiality (9.2): nobody audits a process owned by an SMS role they hold. `conflicts`
/// are the ownerships found for the team and the scope; each is named on its team field.
pub fn impartiality_errors(audit: &Audit, conflicts: &[OwnershipConflict]) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (field, user_id) in audit.team() {
        for c in conflicts.iter().filter(|c| c.user_id == user_id) {
            errors.push(FieldError::new(
                field.clone(),
                format!(
                    "may not audit their own work: owns process {} through SMS role {}",
                    c.process_code, c.role_name
                ),
            ));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::workflow::{Relation, allowed_actions, check_exhaustively, decide};

    fn fields() -> AuditFields {
        AuditFields {
            title: " Audit ".into(),
            kind: AuditKind::Internal,
            scope_clauses: vec!["8.6.1".into(), "8.6.1".into()],
            scope_process_ids: vec!["p1".into(), "p1".into()],
            criteria: Some(" ".into()),
            planned_start: NaiveDate::from_ymd_opt(2027, 3, 1),
            planned_end: NaiveDate::from_ymd_opt(2027, 3, 2),
            lead_auditor_id: Some("lead".into()),
            auditor_ids: vec!["a1".into(), "lead".into(), "a1".into()],
            summary: None,
        }
    }

    fn facts(state: AuditState, complete: bool) -> AuditFacts {
        let mut fields = validate(fields()).unwrap();
        if !complete {
            fields.lead_auditor_id = None;
            fields.scope_clauses.clear();
            fields.scope_process_ids.clear();
        }
        AuditFacts {
            audit: Audit { fields, state },
            nonconformities_without_action: if complete { 0 } else { 1 },
        }
    }

    fn who(user: &str, roles: &[AccessRole]) -> Principal {
        Principal {
            user_id: user.into(),
            roles: roles.to_vec(),
        }
    }

    #[test]
    fn validate_normalizes_and_keeps_the_lead_out_of_the_auditors() {
        let f = validate(fields()).unwrap();
        assert_eq!(f.title, "Audit");
        assert_eq!(f.scope_clauses, vec!["8.6.1"]);
        assert_eq!(f.scope_process_ids, vec!["p1"]);
        assert_eq!(f.auditor_ids, vec!["a1"]);
        assert_eq!(f.criteria, None);
    }

    #[test]
    fn validate_refuses_an_end_before_the_start_and_unknown_clauses() {
        let mut f = fields();
        f.planned_end = NaiveDate::from_ymd_opt(2027, 2, 28);
        f.scope_clauses = vec!["12".into()];
        f.title = "".into();
        let Err(DomainError::Validation(errors)) = validate(f) else {
            panic!()
        };
        let names: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(names, ["title", "scope_clauses[0]", "planned_end"]);
    }

    #[test]
    fn start_and_close_name_what_is_missing() {
        let auditor = who("lead", &[AccessRole::Auditor]);
        let on_team = Relation {
            is_assignee: true,
            performed: vec![],
        };
        let bare = facts(AuditState::Planned, false);
        let Err(DomainError::PreconditionMissing(missing)) = decide(
            WORKFLOW,
            AuditState::Planned,
            AuditAction::Start,
            &auditor,
            &on_team,
            &bare,
        ) else {
            panic!()
        };
        let names: Vec<_> = missing.iter().map(|m| m.field.as_str()).collect();
        assert_eq!(names, ["lead_auditor_id", "scope_clauses"]);
        let Err(DomainError::PreconditionMissing(missing)) = decide(
            WORKFLOW,
            AuditState::Reporting,
            AuditAction::Close,
            &auditor,
            &on_team,
            &bare,
        ) else {
            panic!()
        };
        assert_eq!(missing[0].field, "findings");
    }

    #[test]
    fn only_the_team_moves_an_audit_and_managers_only_cancel() {
        let complete = facts(AuditState::Planned, true);
        let on_team = Relation {
            is_assignee: true,
            performed: vec![],
        };
        let outsider = Relation::default();
        let auditor = who("a", &[AccessRole::Auditor]);
        let manager = who("m", &[AccessRole::Manager]);
        let contributor = who("c", &[AccessRole::Contributor]);
        assert_eq!(
            allowed_actions(WORKFLOW, AuditState::Planned, &auditor, &on_team),
            [AuditAction::Start, AuditAction::Cancel]
        );
        assert!(allowed_actions(WORKFLOW, AuditState::Planned, &auditor, &outsider).is_empty());
        assert_eq!(
            allowed_actions(WORKFLOW, AuditState::InProgress, &manager, &outsider),
            [AuditAction::Cancel]
        );
        // A team member who lost the auditor role no longer acts as one.
        assert!(allowed_actions(WORKFLOW, AuditState::Planned, &contributor, &on_team).is_empty());
        assert!(matches!(
            decide(
                WORKFLOW,
                AuditState::Planned,
                AuditAction::Start,
                &auditor,
                &outsider,
                &complete
            ),
            Err(DomainError::Forbidden(_))
        ));
        assert_eq!(
            decide(
                WORKFLOW,
                AuditState::Planned,
                AuditAction::Start,
                &auditor,
                &on_team,
                &complete
            ),
            Ok(AuditState::InProgress)
        );
    }

    #[test]
    fn workflow_over_every_state_action_and_role() {
        check_exhaustively(
            WORKFLOW,
            AuditState::ALL,
            AuditAction::ALL,
            &facts(AuditState::Planned, true),
            &facts(AuditState::Planned, false),
        );
    }

    #[test]
    fn edits_keep_a_started_audit_startable_and_closed_ones_frozen() {
        assert!(check_edit(&facts(AuditState::Planned, false).audit).is_ok());
        assert!(check_edit(&facts(AuditState::InProgress, true).audit).is_ok());
        assert!(matches!(
            check_edit(&facts(AuditState::Reporting, false).audit),
            Err(DomainError::PreconditionMissing(_))
        ));
        for state in [AuditState::Closed, AuditState::Cancelled] {
            assert!(matches!(
                check_edit(&facts(state, true).audit),
                Err(DomainError::Conflict(_))
            ));
        }
        assert!(ensure_deletable(AuditState::Planned).is_ok());
        assert!(ensure_deletable(AuditState::InProgress).is_err());
    }

    #[test]
    fn impartiality_names_the_field_the_process_and_the_role() {
        let audit = facts(AuditState::Planned, true).audit;
        let conflict = OwnershipConflict {
            user_id: "a1".into(),
            process_code: "INC".into(),
            role_name: "Incident manager".into(),
        };
        let errors = impartiality_errors(&audit, &[conflict]);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "auditor_ids[0]");
        assert!(errors[0].message.contains("process INC"));
        assert!(errors[0].message.contains("SMS role Incident manager"));
    }

    #[test]
    fn who_manages_an_audit() {
        let audit = facts(AuditState::Planned, true).audit;
        assert!(may_manage(&audit, &who("lead", &[AccessRole::Auditor])));
        assert!(!may_manage(&audit, &who("other", &[AccessRole::Auditor])));
        assert!(may_manage(&audit, &who("other", &[AccessRole::Admin])));
        assert!(!may_manage(&audit, &who("lead", &[AccessRole::Manager])));
        let mut unassigned = facts(AuditState::Planned, false).audit;
        unassigned.fields.auditor_ids.clear();
        assert!(may_manage(
            &unassigned,
            &who("other", &[AccessRole::Auditor])
        ));
    }
}
