//! The demo's leads (线索): the tenant's scoring rules, and a handful of leads per rep at
//! every stage — new, worked with follow-ups, qualified, unqualified with a reason — so
//! the scores, their lines and the conversion report show something from the start.

use chrono::{Duration, Utc};
use guanxi_domain::activity::interaction::Channel;
use guanxi_domain::ids::UserId;
use guanxi_domain::leads::lead::{LeadFields, LeadSettings, LeadStatus};
use guanxi_domain::platform::access::ScopeRule;
use guanxi_store::leads::lead::{NewActivity, NewLead};
use guanxi_store::platform::audit::Author;

/// (name, company, phone, source, campaign, industry, region, rep index, follow-ups, status)
type DemoLead = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    usize,
    &'static [(Channel, &'static str)],
    LeadStatus,
);

const LEADS: &[DemoLead] = &[
    (
        "周立",
        "苏州恒泰精密机械有限公司",
        "13912345601",
        "展会",
        "2026 工博会",
        "制造业",
        "华东",
        0,
        &[(Channel::Call, "电话了解产线自动化改造需求，下月预算评审"), (Channel::Visit, "上门拜访生产部，看了现场")],
        LeadStatus::Qualified,
    ),
    (
        "吴敏",
        "杭州云帆电子商务有限公司",
        "13912345602",
        "官网",
        "",
        "互联网",
        "华东",
        0,
        &[(Channel::Call, "官网留言回访，关注报价")],
        LeadStatus::Working,
    ),
    ("郑浩", "", "13912345603", "电话咨询", "", "", "华东", 0, &[], LeadStatus::New),
    (
        "冯雪",
        "无锡新锐包装材料有限公司",
        "0510-82345678",
        "展会",
        "2026 工博会",
        "制造业",
        "华东",
        1,
        &[(Channel::Visit, "拜访采购，索要样品")],
        LeadStatus::Working,
    ),
    (
        "陈刚",
        "宁波海瑞贸易有限公司",
        "13912345605",
        "广告投放",
        "百度推广 11 月",
        "贸易",
        "华东",
        1,
        &[(Channel::Call, "客户表示今年无预算")],
        LeadStatus::Unqualified,
    ),
    (
        "褚红",
        "天津北辰重工有限公司",
        "13912345606",
        "转介绍",
        "",
        "制造业",
        "华北",
        2,
        &[(Channel::Call, "老客户介绍，约下周拜访")],
        LeadStatus::Working,
    ),
    (
        "卫东",
        "北京思远科技有限公司",
        "13912345607",
        "线上活动",
        "数字化转型直播",
        "互联网",
        "华北",
        2,
        &[],
        LeadStatus::New,
    ),
];

/// Saves the scoring rules and the demo leads of `reps` (rep1, rep2, rep3).
pub async fn demo_leads<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    author: &Author,
    reps: &[UserId],
) -> anyhow::Result<()> {
    let settings = LeadSettings { rules: guanxi_domain::leads::scoring::example_rules(), ..LeadSettings::default() };
    guanxi_store::leads::settings::update(tx, author, 0, settings).await?;
    for (i, (name, company, phone, source, campaign, industry, region, rep, follow_ups, status)) in
        LEADS.iter().enumerate()
    {
        let text = |t: &str| (!t.is_empty()).then(|| t.to_owned());
        let fields = LeadFields {
            name: (*name).to_owned(),
            company: text(company),
            phone: text(phone),
            source: text(source),
            campaign: text(campaign),
            industry: text(industry),
            region: text(region),
            ..LeadFields::default()
        };
        let owner = reps[*rep];
        let new = NewLead { fields, owner_id: Some(owner), external_id: None, assign_by_rules: false };
        let mut lead = guanxi_store::leads::lead::create(tx, author, new).await?;
        for (n, (channel, content)) in follow_ups.iter().enumerate() {
            let activity = NewActivity {
                channel: *channel,
                occurred_at: Utc::now() - Duration::days((10 - i - n) as i64),
                content: (*content).to_owned(),
                outcome: None,
                next_follow_up_at: None,
            };
            let at = (lead.id.uuid(), lead.version);
            lead = guanxi_store::leads::lead::add_activity(tx, author, ScopeRule::All, at, activity).await?.0;
        }
        if matches!(status, LeadStatus::Qualified | LeadStatus::Unqualified) {
            let reason = (*status == LeadStatus::Unqualified).then_some("预算不足");
            let at = (lead.id.uuid(), lead.version);
            guanxi_store::leads::lead::set_status(tx, author, ScopeRule::All, at, *status, reason).await?;
        }
    }
    Ok(())
}

/// Two leads rep1 gave up into 华东公海 (线索公海), for the East reps to claim.
pub async fn demo_pooled_leads<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    author: &Author,
    (rep, manager): (UserId, UserId),
    pool: guanxi_domain::ids::PoolId,
) -> anyhow::Result<()> {
    let mut ids = Vec::new();
    for (name, company, phone) in
        [("蒋磊", "常州恒达电机有限公司", "13912345611"), ("秦悦", "无锡新源纺织有限公司", "13912345612")]
    {
        let fields = LeadFields {
            name: name.to_owned(),
            company: Some(company.to_owned()),
            phone: Some(phone.to_owned()),
            source: Some("展会".to_owned()),
            industry: Some("制造业".to_owned()),
            region: Some("华东".to_owned()),
            ..LeadFields::default()
        };
        let new = NewLead { fields, owner_id: Some(rep), external_id: None, assign_by_rules: false };
        ids.push(guanxi_store::leads::lead::create(tx, author, new).await?.id.uuid());
    }
    let caller = guanxi_domain::sales::pool::Caller { user: manager, department: None, manages_all: true };
    let subject = (guanxi_domain::sales::pool::PoolSubject::Leads, ScopeRule::All);
    guanxi_store::sales::pool_move::release(tx, author, &caller, subject, (&ids, pool), "多次联系未接通").await?;
    Ok(())
}
