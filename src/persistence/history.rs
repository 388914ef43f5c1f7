//! The audit-trail rows of one stored resource, oldest first.

use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::Aggregate;
use super::entities::audit_entry;
use super::page::{self, Kind, Page, PageRequest};
use crate::error::Result;

pub async fn of<A: Aggregate, C: ConnectionTrait>(
    conn: &C,
    id: &str,
    request: &PageRequest,
) -> Result<Page<audit_entry::Model>> {
    use audit_entry::Column;
    let select = audit_entry::Entity::find()
        .filter(Column::EntityType.eq(A::KIND))
        .filter(Column::EntityId.eq(id));
    let sorts = [("seq", Column::Seq, Kind::Integer)];
    page::fetch(conn, select, &sorts, Column::Id, request).await
}
