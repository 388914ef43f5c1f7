//! The append-only, hash-chained audit trail. Every change appends a row in the same
//! transaction; `hash = SHA-256(previous hash ‖ canonical row)`, so an edited row breaks the
//! chain. With a key configured the hash is HMAC-SHA256 under it, so rows cannot be rehashed
//! by whoever can only write to the database.

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

use std::sync::{Arc, RwLock};

use hmac::{Hmac, Mac};

use super::{Caller, begin_write, new_id};
use crate::clock::Clock;
use crate::domain::DomainError;
use crate::domain::event;
use crate::domain::validation::FieldError;
use crate::error::{Error, Result};
use crate::persistence::entities::audit_entry::{self, Column, Entity};
use crate::persistence::events;
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
    let (seq, at) = append(tx, caller, action, entity_type, entity_id, changes).await?;
    // The events the change causes join the outbox in the same transaction, pointing at
    // the row just appended.
    for event in event::caused_by(action, entity_type, entity_id, before, after) {
        events::append(tx, &event, at, Some(seq), None).await?;
    }
    Ok(())
}

/// Waits for the audit trail's head and holds it until the transaction ends, for a change
/// that must not run beside appends: deleting a webhook subscription, which an append may
/// be queueing a delivery for.
pub async fn hold_head<C: ConnectionTrait>(tx: &C) -> Result<()> {
    tx.execute(
        Query::update()
            .table(HEAD)
            .value("seq", Expr::col("seq"))
            .and_where(Expr::col("id").eq(1)),
    )
    .await?;
    Ok(())
}

/// The seq of the last row appended (by this transaction, when it appended one).
pub async fn head_seq<C: ConnectionTrait>(conn: &C) -> Result<i64> {
    Ok(Head::read(conn).await?.seq)
}

async fn append<C: ConnectionTrait>(
    tx: &C,
    caller: Option<&Caller>,
    action: &str,
    entity_type: &str,
    entity_id: &str,
    changes: String,
) -> Result<(i64, DateTime<Utc>)> {
    // Taking the head row's write lock first makes concurrent appends wait their turn.
    tx.execute(
        Query::update()
            .table(HEAD)
            .value("seq", Expr::col("seq").add(1))
            .and_where(Expr::col("id").eq(1)),
    )
    .await?;
    let head = Head::read(tx).await?;
    let seq = head.seq;
    // Appends are serialized by the head, so a row at or past the new position can only
    // have been written around the service. Refusing keeps it from passing as a conflict
    // and from being adopted into the chain.
    if let Some(planted) = first_row_from(tx, seq).await? {
        tracing::error!(
            seq = planted,
            head = seq - 1,
            "audit trail tampering: a row beyond the chain head blocks appending"
        );
        return Err(Error::Internal(format!(
            "audit trail tampering: seq {planted} is occupied beyond the chain head ({}); \
             GET /api/v1/audit-trail/verify names it",
            seq - 1
        )));
    }
    let scheme = match head.boundary() {
        None => Scheme::Plain,
        Some(boundary) => Scheme::Keyed(registered_key_for(&boundary)?),
    };
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
        prev_hash: head.last_hash,
        hash: String::new(),
    };
    row.hash = hash_of(&row, &scheme);
    let at = row.at;
    tx.execute(
        Query::update()
            .table(HEAD)
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
    Ok((seq, at))
}

/// The lowest seq at or above `seq` that holds a row.
async fn first_row_from<C: ConnectionTrait>(conn: &C, seq: i64) -> Result<Option<i64>> {
    let row = Entity::find()
        .select_only()
        .column(Column::Seq)
        .filter(Column::Seq.gte(seq))
        .order_by_asc(Column::Seq)
        .into_tuple::<i64>()
        .one(conn)
        .await?;
    Ok(row)
}

const HEAD: &str = "audit_chain_head";
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The one row at the end of the chain.
struct Head {
    seq: i64,
    last_hash: String,
    keyed_from_seq: Option<i64>,
    keyed_after_hash: Option<String>,
    key_check: Option<String>,
}

/// Where the keyed part of the chain starts, as the head records it.
struct Boundary {
    from_seq: i64,
    after_hash: String,
    check: String,
}

impl Head {
    const COLUMNS: [&str; 5] = [
        "seq",
        "last_hash",
        "keyed_from_seq",
        "keyed_after_hash",
        "key_check",
    ];

    /// Selects the head's columns. They are qualified by the table so that a connection
    /// whose schema predates a migration re-reads it instead of taking an unknown column for
    /// SQLite's double-quoted string literal.
    fn select() -> sea_orm::sea_query::SelectStatement {
        let mut select = Query::select();
        for column in Self::COLUMNS {
            select.expr_as(Expr::col((HEAD, column)), column);
        }
        select.from(HEAD).and_where(Expr::col((HEAD, "id")).eq(1));
        select
    }

    async fn read<C: ConnectionTrait>(conn: &C) -> Result<Head> {
        let row = conn
            .query_one(&Self::select())
            .await?
            .ok_or_else(|| Error::Internal("the audit chain head row is missing".into()))?;
        Self::from_row(&row)
    }

    fn from_row(row: &sea_orm::QueryResult) -> Result<Head> {
        Ok(Head {
            seq: row.try_get("", "seq")?,
            last_hash: row.try_get("", "last_hash")?,
            keyed_from_seq: row.try_get("", "keyed_from_seq")?,
            keyed_after_hash: row.try_get("", "keyed_after_hash")?,
            key_check: row.try_get("", "key_check")?,
        })
    }

    /// Any of the three boundary columns set means the chain is keyed; an incomplete set is
    /// kept as an empty check, which no key matches.
    fn boundary(&self) -> Option<Boundary> {
        let set = self.keyed_from_seq.is_some()
            || self.keyed_after_hash.is_some()
            || self.key_check.is_some();
        set.then(|| Boundary {
            from_seq: self.keyed_from_seq.unwrap_or(0),
            after_hash: self.keyed_after_hash.clone().unwrap_or_default(),
            check: self.key_check.clone().unwrap_or_default(),
        })
    }
}

/// The secret that keys the chain. It lives in the configuration, never in the database, so
/// whoever can only write to the database cannot compute a valid hash.
#[derive(Clone)]
pub struct ChainKey(Arc<[u8]>);

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey(***)")
    }
}

impl ChainKey {
    pub const MIN_LEN: usize = 32;

    pub fn new(secret: &[u8]) -> Result<ChainKey, String> {
        if secret.len() < Self::MIN_LEN {
            return Err(format!(
                "the audit key must be at least {} bytes",
                Self::MIN_LEN
            ));
        }
        Ok(ChainKey(secret.into()))
    }

    fn mac(&self, parts: &[&[u8]]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        for part in parts {
            mac.update(part);
        }
        hex::encode(mac.finalize().into_bytes())
    }

    fn boundary_check(&self, from_seq: i64, after_hash: &str) -> String {
        self.mac(&[
            format!("itsms audit trail keyed from {from_seq} after {after_hash}").as_bytes(),
        ])
    }

    fn opens(&self, boundary: &Boundary) -> bool {
        self.boundary_check(boundary.from_seq, &boundary.after_hash) == boundary.check
    }
}

/// The keys this process was configured with. `record` reaches the key through the chain
/// head it reads: the key that authenticates the head's boundary is the one to use.
static KEYS: RwLock<Vec<ChainKey>> = RwLock::new(Vec::new());

fn register(key: &ChainKey) {
    let mut keys = KEYS.write().unwrap_or_else(|e| e.into_inner());
    if !keys.iter().any(|k| k.0 == key.0) {
        keys.push(key.clone());
    }
}

fn registered_key_for(boundary: &Boundary) -> Result<ChainKey> {
    let keys = KEYS.read().unwrap_or_else(|e| e.into_inner());
    keys.iter()
        .find(|k| k.opens(boundary))
        .cloned()
        .ok_or_else(|| {
            tracing::error!(
                keyed_from_seq = boundary.from_seq,
                "audit trail: the chain head's key boundary matches no configured key"
            );
            Error::Internal(
            "the audit trail is keyed, but not with a key this process holds (audit.hmac_key), \
             or its chain head was altered"
                .into(),
        )
        })
}

enum Scheme {
    Plain,
    Keyed(ChainKey),
}

fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// SHA-256, or HMAC-SHA256 when keyed, over the previous hash and the row's fields in a
/// fixed order.
fn hash_of(row: &audit_entry::Model, scheme: &Scheme) -> String {
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
    ])
    .to_string();
    match scheme {
        Scheme::Plain => {
            let mut hasher = Sha256::new();
            hasher.update(row.prev_hash.as_bytes());
            hasher.update(canonical.as_bytes());
            hex::encode(hasher.finalize())
        }
        Scheme::Keyed(key) => key.mac(&[row.prev_hash.as_bytes(), canonical.as_bytes()]),
    }
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

/// Why the chain does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreakReason {
    /// A row's hash does not match its content, or it does not link to the row before.
    HashMismatch,
    /// A row is missing: a gap in the sequence, or rows removed from the end.
    MissingRow,
    /// The chain head does not end where the rows do.
    HeadMismatch,
    /// A row outside the chain: past the head, or before the first position.
    UnreachableRow,
    /// A key is configured but the trail records no keyed part.
    NotKeyed,
    /// The trail is keyed but no key is configured to check it.
    KeyRequired,
    /// The recorded start of the keyed part does not verify under the configured key
    /// (another key, or an altered chain head).
    KeyMismatch,
    /// The chain does not hold the expected anchor (`expect`).
    AnchorMismatch,
}

/// The end of the chain: an anchor to record outside the database.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChainHead {
    pub seq: i64,
    #[schema(max_length = 64)]
    pub hash: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ChainReport {
    /// True when every row's hash matches its content and links to the previous row, no row
    /// lies outside the chain, and the expected anchor (if any) is in it.
    pub valid: bool,
    pub entries_checked: i64,
    /// The first row that does not match, if any.
    pub first_broken_seq: Option<i64>,
    pub break_reason: Option<BreakReason>,
    /// The hash of the last row when the chain is valid.
    pub last_hash: Option<String>,
    /// The chain head as the check found it; record `seq:hash` to check against later.
    pub head: ChainHead,
    /// The first row hashed with the key (HMAC-SHA256); earlier rows use plain SHA-256.
    /// Null when the trail is not keyed.
    pub keyed_from_seq: Option<i64>,
}

/// A position and hash recorded earlier, which the chain must still hold: `SEQ:HASH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchor {
    pub seq: i64,
    pub hash: String,
}

impl std::str::FromStr for Anchor {
    type Err = String;

    fn from_str(s: &str) -> Result<Anchor, String> {
        let bad = || {
            "must be SEQ:HASH, a position from 1 and its 64-character lowercase hex hash"
                .to_string()
        };
        let (seq, hash) = s.split_once(':').ok_or_else(bad)?;
        let seq: i64 = seq
            .parse()
            .ok()
            .filter(|n| *n >= 1 && seq.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(bad)?;
        let hex = hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
        if !hex {
            return Err(bad());
        }
        Ok(Anchor {
            seq,
            hash: hash.to_string(),
        })
    }
}

/// The head, read in the same statement as the lowest seq outside the chain, so both come
/// from one snapshot while changes are being appended.
async fn head_and_stray(db: &DatabaseConnection) -> Result<(Head, Option<i64>)> {
    let row = db
        .query_one(Head::select().expr_as(
            Expr::cust(
                "(SELECT MIN(t.seq) FROM audit_trail t \
                     WHERE t.seq < 1 OR t.seq > audit_chain_head.seq)",
            ),
            "stray_seq",
        ))
        .await?
        .ok_or_else(|| Error::Internal("the audit chain head row is missing".into()))?;
    Ok((Head::from_row(&row)?, row.try_get("", "stray_seq")?))
}

/// Walks the chain up to the head as it was when the check started, a batch at a time, so
/// changes appended meanwhile do not disturb it. With `key`, rows from the head's keyed
/// boundary on must carry its HMAC, and the boundary itself must verify under it.
pub async fn verify(
    db: &DatabaseConnection,
    key: Option<&ChainKey>,
    expect: Option<&Anchor>,
) -> Result<ChainReport> {
    const BATCH: u64 = 1000;
    let (head, stray) = head_and_stray(db).await?;
    let boundary = head.boundary();
    let report =
        |checked: i64, broken: Option<(i64, BreakReason)>, last: Option<String>| ChainReport {
            valid: broken.is_none(),
            entries_checked: checked,
            first_broken_seq: broken.map(|b| b.0),
            break_reason: broken.map(|b| b.1),
            last_hash: if broken.is_none() { last } else { None },
            head: ChainHead {
                seq: head.seq,
                hash: head.last_hash.clone(),
            },
            keyed_from_seq: head.keyed_from_seq,
        };
    if let Some(seq) = stray.filter(|s| *s < 1) {
        return Ok(report(0, Some((seq, BreakReason::UnreachableRow)), None));
    }
    // Which scheme each row must carry, and what the boundary must link to.
    let keyed = match (&boundary, key) {
        (None, None) => None,
        (None, Some(_)) => return Ok(report(0, Some((1, BreakReason::NotKeyed)), None)),
        (Some(b), Some(k)) if !k.opens(b) => {
            return Ok(report(
                0,
                Some((b.from_seq, BreakReason::KeyMismatch)),
                None,
            ));
        }
        (Some(b), _) => Some(b),
    };
    let mut prev_hash = GENESIS.to_string();
    let mut checked = 0;
    let at_boundary = |prev_hash: &str, next_seq: i64| match keyed {
        Some(b) if b.from_seq == next_seq && b.after_hash != prev_hash => {
            Some((next_seq, BreakReason::KeyMismatch))
        }
        Some(b) if b.from_seq == next_seq && key.is_none() => {
            Some((next_seq, BreakReason::KeyRequired))
        }
        _ => None,
    };
    while checked < head.seq {
        let rows = Entity::find()
            .filter(Column::Seq.gt(checked))
            .filter(Column::Seq.lte(head.seq))
            .order_by_asc(Column::Seq)
            .limit(BATCH)
            .all(db)
            .await?;
        if rows.is_empty() {
            // Rows removed from the end: the head is ahead of them.
            return Ok(report(
                checked,
                Some((checked + 1, BreakReason::MissingRow)),
                None,
            ));
        }
        for row in rows {
            if let Some(broken) = at_boundary(&prev_hash, checked + 1) {
                return Ok(report(checked, Some(broken), None));
            }
            if row.seq != checked + 1 {
                return Ok(report(
                    checked,
                    Some((checked + 1, BreakReason::MissingRow)),
                    None,
                ));
            }
            let scheme = match (keyed, key) {
                (Some(b), Some(k)) if row.seq >= b.from_seq => Scheme::Keyed(k.clone()),
                _ => Scheme::Plain,
            };
            if row.prev_hash != prev_hash || hash_of(&row, &scheme) != row.hash {
                return Ok(report(
                    checked,
                    Some((row.seq, BreakReason::HashMismatch)),
                    None,
                ));
            }
            if let Some(anchor) = expect.filter(|a| a.seq == row.seq && a.hash != row.hash) {
                return Ok(report(
                    checked,
                    Some((anchor.seq, BreakReason::AnchorMismatch)),
                    None,
                ));
            }
            prev_hash = row.hash;
            checked += 1;
        }
    }
    if head.last_hash != prev_hash {
        return Ok(report(
            checked.saturating_sub(1),
            Some((Ord::max(checked, 1), BreakReason::HeadMismatch)),
            None,
        ));
    }
    // A boundary recorded right after the last row (nothing keyed appended yet) still has to
    // link to it; one past that, it points at nothing.
    if let Some(broken) = at_boundary(&prev_hash, checked + 1) {
        return Ok(report(checked, Some(broken), None));
    }
    if let Some(b) = keyed.filter(|b| b.from_seq > checked + 1 || b.from_seq < 1) {
        return Ok(report(
            checked,
            Some((b.from_seq, BreakReason::KeyMismatch)),
            None,
        ));
    }
    if let Some(seq) = stray {
        return Ok(report(
            checked,
            Some((seq, BreakReason::UnreachableRow)),
            None,
        ));
    }
    if let Some(anchor) = expect.filter(|a| a.seq > checked) {
        return Ok(report(
            checked,
            Some((anchor.seq, BreakReason::AnchorMismatch)),
            None,
        ));
    }
    Ok(report(checked, None, Some(prev_hash)))
}

pub async fn verify_for(
    db: &DatabaseConnection,
    caller: &Caller,
    key: Option<&ChainKey>,
    expect: Option<&str>,
) -> Result<ChainReport> {
    ensure_may_read(caller)?;
    let expect = expect
        .map(str::parse::<Anchor>)
        .transpose()
        .map_err(|message| DomainError::Validation(vec![FieldError::new("expect", message)]))?;
    verify(db, key, expect.as_ref()).await
}

/// Readies the chain for appending with this process's configuration: a keyed trail needs
/// its key, a new trail is keyed from its first row when a key is configured, and an
/// existing unkeyed trail is keyed only on request (`adopt_key`), so that a chain head
/// stripped of its boundary is not silently keyed anew.
pub async fn prepare(db: &DatabaseConnection, key: Option<&ChainKey>) -> Result<()> {
    let head = Head::read(db).await?;
    match (head.boundary(), key) {
        (None, None) => Ok(()),
        (Some(b), None) => Err(Error::Internal(format!(
            "the audit trail is keyed from seq {}: configure its key (audit.hmac_key or \
             audit.hmac_key_file)",
            b.from_seq
        ))),
        (Some(b), Some(k)) if k.opens(&b) => {
            register(k);
            Ok(())
        }
        (Some(_), Some(_)) => Err(Error::Internal(
            "audit.hmac_key is not the key the audit trail is keyed with, or the chain head \
             was altered; `itsms verify-audit-trail` tells more"
                .into(),
        )),
        (None, Some(k)) if head.seq == 0 => set_boundary(db, k, 0).await,
        (None, Some(_)) => Err(Error::Internal(format!(
            "the audit trail has {} entries hashed without a key while audit.hmac_key is \
             configured; run `itsms key-audit-trail` once to key it from the next entry",
            head.seq
        ))),
    }
}

/// Keys an unkeyed trail from its next entry on, once its existing rows verify. Doing it
/// again with the same key changes nothing.
pub async fn adopt_key(db: &DatabaseConnection, key: &ChainKey) -> Result<ChainReport> {
    let head = Head::read(db).await?;
    if let Some(b) = head.boundary() {
        if !key.opens(&b) {
            return Err(Error::Internal(
                "the audit trail is already keyed with another key, or its chain head was altered"
                    .into(),
            ));
        }
        register(key);
        return verify(db, Some(key), None).await;
    }
    let report = verify(db, None, None).await?;
    if !report.valid {
        return Err(Error::Internal(format!(
            "the audit trail does not verify (first broken seq {:?}); it is not keyed",
            report.first_broken_seq
        )));
    }
    set_boundary(db, key, report.head.seq).await?;
    verify(db, Some(key), None).await
}

/// Records that rows after `after_seq` are keyed, unless the head has moved on or was keyed
/// meanwhile.
async fn set_boundary(db: &DatabaseConnection, key: &ChainKey, after_seq: i64) -> Result<()> {
    let tx = begin_write(db).await?;
    let head = Head::read(&tx).await?;
    if head.seq != after_seq || head.boundary().is_some() {
        return Err(Error::Internal(
            "the audit trail changed while it was being keyed; try again".into(),
        ));
    }
    let from_seq = after_seq + 1;
    tx.execute(
        Query::update()
            .table(HEAD)
            .value("keyed_from_seq", from_seq)
            .value("keyed_after_hash", head.last_hash.clone())
            .value("key_check", key.boundary_check(from_seq, &head.last_hash))
            .and_where(Expr::col("id").eq(1)),
    )
    .await?;
    tx.commit().await?;
    register(key);
    tracing::info!(keyed_from_seq = from_seq, "the audit trail is keyed");
    Ok(())
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
        let plain = hash_of(&row, &Scheme::Plain);
        let key = ChainKey::new(&[7; 32]).unwrap();
        let keyed = hash_of(&row, &Scheme::Keyed(key.clone()));
        assert_ne!(plain, keyed);
        let other = ChainKey::new(&[8; 32]).unwrap();
        assert_ne!(keyed, hash_of(&row, &Scheme::Keyed(other)));
        for scheme in [Scheme::Plain, Scheme::Keyed(key)] {
            let h = hash_of(&row, &scheme);
            let mut altered = row.clone();
            altered.changes = "{\"x\":1}".into();
            assert_ne!(h, hash_of(&altered, &scheme));
            altered = row.clone();
            altered.prev_hash = "1".repeat(64);
            assert_ne!(h, hash_of(&altered, &scheme));
        }
    }

    #[test]
    fn a_short_key_is_refused() {
        assert!(ChainKey::new(&[1; 31]).is_err());
        assert!(ChainKey::new(&[1; 32]).is_ok());
    }

    #[test]
    fn anchors_parse_strictly() {
        let hash = "ab".repeat(32);
        assert_eq!(
            format!("12:{hash}").parse::<Anchor>(),
            Ok(Anchor {
                seq: 12,
                hash: hash.clone()
            })
        );
        for bad in [
            "".to_string(),
            "12".to_string(),
            format!("0:{hash}"),
            format!("-1:{hash}"),
            format!("+1:{hash}"),
            format!("x:{hash}"),
            format!("1:{}", hash.to_uppercase()),
            format!("1:{}", &hash[1..]),
            format!("1:{hash}0"),
            format!("99999999999999999999:{hash}"),
        ] {
            assert!(bad.parse::<Anchor>().is_err(), "{bad}");
        }
    }
}
