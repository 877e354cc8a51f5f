//! Lead conversion (线索转化): a lead becomes a contact and, when asked, a deal of a
//! customer — a new one (made by the caller through the duplicate check) or one the
//! caller already works — and its follow-ups move to that customer's timeline as
//! interactions (source `lead`, keyed by the follow-up's id, with their own authors),
//! all in the caller's transaction.

use guanxi_domain::customers::contact::{Contact, ContactFields, DecisionRole};
use guanxi_domain::entity::OwnerAndCustomer;
use guanxi_domain::ids::{ContactId, CustomerId, UserId};
use guanxi_domain::leads::lead::{Lead, check_convert};
use guanxi_domain::platform::access::{CustomerRule, ScopeRule};
use guanxi_domain::sales::opportunity::{Opportunity, OpportunityFields};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder};
use uuid::Uuid;

use crate::activity::interaction::{IngestRecord, Ingested};
use crate::entity::lead_activity;
use crate::error::StoreResult;
use crate::leads::lead::Leads;
use crate::platform::audit::Author;
use crate::repo;

/// The source of the interactions a conversion moves.
pub const SOURCE: &str = "lead";

/// Who converts, through which scopes (each the writing flavour).
#[derive(Clone, Copy, Debug)]
pub struct Scopes {
    pub lead: ScopeRule,
    pub contact: OwnerAndCustomer,
    pub deal: OwnerAndCustomer,
    pub customer: CustomerRule,
}

/// What a conversion made.
pub struct Converted {
    pub lead: Lead,
    pub contact: Contact,
    pub deal: Option<Opportunity>,
    /// Follow-ups moved to the customer's timeline.
    pub moved: u64,
}

/// The lead at the version read, if it may still be converted.
pub async fn convertible<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    rule: ScopeRule,
    (id, expected_version): (Uuid, i32),
) -> StoreResult<Lead> {
    let lead = repo::live_current::<Leads, C>(conn, author.tenant_id, rule, id, expected_version).await?;
    crate::leads::lead::refuse_pooled(&lead, "claim it from the pool first")?;
    check_convert(lead.status)?;
    Ok(lead)
}

/// The contact a lead becomes: its name, phone (a mobile number as the mobile, else the
/// office phone), email, and what else it said in the notes.
fn contact_fields(lead: &Lead) -> ContactFields {
    let f = &lead.fields;
    let mobile = f.phone.clone().filter(|p| p.len() == 11 && p.starts_with('1'));
    let office = f.phone.clone().filter(|_| mobile.is_none());
    let notes: Vec<String> =
        [f.wechat.as_ref().map(|w| format!("微信：{w}")), f.notes.clone()].into_iter().flatten().collect();
    ContactFields {
        name: f.name.clone(),
        gender: None,
        birthday: None,
        department: None,
        title: None,
        manager_id: None,
        office_phone: office,
        mobile,
        email: f.email.clone(),
        home_phone: None,
        fax: None,
        hobbies: None,
        notes: (!notes.is_empty()).then(|| notes.join("\n")),
        decision_role: DecisionRole::Other,
    }
}

/// Converts `lead` (read by [`convertible`]) into a contact of `customer`, live and
/// writable by the caller, and a deal when `deal` is given, owned by `owner`; moves its
/// follow-ups to the customer's timeline and marks it CONVERTED.
pub async fn convert<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scopes: Scopes,
    lead: Lead,
    (customer, owner): (CustomerId, UserId),
    deal: Option<OpportunityFields>,
) -> StoreResult<Converted> {
    let tenant = author.tenant_id;
    // The deal is checked as createOpportunity checks it, its errors under `opportunity.`.
    let deal = deal
        .map(|fields| OpportunityFields { source: fields.source.or(lead.fields.source.clone()), ..fields }.check())
        .transpose()
        .map_err(|invalid| {
            let errors = invalid.0.into_iter().map(|mut e| {
                e.field = format!("opportunity.{}", e.field);
                e
            });
            guanxi_domain::Invalid(errors.collect())
        })?;
    let contact = crate::customers::contact::create(
        conn,
        author,
        scopes.contact,
        customer,
        contact_fields(&lead),
        (Some(owner), None),
        Default::default(),
    )
    .await?;
    // The deal comes from the lead's latest campaign, and the customer joins its campaigns.
    crate::marketing::member::carry_over(conn, author, lead.id.uuid(), customer.uuid()).await?;
    let campaign_id = match deal {
        Some(_) => crate::marketing::member::latest_campaign_of(conn, tenant, lead.id.uuid()).await?,
        None => None,
    };
    let deal = match deal {
        Some(fields) => Some(
            crate::sales::opportunity::create(
                conn,
                author,
                scopes.deal,
                crate::sales::opportunity::NewOpportunity {
                    customer_id: customer,
                    pipeline_id: None,
                    stage_id: None,
                    owner_id: Some(owner),
                    fields,
                    campaign_id,
                },
            )
            .await?,
        ),
        None => None,
    };
    let activities = lead_activity::Entity::find()
        .filter(lead_activity::Column::TenantId.eq(tenant.uuid()))
        .filter(lead_activity::Column::LeadId.eq(lead.id.uuid()))
        .order_by_asc(lead_activity::Column::OccurredAt)
        .all(conn)
        .await?;
    let contact_id: ContactId = contact.id;
    let records = activities
        .iter()
        .map(|a| {
            let fields = guanxi_domain::activity::interaction::InteractionFields {
                channel: crate::decode::Cell::of("lead_activities", a.id, "channel")
                    .text(&a.channel, guanxi_domain::activity::interaction::Channel::parse)?,
                occurred_at: a.occurred_at,
                content: a.content.clone(),
                outcome: a.outcome.clone(),
                next_follow_up_at: a.next_follow_up_at,
                contact_ids: vec![contact_id],
                latitude: None,
                longitude: None,
            };
            Ok(IngestRecord {
                source: SOURCE.to_owned(),
                external_id: a.id.to_string(),
                author_id: a.author_id.map(UserId::from_uuid),
                parsed: Ok((customer, fields)),
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    let mut moved = 0;
    if !records.is_empty() {
        for outcome in crate::activity::interaction::ingest(conn, author, scopes.customer, records).await? {
            match outcome {
                Ingested::Created(_) => moved += 1,
                Ingested::Existing(_) => {}
                Ingested::Rejected(invalid) => return Err(invalid.into()),
            }
        }
        lead_activity::Entity::delete_many()
            .filter(lead_activity::Column::TenantId.eq(tenant.uuid()))
            .filter(lead_activity::Column::LeadId.eq(lead.id.uuid()))
            .exec(conn)
            .await?;
    }
    let ids = (customer.uuid(), Some(contact.id.uuid()), deal.as_ref().map(|d| d.id.uuid()));
    let lead = crate::leads::lead::mark_converted(conn, author, &lead, ids).await?;
    Ok(Converted { lead, contact, deal, moved })
}
