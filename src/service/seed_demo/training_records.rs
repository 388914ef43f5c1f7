//! Step `training records`: the evidence of competence (clause 7.2) of each business unit's
//! SMS role members, one record for each competence their roles require, recorded by the
//! SMS manager: most current, some certificates still running, and the few gaps the
//! catalog names (missing or expired) that `GET /reports/competence-gaps` lists.

use std::collections::HashSet;

use super::catalog::{self, Held};
use super::{Demo, Made, StepFuture, refused};
use crate::domain::competence::{TrainingRecordFields, competence_key};
use crate::service::training_records;

pub fn run(demo: &mut Demo) -> StepFuture<'_> {
    Box::pin(seed(demo))
}

/// Every (person, competence) the SMS roles require, once each, in catalog order.
fn requirements() -> Vec<(&'static str, &'static str)> {
    let mut seen = HashSet::new();
    catalog::ROLES
        .iter()
        .flat_map(|r| {
            r.members
                .iter()
                .flat_map(|m| r.required_competences.iter().map(move |c| (*m, *c)))
        })
        .filter(|(m, c)| seen.insert((*m, competence_key(c))))
        .collect()
}

/// How the person stands with the competence, by the catalog's gaps.
fn held(person: &str, competence: &str) -> Option<Held> {
    catalog::TRAINING_GAPS
        .iter()
        .find(|(p, c, _)| *p == person && competence_key(c) == competence_key(competence))
        .map(|(_, _, held)| *held)
}

async fn seed(demo: &mut Demo) -> anyhow::Result<Made> {
    let required = requirements();
    let (mut count, mut expired) = (0, 0);
    for u in 0..demo.units.len() {
        let unit = &demo.units[u];
        for (k, (person, competence)) in required.iter().enumerate() {
            // Completed over the past two and a half years; every few certificates expire
            // three years on, the rest do not.
            let completed = -(30 + (97 * k as i64) % 900);
            let (completed, expires) = match held(person, competence) {
                Some(Held::Missing) => continue,
                Some(Held::Expired(days)) => {
                    expired += 1;
                    (-days - catalog::CERTIFICATE_DAYS, Some(-days))
                }
                None if k % catalog::EXPIRING_EVERY == 0 => {
                    (completed, Some(completed + catalog::CERTIFICATE_DAYS))
                }
                None => (completed, None),
            };
            let fields = TrainingRecordFields {
                user_id: unit.person(person).id.clone(),
                competence: competence.to_string(),
                completed_on: demo.date(completed),
                expires_on: expires.map(|d| demo.date(d)),
                evidence: Some(format!(
                    "Certificate BU{}-{:04}, copy in the personnel file.",
                    unit.number,
                    k + 1
                )),
            };
            let at = demo.at(completed + 2, k as i64);
            let at = unit.as_person(catalog::TRAINING_RECORDER, at);
            training_records::create(&demo.db, &at, fields)
                .await
                .map_err(|e| refused(format!("training record {competence} of {person}"), e))?;
            count += 1;
        }
        demo.unit_done(u + 1);
    }
    Ok(vec![("training records", count), ("expired", expired)])
}
