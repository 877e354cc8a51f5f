//! The customer 360 view: the card with its summary figures, contacts, timeline and history in one place.

use crate::graphql::context::{actor, require, state};
use crate::graphql::customers::contact::{Contact, contact_connection};
use crate::graphql::customers::customer::Customer;
use crate::graphql::customers::customer::Money;
use crate::graphql::error::ApiResult;
use crate::graphql::platform::audit::ChangeEvent;
use crate::graphql::relay::{Conn, TotalCount, connection, page_request};
use async_graphql::{Context, Object, SimpleObject};
use chrono::{DateTime, Utc};
use guanxi_domain::customers::customer::Customer as DomainCustomer;
use guanxi_domain::platform::access::Permission;
use rust_decimal::Decimal;

// ---------------------------------------------------------------------------------------
// 360

/// What a company knows about one customer, in one place.
pub struct Customer360(pub(crate) DomainCustomer);

/// Key figures of the 360 view; each counts what the caller may see.
#[derive(SimpleObject)]
pub struct CustomerSummary {
    contact_count: u64,
    last_interaction_at: Option<DateTime<Utc>>,
    next_follow_up_at: Option<DateTime<Utc>>,
    open_opportunity_count: u64,
    open_opportunity_amount: Money,
    won_amount: Money,
    /// Work orders not yet completed or cancelled, of all the caller sees.
    open_work_order_count: u64,
    work_order_count: u64,
    /// When the latest work order was completed (the last service).
    last_service_at: Option<DateTime<Utc>>,
    /// The average satisfaction (1–5) of the rated work orders, to two places.
    avg_satisfaction: Option<f64>,
    outstanding_receivables: Money,
    /// Confirmed sales orders (not cancelled) the caller may see, and their amount, tax
    /// included.
    order_count: u64,
    sales_amount: Money,
    last_deal_at: Option<DateTime<Utc>>,
    /// Contracts in force or completed the caller may see, what they were signed for and
    /// what was received on them (`outstandingReceivables`: what contracts in force still
    /// owe, each counted at least zero).
    contract_count: u64,
    signed_amount: Money,
    received_amount: Money,
    /// Issued invoices the caller may see (tax included).
    invoiced_amount: Money,
}

#[Object]
impl Customer360 {
    async fn customer(&self) -> Customer {
        Customer(self.0.clone())
    }

    /// Each figure is read only when asked for.
    async fn summary(&self, ctx: &Context<'_>) -> ApiResult<CustomerSummary> {
        let actor = actor(ctx)?;
        let asked = |fields: &[&str]| {
            let selection = ctx.look_ahead();
            fields.iter().any(|f| selection.field(f).exists())
        };
        let contact_count = if actor.may(Permission::ContactRead) && asked(&["contactCount"]) {
            let filter = guanxi_store::customers::contact::ContactFilter {
                customer_id: Some(guanxi_store::filter::IdFilter { eq: Some(self.0.id.uuid()), ..Default::default() }),
                ..Default::default()
            };
            guanxi_store::customers::contact::count(
                state(ctx).db.connection(),
                actor.tenant_id,
                crate::graphql::loaders::contact_scope(actor),
                &filter,
                None,
            )
            .await?
        } else {
            0
        };
        let deals = if actor.may(Permission::OpportunityRead)
            && asked(&["openOpportunityCount", "openOpportunityAmount", "wonAmount"])
        {
            let filter = guanxi_store::sales::opportunity::OpportunityFilter {
                customer_id: Some(guanxi_store::filter::IdFilter { eq: Some(self.0.id.uuid()), ..Default::default() }),
                ..Default::default()
            };
            guanxi_store::sales::opportunity::totals(
                state(ctx).db.connection(),
                actor.tenant_id,
                crate::graphql::loaders::opportunity_scope(actor),
                &filter,
            )
            .await?
        } else {
            guanxi_store::sales::opportunity::StatusTotals::default()
        };
        let sales = if actor.may(Permission::OrderRead) && asked(&["orderCount", "salesAmount"]) {
            let id = self.0.id.uuid();
            let scope = crate::graphql::trade::order::order_scope(actor);
            let mut by_customer = guanxi_store::trade::order::sales_by_customer(
                state(ctx).db.connection(),
                actor.tenant_id,
                scope,
                &[id],
            )
            .await?;
            by_customer.remove(&id).unwrap_or_default()
        } else {
            (0, Decimal::ZERO)
        };
        let money_asked = asked(&["contractCount", "signedAmount", "receivedAmount", "outstandingReceivables"]);
        let contracts = if actor.may(Permission::ContractRead) && money_asked {
            let id = self.0.id.uuid();
            let scope = crate::graphql::finance::contract::contract_report_scope(actor);
            let mut by_customer = guanxi_store::finance::contract::figures_by_customer(
                state(ctx).db.connection(),
                actor.tenant_id,
                scope,
                &[id],
            )
            .await?;
            by_customer.remove(&id).unwrap_or_default()
        } else {
            guanxi_store::finance::contract::Figures::default()
        };
        let invoiced = if asked(&["invoicedAmount"]) {
            crate::graphql::finance::invoice::issued_to(ctx, actor, self.0.id.uuid()).await?
        } else {
            Decimal::ZERO
        };
        let service = if actor.may(Permission::WorkOrderRead)
            && asked(&["openWorkOrderCount", "workOrderCount", "lastServiceAt", "avgSatisfaction"])
        {
            let id = self.0.id.uuid();
            let scope = crate::graphql::service::work_order::work_order_scope(actor);
            let conn = state(ctx).db.connection();
            let mut by_customer =
                guanxi_store::service::work_order_report::summaries(conn, actor.tenant_id, scope, &[id]).await?;
            by_customer.remove(&id).unwrap_or_default()
        } else {
            guanxi_store::service::work_order_report::ServiceSummary::default()
        };
        Ok(CustomerSummary {
            open_work_order_count: service.open as u64,
            work_order_count: service.total as u64,
            last_service_at: service.last_service_at,
            avg_satisfaction: service.avg_satisfaction.map(|s| (s * 100.0).round() / 100.0),
            invoiced_amount: Money::cny(invoiced),
            contract_count: contracts.count,
            signed_amount: Money::cny(contracts.signed),
            received_amount: Money::cny(contracts.received),
            order_count: sales.0,
            sales_amount: Money::cny(sales.1),
            last_deal_at: self.0.last_deal_at,
            contact_count,
            last_interaction_at: self.0.last_interaction_at,
            next_follow_up_at: self.0.next_follow_up_at,
            open_opportunity_count: deals.open_count,
            open_opportunity_amount: Money::cny(guanxi_domain::sales::opportunity::from_fen(deals.open_fen)),
            won_amount: Money::cny(guanxi_domain::sales::opportunity::from_fen(deals.won_fen)),
            outstanding_receivables: Money::cny(contracts.outstanding),
        })
    }

    /// The customer's contacts the caller may see, by name.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn contacts(&self, ctx: &Context<'_>, first: Option<i32>, after: Option<String>) -> ApiResult<Conn<Contact>> {
        require(ctx, Permission::ContactRead)?;
        contact_connection(ctx, Some(self.0.id.uuid()), None, first, after).await
    }

    /// The customer's deals the caller may see, most recently updated first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn opportunities(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<Vec<crate::graphql::sales::opportunity::StageKind>>,
    ) -> ApiResult<Conn<crate::graphql::sales::opportunity::Opportunity>> {
        require(ctx, Permission::OpportunityRead)?;
        let filter = guanxi_store::sales::opportunity::OpportunityFilter {
            status: status.map(|s| s.into_iter().map(Into::into).collect()),
            ..Default::default()
        };
        crate::graphql::sales::opportunity::opportunity_connection(
            ctx,
            Some(self.0.id.uuid()),
            Some(filter),
            (first, after, None, None),
            (guanxi_store::sales::opportunity::OpportunitySort::UpdatedAt, guanxi_store::page::Direction::Desc),
        )
        .await
    }

    /// The customer's quotes the caller may see (the latest revision of each), most
    /// recently updated first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn quotes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<Vec<crate::graphql::trade::quote::QuoteStatus>>,
    ) -> ApiResult<Conn<crate::graphql::trade::quote::Quote>> {
        require(ctx, Permission::QuoteRead)?;
        let filter = guanxi_store::trade::quote::QuoteFilter {
            customer_id: Some(guanxi_store::filter::IdFilter { eq: Some(self.0.id.uuid()), ..Default::default() }),
            status: status.map(|s| s.into_iter().map(Into::into).collect()),
            ..Default::default()
        };
        crate::graphql::trade::quote::quote_connection(ctx, filter, (first, after), None).await
    }

    /// The customer's sales orders the caller may see, most recently updated first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn sales_orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<Vec<crate::graphql::trade::order::OrderStatus>>,
    ) -> ApiResult<Conn<crate::graphql::trade::order::SalesOrder>> {
        require(ctx, Permission::OrderRead)?;
        let filter = guanxi_store::trade::order::OrderFilter {
            customer_id: Some(guanxi_store::filter::IdFilter { eq: Some(self.0.id.uuid()), ..Default::default() }),
            status: status.map(|s| s.into_iter().map(Into::into).collect()),
            ..Default::default()
        };
        crate::graphql::trade::order::order_connection(ctx, filter, (first, after), None).await
    }

    /// The customer's contracts the caller may see, most recently updated first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn contracts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<Vec<crate::graphql::finance::contract::ContractStatus>>,
    ) -> ApiResult<Conn<crate::graphql::finance::contract::Contract>> {
        let filter = guanxi_store::finance::contract::ContractFilter {
            customer_id: Some(guanxi_store::filter::IdFilter { eq: Some(self.0.id.uuid()), ..Default::default() }),
            status: status.map(|s| s.into_iter().map(Into::into).collect()),
            ..Default::default()
        };
        crate::graphql::finance::contract::contract_connection(ctx, filter, (first, after), None).await
    }

    /// The customer's invoice requests and invoices the caller may see, newest first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn invoices(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<Vec<crate::graphql::finance::invoice::InvoiceStatus>>,
    ) -> ApiResult<Conn<crate::graphql::finance::invoice::Invoice>> {
        let filter = guanxi_store::finance::invoice::InvoiceFilter {
            customer_id: Some(self.0.id.uuid()),
            status: status.map(|s| s.into_iter().map(Into::into).collect()),
            ..Default::default()
        };
        let direction = crate::graphql::shared::OrderDirection::Desc;
        crate::graphql::finance::invoice::invoice_connection(ctx, filter, (first, after), direction).await
    }

    /// The customer's billing profiles (开票信息), the default first.
    async fn billing_profiles(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::finance::invoice::BillingProfile>> {
        require(ctx, Permission::InvoiceRead)?;
        crate::graphql::finance::invoice::profiles_of(ctx, self.0.id.uuid()).await
    }

    /// The earliest installment still owed on the customer's contracts the caller may see
    /// (overdue ones first), or null.
    async fn next_installment(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Option<crate::graphql::finance::receivable::OwedInstallment>> {
        crate::graphql::finance::receivable::next_installment(ctx, self.0.id.uuid()).await
    }

    /// The customer's open work orders the caller sees, newest first.
    async fn open_work_orders(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::service::work_order::WorkOrder>> {
        require(ctx, Permission::WorkOrderRead)?;
        crate::graphql::service::work_order::open_of(ctx, self.0.id.uuid()).await
    }

    /// The customer's work orders the caller sees, newest first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn work_orders(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        status: Option<Vec<crate::graphql::service::work_order::WorkOrderStatus>>,
    ) -> ApiResult<Conn<crate::graphql::service::work_order::WorkOrder>> {
        let filter = guanxi_store::service::work_order::WorkOrderFilter {
            customer_id: Some(guanxi_store::filter::IdFilter { eq: Some(self.0.id.uuid()), ..Default::default() }),
            status: status.map(|s| s.into_iter().map(Into::into).collect()),
            ..Default::default()
        };
        let order = (
            crate::graphql::service::work_order::WorkOrderSortField::CreatedAt,
            crate::graphql::shared::OrderDirection::Desc,
        );
        crate::graphql::service::work_order::work_order_connection(ctx, filter, (first, after), order).await
    }

    /// The products the customer owns (客户资产), oldest first.
    async fn assets(&self, ctx: &Context<'_>) -> ApiResult<Vec<crate::graphql::service::asset::Asset>> {
        require(ctx, Permission::WorkOrderRead)?;
        crate::graphql::service::asset::assets_of(ctx, self.0.id.uuid()).await
    }

    /// The customer's service contracts (服务合同), latest ending first.
    async fn service_contracts(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::service::asset::ServiceContract>> {
        require(ctx, Permission::WorkOrderRead)?;
        crate::graphql::service::asset::service_contracts_of(ctx, self.0.id.uuid()).await
    }

    /// Interactions and changes to the card, newest first (filter with `kinds`).
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn timeline(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        kinds: Option<Vec<crate::graphql::activity::interaction::TimelineKind>>,
    ) -> ApiResult<crate::graphql::activity::interaction::TimelineConnection> {
        crate::graphql::activity::interaction::customer_timeline(ctx, self.0.id, first, after, kinds).await
    }

    /// Changes to the customer card, newest first.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn history(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<Conn<ChangeEvent>> {
        let actor = actor(ctx)?.clone();
        let request = page_request(first, after, None, None, "SEQ")?;
        let db = state(ctx).db.clone();
        let id = self.0.id.uuid();
        let page = guanxi_store::platform::audit::history(
            db.connection(),
            actor.tenant_id,
            guanxi_store::customers::customer::ENTITY,
            id,
            &request,
        )
        .await?;
        let total = TotalCount::new(move |limit| {
            let db = db.clone();
            Box::pin(async move {
                guanxi_store::platform::audit::count_for(
                    db.connection(),
                    actor.tenant_id,
                    guanxi_store::customers::customer::ENTITY,
                    id,
                    limit,
                )
                .await
            })
        });
        Ok(connection(page, total, ChangeEvent))
    }
}
