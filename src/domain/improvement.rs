//! Improvements (clause 10.2): opportunities to make the SMS and the services better,
//! approved on their expected benefit, implemented, and evaluated against that benefit.

use chrono::NaiveDate;

use super::DomainError;
use super::access::{AccessRole, Principal};
use super::validation::{FieldError, Validator};
use super::workflow::{Actor, Need, Transition};
use crate::{editable_fields, text_enum};

text_enum! {
    pub enum ImprovementState {
        Proposed => "proposed",
        Approved => "approved",
        Implemented => "implemented",
        Evaluated => "evaluated",
        Rejected => "rejected",
    }
}

text_enum! {
    pub enum ImprovementAction {
        Approve => "approve",
        Implement => "implement",
        Evaluate => "evaluate",
        Reject => "reject",
    }
}

text_enum! {
    /// Where the opportunity for improvement came from.
    pub enum ImprovementSource {
        AuditFinding => "audit_finding",
        ManagementReview => "management_review",
        Risk => "risk",
        Monitoring => "monitoring",
        Incident => "incident",
        Complaint => "complaint",
        Suggestion => "suggestion",
        Other => "other",
    }
}

const TEXT_MAX: usize = 10_000;

editable_fields! {
    /// The editable fields of an improvement.
    pub struct ImprovementFields / ImprovementPatch {
        #[schema(example = "Automate change risk scoring", min_length = 1, max_length = 200)]
        title: String,
        /// What is proposed.
        #[schema(min_length = 1, max_length = 10000)]
        description: String,
        source: ImprovementSource,
        /// The expected benefit, the target the improvement is evaluated against (needed to
        /// `approve`).
        #[serde(default)]
        #[schema(max_length = 10000)]
        benefit: Option<String>,
        /// The user responsible: an active user holding at least `contributor`.
        #[serde(default)]
        #[schema(format = Uuid, max_length = 36)]
        owner_id: Option<String>,
        #[serde(default)]
        due_date: Option<NaiveDate>,
        /// What was done (needed to `implement`).
        #[serde(default)]
        #[schema(max_length = 10000)]
        implementation: Option<String>,
        /// The benefit achieved, measured against `benefit` (needed to `evaluate`).
        #[serde(default)]
        #[schema(max_length = 10000)]
        evaluation: Option<String>,
    }
}

/// An improvement as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Improvement {
    pub fields: ImprovementFields,
    pub state: ImprovementState,
    /// The management review that decided it, if one did (set by that review).
    pub management_review_id: Option<String>,
    pub reject_reason: Option<String>,
}

const OWNER_OR_MANAGER: &[Actor] = &[Actor::Assignee, Actor::Role(AccessRole::Manager)];
const MANAGERS: &[Actor] = &[Actor::Role(AccessRole::Manager)];

fn set(value: &Option<String>) -> bool {
    value.is_some()
}

const NEEDS_BENEFIT: &[Need<Improvement>] = &[Need {
    field: "benefit",
    message: "the expected benefit is needed to approve an improvement",
    holds: |i| set(&i.fields.benefit),
}];

const NEEDS_IMPLEMENTATION: &[Need<Improvement>] = &[Need {
    field: "implementation",
    message: "what was implemented is needed",
    holds: |i| set(&i.fields.implementation),
}];

const NEEDS_EVALUATION: &[Need<Improvement>] = &[Need {
    field: "evaluation",
    message: "the evaluation of the benefit achieved is needed",
    holds: |i| set(&i.fields.evaluation),
}];

const NEEDS_REASON: &[Need<Improvement>] = &[Need {
    field: "reason",
    message: "the reason for rejecting is needed",
    holds: |i| set(&i.reject_reason),
}];

const fn reject(
    from: ImprovementState,
) -> Transition<ImprovementState, ImprovementAction, Improvement> {
    Transition {
        from,
        action: ImprovementAction::Reject,
        to: ImprovementState::Rejected,
        who: MANAGERS,
        not_after: None,
        needs: NEEDS_REASON,
        when: None,
    }
}

/// Clause 10.2: approve on the expected benefit, implement, evaluate what was achieved.
pub const WORKFLOW: &[Transition<ImprovementState, ImprovementAction, Improvement>] = &[
    Transition {
        from: ImprovementState::Proposed,
        action: ImprovementAction::Approve,
        to: ImprovementState::Approved,
        who: MANAGERS,
        not_after: None,
        needs: NEEDS_BENEFIT,
        when: None,
    },
    Transition {
        from: ImprovementState::Approved,
        action: ImprovementAction::Implement,
        to: ImprovementState::Implemented,
        who: OWNER_OR_MANAGER,
        not_after: None,
        needs: NEEDS_IMPLEMENTATION,
        when: None,
    },
    Transition {
        from: ImprovementState::Implemented,
        action: ImprovementAction::Evaluate,
        to: ImprovementState::Evaluated,
        who: MANAGERS,
        not_after: None,
        needs: NEEDS_EVALUATION,
        when: None,
    },
    reject(ImprovementState::Proposed),
    reject(ImprovementState::Approved),
];

impl ImprovementState {
    /// Evaluated and rejected improvements are kept as they are.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ImprovementState::Evaluated | ImprovementState::Rejected
        )
    }

    fn rank(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).expect("listed")
    }
}

impl ImprovementAction {
    /// The fields a transition request for this action may bring (stored by the same change).
    pub fn carries(self) -> &'static [&'static str] {
        use ImprovementAction::*;
        match self {
            Approve => &["benefit"],
            Implement => &["implementation"],
            Evaluate => &["evaluation"],
            Reject => &["reason"],
        }
    }
}

/// The fields and values a transition request brings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepInput {
    pub benefit: Option<String>,
    pub implementation: Option<String>,
    pub evaluation: Option<String>,
    pub reason: Option<String>,
}

impl StepInput {
    fn given(&self) -> Vec<&'static str> {
        [
            ("benefit", self.benefit.is_some()),
            ("implementation", self.implementation.is_some()),
            ("evaluation", self.evaluation.is_some()),
            ("reason", self.reason.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, given)| given.then_some(field))
        .collect()
    }
}

/// The record as the transition would leave it, before the workflow decides: the request's
/// fields applied; a field the action does not take is refused.
pub fn apply_step(
    record: &Improvement,
    action: ImprovementAction,
    input: StepInput,
) -> Result<Improvement, DomainError> {
    let mut v = Validator::new();
    for field in input.given() {
        if !action.carries().contains(&field) {
            v.add(field, format!("is not taken by `{action}`"));
        }
    }
    let mut text = |field: &str, value: Option<String>, current: &Option<String>| match value {
        Some(value) => v.optional_text(field, Some(&value), TEXT_MAX),
        None => current.clone(),
    };
    let f = &record.fields;
    let fields = ImprovementFields {
        benefit: text("benefit", input.benefit, &f.benefit),
        implementation: text("implementation", input.implementation, &f.implementation),
        evaluation: text("evaluation", input.evaluation, &f.evaluation),
        ..f.clone()
    };
    let reject_reason = text("reason", input.reason, &record.reject_reason);
    v.finish()?;
    Ok(Improvement {
        fields,
        reject_reason,
        ..record.clone()
    })
}

/// Normalizes and validates an improvement's own fields (the owner is checked by the
/// service).
pub fn validate(input: ImprovementFields) -> Result<ImprovementFields, DomainError> {
    let mut v = Validator::new();
    let title = v.required_text("title", &input.title, 200);
    let description = if input.description.trim().is_empty() {
        v.add("description", "must not be empty");
        String::new()
    } else {
        v.optional_text("description", Some(&input.description), TEXT_MAX)
            .unwrap_or_default()
    };
    let mut text =
        |field: &str, value: &Option<String>| v.optional_text(field, value.as_deref(), TEXT_MAX);
    let fields = ImprovementFields {
        benefit: text("benefit", &input.benefit),
        implementation: text("implementation", &input.implementation),
        evaluation: text("evaluation", &input.evaluation),
        title,
        description,
        ..input
    };
    v.finish()?;
    Ok(fields)
}

/// Who may change an improvement's fields: a manager any of them; the owner (a
/// contributor) the text of the improvement, but not who owns it, its source or its due
/// date, which are the manager's to decide.
pub fn check_editor(
    caller: &Principal,
    before: &Improvement,
    after: &ImprovementFields,
) -> Result<(), DomainError> {
    if caller.has(AccessRole::Manager) {
        return Ok(());
    }
    let owns = caller.has(AccessRole::Contributor)
        && before.fields.owner_id.as_deref() == Some(caller.user_id.as_str());
    if !owns {
        return Err(DomainError::Forbidden(
            "change an improvement that is not assigned to you".into(),
        ));
    }
    let f = &before.fields;
    let managed = [
        ("owner_id", f.owner_id != after.owner_id),
        ("source", f.source != after.source),
        ("due_date", f.due_date != after.due_date),
    ];
    match managed.iter().find(|(_, changed)| *changed) {
        Some((field, _)) => Err(DomainError::Forbidden(format!(
            "change `{field}` of an improvement (a manager does)"
        ))),
        None => Ok(()),
    }
}

/// An improvement decided at a management review keeps `management_review` as its source.
pub fn check_review_source(
    fields: &ImprovementFields,
    from_review: bool,
) -> Result<(), DomainError> {
    if from_review && fields.source != ImprovementSource::ManagementReview {
        return Err(DomainError::invalid(
            "source",
            "stays `management_review`: the improvement was decided at a management review",
        ));
    }
    Ok(())
}

/// Whether the record may be edited to `edited`: evaluated and rejected records are frozen,
/// and a record keeps what every step it has passed needed.
pub fn check_edit(edited: &Improvement) -> Result<(), DomainError> {
    if edited.state.is_final() {
        return Err(DomainError::Conflict(format!(
            "a {} improvement cannot be changed",
            edited.state
        )));
    }
    let rank = edited.state.rank();
    let mut unmet: Vec<FieldError> = Vec::new();
    let passed = WORKFLOW.iter().filter(|t| {
        t.to != ImprovementState::Rejected && t.from.rank() < t.to.rank() && t.to.rank() <= rank
    });
    for need in passed.flat_map(|t| t.needs) {
        if !(need.holds)(edited) && !unmet.iter().any(|e| e.field == need.field) {
            unmet.push(FieldError::new(need.field, need.message));
        }
    }
    if unmet.is_empty() {
        Ok(())
    } else {
        Err(DomainError::PreconditionMissing(unmet))
    }
}

/// Only a proposed improvement can be deleted; later ones are rejected, to keep their
/// history.
pub fn ensure_deletable(state: ImprovementState) -> Result<(), DomainError> {
    if state != ImprovementState::Proposed {
        return Err(DomainError::Conflict(format!(
            "only proposed improvements can be deleted; this one is {state} (reject it instead)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::workflow::{Relation, allowed_actions, check_exhaustively, decide};
    use ImprovementAction as A;
    use ImprovementState as S;

    fn fields() -> ImprovementFields {
        ImprovementFields {
            title: " Automate risk scoring ".into(),
            description: "Score changes automatically".into(),
            source: ImprovementSource::Suggestion,
            benefit: Some(" ".into()),
            owner_id: Some("owner".into()),
            due_date: None,
            implementation: None,
            evaluation: None,
        }
    }

    fn record(state: S, complete: bool) -> Improvement {
        let mut fields = validate(fields()).unwrap();
        if complete {
            fields.benefit = Some("Half the review time".into());
            fields.implementation = Some("Scoring deployed".into());
            fields.evaluation = Some("Review time down 60%".into());
        }
        Improvement {
            fields,
            state,
            management_review_id: None,
            reject_reason: complete.then(|| "not worth it".into()),
        }
    }

    fn caller(role: AccessRole, user_id: &str) -> Principal {
        Principal {
            user_id: user_id.into(),
            roles: vec![role],
        }
    }

    #[test]
    fn validate_normalizes_and_names_each_problem() {
        let f = validate(fields()).unwrap();
        assert_eq!(f.title, "Automate risk scoring");
        assert_eq!(f.benefit, None, "blank text is no text");
        let mut bad = fields();
        bad.title = "x".repeat(201);
        bad.description = " ".into();
        bad.evaluation = Some("a\u{7}b".into());
        let Err(DomainError::Validation(errors)) = validate(bad) else {
            panic!()
        };
        let names: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(names, vec!["title", "description", "evaluation"]);
    }

    #[test]
    fn a_step_takes_only_its_own_fields() {
        let approved = record(S::Approved, false);
        let after = apply_step(
            &approved,
            A::Implement,
            StepInput {
                implementation: Some(" deployed ".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(after.fields.implementation.as_deref(), Some("deployed"));
        let Err(DomainError::Validation(errors)) = apply_step(
            &approved,
            A::Implement,
            StepInput {
                evaluation: Some("x".into()),
                reason: Some("y".into()),
                ..Default::default()
            },
        ) else {
            panic!()
        };
        let names: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(names, vec!["evaluation", "reason"]);
    }

    #[test]
    fn preconditions_are_named() {
        let manager = caller(AccessRole::Manager, "m");
        let none = Relation::default();
        for (state, action, field) in [
            (S::Proposed, A::Approve, "benefit"),
            (S::Approved, A::Implement, "implementation"),
            (S::Implemented, A::Evaluate, "evaluation"),
            (S::Approved, A::Reject, "reason"),
        ] {
            let bare = record(state, false);
            let Err(DomainError::PreconditionMissing(missing)) =
                decide(WORKFLOW, state, action, &manager, &none, &bare)
            else {
                panic!("{state} {action}")
            };
            assert_eq!(missing[0].field, field);
        }
    }

    #[test]
    fn the_owner_implements_a_manager_decides() {
        let owner = caller(AccessRole::Contributor, "owner");
        let mine = Relation {
            is_assignee: true,
            performed: vec![],
        };
        let none = Relation::default();
        assert_eq!(
            allowed_actions(WORKFLOW, S::Approved, &owner, &mine),
            vec![A::Implement]
        );
        assert!(allowed_actions(WORKFLOW, S::Approved, &owner, &none).is_empty());
        assert!(allowed_actions(WORKFLOW, S::Proposed, &owner, &mine).is_empty());
        assert_eq!(
            allowed_actions(
                WORKFLOW,
                S::Proposed,
                &caller(AccessRole::Manager, "m"),
                &none
            ),
            vec![A::Approve, A::Reject]
        );
        for role in [AccessRole::Viewer, AccessRole::Auditor] {
            assert!(
                allowed_actions(WORKFLOW, S::Approved, &caller(role, "owner"), &mine).is_empty()
            );
        }
        for state in [S::Evaluated, S::Rejected] {
            assert!(
                allowed_actions(WORKFLOW, state, &caller(AccessRole::Admin, "a"), &none).is_empty()
            );
        }
    }

    #[test]
    fn the_owner_edits_text_a_manager_the_rest() {
        let before = record(S::Proposed, false);
        let owner = caller(AccessRole::Contributor, "owner");
        let mut text = before.fields.clone();
        text.description = "Better".into();
        text.implementation = Some("Draft".into());
        assert!(check_editor(&owner, &before, &text).is_ok());
        for change in [
            |f: &mut ImprovementFields| f.owner_id = Some("other".into()),
            |f: &mut ImprovementFields| f.source = ImprovementSource::Incident,
            |f: &mut ImprovementFields| f.due_date = NaiveDate::from_ymd_opt(2030, 1, 1),
        ] {
            let mut after = before.fields.clone();
            change(&mut after);
            assert!(matches!(
                check_editor(&owner, &before, &after),
                Err(DomainError::Forbidden(_))
            ));
            assert!(check_editor(&caller(AccessRole::Manager, "m"), &before, &after).is_ok());
        }
        let stranger = caller(AccessRole::Contributor, "stranger");
        assert!(check_editor(&stranger, &before, &text).is_err());
        let viewer_owner = caller(AccessRole::Viewer, "owner");
        assert!(check_editor(&viewer_owner, &before, &text).is_err());
    }

    #[test]
    fn edits_keep_what_passed_steps_needed() {
        assert!(check_edit(&record(S::Proposed, false)).is_ok());
        let mut approved = record(S::Approved, true);
        approved.fields.implementation = None;
        assert!(check_edit(&approved).is_ok(), "not yet implemented");
        approved.fields.benefit = None;
        let Err(DomainError::PreconditionMissing(missing)) = check_edit(&approved) else {
            panic!()
        };
        assert_eq!(missing[0].field, "benefit");
        for state in [S::Evaluated, S::Rejected] {
            assert!(matches!(
                check_edit(&record(state, true)),
                Err(DomainError::Conflict(_))
            ));
        }
        assert!(ensure_deletable(S::Proposed).is_ok());
        assert!(ensure_deletable(S::Approved).is_err());
    }

    #[test]
    fn an_improvement_from_a_review_keeps_its_source() {
        let mut f = fields();
        assert!(check_review_source(&f, true).is_err());
        assert!(check_review_source(&f, false).is_ok());
        f.source = ImprovementSource::ManagementReview;
        assert!(check_review_source(&f, true).is_ok());
    }

    #[test]
    fn workflow_over_every_state_action_and_role() {
        check_exhaustively(
            WORKFLOW,
            S::ALL,
            A::ALL,
            &record(S::Proposed, true),
            &record(S::Proposed, false),
        );
    }
}
