//! Column and constraint shapes every migration uses.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

pub fn one_of(column: &'static str, values: &[&str]) -> SimpleExpr {
    Expr::col(column).is_in(values.iter().map(|v| String::from(*v)))
}

pub fn id() -> ColumnDef {
    string_len("id", 36).primary_key().take()
}

pub fn fk(
    name: &str,
    from: (&'static str, &'static str),
    to: &'static str,
) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(from.0, from.1)
        .to(to, "id")
        .take()
}

pub fn index(
    name: &str,
    table: &'static str,
    columns: &[&'static str],
    unique: bool,
) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table);
    for column in columns {
        index.col(*column);
    }
    if unique {
        index.unique();
    }
    index.take()
}

/// Plain indexes, each `(name, table, columns)`.
pub type Indexes = [(&'static str, &'static str, &'static [&'static str])];

pub async fn create_indexes(manager: &SchemaManager<'_>, indexes: &Indexes) -> Result<(), DbErr> {
    for (name, table, columns) in indexes {
        manager
            .create_index(index(name, table, columns, false))
            .await?;
    }
    Ok(())
}

pub async fn drop_indexes(manager: &SchemaManager<'_>, indexes: &Indexes) -> Result<(), DbErr> {
    for (name, table, _) in indexes {
        manager
            .drop_index(Index::drop().name(*name).table(*table).to_owned())
            .await?;
    }
    Ok(())
}
