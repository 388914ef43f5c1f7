//! Audit findings in the database.

use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::Serialize;
use serde_json::Value;

use super::Aggregate;
use super::entities::finding as row;
use crate::domain::finding::{FindingState, FindingType};
use crate::error::{Error, Result};

/// A stored finding.
#[derive(Debug, Clone, Serialize)]
pub struct StoredFinding {
    #[serde(skip)]
    pub id: String,
    pub audit_id: String,
    #[serde(rename = "type")]
    pub finding_type: FindingType,
    pub clause: Option<String>,
    pub process_id: Option<String>,
    pub statement: String,
    pub evidence: Option<String>,
    pub state: FindingState,
    pub recorded_by: Option<String>,
    #[serde(skip)]
    pub version: i64,
    #[serde(skip)]
    pub created_at: DateTime<Utc>,
    #[serde(skip)]
    pub updated_at: DateTime<Utc>,
}

impl Aggregate for StoredFinding {
    type Entity = row::Entity;
    const KIND: &'static str = "finding";
    const NOUN: &'static str = "finding";

    fn id(&self) -> &str {
        &self.id
    }

    fn version(&self) -> i64 {
        self.version
    }

    fn record(&self) -> Value {
        serde_json::to_value(self).expect("plain data serializes")
    }

    async fn load<C: ConnectionTrait>(conn: &C, id: &str) -> Result<Option<Self>> {
        row::Entity::find_by_id(id.to_string())
            .one(conn)
            .await?
            .map(from_row)
            .transpose()
    }
}

pub fn from_row(m: row::Model) -> Result<StoredFinding> {
    Ok(StoredFinding {
        finding_type: FindingType::parse(&m.finding_type)
            .ok_or_else(|| Error::Internal(format!("unknown finding type {}", m.finding_type)))?,
        state: FindingState::parse(&m.state)
            .ok_or_else(|| Error::Internal(format!("unknown finding state {}", m.state)))?,
        id: m.id,
        audit_id: m.audit_id,
        clause: m.clause,
        process_id: m.process_id,
        statement: m.statement,
        evidence: m.evidence,
        recorded_by: m.recorded_by,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Sets a finding's state (its version is already bumped).
pub async fn set_state<C: ConnectionTrait>(conn: &C, id: &str, state: FindingState) -> Result<()> {
    row::Entity::update_many()
        .set(row::ActiveModel {
            state: Set(state.as_str().to_string()),
            ..Default::default()
        })
        .filter(row::Column::Id.eq(id))
        .exec(conn)
        .await?;
    Ok(())
}
