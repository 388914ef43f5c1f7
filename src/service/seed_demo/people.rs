//! Step `users`: the people of each business unit, with realistic names, access roles and
//! the demo password, and the unit's service account.

use super::{Demo, Made, Person, StepFuture, catalog, refused};
use crate::domain::user::{self, NewUser, UserFields, UserKind};
use crate::error::Result;
use crate::persistence::users::{self as stored, NewUserRow, StoredUser};
use crate::service::{Caller, write};

/// When the people joined, in days from today.
const JOINED: i64 = -420;

pub fn run(demo: &mut Demo) -> StepFuture<'_> {
    Box::pin(seed(demo))
}

async fn seed(demo: &mut Demo) -> anyhow::Result<Made> {
    let (mut people, mut services) = (0, 0);
    for u in 0..demo.units.len() {
        let unit = &demo.units[u];
        let mut made = Vec::new();
        for (i, persona) in catalog::PEOPLE.iter().enumerate() {
            let (first, last) = unit.person_name(i);
            let new = NewUser {
                email: unit.person_email(i),
                display_name: format!("{first} {last}"),
                kind: UserKind::Person,
                roles: persona.roles.to_vec(),
                password: Some(super::DEMO_PASSWORD.to_string()),
            };
            let caller = demo.as_service(demo.at(JOINED, i as i64));
            let created = create(demo, &caller, new)
                .await
                .map_err(|e| refused(format!("user {}", unit.person_email(i)), e))?;
            made.push((
                persona.key,
                Person {
                    id: created.id,
                    email: created.email,
                    display_name: created.fields.display_name,
                    job: persona.job,
                    roles: created.fields.roles,
                },
            ));
        }
        let (local, name) = catalog::SERVICE_ACCOUNT;
        let service = NewUser {
            email: unit.email(local),
            display_name: unit.name(name),
            kind: UserKind::Service,
            roles: vec![crate::domain::access::AccessRole::Contributor],
            password: None,
        };
        let caller = demo.as_service(demo.at(JOINED, catalog::PEOPLE.len() as i64));
        let account = create(demo, &caller, service)
            .await
            .map_err(|e| refused(format!("service account {}", unit.email(local)), e))?;
        people += made.len() as u64;
        services += 1;
        let unit = &mut demo.units[u];
        unit.people.extend(made);
        unit.service_account = Some(account.id);
        demo.unit_done(u + 1);
    }
    Ok(vec![("people", people), ("service accounts", services)])
}

/// Creates a user as `users::create` does, with the demo password hashed once for all
/// (hashing it anew for each of thousands of users would take minutes).
async fn create(demo: &Demo, caller: &Caller, new: NewUser) -> Result<StoredUser> {
    let new = user::validate_new(new)?;
    let password_hash = new.password.as_ref().map(|_| demo.password_hash.clone());
    let fields = UserFields {
        display_name: new.display_name,
        roles: new.roles,
        active: true,
    };
    write::create::<StoredUser>(&demo.db, caller, async |tx, id| {
        let row = NewUserRow {
            email: &new.email,
            kind: new.kind,
            fields: &fields,
            password_hash,
        };
        stored::insert(tx, id, row, caller.now).await
    })
    .await
}
