//! Management reviews (clause 9.3): top management reviews the SMS at planned intervals,
//! considering a fixed set of inputs, and decides what follows. The review is planned, held
//! (every input considered, with the date and the attendees) and its record approved.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use utoipa::ToSchema;

use super::DomainError;
use super::access::AccessRole;
use super::clause::ClauseNumber;
use super::corrective_action::{CorrectiveActionFields, CorrectiveActionSource};
use super::fields::PatchField;
use super::improvement::{ImprovementFields, ImprovementSource};
use super::validation::{FieldError, Validator, dedup};
use super::workflow::{Actor, Need, Transition};
use crate::{editable_fields, text_enum};

text_enum! {
    pub enum ManagementReviewState {
        Planned => "planned",
        Held => "held",
        Approved => "approved",
        Cancelled => "cancelled",
    }
}

text_enum! {
    pub enum ManagementReviewAction { Hold => "hold", Approve => "approve", Cancel => "cancel" }
}

const INPUT_MAX: usize = 10_000;
const DECISION_MAX: usize = 2_000;
const MAX_DECISIONS: usize = 100;
const MAX_ATTENDEES: usize = 100;

editable_fields! {
    /// What the review considered: one text per input that clause 9.3 requires. Each is
    /// needed to `hold` the review.
    #[derive(Default)]
    pub struct ReviewInputs / ReviewInputsPatch {
        /// The status of actions from previous management reviews.
        #[serde(default)]
        #[schema(max_length = 10000)]
        previous_actions_status: Option<String>,
        /// Changes in external and internal issues relevant to the SMS, and in the needs
        /// and expectations of interested parties.
        #[serde(default)]
        #[schema(max_length = 10000)]
        changes_in_context: Option<String>,
        /// The performance and effectiveness of the SMS.
        #[serde(default)]
        #[schema(max_length = 10000)]
        sms_performance: Option<String>,
        /// The extent to which the service management objectives have been met.
        #[serde(default)]
        #[schema(max_length = 10000)]
        objectives: Option<String>,
        /// Trends in nonconformities and corrective actions, in monitoring and measurement
        /// results, and in audit results.
        #[serde(default)]
        #[schema(max_length = 10000)]
        nonconformity_and_audit_trends: Option<String>,
        /// The performance of the services, and of external suppliers and internal
        /// suppliers.
        #[serde(default)]
        #[schema(max_length = 10000)]
        service_and_supplier_performance: Option<String>,
        /// Feedback from customers and other interested parties, complaints included.
        #[serde(default)]
        #[schema(max_length = 10000)]
        feedback: Option<String>,
        /// The adequacy of resources (human, technical, information and financial).
        #[serde(default)]
        #[schema(max_length = 10000)]
        resources: Option<String>,
        /// The effectiveness of the actions taken to address risks and opportunities.
        #[serde(default)]
        #[schema(max_length = 10000)]
        risks: Option<String>,
        /// Opportunities for continual improvement.
        #[serde(default)]
        #[schema(max_length = 10000)]
        improvement_opportunities: Option<String>,
    }
}

/// A patch of the inputs merges into them (RFC 7396 merges nested objects).
impl PatchField for ReviewInputs {
    type Patch = ReviewInputsPatch;
    fn patched(patch: ReviewInputsPatch) -> Self {
        patch.apply_to(ReviewInputs::default())
    }
    fn merged(current: Self, patch: ReviewInputsPatch) -> Self {
        patch.apply_to(current)
    }
}

impl ReviewInputs {
    /// Each input with its name, in the order of the clause.
    fn named(&self) -> [(&'static str, &Option<String>); 10] {
        [
            ("previous_actions_status", &self.previous_actions_status),
            ("changes_in_context", &self.changes_in_context),
            ("sms_performance", &self.sms_performance),
            ("objectives", &self.objectives),
            (
                "nonconformity_and_audit_trends",
                &self.nonconformity_and_audit_trends,
            ),
            (
                "service_and_supplier_performance",
                &self.service_and_supplier_performance,
            ),
            ("feedback", &self.feedback),
            ("resources", &self.resources),
            ("risks", &self.risks),
            ("improvement_opportunities", &self.improvement_opportunities),
        ]
    }
}

editable_fields! {
    /// The editable fields of a management review.
    pub struct ManagementReviewFields / ManagementReviewPatch {
        #[schema(example = "Management review Q1 2027", min_length = 1, max_length = 200)]
        title: String,
        /// The date the review is planned for.
        #[serde(default)]
        planned_for: Option<NaiveDate>,
        /// The date the review took place (needed to `hold`; not after today).
        #[serde(default)]
        held_on: Option<NaiveDate>,
        /// The people who attended: active persons (not service accounts) when added. At
        /// least one is needed to `hold`.
        #[serde(default)]
        #[schema(max_items = 100)]
        attendee_ids: Vec<String>,
        /// The inputs considered (clause 9.3). A PATCH merges them field by field.
        #[serde(default)]
        inputs: ReviewInputs,
        /// The decisions taken (the review's outputs), one text of at most 2000 characters
        /// each. At least one is needed to `approve`.
        #[serde(default)]
        #[schema(max_items = 100)]
        decisions: Vec<String>,
        /// Where the minutes are kept (a URI into the document store, or a reference).
        #[serde(default)]
        #[schema(max_length = 2000)]
        minutes_location: Option<String>,
    }
}

/// A management review as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagementReview {
    pub fields: ManagementReviewFields,
    pub state: ManagementReviewState,
    /// Who approved the record, and when.
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTime<Utc>>,
}

/// What a transition looks at: the review, and the service's date.
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewFacts {
    pub review: ManagementReview,
    pub today: NaiveDate,
}

const MANAGERS: &[Actor] = &[Actor::Role(AccessRole::Manager)];

fn input(facts: &ReviewFacts, name: &str) -> bool {
    facts
        .review
        .fields
        .inputs
        .named()
        .iter()
        .any(|(n, value)| *n == name && value.is_some())
}

/// Declares the need for one input, named `inputs.<name>` as the client knows it.
macro_rules! input_need {
    ($name:literal, $message:literal) => {
        Need {
            field: concat!("inputs.", $name),
            message: $message,
            holds: |f| input(f, $name),
        }
    };
}

/// What holding a review needs; a held review keeps them through every edit.
const HOLD_NEEDS: &[Need<ReviewFacts>] = &[
    input_need!(
        "previous_actions_status",
        "the status of actions from previous management reviews must be considered"
    ),
    input_need!(
        "changes_in_context",
        "changes in external and internal issues and in interested parties must be considered"
    ),
    input_need!(
        "sms_performance",
        "the performance and effectiveness of the SMS must be considered"
    ),
    input_need!(
        "objectives",
        "the extent to which the objectives have been met must be considered"
    ),
    input_need!(
        "nonconformity_and_audit_trends",
        "trends in nonconformities, measurements and audit results must be considered"
    ),
    input_need!(
        "service_and_supplier_performance",
        "the performance of the services and suppliers must be considered"
    ),
    input_need!(
        "feedback",
        "feedback from customers and interested parties must be considered"
    ),
    input_need!("resources", "the adequacy of resources must be considered"),
    input_need!(
        "risks",
        "the effectiveness of actions addressing risks and opportunities must be considered"
    ),
    input_need!(
        "improvement_opportunities",
        "opportunities for continual improvement must be considered"
    ),
    Need {
        field: "held_on",
        message: "the date the review was held is needed",
        holds: |f| f.review.fields.held_on.is_some(),
    },
    Need {
        field: "held_on",
        message: "a review cannot be held after today",
        holds: |f| f.review.fields.held_on.is_none_or(|d| d <= f.today),
    },
    Need {
        field: "attendee_ids",
        message: "at least one attendee is needed",
        holds: |f| !f.review.fields.attendee_ids.is_empty(),
    },
];

const APPROVE_NEEDS: &[Need<ReviewFacts>] = &[Need {
    field: "decisions",
    message: "the decisions taken are needed before the record is approved",
    holds: |f| !f.review.fields.decisions.is_empty(),
}];

/// Planned → held → approved; a planned review may be called off (`cancel`). A held review
/// took place and is never cancelled.
pub const WORKFLOW: &[Transition<ManagementReviewState, ManagementReviewAction, ReviewFacts>] = &[
    Transition {
        from: ManagementReviewState::Planned,
        action: ManagementReviewAction::Hold,
        to: ManagementReviewState::Held,
        who: MANAGERS,
        not_after: None,
        needs: HOLD_NEEDS,
        when: None,
    },
    Transition {
        from: ManagementReviewState::Held,
        action: ManagementReviewAction::Approve,
        to: ManagementReviewState::Approved,
        who: MANAGERS,
        not_after: None,
        needs: APPROVE_NEEDS,
        when: None,
    },
    Transition {
        from: ManagementReviewState::Planned,
        action: ManagementReviewAction::Cancel,
        to: ManagementReviewState::Cancelled,
        who: MANAGERS,
        not_after: None,
        needs: &[],
        when: None,
    },
];

impl ManagementReviewState {
    /// Approved and cancelled reviews are kept as they are.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ManagementReviewState::Approved | ManagementReviewState::Cancelled
        )
    }

    /// Actions are decided at a review that took place: held or approved.
    pub fn takes_actions(self) -> bool {
        matches!(
            self,
            ManagementReviewState::Held | ManagementReviewState::Approved
        )
    }
}

/// Normalizes and validates a review's fields (whether attendees exist is checked by the
/// service).
pub fn validate(input: ManagementReviewFields) -> Result<ManagementReviewFields, DomainError> {
    let mut v = Validator::new();
    let title = v.required_text("title", &input.title, 200);
    if input.attendee_ids.len() > MAX_ATTENDEES {
        v.add(
            "attendee_ids",
            format!("must have at most {MAX_ATTENDEES} items"),
        );
    }
    let mut inputs = ReviewInputs::default();
    {
        let given = input.inputs.named();
        let targets = [
            &mut inputs.previous_actions_status,
            &mut inputs.changes_in_context,
            &mut inputs.sms_performance,
            &mut inputs.objectives,
            &mut inputs.nonconformity_and_audit_trends,
            &mut inputs.service_and_supplier_performance,
            &mut inputs.feedback,
            &mut inputs.resources,
            &mut inputs.risks,
            &mut inputs.improvement_opportunities,
        ];
        for ((name, value), target) in given.into_iter().zip(targets) {
            *target = v.optional_text(&format!("inputs.{name}"), value.as_deref(), INPUT_MAX);
        }
    }
    if input.decisions.len() > MAX_DECISIONS {
        v.add(
            "decisions",
            format!("must have at most {MAX_DECISIONS} items"),
        );
    }
    let decisions = input
        .decisions
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let field = format!("decisions[{i}]");
            let text = v.optional_text(&field, Some(d), DECISION_MAX);
            if text.is_none() {
                v.add(field, "must not be empty");
            }
            text.unwrap_or_default()
        })
        .collect();
    let minutes_location = input
        .minutes_location
        .as_deref()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| v.required_text("minutes_location", l, 2000));
    v.finish()?;
    Ok(ManagementReviewFields {
        title,
        planned_for: input.planned_for,
        held_on: input.held_on,
        attendee_ids: dedup(&input.attendee_ids),
        inputs,
        decisions,
        minutes_location,
    })
}

/// Whether a review may become `edited`: approved and cancelled reviews are frozen, and a
/// held one keeps what holding it needed.
pub fn check_edit(edited: &ManagementReview, today: NaiveDate) -> Result<(), DomainError> {
    match edited.state {
        ManagementReviewState::Planned => Ok(()),
        ManagementReviewState::Held => {
            let facts = ReviewFacts {
                review: edited.clone(),
                today,
            };
            let unmet: Vec<_> = HOLD_NEEDS
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
        state => Err(DomainError::Conflict(format!(
            "a management review that is {state} cannot be changed"
        ))),
    }
}

/// Only planned reviews are deleted; a planned review that will not take place may also be
/// cancelled, which keeps it.
pub fn ensure_deletable(state: ManagementReviewState) -> Result<(), DomainError> {
    if state != ManagementReviewState::Planned {
        return Err(DomainError::Conflict(format!(
            "only planned management reviews can be deleted; this one is {state}"
        )));
    }
    Ok(())
}

/// Actions are recorded at a review that took place.
pub fn ensure_takes_actions(state: ManagementReviewState) -> Result<(), DomainError> {
    if !state.takes_actions() {
        return Err(DomainError::Conflict(format!(
            "actions are decided at a held or approved management review; this one is {state}"
        )));
    }
    Ok(())
}

text_enum! {
    /// The kinds of action a management review records.
    pub enum ReviewActionKind {
        CorrectiveAction => "corrective_action",
        Improvement => "improvement",
    }
}

text_enum! {
    /// Always `corrective_action`.
    pub enum CorrectiveActionKind { CorrectiveAction => "corrective_action" }
}

/// A corrective action decided at the review. Its `source` is `management_review`; it is
/// linked to the review (`management_review_id`) and starts `open`.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewCorrectiveAction {
    pub kind: CorrectiveActionKind,
    #[schema(
        example = "Capacity plan missing for the storage service",
        min_length = 1,
        max_length = 200
    )]
    pub title: String,
    /// What did not conform.
    #[schema(min_length = 1, max_length = 10000)]
    pub nonconformity: String,
    #[serde(default)]
    #[schema(value_type = Option<ClauseNumber>)]
    pub clause: Option<String>,
    #[serde(default)]
    #[schema(format = Uuid, max_length = 36)]
    pub process_id: Option<String>,
    /// The user responsible: an active user holding at least `contributor`.
    #[serde(default)]
    #[schema(format = Uuid, max_length = 36)]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub due_date: Option<NaiveDate>,
}

impl ReviewCorrectiveAction {
    /// The corrective action's fields (still to be validated).
    pub fn into_fields(self) -> CorrectiveActionFields {
        CorrectiveActionFields {
            title: self.title,
            nonconformity: self.nonconformity,
            source: CorrectiveActionSource::ManagementReview,
            finding_id: None,
            clause: self.clause,
            process_id: self.process_id,
            owner_id: self.owner_id,
            due_date: self.due_date,
            correction: None,
            root_cause: None,
            similar_nonconformities: None,
            action_plan: None,
            implementation: None,
            effectiveness_review: None,
        }
    }
}

text_enum! {
    /// Always `improvement`.
    pub enum ImprovementKind { Improvement => "improvement" }
}

/// An improvement decided at the review. Its `source` is `management_review`; it is linked
/// to the review (`management_review_id`) and starts `proposed`.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewImprovement {
    pub kind: ImprovementKind,
    #[schema(
        example = "Automate capacity reporting",
        min_length = 1,
        max_length = 200
    )]
    pub title: String,
    /// What is proposed.
    #[schema(min_length = 1, max_length = 10000)]
    pub description: String,
    /// The expected benefit, the target the improvement is evaluated against (needed to
    /// `approve` it).
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub benefit: Option<String>,
    /// The user responsible: an active user holding at least `contributor`.
    #[serde(default)]
    #[schema(format = Uuid, max_length = 36)]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub due_date: Option<NaiveDate>,
}

impl ReviewImprovement {
    /// The improvement's fields (still to be validated).
    pub fn into_fields(self) -> ImprovementFields {
        ImprovementFields {
            title: self.title,
            description: self.description,
            source: ImprovementSource::ManagementReview,
            benefit: self.benefit,
            owner_id: self.owner_id,
            due_date: self.due_date,
            implementation: None,
            evaluation: None,
        }
    }
}

/// An action decided at a management review, told apart by `kind`. Further kinds are added
/// as new members, so a client written against this one keeps working.
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(untagged)]
#[schema(discriminator(property_name = "kind", mapping(
    ("corrective_action" = "#/components/schemas/ReviewCorrectiveAction"),
    ("improvement" = "#/components/schemas/ReviewImprovement")
)))]
pub enum NewReviewAction {
    /// A corrective action (clause 10.1).
    CorrectiveAction(ReviewCorrectiveAction),
    /// An improvement (clause 10.2).
    Improvement(ReviewImprovement),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Principal;
    use crate::domain::workflow::{Relation, allowed_actions, check_exhaustively, decide};
    use ManagementReviewAction as A;
    use ManagementReviewState as S;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2027, 3, d).unwrap()
    }

    fn text(t: &str) -> Option<String> {
        Some(t.into())
    }

    fn complete_inputs() -> ReviewInputs {
        ReviewInputs {
            previous_actions_status: text("a"),
            changes_in_context: text("b"),
            sms_performance: text("c"),
            objectives: text("d"),
            nonconformity_and_audit_trends: text("e"),
            service_and_supplier_performance: text("f"),
            feedback: text("g"),
            resources: text("h"),
            risks: text("i"),
            improvement_opportunities: text("j"),
        }
    }

    fn fields(complete: bool) -> ManagementReviewFields {
        ManagementReviewFields {
            title: " Review Q1 ".into(),
            planned_for: Some(day(1)),
            held_on: complete.then(|| day(2)),
            attendee_ids: if complete {
                vec!["u1".into(), "u2".into(), "u1".into()]
            } else {
                vec![]
            },
            inputs: if complete {
                complete_inputs()
            } else {
                ReviewInputs::default()
            },
            decisions: if complete {
                vec![" Add a capacity plan ".into()]
            } else {
                vec![]
            },
            minutes_location: None,
        }
    }

    fn facts(state: S, complete: bool) -> ReviewFacts {
        ReviewFacts {
            review: ManagementReview {
                fields: validate(fields(complete)).unwrap(),
                state,
                approved_by: None,
                approved_at: None,
            },
            today: day(10),
        }
    }

    fn caller(role: AccessRole) -> Principal {
        Principal {
            user_id: "u".into(),
            roles: vec![role],
        }
    }

    fn names(errors: &[FieldError]) -> Vec<&str> {
        errors.iter().map(|e| e.field.as_str()).collect()
    }

    #[test]
    fn validate_normalizes_and_names_each_field() {
        let f = validate(fields(true)).unwrap();
        assert_eq!(f.title, "Review Q1");
        assert_eq!(f.attendee_ids, vec!["u1", "u2"]);
        assert_eq!(f.decisions, vec!["Add a capacity plan"]);
        let mut bad = fields(true);
        bad.title = " ".into();
        bad.inputs.risks = Some("x".repeat(INPUT_MAX + 1));
        bad.inputs.feedback = Some("   ".into());
        bad.decisions = vec!["ok".into(), " ".into()];
        bad.minutes_location = Some("line\nbreak".into());
        let Err(DomainError::Validation(errors)) = validate(bad) else {
            panic!()
        };
        assert_eq!(
            names(&errors),
            vec!["title", "inputs.risks", "decisions[1]", "minutes_location"]
        );
    }

    #[test]
    fn hold_names_every_missing_input_the_date_and_the_attendees() {
        let manager = caller(AccessRole::Manager);
        let bare = facts(S::Planned, false);
        let Err(DomainError::PreconditionMissing(missing)) = decide(
            WORKFLOW,
            S::Planned,
            A::Hold,
            &manager,
            &Relation::default(),
            &bare,
        ) else {
            panic!()
        };
        let mut expected: Vec<String> = complete_inputs()
            .named()
            .iter()
            .map(|(n, _)| format!("inputs.{n}"))
            .collect();
        expected.extend(["held_on".into(), "attendee_ids".into()]);
        assert_eq!(names(&missing), expected);

        let mut future = facts(S::Planned, true);
        future.review.fields.held_on = Some(day(11));
        let Err(DomainError::PreconditionMissing(missing)) = decide(
            WORKFLOW,
            S::Planned,
            A::Hold,
            &manager,
            &Relation::default(),
            &future,
        ) else {
            panic!()
        };
        assert_eq!(names(&missing), vec!["held_on"]);
        assert_eq!(missing[0].message, "a review cannot be held after today");
    }

    #[test]
    fn a_held_review_keeps_what_holding_needed_and_a_final_one_is_frozen() {
        let held = facts(S::Held, true).review;
        assert!(check_edit(&held, day(10)).is_ok());
        assert!(check_edit(&facts(S::Planned, false).review, day(10)).is_ok());
        let mut cleared = held.clone();
        cleared.fields.inputs.risks = None;
        cleared.fields.attendee_ids.clear();
        let Err(DomainError::PreconditionMissing(missing)) = check_edit(&cleared, day(10)) else {
            panic!()
        };
        assert_eq!(names(&missing), vec!["inputs.risks", "attendee_ids"]);
        for state in [S::Approved, S::Cancelled] {
            let mut frozen = held.clone();
            frozen.state = state;
            assert!(matches!(
                check_edit(&frozen, day(10)),
                Err(DomainError::Conflict(_))
            ));
        }
    }

    #[test]
    fn deletion_and_actions_follow_the_state() {
        assert!(ensure_deletable(S::Planned).is_ok());
        for state in [S::Held, S::Approved, S::Cancelled] {
            assert!(ensure_deletable(state).is_err());
        }
        for state in S::ALL {
            assert_eq!(
                ensure_takes_actions(*state).is_ok(),
                matches!(state, S::Held | S::Approved)
            );
        }
    }

    #[test]
    fn a_patch_merges_the_inputs() {
        let patch: ManagementReviewPatch =
            serde_json::from_str(r#"{"inputs": {"risks": "new", "feedback": null}}"#).unwrap();
        let after = patch.apply_to(fields(true));
        assert_eq!(after.inputs.risks.as_deref(), Some("new"));
        assert_eq!(after.inputs.feedback, None);
        assert_eq!(after.inputs.resources.as_deref(), Some("h"));
        let unknown: Result<ManagementReviewPatch, _> =
            serde_json::from_str(r#"{"inputs": {"weather": "fine"}}"#);
        assert!(unknown.is_err());
    }

    #[test]
    fn the_action_request_is_tagged_by_kind() {
        let request: NewReviewAction = serde_json::from_str(
            r#"{"kind": "corrective_action", "title": "t", "nonconformity": "n"}"#,
        )
        .unwrap();
        let NewReviewAction::CorrectiveAction(ca) = request else {
            panic!("{request:?}")
        };
        let fields = ca.into_fields();
        assert_eq!(fields.source, CorrectiveActionSource::ManagementReview);
        assert_eq!(fields.finding_id, None);
        let request: NewReviewAction = serde_json::from_str(
            r#"{"kind": "improvement", "title": "t", "description": "d", "benefit": "b"}"#,
        )
        .unwrap();
        let NewReviewAction::Improvement(improvement) = request else {
            panic!("{request:?}")
        };
        let fields = improvement.into_fields();
        assert_eq!(fields.source, ImprovementSource::ManagementReview);
        assert_eq!(fields.benefit.as_deref(), Some("b"));
        for wrong in [
            r#"{"kind": "improvement", "title": "t", "nonconformity": "n"}"#,
            r#"{"kind": "corrective_action", "title": "t", "description": "d"}"#,
            r#"{"kind": "improvement", "title": "t", "description": "d", "source": "risk"}"#,
        ] {
            assert!(
                serde_json::from_str::<NewReviewAction>(wrong).is_err(),
                "{wrong}"
            );
        }
    }

    #[test]
    fn workflow_over_every_state_action_and_role() {
        check_exhaustively(
            WORKFLOW,
            S::ALL,
            A::ALL,
            &facts(S::Planned, true),
            &facts(S::Planned, false),
        );
    }

    #[test]
    fn managers_move_reviews_and_others_only_read() {
        let none = Relation::default();
        let manager = caller(AccessRole::Manager);
        assert_eq!(
            allowed_actions(WORKFLOW, S::Planned, &manager, &none),
            vec![A::Hold, A::Cancel]
        );
        assert_eq!(
            allowed_actions(WORKFLOW, S::Held, &caller(AccessRole::Admin), &none),
            vec![A::Approve]
        );
        for role in [
            AccessRole::Viewer,
            AccessRole::Contributor,
            AccessRole::Auditor,
        ] {
            assert!(allowed_actions(WORKFLOW, S::Planned, &caller(role), &none).is_empty());
        }
        for state in [S::Approved, S::Cancelled] {
            assert!(allowed_actions(WORKFLOW, state, &manager, &none).is_empty());
        }
    }
}
