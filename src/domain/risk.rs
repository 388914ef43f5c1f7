//! Risks and opportunities (clause 6.1): rated by likelihood and impact, treated, accepted
//! or closed. Treatment that needs work links to a corrective action or an improvement.

use chrono::NaiveDate;

use super::DomainError;
use super::access::AccessRole;
use super::validation::{FieldError, Validator};
use super::workflow::{Actor, Need, Transition};
use crate::{editable_fields, text_enum};

text_enum! {
    pub enum RiskState {
        Identified => "identified",
        Treating => "treating",
        Accepted => "accepted",
        Closed => "closed",
    }
}

text_enum! {
    pub enum RiskAction {
        Treat => "treat",
        Accept => "accept",
        Close => "close",
    }
}

text_enum! {
    pub enum RiskKind {
        Risk => "risk",
        Opportunity => "opportunity",
    }
}

text_enum! {
    /// The level of a score: `low` 1–6, `medium` 8–12, `high` 15–25.
    pub enum RiskLevel {
        Low => "low",
        Medium => "medium",
        High => "high",
    }
}

/// Likelihood and impact are rated on this scale.
pub const RATING: std::ops::RangeInclusive<i32> = 1..=5;

/// The lowest score of each level above `low`.
pub const MEDIUM_FROM: i32 = 8;
pub const HIGH_FROM: i32 = 15;

impl RiskLevel {
    pub fn of(score: i32) -> RiskLevel {
        if score >= HIGH_FROM {
            RiskLevel::High
        } else if score >= MEDIUM_FROM {
            RiskLevel::Medium
        } else {
            RiskLevel::Low
        }
    }

    /// The scores of this level, for filters.
    pub fn scores(self) -> (i32, i32) {
        let max = RATING.end() * RATING.end();
        match self {
            RiskLevel::Low => (1, MEDIUM_FROM - 1),
            RiskLevel::Medium => (MEDIUM_FROM, HIGH_FROM - 1),
            RiskLevel::High => (HIGH_FROM, max),
        }
    }
}

const TEXT_MAX: usize = 10_000;

editable_fields! {
    /// The editable fields of a risk or opportunity.
    pub struct RiskFields / RiskPatch {
        #[schema(example = "Change approvals bypassed under time pressure", min_length = 1, max_length = 200)]
        title: String,
        kind: RiskKind,
        #[serde(default)]
        #[schema(max_length = 10000)]
        description: Option<String>,
        /// How likely it is, from 1 (rare) to 5 (almost certain).
        #[schema(minimum = 1, maximum = 5, format = Int32)]
        likelihood: i32,
        /// How much it would matter, from 1 (negligible) to 5 (severe).
        #[schema(minimum = 1, maximum = 5, format = Int32)]
        impact: i32,
        /// How the risk is addressed or the opportunity taken (needed to `treat`).
        #[serde(default)]
        #[schema(max_length = 10000)]
        treatment: Option<String>,
        /// The SMS role that owns it (needed to `treat`).
        #[serde(default)]
        #[schema(format = Uuid, max_length = 36)]
        owner_role_id: Option<String>,
        #[serde(default)]
        #[schema(format = Uuid, max_length = 36)]
        process_id: Option<String>,
        /// When it is next reviewed.
        #[serde(default)]
        review_due: Option<NaiveDate>,
        /// The corrective action that carries out the treatment.
        #[serde(default)]
        #[schema(format = Uuid, max_length = 36)]
        corrective_action_id: Option<String>,
        /// The improvement that carries out the treatment.
        #[serde(default)]
        #[schema(format = Uuid, max_length = 36)]
        improvement_id: Option<String>,
    }
}

/// A risk or opportunity as the rules see it.
#[derive(Debug, Clone, PartialEq)]
pub struct Risk {
    pub fields: RiskFields,
    pub state: RiskState,
    /// Why the risk is accepted as it is (needed to `accept`).
    pub acceptance_rationale: Option<String>,
}

impl Risk {
    /// Likelihood × impact, 1 to 25.
    pub fn score(&self) -> i32 {
        self.fields.likelihood * self.fields.impact
    }

    pub fn level(&self) -> RiskLevel {
        RiskLevel::of(self.score())
    }
}

const MANAGERS: &[Actor] = &[Actor::Role(AccessRole::Manager)];

const NEEDS_TREATMENT: &[Need<Risk>] = &[
    Need {
        field: "treatment",
        message: "the treatment is needed",
        holds: |r| r.fields.treatment.is_some(),
    },
    Need {
        field: "owner_role_id",
        message: "an owner role is needed to treat a risk",
        holds: |r| r.fields.owner_role_id.is_some(),
    },
];

const NEEDS_RATIONALE: &[Need<Risk>] = &[Need {
    field: "acceptance_rationale",
    message: "the rationale for accepting the risk as it is is needed",
    holds: |r| r.acceptance_rationale.is_some(),
}];

const fn row(
    from: RiskState,
    action: RiskAction,
    to: RiskState,
    needs: &'static [Need<Risk>],
) -> Transition<RiskState, RiskAction, Risk> {
    Transition {
        from,
        action,
        to,
        who: MANAGERS,
        not_after: None,
        needs,
        when: None,
    }
}

/// Clause 6.1: a risk is treated, or accepted as it is (directly from `identified` when it
/// is within what the organization accepts, or after treatment for what remains); an
/// accepted risk that grows is treated again; a risk that no longer applies is closed.
pub const WORKFLOW: &[Transition<RiskState, RiskAction, Risk>] = &[
    row(
        RiskState::Identified,
        RiskAction::Treat,
        RiskState::Treating,
        NEEDS_TREATMENT,
    ),
    row(
        RiskState::Identified,
        RiskAction::Accept,
        RiskState::Accepted,
        NEEDS_RATIONALE,
    ),
    row(
        RiskState::Identified,
        RiskAction::Close,
        RiskState::Closed,
        &[],
    ),
    row(
        RiskState::Treating,
        RiskAction::Accept,
        RiskState::Accepted,
        NEEDS_RATIONALE,
    ),
    row(
        RiskState::Treating,
        RiskAction::Close,
        RiskState::Closed,
        &[],
    ),
    row(
        RiskState::Accepted,
        RiskAction::Treat,
        RiskState::Treating,
        NEEDS_TREATMENT,
    ),
    row(
        RiskState::Accepted,
        RiskAction::Close,
        RiskState::Closed,
        &[],
    ),
];

impl RiskAction {
    /// The fields a transition request for this action may bring (stored by the same change).
    pub fn carries(self) -> &'static [&'static str] {
        match self {
            RiskAction::Treat => &["treatment", "owner_role_id"],
            RiskAction::Accept => &["acceptance_rationale"],
            RiskAction::Close => &[],
        }
    }
}

/// The fields and values a transition request brings.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepInput {
    pub treatment: Option<String>,
    pub owner_role_id: Option<String>,
    pub acceptance_rationale: Option<String>,
}

/// The record as the transition would leave it, before the workflow decides: the request's
/// fields applied; a field the action does not take is refused. Treating a risk again
/// clears the rationale that accepted it before.
pub fn apply_step(
    record: &Risk,
    action: RiskAction,
    input: StepInput,
) -> Result<Risk, DomainError> {
    let mut v = Validator::new();
    for (field, given) in [
        ("treatment", input.treatment.is_some()),
        ("owner_role_id", input.owner_role_id.is_some()),
        ("acceptance_rationale", input.acceptance_rationale.is_some()),
    ] {
        if given && !action.carries().contains(&field) {
            v.add(field, format!("is not taken by `{action}`"));
        }
    }
    let mut text = |field: &str, value: Option<String>, current: &Option<String>| match value {
        Some(value) => v.optional_text(field, Some(&value), TEXT_MAX),
        None => current.clone(),
    };
    let f = &record.fields;
    let fields = RiskFields {
        treatment: text("treatment", input.treatment, &f.treatment),
        owner_role_id: input.owner_role_id.or_else(|| f.owner_role_id.clone()),
        ..f.clone()
    };
    let acceptance_rationale = if action == RiskAction::Treat {
        None
    } else {
        text(
            "acceptance_rationale",
            input.acceptance_rationale,
            &record.acceptance_rationale,
        )
    };
    v.finish()?;
    Ok(Risk {
        fields,
        acceptance_rationale,
        ..record.clone()
    })
}

/// Normalizes and validates a risk's own fields (references to other records are checked
/// by the service).
pub fn validate(input: RiskFields) -> Result<RiskFields, DomainError> {
    let mut v = Validator::new();
    let title = v.required_text("title", &input.title, 200);
    for (field, value) in [("likelihood", input.likelihood), ("impact", input.impact)] {
        v.check(
            RATING.contains(&value),
            field,
            "must be an integer from 1 to 5",
        );
    }
    let mut text =
        |field: &str, value: &Option<String>| v.optional_text(field, value.as_deref(), TEXT_MAX);
    let fields = RiskFields {
        description: text("description", &input.description),
        treatment: text("treatment", &input.treatment),
        title,
        ..input
    };
    v.finish()?;
    Ok(fields)
}

/// Whether the record may be edited to `edited`: closed risks are frozen, a risk being
/// treated keeps its treatment and owner role, and an accepted one its rationale.
pub fn check_edit(edited: &Risk) -> Result<(), DomainError> {
    if edited.state == RiskState::Closed {
        return Err(DomainError::Conflict(
            "a closed risk cannot be changed".into(),
        ));
    }
    let needs = match edited.state {
        RiskState::Treating => NEEDS_TREATMENT,
        RiskState::Accepted => NEEDS_RATIONALE,
        _ => &[],
    };
    let unmet: Vec<FieldError> = needs
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

/// Only an identified risk can be deleted; later ones are closed, to keep their history.
pub fn ensure_deletable(state: RiskState) -> Result<(), DomainError> {
    if state != RiskState::Identified {
        return Err(DomainError::Conflict(format!(
            "only identified risks can be deleted; this one is {state} (close it instead)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Principal;
    use crate::domain::workflow::{Relation, allowed_actions, check_exhaustively, decide};
    use RiskAction as A;
    use RiskState as S;

    fn fields() -> RiskFields {
        RiskFields {
            title: " Approvals bypassed ".into(),
            kind: RiskKind::Risk,
            description: Some(" ".into()),
            likelihood: 3,
            impact: 4,
            treatment: None,
            owner_role_id: None,
            process_id: None,
            review_due: None,
            corrective_action_id: None,
            improvement_id: None,
        }
    }

    fn record(state: S, complete: bool) -> Risk {
        let mut fields = validate(fields()).unwrap();
        if complete {
            fields.treatment = Some("Add a gate".into());
            fields.owner_role_id = Some("role".into());
        }
        Risk {
            fields,
            state,
            acceptance_rationale: complete.then(|| "Within appetite".into()),
        }
    }

    fn manager() -> Principal {
        Principal {
            user_id: "m".into(),
            roles: vec![AccessRole::Manager],
        }
    }

    #[test]
    fn score_and_level() {
        let cases = [
            (1, 1, 1, RiskLevel::Low),
            (2, 3, 6, RiskLevel::Low),
            (4, 2, 8, RiskLevel::Medium),
            (3, 4, 12, RiskLevel::Medium),
            (5, 3, 15, RiskLevel::High),
            (5, 5, 25, RiskLevel::High),
        ];
        for (likelihood, impact, score, level) in cases {
            let mut r = record(S::Identified, false);
            r.fields.likelihood = likelihood;
            r.fields.impact = impact;
            assert_eq!((r.score(), r.level()), (score, level));
        }
        // Every possible score falls in the range of its level.
        for l in RATING {
            for i in RATING {
                let (min, max) = RiskLevel::of(l * i).scores();
                assert!((min..=max).contains(&(l * i)));
            }
        }
    }

    #[test]
    fn ratings_are_one_to_five() {
        let mut bad = fields();
        bad.likelihood = 0;
        bad.impact = 6;
        bad.title = " ".into();
        let Err(DomainError::Validation(errors)) = validate(bad) else {
            panic!()
        };
        let names: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(names, vec!["title", "likelihood", "impact"]);
        let ok = validate(fields()).unwrap();
        assert_eq!(ok.title, "Approvals bypassed");
        assert_eq!(ok.description, None);
    }

    #[test]
    fn treat_needs_treatment_and_owner_role_accept_a_rationale() {
        let none = Relation::default();
        let bare = record(S::Identified, false);
        let Err(DomainError::PreconditionMissing(missing)) =
            decide(WORKFLOW, S::Identified, A::Treat, &manager(), &none, &bare)
        else {
            panic!()
        };
        let names: Vec<_> = missing.iter().map(|m| m.field.as_str()).collect();
        assert_eq!(names, vec!["treatment", "owner_role_id"]);
        let Err(DomainError::PreconditionMissing(missing)) =
            decide(WORKFLOW, S::Identified, A::Accept, &manager(), &none, &bare)
        else {
            panic!()
        };
        assert_eq!(missing[0].field, "acceptance_rationale");
        assert_eq!(
            decide(WORKFLOW, S::Identified, A::Close, &manager(), &none, &bare),
            Ok(S::Closed)
        );
    }

    #[test]
    fn a_step_takes_only_its_own_fields_and_retreating_clears_the_rationale() {
        let accepted = record(S::Accepted, true);
        let Err(DomainError::Validation(errors)) = apply_step(
            &accepted,
            A::Close,
            StepInput {
                treatment: Some("x".into()),
                ..Default::default()
            },
        ) else {
            panic!()
        };
        assert_eq!(errors[0].field, "treatment");
        let treated = apply_step(
            &accepted,
            A::Treat,
            StepInput {
                treatment: Some(" Stronger gate ".into()),
                owner_role_id: Some("other".into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(treated.fields.treatment.as_deref(), Some("Stronger gate"));
        assert_eq!(treated.fields.owner_role_id.as_deref(), Some("other"));
        assert_eq!(treated.acceptance_rationale, None);
    }

    #[test]
    fn edits_keep_what_the_state_needs() {
        assert!(check_edit(&record(S::Identified, false)).is_ok());
        let mut treating = record(S::Treating, true);
        assert!(check_edit(&treating).is_ok());
        treating.fields.owner_role_id = None;
        let Err(DomainError::PreconditionMissing(missing)) = check_edit(&treating) else {
            panic!()
        };
        assert_eq!(missing[0].field, "owner_role_id");
        assert!(matches!(
            check_edit(&record(S::Closed, true)),
            Err(DomainError::Conflict(_))
        ));
        assert!(ensure_deletable(S::Identified).is_ok());
        assert!(ensure_deletable(S::Treating).is_err());
    }

    #[test]
    fn only_managers_act_and_closed_is_final() {
        let none = Relation::default();
        for role in [
            AccessRole::Viewer,
            AccessRole::Contributor,
            AccessRole::Auditor,
        ] {
            let p = Principal {
                user_id: "u".into(),
                roles: vec![role],
            };
            for &state in S::ALL {
                assert!(allowed_actions(WORKFLOW, state, &p, &none).is_empty());
            }
        }
        assert_eq!(
            allowed_actions(WORKFLOW, S::Identified, &manager(), &none),
            vec![A::Treat, A::Accept, A::Close]
        );
        assert!(allowed_actions(WORKFLOW, S::Closed, &manager(), &none).is_empty());
    }

    #[test]
    fn workflow_over_every_state_action_and_role() {
        check_exhaustively(
            WORKFLOW,
            S::ALL,
            A::ALL,
            &record(S::Identified, true),
            &record(S::Identified, false),
        );
    }
}
