use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "clauses")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub clause: String,
    pub title: String,
    pub parent: Option<String>,
    pub is_process: bool,
    pub position: i32,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
