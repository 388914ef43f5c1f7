//! `itsms seed-demo`: fills a database with a realistic ISO/IEC 20000-1 SMS for frontend
//! teams and benchmarks.
//!
//! The demo is made of business units (one per `--scale` step), each a complete SMS: its
//! people, SMS roles, processes, objectives with a year of measurements, internal audits
//! with findings, corrective actions in every state, its documented information,
//! improvements, a management review and the next one, risks and opportunities, training
//! records with a few competence gaps, and gap assessments a year apart. Every record is written through
//! the same use cases as the API, by the demo person whose job it is, so the same rules
//! hold and each change has its row in the audit trail's hash chain. History is dated back
//! from the service clock's "now": the audit trail rows carry those dates, in the order
//! the steps wrote them.
//!
//! The seeder is a list of steps (`STEPS`), each adding one kind of resource to every
//! business unit and reporting its progress; a step may use what earlier steps made (the
//! ids kept in each `Unit`). A new resource is a new step: a module with a `run` function
//! and a line in `STEPS`.

mod assessments;
mod audits;
mod catalog;
mod corrective_actions;
mod documents;
mod improvements;
mod management_reviews;
mod objectives;
mod people;
mod processes;
mod risks;
mod sms_roles;
mod training_records;

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration as StdDuration, Instant};

use anyhow::bail;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use sea_orm::DatabaseConnection;

use super::Caller;
use super::auth::hash_password;
use super::bootstrap;
use crate::clock::Clock;
use crate::config::{Mode, Settings};
use crate::domain::DomainError;
use crate::domain::access::{AccessRole, Principal};
use crate::error::Error;
use crate::persistence;
use crate::persistence::demo::{self as stored, Taken};

/// The password of every demo person.
pub const DEMO_PASSWORD: &str = "itsms-demo-password";

/// The request id of every audit-trail row the seeder appends, to tell them apart.
pub const REQUEST_ID: &str = "seed-demo";

/// The largest `--scale`.
pub const MAX_SCALE: u32 = 10_000;

#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Business units to add.
    pub scale: u32,
    /// Add to a database that already holds data, as further business units.
    pub force: bool,
}

/// What a step made: what (plural noun) and how many.
pub type Made = Vec<(&'static str, u64)>;

pub type StepFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<Made>> + 'a>>;

/// One step of the seeder.
pub struct Step {
    pub name: &'static str,
    pub run: fn(&mut Demo) -> StepFuture<'_>,
}

/// The steps, in order.
pub const STEPS: &[Step] = &[
    Step {
        name: "users",
        run: people::run,
    },
    Step {
        name: "SMS roles",
        run: sms_roles::run,
    },
    Step {
        name: "processes",
        run: processes::run,
    },
    Step {
        name: "objectives",
        run: objectives::run,
    },
    Step {
        name: "audits",
        run: audits::run,
    },
    Step {
        name: "corrective actions",
        run: corrective_actions::run,
    },
    Step {
        name: "audit closure",
        run: audits::close,
    },
    Step {
        name: "documents",
        run: documents::run,
    },
    Step {
        name: "improvements",
        run: improvements::run,
    },
    Step {
        name: "management reviews",
        run: management_reviews::run,
    },
    Step {
        name: "risks",
        run: risks::run,
    },
    Step {
        name: "training records",
        run: training_records::run,
    },
    Step {
        name: "gap assessments",
        run: assessments::run,
    },
];

/// A demo person as the steps after `users` know them.
#[derive(Debug, Clone)]
pub struct Person {
    pub id: String,
    pub email: String,
    pub display_name: String,
    pub job: &'static str,
    pub roles: Vec<AccessRole>,
}

/// One business unit: the ids of what the steps made for it, by catalog key.
#[derive(Debug, Default)]
pub struct Unit {
    pub number: u32,
    pub people: HashMap<&'static str, Person>,
    pub service_account: Option<String>,
    pub roles: HashMap<&'static str, String>,
    pub processes: HashMap<&'static str, String>,
    pub objectives: HashMap<&'static str, String>,
    /// By position in the audit catalog.
    pub audits: Vec<String>,
    pub findings: HashMap<&'static str, String>,
    /// By position in the corrective action catalog.
    pub corrective_actions: Vec<String>,
    pub improvements: HashMap<&'static str, String>,
}

impl Unit {
    fn new(number: u32) -> Unit {
        Unit {
            number,
            ..Default::default()
        }
    }

    /// A name in this unit: the first unit keeps the plain name.
    pub fn name(&self, base: &str) -> String {
        match self.number {
            1 => base.to_string(),
            n => format!("{base} (BU {n})"),
        }
    }

    /// A process code in this unit.
    pub fn code(&self, base: &str) -> String {
        match self.number {
            1 => base.to_string(),
            n => format!("{base}-BU{n}"),
        }
    }

    /// An email address in this unit.
    pub fn email(&self, local: &str) -> String {
        match self.number {
            1 => format!("{local}@{}", catalog::EMAIL_DOMAIN),
            n => format!("{local}.bu{n}@{}", catalog::EMAIL_DOMAIN),
        }
    }

    /// The display name of the unit's `index`-th person: first names differ within a unit.
    pub fn person_name(&self, index: usize) -> (&'static str, &'static str) {
        let n = self.number as usize;
        let first = catalog::FIRST_NAMES[(n * 3 + index) % catalog::FIRST_NAMES.len()];
        let last = catalog::LAST_NAMES[(n * 7 + index * 3) % catalog::LAST_NAMES.len()];
        (first, last)
    }

    pub fn person_email(&self, index: usize) -> String {
        let (first, last) = self.person_name(index);
        self.email(&format!("{}.{}", first, last).to_lowercase())
    }

    /// Whether any unique name of this unit is in use already.
    fn collides(&self, taken: &Taken) -> bool {
        catalog::PROCESSES
            .iter()
            .any(|p| taken.process_codes.contains(&self.code(p.code)))
            || catalog::ROLES
                .iter()
                .any(|r| taken.role_names.contains(&self.name(r.name).to_lowercase()))
            || (0..catalog::PEOPLE.len()).any(|i| taken.emails.contains(&self.person_email(i)))
            || taken
                .emails
                .contains(&self.email(catalog::SERVICE_ACCOUNT.0))
    }

    pub fn person(&self, key: &str) -> &Person {
        self.people
            .get(key)
            .unwrap_or_else(|| panic!("the demo catalog names an unknown person `{key}`"))
    }

    /// The person `key` acting at `at`.
    pub fn as_person(&self, key: &str, at: DateTime<Utc>) -> Caller {
        let person = self.person(key);
        Caller {
            principal: Principal {
                user_id: person.id.clone(),
                roles: person.roles.clone(),
            },
            request_id: Some(REQUEST_ID.to_string()),
            now: at,
        }
    }

    pub fn role(&self, key: &str) -> &str {
        self.roles
            .get(key)
            .unwrap_or_else(|| panic!("the demo catalog names an unknown SMS role `{key}`"))
    }

    pub fn process(&self, code: &str) -> &str {
        self.processes
            .get(code)
            .unwrap_or_else(|| panic!("the demo catalog names an unknown process `{code}`"))
    }

    /// The corrective action of the catalog titled `title`.
    pub fn corrective_action(&self, title: &str) -> &str {
        catalog::CORRECTIVE_ACTIONS
            .iter()
            .position(|c| c.title == title)
            .and_then(|i| self.corrective_actions.get(i))
            .unwrap_or_else(|| {
                panic!("the demo catalog names an unknown corrective action `{title}`")
            })
    }

    pub fn improvement(&self, key: &str) -> &str {
        self.improvements
            .get(key)
            .unwrap_or_else(|| panic!("the demo catalog names an unknown improvement `{key}`"))
    }
}

/// The seeder's state: the database, the time it dates history from, and the units.
pub struct Demo {
    pub db: DatabaseConnection,
    /// When seeding started, by the service clock.
    pub now: DateTime<Utc>,
    pub units: Vec<Unit>,
    password_hash: String,
    progress: Progress,
}

impl Demo {
    /// `minute` minutes past 09:00 UTC on the day `days` from today (negative: before),
    /// never later than `now`.
    pub fn at(&self, days: i64, minute: i64) -> DateTime<Utc> {
        let nine = NaiveTime::from_hms_opt(9, 0, 0).expect("09:00 exists");
        let at = self.date(days).and_time(nine).and_utc() + Duration::minutes(minute);
        at.min(self.now)
    }

    /// The date `days` from today.
    pub fn date(&self, days: i64) -> NaiveDate {
        self.now.date_naive() + Duration::days(days)
    }

    /// The service itself acting at `at` (as the `create-user` command does).
    pub fn as_service(&self, at: DateTime<Utc>) -> Caller {
        Caller {
            request_id: Some(REQUEST_ID.to_string()),
            ..Caller::service(at)
        }
    }

    /// Reports progress within a step after each business unit, at most every two seconds.
    pub fn unit_done(&mut self, done: usize) {
        self.progress.unit_done(done, self.units.len());
    }
}

struct Progress {
    step: &'static str,
    started: Instant,
    last: Instant,
}

impl Progress {
    const EVERY: StdDuration = StdDuration::from_secs(2);

    fn start(&mut self, step: &'static str) {
        self.step = step;
        self.started = Instant::now();
        self.last = self.started;
    }

    fn unit_done(&mut self, done: usize, total: usize) {
        if done < total && self.last.elapsed() >= Self::EVERY {
            self.last = Instant::now();
            eprintln!(
                "seed-demo:   {}: {done}/{total} business units, {:.1} s",
                self.step,
                self.started.elapsed().as_secs_f64()
            );
        }
    }
}

/// A refused write, with every field it names. Only a mistake in the catalog causes one.
pub fn refused(what: impl fmt::Display, e: Error) -> anyhow::Error {
    match &e {
        Error::Domain(DomainError::Validation(f) | DomainError::PreconditionMissing(f)) => {
            let fields: Vec<String> = f
                .iter()
                .map(|f| format!("{}: {}", f.field, f.message))
                .collect();
            anyhow::anyhow!("{what}: {e} ({})", fields.join("; "))
        }
        _ => anyhow::anyhow!("{what}: {e}"),
    }
}

/// What one run made.
#[derive(Debug)]
pub struct Report {
    pub units: Vec<u32>,
    pub made: Made,
    pub audit_trail_rows: i64,
    pub elapsed: StdDuration,
    /// The first unit's people: (email, access roles, job).
    pub logins: Vec<(String, Vec<AccessRole>, &'static str)>,
    /// The first admin's password, when this run created the admin with a generated one.
    pub admin_password: Option<(String, String)>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = match (self.units.first(), self.units.last()) {
            (Some(a), Some(b)) if a == b => format!("1 business unit (BU {a})"),
            (Some(a), Some(b)) => format!("{} business units (BU {a} to BU {b})", self.units.len()),
            _ => "nothing".into(),
        };
        writeln!(
            f,
            "Seeded the demo SMS: {units} in {:.1} s.",
            self.elapsed.as_secs_f64()
        )?;
        for (what, n) in &self.made {
            writeln!(f, "  {what:<28} {n:>8}")?;
        }
        writeln!(
            f,
            "  {:<28} {:>8}",
            "audit trail rows", self.audit_trail_rows
        )?;
        writeln!(
            f,
            "Every demo person signs in with the password `{DEMO_PASSWORD}`. The first business unit's people:"
        )?;
        for (email, roles, job) in &self.logins {
            let roles: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            writeln!(f, "  {email:<40} {:<12} {job}", roles.join(","))?;
        }
        if let Some((email, password)) = &self.admin_password {
            writeln!(
                f,
                "The first admin {email} was created with the password `{password}` (shown only this once)."
            )?;
        }
        Ok(())
    }
}

/// The command: readies the database as start-up does (migrations, catalog, audit chain,
/// first admin), then seeds it.
pub async fn command(settings: &Settings, options: Options) -> anyhow::Result<Report> {
    if settings.server.mode == Mode::Production {
        bail!(
            "seed-demo creates accounts with a published password; it refuses to run with \
             server.mode = production"
        );
    }
    let db = bootstrap::database(settings).await?;
    bootstrap::audit_chain(&db, settings).await?;
    let admin_password = bootstrap::first_admin(&db, settings).await?;
    db.close().await?;
    let db = persistence::connect_for_batch(&settings.database_url(), &settings.database).await?;
    let now = Clock::default().now();
    let mut report = run(&db, &settings.bootstrap.admin_email, options, now).await?;
    db.close().await?;
    report.admin_password = admin_password.map(|p| (settings.bootstrap.admin_email.clone(), p));
    Ok(report)
}

/// Seeds `options.scale` business units, dating history back from `now`. Refuses a
/// database that holds users besides `admin_email` or any process, unless `force`: then
/// the units are added on top, numbered after the names already in use.
pub async fn run(
    db: &DatabaseConnection,
    admin_email: &str,
    options: Options,
    now: DateTime<Utc>,
) -> anyhow::Result<Report> {
    if !(1..=MAX_SCALE).contains(&options.scale) {
        bail!("--scale must be from 1 to {MAX_SCALE}");
    }
    let occupancy = stored::occupancy(db, admin_email).await?;
    if !occupancy.is_empty() && !options.force {
        bail!(
            "the database already holds data ({} user(s) besides the first admin, {} \
             process(es)); seed-demo fills an empty database. Use --force to add the demo \
             as further business units on top of what is there.",
            occupancy.users,
            occupancy.processes
        );
    }
    let units = free_units(&stored::taken(db).await?, options.scale);
    let started = Instant::now();
    let mut demo = Demo {
        db: db.clone(),
        now,
        units,
        password_hash: hash_password(DEMO_PASSWORD.to_string()).await?,
        progress: Progress {
            step: "",
            started,
            last: started,
        },
    };
    let trail_before = stored::audit_trail_length(db).await?;
    let mut made = Made::new();
    for (i, step) in STEPS.iter().enumerate() {
        demo.progress.start(step.name);
        let step_made = (step.run)(&mut demo)
            .await
            .map_err(|e| e.context(format!("seed-demo step `{}`", step.name)))?;
        let counts: Vec<String> = step_made.iter().map(|(w, n)| format!("{n} {w}")).collect();
        eprintln!(
            "seed-demo: [{}/{}] {}: {} in {:.1} s (total {:.1} s)",
            i + 1,
            STEPS.len(),
            step.name,
            counts.join(", "),
            demo.progress.started.elapsed().as_secs_f64(),
            started.elapsed().as_secs_f64()
        );
        made.extend(step_made);
    }
    stored::refresh_statistics(db).await?;
    let logins = demo.units.first().map_or_else(Vec::new, |unit| {
        catalog::PEOPLE
            .iter()
            .map(|p| {
                let person = unit.person(p.key);
                (person.email.clone(), person.roles.clone(), p.job)
            })
            .collect()
    });
    Ok(Report {
        units: demo.units.iter().map(|u| u.number).collect(),
        made,
        audit_trail_rows: stored::audit_trail_length(db).await? - trail_before,
        elapsed: started.elapsed(),
        logins,
        admin_password: None,
    })
}

/// `count` unit numbers, from 1 up, skipping units whose names are in use.
fn free_units(taken: &Taken, count: u32) -> Vec<Unit> {
    let mut units = Vec::with_capacity(count as usize);
    let mut number = 1;
    while units.len() < count as usize {
        let unit = Unit::new(number);
        if !unit.collides(taken) {
            units.push(unit);
        }
        number += 1;
    }
    units
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_get_distinct_names_and_skip_those_in_use() {
        let one = Unit::new(1);
        let two = Unit::new(2);
        assert_eq!(one.code("INC"), "INC");
        assert_eq!(two.code("INC"), "INC-BU2");
        assert_eq!(two.name("Change manager"), "Change manager (BU 2)");
        let emails: std::collections::HashSet<String> = (0..catalog::PEOPLE.len())
            .map(|i| two.person_email(i))
            .collect();
        assert_eq!(emails.len(), catalog::PEOPLE.len());
        assert!(emails.iter().all(|e| e.ends_with(".bu2@demo.example")));

        let mut taken = Taken::default();
        assert_eq!(numbers(&free_units(&taken, 2)), vec![1, 2]);
        taken.process_codes.insert("INC".into());
        taken.role_names.insert("change manager (bu 2)".into());
        assert_eq!(numbers(&free_units(&taken, 2)), vec![3, 4]);
        taken.emails.insert(Unit::new(4).person_email(5));
        assert_eq!(numbers(&free_units(&taken, 2)), vec![3, 5]);
    }

    fn numbers(units: &[Unit]) -> Vec<u32> {
        units.iter().map(|u| u.number).collect()
    }
}
