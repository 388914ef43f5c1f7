use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "improvements")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub title: String,
    pub description: String,
    pub source: String,
    pub benefit: Option<String>,
    pub owner_id: Option<String>,
    pub management_review_id: Option<String>,
    pub due_date: Option<Date>,
    pub implementation: Option<String>,
    pub evaluation: Option<String>,
    pub reject_reason: Option<String>,
    pub state: String,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
