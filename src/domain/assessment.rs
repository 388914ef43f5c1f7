//! Gap assessments: the SMS judged clause by clause against ISO/IEC 20000-1:2018, usually
//! before certification, and the summary that shows what is met, what is missing and what
//! changed since an earlier assessment.
//!
//! Results are recorded for the requirement clauses: the catalog's leaf clauses, those
//! without sub-clauses (57 of the 77). A heading such as `8.5.1` is judged through its
//! sub-clauses `8.5.1.1`–`8.5.1.3`.

use std::collections::HashMap;
use std::sync::OnceLock;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::DomainError;
use super::access::AccessRole;
use super::clause::{self, CatalogClause, ClauseNumber};
use super::validation::Validator;
use super::workflow::{Actor, Need, Transition};
use crate::{editable_fields, text_enum};

text_enum! {
    pub enum AssessmentState {
        InProgress => "in_progress",
        Completed => "completed",
    }
}

text_enum! {
    pub enum AssessmentAction {
        Complete => "complete",
    }
}

text_enum! {
    /// How far a requirement clause is met, from least to most:
    /// `not_assessed` < `not_met` < `partially_met` < `met`.
    pub enum ResultStatus {
        NotAssessed => "not_assessed",
        NotMet => "not_met",
        PartiallyMet => "partially_met",
        Met => "met",
    }
}

text_enum! {
    /// How a requirement clause moved against the baseline assessment. `not_compared`: it
    /// is `not_assessed` in one of the two, so nothing is known about a change.
    pub enum GapMovement {
        Improved => "improved",
        Regressed => "regressed",
        Unchanged => "unchanged",
        NotCompared => "not_compared",
    }
}

const TEXT_MAX: usize = 10_000;

editable_fields! {
    /// The editable fields of a gap assessment.
    pub struct AssessmentFields / AssessmentPatch {
        #[schema(example = "Gap analysis before the stage 1 audit", min_length = 1, max_length = 200)]
        title: String,
        /// The day the assessment was carried out (or starts); completing it needs a date
        /// that is not in the future.
        assessed_on: NaiveDate,
        #[serde(default)]
        #[schema(max_length = 10000)]
        description: Option<String>,
        /// What the assessment covers and leaves out (services, sites, organizational units).
        #[serde(default)]
        #[schema(max_length = 10000)]
        scope_note: Option<String>,
    }
}

/// The result of one requirement clause, as a client sends it
/// (`PUT /assessments/{id}/results/{clause}`).
#[derive(Debug, Clone, PartialEq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssessmentResultInput {
    pub status: ResultStatus,
    /// The assessor's judgement: what is missing, what was seen.
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub notes: Option<String>,
    /// Where the evidence is (documents, records, interviews).
    #[serde(default)]
    #[schema(max_length = 10000)]
    pub evidence: Option<String>,
}

/// The stored result of one requirement clause.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClauseResult {
    pub clause: String,
    pub status: ResultStatus,
    pub notes: Option<String>,
    pub evidence: Option<String>,
}

/// A gap assessment as the rules see it. `results` holds the recorded results in catalog
/// order; a requirement clause without one is `not_assessed`.
#[derive(Debug, Clone, PartialEq)]
pub struct Assessment {
    pub fields: AssessmentFields,
    pub state: AssessmentState,
    pub completed_at: Option<chrono::DateTime<chrono::Utc>>,
    pub completed_by: Option<String>,
    pub results: Vec<ClauseResult>,
}

impl Assessment {
    /// The status of a requirement clause: its result, or `not_assessed`.
    pub fn status_of(&self, clause: &str) -> ResultStatus {
        status_in(&self.results, clause)
    }
}

fn status_in(results: &[ClauseResult], clause: &str) -> ResultStatus {
    results
        .iter()
        .find(|r| r.clause == clause)
        .map_or(ResultStatus::NotAssessed, |r| r.status)
}

/// The requirement clauses: the catalog's leaf clauses, in catalog order.
pub fn requirement_clauses() -> &'static [&'static CatalogClause] {
    static LEAVES: OnceLock<Vec<&'static CatalogClause>> = OnceLock::new();
    LEAVES.get_or_init(|| {
        let catalog = clause::catalog();
        catalog
            .iter()
            .filter(|c| !catalog.iter().any(|o| o.parent.as_ref() == Some(&c.clause)))
            .collect()
    })
}

/// The top-level clauses (4 to 10), in catalog order.
pub fn top_level_clauses() -> Vec<&'static CatalogClause> {
    clause::catalog()
        .iter()
        .filter(|c| c.parent.is_none())
        .collect()
}

/// The top-level clause a clause belongs to (`8.5.1.2` → `8`).
pub fn top_level_of(number: &str) -> &str {
    number.split('.').next().unwrap_or(number)
}

/// The catalog entry of a requirement clause: an unknown number is not found (404); a
/// heading is judged through its sub-clauses (422 naming them).
pub fn requirement(number: &str) -> Result<&'static CatalogClause, DomainError> {
    if let Some(c) = requirement_clauses().iter().find(|c| c.clause == number) {
        return Ok(c);
    }
    if !clause::exists(number) {
        return Err(DomainError::NamedNotFound {
            noun: "clause",
            key: number.to_string(),
        });
    }
    let prefix = format!("{number}.");
    let subs: Vec<&str> = requirement_clauses()
        .iter()
        .filter(|c| c.clause.starts_with(&prefix))
        .map(|c| c.clause.as_str())
        .collect();
    Err(DomainError::invalid(
        "clause",
        format!(
            "{number} is a heading; record results for its requirement clauses: {}",
            subs.join(", ")
        ),
    ))
}

/// Normalizes and validates an assessment's own fields.
pub fn validate(input: AssessmentFields) -> Result<AssessmentFields, DomainError> {
    let mut v = Validator::new();
    let fields = AssessmentFields {
        title: v.required_text("title", &input.title, 200),
        description: v.optional_text("description", input.description.as_deref(), TEXT_MAX),
        scope_note: v.optional_text("scope_note", input.scope_note.as_deref(), TEXT_MAX),
        ..input
    };
    v.finish()?;
    Ok(fields)
}

/// The result to store for a requirement clause, validated. `None` clears it: a result of
/// `not_assessed` with neither notes nor evidence is what every clause holds until it is
/// judged, so it is not stored.
pub fn validate_result(
    clause: &str,
    input: AssessmentResultInput,
) -> Result<Option<ClauseResult>, DomainError> {
    let mut v = Validator::new();
    let result = ClauseResult {
        clause: clause.to_string(),
        status: input.status,
        notes: v.optional_text("notes", input.notes.as_deref(), TEXT_MAX),
        evidence: v.optional_text("evidence", input.evidence.as_deref(), TEXT_MAX),
    };
    v.finish()?;
    let blank = result.status == ResultStatus::NotAssessed
        && result.notes.is_none()
        && result.evidence.is_none();
    Ok((!blank).then_some(result))
}

/// The assessment with the result of `clause` set (or cleared), in catalog order; `None`
/// when that changes nothing.
pub fn with_result(
    assessment: &Assessment,
    clause: &str,
    result: Option<ClauseResult>,
) -> Result<Option<Assessment>, DomainError> {
    ensure_open(assessment.state)?;
    let current = assessment.results.iter().find(|r| r.clause == clause);
    if current == result.as_ref() {
        return Ok(None);
    }
    let mut results: Vec<ClauseResult> = assessment
        .results
        .iter()
        .filter(|r| r.clause != clause)
        .cloned()
        .chain(result)
        .collect();
    results.sort_by_key(|r| catalog_position(&r.clause));
    Ok(Some(Assessment {
        results,
        ..assessment.clone()
    }))
}

/// The clause's place in the catalog (results are kept in this order).
pub fn catalog_position(number: &str) -> usize {
    clause::catalog()
        .iter()
        .position(|c| c.clause == number)
        .unwrap_or(usize::MAX)
}

/// A completed assessment is evidence of where the SMS stood that day: it is frozen.
pub fn ensure_open(state: AssessmentState) -> Result<(), DomainError> {
    if state == AssessmentState::Completed {
        return Err(DomainError::Conflict(
            "a completed assessment cannot be changed; start a new assessment instead".into(),
        ));
    }
    Ok(())
}

/// Only assessments in progress can be deleted; completed ones are kept as evidence.
pub fn ensure_deletable(state: AssessmentState) -> Result<(), DomainError> {
    if state == AssessmentState::Completed {
        return Err(DomainError::Conflict(
            "a completed assessment is kept as evidence and cannot be deleted".into(),
        ));
    }
    Ok(())
}

/// What `complete` looks at: the assessment and the service's date.
#[derive(Debug, Clone)]
pub struct AssessmentFacts {
    pub assessment: Assessment,
    pub today: NaiveDate,
}

const MANAGERS: &[Actor] = &[Actor::Role(AccessRole::Manager)];

const COMPLETE_NEEDS: &[Need<AssessmentFacts>] = &[
    Need {
        field: "results",
        message: "at least one requirement clause must be judged (a result other than `not_assessed`) before the assessment is completed",
        holds: |f| {
            f.assessment
                .results
                .iter()
                .any(|r| r.status != ResultStatus::NotAssessed)
        },
    },
    Need {
        field: "assessed_on",
        message: "an assessment dated in the future cannot be completed; correct `assessed_on` or wait for the day",
        holds: |f| f.assessment.fields.assessed_on <= f.today,
    },
];

/// `in_progress` → `completed`, by managers (and admins). There is no way back.
pub const WORKFLOW: &[Transition<AssessmentState, AssessmentAction, AssessmentFacts>] =
    &[Transition {
        from: AssessmentState::InProgress,
        action: AssessmentAction::Complete,
        to: AssessmentState::Completed,
        who: MANAGERS,
        not_after: None,
        needs: COMPLETE_NEEDS,
        when: None,
    }];

/// Counts of requirement clauses per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct GapStatusCounts {
    /// Including requirement clauses without a recorded result.
    pub not_assessed: u64,
    pub not_met: u64,
    pub partially_met: u64,
    pub met: u64,
}

impl GapStatusCounts {
    fn add(&mut self, status: ResultStatus) {
        match status {
            ResultStatus::NotAssessed => self.not_assessed += 1,
            ResultStatus::NotMet => self.not_met += 1,
            ResultStatus::PartiallyMet => self.partially_met += 1,
            ResultStatus::Met => self.met += 1,
        }
    }
}

/// A requirement clause that is `not_met` or `partially_met`.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct GapClause {
    #[schema(value_type = ClauseNumber)]
    pub clause: String,
    pub title: String,
    pub status: ResultStatus,
    pub notes: Option<String>,
}

/// A requirement clause whose status moved against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct GapClauseMove {
    #[schema(value_type = ClauseNumber)]
    pub clause: String,
    pub title: String,
    /// Its status in the baseline (`compare_to`).
    pub before: ResultStatus,
    /// Its status in this assessment.
    pub after: ResultStatus,
}

/// The change of a tally against the baseline assessment.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct GapTallyChange {
    /// `share_met` of the baseline.
    #[schema(minimum = 0, maximum = 1)]
    pub share_met_before: f64,
    /// `share_met` minus `share_met_before` (from the unrounded shares, then rounded).
    #[schema(minimum = -1, maximum = 1)]
    pub share_met_change: f64,
    /// Clauses that rose in rank (`not_met` < `partially_met` < `met`), in catalog order.
    pub improved: Vec<GapClauseMove>,
    /// Clauses that fell in rank, in catalog order.
    pub regressed: Vec<GapClauseMove>,
}

/// Where a group of requirement clauses stands.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct GapTally {
    /// The number of requirement clauses (leaf clauses of the catalog) in the group.
    pub requirement_clauses: u64,
    pub counts: GapStatusCounts,
    /// `met` / `requirement_clauses`, 0 to 1, rounded to 4 decimals. `partially_met`
    /// counts as not met.
    #[schema(minimum = 0, maximum = 1)]
    pub share_met: f64,
    /// The `not_met` and `partially_met` clauses, in catalog order.
    pub gaps: Vec<GapClause>,
    /// Against the baseline; null without `compare_to`.
    pub change: Option<GapTallyChange>,
}

/// The tally of one top-level clause.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct GapClauseTally {
    #[schema(value_type = ClauseNumber, example = "8")]
    pub clause: String,
    pub title: String,
    #[serde(flatten)]
    #[schema(inline)]
    pub tally: GapTally,
}

/// One requirement clause's status, and against the baseline.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct GapRequirementStatus {
    #[schema(value_type = ClauseNumber)]
    pub clause: String,
    pub title: String,
    pub status: ResultStatus,
    /// Its status in the baseline; null without `compare_to`.
    pub before: Option<ResultStatus>,
    /// Null without `compare_to`.
    pub movement: Option<GapMovement>,
}

/// The tallies of an assessment: overall, per top-level clause, and per requirement clause.
#[derive(Debug, Clone, PartialEq)]
pub struct Tallies {
    pub overall: GapTally,
    pub by_clause: Vec<GapClauseTally>,
    pub requirements: Vec<GapRequirementStatus>,
}

fn rank(status: ResultStatus) -> usize {
    ResultStatus::ALL
        .iter()
        .position(|s| *s == status)
        .expect("listed")
}

/// How a clause moved from `before` to `after`; a clause not assessed on either side is
/// not compared.
pub fn movement(before: ResultStatus, after: ResultStatus) -> GapMovement {
    if before == ResultStatus::NotAssessed || after == ResultStatus::NotAssessed {
        return GapMovement::NotCompared;
    }
    match rank(after).cmp(&rank(before)) {
        std::cmp::Ordering::Greater => GapMovement::Improved,
        std::cmp::Ordering::Less => GapMovement::Regressed,
        std::cmp::Ordering::Equal => GapMovement::Unchanged,
    }
}

fn share(met: u64, of: u64) -> f64 {
    if of == 0 { 0.0 } else { met as f64 / of as f64 }
}

fn rounded(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// One pass over the requirement clauses of a group.
fn tally<'a>(
    clauses: impl Iterator<Item = &'a &'static CatalogClause>,
    results: &[ClauseResult],
    baseline: Option<&[ClauseResult]>,
) -> GapTally {
    let notes: HashMap<&str, &ClauseResult> =
        results.iter().map(|r| (r.clause.as_str(), r)).collect();
    let mut counts = GapStatusCounts::default();
    let mut before_counts = GapStatusCounts::default();
    let mut gaps = Vec::new();
    let (mut improved, mut regressed) = (Vec::new(), Vec::new());
    let mut total = 0;
    for c in clauses {
        total += 1;
        let status = notes
            .get(c.clause.as_str())
            .map_or(ResultStatus::NotAssessed, |r| r.status);
        counts.add(status);
        if matches!(status, ResultStatus::NotMet | ResultStatus::PartiallyMet) {
            gaps.push(GapClause {
                clause: c.clause.clone(),
                title: c.title.clone(),
                status,
                notes: notes.get(c.clause.as_str()).and_then(|r| r.notes.clone()),
            });
        }
        if let Some(baseline) = baseline {
            let before = status_in(baseline, &c.clause);
            before_counts.add(before);
            let moved = || GapClauseMove {
                clause: c.clause.clone(),
                title: c.title.clone(),
                before,
                after: status,
            };
            match movement(before, status) {
                GapMovement::Improved => improved.push(moved()),
                GapMovement::Regressed => regressed.push(moved()),
                _ => {}
            }
        }
    }
    let share_now = share(counts.met, total);
    GapTally {
        requirement_clauses: total,
        counts,
        share_met: rounded(share_now),
        gaps,
        change: baseline.map(|_| {
            let share_before = share(before_counts.met, total);
            GapTallyChange {
                share_met_before: rounded(share_before),
                share_met_change: rounded(share_now - share_before),
                improved,
                regressed,
            }
        }),
    }
}

/// The tallies of `results`, against `baseline` when given.
pub fn tallies(results: &[ClauseResult], baseline: Option<&[ClauseResult]>) -> Tallies {
    let all = requirement_clauses();
    let by_clause = top_level_clauses()
        .into_iter()
        .map(|top| GapClauseTally {
            clause: top.clause.clone(),
            title: top.title.clone(),
            tally: tally(
                all.iter().filter(|c| top_level_of(&c.clause) == top.clause),
                results,
                baseline,
            ),
        })
        .collect();
    let requirements = all
        .iter()
        .map(|c| {
            let status = status_in(results, &c.clause);
            let before = baseline.map(|b| status_in(b, &c.clause));
            GapRequirementStatus {
                clause: c.clause.clone(),
                title: c.title.clone(),
                status,
                before,
                movement: before.map(|b| movement(b, status)),
            }
        })
        .collect();
    Tallies {
        overall: tally(all.iter(), results, baseline),
        by_clause,
        requirements,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::access::Principal;
    use crate::domain::workflow::{Relation, allowed_actions, check_exhaustively, decide};
    use AssessmentState as S;
    use ResultStatus::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn result(clause: &str, status: ResultStatus) -> ClauseResult {
        ClauseResult {
            clause: clause.into(),
            status,
            notes: Some(format!("notes on {clause}")),
            evidence: None,
        }
    }

    fn assessment(state: S, results: Vec<ClauseResult>) -> Assessment {
        Assessment {
            fields: AssessmentFields {
                title: "Gap analysis".into(),
                assessed_on: day(10),
                description: None,
                scope_note: None,
            },
            state,
            completed_at: None,
            completed_by: None,
            results,
        }
    }

    fn facts(results: Vec<ClauseResult>, today: NaiveDate) -> AssessmentFacts {
        AssessmentFacts {
            assessment: assessment(S::InProgress, results),
            today,
        }
    }

    fn caller(role: AccessRole) -> Principal {
        Principal {
            user_id: "u".into(),
            roles: vec![role],
        }
    }

    #[test]
    fn requirement_clauses_are_the_57_leaves() {
        let leaves = requirement_clauses();
        assert_eq!(leaves.len(), 57);
        for heading in ["4", "5.2", "8.3.4", "8.5.1", "7.5"] {
            assert!(!leaves.iter().any(|c| c.clause == heading), "{heading}");
        }
        for leaf in ["4.1", "5.2.1", "8.3.4.1", "8.6.1", "10.2"] {
            assert!(leaves.iter().any(|c| c.clause == leaf), "{leaf}");
        }
        let tops: Vec<&str> = top_level_clauses()
            .iter()
            .map(|c| c.clause.as_str())
            .collect();
        assert_eq!(tops, ["4", "5", "6", "7", "8", "9", "10"]);
        assert_eq!(top_level_of("8.5.1.2"), "8");
        assert_eq!(top_level_of("10"), "10");
    }

    #[test]
    fn unknown_clauses_are_not_found_and_headings_name_their_requirements() {
        assert_eq!(requirement("8.6.1").unwrap().title, "Incident management");
        assert!(matches!(
            requirement("11.1"),
            Err(DomainError::NamedNotFound { noun: "clause", ref key }) if key == "11.1"
        ));
        let Err(DomainError::Validation(errors)) = requirement("8.5.1") else {
            panic!()
        };
        assert_eq!(errors[0].field, "clause");
        assert!(
            errors[0].message.contains("8.5.1.1, 8.5.1.2, 8.5.1.3"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn a_blank_not_assessed_result_clears_and_text_is_checked() {
        let blank = AssessmentResultInput {
            status: NotAssessed,
            notes: Some("  ".into()),
            evidence: None,
        };
        assert_eq!(validate_result("4.1", blank).unwrap(), None);
        let deferred = AssessmentResultInput {
            status: NotAssessed,
            notes: Some("deferred to next week".into()),
            evidence: None,
        };
        assert!(validate_result("4.1", deferred).unwrap().is_some());
        let bad = AssessmentResultInput {
            status: Met,
            notes: Some("a\u{7}".into()),
            evidence: Some("x".repeat(10_001)),
        };
        let Err(DomainError::Validation(errors)) = validate_result("4.1", bad) else {
            panic!()
        };
        let names: Vec<_> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(names, ["notes", "evidence"]);
    }

    #[test]
    fn results_stay_in_catalog_order_and_an_unchanged_result_changes_nothing() {
        let a = assessment(S::InProgress, vec![result("8.6.1", Met)]);
        let a = with_result(&a, "4.1", Some(result("4.1", NotMet)))
            .unwrap()
            .unwrap();
        let a = with_result(&a, "10.2", Some(result("10.2", Met)))
            .unwrap()
            .unwrap();
        let order: Vec<_> = a.results.iter().map(|r| r.clause.as_str()).collect();
        assert_eq!(order, ["4.1", "8.6.1", "10.2"]);
        assert_eq!(
            with_result(&a, "4.1", Some(result("4.1", NotMet))),
            Ok(None)
        );
        assert_eq!(with_result(&a, "4.2", None), Ok(None));
        let cleared = with_result(&a, "4.1", None).unwrap().unwrap();
        assert_eq!(cleared.results.len(), 2);
        assert_eq!(cleared.status_of("4.1"), NotAssessed);
        let done = assessment(S::Completed, vec![]);
        assert!(matches!(
            with_result(&done, "4.1", None),
            Err(DomainError::Conflict(_))
        ));
    }

    #[test]
    fn completed_assessments_are_frozen_and_kept() {
        assert!(ensure_open(S::InProgress).is_ok());
        assert!(matches!(
            ensure_open(S::Completed),
            Err(DomainError::Conflict(_))
        ));
        assert!(ensure_deletable(S::InProgress).is_ok());
        assert!(matches!(
            ensure_deletable(S::Completed),
            Err(DomainError::Conflict(_))
        ));
    }

    #[test]
    fn complete_names_each_missing_need() {
        let manager = caller(AccessRole::Manager);
        let none = Relation::default();
        let early = facts(vec![result("4.1", NotAssessed)], day(9));
        let Err(DomainError::PreconditionMissing(missing)) = decide(
            WORKFLOW,
            S::InProgress,
            AssessmentAction::Complete,
            &manager,
            &none,
            &early,
        ) else {
            panic!()
        };
        let names: Vec<_> = missing.iter().map(|m| m.field.as_str()).collect();
        assert_eq!(names, ["results", "assessed_on"]);
        let ready = facts(vec![result("4.1", NotMet)], day(10));
        assert_eq!(
            decide(
                WORKFLOW,
                S::InProgress,
                AssessmentAction::Complete,
                &manager,
                &none,
                &ready
            ),
            Ok(S::Completed)
        );
    }

    #[test]
    fn workflow_over_every_state_action_and_role() {
        check_exhaustively(
            WORKFLOW,
            S::ALL,
            AssessmentAction::ALL,
            &facts(vec![result("4.1", Met)], day(10)),
            &facts(vec![], day(1)),
        );
        let none = Relation::default();
        for role in [AccessRole::Manager, AccessRole::Admin] {
            assert_eq!(
                allowed_actions(WORKFLOW, S::InProgress, &caller(role), &none),
                [AssessmentAction::Complete]
            );
        }
        for role in [
            AccessRole::Viewer,
            AccessRole::Contributor,
            AccessRole::Auditor,
        ] {
            assert!(allowed_actions(WORKFLOW, S::InProgress, &caller(role), &none).is_empty());
        }
        assert!(
            allowed_actions(WORKFLOW, S::Completed, &caller(AccessRole::Admin), &none).is_empty()
        );
    }

    #[test]
    fn movement_ranks_and_leaves_unassessed_clauses_uncompared() {
        assert_eq!(movement(NotMet, PartiallyMet), GapMovement::Improved);
        assert_eq!(movement(NotMet, Met), GapMovement::Improved);
        assert_eq!(movement(Met, PartiallyMet), GapMovement::Regressed);
        assert_eq!(movement(Met, Met), GapMovement::Unchanged);
        assert_eq!(movement(NotAssessed, Met), GapMovement::NotCompared);
        assert_eq!(movement(Met, NotAssessed), GapMovement::NotCompared);
        assert_eq!(movement(NotAssessed, NotAssessed), GapMovement::NotCompared);
    }

    #[test]
    fn tallies_count_every_requirement_clause() {
        let results = vec![
            result("4.1", Met),
            result("4.2", Met),
            result("4.3", PartiallyMet),
            result("8.5.1.1", NotMet),
            result("10.1", Met),
            result("10.2", NotAssessed),
        ];
        let t = tallies(&results, None);
        assert_eq!(t.overall.requirement_clauses, 57);
        assert_eq!(
            t.overall.counts,
            GapStatusCounts {
                not_assessed: 52,
                not_met: 1,
                partially_met: 1,
                met: 3
            }
        );
        assert_eq!(t.overall.share_met, 0.0526, "3 / 57");
        let gaps: Vec<_> = t.overall.gaps.iter().map(|g| g.clause.as_str()).collect();
        assert_eq!(gaps, ["4.3", "8.5.1.1"]);
        assert_eq!(t.overall.gaps[0].notes.as_deref(), Some("notes on 4.3"));
        assert_eq!(t.overall.change, None);
        let sizes: Vec<_> = t
            .by_clause
            .iter()
            .map(|c| (c.clause.as_str(), c.tally.requirement_clauses))
            .collect();
        assert_eq!(
            sizes,
            [
                ("4", 4),
                ("5", 4),
                ("6", 4),
                ("7", 9),
                ("8", 30),
                ("9", 4),
                ("10", 2)
            ]
        );
        let four = &t.by_clause[0].tally;
        assert_eq!((four.counts.met, four.share_met), (2, 0.5));
        let ten = &t.by_clause[6].tally;
        assert_eq!(
            (ten.counts.met, ten.counts.not_assessed, ten.share_met),
            (1, 1, 0.5)
        );
        assert_eq!(t.requirements.len(), 57);
        assert_eq!(t.requirements[0].status, Met);
        assert_eq!(t.requirements[0].before, None);
    }

    #[test]
    fn tallies_against_a_baseline() {
        let before = vec![
            result("4.1", NotMet),
            result("4.2", Met),
            result("4.3", PartiallyMet),
            result("5.1", Met),
        ];
        let after = vec![
            result("4.1", Met),
            result("4.2", PartiallyMet),
            result("4.3", PartiallyMet),
            result("4.4", Met),
        ];
        let t = tallies(&after, Some(&before));
        let four = t.by_clause[0].tally.change.as_ref().unwrap();
        assert_eq!(four.share_met_before, 0.25);
        assert_eq!(four.share_met_change, 0.25);
        assert_eq!(
            four.improved,
            [GapClauseMove {
                clause: "4.1".into(),
                title: "Understanding the organization and its context".into(),
                before: NotMet,
                after: Met
            }]
        );
        let regressed: Vec<_> = four.regressed.iter().map(|m| m.clause.as_str()).collect();
        assert_eq!(regressed, ["4.2"]);
        let overall = t.overall.change.as_ref().unwrap();
        assert_eq!(overall.share_met_before, 0.0351, "2 / 57");
        assert_eq!(overall.share_met_change, 0.0, "2 / 57 both times");
        let five = t.by_clause[1].tally.change.as_ref().unwrap();
        assert_eq!(
            (five.share_met_before, five.share_met_change),
            (0.25, -0.25)
        );
        assert!(
            five.regressed.is_empty(),
            "5.1 met → not assessed is not compared"
        );
        let moves: Vec<_> = t.requirements[..5]
            .iter()
            .map(|r| (r.clause.as_str(), r.before, r.movement))
            .collect();
        assert_eq!(
            moves,
            [
                ("4.1", Some(NotMet), Some(GapMovement::Improved)),
                ("4.2", Some(Met), Some(GapMovement::Regressed)),
                ("4.3", Some(PartiallyMet), Some(GapMovement::Unchanged)),
                ("4.4", Some(NotAssessed), Some(GapMovement::NotCompared)),
                ("5.1", Some(Met), Some(GapMovement::NotCompared)),
            ]
        );
    }
}
