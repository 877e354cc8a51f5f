//! The demo tenant: a small Chinese sales company to click through. Demo credentials only.

use anyhow::Context;
use guanxi_domain::ids::{DepartmentId, UserId};
use guanxi_domain::phone::PhoneNumber;
use guanxi_domain::platform::access::DepartmentRule;
use guanxi_domain::platform::org::{Department, Email, Name, TenantSlug, User};
use guanxi_store::Database;
use guanxi_store::platform::audit::Author;
use guanxi_store::platform::department::NewDepartment;
use guanxi_store::platform::user::NewUser;

pub const DEMO_TENANT: &str = "demo";
pub const DEMO_PASSWORD: &str = "guanxi-demo";

async fn department<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    author: &Author,
    name: &str,
    parent: DepartmentId,
    sort_order: i32,
) -> anyhow::Result<Department> {
    let input = NewDepartment { name: Name::parse("name", name)?, parent_id: Some(parent), sort_order };
    Ok(guanxi_store::platform::department::create(tx, author, DepartmentRule::All, input).await?)
}

#[allow(clippy::too_many_arguments)]
async fn user<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    author: &Author,
    password_hash: &str,
    email: &str,
    name: &str,
    phone: &str,
    department: DepartmentId,
    manager: Option<UserId>,
    role: guanxi_domain::ids::RoleId,
) -> anyhow::Result<User> {
    let input = NewUser {
        email: Email::parse("email", email)?,
        display_name: Name::parse("displayName", name)?,
        phone: Some(PhoneNumber::parse("phone", phone)?),
        password_hash: password_hash.to_owned(),
        department_id: department,
        manager_id: manager,
        role_id: role,
    };
    Ok(guanxi_store::platform::user::create(tx, author, DepartmentRule::All, input).await?)
}

/// Creates the `demo` tenant unless it exists. Returns whether it was created.
pub async fn seed_demo(db: &Database) -> anyhow::Result<bool> {
    if guanxi_store::platform::tenant::find_by_slug(db.connection(), DEMO_TENANT).await?.is_some() {
        return Ok(false);
    }
    let password_hash = crate::auth::hash_password(DEMO_PASSWORD.to_owned()).await?;
    let tx = db.begin_write().await?;
    let created =
        guanxi_store::platform::tenant::create(&tx, &TenantSlug::parse("tenant", DEMO_TENANT)?, "关系演示科技有限公司")
            .await?;
    let author = Author::system(created.id());
    let role = |key: &str| created.role(key).map(|r| r.id).with_context(|| format!("built-in role {key}"));
    let hq = created.root.id;
    let east = department(&tx, &author, "华东销售部", hq, 1).await?;
    let east_1 = department(&tx, &author, "华东一组", east.id, 1).await?;
    let east_2 = department(&tx, &author, "华东二组", east.id, 2).await?;
    let north = department(&tx, &author, "华北销售部", hq, 2).await?;
    department(&tx, &author, "华北一组", north.id, 1).await?;
    let service = department(&tx, &author, "客户服务部", hq, 3).await?;
    let h = password_hash.as_str();
    let admin = user(&tx, &author, h, "admin@demo.local", "张伟", "13800000001", hq, None, role("admin")?).await?;
    let manager = user(
        &tx,
        &author,
        h,
        "manager@demo.local",
        "李娜",
        "13800000002",
        east.id,
        Some(admin.id),
        role("sales_manager")?,
    )
    .await?;
    user(&tx, &author, h, "rep1@demo.local", "王磊", "13800000003", east_1.id, Some(manager.id), role("sales_rep")?)
        .await?;
    user(&tx, &author, h, "rep2@demo.local", "刘洋", "13800000004", east_2.id, Some(manager.id), role("sales_rep")?)
        .await?;
    user(&tx, &author, h, "rep3@demo.local", "陈静", "13800000005", north.id, Some(admin.id), role("sales_rep")?)
        .await?;
    let rep1 = app_user(&tx, created.id(), "rep1@demo.local").await?;
    let rep2 = app_user(&tx, created.id(), "rep2@demo.local").await?;
    let rep3 = app_user(&tx, created.id(), "rep3@demo.local").await?;
    let customers =
        demo_customers(&tx, &author, &[(rep1, "rep1"), (rep2, "rep2"), (rep3, "rep3"), (manager.id, "manager")])
            .await?;
    let products = crate::seed_trade::demo_trade(&tx, &author, &customers).await?;
    let pool = demo_pool(&tx, &author, east.id.uuid(), manager.id).await?;
    demo_assignment(&tx, &author, &[rep1, rep2]).await?;
    crate::seed_leads::demo_leads(&tx, &author, &[rep1, rep2, rep3]).await?;
    crate::seed_leads::demo_pooled_leads(&tx, &author, (rep1, manager.id), pool).await?;
    let credited: Vec<_> = customers
        .iter()
        .filter(|(name, ..)| ["上海明远机械制造有限公司", "苏州恒信电子科技有限公司"].contains(name))
        .map(|(_, id, _)| *id)
        .collect();
    crate::seed_marketing::demo_marketing(&tx, &author, manager.id, &credited).await?;
    demo_quotas(&tx, &author, &[rep1, rep2, rep3]).await?;
    let agent = user(
        &tx,
        &author,
        h,
        "service@demo.local",
        "杨帆",
        "13800000006",
        service.id,
        Some(admin.id),
        role("service_agent")?,
    )
    .await?;
    let tech = user(
        &tx,
        &author,
        h,
        "tech@demo.local",
        "赵强",
        "13800000007",
        service.id,
        Some(agent.id),
        role("technician")?,
    )
    .await?;
    let finance =
        user(&tx, &author, h, "finance@demo.local", "孙丽", "13800000008", hq, Some(admin.id), role("finance")?)
            .await?;
    let people = crate::seed_finance::People {
        rep: rep1,
        manager: manager.id,
        finance: finance.id,
        finance_role: role("finance")?,
    };
    crate::seed_finance::demo_finance(&tx, created.id(), &people, &customers).await?;
    let crew = crate::seed_service::Crew { agent: agent.id, technician: tech.id };
    crate::seed_service::demo_service(&tx, created.id(), &crew, &customers, &products).await?;
    let sales = [role("sales_rep")?, role("sales_manager")?];
    crate::seed_finance::demo_commissions(&tx, created.id(), admin.id, sales).await?;
    let as_admin = Author { user_id: Some(admin.id.uuid()), ..author.clone() };
    demo_webhook(&tx, as_admin.clone()).await?;
    demo_bulk_job(&tx, &as_admin).await?;
    tx.commit().await?;
    Ok(true)
}

/// An ERP's webhook endpoint for customer, order and contract changes, registered by the
/// admin and switched off (its address is an example): point it at a receiver and enable
/// it, and the changes since the demo was loaded are sent there, then each new one.
async fn demo_webhook<C: guanxi_store::ConnectionTrait>(tx: &C, admin: Author) -> anyhow::Result<()> {
    use guanxi_domain::entity::EntityKind;
    use guanxi_domain::platform::webhook::{EndpointStatus, secret_from};
    let endpoint = guanxi_store::platform::webhook::create(
        tx,
        &admin,
        guanxi_store::platform::webhook::NewEndpoint {
            url: "https://erp.example.com/guanxi/webhooks".to_owned(),
            description: Some("金蝶 ERP 同步（示例地址）".to_owned()),
            kinds: vec![EntityKind::Customer, EntityKind::Order, EntityKind::Contract],
            max_in_flight: 4,
            secret: secret_from(&rand::random::<[u8; 32]>()),
        },
    )
    .await?;
    let reason = "示例地址：改成你的接收地址后启用".to_owned();
    guanxi_store::platform::webhook::set_status(tx, &admin, endpoint.id, EndpointStatus::Disabled, Some(reason))
        .await?;
    Ok(())
}

/// A bulk job of the admin's, uploaded and queued: the ERP's four newest customers and a
/// row without a name. A server running jobs works through it within a second of starting
/// (`bulkJobs` as the admin then shows it completed, four created and one failed, with
/// its failures file).
async fn demo_bulk_job<C: guanxi_store::ConnectionTrait>(tx: &C, admin: &Author) -> anyhow::Result<()> {
    use guanxi_domain::platform::bulk::{Format, JobKind, RawRow};
    use guanxi_store::platform::bulk as store;
    let new = store::NewJob {
        kind: JobKind::Customer,
        format: Format::Csv,
        source: "kingdee".to_owned(),
        confirm_duplicates: false,
        api_key_id: None,
    };
    let job = store::create(tx, admin, new).await?;
    store::begin_upload(tx, admin, job.id).await?;
    let columns = ["externalId", "name", "level", "province", "city"].map(str::to_owned);
    let rows: Vec<RawRow> = [
        ["KD0007", "杭州青禾环保科技有限公司", "B", "浙江", "杭州"],
        ["KD0008", "南京瑞丰精密机械有限公司", "B", "江苏", "南京"],
        ["KD0009", "合肥新程物流有限公司", "C", "安徽", "合肥"],
        ["KD0010", "宁波海川电器有限公司", "C", "浙江", "宁波"],
        ["KD0011", "", "C", "浙江", "温州"],
    ]
    .into_iter()
    .map(|cells| RawRow::Cells(cells.map(str::to_owned).to_vec()))
    .collect();
    store::add_batch(tx, admin.tenant_id, job.id, (1, 1), &rows).await?;
    store::finish_upload(tx, admin, job.id, &columns, (rows.len() as i64, 1)).await?;
    Ok(())
}

/// The East China public pool (华东公海): the East sales department's reps claim from it,
/// their manager hands it out, and customers left 30 days without follow-up (or 90 days
/// without a deal) go back to it.
async fn demo_pool<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    author: &Author,
    east: uuid::Uuid,
    manager: UserId,
) -> anyhow::Result<guanxi_domain::ids::PoolId> {
    use guanxi_domain::sales::pool::{MemberKind, PoolMember, PoolSettings, PoolSubject, ReclaimKind, ReclaimRule};
    let rule = |kind, days| ReclaimRule {
        applies_to: PoolSubject::Customers,
        kind,
        days,
        levels: vec![],
        exempt_won: true,
        exempt_open: false,
    };
    // Leads nobody followed up for 14 days go back too (线索公海).
    let lead_rule =
        ReclaimRule { applies_to: PoolSubject::Leads, exempt_won: false, ..rule(ReclaimKind::NoFollowUp, 14) };
    let settings = PoolSettings {
        name: "华东公海".to_owned(),
        auto_reclaim: true,
        warn_days: 5,
        cooldown_days: 7,
        daily_claim_cap: Some(10),
        owned_cap: Some(200),
        rules: vec![rule(ReclaimKind::NoFollowUp, 30), rule(ReclaimKind::NoDeal, 90), lead_rule],
        members: vec![
            PoolMember { kind: MemberKind::Department, id: east, admin: false },
            PoolMember { kind: MemberKind::User, id: manager.uuid(), admin: true },
        ],
    };
    Ok(guanxi_store::sales::pool::create(tx, author, settings).await?.id)
}

/// The assignment rule for East China (华东): new customers from the region that arrive
/// without an owner (`createCustomer(input: {assignByRules: true})`) go to the East reps in
/// turn.
async fn demo_assignment<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    author: &Author,
    reps: &[UserId],
) -> anyhow::Result<()> {
    use guanxi_domain::sharing::assignment::{AssignmentMode, Conditions, RuleMember, RuleSettings};
    let settings = RuleSettings {
        name: "华东新客户轮流分配".to_owned(),
        applies_to: guanxi_domain::sharing::assignment::AssignmentSubject::Customers,
        priority: 100,
        mode: AssignmentMode::ByRule,
        conditions: Conditions { regions: vec!["华东".to_owned()], ..Conditions::default() },
        members: reps.iter().map(|rep| RuleMember { user_id: *rep, capacity: 0, opted_out: false }).collect(),
        active: true,
    };
    guanxi_store::sharing::assignment::create(tx, author, settings).await?;
    Ok(())
}

/// Each rep's quota (销售目标) for this month and the next two: 100,000, 80,000 and 60,000
/// yuan, so `forecast` shows attainment beside what each won and has in the pipeline.
async fn demo_quotas<C: guanxi_store::ConnectionTrait>(tx: &C, author: &Author, reps: &[UserId]) -> anyhow::Result<()> {
    use chrono::Datelike;
    let today = guanxi_domain::customers::customer::shanghai_date(chrono::Utc::now());
    let month = |ahead: u32| {
        let m = today.month0() + ahead;
        chrono::NaiveDate::from_ymd_opt(today.year() + (m / 12) as i32, m % 12 + 1, 1)
    };
    let months: Vec<_> = (0..3).filter_map(month).collect();
    for (rep, yuan) in reps.iter().zip([100_000_i64, 80_000, 60_000]) {
        let quotas: Vec<_> = months.iter().map(|m| (*m, Some(yuan * 100))).collect();
        let all = guanxi_domain::platform::access::ScopeRule::All;
        guanxi_store::sales::forecast::set_quotas(tx, author, all, *rep, &quotas).await?;
    }
    Ok(())
}

async fn app_user<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    tenant: guanxi_domain::ids::TenantId,
    email: &str,
) -> anyhow::Result<UserId> {
    let row = guanxi_store::platform::user::find_for_login(tx, tenant, email).await?.context("a demo user")?;
    Ok(UserId::from_uuid(row.id))
}

/// A handful of realistic customers with contacts and a decision chain, per rep.
/// The demo customers, each with contacts, interactions and a deal: (name, id, owner).
async fn demo_customers<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    author: &Author,
    owners: &[(UserId, &str)],
) -> anyhow::Result<Vec<(&'static str, guanxi_domain::ids::CustomerId, Option<UserId>)>> {
    use guanxi_domain::customers::contact::{ContactFields, DecisionRole};
    use guanxi_domain::customers::customer::{CustomerKind, CustomerStatus, TaxId};
    let owner = |key: &str| owners.iter().find(|(_, k)| *k == key).map(|(id, _)| *id);
    let pipeline =
        guanxi_store::sales::pipeline::pipeline(tx, author.tenant_id, None).await?.context("the default pipeline")?;
    let companies = [
        (
            "rep1",
            "上海明远机械制造有限公司",
            "91310115MA1K4M7Y0",
            "021-58881234",
            "制造业",
            "上海市",
            "上海市",
            CustomerStatus::Intent,
        ),
        (
            "rep1",
            "苏州恒信电子科技有限公司",
            "91320594MA1N2QX80",
            "0512-62345678",
            "电子",
            "江苏省",
            "苏州市",
            CustomerStatus::Won,
        ),
        (
            "rep2",
            "南京金陵商贸有限公司",
            "91320104MA1R8L3K0",
            "025-84561234",
            "贸易",
            "江苏省",
            "南京市",
            CustomerStatus::Potential,
        ),
        (
            "rep2",
            "杭州云帆培训学校有限公司",
            "91330106MA2H7T5W0",
            "0571-87654321",
            "教育培训",
            "浙江省",
            "杭州市",
            CustomerStatus::Intent,
        ),
        (
            "rep3",
            "北京京华软件股份有限公司",
            "91110108MA01C6PR0",
            "010-62881234",
            "软件",
            "北京市",
            "北京市",
            CustomerStatus::Won,
        ),
        (
            "manager",
            "宁波港通物流有限公司",
            "91330201MA2CJ4UK0",
            "0574-87123456",
            "物流",
            "浙江省",
            "宁波市",
            CustomerStatus::Dormant,
        ),
    ];
    let mut made = Vec::new();
    for (key, name, tax17, phone, industry, province, city, status) in companies {
        let mut fields = crate::graphql::customers::customer_input::blank_fields();
        fields.kind = CustomerKind::Organization;
        fields.name = name.to_owned();
        fields.tax_id = TaxId::with_check_character(&tax17[..17]);
        fields.main_phone = Some(phone.to_owned());
        fields.industry = Some(industry.to_owned());
        fields.province = Some(province.to_owned());
        fields.city = Some(city.to_owned());
        fields.status = status;
        // Customers that bought are level A (the price policies' best prices), others B.
        fields.level = Some(if status == CustomerStatus::Won { "A" } else { "B" }.to_owned());
        fields.source = Some("展会".to_owned());
        let customer = guanxi_store::customers::customer::create(
            tx,
            author,
            guanxi_domain::platform::access::CustomerRule::ALL,
            guanxi_store::customers::customer::NewCustomer {
                fields,
                owner_id: owner(key),
                custom_fields: Default::default(),
            },
        )
        .await?;
        let contact = |name: &str,
                       title: &str,
                       mobile: &str,
                       role: DecisionRole,
                       manager: Option<guanxi_domain::ids::ContactId>| ContactFields {
            name: name.to_owned(),
            gender: None,
            birthday: None,
            department: Some("采购部".to_owned()),
            title: Some(title.to_owned()),
            manager_id: manager,
            office_phone: None,
            mobile: Some(mobile.to_owned()),
            email: None,
            home_phone: None,
            fax: None,
            hobbies: None,
            notes: None,
            decision_role: role,
        };
        let scope = guanxi_store::customers::contact::ContactScope::ALL;
        let boss = guanxi_store::customers::contact::create(
            tx,
            author,
            scope,
            customer.id,
            contact("王建国", "总经理", "13911110001", DecisionRole::DecisionMaker, None),
            (owner(key), None),
            Default::default(),
        )
        .await?;
        let buyer = guanxi_store::customers::contact::create(
            tx,
            author,
            scope,
            customer.id,
            contact("李晓红", "采购经理", "13911110002", DecisionRole::Influencer, Some(boss.id)),
            (owner(key), None),
            Default::default(),
        )
        .await?;
        guanxi_store::customers::contact::create(
            tx,
            author,
            scope,
            customer.id,
            contact("赵敏", "采购专员", "13911110003", DecisionRole::Gatekeeper, Some(buyer.id)),
            (owner(key), None),
            Default::default(),
        )
        .await?;
        let now = chrono::Utc::now();
        for (days_ago, channel, content, contacts) in [
            (
                20,
                guanxi_domain::activity::interaction::Channel::Call,
                "电话沟通年度采购计划，客户关注交期和售后。",
                vec![buyer.id],
            ),
            (
                6,
                guanxi_domain::activity::interaction::Channel::Visit,
                "上门拜访王总，演示新产品，约定下周报价。",
                vec![boss.id, buyer.id],
            ),
        ] {
            let fields = guanxi_domain::activity::interaction::InteractionFields {
                channel,
                occurred_at: now - chrono::Duration::days(days_ago),
                content: content.to_owned(),
                outcome: None,
                next_follow_up_at: (days_ago == 6).then(|| now + chrono::Duration::days(3)),
                contact_ids: contacts,
                latitude: None,
                longitude: None,
            };
            let origin = guanxi_store::activity::interaction::Origin {
                author_id: owner(key),
                source: "manual".into(),
                external_id: None,
                id: None,
            };
            guanxi_store::activity::interaction::create(
                tx,
                author,
                guanxi_domain::platform::access::CustomerRule::ALL,
                customer.id,
                fields,
                origin,
            )
            .await?;
        }
        demo_deal(tx, author, &pipeline, customer.id, owner(key), name).await?;
        made.push((name, customer.id, owner(key)));
    }
    // The demo company's ERP (金蝶) knows its customers by its own codes: an upsert from
    // source `kingdee` updates these customers instead of creating copies.
    let codes = made.iter().enumerate().map(|(n, (_, id, _))| (format!("KD{:04}", n + 1), id.uuid())).collect();
    guanxi_store::platform::external_key::insert(
        tx,
        author.tenant_id,
        guanxi_domain::entity::EntityKind::Customer,
        "kingdee",
        codes,
    )
    .await?;
    Ok(made)
}

/// One deal per demo customer, at a different point of the default pipeline, so the
/// funnel has something to show.
async fn demo_deal<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    author: &Author,
    pipeline: &guanxi_domain::sales::opportunity::Pipeline,
    customer: guanxi_domain::ids::CustomerId,
    owner: Option<UserId>,
    company: &str,
) -> anyhow::Result<()> {
    use guanxi_domain::sales::opportunity::OpportunityFields;
    let (deal, amount, steps, close_reason): (&str, i64, &[usize], Option<&str>) = match company {
        "上海明远机械制造有限公司" => ("数控机床升级项目", 58_000_000, &[1, 2], None),
        "苏州恒信电子科技有限公司" => ("SMT 产线扩容", 120_000_000, &[1, 2, 3, 4], Some("技术方案最优")),
        "南京金陵商贸有限公司" => ("仓储管理系统", 8_600_000, &[], None),
        "杭州云帆培训学校有限公司" => ("企业内训年度合同", 24_000_000, &[1], None),
        "北京京华软件股份有限公司" => ("研发中心网络改造", 45_000_000, &[1, 2, 5], Some("价格高于竞品")),
        _ => ("冷链物流试点", 15_000_000, &[1, 2, 3], None),
    };
    let scope = guanxi_store::sales::opportunity::OpportunityScope::ALL;
    let fields = OpportunityFields {
        name: deal.to_owned(),
        amount: guanxi_domain::sales::opportunity::from_fen(amount),
        expected_close_date: Some(chrono::Utc::now().date_naive() + chrono::Duration::days(45)),
        source: Some("展会".to_owned()),
        competitors: None,
        notes: None,
    };
    let new = guanxi_store::sales::opportunity::NewOpportunity {
        customer_id: customer,
        pipeline_id: None,
        stage_id: None,
        owner_id: owner,
        fields,
        campaign_id: None,
    };
    let mut opportunity = guanxi_store::sales::opportunity::create(tx, author, scope, new).await?;
    for step in steps {
        let stage = pipeline.stages.get(*step).context("a default stage")?;
        opportunity = guanxi_store::sales::opportunity::move_stage(
            tx,
            author,
            scope,
            opportunity.id.uuid(),
            opportunity.version,
            stage.id,
            close_reason,
        )
        .await?;
    }
    Ok(())
}
