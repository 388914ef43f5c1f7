//! Competence (clause 7.2): training records, the evidence that a person holds a competence,
//! and the gaps between what SMS roles require and what their members hold.
//!
//! A record counts ("is current") from the day it was completed until the day before its
//! `expires_on`: on its expiry date it no longer counts. A competence that lapses today is
//! reported today, never a day late.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use serde::Serialize;
use utoipa::ToSchema;

use super::DomainError;
use super::validation::Validator;
use crate::{editable_fields, text_enum};

pub const COMPETENCE_MAX: usize = 200;
pub const EVIDENCE_MAX: usize = 2000;

editable_fields! {
    /// The editable fields of a training record.
    pub struct TrainingRecordFields / TrainingRecordPatch {
        /// The person who holds the competence: an existing user.
        #[schema(format = Uuid, max_length = 36)]
        user_id: String,
        /// What was learned or shown, as SMS roles name it in `required_competences`
        /// (compared without regard to case).
        #[schema(example = "ITIL 4 Foundation", min_length = 1, max_length = 200)]
        competence: String,
        /// When the training or assessment was completed; not after today.
        completed_on: NaiveDate,
        /// The first day on which the record no longer counts; after `completed_on`. Absent
        /// when the competence does not expire.
        #[serde(default)]
        expires_on: Option<NaiveDate>,
        /// The evidence: a certificate number, a note, or a URI into the document store.
        #[serde(default)]
        #[schema(example = "https://dms.example.com/certificates/4711", max_length = 2000)]
        evidence: Option<String>,
    }
}

/// How a competence is compared: trimmed and lower-cased.
pub fn competence_key(competence: &str) -> String {
    competence.trim().to_lowercase()
}

/// Normalizes and validates a record's own fields on `today` (the service's date); whether
/// the user exists is checked by the service.
pub fn validate(
    input: TrainingRecordFields,
    today: NaiveDate,
) -> Result<TrainingRecordFields, DomainError> {
    let mut v = Validator::new();
    v.check(
        !input.user_id.trim().is_empty(),
        "user_id",
        "must be the id of an existing user",
    );
    let competence = v.required_text("competence", &input.competence, COMPETENCE_MAX);
    v.check(
        input.completed_on <= today,
        "completed_on",
        "must not be in the future",
    );
    if let Some(expires_on) = input.expires_on {
        v.check(
            expires_on > input.completed_on,
            "expires_on",
            "must be after completed_on",
        );
    }
    let evidence = v.optional_text("evidence", input.evidence.as_deref(), EVIDENCE_MAX);
    v.finish()?;
    Ok(TrainingRecordFields {
        competence,
        evidence,
        ..input
    })
}

/// Whether a record counts on `today`: completed, and not yet at its expiry date.
pub fn is_current(
    completed_on: NaiveDate,
    expires_on: Option<NaiveDate>,
    today: NaiveDate,
) -> bool {
    completed_on <= today && expires_on.is_none_or(|expires| today < expires)
}

text_enum! {
    /// Why a requirement is not met: no record at all, or only records that have expired.
    pub enum CompetenceGapStatus {
        Missing => "missing",
        Expired => "expired",
    }
}

/// An SMS role as the gap computation sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleRequirements {
    pub role_id: String,
    pub role_name: String,
    pub required_competences: Vec<String>,
    pub member_ids: Vec<String>,
}

/// A training record as the gap computation sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct HeldCompetence {
    pub user_id: String,
    pub competence: String,
    pub completed_on: NaiveDate,
    pub expires_on: Option<NaiveDate>,
}

/// One requirement of an SMS role that one of its members does not meet.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CompetenceGap {
    #[schema(format = Uuid)]
    pub user_id: String,
    pub display_name: String,
    #[schema(format = Uuid)]
    pub role_id: String,
    pub role_name: String,
    /// As the role names it.
    pub competence: String,
    pub status: CompetenceGapStatus,
    /// For `expired`: the latest expiry date among the person's records of the competence.
    pub expired_on: Option<NaiveDate>,
}

/// The counts of a gap report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct CompetenceGapSummary {
    /// People holding at least one of the SMS roles checked.
    pub people_checked: u64,
    /// Pairs of (person, role, required competence) checked.
    pub requirements_checked: u64,
    /// Requirements not met (the rows of `gaps`).
    pub gaps: u64,
    /// Gaps without any record of the competence.
    pub missing: u64,
    /// Gaps whose records have all expired.
    pub expired: u64,
}

/// The competence gaps of the SMS on one day.
#[derive(Debug, Clone, PartialEq)]
pub struct GapReport {
    pub summary: CompetenceGapSummary,
    pub gaps: Vec<CompetenceGap>,
}

/// Every required competence of every role, for every member of the role, that the member
/// holds no current record of on `today`. A role naming the same competence twice (in any
/// case) requires it once; a person holding two roles that require it is checked for
/// each. Rows are ordered by person (display name, then id), role (name, then id), then
/// the order the role lists its competences in. `names` gives display names by user id.
pub fn competence_gaps(
    roles: &[RoleRequirements],
    names: &HashMap<String, String>,
    records: &[HeldCompetence],
    today: NaiveDate,
) -> GapReport {
    // Per (user, competence key): whether a record is current, and the latest expiry passed.
    let mut held: HashMap<(&str, String), (bool, Option<NaiveDate>)> = HashMap::new();
    for r in records {
        let entry = held
            .entry((r.user_id.as_str(), competence_key(&r.competence)))
            .or_default();
        if is_current(r.completed_on, r.expires_on, today) {
            entry.0 = true;
        } else if let Some(expired) = r.expires_on.filter(|e| *e <= today) {
            entry.1 = entry.1.max(Some(expired));
        }
    }
    let mut people: HashSet<&str> = HashSet::new();
    let mut summary = CompetenceGapSummary::default();
    let mut gaps: Vec<CompetenceGap> = Vec::new();
    for role in roles {
        let mut seen: HashSet<String> = HashSet::new();
        let required: Vec<(&String, String)> = role
            .required_competences
            .iter()
            .map(|c| (c, competence_key(c)))
            .filter(|(_, key)| seen.insert(key.clone()))
            .collect();
        let mut members: Vec<&String> = role.member_ids.iter().collect();
        members.sort();
        members.dedup();
        for user_id in members {
            people.insert(user_id);
            for (competence, key) in &required {
                summary.requirements_checked += 1;
                let (current, expired_on) = held
                    .get(&(user_id.as_str(), key.clone()))
                    .copied()
                    .unwrap_or_default();
                if current {
                    continue;
                }
                gaps.push(CompetenceGap {
                    user_id: user_id.clone(),
                    display_name: names.get(user_id).cloned().unwrap_or_default(),
                    role_id: role.role_id.clone(),
                    role_name: role.role_name.clone(),
                    competence: (*competence).clone(),
                    status: if expired_on.is_some() {
                        CompetenceGapStatus::Expired
                    } else {
                        CompetenceGapStatus::Missing
                    },
                    expired_on,
                });
            }
        }
    }
    // Stable: a role's competences keep their order.
    gaps.sort_by(|a, b| {
        (&a.display_name, &a.user_id, &a.role_name, &a.role_id).cmp(&(
            &b.display_name,
            &b.user_id,
            &b.role_name,
            &b.role_id,
        ))
    });
    summary.people_checked = people.len() as u64;
    summary.gaps = gaps.len() as u64;
    summary.missing = gaps
        .iter()
        .filter(|g| g.status == CompetenceGapStatus::Missing)
        .count() as u64;
    summary.expired = summary.gaps - summary.missing;
    GapReport { summary, gaps }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: &str) -> NaiveDate {
        NaiveDate::parse_from_str(d, "%Y-%m-%d").unwrap()
    }

    fn fields() -> TrainingRecordFields {
        TrainingRecordFields {
            user_id: "u".into(),
            competence: " ITIL 4 Foundation ".into(),
            completed_on: day("2027-03-01"),
            expires_on: Some(day("2030-03-01")),
            evidence: Some("  ".into()),
        }
    }

    fn names(errors: DomainError) -> Vec<String> {
        let DomainError::Validation(errors) = errors else {
            panic!("{errors:?}")
        };
        errors.into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn validate_trims_and_checks_dates() {
        let today = day("2027-03-10");
        let f = validate(fields(), today).unwrap();
        assert_eq!(f.competence, "ITIL 4 Foundation");
        assert_eq!(f.evidence, None);
        let mut on_the_day = fields();
        on_the_day.completed_on = today;
        on_the_day.expires_on = None;
        assert!(validate(on_the_day, today).is_ok());

        let mut bad = fields();
        bad.user_id = " ".into();
        bad.competence = "a\u{7}b".into();
        bad.completed_on = day("2027-03-11");
        bad.expires_on = Some(day("2027-03-11"));
        bad.evidence = Some("x".repeat(EVIDENCE_MAX + 1));
        assert_eq!(
            names(validate(bad, today).unwrap_err()),
            [
                "user_id",
                "competence",
                "completed_on",
                "expires_on",
                "evidence"
            ]
        );
        let mut blank = fields();
        blank.competence = "  ".into();
        blank.expires_on = Some(day("2027-02-01"));
        assert_eq!(
            names(validate(blank, today).unwrap_err()),
            ["competence", "expires_on"]
        );
    }

    #[test]
    fn competences_compare_without_case() {
        assert_eq!(competence_key("  ITIL 4 Foundation "), "itil 4 foundation");
        assert_eq!(competence_key("ÄNDERUNG"), competence_key("änderung"));
    }

    #[test]
    fn a_record_expires_on_its_expiry_date() {
        let (done, expires) = (day("2027-01-01"), Some(day("2027-06-01")));
        assert!(is_current(done, expires, day("2027-01-01")));
        assert!(is_current(done, expires, day("2027-05-31")));
        assert!(!is_current(done, expires, day("2027-06-01")));
        assert!(
            !is_current(done, expires, day("2026-12-31")),
            "not yet done"
        );
        assert!(is_current(done, None, day("2099-01-01")));
    }

    fn role(id: &str, name: &str, required: &[&str], members: &[&str]) -> RoleRequirements {
        RoleRequirements {
            role_id: id.into(),
            role_name: name.into(),
            required_competences: required.iter().map(|c| c.to_string()).collect(),
            member_ids: members.iter().map(|m| m.to_string()).collect(),
        }
    }

    fn held(user: &str, competence: &str, done: &str, expires: Option<&str>) -> HeldCompetence {
        HeldCompetence {
            user_id: user.into(),
            competence: competence.into(),
            completed_on: day(done),
            expires_on: expires.map(day),
        }
    }

    fn rows(
        report: &GapReport,
    ) -> Vec<(
        String,
        String,
        String,
        CompetenceGapStatus,
        Option<NaiveDate>,
    )> {
        report
            .gaps
            .iter()
            .map(|g| {
                (
                    g.display_name.clone(),
                    g.role_name.clone(),
                    g.competence.clone(),
                    g.status,
                    g.expired_on,
                )
            })
            .collect()
    }

    fn people() -> HashMap<String, String> {
        [("a", "Alice"), ("b", "Bob"), ("c", "Carol")]
            .into_iter()
            .map(|(id, name)| (id.to_string(), name.to_string()))
            .collect()
    }

    #[test]
    fn gaps_are_missing_or_expired_per_person_role_and_competence() {
        let roles = [
            role("r2", "Service owner", &["ITIL", "Budgeting"], &["b", "a"]),
            role(
                "r1",
                "Change manager",
                &["itil", "CAB chair", "ITIL"],
                &["a"],
            ),
            role("r3", "Observer", &[], &["c"]),
        ];
        let records = [
            // Alice: ITIL current (any case), budgeting lapsed twice, CAB never.
            held("a", "Itil", "2026-01-01", None),
            held("a", "budgeting", "2025-01-01", Some("2026-01-01")),
            held("a", "Budgeting", "2026-01-01", Some("2027-03-10")),
            // Bob: ITIL expires today, budgeting is current, an unrelated record.
            held("b", "ITIL", "2026-01-01", Some("2027-03-10")),
            held("b", "Budgeting", "2026-01-01", Some("2027-03-11")),
            held("b", "Golf", "2026-01-01", None),
        ];
        let report = competence_gaps(&roles, &people(), &records, day("2027-03-10"));
        use CompetenceGapStatus::*;
        let expiry = Some(day("2027-03-10"));
        assert_eq!(
            rows(&report),
            vec![
                (
                    "Alice".into(),
                    "Change manager".into(),
                    "CAB chair".into(),
                    Missing,
                    None
                ),
                (
                    "Alice".into(),
                    "Service owner".into(),
                    "Budgeting".into(),
                    Expired,
                    expiry
                ),
                (
                    "Bob".into(),
                    "Service owner".into(),
                    "ITIL".into(),
                    Expired,
                    expiry
                ),
            ]
        );
        assert_eq!(
            report.summary,
            CompetenceGapSummary {
                people_checked: 3,
                requirements_checked: 6,
                gaps: 3,
                missing: 1,
                expired: 2
            }
        );
        assert_eq!(report.gaps[0].role_id, "r1");
        assert_eq!(report.gaps[0].user_id, "a");

        // A day earlier Bob's ITIL still counts, and so does Alice's budgeting.
        let before = competence_gaps(&roles, &people(), &records, day("2027-03-09"));
        assert_eq!(before.summary.gaps, 1);
        assert_eq!(before.gaps[0].competence, "CAB chair");
    }

    #[test]
    fn a_renewal_closes_the_gap_and_nothing_checked_is_empty() {
        let roles = [role("r", "Role", &["First aid"], &["a", "a"])];
        let lapsed = held("a", "First aid", "2020-01-01", Some("2022-01-01"));
        let today = day("2027-03-10");
        let report = competence_gaps(&roles, &people(), std::slice::from_ref(&lapsed), today);
        assert_eq!(report.gaps[0].status, CompetenceGapStatus::Expired);
        assert_eq!(
            report.summary.people_checked, 1,
            "listed twice, checked once"
        );
        let renewed = held("a", "first aid", "2027-03-10", Some("2029-03-10"));
        let report = competence_gaps(&roles, &people(), &[lapsed, renewed], today);
        assert!(report.gaps.is_empty());
        assert_eq!(report.summary.requirements_checked, 1);
        let empty = competence_gaps(&[], &people(), &[], today);
        assert_eq!(
            (empty.gaps.len(), empty.summary),
            (0, CompetenceGapSummary::default())
        );
        let unknown = competence_gaps(
            &[role("r", "R", &["X"], &["z"])],
            &HashMap::new(),
            &[],
            today,
        );
        assert_eq!(unknown.gaps[0].display_name, "");
    }
}
