use std::process::ExitCode;

mod allocator;

use clap::{Parser, Subcommand};
use itsms::clock::Clock;
use itsms::config::Settings;
use itsms::domain::access::AccessRole;
use itsms::domain::user::{NewUser, UserKind};
use itsms::service::audit_trail::{self, Anchor};
use itsms::service::{Caller, bootstrap, seed_demo, users};
use itsms::startup::Application;

#[derive(Parser)]
#[command(
    name = "itsms",
    version,
    about = "System of record for an ISO/IEC 20000-1 service management system"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API (the default).
    Serve,
    /// Apply the database migrations and load the clause catalog, then exit.
    Migrate,
    /// Print the OpenAPI document.
    Openapi,
    /// Create a user.
    CreateUser {
        #[arg(long)]
        email: String,
        #[arg(long)]
        display_name: String,
        /// Access roles, comma-separated: viewer, contributor, manager, auditor, admin.
        #[arg(long, value_delimiter = ',', default_value = "viewer")]
        roles: Vec<String>,
        /// `person` or `service`.
        #[arg(long, default_value = "person")]
        kind: String,
        /// Read from ITSMS_NEW_USER_PASSWORD so it stays out of the shell history.
        #[arg(long, env = "ITSMS_NEW_USER_PASSWORD", hide_env_values = true)]
        password: Option<String>,
    },
    /// Check the audit trail's hash chain; exits 1 if it is broken.
    VerifyAuditTrail {
        /// A head recorded earlier, `SEQ:HASH`: the chain must still hold that row with that hash.
        #[arg(long, value_name = "SEQ:HASH")]
        expect: Option<Anchor>,
    },
    /// Key an existing audit trail with `audit.hmac_key` from its next entry on (once).
    KeyAuditTrail,
    /// Fill an empty database with a realistic demo SMS (for frontend teams and benchmarks).
    SeedDemo {
        /// Business units to create, each a complete SMS (about 280 changes each).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=seed_demo::MAX_SCALE as i64))]
        scale: u32,
        /// Add the demo on top of existing data, as further business units.
        #[arg(long)]
        force: bool,
    },
}

fn main() -> ExitCode {
    let sqlite_uses_mimalloc = allocator::configure();
    let cli = Cli::parse();
    if matches!(cli.command, Some(Command::Openapi)) {
        let doc = itsms::http::openapi::document();
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).expect("serializes")
        );
        return ExitCode::SUCCESS;
    }
    let settings = match Settings::load() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("itsms: {e:#}");
            return ExitCode::from(2);
        }
    };
    itsms::telemetry::init(settings.log.format, &settings.log.level);
    if !sqlite_uses_mimalloc {
        tracing::warn!("SQLite refused mimalloc and keeps counting with the C library's allocator");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli.command.unwrap_or(Command::Serve), settings)) {
        Ok(code) => code,
        Err(e) => {
            tracing::error!("{e:#}");
            eprintln!("itsms: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => {
            let app = Application::build(settings.clone()).await?;
            tracing::info!(host = %settings.server.host, port = app.port(), "serving; Swagger UI at /docs");
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            bootstrap::database(&settings).await?;
            tracing::info!("migrations applied");
        }
        Command::Openapi => unreachable!("handled before the runtime starts"),
        Command::CreateUser {
            email,
            display_name,
            roles,
            kind,
            password,
        } => {
            let db = bootstrap::database(&settings).await?;
            bootstrap::audit_chain(&db, &settings).await?;
            let roles = roles
                .iter()
                .map(|r| {
                    AccessRole::parse(r.trim())
                        .ok_or_else(|| anyhow::anyhow!("unknown access role `{r}`"))
                })
                .collect::<anyhow::Result<Vec<_>>>()?;
            let kind = UserKind::parse(&kind)
                .ok_or_else(|| anyhow::anyhow!("--kind must be person or service"))?;
            let user = users::create(
                &db,
                &Caller::service(Clock::default().now()),
                NewUser {
                    email,
                    display_name,
                    kind,
                    roles,
                    password,
                },
            )
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", user.id);
        }
        Command::VerifyAuditTrail { expect } => {
            let key = bootstrap::audit_key(&settings)?;
            let db = bootstrap::database(&settings).await?;
            let report = audit_trail::verify(&db, key.as_ref(), expect.as_ref())
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if !report.valid {
                return Ok(ExitCode::from(1));
            }
        }
        Command::KeyAuditTrail => {
            let key = bootstrap::audit_key(&settings)?
                .ok_or_else(|| anyhow::anyhow!("set audit.hmac_key or audit.hmac_key_file"))?;
            let db = bootstrap::database(&settings).await?;
            let report = audit_trail::adopt_key(&db, &key)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{}", serde_json::to_string_pretty(&report)?);
        }
        Command::SeedDemo { scale, force } => {
            let report = seed_demo::command(&settings, seed_demo::Options { scale, force }).await?;
            print!("{report}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
