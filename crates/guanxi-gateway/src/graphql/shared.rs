//! Input types every list shares: text, id and time filters and the order direction.

use async_graphql::{Enum, ID, InputObject};
use chrono::{DateTime, Utc};
use guanxi_store::filter::{IdFilter as StoreIdFilter, TextFilter, TimeFilter};
use guanxi_store::page::Direction;

use super::error::ApiError;
use super::relay::expect_id;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum OrderDirection {
    Asc,
    Desc,
}

impl From<OrderDirection> for Direction {
    fn from(d: OrderDirection) -> Self {
        match d {
            OrderDirection::Asc => Direction::Asc,
            OrderDirection::Desc => Direction::Desc,
        }
    }
}

/// Matches a text field. All given operators must hold. Matching ignores ASCII case.
#[derive(InputObject, Clone, Default, Debug)]
pub struct StringFilter {
    pub eq: Option<String>,
    pub neq: Option<String>,
    #[graphql(name = "in")]
    pub any_of: Option<Vec<String>>,
    /// A LIKE pattern: `%` any run of characters, `_` one character.
    pub like: Option<String>,
    pub starts_with: Option<String>,
    pub contains: Option<String>,
    pub is_null: Option<bool>,
}

impl StringFilter {
    pub fn to_store(&self) -> TextFilter {
        TextFilter {
            eq: self.eq.clone(),
            neq: self.neq.clone(),
            any_of: self.any_of.clone(),
            like: self.like.clone(),
            starts_with: self.starts_with.clone(),
            contains: self.contains.clone(),
            is_null: self.is_null,
        }
    }
}

/// Matches a reference to another record by its global id.
#[derive(InputObject, Clone, Default, Debug)]
pub struct IdFilter {
    pub eq: Option<ID>,
    #[graphql(name = "in")]
    pub any_of: Option<Vec<ID>>,
    pub is_null: Option<bool>,
}

impl IdFilter {
    pub fn to_store(&self, kind: &str) -> Result<StoreIdFilter, ApiError> {
        Ok(StoreIdFilter {
            eq: self.eq.as_ref().map(|id| expect_id(id, kind)).transpose()?,
            any_of: self
                .any_of
                .as_ref()
                .map(|ids| ids.iter().map(|id| expect_id(id, kind)).collect::<Result<Vec<_>, _>>())
                .transpose()?,
            is_null: self.is_null,
        })
    }
}

/// Matches a point in time.
#[derive(InputObject, Clone, Default, Debug)]
pub struct TimeRange {
    pub gt: Option<DateTime<Utc>>,
    pub gte: Option<DateTime<Utc>>,
    pub lt: Option<DateTime<Utc>>,
    pub lte: Option<DateTime<Utc>>,
}

impl TimeRange {
    pub fn to_store(&self) -> TimeFilter {
        TimeFilter { gt: self.gt, gte: self.gte, lt: self.lt, lte: self.lte }
    }
}
