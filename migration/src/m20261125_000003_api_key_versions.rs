//! API keys change through the same versioned write path as every other resource.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table("api_keys")
                    .add_column(
                        ColumnDef::new("version")
                            .big_integer()
                            .not_null()
                            .default(1),
                    )
                    .take(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table("api_keys")
                    .add_column(
                        ColumnDef::new("updated_at")
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .take(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["updated_at", "version"] {
            manager
                .alter_table(Table::alter().table("api_keys").drop_column(column).take())
                .await?;
        }
        Ok(())
    }
}
