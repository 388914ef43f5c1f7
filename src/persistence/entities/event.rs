use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub seq: i64,
    pub id: String,
    #[sea_orm(column_name = "type")]
    pub event_type: String,
    pub occurred_at: DateTimeUtc,
    pub resource_type: String,
    pub resource_id: String,
    pub audit_seq: Option<i64>,
    /// JSON.
    pub data: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
