//! The documented information ISO/IEC 20000-1:2018 expects (the reference list shipped
//! inside the binary), and the rule that says which documents cover each item.

use std::sync::OnceLock;

use chrono::NaiveDate;
use serde::Deserialize;

use super::clause;
use super::document::{Document, DocumentKind, DocumentState, is_review_overdue};
use crate::text_enum;

text_enum! {
    /// A document the SMS works by, or a record that shows what was done.
    pub enum DocumentedInformationKind { Document => "document", Record => "record" }
}

text_enum! {
    /// `covered`: an approved document in date covers the item; `out_of_date`: only approved
    /// documents overdue for review do; `missing`: no approved document does.
    pub enum DocumentedInformationStatus { Covered => "covered", OutOfDate => "out_of_date", Missing => "missing" }
}

/// One item of the reference list.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceItem {
    pub kind: DocumentedInformationKind,
    pub name: String,
    /// The clause that requires it.
    pub clause: String,
}

const REFERENCE_JSON: &str = include_str!("../../seed/iso20000-1-2018-documented-information.json");

/// The documented information the standard expects, in the order of the reference list.
pub fn reference_list() -> &'static [ReferenceItem] {
    static LIST: OnceLock<Vec<ReferenceItem>> = OnceLock::new();
    LIST.get_or_init(|| {
        serde_json::from_str(REFERENCE_JSON).expect("the embedded reference list is valid JSON")
    })
}

/// `clause` is `within` itself or one of its sub-clauses (`5.2.1` is within `5.2`).
pub fn is_within(clause: &str, within: &str) -> bool {
    clause
        .strip_prefix(within)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
}

/// A document covers an item when it is of the item's kind (a `record` for a record item,
/// any other kind for a document item) and one of its clauses is the item's clause or a
/// sub-clause of it. A document filed under a parent clause only (`8.6` for the `8.6.1`
/// major incident procedure) does not: it may be about anything else under that parent.
pub fn covers(item: &ReferenceItem, kind: DocumentKind, clauses: &[String]) -> bool {
    let kind_fits =
        (kind == DocumentKind::Record) == (item.kind == DocumentedInformationKind::Record);
    kind_fits && clauses.iter().any(|c| is_within(c, &item.clause))
}

/// Every catalog clause a document can cover an item through: the clauses of the items
/// and their sub-clauses.
pub fn covering_clauses() -> Vec<String> {
    let items = reference_list();
    clause::catalog()
        .iter()
        .filter(|c| items.iter().any(|i| is_within(&c.clause, &i.clause)))
        .map(|c| c.clause.clone())
        .collect()
}

/// How one item stands: the approved documents in date that cover it, and the approved
/// ones that cover it but are overdue for review.
#[derive(Debug)]
pub struct Assessment<'a, T> {
    pub item: &'static ReferenceItem,
    pub status: DocumentedInformationStatus,
    pub current: Vec<&'a T>,
    pub overdue: Vec<&'a T>,
}

/// Judges every item of the reference list against `documents` on `today`. Only approved
/// documents count; drafts and obsolete ones are not in force.
pub fn assess<'a, T>(
    documents: &'a [T],
    document: impl Fn(&T) -> &Document,
    today: NaiveDate,
) -> Vec<Assessment<'a, T>> {
    reference_list()
        .iter()
        .map(|item| {
            let (mut current, mut overdue) = (Vec::new(), Vec::new());
            for t in documents {
                let d = document(t);
                if d.state != DocumentState::Approved
                    || !covers(item, d.fields.kind, &d.fields.clauses)
                {
                    continue;
                }
                if is_review_overdue(d.fields.review_due, d.state, today) {
                    overdue.push(t);
                } else {
                    current.push(t);
                }
            }
            let status = match (current.is_empty(), overdue.is_empty()) {
                (false, _) => DocumentedInformationStatus::Covered,
                (true, false) => DocumentedInformationStatus::OutOfDate,
                (true, true) => DocumentedInformationStatus::Missing,
            };
            Assessment {
                item,
                status,
                current,
                overdue,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::document::DocumentFields;

    #[test]
    fn the_reference_list_names_catalog_clauses() {
        let list = reference_list();
        assert_eq!(list.len(), 37);
        assert_eq!(
            list.iter()
                .filter(|i| i.kind == DocumentedInformationKind::Record)
                .count(),
            17
        );
        for item in list {
            assert!(clause::exists(&item.clause), "{}", item.clause);
        }
        let clauses = covering_clauses();
        assert!(clauses.contains(&"5.2.1".to_string()));
        assert!(!clauses.contains(&"8.6".to_string()));
    }

    #[test]
    fn sub_clauses_count_parents_do_not() {
        assert!(is_within("5.2.1", "5.2"));
        assert!(is_within("5.2", "5.2"));
        assert!(!is_within("5.21", "5.2"));
        assert!(!is_within("5", "5.2"));
        let policy = ReferenceItem {
            kind: DocumentedInformationKind::Document,
            name: "Service management policy".into(),
            clause: "5.2".into(),
        };
        assert!(covers(&policy, DocumentKind::Policy, &["5.2.1".into()]));
        assert!(covers(
            &policy,
            DocumentKind::Other,
            &["4.3".into(), "5.2".into()]
        ));
        assert!(!covers(&policy, DocumentKind::Policy, &["5".into()]));
        assert!(!covers(&policy, DocumentKind::Record, &["5.2".into()]));
        let incidents = ReferenceItem {
            kind: DocumentedInformationKind::Record,
            name: "Incidents".into(),
            clause: "8.6.1".into(),
        };
        assert!(covers(&incidents, DocumentKind::Record, &["8.6.1".into()]));
        assert!(!covers(
            &incidents,
            DocumentKind::Procedure,
            &["8.6.1".into()]
        ));
    }

    fn doc(kind: DocumentKind, clause: &str, state: DocumentState, due: NaiveDate) -> Document {
        Document {
            fields: DocumentFields {
                title: clause.into(),
                kind,
                clauses: vec![clause.into()],
                owner_role_id: Some("o".into()),
                version_label: Some("1".into()),
                location: Some("https://d/x".into()),
                review_due: Some(due),
            },
            state,
            approved_by: None,
            approved_at: None,
        }
    }

    #[test]
    fn statuses_follow_state_and_review_date() {
        let today = NaiveDate::from_ymd_opt(2027, 6, 1).unwrap();
        let later = NaiveDate::from_ymd_opt(2027, 12, 31).unwrap();
        let earlier = NaiveDate::from_ymd_opt(2027, 5, 31).unwrap();
        use DocumentKind::*;
        use DocumentState::*;
        let docs = vec![
            doc(Policy, "5.2", Approved, later),
            doc(Procedure, "8.6.1", Approved, earlier),
            doc(Plan, "6.3", Draft, later),
            doc(Plan, "6.3", Obsolete, later),
            doc(Record, "8.6.1", Approved, today),
        ];
        let report = assess(&docs, |d| d, today);
        let status = |name: &str| {
            let a = report.iter().find(|a| a.item.name == name).unwrap();
            (a.status, a.current.len(), a.overdue.len())
        };
        assert_eq!(
            status("Service management policy"),
            (DocumentedInformationStatus::Covered, 1, 0)
        );
        assert_eq!(
            status("Major incident procedure"),
            (DocumentedInformationStatus::OutOfDate, 0, 1)
        );
        assert_eq!(
            status("Incidents"),
            (DocumentedInformationStatus::Covered, 1, 0),
            "due today is in date"
        );
        assert_eq!(
            status("Service management plan"),
            (DocumentedInformationStatus::Missing, 0, 0)
        );
        assert_eq!(report.len(), reference_list().len());
    }
}
