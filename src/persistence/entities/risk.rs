use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "risks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub title: String,
    pub kind: String,
    pub description: Option<String>,
    pub likelihood: i32,
    pub impact: i32,
    pub score: i32,
    pub treatment: Option<String>,
    pub acceptance_rationale: Option<String>,
    pub owner_role_id: Option<String>,
    pub process_id: Option<String>,
    pub review_due: Option<Date>,
    pub corrective_action_id: Option<String>,
    pub improvement_id: Option<String>,
    pub state: String,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
