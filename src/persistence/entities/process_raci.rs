use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "process_raci")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub process_id: String,
    #[sea_orm(primary_key, auto_increment = false)]
    pub role_id: String,
    /// Empty for the process as a whole.
    #[sea_orm(primary_key, auto_increment = false)]
    pub activity: String,
    pub responsibility: String,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
