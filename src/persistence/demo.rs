//! What `seed-demo` asks of the database before and while it fills it.

use std::collections::HashSet;

use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QuerySelect,
};

use super::entities::{process, sms_role, user};
use crate::error::Result;

/// What a database already holds that the demo would add to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Occupancy {
    /// Users other than the first admin that start-up creates.
    pub users: u64,
    pub processes: u64,
}

impl Occupancy {
    pub fn is_empty(&self) -> bool {
        self.users == 0 && self.processes == 0
    }
}

/// Counts the users besides `admin_email` (the bootstrap admin) and the processes.
pub async fn occupancy<C: ConnectionTrait>(conn: &C, admin_email: &str) -> Result<Occupancy> {
    let users = user::Entity::find()
        .filter(user::Column::Email.ne(admin_email.trim().to_lowercase()))
        .count(conn)
        .await?;
    let processes = process::Entity::find().count(conn).await?;
    Ok(Occupancy { users, processes })
}

/// The unique names in use: process codes, SMS role names (lower-cased) and emails.
#[derive(Debug, Clone, Default)]
pub struct Taken {
    pub process_codes: HashSet<String>,
    pub role_names: HashSet<String>,
    pub emails: HashSet<String>,
}

pub async fn taken<C: ConnectionTrait>(conn: &C) -> Result<Taken> {
    let process_codes = process::Entity::find()
        .select_only()
        .column(process::Column::Code)
        .into_tuple::<String>()
        .all(conn)
        .await?;
    let role_names = sms_role::Entity::find()
        .select_only()
        .column(sms_role::Column::NameKey)
        .into_tuple::<String>()
        .all(conn)
        .await?;
    let emails = user::Entity::find()
        .select_only()
        .column(user::Column::Email)
        .into_tuple::<String>()
        .all(conn)
        .await?;
    Ok(Taken {
        process_codes: process_codes.into_iter().collect(),
        role_names: role_names.into_iter().collect(),
        emails: emails.into_iter().collect(),
    })
}

/// The number of rows in the audit trail's chain (its head's position).
pub async fn audit_trail_length<C: ConnectionTrait>(conn: &C) -> Result<i64> {
    let row = conn
        .query_one(
            Query::select()
                .expr_as(Expr::col("seq"), "seq")
                .from("audit_chain_head")
                .and_where(Expr::col("id").eq(1)),
        )
        .await?;
    Ok(match row {
        Some(row) => row.try_get("", "seq")?,
        None => 0,
    })
}

/// Brings PostgreSQL's planner statistics up to date after the demo is loaded, as one does
/// after a restore: until autovacuum gets to the new rows, queries are planned for the
/// tables as they were before.
pub async fn refresh_statistics<C: ConnectionTrait>(conn: &C) -> Result<()> {
    if conn.get_database_backend() == DbBackend::Postgres {
        conn.execute_unprepared("ANALYZE").await?;
    }
    Ok(())
}
