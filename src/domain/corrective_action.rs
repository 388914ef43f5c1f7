//! Corrective actions (clause 10.1): react to a nonconformity, find its cause, act, check
//! that the action worked, and adjust when it did not.

use chrono::NaiveDate;

use super::DomainError;
use super::access::AccessRole;
use super::clause::{self, ClauseNumber};
use super::validation::{FieldError, Validator};
use super::workflow::{Actor, Need, Transition};
use crate::{editable_fields, text_enum};

text_enum! {
    pub enum CorrectiveActionState {
        Open => "open",
        Investigating => "investigating",
        ActionPlanned => "action_planned",
        Implemented => "implemented",
        Verified => "verified",
        Closed => "closed",
        Cancelled => "cancelled",
    }
}

text_enum! {
    pub enum CorrectiveActionAction {
        Investigate => "investigate",
        Plan => "plan",
        Implement => "implement",
        Verify => "verify",
        Close => "close",
        Cancel => "cancel",
    }
}

text_enum! {
    /// Where the nonconformity was found.
    pub enum CorrectiveActionSource {
        AuditFinding => "audit_finding",
        Incident => "incident",
        Complaint => "complaint",
        ManagementReview => "management_review",
        Monitoring => "monitoring",
        Other => "other",
    }
}

const TEXT_MAX: usize = 10_000;

editable_fields! {
    /// The editable fields of a corrective action.
    pub struct CorrectiveActionFields / CorrectiveActionPatch {
        #[schema(example = "Changes deployed without approval", min_length = 1, max_length = 200)]
        title: String,
        /// What did not conform.
        #[schema(min_length = 1, max_length = 10000)]
        nonconformity: String,
        source: CorrectiveActionSource,
        /// The nonconformity finding this action answers; required for `audit_finding`,
        /// refused for every other source.
        #[serde(default)]
        #[schema(format = Uuid, max_length = 36)]
        finding_id: Option<String>,
        /// Taken from the finding when there is one.
        #[serde(default)]
        #[schema(value_type = Option<ClauseNumber>)]
        clause: Option<String>,
        /// Taken from the finding when there is one.
        #[serde(default)]
        #[schema(format = Uuid, max_length = 36)]
        process_id: Option<String>,
        /// The user responsible: an active user holding at least `contributor`.
        #[serde(default)]
        #[schema(format = Uuid, max_length = 36)]
        owner_id: Option<String>,
        #[serde(default)]
        due_date: Option<NaiveDate>,
        /// The immediate reaction that contains the nonconformity (needed to `investigate`).
        #[serde(default)]
        #[schema(max_length = 10000)]
        correction: Option<String>,
        /// Needed to `plan`.
        #[serde(default)]
        #[schema(max_length = 10000)]
        root_cause: Option<String>,
        /// Whether similar nonconformities exist or could occur.
        #[serde(default)]
        #[schema(max_length = 10000)]
        similar_nonconformities: Option<String>,
        /// Needed to `plan`.
        #[serde(default)]
        #[schema(max_length = 10000)]
        action_plan: Option<String>,
        /// What was done (needed to `implement`).
        #[serde(default)]
        #[schema(max_length = 10000)]
        implementation: Option<String>,
        /// The review of the implemented action's effectiveness (needed to `verify`).
        #[serde(default)]
        #[schema(max_length = 10000)]
        effectiveness_review: Option<String>,
    }
}

/// A corrective action as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrectiveAction {
    pub fields: CorrectiveActionFields,
    pub state: CorrectiveActionState,
    /// The user who took `implement` last.
    pub implemented_by: Option<String>,
    pub cancel_reason: Option<String>,
}

/// A transition request as the workflow judges it: the record with what the request
/// brings already applied, and the facts that are not stored on the record.
#[derive(Debug, Clone, PartialEq)]
pub struct Attempt {
    pub record: CorrectiveAction,
    /// The verification's verdict.
    pub effective: Option<bool>,
    /// The record answers a nonconformity found by a certification audit.
    pub from_certification_audit: bool,
}

const OWNER_OR_MANAGER: &[Actor] = &[Actor::Assignee, Actor::Role(AccessRole::Manager)];
const VERIFIERS: &[Actor] = &[
    Actor::Role(AccessRole::Auditor),
    Actor::Role(AccessRole::Manager),
];
const MANAGERS: &[Actor] = &[Actor::Role(AccessRole::Manager)];

fn set(value: &Option<String>) -> bool {
    value.is_some()
}

const NEEDS_CORRECTION: &[Need<Attempt>] = &[Need {
    field: "correction",
    message: "the correction taken to contain the nonconformity is needed",
    holds: |a| set(&a.record.fields.correction),
}];

const NEEDS_PLAN: &[Need<Attempt>] = &[
    Need {
        field: "root_cause",
        message: "the root cause is needed to plan the action",
        holds: |a| set(&a.record.fields.root_cause),
    },
    Need {
        field: "action_plan",
        message: "an action plan is needed",
        holds: |a| set(&a.record.fields.action_plan),
    },
];

const NEEDS_IMPLEMENTATION: &[Need<Attempt>] = &[Need {
    field: "implementation",
    message: "what was implemented is needed",
    holds: |a| set(&a.record.fields.implementation),
}];

const NEEDS_REVIEW: &[Need<Attempt>] = &[Need {
    field: "effectiveness_review",
    message: "the review of the action's effectiveness is needed",
    holds: |a| set(&a.record.fields.effectiveness_review),
}];

const NEEDS_REASON: &[Need<Attempt>] = &[
    Need {
        field: "reason",
        message: "the reason for cancelling is needed",
        holds: |a| set(&a.record.cancel_reason),
    },
    Need {
        field: "finding_id",
        message: "a nonconformity found by a certification audit must be corrected; it cannot be cancelled",
        holds: |a| !a.from_certification_audit,
    },
];

fn effective_true(a: &Attempt) -> bool {
    a.effective == Some(true)
}

fn effective_false(a: &Attempt) -> bool {
    a.effective == Some(false)
}

/// Both verification rows: the verdict picks where the record goes.
const fn verify(
    to: CorrectiveActionState,
    effective: bool,
) -> Transition<CorrectiveActionState, CorrectiveActionAction, Attempt> {
    Transition {
        from: CorrectiveActionState::Implemented,
        action: CorrectiveActionAction::Verify,
        to,
        who: VERIFIERS,
        not_after: Some(CorrectiveActionAction::Implement),
        needs: NEEDS_REVIEW,
        when: Some(Need {
            field: "effective",
            message: "the verdict is needed: `effective` true or false",
            holds: if effective {
                effective_true
            } else {
                effective_false
            },
        }),
    }
}

const fn cancel(
    from: CorrectiveActionState,
) -> Transition<CorrectiveActionState, CorrectiveActionAction, Attempt> {
    Transition {
        from,
        action: CorrectiveActionAction::Cancel,
        to: CorrectiveActionState::Cancelled,
        who: MANAGERS,
        not_after: None,
        needs: NEEDS_REASON,
        when: None,
    }
}

/// The 10.1 sequence; an ineffective verification goes back to planning.
pub const WORKFLOW: &[Transition<CorrectiveActionState, CorrectiveActionAction, Attempt>] = &[
    Transition {
        from: CorrectiveActionState::Open,
        action: CorrectiveActionAction::Investigate,
        to: CorrectiveActionState::Investigating,
        who: OWNER_OR_MANAGER,
        not_after: None,
        needs: NEEDS_CORRECTION,
        when: None,
    },
    Transition {
        from: CorrectiveActionState::Investigating,
        action: CorrectiveActionAction::Plan,
        to: CorrectiveActionState::ActionPlanned,
        who: OWNER_OR_MANAGER,
        not_after: None,
        needs: NEEDS_PLAN,
        when: None,
    },
    Transition {
        from: CorrectiveActionState::ActionPlanned,
        action: CorrectiveActionAction::Implement,
        to: CorrectiveActionState::Implemented,
        who: OWNER_OR_MANAGER,
        not_after: None,
        needs: NEEDS_IMPLEMENTATION,
        when: None,
    },
    verify(CorrectiveActionState::Verified, true),
    verify(CorrectiveActionState::ActionPlanned, false),
    Transition {
        from: CorrectiveActionState::Verified,
        action: CorrectiveActionAction::Close,
        to: CorrectiveActionState::Closed,
        who: &[
            Actor::Role(AccessRole::Manager),
            Actor::Role(AccessRole::Auditor),
        ],
        not_after: None,
        needs: &[],
        when: None,
    },
    cancel(CorrectiveActionState::Open),
    cancel(CorrectiveActionState::Investigating),
    cancel(CorrectiveActionState::ActionPlanned),
    cancel(CorrectiveActionState::Implemented),
    cancel(CorrectiveActionState::Verified),
];

impl CorrectiveActionState {
    /// Closed and cancelled records are kept as they are.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CorrectiveActionState::Closed | CorrectiveActionState::Cancelled
        )
    }

    /// States in which a passed due date no longer makes the record overdue: the action
    /// was verified effective (only closing is left), or the record is final.
    pub const NOT_OVERDUE: &'static [CorrectiveActionState] = &[
        CorrectiveActionState::Verified,
        CorrectiveActionState::Closed,
        CorrectiveActionState::Cancelled,
    ];

    fn rank(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).expect("listed")
    }
}

impl CorrectiveActionAction {
    /// The fields a transition request for this action may bring (stored by the same change).
    pub fn carries(self) -> &'static [&'static str] {
        use CorrectiveActionAction::*;
        match self {
            Investigate => &["correction"],
            Plan => &["root_cause", "similar_nonconformities", "action_plan"],
            Implement => &["implementation"],
            Verify => &["effectiveness_review", "effective"],
            Close => &[],
            Cancel => &["reason"],
        }
    }
}

/// Whether the record is overdue on `today`.
pub fn is_overdue(
    due_date: Option<NaiveDate>,
    state: CorrectiveActionState,
    today: NaiveDate,
) -> bool {
    due_date.is_some_and(|due| due < today) && !CorrectiveActionState::NOT_OVERDUE.contains(&state)
}

/// The fields and values a transition request brings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepInput {
    pub correction: Option<String>,
    pub root_cause: Option<String>,
    pub similar_nonconformities: Option<String>,
    pub action_plan: Option<String>,
    pub implementation: Option<String>,
    pub effectiveness_review: Option<String>,
    pub effective: Option<bool>,
    pub reason: Option<String>,
}

impl StepInput {
    fn given(&self) -> Vec<&'static str> {
        [
            ("correction", self.correction.is_some()),
            ("root_cause", self.root_cause.is_some()),
            (
                "similar_nonconformities",
                self.similar_nonconformities.is_some(),
            ),
            ("action_plan", self.action_plan.is_some()),
            ("implementation", self.implementation.is_some()),
            ("effectiveness_review", self.effectiveness_review.is_some()),
            ("effective", self.effective.is_some()),
            ("reason", self.reason.is_some()),
        ]
        .into_iter()
        .filter_map(|(field, given)| given.then_some(field))
        .collect()
    }
}

/// The record as the transition would leave it, before the workflow decides: the request's
/// fields applied (a field the action does not take is refused), and what the action itself
/// changes (`implement` starts a new round, so the previous effectiveness review, which
/// judged an earlier implementation, is cleared).
pub fn apply_step(
    record: &CorrectiveAction,
    action: CorrectiveActionAction,
    input: StepInput,
) -> Result<CorrectiveAction, DomainError> {
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
    let fields = CorrectiveActionFields {
        correction: text("correction", input.correction, &f.correction),
        root_cause: text("root_cause", input.root_cause, &f.root_cause),
        similar_nonconformities: text(
            "similar_nonconformities",
            input.similar_nonconformities,
            &f.similar_nonconformities,
        ),
        action_plan: text("action_plan", input.action_plan, &f.action_plan),
        implementation: text("implementation", input.implementation, &f.implementation),
        effectiveness_review: if action == CorrectiveActionAction::Implement {
            None
        } else {
            text(
                "effectiveness_review",
                input.effectiveness_review,
                &f.effectiveness_review,
            )
        },
        ..f.clone()
    };
    let cancel_reason = text("reason", input.reason, &record.cancel_reason);
    v.finish()?;
    Ok(CorrectiveAction {
        fields,
        cancel_reason,
        ..record.clone()
    })
}

/// Normalizes and validates a corrective action's own fields (references to other records
/// are checked by the service).
pub fn validate(input: CorrectiveActionFields) -> Result<CorrectiveActionFields, DomainError> {
    let mut v = Validator::new();
    let title = v.required_text("title", &input.title, 200);
    let nonconformity = if input.nonconformity.trim().is_empty() {
        v.add("nonconformity", "must not be empty");
        String::new()
    } else {
        v.optional_text("nonconformity", Some(&input.nonconformity), TEXT_MAX)
            .unwrap_or_default()
    };
    let from_finding = input.source == CorrectiveActionSource::AuditFinding;
    v.check(
        !from_finding || input.finding_id.is_some(),
        "finding_id",
        "is required when the source is `audit_finding`",
    );
    v.check(
        from_finding || input.finding_id.is_none(),
        "finding_id",
        "is only for the source `audit_finding`",
    );
    if let Some(c) = &input.clause {
        v.check(
            clause::exists(c),
            "clause",
            "is not a clause number of ISO/IEC 20000-1:2018",
        );
    }
    let mut text =
        |field: &str, value: &Option<String>| v.optional_text(field, value.as_deref(), TEXT_MAX);
    let fields = CorrectiveActionFields {
        correction: text("correction", &input.correction),
        root_cause: text("root_cause", &input.root_cause),
        similar_nonconformities: text("similar_nonconformities", &input.similar_nonconformities),
        action_plan: text("action_plan", &input.action_plan),
        implementation: text("implementation", &input.implementation),
        effectiveness_review: text("effectiveness_review", &input.effectiveness_review),
        title,
        nonconformity,
        ..input
    };
    v.finish()?;
    Ok(fields)
}

/// What the record takes from its finding: a clause and process the client left out are
/// filled in; a different one is refused.
pub fn inherit_from_finding(
    mut fields: CorrectiveActionFields,
    finding_clause: Option<&str>,
    finding_process: Option<&str>,
) -> Result<CorrectiveActionFields, DomainError> {
    let mut v = Validator::new();
    for (field, value, inherited) in [
        ("clause", &mut fields.clause, finding_clause),
        ("process_id", &mut fields.process_id, finding_process),
    ] {
        match (value.as_deref(), inherited) {
            (None, _) => *value = inherited.map(str::to_string),
            (Some(given), Some(inherited)) if given == inherited => {}
            _ => v.add(field, "must be the finding's own (leave it out to take it)"),
        }
    }
    v.finish()?;
    Ok(fields)
}

/// Whether the record may be edited to `edited`: closed and cancelled records are frozen,
/// and a record keeps what every step it has passed needed.
pub fn check_edit(edited: &CorrectiveAction) -> Result<(), DomainError> {
    if edited.state.is_final() {
        return Err(DomainError::Conflict(format!(
            "a {} corrective action cannot be changed",
            edited.state
        )));
    }
    let attempt = Attempt {
        record: edited.clone(),
        effective: None,
        from_certification_audit: false,
    };
    let rank = edited.state.rank();
    let mut unmet: Vec<FieldError> = Vec::new();
    let passed = WORKFLOW.iter().filter(|t| {
        t.to != CorrectiveActionState::Cancelled
            && t.from.rank() < t.to.rank()
            && t.to.rank() <= rank
    });
    for need in passed.flat_map(|t| t.needs) {
        if !(need.holds)(&attempt) && !unmet.iter().any(|e| e.field == need.field) {
            unmet.push(FieldError::new(need.field, need.message));
        }
    }
    if unmet.is_empty() {
        Ok(())
    } else {
        Err(DomainError::PreconditionMissing(unmet))
    }
}

/// An action decided at a management review keeps `management_review` as its source.
pub fn check_review_source(
    fields: &CorrectiveActionFields,
    from_review: bool,
) -> Result<(), DomainError> {
    if from_review && fields.source != CorrectiveActionSource::ManagementReview {
        return Err(DomainError::invalid(
            "source",
            "stays `management_review`: the action was decided at a management review",
        ));
    }
    Ok(())
}

/// Only a record nothing has happened to yet can be deleted; later ones are cancelled, to
/// keep their history.
pub fn ensure_deletable(state: CorrectiveActionState) -> Result<(), DomainError> {
    if state != CorrectiveActionState::Open {
        return Err(DomainError::Conflict(format!(
            "only open corrective actions can be deleted; this one is {state} (cancel it instead)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Principal;
    use crate::domain::workflow::{Relation, allowed_actions, decide};
    use CorrectiveActionAction as A;
    use CorrectiveActionState as S;

    fn fields() -> CorrectiveActionFields {
        CorrectiveActionFields {
            title: " Unapproved change ".into(),
            nonconformity: "A change went live without approval".into(),
            source: CorrectiveActionSource::Incident,
            finding_id: None,
            clause: Some("8.5.1".into()),
            process_id: None,
            owner_id: Some("owner".into()),
            due_date: None,
            correction: None,
            root_cause: None,
            similar_nonconformities: None,
            action_plan: None,
            implementation: None,
            effectiveness_review: Some(" ".into()),
        }
    }

    fn record(state: S, complete: bool) -> CorrectiveAction {
        let mut fields = validate(fields()).unwrap();
        if complete {
            fields.correction = Some("c".into());
            fields.root_cause = Some("r".into());
            fields.action_plan = Some("p".into());
            fields.implementation = Some("i".into());
            fields.effectiveness_review = Some("e".into());
        }
        CorrectiveAction {
            fields,
            state,
            implemented_by: None,
            cancel_reason: complete.then(|| "no longer needed".into()),
        }
    }

    fn attempt(state: S, complete: bool, effective: Option<bool>) -> Attempt {
        Attempt {
            record: record(state, complete),
            effective,
            from_certification_audit: false,
        }
    }

    fn caller(role: AccessRole) -> Principal {
        Principal {
            user_id: "u".into(),
            roles: vec![role],
        }
    }

    #[test]
    fn validate_normalizes_and_checks_the_finding_link() {
        let f = validate(fields()).unwrap();
        assert_eq!(f.title, "Unapproved change");
        assert_eq!(f.effectiveness_review, None);
        let mut bad = fields();
        bad.finding_id = Some("f".into());
        bad.clause = Some("99".into());
        bad.nonconformity = " ".into();
        let Err(DomainError::Validation(errors)) = validate(bad) else {
            panic!()
        };
        let names: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(names, vec!["nonconformity", "finding_id", "clause"]);
        let mut from_audit = fields();
        from_audit.source = CorrectiveActionSource::AuditFinding;
        assert!(validate(from_audit).is_err(), "needs a finding");
    }

    #[test]
    fn the_finding_gives_clause_and_process() {
        let mut f = fields();
        f.clause = None;
        let f = inherit_from_finding(f, Some("8.5.1"), Some("p")).unwrap();
        assert_eq!(
            (f.clause.as_deref(), f.process_id.as_deref()),
            (Some("8.5.1"), Some("p"))
        );
        assert!(inherit_from_finding(f.clone(), Some("8.5.1"), Some("p")).is_ok());
        let Err(DomainError::Validation(errors)) = inherit_from_finding(f, Some("8.6.1"), None)
        else {
            panic!()
        };
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn a_step_takes_only_its_own_fields() {
        let open = record(S::Open, false);
        let after = apply_step(
            &open,
            A::Investigate,
            StepInput {
                correction: Some(" rolled back ".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(after.fields.correction.as_deref(), Some("rolled back"));
        let Err(DomainError::Validation(errors)) = apply_step(
            &open,
            A::Investigate,
            StepInput {
                effective: Some(true),
                root_cause: Some("x".into()),
                ..Default::default()
            },
        ) else {
            panic!()
        };
        let names: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(names, vec!["root_cause", "effective"]);
        let reimplemented = apply_step(
            &record(S::ActionPlanned, true),
            A::Implement,
            StepInput::default(),
        )
        .unwrap();
        assert_eq!(reimplemented.fields.effectiveness_review, None);
    }

    #[test]
    fn verify_names_every_missing_need_and_picks_the_row_by_verdict() {
        let auditor = caller(AccessRole::Auditor);
        let none = Relation::default();
        let bare = attempt(S::Implemented, false, None);
        let Err(DomainError::PreconditionMissing(missing)) =
            decide(WORKFLOW, S::Implemented, A::Verify, &auditor, &none, &bare)
        else {
            panic!()
        };
        assert_eq!(missing[0].field, "effective");
        let no_review = attempt(S::Implemented, false, Some(true));
        let Err(DomainError::PreconditionMissing(missing)) = decide(
            WORKFLOW,
            S::Implemented,
            A::Verify,
            &auditor,
            &none,
            &no_review,
        ) else {
            panic!()
        };
        assert_eq!(missing[0].field, "effectiveness_review");
        for (effective, to) in [(true, S::Verified), (false, S::ActionPlanned)] {
            let a = attempt(S::Implemented, true, Some(effective));
            assert_eq!(
                decide(WORKFLOW, S::Implemented, A::Verify, &auditor, &none, &a),
                Ok(to)
            );
        }
        let plan = attempt(S::Investigating, false, None);
        let Err(DomainError::PreconditionMissing(missing)) = decide(
            WORKFLOW,
            S::Investigating,
            A::Plan,
            &caller(AccessRole::Manager),
            &none,
            &plan,
        ) else {
            panic!()
        };
        let names: Vec<_> = missing.iter().map(|m| m.field.as_str()).collect();
        assert_eq!(names, vec!["root_cause", "action_plan"]);
    }

    #[test]
    fn the_implementer_never_verifies() {
        let implementer = Relation {
            is_assignee: true,
            performed: vec![A::Implement],
        };
        for role in [AccessRole::Auditor, AccessRole::Manager, AccessRole::Admin] {
            let a = attempt(S::Implemented, true, Some(true));
            assert!(matches!(
                decide(
                    WORKFLOW,
                    S::Implemented,
                    A::Verify,
                    &caller(role),
                    &implementer,
                    &a
                ),
                Err(DomainError::Forbidden(_))
            ));
            assert!(
                !allowed_actions(WORKFLOW, S::Implemented, &caller(role), &implementer)
                    .contains(&A::Verify)
            );
        }
    }

    #[test]
    fn a_certification_nonconformity_is_not_cancelled() {
        let mut a = attempt(S::Investigating, true, None);
        a.from_certification_audit = true;
        let Err(DomainError::PreconditionMissing(missing)) = decide(
            WORKFLOW,
            S::Investigating,
            A::Cancel,
            &caller(AccessRole::Manager),
            &Relation::default(),
            &a,
        ) else {
            panic!()
        };
        assert_eq!(missing[0].field, "finding_id");
    }

    #[test]
    fn edits_keep_what_passed_steps_needed() {
        assert!(check_edit(&record(S::Open, false)).is_ok());
        assert!(check_edit(&record(S::Verified, true)).is_ok());
        let mut planned = record(S::ActionPlanned, true);
        planned.fields.implementation = None;
        planned.fields.effectiveness_review = None;
        assert!(check_edit(&planned).is_ok(), "not yet implemented");
        planned.fields.root_cause = None;
        let Err(DomainError::PreconditionMissing(missing)) = check_edit(&planned) else {
            panic!()
        };
        assert_eq!(missing[0].field, "root_cause");
        assert!(matches!(
            check_edit(&record(S::Closed, true)),
            Err(DomainError::Conflict(_))
        ));
    }

    #[test]
    fn an_action_from_a_review_keeps_its_source() {
        let mut f = fields();
        assert!(check_review_source(&f, true).is_err());
        assert!(check_review_source(&f, false).is_ok());
        f.source = CorrectiveActionSource::ManagementReview;
        assert!(check_review_source(&f, true).is_ok());
    }

    #[test]
    fn overdue_by_due_date_and_state() {
        let today = NaiveDate::from_ymd_opt(2027, 3, 10).unwrap();
        let past = NaiveDate::from_ymd_opt(2027, 3, 9);
        assert!(is_overdue(past, S::Implemented, today));
        assert!(!is_overdue(Some(today), S::Open, today));
        assert!(!is_overdue(None, S::Open, today));
        assert!(!is_overdue(past, S::Verified, today));
        assert!(!is_overdue(past, S::Cancelled, today));
    }

    /// Every state × action × access role × relation (none, assignee, implementer, both),
    /// against the table: the same answer from `decide` and `allowed_actions`.
    #[test]
    fn workflow_over_every_state_action_role_and_relation() {
        let relations = [
            Relation::default(),
            Relation {
                is_assignee: true,
                performed: vec![],
            },
            Relation {
                is_assignee: false,
                performed: vec![A::Implement],
            },
            Relation {
                is_assignee: true,
                performed: vec![A::Implement],
            },
        ];
        for &state in S::ALL {
            for &action in A::ALL {
                for &role in AccessRole::ALL {
                    for relation in &relations {
                        let who = caller(role);
                        let rows: Vec<_> = WORKFLOW
                            .iter()
                            .filter(|t| t.from == state && t.action == action)
                            .collect();
                        let permitted: Vec<_> =
                            rows.iter().filter(|t| t.permits(&who, relation)).collect();
                        let allowed = allowed_actions(WORKFLOW, state, &who, relation);
                        assert_eq!(allowed.contains(&action), !permitted.is_empty());
                        let context = format!("{state} {action} {role:?} {relation:?}");
                        for effective in [true, false] {
                            let complete = attempt(state, true, Some(effective));
                            let result = decide(WORKFLOW, state, action, &who, relation, &complete);
                            let expected = if rows.is_empty() {
                                Err("invalid")
                            } else if permitted.is_empty() {
                                Err("forbidden")
                            } else {
                                Ok(permitted
                                    .iter()
                                    .find(|t| t.when.as_ref().is_none_or(|w| (w.holds)(&complete)))
                                    .expect("a complete record fits a row")
                                    .to)
                            };
                            match (expected, &result) {
                                (Ok(to), Ok(got)) => assert_eq!(to, *got, "{context}"),
                                (Err("invalid"), Err(DomainError::InvalidTransition { .. })) => {}
                                (Err("forbidden"), Err(DomainError::Forbidden(_))) => {}
                                _ => panic!("{context}: {result:?}"),
                            }
                        }
                        if !permitted.is_empty() {
                            let bare = attempt(state, false, None);
                            let result = decide(WORKFLOW, state, action, &who, relation, &bare);
                            let needs_something = permitted
                                .iter()
                                .all(|t| t.when.is_some() || !t.needs.is_empty());
                            assert_eq!(
                                matches!(result, Err(DomainError::PreconditionMissing(_))),
                                needs_something,
                                "{context}: {result:?}"
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_table_follows_clause_10_1() {
        let manager = caller(AccessRole::Manager);
        let contributor = caller(AccessRole::Contributor);
        let owner = Relation {
            is_assignee: true,
            performed: vec![],
        };
        let none = Relation::default();
        assert_eq!(
            allowed_actions(WORKFLOW, S::Open, &contributor, &owner),
            vec![A::Investigate]
        );
        assert!(allowed_actions(WORKFLOW, S::Open, &contributor, &none).is_empty());
        assert_eq!(
            allowed_actions(WORKFLOW, S::Open, &manager, &none),
            vec![A::Investigate, A::Cancel]
        );
        assert_eq!(
            allowed_actions(WORKFLOW, S::Verified, &caller(AccessRole::Auditor), &none),
            vec![A::Close]
        );
        for state in [S::Closed, S::Cancelled] {
            assert!(allowed_actions(WORKFLOW, state, &caller(AccessRole::Admin), &none).is_empty());
        }
        assert!(
            allowed_actions(
                WORKFLOW,
                S::Implemented,
                &caller(AccessRole::Viewer),
                &owner
            )
            .is_empty()
        );
    }
}
