//! The append-only, hash-chained audit trail. Every change appends a row in the same
//! transaction; `hash = SHA-256(previous hash ‖ canonical row)`, so an edited row breaks the chain.

use chrono::{DateTime, SecondsFormat, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Set,
};
use serde::Serialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::{Caller, new_id};
use crate::clock::Clock;
use crate::domain::DomainError;
use crate::error::{Error, Result};
use crate::persistence::entities::audit_entry::{self, Column, Entity};
use crate::persistence::page::{self, Kind, Page, PageRequest};

/// Appends one row for a change of `entity_type`/`entity_id`. `before`/`after` are the
/// entity's snapshots (absent on create/delete); only changed fields are kept.
pub async fn record<C: ConnectionTrait>(
    tx: &C,
    caller: Option<&Caller>,
    action: &str,
    entity_type: &str,
    entity_id: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Result<()> {
    let changes = serde_json::to_string(&diff(before, after)).expect("JSON serializes");
    append(tx, caller, action, entity_type, entity_id, changes).await
}

async fn append<C: ConnectionTrait>(
    tx: &C,
    caller: Option<&Caller>,
    action: &str,
    entity_type: &str,
    entity_id: &str,
    changes: String,
) -> Result<()> {
    // Taking the head row's write lock first makes concurrent appends wait their turn.
    tx.execute(
        Query::update()
            .table("audit_chain_head")
            .value("seq", Expr::col("seq").add(1))
            .and_where(Expr::col("id").eq(1)),
    )
    .await?;
    let head = tx
        .query_one(
            Query::select()
                .columns(["seq", "last_hash"])
                .from("audit_chain_head")
                .and_where(Expr::col("id").eq(1)),
        )
        .await?
        .ok_or_else(|| Error::Internal("the audit chain head row is missing".into()))?;
    let seq: i64 = head.try_get("", "seq")?;
    let prev_hash: String = head.try_get("", "last_hash")?;
    let mut row = audit_entry::Model {
        seq,
        id: new_id(),
        at: caller.map_or_else(|| Clock::default().now(), |c| c.now),
        actor_id: caller
            .map(|c| c.user_id().to_string())
            .filter(|id| !id.is_empty()),
        action: action.to_string(),
        entity_type: entity_type.to_string(),
        entity_id: entity_id.to_string(),
        changes,
        request_id: caller.and_then(|c| c.request_id.clone()),
        prev_hash,
        hash: String::new(),
    };
    row.hash = hash_of(&row);
    tx.execute(
        Query::update()
            .table("audit_chain_head")
            .value("last_hash", row.hash.clone())
            .and_where(Expr::col("id").eq(1)),
    )
    .await?;
    audit_entry::ActiveModel {
        seq: Set(row.seq),
        id: Set(row.id),
        at: Set(row.at),
        actor_id: Set(row.actor_id),
        action: Set(row.action),
        entity_type: Set(row.entity_type),
        entity_id: Set(row.entity_id),
        changes: Set(row.changes),
        request_id: Set(row.request_id),
        prev_hash: Set(row.prev_hash),
        hash: Set(row.hash),
    }
    .insert(tx)
    .await?;
    Ok(())
}

fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// SHA-256 over the previous hash and the row's fields in a fixed order.
fn hash_of(row: &audit_entry::Model) -> String {
    let canonical = json!([
        row.seq,
        row.id,
        timestamp(&row.at),
        row.actor_id,
        row.action,
        row.entity_type,
        row.entity_id,
        row.changes,
        row.request_id,
    ]);
    let mut hasher = Sha256::new();
    hasher.update(row.prev_hash.as_bytes());
    hasher.update(canonical.to_string().as_bytes());
    hex::encode(hasher.finalize())
}

/// `{field: {before, after}}` for every field whose value differs.
pub fn diff(before: Option<&Value>, after: Option<&Value>) -> Value {
    let empty = Map::new();
    let as_map = |v: Option<&Value>| v.and_then(Value::as_object).cloned();
    let (b, a) = (as_map(before), as_map(after));
    let (bm, am) = (b.as_ref().unwrap_or(&empty), a.as_ref().unwrap_or(&empty));
    let mut out = Map::new();
    for key in bm.keys().chain(am.keys().filter(|k| !bm.contains_key(*k))) {
        if matches!(key.as_str(), "version" | "updated_at" | "allowed_actions") {
            continue;
        }
        let (bv, av) = (bm.get(key), am.get(key));
        if bv != av {
            out.insert(key.clone(), json!({ "before": bv, "after": av }));
        }
    }
    Value::Object(out)
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Position in the chain, from 1.
    pub seq: i64,
    pub id: String,
    pub at: DateTime<Utc>,
    /// The user who made the change; null for the service itself.
    pub actor_id: Option<String>,
    pub action: String,
    pub entity_type: String,
    pub entity_id: String,
    /// Changed fields: `{field: {before, after}}`.
    #[schema(value_type = Object)]
    pub changes: Value,
    pub request_id: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl From<audit_entry::Model> for AuditEntry {
    fn from(m: audit_entry::Model) -> Self {
        AuditEntry {
            seq: m.seq,
            id: m.id,
            at: m.at,
            actor_id: m.actor_id,
            action: m.action,
            entity_type: m.entity_type,
            entity_id: m.entity_id,
            changes: serde_json::from_str(&m.changes).unwrap_or(Value::Null),
            request_id: m.request_id,
            prev_hash: m.prev_hash,
            hash: m.hash,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor_id: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
}

fn ensure_may_read(caller: &Caller) -> Result<(), DomainError> {
    use crate::domain::access::AccessRole;
    caller.ensure(
        caller
            .principal
            .has_any(&[AccessRole::Admin, AccessRole::Auditor]),
        "read the audit trail",
    )
}

pub async fn list(
    db: &DatabaseConnection,
    caller: &Caller,
    filter: AuditFilter,
    request: &PageRequest,
) -> Result<Page<AuditEntry>> {
    ensure_may_read(caller)?;
    let mut select = Entity::find();
    if let Some(v) = filter.entity_type {
        select = select.filter(Column::EntityType.eq(v));
    }
    if let Some(v) = filter.entity_id {
        select = select.filter(Column::EntityId.eq(v));
    }
    if let Some(v) = filter.actor_id {
        select = select.filter(Column::ActorId.eq(v));
    }
    if let Some(v) = filter.from {
        select = select.filter(Column::At.gte(v));
    }
    if let Some(v) = filter.to {
        select = select.filter(Column::At.lt(v));
    }
    let sorts = [("seq", Column::Seq, Kind::Integer)];
    let page = page::fetch(db, select, &sorts, Column::Id, request).await?;
    Ok(page.map(AuditEntry::from))
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChainReport {
    /// True when every row's hash matches its content and links to the previous row.
    pub valid: bool,
    pub entries_checked: i64,
    /// The first row that does not match, if any.
    pub first_broken_seq: Option<i64>,
    pub last_hash: Option<String>,
}

/// Walks the whole chain in order, a batch at a time.
/// Walks the chain up to the head as it was when the check started, a batch at a time,
/// so changes appended meanwhile do not disturb it.
pub async fn verify(db: &DatabaseConnection) -> Result<ChainReport> {
    const BATCH: u64 = 1000;
    let head = db
        .query_one(
            Query::select()
                .columns(["seq", "last_hash"])
                .from("audit_chain_head"),
        )
        .await?
        .ok_or_else(|| Error::Internal("the audit chain head row is missing".into()))?;
    let head_seq: i64 = head.try_get("", "seq")?;
    let head_hash: String = head.try_get("", "last_hash")?;
    let broken = |checked: i64| ChainReport {
        valid: false,
        entries_checked: checked,
        first_broken_seq: Some(checked + 1),
        last_hash: None,
    };
    let mut prev_hash = "0".repeat(64);
    let mut checked = 0;
    while checked < head_seq {
        let rows = Entity::find()
            .filter(Column::Seq.gt(checked))
            .filter(Column::Seq.lte(head_seq))
            .order_by_asc(Column::Seq)
            .limit(BATCH)
            .all(db)
            .await?;
        if rows.is_empty() {
            // Rows removed from the end: the head is ahead of them.
            return Ok(broken(checked));
        }
        for row in rows {
            if row.seq != checked + 1 || row.prev_hash != prev_hash || hash_of(&row) != row.hash {
                return Ok(broken(checked));
            }
            prev_hash = row.hash;
            checked += 1;
        }
    }
    if head_hash != prev_hash {
        return Ok(broken(checked.saturating_sub(1)));
    }
    Ok(ChainReport {
        valid: true,
        entries_checked: checked,
        first_broken_seq: None,
        last_hash: Some(prev_hash),
    })
}

pub async fn verify_for(db: &DatabaseConnection, caller: &Caller) -> Result<ChainReport> {
    ensure_may_read(caller)?;
    verify(db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_keeps_only_changed_fields() {
        let before = json!({"name": "a", "code": "X", "version": 1});
        let after = json!({"name": "b", "code": "X", "version": 2, "new": true});
        assert_eq!(
            diff(Some(&before), Some(&after)),
            json!({"name": {"before": "a", "after": "b"}, "new": {"before": null, "after": true}})
        );
        assert_eq!(
            diff(None, Some(&json!({"a": 1}))),
            json!({"a": {"before": null, "after": 1}})
        );
    }

    #[test]
    fn hash_depends_on_every_field() {
        let row = audit_entry::Model {
            seq: 1,
            id: "i".into(),
            at: Clock::default().now(),
            actor_id: None,
            action: "create".into(),
            entity_type: "process".into(),
            entity_id: "p".into(),
            changes: "{}".into(),
            request_id: None,
            prev_hash: "0".repeat(64),
            hash: String::new(),
        };
        let h = hash_of(&row);
        let mut altered = row.clone();
        altered.changes = "{\"x\":1}".into();
        assert_ne!(h, hash_of(&altered));
        altered = row.clone();
        altered.prev_hash = "1".repeat(64);
        assert_ne!(h, hash_of(&altered));
    }
}
