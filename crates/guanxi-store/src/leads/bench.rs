//! Benchmark data for leads: as many leads as customers, spread over the reps as their
//! customers are, from the sources and campaigns a company runs, at every stage (four in
//! ten new, three working, one qualified, one unqualified with a reason, one converted
//! into one of the owner's customers), with follow-ups on the worked ones and the demo's
//! scoring rules, scored as the rules say. One new lead in four waits in the company pool,
//! given up by its rep (放弃).

use std::collections::HashMap;

use chrono::{Duration, Utc};
use guanxi_domain::activity::interaction::Channel;
use guanxi_domain::ids::TenantId;
use guanxi_domain::leads::lead::{LeadFields, LeadSettings, LeadStatus};
use guanxi_domain::leads::scoring::{Activity, ScoringRule, score};
use rand::Rng;
use rand::rngs::StdRng;
use sea_orm::ActiveValue::Set;
use uuid::Uuid;

use crate::Database;
use crate::entity::{lead, lead_activity, lead_setting};

const SOURCES: &[&str] = &["官网", "展会", "电话咨询", "转介绍", "广告投放", "线上活动"];
const CAMPAIGNS: &[&str] = &["2026 工博会", "百度推广 11 月", "数字化转型直播", "老客户推荐季"];
const INDUSTRIES: &[&str] = &["制造业", "贸易", "互联网", "建筑", "医药", "教育"];
const REGIONS: &[&str] = &["华东", "华北", "华南", "西南", "华中"];

/// Loads one lead per customer (`customers` with their `owners`), the pooled ones into
/// `pool`, and the scoring `rules`; returns the rows written.
pub async fn load(
    db: &Database,
    tenant: TenantId,
    rng: &mut StdRng,
    (customers, owners, pool): (&[Uuid], &[Uuid], Uuid),
    rules: Vec<ScoringRule>,
) -> crate::StoreResult<u64> {
    let now = Utc::now();
    let settings = LeadSettings { rules, ..LeadSettings::default() };
    let tx = db.begin_write().await?;
    crate::insert_chunked(
        &tx,
        vec![lead_setting::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            sources: Set(serde_json::to_value(&settings.sources).unwrap_or_default()),
            unqualified_reasons: Set(serde_json::to_value(&settings.unqualified_reasons).unwrap_or_default()),
            rules: Set(serde_json::to_value(&settings.rules).unwrap_or_default()),
            version: Set(1),
            updated_at: Set(now),
        }],
    )
    .await?;
    tx.commit().await?;
    let mut written = 1;
    for chunk in (0..customers.len()).collect::<Vec<_>>().chunks(5_000) {
        let (mut leads, mut activities) = (Vec::new(), Vec::new());
        for &i in chunk {
            let created = now - Duration::days(rng.gen_range(0..365));
            let status = match i % 10 {
                0..=3 => LeadStatus::New,
                4..=6 => LeadStatus::Working,
                7 => LeadStatus::Qualified,
                8 => LeadStatus::Unqualified,
                _ => LeadStatus::Converted,
            };
            let fields = LeadFields {
                name: format!("线索联系人{i}"),
                company: (i % 4 != 0).then(|| format!("压测线索公司{i:08}")),
                phone: Some(format!("139{:08}", i % 100_000_000)),
                source: Some(SOURCES[i % SOURCES.len()].to_owned()),
                campaign: (i % 3 == 0).then(|| CAMPAIGNS[i % CAMPAIGNS.len()].to_owned()),
                industry: Some(INDUSTRIES[i % INDUSTRIES.len()].to_owned()),
                region: Some(REGIONS[i % REGIONS.len()].to_owned()),
                ..LeadFields::default()
            };
            let id = Uuid::now_v7();
            let follow_ups = if status == LeadStatus::New { 0 } else { rng.gen_range(1..4) };
            let mut by_channel: HashMap<Channel, u32> = HashMap::new();
            let mut last = None;
            for n in 0..follow_ups {
                let channel = if n % 2 == 0 { Channel::Call } else { Channel::Visit };
                let at = created + Duration::days(n + 1);
                *by_channel.entry(channel).or_default() += 1;
                last = Some(at);
                activities.push(lead_activity::ActiveModel {
                    tenant_id: Set(tenant.uuid()),
                    id: Set(Uuid::now_v7()),
                    lead_id: Set(id),
                    author_id: Set(Some(owners[i])),
                    channel: Set(channel.as_str().to_owned()),
                    occurred_at: Set(at),
                    content: Set("压测跟进记录".to_owned()),
                    outcome: Set(None),
                    next_follow_up_at: Set(None),
                    created_at: Set(at),
                });
            }
            let scored = score(
                &settings.rules,
                &fields,
                Activity { by_channel: &by_channel, last_activity_at: last, created_at: created },
                now,
            );
            let converted = status == LeadStatus::Converted;
            let pooled = i % 10 == 3;
            let owner = (!pooled).then_some(owners[i]);
            leads.push(lead::ActiveModel {
                tenant_id: Set(tenant.uuid()),
                id: Set(id),
                name: Set(fields.name),
                company: Set(fields.company),
                phone: Set(fields.phone),
                email: Set(None),
                wechat: Set(None),
                source: Set(fields.source),
                campaign: Set(fields.campaign),
                industry: Set(fields.industry),
                region: Set(fields.region),
                notes: Set(None),
                owner_id: Set(owner),
                status: Set(status.as_str().to_owned()),
                unqualified_reason: Set((status == LeadStatus::Unqualified).then(|| "预算不足".to_owned())),
                score: Set(scored.score),
                score_lines: Set(serde_json::to_value(&scored.lines).unwrap_or_default()),
                rescore_at: Set(scored.rescore_at.filter(|_| status.is_open())),
                last_activity_at: Set(last),
                external_id: Set(None),
                customer_id: Set(converted.then(|| customers[i])),
                contact_id: Set(None),
                opportunity_id: Set(None),
                converted_at: Set(converted.then(|| created + Duration::days(5))),
                created_by: Set(Some(owners[i])),
                version: Set(1),
                created_at: Set(created),
                updated_at: Set(created),
                deleted_at: Set(None),
                pool_id: Set(pooled.then_some(pool)),
                pool_entered_at: Set(pooled.then(|| (created + Duration::days(10)).min(now))),
                pool_action: Set(pooled.then(|| "RELEASE".to_owned())),
                pool_reason: Set(pooled.then(|| "无法联系".to_owned())),
                previous_owner_id: Set(pooled.then_some(owners[i])),
                owner_received_at: Set(owner.map(|_| created)),
            });
        }
        let tx = db.begin_write().await?;
        written += crate::insert_chunked(&tx, leads).await?;
        written += crate::insert_chunked(&tx, activities).await?;
        tx.commit().await?;
    }
    Ok(written)
}
