use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "management_reviews")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub title: String,
    pub planned_for: Option<Date>,
    pub held_on: Option<Date>,
    pub input_previous_actions_status: Option<String>,
    pub input_changes_in_context: Option<String>,
    pub input_sms_performance: Option<String>,
    pub input_objectives: Option<String>,
    pub input_nonconformity_and_audit_trends: Option<String>,
    pub input_service_and_supplier_performance: Option<String>,
    pub input_feedback: Option<String>,
    pub input_resources: Option<String>,
    pub input_risks: Option<String>,
    pub input_improvement_opportunities: Option<String>,
    /// JSON array of texts.
    pub decisions: String,
    pub minutes_location: Option<String>,
    pub state: String,
    pub approved_by: Option<String>,
    pub approved_at: Option<DateTimeUtc>,
    pub version: i64,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
