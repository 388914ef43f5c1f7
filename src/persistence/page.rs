//! Keyset pagination: the cursor holds the last row's sort value and id, so a page costs
//! the same wherever it is in the table.
//!
//! A list declares its sorts once, as `(public name, column, kind)`. The kind says how a
//! cursor's value is decoded and bound (a date is compared with a date on PostgreSQL, never
//! with text) and whether the column may be NULL. The row's sort value for the next cursor
//! is read from the model by the same column, so the declaration cannot drift from it.
//!
//! Order: NULLs last in both directions, ties broken by id in the sort's direction.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, NullOrdering};
use sea_orm::{
    ColumnTrait, ColumnType, ConnectionTrait, EntityTrait, ModelTrait, Order, PaginatorTrait,
    QueryFilter, QueryOrder, QuerySelect, Select, Value,
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

/// The type of a sort column: how its value travels in a cursor and is bound in SQL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Integer,
    Date,
    Timestamp,
    NullableText,
    NullableInteger,
    NullableDate,
    NullableTimestamp,
}

impl Kind {
    fn nullable(self) -> bool {
        matches!(
            self,
            Kind::NullableText
                | Kind::NullableInteger
                | Kind::NullableDate
                | Kind::NullableTimestamp
        )
    }

    /// The kind without NULLs.
    fn base(self) -> Kind {
        match self {
            Kind::NullableText => Kind::Text,
            Kind::NullableInteger => Kind::Integer,
            Kind::NullableDate => Kind::Date,
            Kind::NullableTimestamp => Kind::Timestamp,
            other => other,
        }
    }

    /// Whether the column really has this kind: a wrong declaration is a programming error.
    fn fits(self, column_type: &ColumnType, nullable: bool) -> bool {
        let same_type = match self.base() {
            Kind::Text => matches!(
                column_type,
                ColumnType::String(_) | ColumnType::Text | ColumnType::Char(_)
            ),
            Kind::Integer => matches!(
                column_type,
                ColumnType::TinyInteger
                    | ColumnType::SmallInteger
                    | ColumnType::Integer
                    | ColumnType::BigInteger
            ),
            Kind::Date => matches!(column_type, ColumnType::Date),
            _ => matches!(column_type, ColumnType::TimestampWithTimeZone),
        };
        same_type && self.nullable() == nullable
    }
}

/// A sort a list offers: its public name, the column behind it and the column's kind.
pub type SortKey<C> = (&'static str, C, Kind);

/// A sort value, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Key {
    Null,
    Text(String),
    Integer(i64),
    Date(NaiveDate),
    Timestamp(DateTime<Utc>),
}

impl Key {
    /// A row's value as read from the model; None when it does not have the declared kind.
    fn read(kind: Kind, value: Value) -> Option<Key> {
        let key = match value {
            Value::String(Some(s)) => Key::Text(s),
            Value::Char(Some(c)) => Key::Text(c.to_string()),
            Value::TinyInt(Some(n)) => Key::Integer(n.into()),
            Value::SmallInt(Some(n)) => Key::Integer(n.into()),
            Value::Int(Some(n)) => Key::Integer(n.into()),
            Value::BigInt(Some(n)) => Key::Integer(n),
            Value::ChronoDate(Some(d)) => Key::Date(d),
            Value::ChronoDateTimeUtc(Some(t)) => Key::Timestamp(t),
            Value::ChronoDateTimeWithTimeZone(Some(t)) => Key::Timestamp(t.to_utc()),
            other if !other.is_some() => Key::Null,
            _ => return None,
        };
        key.has(kind).then_some(key)
    }

    fn has(&self, kind: Kind) -> bool {
        match self {
            Key::Null => kind.nullable(),
            Key::Text(_) => kind.base() == Kind::Text,
            Key::Integer(_) => kind.base() == Kind::Integer,
            Key::Date(_) => kind.base() == Kind::Date,
            Key::Timestamp(_) => kind.base() == Kind::Timestamp,
        }
    }

    fn to_json(&self) -> serde_json::Value {
        match self {
            Key::Null => serde_json::Value::Null,
            Key::Text(s) => s.clone().into(),
            Key::Integer(n) => (*n).into(),
            Key::Date(d) => d.format("%Y-%m-%d").to_string().into(),
            Key::Timestamp(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true).into(),
        }
    }

    /// Decodes a cursor's value with the column's kind; None when it does not fit.
    fn from_json(kind: Kind, json: serde_json::Value) -> Option<Key> {
        let key = match (kind.base(), json) {
            (_, serde_json::Value::Null) => Key::Null,
            (Kind::Text, serde_json::Value::String(s)) => Key::Text(s),
            (Kind::Integer, serde_json::Value::Number(n)) => Key::Integer(n.as_i64()?),
            (Kind::Date, serde_json::Value::String(s)) => {
                Key::Date(NaiveDate::parse_from_str(&s, "%Y-%m-%d").ok()?)
            }
            (Kind::Timestamp, serde_json::Value::String(s)) => {
                Key::Timestamp(DateTime::parse_from_rfc3339(&s).ok()?.to_utc())
            }
            _ => return None,
        };
        key.has(kind).then_some(key)
    }

    /// The value bound in SQL, with the column's own type.
    fn bind(&self) -> Value {
        match self {
            // Not reached: a NULL position is compared with IS NULL.
            Key::Null => Value::String(None),
            Key::Text(s) => s.clone().into(),
            Key::Integer(n) => (*n).into(),
            Key::Date(d) => (*d).into(),
            Key::Timestamp(t) => (*t).into(),
        }
    }
}

/// The position after which the next page starts.
#[derive(Debug, PartialEq, Eq)]
struct Position {
    key: Key,
    id: String,
}

/// A cursor as it travels: URL-safe base64 of this JSON.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CursorData {
    /// The sort the cursor was made for.
    s: String,
    /// The last row's sort value, or null.
    v: serde_json::Value,
    /// The last row's id.
    i: String,
}

fn cursor_error(message: &str) -> DomainError {
    DomainError::invalid("cursor", message)
}

fn encode(sort: &str, position: &Position) -> String {
    let data = CursorData {
        s: sort.to_string(),
        v: position.key.to_json(),
        i: position.id.clone(),
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&data).expect("cursor serializes"))
}

/// Decodes a cursor made for `sort`, whose value must have `kind`.
fn decode(cursor: &str, sort: &str, kind: Kind) -> Result<Position, DomainError> {
    let foreign = || cursor_error("is not a cursor this service issued");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| foreign())?;
    let data: CursorData = serde_json::from_slice(&bytes).map_err(|_| foreign())?;
    if data.s != sort {
        return Err(cursor_error("was made for another sort order"));
    }
    let key = Key::from_json(kind, data.v).ok_or_else(foreign)?;
    Ok(Position { key, id: data.i })
}

/// Rows after `position` in the order (value IS NULL, value, id), each in the sort's
/// direction except NULLs, which come last either way.
///
/// Past a value, the condition is the row value `(value, id) > (v, i)`: both databases read
/// it as a range of the `(…, value, id)` index, so a page deep in the list starts with a
/// seek. The equivalent `value > v OR (value = v AND id > i)` is not a range to SQLite,
/// which then walks every row before the page.
fn after<E: EntityTrait>(
    column: E::Column,
    id_column: E::Column,
    kind: Kind,
    descending: bool,
    position: &Position,
) -> Expr {
    let value = Expr::col((E::default(), column));
    let id = Expr::col((E::default(), id_column));
    let beyond = |e: Expr, v: Expr| if descending { e.lt(v) } else { e.gt(v) };
    let last_id = Expr::val(position.id.clone());
    match &position.key {
        // In the NULL segment only the id is left to order by.
        Key::Null => value.is_null().and(beyond(id, last_id)),
        key => {
            let later = beyond(
                Expr::tuple([value.clone(), id]),
                Expr::tuple([Expr::val(key.bind()), last_id]),
            );
            if kind.nullable() {
                later.or(value.is_null())
            } else {
                later
            }
        }
    }
}

/// Applies sort, keyset position and limit to `select`, runs it, and builds the next cursor.
/// `sorts[0]` is the default; a name prefixed with `-` sorts descending.
pub async fn fetch<E, C>(
    db: &C,
    select: Select<E>,
    sorts: &[SortKey<E::Column>],
    id_column: E::Column,
    request: &PageRequest,
) -> Result<Page<E::Model>, Error>
where
    E: EntityTrait,
    E::Model: Sync,
    C: ConnectionTrait,
{
    let requested = request.sort.as_deref().unwrap_or(sorts[0].0);
    let (descending, name) = match requested.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, requested),
    };
    let Some(&(_, column, kind)) = sorts.iter().find(|s| s.0 == name) else {
        let names: Vec<_> = sorts.iter().map(|s| s.0).collect();
        return Err(Error::Domain(DomainError::invalid(
            "sort",
            format!(
                "must be one of {} (prefix `-` for descending)",
                names.join(", ")
            ),
        )));
    };
    // Every declaration is checked on any use, so a test of a list catches a wrong kind.
    for (name, column, kind) in sorts {
        let def = column.def();
        debug_assert!(
            kind.fits(def.get_column_type(), def.is_null()),
            "sort `{name}` is declared {kind:?} but its column is {:?} (nullable: {})",
            def.get_column_type(),
            def.is_null()
        );
    }
    // Decoded before any query: a forged cursor never reaches the database.
    let position = match &request.cursor {
        Some(cursor) => Some(decode(cursor, requested, kind)?),
        None => None,
    };
    let total = if request.include_total {
        Some(select.clone().count(db).await?)
    } else {
        None
    };
    let order = if descending { Order::Desc } else { Order::Asc };
    let mut select = if kind.nullable() {
        select.order_by_with_nulls(column, order.clone(), NullOrdering::Last)
    } else {
        select.order_by(column, order.clone())
    }
    .order_by(id_column, order);
    if let Some(position) = &position {
        select = select.filter(after::<E>(column, id_column, kind, descending, position));
    }
    let limit = request.limit.clamp(1, MAX_LIMIT);
    let mut items = select.limit(limit + 1).all(db).await?;
    let next_cursor = if items.len() as u64 > limit {
        items.truncate(limit as usize);
        let last = items.last().expect("a full page");
        let key = Key::read(kind, last.get(column)).ok_or_else(|| {
            Error::Internal(format!("sort `{name}` read a value of another kind"))
        })?;
        let id = match last.get(id_column) {
            Value::String(Some(id)) => id,
            other => return Err(Error::Internal(format!("id column holds {other:?}"))),
        };
        Some(encode(requested, &Position { key, id }))
    } else {
        None
    };
    Ok(Page {
        items,
        next_cursor,
        total,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forge(json: serde_json::Value) -> String {
        URL_SAFE_NO_PAD.encode(json.to_string())
    }

    fn round_trip(kind: Kind, key: Key) {
        let position = Position {
            key,
            id: "0190".into(),
        };
        let cursor = encode("-due", &position);
        assert_eq!(decode(&cursor, "-due", kind).unwrap(), position, "{kind:?}");
    }

    #[test]
    fn every_kind_round_trips() {
        let at = DateTime::parse_from_rfc3339("2026-03-01T10:20:30.123456789+02:00")
            .unwrap()
            .to_utc();
        let day = NaiveDate::from_ymd_opt(2026, 2, 28).unwrap();
        round_trip(Kind::Text, Key::Text("Change ✓".into()));
        round_trip(Kind::Integer, Key::Integer(-42));
        round_trip(Kind::Date, Key::Date(day));
        round_trip(Kind::Timestamp, Key::Timestamp(at));
        round_trip(Kind::NullableDate, Key::Date(day));
        for kind in [
            Kind::NullableText,
            Kind::NullableInteger,
            Kind::NullableDate,
            Kind::NullableTimestamp,
        ] {
            round_trip(kind, Key::Null);
        }
    }

    #[test]
    fn values_of_another_type_are_refused() {
        let cases = [
            (Kind::Text, json!(5)),
            (Kind::Text, json!(null)),
            (Kind::Integer, json!("5")),
            (Kind::Integer, json!(1.5)),
            (Kind::Integer, json!(null)),
            (Kind::Date, json!("2026-02-30")),
            (Kind::Date, json!("2026-02-01T00:00:00Z")),
            (Kind::Date, json!("yesterday")),
            (Kind::Date, json!(null)),
            (Kind::NullableDate, json!(20260101)),
            (Kind::NullableDate, json!("2026-1-1x")),
            (Kind::Timestamp, json!("2026-02-01")),
            (Kind::Timestamp, json!(1_700_000_000)),
            (Kind::NullableTimestamp, json!(["2026-02-01T00:00:00Z"])),
        ];
        for (kind, v) in cases {
            let cursor = forge(json!({"s": "due", "v": v, "i": "x"}));
            let err = decode(&cursor, "due", kind).unwrap_err();
            assert!(
                format!("{err:?}").contains("cursor"),
                "{kind:?} {v}: {err:?}"
            );
        }
    }

    #[test]
    fn garbage_and_cursors_of_other_sorts_are_refused() {
        let good = forge(json!({"s": "name", "v": "a", "i": "x"}));
        assert!(decode(&good, "name", Kind::Text).is_ok());
        assert!(decode(&good, "-name", Kind::Text).is_err());
        for bad in [
            "not a cursor".to_string(),
            forge(json!({})),
            forge(json!({"s": "name", "v": "a"})),
            forge(json!({"s": "name", "v": "a", "i": 7})),
            forge(json!({"s": "name", "v": "a", "i": "x", "extra": 1})),
            forge(json!("name")),
        ] {
            assert!(decode(&bad, "name", Kind::Text).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_timestamp_keeps_its_nanoseconds() {
        let at = DateTime::parse_from_rfc3339("2026-03-01T10:20:30.000000001Z")
            .unwrap()
            .to_utc();
        assert_eq!(
            Key::from_json(Kind::Timestamp, Key::Timestamp(at).to_json()),
            Some(Key::Timestamp(at))
        );
    }

    #[test]
    fn model_values_must_have_the_declared_kind() {
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        assert_eq!(
            Key::read(Kind::NullableDate, Value::ChronoDate(None)),
            Some(Key::Null)
        );
        assert_eq!(Key::read(Kind::Date, Value::ChronoDate(None)), None);
        assert_eq!(
            Key::read(Kind::Date, Value::ChronoDate(Some(day))),
            Some(Key::Date(day))
        );
        assert_eq!(Key::read(Kind::Text, Value::ChronoDate(Some(day))), None);
        assert_eq!(
            Key::read(Kind::Integer, Value::Int(Some(3))),
            Some(Key::Integer(3))
        );
    }

    #[test]
    fn kinds_are_checked_against_column_types() {
        assert!(Kind::NullableDate.fits(&ColumnType::Date, true));
        assert!(!Kind::Date.fits(&ColumnType::Date, true));
        assert!(!Kind::NullableText.fits(&ColumnType::Date, true));
        assert!(Kind::Timestamp.fits(&ColumnType::TimestampWithTimeZone, false));
        assert!(Kind::Integer.fits(&ColumnType::BigInteger, false));
    }

    use serde_json::json;
}
