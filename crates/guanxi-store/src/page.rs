//! Keyset pagination: a page is "the next N rows after this sort key", never an OFFSET,
//! so page 1,000 costs what page 1 costs.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{self, Expr, Value};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect, Select,
};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::StoreResult;

/// The most rows one page may hold.
pub const MAX_PAGE: u64 = 200;
/// Rows per page when the caller does not say.
pub const DEFAULT_PAGE: u64 = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Direction {
    Asc,
    Desc,
}

impl Direction {
    pub fn flipped(self) -> Self {
        match self {
            Self::Asc => Self::Desc,
            Self::Desc => Self::Asc,
        }
    }

    fn order(self) -> Order {
        match self {
            Self::Asc => Order::Asc,
            Self::Desc => Order::Desc,
        }
    }
}

/// One sort key value, as carried in a cursor.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CursorValue {
    Int(i64),
    Uuid(Uuid),
    Time(DateTime<Utc>),
    Text(String),
}

impl From<CursorValue> for Value {
    fn from(value: CursorValue) -> Self {
        match value {
            CursorValue::Int(v) => v.into(),
            CursorValue::Uuid(v) => v.into(),
            CursorValue::Time(v) => v.into(),
            CursorValue::Text(v) => v.into(),
        }
    }
}

/// Where a page starts: the sort key and tie-breaker of the row before it. `sort` names
/// the ordering the cursor was made for, so a cursor is not reused under another one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(rename = "s")]
    pub sort: String,
    #[serde(rename = "k")]
    pub key: CursorValue,
    #[serde(rename = "i")]
    pub tiebreak: CursorValue,
    /// The row's rank, when the ordering reads one before its sort key (see [`Rank`]).
    #[serde(rename = "r", default, skip_serializing_if = "Option::is_none")]
    pub rank: Option<i64>,
}

/// The Relay page arguments, already decoded.
#[derive(Clone, Debug, Default)]
pub struct PageRequest {
    pub first: Option<u64>,
    pub after: Option<Cursor>,
    pub last: Option<u64>,
    pub before: Option<Cursor>,
}

impl PageRequest {
    pub fn first(n: u64) -> Self {
        Self { first: Some(n), ..Self::default() }
    }

    /// Pages backwards when only `last`/`before` are given.
    fn backward(&self) -> bool {
        self.first.is_none() && (self.last.is_some() || self.before.is_some())
    }

    fn limit(&self) -> u64 {
        let asked = if self.backward() { self.last } else { self.first };
        asked.unwrap_or(DEFAULT_PAGE).min(MAX_PAGE)
    }
}

/// A sortable column of an entity, with how to read its value off a row.
pub struct SortKey<E: EntityTrait> {
    pub name: &'static str,
    pub column: E::Column,
    pub direction: Direction,
    pub value: fn(&E::Model) -> CursorValue,
}

/// An integer read before the sort key, in its own direction: a search's relevance. The
/// database orders by `expr`; `value` computes the same figure for a row's cursor.
pub struct Rank<E: EntityTrait> {
    pub expr: Expr,
    pub direction: Direction,
    pub value: RankOf<E>,
}

/// How a [`Rank`] computes a row's figure.
pub type RankOf<E> = Box<dyn Fn(&<E as EntityTrait>::Model) -> i64 + Send + Sync>;

/// The unique column that breaks ties (the id, or the sequence).
pub struct Tiebreak<E: EntityTrait> {
    pub column: E::Column,
    pub value: fn(&E::Model) -> CursorValue,
}

/// One page of rows, each with its cursor.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<(Cursor, T)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

impl<T> Page<T> {
    pub fn map<U>(self, f: impl Fn(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(|(c, t)| (c, f(t))).collect(),
            has_next_page: self.has_next_page,
            has_previous_page: self.has_previous_page,
        }
    }

    /// [`Page::map`] with a conversion that can fail (a row that does not decode).
    pub fn try_map<U, E>(self, f: impl Fn(T) -> Result<U, E>) -> Result<Page<U>, E> {
        let items = self.items.into_iter().map(|(c, t)| f(t).map(|u| (c, u))).collect::<Result<_, E>>()?;
        Ok(Page { items, has_next_page: self.has_next_page, has_previous_page: self.has_previous_page })
    }
}

/// Fetches one page of `select` (already filtered by tenant and scope) in the order of
/// `sort`, continuing from the request's cursor.
pub async fn fetch<C, E>(
    conn: &C,
    select: Select<E>,
    sort: &SortKey<E>,
    tiebreak: &Tiebreak<E>,
    request: &PageRequest,
) -> StoreResult<Page<E::Model>>
where
    C: ConnectionTrait,
    E: EntityTrait,
{
    fetch_ranked(conn, select, None, sort, tiebreak, request).await
}

/// [`fetch`], ordered first by `rank` when there is one.
pub async fn fetch_ranked<C, E>(
    conn: &C,
    select: Select<E>,
    rank: Option<&Rank<E>>,
    sort: &SortKey<E>,
    tiebreak: &Tiebreak<E>,
    request: &PageRequest,
) -> StoreResult<Page<E::Model>>
where
    C: ConnectionTrait,
    E: EntityTrait,
{
    let backward = request.backward();
    let limit = request.limit();
    let turn = |d: Direction| if backward { d.flipped() } else { d };
    let direction = turn(sort.direction);
    let start = if backward { request.before.as_ref() } else { request.after.as_ref() };
    let mut select = select;
    if let Some(cursor) = start {
        let mut after = after_condition(sort.column, tiebreak.column, direction, cursor);
        if let (Some(rank), Some(r)) = (rank, cursor.rank) {
            let beyond = match turn(rank.direction) {
                Direction::Asc => sea_query::ExprTrait::gt(rank.expr.clone(), r),
                Direction::Desc => sea_query::ExprTrait::lt(rank.expr.clone(), r),
            };
            after = Condition::any()
                .add(beyond)
                .add(Condition::all().add(sea_query::ExprTrait::eq(rank.expr.clone(), r)).add(after));
        }
        select = select.filter(after);
    }
    if let Some(rank) = rank {
        select = select.order_by(rank.expr.clone(), turn(rank.direction).order());
    }
    let mut rows = select
        .order_by(sort.column, direction.order())
        .order_by(tiebreak.column, direction.order())
        .limit(limit + 1)
        .all(conn)
        .await?;
    let more = rows.len() as u64 > limit;
    rows.truncate(limit as usize);
    if backward {
        rows.reverse();
    }
    let items = rows
        .into_iter()
        .map(|row| {
            let cursor = Cursor {
                sort: sort.name.to_owned(),
                key: (sort.value)(&row),
                tiebreak: (tiebreak.value)(&row),
                rank: rank.map(|rank| (rank.value)(&row)),
            };
            (cursor, row)
        })
        .collect();
    Ok(Page {
        items,
        has_next_page: if backward { request.before.is_some() } else { more },
        has_previous_page: if backward { more } else { request.after.is_some() },
    })
}

/// Rows strictly after the cursor in `direction`: `(key, tiebreak) > (k, t)` spelled out
/// so that both engines use the index on the sort key.
fn after_condition<Col: ColumnTrait>(key: Col, tiebreak: Col, direction: Direction, cursor: &Cursor) -> Condition {
    let k: Value = cursor.key.clone().into();
    let t: Value = cursor.tiebreak.clone().into();
    let (key_beyond, tie_beyond) = match direction {
        Direction::Asc => (key.gt(k.clone()), tiebreak.gt(t)),
        Direction::Desc => (key.lt(k.clone()), tiebreak.lt(t)),
    };
    Condition::any().add(key_beyond).add(Condition::all().add(key.eq(k)).add(tie_beyond))
}
