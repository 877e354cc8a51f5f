//! The demo tenant's after-sales service: 赵强 is a technician for air conditioners in
//! Shanghai and Suzhou; 明远 owns an air conditioner under warranty, 恒信 one out of
//! warranty but under a service contract that covers parts. 明远's repair is dispatched
//! to 赵强 (his queue has it); 恒信's was completed, paid, confirmed, rated and closed,
//! with the knowledge-base article that solved it and the product defect it met; a third
//! request from 京华 waits to be taken.

use anyhow::Context;
use chrono::{Duration, Utc};
use guanxi_domain::customers::customer::shanghai_date;
use guanxi_domain::entity::{Assigned, OwnerAndCustomer};
use guanxi_domain::ids::{CustomerId, ProductId, TenantId, UserId};
use guanxi_domain::service::asset::{AssetFields, ServiceTerms};
use guanxi_domain::service::portal::PortalSession;
use guanxi_domain::service::work_order::{
    Doer, ItemInput, ItemKind, PaymentMethod, Priority, Request, ServiceChannel, Transition, WorkOrder, WorkOrderType,
};
use guanxi_store::platform::audit::Author;
use guanxi_store::service::work_order::{Move, NewWorkOrder, Settlement};
use rust_decimal::Decimal;

/// Who works the demo's service requests.
pub(crate) struct Crew {
    pub agent: UserId,
    pub technician: UserId,
}

fn as_user(tenant: TenantId, user: UserId) -> Author {
    Author { tenant_id: tenant, user_id: Some(user.uuid()), api_key_id: None, contact_id: None, request_id: None }
}

/// The agent may take, dispatch and supervise; the technician is found by the store.
const AGENT: Doer =
    Doer { is_technician: false, may_write: true, may_dispatch: true, may_supervise: true, is_customer: false };
const TECHNICIAN: Doer =
    Doer { is_technician: false, may_write: true, may_dispatch: false, may_supervise: false, is_customer: false };

fn request(customer: CustomerId, subject: &str, kind: WorkOrderType, channel: ServiceChannel) -> Request {
    Request {
        customer_id: customer,
        contact_id: None,
        asset_id: None,
        product_id: None,
        channel,
        kind,
        priority: Priority::Normal,
        subject: subject.to_owned(),
        description: None,
        attachment_ids: vec![],
        window_from: None,
        window_to: None,
        address: None,
        region: None,
    }
}

/// Moves an order along `path`, each move by the agent or, for the visit, the technician.
async fn walk<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    (tenant, crew): (TenantId, &Crew),
    mut order: WorkOrder,
    path: &[(Transition, Move)],
) -> anyhow::Result<WorkOrder> {
    let everything = Assigned { rules: OwnerAndCustomer::ALL, technician: crew.technician.uuid() };
    for (transition, details) in path {
        let by_technician = matches!(transition, Transition::StartTravel | Transition::Start | Transition::Complete);
        let (who, doer) = if by_technician { (crew.technician, TECHNICIAN) } else { (crew.agent, AGENT) };
        order = guanxi_store::service::work_order::transition(
            tx,
            &as_user(tenant, who),
            everything,
            (order.id.uuid(), order.version),
            (*transition, doer),
            details.clone(),
        )
        .await?;
    }
    Ok(order)
}

/// The knowledge base: a category with two published articles, one of them public; the
/// capacitor article is linked to `order` as its solution.
async fn knowledge<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    agent: &Author,
    scope: Assigned,
    order: WorkOrder,
    product: ProductId,
) -> anyhow::Result<WorkOrder> {
    use guanxi_domain::service::knowledge::{ArticleFields, ArticleStatus, ArticleVisibility};
    let category = guanxi_store::service::knowledge::create_category(tx, agent, ("空调故障", None, 1)).await?;
    let article = |title: &str, body: &str, visibility| ArticleFields {
        title: title.to_owned(),
        body: body.to_owned(),
        category_id: Some(category.id),
        tags: vec!["空调".into()],
        product_ids: vec![product],
        visibility,
        status: ArticleStatus::Published,
    };
    let capacitor = guanxi_store::service::knowledge::create(
        tx,
        agent,
        article(
            "柜机异响：先查风机电容",
            "开机后有嗡嗡声、风机转速慢，多为**风机电容**老化。用万用表测容量，低于标称值 10% 即更换，并清洗滤网。",
            ArticleVisibility::Internal,
        ),
    )
    .await?;
    guanxi_store::service::knowledge::create(
        tx,
        agent,
        article(
            "空调不制冷怎么办",
            "1. 确认遥控器设为制冷模式，温度低于室温；\n2. 清洗滤网；\n3. 仍不制冷请报修，我们将派技术员上门。",
            ArticleVisibility::Public,
        ),
    )
    .await?;
    let link = (capacitor.id.uuid(), true);
    Ok(guanxi_store::service::knowledge::link(tx, agent, scope, (order.id.uuid(), order.version), link).await?)
}

/// A confirmed defect of the cabinet unit: its fan capacitors age early.
async fn defect<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    agent: &Author,
    product: ProductId,
) -> anyhow::Result<uuid::Uuid> {
    use guanxi_domain::service::defect::{DefectFields, DefectStatus, Severity};
    let fields = DefectFields {
        product_id: product,
        title: "风机电容早期老化".into(),
        description: Some("2023 年批次柜机的风机电容两年内容量下降明显。".into()),
        severity: Severity::Medium,
        status: DefectStatus::Confirmed,
    };
    Ok(guanxi_store::service::defect::create(tx, agent, fields).await?.id.uuid())
}

pub(crate) async fn demo_service<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    tenant: TenantId,
    crew: &Crew,
    customers: &[(&'static str, CustomerId, Option<UserId>)],
    products: &[ProductId],
) -> anyhow::Result<()> {
    let customer = |name: &str| customers.iter().find(|(n, ..)| *n == name).map(|(_, id, _)| *id);
    let mingyuan = customer("上海明远机械制造有限公司").context("the demo customer 明远")?;
    let hengxin = customer("苏州恒信电子科技有限公司").context("the demo customer 恒信")?;
    let jinghua = customer("北京京华软件股份有限公司").context("the demo customer 京华")?;
    let split = products.first().context("the demo catalogue")?;
    let cabinet = products.get(1).context("the demo catalogue")?;
    let agent = as_user(tenant, crew.agent);
    let system = Author::system(tenant);
    let air_conditioning =
        guanxi_store::trade::product::find(tx, tenant, (), split.uuid()).await?.and_then(|p| p.fields.category_id);
    guanxi_store::service::asset::set_technician(
        tx,
        &system,
        crew.technician.uuid(),
        true,
        (air_conditioning.map(|c| c.uuid()).into_iter().collect(), vec!["上海市".into(), "苏州市".into()]),
    )
    .await?;
    let today = shanghai_date(Utc::now());
    let asset = |product: ProductId, serial: &str, bought: i64, warranty: i64| AssetFields {
        product_id: product,
        serial_number: Some(serial.to_owned()),
        purchased_on: Some(today - Duration::days(bought)),
        warranty_ends_on: Some(today + Duration::days(warranty)),
        address: None,
        order_id: None,
        contract_id: None,
        note: None,
    };
    let everyone = guanxi_domain::platform::access::CustomerRule::ALL;
    let under_warranty = guanxi_store::service::asset::create_asset(
        tx,
        &agent,
        everyone,
        mingyuan.uuid(),
        asset(*split, "GREE35GW2025A0017", 200, 530),
    )
    .await?;
    let out_of_warranty = guanxi_store::service::asset::create_asset(
        tx,
        &agent,
        everyone,
        hengxin.uuid(),
        asset(*cabinet, "GREE72LW2023B0342", 1000, -270),
    )
    .await?;
    let terms = ServiceTerms {
        starts_on: today - Duration::days(60),
        ends_on: today + Duration::days(305),
        level: "金牌 7×24".into(),
        asset_ids: vec![out_of_warranty.id],
        product_ids: vec![],
        covers_parts: true,
        covers_labour: false,
        sla: None,
        note: Some("备件免费，人工按次收费".into()),
    };
    guanxi_store::service::asset::create_contract(tx, &agent, everyone, hengxin.uuid(), terms).await?;

    let take = |request: Request| NewWorkOrder { request, external_id: None, complaint_of: None };
    let mut repair = request(mingyuan, "会议室空调不制冷", WorkOrderType::Repair, ServiceChannel::Phone);
    repair.asset_id = Some(under_warranty.id);
    repair.priority = Priority::High;
    repair.description = Some("开机后只吹自然风，室外机不启动。".into());
    let order = guanxi_store::service::work_order::create(tx, &agent, everyone, take(repair)).await?;
    let dispatch = Move { technician_id: Some(crew.technician.uuid()), ..Move::default() };
    walk(tx, (tenant, crew), order, &[(Transition::Accept, Move::default()), (Transition::Dispatch, dispatch.clone())])
        .await?;

    let mut maintenance = request(hengxin, "柜机异响，需检修", WorkOrderType::Repair, ServiceChannel::Wechat);
    maintenance.asset_id = Some(out_of_warranty.id);
    let order = guanxi_store::service::work_order::create(tx, &agent, everyone, take(maintenance)).await?;
    let completion = Move {
        resolution: Some("更换风机电容，清洗室内机滤网，试机正常。".into()),
        root_cause: Some("风机电容老化".into()),
        ..Move::default()
    };
    let order = walk(
        tx,
        (tenant, crew),
        order,
        &[
            (Transition::Accept, Move::default()),
            (Transition::Dispatch, dispatch),
            (Transition::StartTravel, Move::default()),
            (Transition::Start, Move::default()),
            (Transition::Complete, completion),
        ],
    )
    .await?;
    let scope = Assigned { rules: OwnerAndCustomer::ALL, technician: crew.technician.uuid() };
    let part = ItemInput {
        kind: ItemKind::Part,
        product_id: None,
        name: "风机电容 4.5μF".into(),
        quantity: Decimal::ONE,
        unit_price: Some(Decimal::new(45, 0)),
        serial_number: None,
    };
    let (order, _) = guanxi_store::service::work_order::set_items(
        tx,
        &agent,
        scope,
        (order.id.uuid(), order.version),
        (vec![part], Decimal::new(150, 0)),
    )
    .await?;
    let order = guanxi_store::service::work_order::settle(
        tx,
        &agent,
        scope,
        (order.id.uuid(), order.version),
        (Settlement::Paid(PaymentMethod::Wechat), Some(Decimal::new(150, 0))),
    )
    .await?;
    let order = walk(tx, (tenant, crew), order, &[(Transition::Confirm, Move::default())]).await?;
    let rating = (5, Some("师傅很专业，准时上门".to_owned()));
    let order =
        guanxi_store::service::work_order::rate(tx, &agent, scope, (order.id.uuid(), order.version), rating).await?;
    let order = knowledge(tx, &agent, scope, order, *cabinet).await?;
    let order = guanxi_store::service::work_order::link_defect(
        tx,
        &agent,
        scope,
        (order.id.uuid(), order.version),
        Some(defect(tx, &agent, *cabinet).await?),
    )
    .await?;
    let closed = walk(tx, (tenant, crew), order, &[(Transition::Close, Move::default())]).await?;

    let install = request(jinghua, "新办公室三台空调安装", WorkOrderType::Installation, ServiceChannel::Web);
    guanxi_store::service::work_order::create(tx, &agent, everyone, take(install)).await?;
    portal_demo(tx, (tenant, crew), (mingyuan, hengxin), closed.id).await
}

/// The customer's own channel: the service agent takes portal requests; 明远's contact
/// reports a fault from the WeChat page, and 恒信's complains about the closed repair.
async fn portal_demo<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    (tenant, crew): (TenantId, &Crew),
    (mingyuan, hengxin): (CustomerId, CustomerId),
    closed: guanxi_domain::ids::WorkOrderId,
) -> anyhow::Result<()> {
    use guanxi_store::service::portal;
    let mut settings = guanxi_store::platform::tenant::settings(tx, tenant).await?;
    settings.portal_agent_id = Some(crew.agent.uuid());
    guanxi_store::platform::tenant::update_settings(tx, &Author::system(tenant), &settings).await?;
    let ids = [mingyuan.uuid(), hengxin.uuid()];
    let contacts = guanxi_store::customers::contact::of_customers(tx, tenant, OwnerAndCustomer::ALL, &ids).await?;
    let session = |customer: CustomerId| -> anyhow::Result<PortalSession> {
        let contact = contacts.iter().find(|c| c.customer_id == customer).context("a demo contact")?;
        Ok(PortalSession {
            tenant_id: tenant,
            token_id: uuid::Uuid::now_v7(),
            contact_id: contact.id,
            customer_id: customer,
        })
    };
    let asking = session(mingyuan)?;
    let mut fault = request(mingyuan, "车间空调显示 E4 故障码", WorkOrderType::Repair, ServiceChannel::Portal);
    fault.description = Some("车间 2 号空调开机十分钟后停机，面板显示 E4。".into());
    portal::submit(tx, &asking, &portal::author(&asking, None), fault).await?;
    let complaining = session(hengxin)?;
    let text = "第一次上门没带备件，隔天才修好，耽误了生产。";
    portal::complain(tx, &complaining, &portal::author(&complaining, None), Some(closed.uuid()), text).await?;
    Ok(())
}
