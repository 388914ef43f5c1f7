use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "findings")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub audit_id: String,
    #[sea_orm(column_name = "type")]
    pub finding_type: String,
    pub clause: Option<String>,
    pub process_id: Option<String>,
    pub statement: String,
    pub evidence: Option<String>,
    pub state: String,
    pub recorded_by: Option<String>,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
