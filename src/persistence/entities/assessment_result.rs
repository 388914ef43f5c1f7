use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "assessment_results")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub assessment_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub clause: String,
    pub position: i32,
    pub status: String,
    pub notes: Option<String>,
    pub evidence: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
