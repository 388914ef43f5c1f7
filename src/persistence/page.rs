//! Keyset pagination: the cursor holds the last row's sort value and id, so a page costs
//! the same wherever it is in the table.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ColumnTrait, ColumnType, ConnectionTrait, EntityTrait, Order, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select, Value,
};
use serde::{Deserialize, Serialize};

use crate::domain::DomainError;
use crate::error::Error;

pub const DEFAULT_LIMIT: u64 = 50;
pub const MAX_LIMIT: u64 = 200;

/// What the client asked for: validated sort name, page size, position and whether to count.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub limit: u64,
    pub cursor: Option<String>,
    pub sort: Option<String>,
    pub include_total: bool,
}

#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
    pub total: Option<u64>,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
            total: self.total,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct CursorData {
    /// The sort the cursor was made for.
    s: String,
    /// The last row's sort value.
    v: serde_json::Value,
    /// The last row's id.
    i: String,
}

/// A sort a list offers: its public name and the column behind it.
pub struct SortKey<C> {
    pub name: &'static str,
    pub column: C,
}

fn cursor_error(message: &str) -> DomainError {
    DomainError::invalid("cursor", message)
}

/// Applies sort, keyset position and limit to `select`, runs it, and builds the next cursor.
/// `key_of` gives a row's sort value and id.
pub async fn fetch<E, C>(
    db: &C,
    select: Select<E>,
    sorts: &[SortKey<E::Column>],
    id_column: E::Column,
    request: &PageRequest,
    key_of: impl Fn(&E::Model, &str) -> (serde_json::Value, String),
) -> Result<Page<E::Model>, Error>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    let requested = request.sort.as_deref().unwrap_or(sorts[0].name);
    let (descending, name) = match requested.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, requested),
    };
    let Some(key) = sorts.iter().find(|s| s.name == name) else {
        let names: Vec<_> = sorts.iter().map(|s| s.name).collect();
        return Err(Error::Domain(DomainError::invalid(
            "sort",
            format!(
                "must be one of {} (prefix `-` for descending)",
                names.join(", ")
            ),
        )));
    };
    let total = if request.include_total {
        Some(select.clone().count(db).await?)
    } else {
        None
    };
    let order = if descending { Order::Desc } else { Order::Asc };
    let mut select = select
        .order_by(key.column, order.clone())
        .order_by(id_column, order);
    if let Some(cursor) = &request.cursor {
        let data = match decode(cursor) {
            Some(d) if d.s == requested => d,
            Some(_) => {
                return Err(Error::Domain(cursor_error(
                    "was made for another sort order",
                )));
            }
            None => {
                return Err(Error::Domain(cursor_error(
                    "is not a cursor this service issued",
                )));
            }
        };
        // The value must have the column's type: a forged cursor must not reach the database.
        let numeric = matches!(
            key.column.def().get_column_type(),
            ColumnType::Integer | ColumnType::BigInteger | ColumnType::SmallInteger
        );
        let value = match data.v {
            serde_json::Value::String(s) if !numeric => Value::from(s),
            serde_json::Value::Number(n) if numeric && n.is_i64() => Value::from(n.as_i64()),
            _ => {
                return Err(Error::Domain(cursor_error(
                    "is not a cursor this service issued",
                )));
            }
        };
        let column = Expr::col((E::default(), key.column));
        let id = Expr::col((E::default(), id_column));
        let condition = if descending {
            column
                .clone()
                .lt(value.clone())
                .or(column.eq(value).and(id.lt(data.i)))
        } else {
            column
                .clone()
                .gt(value.clone())
                .or(column.eq(value).and(id.gt(data.i)))
        };
        select = select.filter(condition);
    }
    let limit = request.limit.clamp(1, MAX_LIMIT);
    let mut items = select.limit(limit + 1).all(db).await?;
    let next_cursor = if items.len() as u64 > limit {
        items.truncate(limit as usize);
        items.last().map(|last| {
            let (v, i) = key_of(last, name);
            encode(&CursorData {
                s: requested.to_string(),
                v,
                i,
            })
        })
    } else {
        None
    };
    Ok(Page {
        items,
        next_cursor,
        total,
    })
}

fn encode(data: &CursorData) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(data).expect("cursor serializes"))
}

fn decode(cursor: &str) -> Option<CursorData> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_rejects_garbage() {
        let c = encode(&CursorData {
            s: "-name".into(),
            v: "Change".into(),
            i: "0190".into(),
        });
        let d = decode(&c).unwrap();
        assert_eq!((d.s.as_str(), d.i.as_str()), ("-name", "0190"));
        assert!(decode("not a cursor").is_none());
        assert!(decode(&URL_SAFE_NO_PAD.encode(b"{}")).is_none());
    }
}
