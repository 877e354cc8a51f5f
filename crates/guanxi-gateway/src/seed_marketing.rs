//! The demo's marketing: a trade fair whose exhibitors (the A-level customers) and fair
//! leads are members, with two of the demo deals credited to it, so its return has
//! something to show; a live-stream webinar with its leads; and a Spring Festival care
//! plan of calls to the A-level customers.

use chrono::{Datelike, Duration, TimeZone, Utc};
use guanxi_domain::activity::calendar::EventKind;
use guanxi_domain::customers::customer::CustomerStatus;
use guanxi_domain::ids::{CustomerId, UserId};
use guanxi_domain::marketing::campaign::{CampaignFields, CampaignKind, CampaignStatus, MemberKind};
use guanxi_domain::marketing::care::{CarePlanFields, Segment};
use guanxi_domain::platform::access::{CustomerRule, ScopeRule};
use guanxi_store::customers::customer_search::CustomerFilter;
use guanxi_store::filter::{IdFilter, TextFilter};
use guanxi_store::leads::lead::LeadFilter;
use guanxi_store::marketing::member::MemberScope;
use guanxi_store::page::{Direction, PageRequest};
use guanxi_store::platform::audit::Author;
use guanxi_store::sales::opportunity::{OpportunityFilter, OpportunityScope, OpportunitySort};
use rust_decimal::Decimal;

const ALL: MemberScope = MemberScope { customers: Some(CustomerRule::ALL), leads: Some(ScopeRule::All) };

/// A demo campaign with the leads whose campaign text is `lead_campaign` as members.
async fn campaign<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    author: &Author,
    (fields, owner): (CampaignFields, UserId),
    lead_campaign: &str,
) -> anyhow::Result<guanxi_domain::marketing::campaign::Campaign> {
    let created = guanxi_store::marketing::campaign::create(tx, author, fields, Some(owner)).await?;
    let filter = LeadFilter { campaign: Some(lead_campaign.to_owned()), ..LeadFilter::default() };
    let order = guanxi_store::leads::lead::LeadOrder::CreatedAt(Direction::Asc);
    let leads =
        guanxi_store::leads::lead::list(tx, author.tenant_id, ScopeRule::All, &filter, order, &PageRequest::first(100))
            .await?;
    let ids: Vec<uuid::Uuid> = leads.items.iter().map(|(_, l)| l.id.uuid()).collect();
    if !ids.is_empty() {
        guanxi_store::marketing::member::add(tx, author, &created, ALL, ("leadIds", MemberKind::Lead, &ids)).await?;
    }
    Ok(created)
}

/// The demo campaigns, run by `owner`, and care plan; `credited` are the customers whose
/// deals came from the fair.
pub async fn demo_marketing<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    author: &Author,
    owner: UserId,
    credited: &[CustomerId],
) -> anyhow::Result<()> {
    let today = Utc::now().date_naive();
    let fair = CampaignFields {
        name: "2026 上海工博会".into(),
        kind: CampaignKind::Exhibition,
        status: CampaignStatus::Completed,
        starts_on: Some(today - Duration::days(60)),
        ends_on: Some(today - Duration::days(56)),
        budget: Decimal::new(80_000, 0),
        actual_cost: Decimal::new(6_523_000, 2),
        expected_revenue: Some(Decimal::new(500_000, 0)),
        description: Some("国家会展中心 8.1H 馆 C021 展位".into()),
    };
    // Members join before the fair is marked completed.
    let planned = CampaignFields { status: CampaignStatus::Active, ..fair.clone() };
    let created = campaign(tx, author, (planned, owner), "2026 工博会").await?;
    let exhibitors = CustomerFilter {
        level: Some(TextFilter { eq: Some("A".into()), ..TextFilter::default() }),
        ..CustomerFilter::default()
    };
    guanxi_store::marketing::member::add_customers_matching(tx, author, &created, CustomerRule::ALL, &exhibitors)
        .await?;
    let at = (created.id.uuid(), created.version);
    let created = guanxi_store::marketing::campaign::update(tx, author, at, fair, Some(owner)).await?;
    for customer in credited {
        let filter = OpportunityFilter {
            customer_id: Some(IdFilter { eq: Some(customer.uuid()), ..IdFilter::default() }),
            ..OpportunityFilter::default()
        };
        let order = (OpportunitySort::UpdatedAt, Direction::Asc);
        let deals = guanxi_store::sales::opportunity::list(
            tx,
            author.tenant_id,
            OpportunityScope::ALL,
            &filter,
            order,
            &PageRequest::first(10),
        )
        .await?;
        for (_, deal) in deals.items {
            let at = (deal.id.uuid(), deal.version);
            let campaign = Some(created.id.uuid());
            guanxi_store::marketing::campaign::set_deal_campaign(tx, author, OpportunityScope::ALL, at, campaign)
                .await?;
        }
    }
    let webinar = CampaignFields {
        name: "数字化转型直播".into(),
        kind: CampaignKind::Web,
        status: CampaignStatus::Active,
        starts_on: Some(today - Duration::days(7)),
        ends_on: Some(today + Duration::days(21)),
        budget: Decimal::new(20_000, 0),
        actual_cost: Decimal::new(12_000, 0),
        expected_revenue: None,
        description: Some("每周四晚 8 点，视频号直播".into()),
    };
    campaign(tx, author, (webinar, owner), "数字化转型直播").await?;

    // Next month's first Monday, 10:00 in Shanghai (02:00 UTC).
    let next = (today.with_day(1).unwrap_or(today) + Duration::days(32)).with_day(1).unwrap_or(today);
    let monday = next + Duration::days(i64::from((7 - next.weekday().num_days_from_monday()) % 7));
    let first_at = Utc.from_utc_datetime(&monday.and_hms_opt(2, 0, 0).unwrap_or_default());
    let care = CarePlanFields {
        name: "春节客户关怀".into(),
        kind: EventKind::Call,
        segment: Segment { levels: vec!["A".into()], statuses: vec![CustomerStatus::Won] },
        first_at,
        duration_minutes: 30,
        spread_days: 5,
        description: Some("致电问候，确认节后交付与回款安排".into()),
        reminder_minutes: vec![30],
    };
    guanxi_store::marketing::care::create(tx, author, CustomerRule::ALL, care).await?;
    Ok(())
}
