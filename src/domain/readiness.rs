//! Certification readiness: what the live records say about each clause of the catalog,
//! an overall score and the blockers a certification auditor would raise.
//!
//! The rules, per clause:
//! | check | applies to | met | warning | blocker |
//! |---|---|---|---|---|
//! | `processes` | process clauses (8.x with `is_process`) | an active process refers to it, its review in date | — | none active, or every active one is past its review |
//! | `documented_information` | clauses with an item in the documented-information list | an approved document refers to it, its review in date | — | none approved, or every approved one is past its review |
//! | `internal_audit` | every clause | a closed internal audit covered it (or a clause above it) within 12 months | — | not covered within 12 months |
//! | `management_review` | 9.3 | a review was held within 12 months | — | none held within 12 months |
//! | `nonconformities` | every clause | no open nonconformity | open minor nonconformities | an open major nonconformity |
//! | `corrective_actions` | every clause | no overdue corrective action | overdue corrective actions | — |
//! | `gap_assessment` | every clause the latest completed assessment assessed | the latest completed assessment says `met` | `partially_met` | `not_met` |
//!
//! A met check scores 1, a warning ½, a blocker 0. A clause scores the mean of the checks
//! that apply to it; the overall score is the mean of the clause scores, as a percentage
//! with one decimal. The SMS is `ready` when nothing blocks.

use std::collections::HashMap;

use chrono::{DateTime, Months, NaiveDate, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::assessment::ResultStatus;
use super::clause::CatalogClause;
use crate::text_enum;

text_enum! {
    pub enum ReadinessCheck {
        Processes => "processes",
        DocumentedInformation => "documented_information",
        InternalAudit => "internal_audit",
        ManagementReview => "management_review",
        Nonconformities => "nonconformities",
        CorrectiveActions => "corrective_actions",
        GapAssessment => "gap_assessment",
    }
}

text_enum! {
    pub enum CheckStatus { Met => "met", Warning => "warning", Blocker => "blocker" }
}

text_enum! {
    /// What a blocker or a warning points at.
    pub enum RecordKind {
        Clause => "clause",
        Process => "process",
        Document => "document",
        Audit => "audit",
        ManagementReview => "management_review",
        Finding => "finding",
        CorrectiveAction => "corrective_action",
        Assessment => "assessment",
    }
}

/// A record named by the report.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct RecordRef {
    pub kind: RecordKind,
    /// The record's id; none when the thing that is missing is a record not yet made.
    #[schema(format = Uuid)]
    pub id: Option<String>,
    /// Its code, title or number, for people.
    pub label: String,
}

impl RecordRef {
    pub fn new(kind: RecordKind, id: impl Into<String>, label: impl Into<String>) -> Self {
        RecordRef {
            kind,
            id: Some(id.into()),
            label: label.into(),
        }
    }
}

/// A dated record: a process or a document with its next review.
#[derive(Debug, Clone)]
pub struct Reviewed {
    pub record: RecordRef,
    pub review_due: Option<NaiveDate>,
}

/// An item of documented information the standard expects (`GET /documented-information`).
#[derive(Debug, Clone)]
pub struct ExpectedDocument {
    pub name: String,
    /// Approved documents in date that cover it.
    pub current: Vec<RecordRef>,
    /// Approved documents that cover it but are past their review date.
    pub overdue: Vec<Reviewed>,
}

/// What the records say about one clause, as loaded from the database.
#[derive(Debug, Clone, Default)]
pub struct ClauseFacts {
    /// Active processes that refer to the clause.
    pub active_processes: Vec<Reviewed>,
    /// The documented information the standard expects under the clause, and how the
    /// approved documents cover each item.
    pub expected_documents: Vec<ExpectedDocument>,
    /// The close of the latest internal audit whose scope held the clause itself.
    pub last_audited: Option<DateTime<Utc>>,
    pub open_major_findings: Vec<RecordRef>,
    pub open_minor_findings: Vec<RecordRef>,
    pub overdue_corrective_actions: Vec<RecordRef>,
    /// The clause's result in the latest completed gap assessment.
    pub assessed: Option<ResultStatus>,
}

/// What applies to the SMS as a whole.
#[derive(Debug, Clone, Default)]
pub struct SmsFacts {
    /// The latest management review held (or approved), with its date.
    pub last_management_review: Option<(RecordRef, NaiveDate)>,
    /// The latest completed gap assessment.
    pub latest_assessment: Option<RecordRef>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CheckResult {
    pub check: ReadinessCheck,
    pub status: CheckStatus,
    /// What was found, in a sentence.
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClauseReadiness {
    #[schema(value_type = super::clause::ClauseNumber)]
    pub clause: String,
    pub title: String,
    /// From 0 to 1: the mean of the checks that apply (met 1, warning ½, blocker 0).
    pub score: f64,
    pub checks: Vec<CheckResult>,
}

/// Something a certification auditor would stop at (or, as a warning, remark on).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Issue {
    #[schema(value_type = super::clause::ClauseNumber)]
    pub clause: String,
    pub check: ReadinessCheck,
    /// The record at fault, or the clause itself when a record is missing.
    pub record: RecordRef,
    pub problem: String,
    /// What would clear it.
    pub clear_by: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Readiness {
    /// From 0 to 100, one decimal: the mean of the clause scores.
    pub score: f64,
    /// Nothing blocks certification.
    pub ready: bool,
    /// The day the rules were applied on (the service's clock).
    pub as_of: NaiveDate,
    /// The latest management review held, if any.
    pub last_management_review: Option<RecordRef>,
    /// The latest completed gap assessment, whose results the `gap_assessment` check reads.
    pub latest_assessment: Option<RecordRef>,
    pub clauses: Vec<ClauseReadiness>,
    pub blockers: Vec<Issue>,
    pub warnings: Vec<Issue>,
}

const MANAGEMENT_REVIEW_CLAUSE: &str = "9.3";

/// Applies the rules to every clause of the catalog.
pub fn assess(
    catalog: &[CatalogClause],
    facts: &HashMap<String, ClauseFacts>,
    sms: &SmsFacts,
    now: DateTime<Utc>,
) -> Readiness {
    let today = now.date_naive();
    let year_ago = today.checked_sub_months(Months::new(12)).unwrap_or(today);
    let parents: HashMap<&str, Option<&str>> = catalog
        .iter()
        .map(|c| (c.clause.as_str(), c.parent.as_deref()))
        .collect();
    let empty = ClauseFacts::default();
    let mut report = Readiness {
        score: 0.0,
        ready: true,
        as_of: today,
        last_management_review: sms.last_management_review.as_ref().map(|(r, _)| r.clone()),
        latest_assessment: sms.latest_assessment.clone(),
        clauses: Vec::with_capacity(catalog.len()),
        blockers: Vec::new(),
        warnings: Vec::new(),
    };
    for clause in catalog {
        let own = facts.get(&clause.clause).unwrap_or(&empty);
        // Auditing a clause audits the clauses under it.
        let mut last_audited = None;
        let mut at = Some(clause.clause.as_str());
        while let Some(number) = at {
            let above = facts.get(number).and_then(|f| f.last_audited);
            last_audited = Ord::max(last_audited, above);
            at = parents.get(number).copied().flatten();
        }
        let mut judge = Judge {
            clause,
            today,
            checks: Vec::new(),
            report: &mut report,
        };
        if clause.is_process {
            judge.processes(&own.active_processes);
        }
        if !own.expected_documents.is_empty() {
            judge.documented_information(&own.expected_documents);
        }
        judge.internal_audit(last_audited.map(|at| at.date_naive()), year_ago);
        if clause.clause == MANAGEMENT_REVIEW_CLAUSE {
            judge.management_review(sms.last_management_review.as_ref(), year_ago);
        }
        judge.nonconformities(own);
        judge.corrective_actions(&own.overdue_corrective_actions);
        if let Some(assessment) = &sms.latest_assessment {
            judge.gap_assessment(assessment, own.assessed);
        }
        let checks = judge.checks;
        let score = checks.iter().map(|c| weight(c.status)).sum::<f64>() / checks.len() as f64;
        report.clauses.push(ClauseReadiness {
            clause: clause.clause.clone(),
            title: clause.title.clone(),
            score,
            checks,
        });
    }
    let total: f64 = report.clauses.iter().map(|c| c.score).sum();
    let mean = total / report.clauses.len().max(1) as f64;
    report.score = (mean * 1000.0).round() / 10.0;
    report.ready = report.blockers.is_empty();
    report
}

fn weight(status: CheckStatus) -> f64 {
    match status {
        CheckStatus::Met => 1.0,
        CheckStatus::Warning => 0.5,
        CheckStatus::Blocker => 0.0,
    }
}

/// The issue of a record past its review date.
fn overdue_review(noun: &str) -> impl Fn(&Reviewed) -> (RecordRef, String, String) + '_ {
    move |r| {
        let label = &r.record.label;
        let due = r.review_due.map(|d| d.to_string()).unwrap_or_default();
        (
            r.record.clone(),
            format!("{noun} {label} was due for review on {due}"),
            format!("review {noun} {label} and set its next review date"),
        )
    }
}

/// Records the checks of one clause, and its blockers and warnings in the report.
struct Judge<'a> {
    clause: &'a CatalogClause,
    today: NaiveDate,
    checks: Vec<CheckResult>,
    report: &'a mut Readiness,
}

impl Judge<'_> {
    fn met(&mut self, check: ReadinessCheck, detail: String) {
        self.checks.push(CheckResult {
            check,
            status: CheckStatus::Met,
            detail,
        });
    }

    /// One check result, and one issue per record named.
    fn fault(
        &mut self,
        check: ReadinessCheck,
        status: CheckStatus,
        detail: String,
        issues: Vec<(RecordRef, String, String)>,
    ) {
        self.checks.push(CheckResult {
            check,
            status,
            detail,
        });
        let list = match status {
            CheckStatus::Blocker => &mut self.report.blockers,
            _ => &mut self.report.warnings,
        };
        list.extend(issues.into_iter().map(|(record, problem, clear_by)| Issue {
            clause: self.clause.clause.clone(),
            check,
            record,
            problem,
            clear_by,
        }));
    }

    fn clause_ref(&self) -> RecordRef {
        RecordRef {
            kind: RecordKind::Clause,
            id: None,
            label: self.clause.clause.clone(),
        }
    }

    /// At least one active process with its review in date.
    fn processes(&mut self, processes: &[Reviewed]) {
        let check = ReadinessCheck::Processes;
        let number = self.clause.clause.clone();
        let in_date = processes
            .iter()
            .filter(|r| r.review_due.is_none_or(|due| due >= self.today))
            .count();
        if in_date > 0 {
            let detail = format!("{in_date} active process(es) with the review in date");
            return self.met(check, detail);
        }
        if processes.is_empty() {
            let issue = (
                self.clause_ref(),
                format!("no active process refers to clause {number}"),
                format!("approve a process that refers to clause {number}"),
            );
            return self.fault(
                check,
                CheckStatus::Blocker,
                "no active process".into(),
                vec![issue],
            );
        }
        let issues = processes.iter().map(overdue_review("process")).collect();
        let detail = "every active process is past its review date".into();
        self.fault(check, CheckStatus::Blocker, detail, issues);
    }

    /// Every item the standard expects under the clause is covered by an approved document
    /// in date.
    fn documented_information(&mut self, expected: &[ExpectedDocument]) {
        let check = ReadinessCheck::DocumentedInformation;
        let number = self.clause.clause.clone();
        let mut issues = Vec::new();
        for item in expected.iter().filter(|i| i.current.is_empty()) {
            if item.overdue.is_empty() {
                issues.push((
                    self.clause_ref(),
                    format!("no approved document covers \"{}\"", item.name),
                    format!(
                        "approve a document for \"{}\" filed under clause {number}",
                        item.name
                    ),
                ));
            } else {
                issues.extend(item.overdue.iter().map(overdue_review("document")));
            }
        }
        if issues.is_empty() {
            let detail = format!(
                "{} expected item(s) covered by approved documents in date",
                expected.len()
            );
            return self.met(check, detail);
        }
        let missing = expected.iter().filter(|i| i.current.is_empty()).count();
        let detail = format!(
            "{missing} of {} expected item(s) not covered in date",
            expected.len()
        );
        self.fault(check, CheckStatus::Blocker, detail, issues);
    }

    fn internal_audit(&mut self, last: Option<NaiveDate>, year_ago: NaiveDate) {
        let check = ReadinessCheck::InternalAudit;
        let number = self.clause.clause.clone();
        match last {
            Some(day) if day >= year_ago => self.met(
                check,
                format!("covered by an internal audit closed on {day}"),
            ),
            _ => {
                let detail = match last {
                    Some(day) => format!("last covered by an internal audit closed on {day}"),
                    None => "never covered by a closed internal audit".into(),
                };
                let issue = (
                    self.clause_ref(),
                    format!("clause {number} has no internal audit closed in the last 12 months"),
                    format!("close an internal audit whose scope includes clause {number}"),
                );
                self.fault(check, CheckStatus::Blocker, detail, vec![issue]);
            }
        }
    }

    fn management_review(&mut self, last: Option<&(RecordRef, NaiveDate)>, year_ago: NaiveDate) {
        let check = ReadinessCheck::ManagementReview;
        match last {
            Some((_, held)) if *held >= year_ago => {
                self.met(check, format!("management review held on {held}"))
            }
            _ => {
                let (record, detail) = match last {
                    Some((review, held)) => (
                        review.clone(),
                        format!("last management review held on {held}"),
                    ),
                    None => (self.clause_ref(), "no management review held".into()),
                };
                let issue = (
                    record,
                    "no management review held in the last 12 months".into(),
                    "hold a management review with every 9.3 input recorded".into(),
                );
                self.fault(check, CheckStatus::Blocker, detail, vec![issue]);
            }
        }
    }

    fn nonconformities(&mut self, facts: &ClauseFacts) {
        let check = ReadinessCheck::Nonconformities;
        let clear = |f: &RecordRef| {
            format!(
                "close the corrective action of finding {} (verified effective)",
                f.label
            )
        };
        let (majors, minors) = (&facts.open_major_findings, &facts.open_minor_findings);
        if !majors.is_empty() {
            let issues = majors
                .iter()
                .map(|f| {
                    let problem = format!("major nonconformity {} is open", f.label);
                    (f.clone(), problem, clear(f))
                })
                .collect();
            let detail = format!(
                "{} open major and {} open minor nonconformities",
                majors.len(),
                minors.len()
            );
            self.fault(check, CheckStatus::Blocker, detail, issues);
        } else if !minors.is_empty() {
            let issues = minors
                .iter()
                .map(|f| {
                    let problem = format!("minor nonconformity {} is open", f.label);
                    (f.clone(), problem, clear(f))
                })
                .collect();
            let detail = format!("{} open minor nonconformities", minors.len());
            self.fault(check, CheckStatus::Warning, detail, issues);
        } else {
            self.met(check, "no open nonconformity".into());
        }
    }

    fn corrective_actions(&mut self, overdue: &[RecordRef]) {
        let check = ReadinessCheck::CorrectiveActions;
        if overdue.is_empty() {
            return self.met(check, "no overdue corrective action".into());
        }
        let issues = overdue
            .iter()
            .map(|a| {
                (
                    a.clone(),
                    format!("corrective action {} is overdue", a.label),
                    format!(
                        "complete corrective action {} or agree a new due date",
                        a.label
                    ),
                )
            })
            .collect();
        let detail = format!("{} overdue corrective action(s)", overdue.len());
        self.fault(check, CheckStatus::Warning, detail, issues);
    }

    fn gap_assessment(&mut self, assessment: &RecordRef, assessed: Option<ResultStatus>) {
        let check = ReadinessCheck::GapAssessment;
        let number = self.clause.clause.clone();
        let status = assessed.unwrap_or(ResultStatus::NotAssessed);
        let detail = format!("{} in assessment {}", status.as_str(), assessment.label);
        let (level, problem) = match status {
            ResultStatus::Met => return self.met(check, detail),
            // A clause the assessment left out says nothing either way.
            ResultStatus::NotAssessed => return,
            ResultStatus::PartiallyMet => (CheckStatus::Warning, "partially met"),
            ResultStatus::NotMet => (CheckStatus::Blocker, "not met"),
        };
        let issue = (
            assessment.clone(),
            format!("the latest gap assessment found clause {number} {problem}"),
            format!("close the gap for clause {number} and record it as met in a new assessment"),
        );
        self.fault(check, level, detail, vec![issue]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn clause(number: &str, parent: Option<&str>, is_process: bool) -> CatalogClause {
        CatalogClause {
            clause: number.into(),
            title: format!("Clause {number}"),
            parent: parent.map(Into::into),
            is_process,
        }
    }

    fn catalog() -> Vec<CatalogClause> {
        vec![
            clause("8", None, false),
            clause("8.6", Some("8"), false),
            clause("8.6.1", Some("8.6"), true),
            clause("9", None, false),
            clause("9.3", Some("9"), false),
        ]
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2027, 6, 1, 12, 0, 0).unwrap()
    }

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    fn check<'a>(r: &'a Readiness, number: &str, check: ReadinessCheck) -> Option<&'a CheckResult> {
        r.clauses
            .iter()
            .find(|c| c.clause == number)
            .and_then(|c| c.checks.iter().find(|x| x.check == check))
    }

    /// Facts under which every check of every clause is met.
    fn all_good() -> (HashMap<String, ClauseFacts>, SmsFacts) {
        let audited = Some(Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap());
        let process = Reviewed {
            record: RecordRef::new(RecordKind::Process, "p1", "INC"),
            review_due: Some(day("2027-12-31")),
        };
        let mut facts = HashMap::new();
        facts.insert(
            "8".into(),
            ClauseFacts {
                last_audited: audited,
                ..Default::default()
            },
        );
        facts.insert(
            "9".into(),
            ClauseFacts {
                last_audited: audited,
                ..Default::default()
            },
        );
        facts.insert(
            "8.6.1".into(),
            ClauseFacts {
                active_processes: vec![process],
                ..Default::default()
            },
        );
        let sms = SmsFacts {
            last_management_review: Some((
                RecordRef::new(RecordKind::ManagementReview, "m1", "2027 review"),
                day("2027-02-01"),
            )),
            latest_assessment: None,
        };
        (facts, sms)
    }

    #[test]
    fn everything_met_scores_100_and_is_ready() {
        let (facts, sms) = all_good();
        let r = assess(&catalog(), &facts, &sms, now());
        assert_eq!(r.score, 100.0);
        assert!(r.ready, "{:?}", r.blockers);
        assert!(r.warnings.is_empty());
        assert_eq!(
            check(&r, "8.6.1", ReadinessCheck::Processes)
                .unwrap()
                .status,
            CheckStatus::Met
        );
        assert!(check(&r, "8.6", ReadinessCheck::Processes).is_none());
        assert!(check(&r, "9.3", ReadinessCheck::ManagementReview).is_some());
        assert!(check(&r, "8.6", ReadinessCheck::ManagementReview).is_none());
    }

    #[test]
    fn a_process_clause_without_an_active_reviewed_process_blocks() {
        let (mut facts, sms) = all_good();
        let f = facts.get_mut("8.6.1").unwrap();
        f.active_processes[0].review_due = Some(day("2027-05-31"));
        let r = assess(&catalog(), &facts, &sms, now());
        assert!(!r.ready);
        assert_eq!(r.blockers.len(), 1);
        let b = &r.blockers[0];
        assert_eq!(
            (b.clause.as_str(), b.check),
            ("8.6.1", ReadinessCheck::Processes)
        );
        assert_eq!(b.record.id.as_deref(), Some("p1"));
        assert!(b.clear_by.contains("review process INC"), "{}", b.clear_by);

        facts.get_mut("8.6.1").unwrap().active_processes.clear();
        let r = assess(&catalog(), &facts, &sms, now());
        assert_eq!(r.blockers[0].record.kind, RecordKind::Clause);
        // One blocked check of four (processes, internal audit, nonconformities, CAs).
        let c = r.clauses.iter().find(|c| c.clause == "8.6.1").unwrap();
        assert_eq!(c.score, 0.75);
        assert_eq!(r.score, ((4.0 + 0.75) / 5.0 * 1000.0_f64).round() / 10.0);
    }

    #[test]
    fn expected_documents_need_an_approved_document_in_date() {
        let (mut facts, sms) = all_good();
        let expected = |current: Vec<RecordRef>, overdue: Vec<Reviewed>| ExpectedDocument {
            name: "Management review results".into(),
            current,
            overdue,
        };
        facts.entry("9.3".into()).or_default().expected_documents = vec![expected(vec![], vec![])];
        let r = assess(&catalog(), &facts, &sms, now());
        let status = |r: &Readiness| {
            check(r, "9.3", ReadinessCheck::DocumentedInformation)
                .unwrap()
                .status
        };
        assert_eq!(status(&r), CheckStatus::Blocker);
        assert_eq!(r.blockers[0].record.kind, RecordKind::Clause);
        assert!(r.blockers[0].problem.contains("Management review results"));
        let old = Reviewed {
            record: RecordRef::new(RecordKind::Document, "d0", "MR minutes 2025"),
            review_due: Some(day("2027-01-01")),
        };
        facts.get_mut("9.3").unwrap().expected_documents = vec![expected(vec![], vec![old])];
        let r = assess(&catalog(), &facts, &sms, now());
        assert_eq!(r.blockers[0].record.id.as_deref(), Some("d0"));
        assert!(
            r.blockers[0]
                .clear_by
                .contains("review document MR minutes 2025")
        );
        let minutes = RecordRef::new(RecordKind::Document, "d1", "MR minutes");
        facts.get_mut("9.3").unwrap().expected_documents = vec![expected(vec![minutes], vec![])];
        let r = assess(&catalog(), &facts, &sms, now());
        assert!(r.ready);
    }

    #[test]
    fn audits_cover_the_clauses_below_them_for_twelve_months() {
        let (mut facts, sms) = all_good();
        facts.get_mut("8").unwrap().last_audited =
            Some(Utc.with_ymd_and_hms(2026, 5, 31, 0, 0, 0).unwrap());
        let r = assess(&catalog(), &facts, &sms, now());
        let blocked: Vec<&str> = r
            .blockers
            .iter()
            .filter(|b| b.check == ReadinessCheck::InternalAudit)
            .map(|b| b.clause.as_str())
            .collect();
        assert_eq!(blocked, ["8", "8.6", "8.6.1"]);
        facts.get_mut("8.6.1").unwrap().last_audited =
            Some(Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap());
        let r = assess(&catalog(), &facts, &sms, now());
        assert_eq!(
            check(&r, "8.6.1", ReadinessCheck::InternalAudit)
                .unwrap()
                .status,
            CheckStatus::Met
        );
    }

    #[test]
    fn management_review_older_than_a_year_blocks_on_9_3() {
        let (facts, mut sms) = all_good();
        sms.last_management_review.as_mut().unwrap().1 = day("2026-05-31");
        let r = assess(&catalog(), &facts, &sms, now());
        assert_eq!(r.blockers.len(), 1);
        assert_eq!(r.blockers[0].clause, "9.3");
        assert_eq!(r.blockers[0].record.id.as_deref(), Some("m1"));
        sms.last_management_review = None;
        let r = assess(&catalog(), &facts, &sms, now());
        assert_eq!(r.blockers[0].record.kind, RecordKind::Clause);
    }

    #[test]
    fn majors_block_minors_and_overdue_actions_warn() {
        let (mut facts, sms) = all_good();
        let f = facts.get_mut("8.6.1").unwrap();
        f.open_minor_findings = vec![RecordRef::new(RecordKind::Finding, "f2", "minor")];
        f.overdue_corrective_actions =
            vec![RecordRef::new(RecordKind::CorrectiveAction, "c1", "Fix")];
        let r = assess(&catalog(), &facts, &sms, now());
        assert!(r.ready);
        assert_eq!(r.warnings.len(), 2);
        let c = r.clauses.iter().find(|c| c.clause == "8.6.1").unwrap();
        assert_eq!(c.score, 0.75);
        facts.get_mut("8.6.1").unwrap().open_major_findings =
            vec![RecordRef::new(RecordKind::Finding, "f1", "major")];
        let r = assess(&catalog(), &facts, &sms, now());
        assert!(!r.ready);
        assert_eq!(r.blockers[0].record.id.as_deref(), Some("f1"));
    }

    #[test]
    fn the_latest_assessment_grades_each_clause() {
        let (mut facts, mut sms) = all_good();
        sms.latest_assessment = Some(RecordRef::new(RecordKind::Assessment, "a1", "Pre-audit"));
        facts.entry("9.3".into()).or_default().assessed = Some(ResultStatus::NotMet);
        facts.get_mut("8.6.1").unwrap().assessed = Some(ResultStatus::PartiallyMet);
        let r = assess(&catalog(), &facts, &sms, now());
        assert_eq!(r.blockers.len(), 1);
        assert_eq!(r.blockers[0].clause, "9.3");
        assert_eq!(r.warnings.len(), 1);
        assert!(check(&r, "8", ReadinessCheck::GapAssessment).is_none());
    }
}
