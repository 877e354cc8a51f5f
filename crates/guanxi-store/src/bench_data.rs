//! Realistic data at scale for benchmarks (`guanxi seed --scale S|M|L`): Chinese company
//! and person names, valid tax ids, mainland phones, provinces and cities, industries, a
//! skewed ownership (one rep owns a tenth of all customers), one customer with a third
//! of all interactions, deals across every stage with their stage history, and a
//! catalogue with price policies, quotes and orders (`bench_trade`).
//! Deterministic for a given `--seed`.
//!
//! It loads through the fast path: multi-row inserts in large transactions, straight into
//! the tables. Like a restore from backup it writes no change events: it is not business
//! activity, and a benchmark database is not audited.

use std::time::Instant;

use chrono::{Duration, Utc};
use guanxi_domain::customers::customer::{TaxId, normalize_name, search_text, search_tokens};
use guanxi_domain::ids::{DepartmentId, TenantId, UserId};
use guanxi_domain::mnemonic::mnemonic_code;
use guanxi_domain::platform::org::{Email, Name, TenantSlug};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sea_orm::{ActiveValue::Set, ConnectionTrait};

use crate::Database;
use crate::entity::{contact, customer, customer_search_token, interaction, opportunity, opportunity_stage_change};
use crate::platform::audit::Author;
use serde_json::Value;
use uuid::Uuid;

/// How much data to make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scale {
    pub customers: usize,
    pub contacts_per_customer: usize,
    pub interactions: usize,
    pub reps: usize,
}

impl Scale {
    pub fn named(name: &str) -> Option<Self> {
        match name.to_uppercase().as_str() {
            "S" => Some(Self { customers: 10_000, contacts_per_customer: 3, interactions: 300_000, reps: 50 }),
            "M" => Some(Self { customers: 100_000, contacts_per_customer: 3, interactions: 3_000_000, reps: 200 }),
            "L" => Some(Self { customers: 1_000_000, contacts_per_customer: 3, interactions: 30_000_000, reps: 1_000 }),
            _ => None,
        }
    }
}

/// What a load did.
#[derive(Debug)]
pub struct Loaded {
    pub rows: u64,
    pub seconds: f64,
}

impl Loaded {
    pub fn rows_per_second(&self) -> f64 {
        self.rows as f64 / self.seconds.max(0.001)
    }
}

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "林", "罗",
    "高",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英",
    "建国", "晓红",
];
const PLACES: &[(&str, &str)] = &[
    ("北京市", "北京"),
    ("上海市", "上海"),
    ("广东省", "广州"),
    ("广东省", "深圳"),
    ("浙江省", "杭州"),
    ("浙江省", "宁波"),
    ("江苏省", "南京"),
    ("江苏省", "苏州"),
    ("四川省", "成都"),
    ("湖北省", "武汉"),
    ("山东省", "青岛"),
    ("福建省", "厦门"),
];
const BRANDS: &[&str] = &[
    "华信", "恒通", "明远", "金陵", "港通", "云帆", "瑞丰", "天成", "宏达", "新锐", "永兴", "博远", "中科", "东方",
    "鼎盛", "创联",
];
const TRADES: &[(&str, &str)] = &[
    ("电子科技", "电子"),
    ("机械制造", "制造业"),
    ("商贸", "贸易"),
    ("软件", "软件"),
    ("物流", "物流"),
    ("培训学校", "教育培训"),
    ("食品", "食品"),
    ("建材", "建材"),
    ("医疗器械", "医疗"),
    ("化工", "化工"),
];
const SUFFIXES: &[&str] = &["有限公司", "有限责任公司", "股份有限公司", "集团有限公司"];
const USCC: &[u8] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// A random (province, city) of the places customers are in.
pub(crate) fn place(rng: &mut StdRng) -> (&'static str, &'static str) {
    *pick(rng, PLACES)
}

fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

fn mobile(rng: &mut StdRng) -> String {
    format!("1{}{:09}", pick(rng, &[3, 5, 7, 8, 9]), rng.gen_range(0..1_000_000_000u32))
}

fn tax_id(rng: &mut StdRng) -> Option<String> {
    let mut first: String = "91".into();
    for _ in 0..15 {
        first.push(USCC[rng.gen_range(0..USCC.len())] as char);
    }
    TaxId::with_check_character(&first)
}

/// The phases of [`seed`], in order: it reports each once as it ends (`done`), with the rows
/// loaded so far, and the customers and their interactions after each batch too (not
/// `done`).
pub const PHASES: &[&str] = &[
    "customers",
    "interactions",
    "deals",
    "trade",
    "finance",
    "service",
    "sharing",
    "leads",
    "marketing",
    "statistics",
];

/// Makes the tenant (with departments and reps) and loads the data, telling `progress`
/// the phase (one of [`PHASES`]), the rows loaded so far and whether the phase is done. `password_hash` is set on
/// every generated user (the benchmark logs in as them).
pub async fn seed(
    db: &Database,
    slug: &str,
    (scale, seed): (Scale, u64),
    password_hash: String,
    progress: &(dyn Fn(&str, u64, bool) + Sync),
) -> crate::StoreResult<Loaded> {
    let started = Instant::now();
    let mut rng = StdRng::seed_from_u64(seed);
    let slug = TenantSlug::parse("tenant", slug)?;
    if crate::platform::tenant::find_by_slug(db.connection(), slug.as_str()).await?.is_some() {
        return Err(crate::StoreError::rejected(
            "tenant",
            guanxi_domain::ErrorCode::Duplicate,
            "the tenant exists already; pick another --tenant",
        ));
    }
    let hash = password_hash;
    let tx = db.begin_write().await?;
    let created = crate::platform::tenant::create(&tx, &slug, "压测科技集团有限公司").await?;
    let tenant = created.id();
    let author = Author::system(tenant);
    let missing = || crate::StoreError::NotFound;
    let rep_role = created.role("sales_rep").ok_or_else(missing)?.id;
    let admin_role = created.role("admin").ok_or_else(missing)?.id;
    let all = guanxi_domain::platform::access::DepartmentRule::All;
    let admin = crate::platform::user::create(
        &tx,
        &author,
        all,
        crate::platform::user::NewUser {
            email: Email::parse("email", "admin@bench.local")?,
            display_name: Name::parse("name", "压测管理员")?,
            phone: None,
            password_hash: hash.clone(),
            department_id: created.root.id,
            manager_id: None,
            role_id: admin_role,
        },
    )
    .await?;
    let mut reps: Vec<UserId> = Vec::with_capacity(scale.reps);
    let mut department = created.root.id;
    for n in 0..scale.reps {
        if n % 25 == 0 {
            let name = format!("{}大区{}组", pick(&mut rng, PLACES).1, n / 25 + 1);
            department = crate::platform::department::create(
                &tx,
                &author,
                all,
                crate::platform::department::NewDepartment {
                    name: Name::parse("name", &name)?,
                    parent_id: Some(created.root.id),
                    sort_order: n as i32,
                },
            )
            .await?
            .id;
        }
        let name = format!("{}{}", pick(&mut rng, SURNAMES), pick(&mut rng, GIVEN));
        let rep = crate::platform::user::create(
            &tx,
            &author,
            all,
            crate::platform::user::NewUser {
                email: Email::parse("email", &format!("rep{n}@bench.local"))?,
                display_name: Name::parse("name", &name)?,
                phone: None,
                password_hash: hash.clone(),
                department_id: department,
                manager_id: Some(admin.id),
                role_id: rep_role,
            },
        )
        .await?;
        reps.push(rep.id);
    }
    tx.commit().await?;

    let mut rows: u64 = 0;
    let now = Utc::now();
    let today = now.format("%Y%m%d").to_string();
    let mut customer_ids: Vec<Uuid> = Vec::with_capacity(scale.customers);
    let mut customer_owners: Vec<Uuid> = Vec::with_capacity(scale.customers);
    let batch = 5_000;
    let mut index = 0;
    while index < scale.customers {
        let end = (index + batch).min(scale.customers);
        let mut customers = Vec::with_capacity(end - index);
        let mut tokens = Vec::new();
        let mut contacts = Vec::new();
        for n in index..end {
            let (province, city) = *pick(&mut rng, PLACES);
            let (trade, industry) = *pick(&mut rng, TRADES);
            let name = format!(
                "{city}{}{}{}{}",
                pick(&mut rng, BRANDS),
                pick(&mut rng, BRANDS),
                trade,
                pick(&mut rng, SUFFIXES)
            );
            let name = if n % 7 == 0 { format!("{name}（{}分公司）", pick(&mut rng, PLACES).1) } else { name };
            // A tenth of the customers belong to rep 0; the rest follow a power law.
            let owner = if n % 10 == 0 {
                reps[0]
            } else {
                reps[((rng.gen_range(0.0f64..1.0).powi(3)) * reps.len() as f64) as usize % reps.len()]
            };
            let id = Uuid::now_v7();
            let phone = mobile(&mut rng);
            let tax = tax_id(&mut rng);
            let mnemonic = mnemonic_code(&name);
            let created_at = now - Duration::days(rng.gen_range(0..1_095));
            for token in search_tokens(&name, &[&phone], tax.as_deref()) {
                tokens.push(customer_search_token::ActiveModel {
                    tenant_id: Set(tenant.uuid()),
                    token: Set(token),
                    customer_id: Set(id),
                });
            }
            customers.push(customer::ActiveModel {
                tenant_id: Set(tenant.uuid()),
                id: Set(id),
                customer_number: Set(format!("BM{today}{n:08}")),
                kind: Set("ORGANIZATION".into()),
                customer_type: Set("CUSTOMER".into()),
                normalized_name: Set(normalize_name(&name)),
                search_name: Set(search_text(&name)),
                mnemonic_code: Set(mnemonic),
                name: Set(name),
                level: Set(Some(pick(&mut rng, &["A", "B", "C"]).to_string())),
                status: Set(pick(&mut rng, &["POTENTIAL", "INTENT", "WON", "LOST", "DORMANT"]).to_string()),
                credit_rating: Set(None),
                credit_limit: Set(Some(format!("{}.00", rng.gen_range(1..500) * 1_000))),
                parent_id: Set(None),
                industry: Set(Some(industry.into())),
                region: Set(None),
                province: Set(Some(province.into())),
                city: Set(Some(format!("{city}市"))),
                address: Set(Some(format!("{city}市高新区{}路{}号", pick(&mut rng, BRANDS), rng.gen_range(1..999)))),
                postal_code: Set(None),
                latitude: Set(None),
                longitude: Set(None),
                main_phone: Set(Some(phone)),
                finance_phone: Set(None),
                email: Set(None),
                website: Set(None),
                size: Set(None),
                tax_id: Set(tax),
                bank_name: Set(None),
                bank_account: Set(None),
                business_scope: Set(None),
                source: Set(Some(pick(&mut rng, &["展会", "官网", "转介绍", "电话营销"]).to_string())),
                owner_id: Set(Some(owner.uuid())),
                owner_department_id: Set(None),
                registered_at: Set(None),
                tags: Set(Value::Array(vec![])),
                notes: Set(None),
                custom_fields: Set(serde_json::json!({})),
                merged_into_id: Set(None),
                last_interaction_at: Set(None),
                next_follow_up_at: Set(None),
                last_deal_at: Set(None),
                pool_id: Set(None),
                pool_entered_at: Set(None),
                pool_action: Set(None),
                pool_reason: Set(None),
                previous_owner_id: Set(None),
                owner_received_at: Set(None),
                locked: Set(false),
                created_by: Set(Some(owner.uuid())),
                version: Set(1),
                created_at: Set(created_at),
                updated_at: Set(created_at),
                deleted_at: Set(None),
            });
            for c in 0..scale.contacts_per_customer {
                let contact_id = Uuid::now_v7();
                let contact_name = format!("{}{}", pick(&mut rng, SURNAMES), pick(&mut rng, GIVEN));
                contacts.push(contact::ActiveModel {
                    tenant_id: Set(tenant.uuid()),
                    id: Set(contact_id),
                    customer_id: Set(id),
                    mnemonic_codes: Set(guanxi_domain::mnemonic::mnemonic_codes(&contact_name).join(" ")),
                    name: Set(contact_name),
                    gender: Set(None),
                    birthday: Set(None),
                    department: Set(Some("采购部".into())),
                    title: Set(Some(["总经理", "采购经理", "采购专员"][c % 3].into())),
                    manager_id: Set(None),
                    office_phone: Set(None),
                    mobile: Set(Some(mobile(&mut rng))),
                    email: Set(None),
                    home_phone: Set(None),
                    fax: Set(None),
                    hobbies: Set(None),
                    notes: Set(None),
                    owner_id: Set(Some(owner.uuid())),
                    decision_role: Set(["DECISION_MAKER", "INFLUENCER", "GATEKEEPER"][c % 3].into()),
                    custom_fields: Set(serde_json::json!({})),
                    version: Set(1),
                    created_at: Set(created_at),
                    updated_at: Set(created_at),
                    deleted_at: Set(None),
                });
            }
            customer_ids.push(id);
            customer_owners.push(owner.uuid());
        }
        let tx = db.begin_write().await?;
        rows += crate::insert_chunked(&tx, customers).await?;
        if index == 0 {
            analyze(&tx, "customers").await?;
        }
        rows += crate::insert_chunked(&tx, contacts).await?;
        rows += crate::insert_chunked(&tx, tokens).await?;
        tx.commit().await?;
        index = end;
        progress("customers", rows, false);
    }
    progress("customers", rows, true);

    // A third of the interactions on one hot customer, the rest spread over three years.
    if customer_ids.is_empty() {
        return Ok(Loaded { rows, seconds: started.elapsed().as_secs_f64() });
    }
    let hot_share = scale.interactions / 3;
    // The work log's counts, tallied as the interactions are made.
    let mut counts = crate::activity::work_count::Counts::new();
    let mut made = 0;
    while made < scale.interactions {
        let end = (made + 20_000).min(scale.interactions);
        let mut batch = Vec::with_capacity(end - made);
        for n in made..end {
            let pick_customer = if n < hot_share { 0 } else { rng.gen_range(0..customer_ids.len()) };
            let customer = customer_ids[pick_customer];
            // Follow-ups are mostly written by the customer's owner; one in ten by a
            // colleague (a visit together, a hand-over).
            let author = if rng.gen_range(0..10) == 0 {
                reps[rng.gen_range(0..reps.len())].uuid()
            } else {
                customer_owners[pick_customer]
            };
            let occurred = now - Duration::minutes(rng.gen_range(0..1_576_800));
            let channel = pick(&mut rng, &["CALL", "VISIT", "EMAIL", "WECHAT", "WECOM", "MEETING"]).to_string();
            crate::activity::work_count::count_new(
                &mut counts,
                Some(author),
                occurred,
                Some(customer_owners[pick_customer]),
                &channel,
            );
            batch.push(interaction::ActiveModel {
                tenant_id: Set(tenant.uuid()),
                id: Set(Uuid::now_v7()),
                customer_id: Set(customer),
                author_id: Set(Some(author)),
                channel: Set(channel),
                occurred_at: Set(occurred),
                content: Set(pick(
                    &mut rng,
                    &["电话沟通采购计划", "上门拜访演示产品", "微信确认报价", "邮件发送合同草稿", "会议讨论交付方案"],
                )
                .to_string()),
                outcome: Set(None),
                next_follow_up_at: Set(None),
                contact_ids: Set(Value::Array(vec![])),
                source: Set("manual".into()),
                external_id: Set(None),
                latitude: Set(None),
                longitude: Set(None),
                attachments: Set(Value::Array(vec![])),
                version: Set(1),
                created_at: Set(occurred),
                updated_at: Set(occurred),
                deleted_at: Set(None),
            });
        }
        let tx = db.begin_write().await?;
        rows += crate::insert_chunked(&tx, batch).await?;
        tx.commit().await?;
        made = end;
        progress("interactions", rows, false);
    }
    progress("interactions", rows, true);
    let tx = db.begin_write().await?;
    rows += crate::activity::work_count::add_rows(&tx, tenant, counts).await?;
    tx.commit().await?;
    rows += opportunities(db, tenant, &mut rng, &customer_ids, &customer_owners).await?;
    progress("deals", rows, true);
    rows += crate::bench_trade::load(db, tenant, &mut rng, &customer_ids, &customer_owners).await?;
    progress("trade", rows, true);
    rows += crate::bench_finance::load(db, tenant, &mut rng, (&customer_ids, &customer_owners), admin.id).await?;
    progress("finance", rows, true);
    let setup = crate::bench_service::Setup {
        root: created.root.id,
        technician_role: created.role("technician").ok_or_else(missing)?.id,
        agent_role: created.role("service_agent").ok_or_else(missing)?.id,
        reps: scale.reps,
        hash: &hash,
    };
    rows += crate::bench_service::load(db, tenant, &mut rng, &customer_ids, setup).await?;
    progress("service", rows, true);
    rows += crate::sharing::bench::load(db, tenant, &mut rng, (&customer_ids, &customer_owners)).await?;
    crate::sharing::bench::rules(db, tenant, &reps).await?;
    progress("sharing", rows, true);
    let pool = bench_pool(db, tenant, created.root.id).await?;
    let lead_rules = guanxi_domain::leads::scoring::example_rules();
    let leads = (&customer_ids[..], &customer_owners[..], pool);
    rows += crate::leads::bench::load(db, tenant, &mut rng, leads, lead_rules).await?;
    progress("leads", rows, true);
    rows += crate::marketing::bench::load(db, tenant, &mut rng, &customer_ids).await?;
    progress("marketing", rows, true);
    backfill_last_interaction(db, tenant).await?;
    // Fresh statistics, as after any bulk load: without them PostgreSQL planned the
    // scoped interaction list as a loop over every customer (500 ms instead of 1 ms)
    // until autovacuum came round to analysing the tables. On PostgreSQL the VACUUM also
    // sets the visibility map, without which an index-only scan of the search tokens still
    // visits the table for every row (12k heap fetches, 200 ms instead of 5 ms).
    let maintenance = match db.db_backend() {
        sea_orm::DbBackend::Postgres => "VACUUM ANALYZE",
        _ => "ANALYZE",
    };
    db.connection().execute_unprepared(maintenance).await?;
    progress("statistics", rows, true);
    Ok(Loaded { rows, seconds: started.elapsed().as_secs_f64() })
}

/// Refreshes PostgreSQL's statistics of a table the loader has just started filling, inside
/// the loading transaction. A foreign-key check caches its plan the first time it runs in a
/// connection; planned against an empty `customers` table it scans the table for every
/// referencing row, so each batch of 10,000 search tokens took longer than the last (0.3 s
/// after 1,000 customers, 2.9 s after 6,000; 60 ms flat with the statistics).
async fn analyze<C: ConnectionTrait>(conn: &C, table: &str) -> crate::StoreResult<()> {
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        conn.execute_unprepared(&format!("ANALYZE {table}")).await?;
    }
    Ok(())
}

/// Sets every customer's last interaction from its interactions, in one set-based
/// statement (the loader writes customers before their interactions).
pub async fn backfill_last_interaction(db: &Database, tenant: TenantId) -> crate::StoreResult<u64> {
    let t = tenant.uuid();
    let statement = match db.db_backend() {
        sea_orm::DbBackend::Postgres => crate::dialect::raw_statement(
            db.db_backend(),
            "UPDATE customers c SET last_interaction_at = m.last FROM \
             (SELECT customer_id, MAX(occurred_at) AS last FROM interactions \
              WHERE tenant_id = ? AND deleted_at IS NULL GROUP BY customer_id) m \
             WHERE c.tenant_id = ? AND c.id = m.customer_id",
            [t.into(), t.into()],
        ),
        backend => crate::dialect::raw_statement(
            backend,
            "UPDATE customers SET last_interaction_at = (SELECT MAX(i.occurred_at) FROM interactions i \
             WHERE i.tenant_id = customers.tenant_id AND i.customer_id = customers.id AND i.deleted_at IS NULL) \
             WHERE tenant_id = ?",
            [t.into()],
        ),
    };
    Ok(db.connection().execute_raw(statement).await?.rows_affected())
}

/// The company-wide public pool (公海) of the benchmark tenant: every rep is a member, and
/// customers left 90 days without follow-up go back to it unless they have won a deal.
/// Leads wait in it too (those their reps gave up), without a reclaim rule: the loaded
/// leads' follow-ups are as old as the leads.
async fn bench_pool(db: &Database, tenant: TenantId, root: DepartmentId) -> crate::StoreResult<Uuid> {
    use guanxi_domain::sales::pool::{MemberKind, PoolMember, PoolSettings, PoolSubject, ReclaimKind, ReclaimRule};
    let follow_up = ReclaimRule {
        applies_to: PoolSubject::Customers,
        kind: ReclaimKind::NoFollowUp,
        days: 90,
        levels: vec![],
        exempt_won: true,
        exempt_open: false,
    };
    let settings = PoolSettings {
        name: "公司公海".to_owned(),
        auto_reclaim: true,
        warn_days: 7,
        cooldown_days: 7,
        daily_claim_cap: Some(20),
        owned_cap: None,
        rules: vec![follow_up],
        members: vec![PoolMember { kind: MemberKind::Department, id: root.uuid(), admin: false }],
    };
    let tx = db.begin_write().await?;
    let pool = crate::sales::pool::create(&tx, &Author::system(tenant), settings).await?;
    tx.commit().await?;
    Ok(pool.id.uuid())
}

/// Two deals for every five customers, owned by the customer's owner, created over the
/// last two years and walked through the default pipeline with their stage history: half
/// still open, a fifth lost where they stopped, the rest won. Each deal's version is the
/// number of stages it entered, as if every move had gone through `moveOpportunityStage`.
async fn opportunities(
    db: &Database,
    tenant: guanxi_domain::ids::TenantId,
    rng: &mut StdRng,
    customers: &[Uuid],
    owners: &[Uuid],
) -> crate::StoreResult<u64> {
    use guanxi_domain::sales::opportunity::StageKind;
    let pipeline =
        crate::sales::pipeline::pipeline(db.connection(), tenant, None).await?.ok_or(crate::StoreError::NotFound)?;
    let open: Vec<_> = pipeline.stages.iter().filter(|s| s.kind == StageKind::Open).cloned().collect();
    let won = pipeline.stages.iter().find(|s| s.kind == StageKind::Won).cloned().ok_or(crate::StoreError::NotFound)?;
    let lost =
        pipeline.stages.iter().find(|s| s.kind == StageKind::Lost).cloned().ok_or(crate::StoreError::NotFound)?;
    let now = Utc::now();
    let mut rows = 0;
    let mut deals = Vec::new();
    let mut changes = Vec::new();
    for (i, (customer, owner)) in customers.iter().zip(owners).enumerate() {
        if i % 5 >= 2 {
            continue;
        }
        let outcome = rng.gen_range(0..100);
        // How far the deal got among the open stages: most stop early.
        let furthest =
            [0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3][rng.gen_range(0..20)].min(open.len() - 1);
        let mut path: Vec<&guanxi_domain::sales::opportunity::Stage> = open.iter().take(furthest + 1).collect();
        let kind = match outcome {
            0..50 => StageKind::Open,
            50..70 => StageKind::Lost,
            _ => StageKind::Won,
        };
        match kind {
            StageKind::Won => {
                path = open.iter().collect();
                path.push(&won);
            }
            StageKind::Lost => path.push(&lost),
            StageKind::Open => {}
        }
        let days: Vec<i64> = path.iter().map(|_| rng.gen_range(1..25)).collect();
        let span: i64 = days.iter().sum();
        let created = now - Duration::days(span + rng.gen_range(0..700)) - Duration::minutes(rng.gen_range(0..1_440));
        let id = Uuid::now_v7();
        let amount_fen = rng.gen_range(1_000..2_000_000_i64) * 100;
        let mut at = created;
        let mut from: Option<(Uuid, chrono::DateTime<Utc>)> = None;
        for (step, stage) in path.iter().enumerate() {
            if step > 0 {
                at += Duration::days(days[step - 1]);
            }
            changes.push(opportunity_stage_change::ActiveModel {
                tenant_id: Set(tenant.uuid()),
                id: Set(Uuid::now_v7()),
                opportunity_id: Set(id),
                from_stage_id: Set(from.map(|(s, _)| s)),
                to_stage_id: Set(stage.id.uuid()),
                changed_at: Set(at),
                changed_by: Set(Some(*owner)),
                seconds_in_from_stage: Set(from.map(|(_, entered)| (at - entered).num_seconds())),
                amount_fen: Set(amount_fen),
            });
            from = Some((stage.id.uuid(), at));
        }
        let current = path.last().copied().unwrap_or(&open[0]);
        let reached = if kind == StageKind::Won { won.position } else { open[furthest].position };
        deals.push(opportunity::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            id: Set(id),
            customer_id: Set(*customer),
            pipeline_id: Set(pipeline.id.uuid()),
            stage_id: Set(current.id.uuid()),
            status: Set(kind.as_str().into()),
            name: Set(format!("{}采购项目", pick(rng, &["年度", "二期", "扩产", "升级改造", "试点", "框架"]))),
            amount_fen: Set(amount_fen),
            currency: Set("CNY".into()),
            expected_close_date: Set(Some((created + Duration::days(90)).date_naive())),
            source: Set(Some(pick(rng, &["展会", "官网", "转介绍", "电话营销"]).to_string())),
            competitors: Set(None),
            notes: Set(None),
            owner_id: Set(Some(*owner)),
            stage_entered_at: Set(at),
            reached_position: Set(reached),
            closed_at: Set((kind != StageKind::Open).then_some(at)),
            forecast_category: Set(match kind {
                StageKind::Won => "CLOSED",
                StageKind::Lost => "OMITTED",
                StageKind::Open => ["PIPELINE", "PIPELINE", "BEST_CASE", "COMMIT"][id.as_u128() as usize % 4],
            }
            .to_owned()),
            // The campaign loader links some deals to campaigns.
            campaign_id: Set(None),
            close_reason: Set(match kind {
                StageKind::Lost => Some(pick(rng, &["价格高于竞品", "需求取消", "选择了竞品", "预算不足"]).to_string()),
                StageKind::Won => Some("方案最优".into()),
                StageKind::Open => None,
            }),
            version: Set(path.len() as i32),
            created_at: Set(created),
            updated_at: Set(at),
            deleted_at: Set(None),
        });
        if deals.len() >= 5_000 {
            let tx = db.begin_write().await?;
            let first = rows == 0;
            rows += crate::insert_chunked(&tx, std::mem::take(&mut deals)).await?;
            if first {
                analyze(&tx, "opportunities").await?;
            }
            rows += crate::insert_chunked(&tx, std::mem::take(&mut changes)).await?;
            tx.commit().await?;
        }
    }
    let tx = db.begin_write().await?;
    rows += crate::insert_chunked(&tx, deals).await?;
    rows += crate::insert_chunked(&tx, changes).await?;
    tx.commit().await?;
    Ok(rows)
}
