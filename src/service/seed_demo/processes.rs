//! Step `processes`: the service management processes of each business unit, each with its
//! owner role and a RACI with one accountable role, approved (all but one being defined),
//! and one retired.

use super::{Demo, Made, StepFuture, catalog, refused};
use crate::domain::process::{ProcessAction, ProcessFields, ProcessState, Raci, RaciAssignment};
use crate::service::processes;

/// When the processes were defined and approved, in days from today.
const DEFINED: i64 = -410;
const APPROVED: i64 = -400;
/// When the legacy process was retired.
const RETIRED: i64 = -120;

pub fn run(demo: &mut Demo) -> StepFuture<'_> {
    Box::pin(seed(demo))
}

async fn seed(demo: &mut Demo) -> anyhow::Result<Made> {
    let (mut count, mut active) = (0, 0);
    for u in 0..demo.units.len() {
        let unit = &demo.units[u];
        let mut made = Vec::new();
        for (i, spec) in catalog::PROCESSES.iter().enumerate() {
            let code = unit.code(spec.code);
            let [accountable, responsible, consulted, informed] = spec.raci;
            let fields = ProcessFields {
                code: code.clone(),
                name: unit.name(spec.name),
                purpose: Some(spec.purpose.to_string()),
                description: Some(format!(
                    "Implements clause {} of ISO/IEC 20000-1:2018. Owned by the {}; documented \
                     in the process manual and reviewed at least once a year.",
                    spec.clauses.join(", "),
                    unit.name(role_name(accountable))
                )),
                clauses: spec.clauses.iter().map(|c| c.to_string()).collect(),
                owner_role_id: Some(unit.role(accountable).to_string()),
                review_due: Some(demo.date(spec.review_in_days)),
            };
            let manager = |days, minute| unit.as_person("sms_manager", demo.at(days, minute));
            let minute = 2 * i as i64;
            let failed = |e| refused(format!("process {code}"), e);
            let created = processes::create(&demo.db, &manager(DEFINED, minute), fields)
                .await
                .map_err(failed)?;
            let raci = [
                (accountable, Raci::A),
                (responsible, Raci::R),
                (consulted, Raci::C),
                (informed, Raci::I),
            ]
            .into_iter()
            .map(|(role, responsibility)| RaciAssignment {
                role_id: unit.role(role).to_string(),
                activity: None,
                responsibility,
            })
            .collect();
            let id = created.id;
            let at = manager(DEFINED, minute + 1);
            processes::set_raci(&demo.db, &at, &id, None, raci)
                .await
                .map_err(failed)?;
            if spec.state != ProcessState::Draft {
                let at = manager(APPROVED, minute);
                processes::transition(&demo.db, &at, &id, None, ProcessAction::Approve)
                    .await
                    .map_err(failed)?;
            }
            if spec.state == ProcessState::Retired {
                let at = manager(RETIRED, minute);
                processes::transition(&demo.db, &at, &id, None, ProcessAction::Retire)
                    .await
                    .map_err(failed)?;
            }
            if spec.state == ProcessState::Active {
                active += 1;
            }
            made.push((spec.code, id));
        }
        count += made.len() as u64;
        demo.units[u].processes.extend(made);
        demo.unit_done(u + 1);
    }
    Ok(vec![("processes", count), ("active processes", active)])
}

fn role_name(key: &str) -> &'static str {
    catalog::ROLES
        .iter()
        .find(|r| r.key == key)
        .map_or("SMS manager", |r| r.name)
}
