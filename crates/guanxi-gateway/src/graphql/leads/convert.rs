//! Lead conversion (线索转化) and its report. `convertLead` makes, in one transaction, a
//! customer (through the duplicate check createCustomer uses — a blocked duplicate
//! refuses the conversion and names the matches the caller may see) or takes one the
//! caller already works, a contact and, when asked, a deal; the lead's follow-ups move to
//! the customer's timeline. `leadConversionReport` counts leads, qualified, converted and
//! won amounts by source and campaign.

use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, NaiveDate, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::customers::customer::CustomerKind;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::CustomerId;
use guanxi_domain::leads::lead::Lead as DomainLead;
use guanxi_domain::platform::access::Permission;
use guanxi_domain::sales::opportunity::OpportunityFields;
use guanxi_store::leads::convert::Scopes;
use rust_decimal::Decimal;
use serde::Serialize;

use super::lead::{LEAD, Lead, customer_input, lead_scope};
use crate::graphql::context::{author, require, state};
use crate::graphql::customers::customer::{matches_for, visible_ids};
use crate::graphql::customers::customer_input::{DuplicateMatch, blank_fields};
use crate::graphql::customers::customer_mutation::create_checked;
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::mutation::{Idempotent, reload_scoped, write_noting};
use crate::graphql::relay::input_id;

/// The deal a conversion opens.
#[derive(InputObject, Serialize)]
pub struct ConvertDealInput {
    pub name: String,
    /// CNY, exact to the fen.
    pub amount: Decimal,
    pub expected_close_date: Option<NaiveDate>,
}

#[derive(InputObject, Serialize)]
pub struct ConvertLeadInput {
    pub id: ID,
    pub expected_version: i32,
    /// Attach the lead to this customer (one the caller may write to) instead of making
    /// a new one.
    pub customer_id: Option<ID>,
    /// The new customer's name; left out, the lead's company, else its name.
    pub customer_name: Option<String>,
    /// The deal to open; left out, none.
    pub opportunity: Option<ConvertDealInput>,
    /// Go ahead although the duplicate check warns (a blocking match still refuses).
    #[graphql(default)]
    pub confirm_duplicates: bool,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// What a conversion made: the lead (CONVERTED), through which its customer, contact and
/// deal; or why not, with the likely duplicates the check found.
#[derive(SimpleObject)]
pub struct ConvertLeadPayload {
    lead: Option<Lead>,
    user_errors: Vec<UserError>,
    /// Likely duplicates of the customer the conversion would make; a match the caller
    /// may not see is listed without its customer.
    duplicates: Vec<DuplicateMatch>,
}

/// One source and campaign of the conversion report.
#[derive(SimpleObject)]
pub struct LeadConversionRow {
    source: Option<String>,
    campaign: Option<String>,
    leads: i64,
    /// QUALIFIED or CONVERTED.
    qualified: i64,
    converted: i64,
    /// converted / leads, in percent, two places.
    conversion_rate: Decimal,
    /// Won deals the leads became, in CNY (deals the caller may not see add nothing; null
    /// without `opportunity.read`).
    won_amount: Option<Decimal>,
}

#[derive(Default)]
pub struct ConvertMutation;

#[Object]
impl ConvertMutation {
    /// Converts a lead (`lead.convert`, plus `customer.create` for a new customer,
    /// `contact.write`, and `opportunity.write` for a deal): a customer (new, through the
    /// duplicate check, or the one named), a contact from the lead, a deal when asked, the
    /// lead's follow-ups moved to the customer's timeline, and the lead CONVERTED, all in
    /// one transaction.
    async fn convert_lead(&self, ctx: &Context<'_>, input: ConvertLeadInput) -> ApiResult<ConvertLeadPayload> {
        let actor = require(ctx, Permission::LeadConvert)?.clone();
        let existing = input.customer_id.is_some();
        let needs = [
            (!existing).then_some(Permission::CustomerCreate),
            Some(Permission::ContactWrite),
            input.opportunity.as_ref().map(|_| Permission::OpportunityWrite),
        ];
        if let Some(missing) = needs.into_iter().flatten().find(|p| !actor.may(*p)) {
            return Err(ApiError::Forbidden(format!("converting this way needs {missing}")));
        }
        let refused =
            |errors: Vec<UserError>| ConvertLeadPayload { lead: None, user_errors: errors, duplicates: vec![] };
        let id = match input_id("id", &input.id, LEAD) {
            Ok(id) => id,
            Err(e) => return Ok(refused(vec![e])),
        };
        let customer = match customer_input(input.customer_id.as_ref()) {
            Ok(c) => c.map(CustomerId::from_uuid),
            Err(e) => return Ok(refused(vec![e])),
        };
        let deal = input.opportunity.as_ref().map(|d| OpportunityFields {
            name: d.name.clone(),
            amount: d.amount,
            expected_close_date: d.expected_close_date,
            source: None,
            competitors: None,
            notes: None,
        });
        let writer = actor.writing();
        let scopes = Scopes {
            lead: lead_scope(&writer),
            contact: EntityKind::contact_rules(&writer),
            deal: EntityKind::opportunity_rules(&writer),
            customer: writer.customer_rule(),
        };
        let (author, tenant) = (author(ctx, &actor), actor.tenant_id);
        let (version, name, confirm) = (input.expected_version, input.customer_name.clone(), input.confirm_duplicates);
        let idempotent = Idempotent::new(&actor, "convertLead", input.idempotency_key.as_deref(), &input);
        let converter = actor.clone();
        let (result, matches) = write_noting(
            ctx,
            idempotent,
            move |tx, found: &mut Vec<_>| {
                Box::pin(async move {
                    let lead =
                        guanxi_store::leads::convert::convertible(tx, &author, scopes.lead, (id, version)).await?;
                    let owner = lead.owner_id.unwrap_or(converter.user_id);
                    let customer = match customer {
                        Some(customer) => {
                            let seen =
                                guanxi_store::customers::customer::find(tx, tenant, scopes.customer, customer.uuid())
                                    .await?;
                            if seen.is_none_or(|c| c.deleted_at.is_some()) {
                                let e =
                                    guanxi_domain::Invalid::one("customerId", ErrorCode::NotFound, "no such customer");
                                return Err(e.into());
                            }
                            customer
                        }
                        None => {
                            let fields = customer_fields(&lead, name);
                            let custom = Default::default();
                            match create_checked(tx, &converter, &author, fields, Some(owner), custom, confirm).await? {
                                Ok(created) => created.id,
                                Err(refusal) => {
                                    *found = refusal.duplicates;
                                    return Err(refusal.invalid.into());
                                }
                            }
                        }
                    };
                    let converted =
                        guanxi_store::leads::convert::convert(tx, &author, scopes, lead, (customer, owner), deal)
                            .await?;
                    Ok((converted.lead.id.uuid(), converted.lead))
                })
            },
            reload_scoped::<guanxi_store::leads::lead::Leads>(tenant, lead_scope(&actor)),
        )
        .await?;
        let duplicates = if matches.is_empty() {
            vec![]
        } else {
            let visible = visible_ids(ctx, &actor, &matches).await?;
            matches_for(matches, &visible)
        };
        Ok(match result {
            Ok(lead) => ConvertLeadPayload { lead: Some(Lead(lead)), user_errors: vec![], duplicates },
            Err(errors) => ConvertLeadPayload { lead: None, user_errors: errors, duplicates },
        })
    }
}

/// The customer a lead becomes: its company (else its name) or the name asked for, an
/// organisation when it has a company, with the lead's industry, region, source, phone
/// and email.
fn customer_fields(lead: &DomainLead, name: Option<String>) -> guanxi_domain::customers::customer::CustomerFields {
    let f = &lead.fields;
    let mut fields = blank_fields();
    fields.kind = if f.company.is_some() { CustomerKind::Organization } else { CustomerKind::Individual };
    fields.name = name.or_else(|| f.company.clone()).unwrap_or_else(|| f.name.clone());
    fields.industry = f.industry.clone();
    fields.region = f.region.clone();
    fields.source = f.source.clone();
    fields.main_phone = f.phone.clone();
    fields.email = f.email.clone();
    fields
}

#[derive(Default)]
pub struct ConversionQuery;

#[Object]
impl ConversionQuery {
    /// Leads created in `[from, to)` by source and campaign (`lead.read`, through the
    /// caller's `LEAD` scope): how many, how many qualified and converted, and what their
    /// deals won. Biggest sources first.
    async fn lead_conversion_report(
        &self,
        ctx: &Context<'_>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> ApiResult<Vec<LeadConversionRow>> {
        let actor = require(ctx, Permission::LeadRead)?;
        if to <= from || to - from > chrono::Duration::days(1_100) {
            return Err(ApiError::BadUserInput("a window of up to 1,100 days, `to` after `from`".into()));
        }
        let rules = (lead_scope(actor), crate::graphql::loaders::opportunity_scope(actor));
        let conn = state(ctx).db.connection();
        let rows = guanxi_store::leads::report::conversion(conn, actor.tenant_id, rules, (from, to)).await?;
        let sees_deals = actor.may(Permission::OpportunityRead);
        Ok(rows
            .into_iter()
            .map(|r| LeadConversionRow {
                conversion_rate: if r.leads == 0 {
                    Decimal::ZERO
                } else {
                    (Decimal::from(r.converted) * Decimal::from(100) / Decimal::from(r.leads))
                        .round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
                },
                won_amount: sees_deals.then(|| guanxi_domain::sales::opportunity::from_fen(r.won_fen)),
                source: r.source,
                campaign: r.campaign,
                leads: r.leads,
                qualified: r.qualified,
                converted: r.converted,
            })
            .collect())
    }
}
