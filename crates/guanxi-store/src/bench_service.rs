//! The benchmark loader's after-sales service: one technician per ten reps (20 at M),
//! each skilled in two product categories and serving two cities, and one service agent
//! per forty reps; an asset for one customer in three (33k at M), a service contract for
//! one in twenty, and a work order for one customer in two (50k at M) over the last year —
//! most closed, a tenth still open — with parts on the completed ones and a satisfaction
//! score on six in ten of those; and five knowledge-base articles per rep (1,000 at M)
//! with their search tokens. Fast path, no change events (see `bench_data`).

use chrono::{Duration, Utc};
use guanxi_domain::customers::customer::shanghai_date;
use guanxi_domain::ids::{DepartmentId, RoleId, TenantId, UserId};
use guanxi_domain::platform::access::DepartmentRule;
use guanxi_domain::platform::org::{Email, Name};
use guanxi_domain::service::asset::{Coverage, CoverageKind};
use guanxi_domain::service::sla::{SlaPolicy, WorkingCalendar};
use guanxi_domain::service::work_order::{PaymentStatus, Priority, ServiceChannel, WorkOrderStatus, WorkOrderType};
use rand::Rng;
use rand::rngs::StdRng;
use sea_orm::ActiveValue::Set;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};
use serde_json::json;
use uuid::Uuid;

use crate::Database;
use crate::entity::{
    asset, customer, kb_article, kb_article_token, product, service_contract, technician, technician_skill, work_order,
    work_order_item,
};
use crate::platform::audit::Author;

/// How a loaded order stands, by its share in a hundred.
const STATUSES: &[(WorkOrderStatus, u32)] = &[
    (WorkOrderStatus::Closed, 70),
    (WorkOrderStatus::Confirmed, 8),
    (WorkOrderStatus::Completed, 6),
    (WorkOrderStatus::InProgress, 3),
    (WorkOrderStatus::Dispatched, 4),
    (WorkOrderStatus::Accepted, 2),
    (WorkOrderStatus::Submitted, 2),
    (WorkOrderStatus::Cancelled, 5),
];

fn status_of(roll: u32) -> WorkOrderStatus {
    let mut total = 0;
    for (status, share) in STATUSES {
        total += share;
        if roll < total {
            return *status;
        }
    }
    WorkOrderStatus::Closed
}

/// What the crew is made with: the tenant's root department, the built-in roles, how
/// many reps there are and the password every generated user gets.
pub(crate) struct Setup<'a> {
    pub root: DepartmentId,
    pub technician_role: RoleId,
    pub agent_role: RoleId,
    pub reps: usize,
    pub hash: &'a str,
}

/// Makes the service crew: technicians (with skills) and agents. Returns (technicians, agents).
async fn crew(
    db: &Database,
    tenant: TenantId,
    rng: &mut StdRng,
    setup: &Setup<'_>,
    categories: &[Uuid],
) -> crate::StoreResult<(Vec<Uuid>, Vec<Uuid>)> {
    let (reps, hash) = (setup.reps, setup.hash);
    let tx = db.begin_write().await?;
    let author = Author::system(tenant);
    let (technician_role, agent_role) = (setup.technician_role, setup.agent_role);
    let department = crate::platform::department::create(
        &tx,
        &author,
        DepartmentRule::All,
        crate::platform::department::NewDepartment {
            name: Name::parse("name", "售后服务部")?,
            parent_id: Some(setup.root),
            sort_order: 999,
        },
    )
    .await?;
    let (mut technicians, mut agents) = (Vec::new(), Vec::new());
    let mut skills = Vec::new();
    let now = Utc::now();
    let people = (reps / 10).max(2) + (reps / 40).max(1);
    for n in 0..people {
        let is_agent = n < (reps / 40).max(1);
        let (email, name, role) = if is_agent {
            (format!("agent{n}@bench.local"), format!("客服{n}"), agent_role)
        } else {
            (format!("tech{n}@bench.local"), format!("技术员{n}"), technician_role)
        };
        let user = crate::platform::user::create(
            &tx,
            &author,
            DepartmentRule::All,
            crate::platform::user::NewUser {
                email: Email::parse("email", &email)?,
                display_name: Name::parse("name", &name)?,
                phone: None,
                password_hash: hash.to_owned(),
                department_id: department.id,
                manager_id: agents.first().copied().map(UserId::from_uuid),
                role_id: role,
            },
        )
        .await?;
        let id = user.id.uuid();
        if is_agent {
            agents.push(id);
            continue;
        }
        technicians.push(id);
        technician::Entity::insert(technician::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            id: Set(id),
            active: Set(true),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        })
        .exec(&tx)
        .await?;
        let mut mine = Vec::new();
        for _ in 0..2 {
            if let Some(category) = categories.get(rng.gen_range(0..categories.len().max(1))) {
                mine.push(("CATEGORY", category.to_string()));
            }
            let (_, city) = crate::bench_data::place(rng);
            mine.push(("REGION", format!("{city}市")));
        }
        mine.sort();
        mine.dedup();
        skills.extend(mine.into_iter().map(|(kind, value)| technician_skill::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            kind: Set(kind.into()),
            value: Set(value),
            user_id: Set(id),
        }));
    }
    crate::insert_chunked(&tx, skills).await?;
    tx.commit().await?;
    Ok((technicians, agents))
}

/// Loads the service crew, assets, contracts and work orders for `customers`; returns
/// the rows written.
pub(crate) async fn load(
    db: &Database,
    tenant: TenantId,
    rng: &mut StdRng,
    customers: &[Uuid],
    setup: Setup<'_>,
) -> crate::StoreResult<u64> {
    let t = tenant.uuid();
    let conn = db.connection();
    let products: Vec<(Uuid, Option<Uuid>)> = product::Entity::find()
        .select_only()
        .column(product::Column::Id)
        .column(product::Column::CategoryId)
        .filter(product::Column::TenantId.eq(t))
        .into_tuple()
        .all(conn)
        .await?;
    let mut categories: Vec<Uuid> = products.iter().filter_map(|(_, c)| *c).collect();
    categories.sort();
    categories.dedup();
    let cities: std::collections::HashMap<Uuid, Option<String>> = customer::Entity::find()
        .select_only()
        .column(customer::Column::Id)
        .column(customer::Column::City)
        .filter(customer::Column::TenantId.eq(t))
        .into_tuple::<(Uuid, Option<String>)>()
        .all(conn)
        .await?
        .into_iter()
        .collect();
    let (technicians, agents) = crew(db, tenant, rng, &setup, &categories).await?;
    let mut rows = (technicians.len() + agents.len()) as u64;
    let now = Utc::now();
    let today = shanghai_date(now);
    let (calendar, policy) = (WorkingCalendar::default(), SlaPolicy::default());
    let (mut assets, mut contracts, mut orders, mut items) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (i, customer) in customers.iter().enumerate() {
        let Some((product, _)) = products.get(rng.gen_range(0..products.len().max(1))).copied() else { break };
        let asset = (i % 3 == 0).then(Uuid::now_v7);
        let bought = today - Duration::days(rng.gen_range(30..1_500));
        let warranty = bought + Duration::days(365 * rng.gen_range(1..4));
        if let Some(id) = asset {
            assets.push(asset::ActiveModel {
                tenant_id: Set(t),
                id: Set(id),
                customer_id: Set(*customer),
                product_id: Set(product),
                serial_number: Set(Some(format!("SN{i:09}"))),
                purchased_on: Set(Some(bought)),
                warranty_ends_on: Set(Some(warranty)),
                address: Set(None),
                order_id: Set(None),
                contract_id: Set(None),
                note: Set(None),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
                deleted_at: Set(None),
            });
        }
        if i % 20 == 0 {
            contracts.push(service_contract::ActiveModel {
                tenant_id: Set(t),
                id: Set(Uuid::now_v7()),
                number: Set(format!("FW{i:09}")),
                customer_id: Set(*customer),
                owner_id: Set(agents.first().copied()),
                starts_on: Set(today - Duration::days(rng.gen_range(0..300))),
                ends_on: Set(today + Duration::days(rng.gen_range(30..400))),
                level: Set("标准".into()),
                asset_ids: Set(json!([])),
                product_ids: Set(json!([])),
                covers_parts: Set(true),
                covers_labour: Set(rng.gen_bool(0.5)),
                sla: Set(None),
                note: Set(None),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
                deleted_at: Set(None),
            });
        }
        if i % 2 != 1 {
            continue;
        }
        let created = now - Duration::minutes(rng.gen_range(60..525_600));
        let status = status_of(rng.gen_range(0..100));
        let reached = |s: WorkOrderStatus| {
            let order = [
                WorkOrderStatus::Submitted,
                WorkOrderStatus::Accepted,
                WorkOrderStatus::Dispatched,
                WorkOrderStatus::InProgress,
                WorkOrderStatus::Completed,
                WorkOrderStatus::Confirmed,
                WorkOrderStatus::Closed,
            ];
            let at = |x| order.iter().position(|o| *o == x).unwrap_or(0);
            status != WorkOrderStatus::Cancelled && at(status) >= at(s)
        };
        let step = |hours: i64| Some(created + Duration::hours(hours));
        let priority = [Priority::Normal, Priority::High, Priority::Low, Priority::Urgent][i % 4];
        let completed = reached(WorkOrderStatus::Completed);
        let id = Uuid::now_v7();
        let technician = reached(WorkOrderStatus::Dispatched)
            .then(|| technicians.get(rng.gen_range(0..technicians.len().max(1))).copied())
            .flatten();
        let covered = asset.is_some() && shanghai_date(created) <= warranty;
        let coverage = Coverage {
            kind: if covered { CoverageKind::Warranty } else { CoverageKind::None },
            service_contract_id: None,
            parts_covered: covered,
            labour_covered: covered,
            reason: if covered { "在保".into() } else { "自费".into() },
        };
        let (mut parts_e4, labour_e4) = (0i64, if completed { 1_500_000 } else { 0 });
        if completed {
            for n in 0..rng.gen_range(1..4) {
                let price = rng.gen_range(20..400) * 10_000;
                parts_e4 += price;
                items.push(work_order_item::ActiveModel {
                    tenant_id: Set(t),
                    id: Set(Uuid::now_v7()),
                    work_order_id: Set(id),
                    position: Set(n),
                    kind: Set("PART".into()),
                    product_id: Set(None),
                    name: Set(["压缩机电容", "风机电机", "四通阀", "温度传感器"][n as usize % 4].into()),
                    quantity_e4: Set(10_000),
                    unit_price_e4: Set(price),
                    amount_e4: Set(price),
                    serial_number: Set(None),
                });
            }
        }
        let charge = if covered { 0 } else { parts_e4 + labour_e4 };
        let payment = match (charge, status) {
            (0, _) => PaymentStatus::NotDue,
            (_, WorkOrderStatus::Closed) => PaymentStatus::Paid,
            _ => PaymentStatus::Unpaid,
        };
        orders.push(work_order::ActiveModel {
            tenant_id: Set(t),
            id: Set(id),
            number: Set(format!("GD{i:09}")),
            customer_id: Set(*customer),
            contact_id: Set(None),
            asset_id: Set(asset),
            product_id: Set(Some(product)),
            channel: Set([ServiceChannel::Phone, ServiceChannel::Wechat, ServiceChannel::Web][i % 3].as_str().into()),
            kind: Set([WorkOrderType::Repair, WorkOrderType::Maintenance, WorkOrderType::Installation][i % 3 % 2]
                .as_str()
                .into()),
            priority: Set(priority.as_str().into()),
            subject: Set("设备故障报修".into()),
            description: Set(None),
            attachment_ids: Set(json!([])),
            window_from: Set(None),
            window_to: Set(None),
            address: Set(None),
            region: Set(cities.get(customer).cloned().flatten()),
            status: Set(status.as_str().into()),
            held_from: Set(None),
            reason: Set((status == WorkOrderStatus::Cancelled).then(|| "客户取消".to_owned())),
            coverage: Set(serde_json::to_value(&coverage).unwrap_or_default()),
            owner_id: Set(agents.get(i % agents.len().max(1)).copied()),
            dispatcher_id: Set(technician.and(agents.first().copied())),
            technician_id: Set(technician),
            accepted_at: Set(reached(WorkOrderStatus::Accepted).then_some(step(2)).flatten()),
            dispatched_at: Set(reached(WorkOrderStatus::Dispatched).then_some(step(4)).flatten()),
            travel_started_at: Set(None),
            started_at: Set(reached(WorkOrderStatus::InProgress).then_some(step(20)).flatten()),
            completed_at: Set(completed.then_some(step(rng.gen_range(22..96))).flatten()),
            confirmed_at: Set(reached(WorkOrderStatus::Confirmed).then_some(step(100)).flatten()),
            closed_at: Set((status == WorkOrderStatus::Closed).then_some(step(120)).flatten()),
            cancelled_at: Set((status == WorkOrderStatus::Cancelled).then_some(step(3)).flatten()),
            reopen_count: Set(0),
            resolution: Set(completed.then(|| "更换故障部件，试机正常".to_owned())),
            root_cause: Set(None),
            parts_e4: Set(parts_e4),
            labour_e4: Set(labour_e4),
            charge_e4: Set(charge),
            payment_status: Set(payment.as_str().into()),
            payment_method: Set((payment == PaymentStatus::Paid).then(|| "WECHAT".to_owned())),
            paid_at: Set((payment == PaymentStatus::Paid).then_some(step(110)).flatten()),
            satisfaction: Set((completed && rng.gen_bool(0.6)).then(|| rng.gen_range(3..=5))),
            satisfaction_comment: Set(None),
            defect_id: Set(None),
            return_visit_id: Set(None),
            complaint_of: Set(None),
            response_due_at: Set(calendar.add_working_minutes(created, policy.target(priority).response_minutes)),
            resolution_due_at: Set(calendar.add_working_minutes(created, policy.target(priority).resolution_minutes)),
            response_breached_at: Set(None),
            resolution_breached_at: Set(None),
            external_id: Set(None),
            created_by: Set(agents.first().copied()),
            version: Set(1),
            created_at: Set(created),
            updated_at: Set(created),
        });
    }
    rows += articles(db, tenant, rng, setup.reps * 5).await?;
    rows += portal_tokens(db, tenant, customers).await?;
    let tx = db.begin_write().await?;
    rows += crate::insert_chunked(&tx, assets).await?;
    rows += crate::insert_chunked(&tx, contracts).await?;
    rows += crate::insert_chunked(&tx, orders).await?;
    rows += crate::insert_chunked(&tx, items).await?;
    tx.commit().await?;
    Ok(rows)
}

/// A portal token for the first contact of one customer in ten (10,000 at M), as if one
/// customer in ten followed their requests through the portal.
async fn portal_tokens(db: &Database, tenant: TenantId, customers: &[Uuid]) -> crate::StoreResult<u64> {
    let sampled: Vec<Uuid> = customers.iter().step_by(10).copied().collect();
    let now = Utc::now();
    let mut tokens = Vec::new();
    for chunk in sampled.chunks(500) {
        let contacts: Vec<(Uuid, Uuid)> = crate::entity::contact::Entity::find()
            .select_only()
            .column(crate::entity::contact::Column::CustomerId)
            .column(crate::entity::contact::Column::Id)
            .filter(crate::entity::contact::Column::TenantId.eq(tenant.uuid()))
            .filter(crate::entity::contact::Column::CustomerId.is_in(chunk.iter().copied()))
            .into_tuple()
            .all(db.connection())
            .await?;
        let mut seen = std::collections::HashSet::new();
        for (customer, contact) in contacts {
            if !seen.insert(customer) {
                continue;
            }
            let id = Uuid::now_v7();
            tokens.push(crate::entity::portal_token::ActiveModel {
                tenant_id: Set(tenant.uuid()),
                id: Set(id),
                contact_id: Set(contact),
                customer_id: Set(customer),
                label: Set(Some("微信服务号".into())),
                prefix: Set("gxp_bench".into()),
                // Not a hash of any token: these only fill the table.
                secret_hash: Set(format!("{:064x}", id.as_u128())),
                created_by: Set(None),
                created_at: Set(now),
                expires_at: Set(now + Duration::days(90)),
                last_used_at: Set(None),
                revoked_at: Set(None),
            });
        }
    }
    let tx = db.begin_write().await?;
    let rows = crate::insert_chunked(&tx, tokens).await?;
    tx.commit().await?;
    Ok(rows)
}

/// `n` published articles of the knowledge base (1,000 at M), each a title and a body of
/// a few sentences drawn from the trade's vocabulary, with their search tokens.
async fn articles(db: &Database, tenant: TenantId, rng: &mut StdRng, n: usize) -> crate::StoreResult<u64> {
    use guanxi_domain::service::knowledge::article_tokens;
    const PARTS: &[&str] =
        &["压缩机", "四通阀", "风机电容", "温度传感器", "排水泵", "主板", "室外机", "遥控器", "冷凝器", "膨胀阀"];
    const FAULTS: &[&str] = &["不制冷", "不制热", "漏水", "异响", "频繁启停", "显示故障代码", "无法开机", "噪音过大"];
    const STEPS: &[&str] = &[
        "先断电十分钟后重新上电",
        "用万用表测量电阻和电压",
        "检查接线端子是否松动",
        "清洗滤网和蒸发器",
        "确认制冷剂压力是否正常",
        "更换故障部件后试机半小时",
    ];
    let (t, now) = (tenant.uuid(), Utc::now());
    let (mut models, mut tokens) = (Vec::with_capacity(n), Vec::new());
    for i in 0..n {
        let part = PARTS[rng.gen_range(0..PARTS.len())];
        let fault = FAULTS[rng.gen_range(0..FAULTS.len())];
        let title = format!("空调{fault}：{part}的排查与处理（{i}）");
        let body: Vec<&str> = (0..4).map(|_| STEPS[rng.gen_range(0..STEPS.len())]).collect();
        let body = format!("现象：{fault}。可能原因：{part}损坏。处理步骤：{}。", body.join("；"));
        let search = guanxi_domain::customers::customer::search_text(&format!("{title} {body}"));
        let id = Uuid::now_v7();
        tokens.extend(article_tokens(&search).into_iter().map(|token| kb_article_token::ActiveModel {
            tenant_id: Set(t),
            token: Set(token),
            article_id: Set(id),
        }));
        models.push(kb_article::ActiveModel {
            tenant_id: Set(t),
            id: Set(id),
            title: Set(title),
            body: Set(body),
            search_text: Set(search),
            category_id: Set(None),
            tags: Set(json!([part])),
            visibility: Set("PUBLIC".into()),
            status: Set("PUBLISHED".into()),
            author_id: Set(None),
            published_at: Set(Some(now)),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        });
    }
    let tx = db.begin_write().await?;
    let mut rows = crate::insert_chunked(&tx, models).await?;
    rows += crate::insert_chunked(&tx, tokens).await?;
    tx.commit().await?;
    Ok(rows)
}
