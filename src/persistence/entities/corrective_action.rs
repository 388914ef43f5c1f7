use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "corrective_actions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub title: String,
    pub nonconformity: String,
    pub source: String,
    pub finding_id: Option<String>,
    pub clause: Option<String>,
    pub process_id: Option<String>,
    pub owner_id: Option<String>,
    pub due_date: Option<Date>,
    pub correction: Option<String>,
    pub root_cause: Option<String>,
    pub similar_nonconformities: Option<String>,
    pub action_plan: Option<String>,
    pub implementation: Option<String>,
    pub effectiveness_review: Option<String>,
    pub implemented_by: Option<String>,
    pub cancel_reason: Option<String>,
    /// The management review that decided the action.
    pub management_review_id: Option<String>,
    pub state: String,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
