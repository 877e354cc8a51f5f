//! Customer value over GraphQL: a customer's RFM scores and segment (`Customer.value`),
//! its lifetime value to date (`Customer.lifetimeValue`), the customer list's `rfm`
//! filter, the segments' sizes, and the refresh the nightly job also runs.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi_domain::analytics::Measure as DomainMeasure;
use guanxi_domain::analytics::rfm::{CustomerValue as DomainValue, Segment as DomainSegment, check_scores};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::platform::access::{Permission, ScopeRule};
use guanxi_domain::trade::money::from_e4;
use guanxi_store::analytics::customer_value::RfmFilter;
use guanxi_store::analytics::stats::{Group, StatsFilter};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use crate::graphql::context::{require, state};
use crate::graphql::customers::customer::Money;
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::loaders::ScopedLoader;
use crate::graphql::trade::document::loaders;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainSegment", name = "RfmSegment")]
pub enum Segment {
    /// 重要价值客户: recency, frequency and monetary all high (4 or 5)
    ImportantValue,
    /// 重要发展客户: recent and large, not yet frequent
    ImportantDevelop,
    /// 重要保持客户: frequent and large, gone quiet
    ImportantKeep,
    /// 重要挽留客户: large, neither recent nor frequent
    ImportantRetain,
    /// 一般价值客户: recent and frequent, small
    GeneralValue,
    /// 一般发展客户: recent, neither frequent nor large
    GeneralDevelop,
    /// 一般保持客户: frequent, neither recent nor large
    GeneralKeep,
    /// 一般挽留客户: none of the three high
    GeneralRetain,
}

pub struct CustomerValue(DomainValue);

/// A paying customer's value by RFM, as of the last refresh (nightly, or
/// `refreshCustomerValues`). Each score (1 to 5) is the customer's quintile among the
/// tenant's paying customers; equal figures get equal scores.
#[Object]
impl CustomerValue {
    async fn segment(&self) -> Segment {
        self.0.segment.into()
    }
    /// The segment in Chinese, e.g. 重要价值客户.
    async fn segment_label(&self) -> &'static str {
        self.0.segment.label_zh()
    }
    /// 5: paid most recently.
    async fn recency_score(&self) -> i16 {
        self.0.scores[0]
    }
    /// 5: the most approved receipts in the last 365 days.
    async fn frequency_score(&self) -> i16 {
        self.0.scores[1]
    }
    /// 5: the most money received in the last 365 days.
    async fn monetary_score(&self) -> i16 {
        self.0.scores[2]
    }
    /// The figures below count every receipt of the customer, so they are shown only to
    /// callers who see all receipts (null otherwise).
    async fn first_received_on(&self, ctx: &Context<'_>) -> ApiResult<Option<NaiveDate>> {
        Ok(sees_all_receipts(ctx)?.then_some(self.0.first_received_on))
    }
    async fn last_received_on(&self, ctx: &Context<'_>) -> ApiResult<Option<NaiveDate>> {
        Ok(sees_all_receipts(ctx)?.then_some(self.0.last_received_on))
    }
    /// Approved receipts in the 365 days up to the refresh.
    async fn receipts_last_year(&self, ctx: &Context<'_>) -> ApiResult<Option<i64>> {
        Ok(sees_all_receipts(ctx)?.then_some(self.0.receipts_last_year))
    }
    async fn received_last_year(&self, ctx: &Context<'_>) -> ApiResult<Option<Money>> {
        Ok(sees_all_receipts(ctx)?.then(|| Money::cny(self.0.received_last_year)))
    }
    /// Every approved receipt up to the refresh.
    async fn received_to_date(&self, ctx: &Context<'_>) -> ApiResult<Option<Money>> {
        Ok(sees_all_receipts(ctx)?.then(|| Money::cny(self.0.received_to_date)))
    }
    async fn computed_at(&self) -> DateTime<Utc> {
        self.0.computed_at
    }
}

/// Whether the caller sees every receipt (`receivable.read` over all owners): the stored
/// figures count them all, so only such callers see them. The scores and the segment
/// are the customer's attributes, shown with the customer.
fn sees_all_receipts(ctx: &Context<'_>) -> ApiResult<bool> {
    let actor = crate::graphql::context::actor(ctx)?;
    Ok(actor.may(Permission::ReceivableRead) && EntityKind::receipt_rules(actor).owner == ScopeRule::All)
}

/// A customer's stored value, by customer id (the customer itself was already read
/// through the caller's scope).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CustomerValueKey(pub Uuid);

impl Loader<CustomerValueKey> for ScopedLoader {
    type Value = DomainValue;
    type Error = ApiError;

    async fn load(&self, keys: &[CustomerValueKey]) -> Result<HashMap<CustomerValueKey, DomainValue>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found =
            guanxi_store::analytics::customer_value::of_customers(self.db.connection(), self.actor.tenant_id, &ids)
                .await?;
        Ok(found.into_iter().map(|v| (CustomerValueKey(v.customer_id), v)).collect())
    }
}

/// The money a customer has paid to date, through the caller's scope for receipts.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LifetimeValueKey(pub Uuid);

impl Loader<LifetimeValueKey> for ScopedLoader {
    type Value = Decimal;
    type Error = ApiError;

    async fn load(&self, keys: &[LifetimeValueKey]) -> Result<HashMap<LifetimeValueKey, Decimal>, ApiError> {
        let (permission, scope) = super::stats::access(&self.actor, DomainMeasure::MoneyReceived);
        if !self.actor.may(permission) {
            return Ok(HashMap::new());
        }
        // Up to today (Shanghai): a receipt dated ahead is not value yet.
        let tomorrow = guanxi_domain::customers::customer::shanghai_date(Utc::now()) + chrono::Duration::days(1);
        let midnight = |day: NaiveDate| day.and_time(chrono::NaiveTime::MIN).and_utc() - chrono::Duration::hours(8);
        let filter = StatsFilter {
            from: Some(midnight(NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or(tomorrow))),
            to: Some(midnight(tomorrow)),
            customers: Some(keys.iter().map(|k| k.0).collect()),
            ..StatsFilter::default()
        };
        let cells = guanxi_store::analytics::stats::cells(
            self.db.connection(),
            self.actor.tenant_id,
            (DomainMeasure::MoneyReceived, scope),
            &filter,
            &[Group::Customer],
        )
        .await?;
        let mut out: HashMap<LifetimeValueKey, Decimal> = keys.iter().map(|k| (*k, Decimal::ZERO)).collect();
        for cell in cells {
            if let Some(id) = cell.keys[0].as_deref().and_then(|k| k.parse().ok()) {
                out.insert(LifetimeValueKey(id), cell.amount);
            }
        }
        Ok(out)
    }
}

/// `Customer.value`: null for a customer not scored (yet: the refresh after its first
/// receipt scores it).
pub async fn value_of(ctx: &Context<'_>, customer: Uuid) -> ApiResult<Option<CustomerValue>> {
    Ok(loaders(ctx)?.load_one(CustomerValueKey(customer)).await?.map(CustomerValue))
}

/// `Customer.lifetimeValue`: null for a caller without `receivable.read`.
pub async fn lifetime_of(ctx: &Context<'_>, customer: Uuid) -> ApiResult<Option<Money>> {
    Ok(loaders(ctx)?.load_one(LifetimeValueKey(customer)).await?.map(Money::cny))
}

/// Narrows a customer list by RFM: any of the listed scores and segments (each list
/// open when absent); customers not yet scored match none.
#[derive(InputObject, Default, Clone)]
pub struct CustomerRfmFilter {
    /// Recency scores, 1 to 5.
    pub recency: Option<Vec<i16>>,
    pub frequency: Option<Vec<i16>>,
    pub monetary: Option<Vec<i16>>,
    pub segment: Option<Vec<Segment>>,
}

impl CustomerRfmFilter {
    /// The store's filter, after checking every score.
    pub fn to_store(&self) -> ApiResult<RfmFilter> {
        let scores = |field: &str, scores: &Option<Vec<i16>>| -> ApiResult<Vec<i16>> {
            let scores = scores.clone().unwrap_or_default();
            check_scores(field, &scores).map_err(|e| ApiError::BadUserInput(e.to_string()))?;
            Ok(scores)
        };
        Ok(RfmFilter {
            recency: scores("rfm.recency", &self.recency)?,
            frequency: scores("rfm.frequency", &self.frequency)?,
            monetary: scores("rfm.monetary", &self.monetary)?,
            segments: self.segment.iter().flatten().map(|s| (*s).into()).collect(),
        })
    }
}

/// How many of the caller's customers a segment holds.
#[derive(SimpleObject)]
pub struct SegmentCount {
    segment: Segment,
    label: &'static str,
    customers: i64,
    /// What they have paid to date, as of the refresh; null for a caller who does not see
    /// every receipt.
    received_to_date: Option<Money>,
}

#[derive(Default)]
pub struct CustomerValueQuery;

#[Object]
impl CustomerValueQuery {
    /// The RFM segments of the customers the caller sees, every segment listed (empty ones
    /// with zero), as of the last refresh (`customer.read`).
    async fn customer_segments(&self, ctx: &Context<'_>) -> ApiResult<Vec<SegmentCount>> {
        let actor = require(ctx, Permission::CustomerRead)?;
        let money = sees_all_receipts(ctx)?;
        let found = guanxi_store::analytics::customer_value::segments(
            state(ctx).db.connection(),
            actor.tenant_id,
            actor.customer_rule(),
        )
        .await?;
        Ok(DomainSegment::ALL
            .iter()
            .map(|segment| {
                let (customers, life) =
                    found.iter().find(|(s, ..)| s == segment.as_str()).map_or((0, 0), |(_, n, life)| (*n, *life));
                SegmentCount {
                    segment: (*segment).into(),
                    label: segment.label_zh(),
                    customers,
                    received_to_date: money.then(|| Money::cny(from_e4(life))),
                }
            })
            .collect())
    }
}

/// What a refresh did.
#[derive(SimpleObject)]
pub struct RefreshCustomerValuesPayload {
    /// Paying customers scored; null when refused.
    scored: Option<u64>,
    user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct CustomerValueMutation;

#[Object]
impl CustomerValueMutation {
    /// Scores every paying customer of the tenant by RFM as of today (`settings.manage`),
    /// as the nightly job does: one set-based statement. While a refresh runs, another
    /// gets a CONFLICT.
    async fn refresh_customer_values(&self, ctx: &Context<'_>) -> ApiResult<RefreshCustomerValuesPayload> {
        let actor = require(ctx, Permission::SettingsManage)?;
        let (db, tenant, now) = (state(ctx).db.clone(), actor.tenant_id, Utc::now());
        let today = guanxi_domain::customers::customer::shanghai_date(now);
        // Spawned, so a client that hangs up does not leave the lease held.
        let writes = (tenant, crate::jobs::Writes::Derived);
        let run = tokio::spawn(crate::jobs::leased(db, writes, crate::jobs::CUSTOMER_VALUES, move |tx| {
            Box::pin(guanxi_store::analytics::customer_value::refresh(tx, tenant, today, now))
        }));
        match run.await.map_err(ApiError::internal)?? {
            Some(scored) => Ok(RefreshCustomerValuesPayload { scored: Some(scored), user_errors: vec![] }),
            None => {
                let message = "a refresh of customer values is under way: try again when it ends";
                let error = UserError::new("tenant", guanxi_domain::ErrorCode::Conflict, message);
                Ok(RefreshCustomerValuesPayload { scored: None, user_errors: vec![error] })
            }
        }
    }
}
