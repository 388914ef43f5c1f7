//! Step `SMS roles`: the organizational roles of each business unit (clause 5.3), with
//! their members and the competences they require.

use super::{Demo, Made, StepFuture, catalog, refused};
use crate::domain::sms_role::SmsRoleFields;
use crate::service::sms_roles;

/// When the roles were defined, in days from today.
const DEFINED: i64 = -415;

pub fn run(demo: &mut Demo) -> StepFuture<'_> {
    Box::pin(seed(demo))
}

fn texts(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

async fn seed(demo: &mut Demo) -> anyhow::Result<Made> {
    let mut count = 0;
    for u in 0..demo.units.len() {
        let unit = &demo.units[u];
        let mut made = Vec::new();
        for (i, spec) in catalog::ROLES.iter().enumerate() {
            let fields = SmsRoleFields {
                name: unit.name(spec.name),
                description: Some(spec.description.to_string()),
                responsibilities: texts(spec.responsibilities),
                authorities: texts(spec.authorities),
                required_competences: texts(spec.required_competences),
                member_ids: spec
                    .members
                    .iter()
                    .map(|m| unit.person(m).id.clone())
                    .collect(),
            };
            let caller = unit.as_person("sms_manager", demo.at(DEFINED, i as i64));
            let created = sms_roles::create(&demo.db, &caller, fields)
                .await
                .map_err(|e| refused(format!("SMS role {}", unit.name(spec.name)), e))?;
            made.push((spec.key, created.id));
        }
        count += made.len() as u64;
        demo.units[u].roles.extend(made);
        demo.unit_done(u + 1);
    }
    Ok(vec![("SMS roles", count)])
}
