//! Benchmark data for marketing: a campaign for every 2,500 customers (at least twelve),
//! of every kind, over the last two years, with budgets and costs; every other customer a
//! member of one campaign and every fifth of a second, a third of them responded; one
//! deal in six credited to a campaign.

use chrono::{Duration, Utc};
use guanxi_domain::ids::{CampaignId, TenantId};
use guanxi_domain::marketing::campaign::{CampaignKind, CampaignStatus, MemberKind};
use rand::Rng;
use rand::rngs::StdRng;
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use uuid::Uuid;

use crate::Database;
use crate::entity::{campaign, campaign_member, opportunity};

const NAMES: &[&str] = &["工博会", "百度推广", "数字化转型直播", "老客户推荐季", "区域经销商大会", "春季邮件营销"];

/// Loads the campaigns, their members among `customers`, and credits deals; returns the
/// rows written.
pub async fn load(db: &Database, tenant: TenantId, rng: &mut StdRng, customers: &[Uuid]) -> crate::StoreResult<u64> {
    let now = Utc::now();
    let n = (customers.len() / 2_500).max(12);
    let mut campaigns = Vec::with_capacity(n);
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let id = CampaignId::new().uuid();
        // One in six is running now; the others ran over the last two years.
        let running = i.is_multiple_of(6);
        let back = if running { rng.gen_range(0..20) } else { rng.gen_range(30..730) };
        let starts = (now - Duration::days(back)).date_naive();
        let budget: i64 = rng.gen_range(10..500) * 100_000;
        campaigns.push(campaign::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            id: Set(id),
            name: Set(format!("{} {i}", NAMES[i % NAMES.len()])),
            kind: Set(CampaignKind::ALL[i % CampaignKind::ALL.len()].as_str().to_owned()),
            status: Set(if running { CampaignStatus::Active } else { CampaignStatus::Completed }.as_str().to_owned()),
            starts_on: Set(Some(starts)),
            ends_on: Set(Some(starts + Duration::days(rng.gen_range(20..50)))),
            budget_fen: Set(budget),
            actual_cost_fen: Set(budget * rng.gen_range(60..110) / 100),
            expected_revenue_fen: Set(Some(budget * 8)),
            description: Set(None),
            owner_id: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        });
        ids.push(id);
    }
    let tx = db.begin_write().await?;
    let mut written = crate::insert_chunked(&tx, campaigns).await?;
    tx.commit().await?;
    let member = |campaign: Uuid, customer: Uuid, responded: bool| campaign_member::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        campaign_id: Set(campaign),
        member_id: Set(customer),
        member_kind: Set(MemberKind::Customer.as_str().to_owned()),
        added_at: Set(now),
        added_by: Set(None),
        responded_at: Set(responded.then_some(now)),
    };
    const CHUNK: usize = 20_000;
    for (c, chunk) in customers.chunks(CHUNK).enumerate() {
        let mut rows = Vec::new();
        for (j, customer) in chunk.iter().enumerate() {
            let i = c * CHUNK + j;
            if i.is_multiple_of(2) {
                rows.push(member(ids[i % n], *customer, i.is_multiple_of(3)));
            }
            if i.is_multiple_of(5) {
                rows.push(member(ids[(i / 5 + 1) % n], *customer, false));
            }
        }
        let tx = db.begin_write().await?;
        written += crate::upsert_chunked(&tx, rows, Some(on_conflict())).await?;
        tx.commit().await?;
    }
    // One deal in six came from a campaign.
    let deals: Vec<Uuid> = opportunity::Entity::find()
        .select_only()
        .column(opportunity::Column::Id)
        .filter(opportunity::Column::TenantId.eq(tenant.uuid()))
        .into_tuple()
        .all(db.connection())
        .await?;
    let mut credited: Vec<Vec<Uuid>> = vec![Vec::new(); n];
    for (k, deal) in deals.iter().step_by(6).enumerate() {
        credited[k % n].push(*deal);
    }
    let tx = db.begin_write().await?;
    for (campaign, deals) in ids.iter().zip(&credited) {
        for chunk in deals.chunks(500) {
            written += opportunity::Entity::update_many()
                .col_expr(opportunity::Column::CampaignId, Expr::value(*campaign))
                .filter(opportunity::Column::TenantId.eq(tenant.uuid()))
                .filter(opportunity::Column::Id.is_in(chunk.iter().copied()))
                .exec(&tx)
                .await?
                .rows_affected;
        }
    }
    tx.commit().await?;
    Ok(written)
}

fn on_conflict() -> sea_orm::sea_query::OnConflict {
    use campaign_member::Column as C;
    sea_orm::sea_query::OnConflict::columns([C::TenantId, C::CampaignId, C::MemberId]).do_nothing().to_owned()
}
