//! The demo tenant's trade: a small catalogue in two categories, price policies for
//! level-A customers and for one customer, a quote sent and awaiting an answer, and an
//! accepted quote turned into an order that is confirmed and partly delivered.

use anyhow::Context;
use chrono::Datelike;
use guanxi_domain::entity::OwnerAndCustomer;
use guanxi_domain::ids::{CustomerId, ProductCategoryId, ProductId, UserId};
use guanxi_domain::trade::document::QuoteAction;
use guanxi_domain::trade::money::{TaxMode, TaxRate};
use guanxi_domain::trade::pricing::{PolicyTerms, PriceTarget, QuantityBreak};
use guanxi_domain::trade::product::{ProductFields, ProductKind, ProductOrigin};
use guanxi_store::platform::audit::Author;
use guanxi_store::trade::document::HeaderInput;
use guanxi_store::trade::lines::LineInput;
use rust_decimal::Decimal;

fn d(text: &str) -> anyhow::Result<Decimal> {
    text.parse().with_context(|| format!("the demo amount {text}"))
}

/// (category, code, name, kind, origin, specification, unit, list price, cost, rate)
type CatalogueRow = (
    usize,
    &'static str,
    &'static str,
    ProductKind,
    ProductOrigin,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    TaxRate,
);

const CATALOGUE: &[CatalogueRow] = &[
    (
        0,
        "KT-35GW",
        "格力变频空调 1.5匹",
        ProductKind::Tangible,
        ProductOrigin::Bought,
        "KFR-35GW",
        "台",
        "3299",
        "2450",
        TaxRate::Vat13,
    ),
    (
        0,
        "KT-72LW",
        "格力柜式空调 3匹",
        ProductKind::Tangible,
        ProductOrigin::Bought,
        "KFR-72LW",
        "台",
        "7999",
        "6100",
        TaxRate::Vat13,
    ),
    (
        0,
        "KT-MDV",
        "美的多联机中央空调",
        ProductKind::Tangible,
        ProductOrigin::Consignment,
        "MDV-280W",
        "套",
        "48000",
        "39000",
        TaxRate::Vat13,
    ),
    (1, "FW-AZ", "空调安装服务", ProductKind::Service, ProductOrigin::Made, "", "次", "300", "120", TaxRate::Vat9),
    (
        1,
        "FW-BY",
        "年度维保服务",
        ProductKind::Service,
        ProductOrigin::Made,
        "每年两次上门",
        "年",
        "1200",
        "500",
        TaxRate::Vat6,
    ),
    (
        1,
        "PX-CZ",
        "设备操作培训",
        ProductKind::Training,
        ProductOrigin::Made,
        "半天",
        "人天",
        "800",
        "300",
        TaxRate::Vat6,
    ),
];

/// Loads the demo catalogue and documents. `customers` are (id, owner) by company name.
/// Returns the catalogue's products, in `CATALOGUE` order.
pub async fn demo_trade<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    author: &Author,
    customers: &[(&str, CustomerId, Option<UserId>)],
) -> anyhow::Result<Vec<ProductId>> {
    let categories = [
        guanxi_store::trade::product::create_category(tx, author, None, "空调设备", 1).await?.id,
        guanxi_store::trade::product::create_category(tx, author, None, "服务与培训", 2).await?.id,
    ];
    let mut products: Vec<ProductId> = Vec::new();
    for (category, code, name, kind, origin, spec, unit, list, cost, rate) in CATALOGUE {
        let fields = ProductFields {
            name: (*name).to_owned(),
            category_id: Some::<ProductCategoryId>(categories[*category]),
            kind: *kind,
            origin: *origin,
            specification: Some((*spec).to_owned()).filter(|s| !s.is_empty()),
            unit: (*unit).to_owned(),
            list_price: d(list)?,
            cost_price: Some(d(cost)?),
            tax_rate: *rate,
            description: None,
            image_ids: Vec::new(),
            custom_fields: Default::default(),
            external_id: Some(format!("ERP-{code}")),
        };
        products.push(guanxi_store::trade::product::create(tx, author, Some(code), fields).await?.id);
    }
    // The ERP (金蝶) knows the catalogue by its inventory codes: `upsertProducts` from
    // source `kingdee` updates these products.
    let codes = CATALOGUE.iter().zip(&products).map(|(item, id)| (format!("ERP-{}", item.1), id.uuid())).collect();
    guanxi_store::platform::external_key::insert(
        tx,
        author.tenant_id,
        guanxi_domain::entity::EntityKind::Product,
        "kingdee",
        codes,
    )
    .await?;
    let today = guanxi_domain::customers::customer::shanghai_date(chrono::Utc::now());
    let year_start = today.with_ordinal(1).context("the first day of the year")?;
    let customer = |name: &str| customers.iter().find(|(n, ..)| *n == name).map(|(_, id, owner)| (*id, *owner));
    let (hengxin, hengxin_rep) = customer("苏州恒信电子科技有限公司").context("the demo customer 恒信")?;
    let (mingyuan, mingyuan_rep) = customer("上海明远机械制造有限公司").context("the demo customer 明远")?;
    let policies = [
        PolicyTerms {
            product_id: products[0],
            target: PriceTarget::Level("A".into()),
            price: d("3099")?,
            breaks: vec![QuantityBreak { min_quantity: d("10")?, price: d("2999")? }],
            valid_from: year_start,
            valid_to: None,
        },
        PolicyTerms {
            product_id: products[3],
            target: PriceTarget::Customer(hengxin),
            price: d("200")?,
            breaks: vec![],
            valid_from: year_start,
            valid_to: None,
        },
    ];
    let all = guanxi_domain::platform::access::CustomerRule::ALL;
    for terms in policies {
        guanxi_store::trade::pricing::create(tx, author, all, terms).await?;
    }
    let line = |product: usize, quantity: &str| -> anyhow::Result<LineInput> {
        Ok(LineInput {
            product_id: products[product],
            quantity: d(quantity)?,
            unit_price: None,
            discount: None,
            tax_rate: None,
            note: None,
        })
    };
    let header = |customer: CustomerId, owner: Option<UserId>| HeaderInput {
        customer_id: customer,
        contact_id: None,
        opportunity_id: None,
        owner_id: owner,
        tax_mode: TaxMode::Inclusive,
        discount: Decimal::ZERO,
        notes: None,
    };
    let scope = OwnerAndCustomer::ALL;
    // 明远: a quote sent, waiting for the customer.
    let quote = guanxi_store::trade::quote::NewQuote {
        header: header(mingyuan, mingyuan_rep),
        links: guanxi_store::trade::document::LinkScopes::ALL,
        valid_until: Some(today + chrono::Duration::days(30)),
        terms: Some("1. 报价含税（13%增值税专用发票）。\n2. 付款方式：预付30%，到货验收后付清余款。".into()),
        lines: vec![line(2, "2")?, line(3, "2")?, line(4, "1")?],
    };
    let quote = guanxi_store::trade::quote::create(tx, author, scope, quote).await?;
    guanxi_store::trade::quote::act(
        tx,
        author,
        scope,
        (quote.id.uuid(), quote.version),
        (QuoteAction::Send, None),
        None,
    )
    .await?;
    // 恒信: a quote accepted, an order confirmed and partly delivered.
    let quote = guanxi_store::trade::quote::NewQuote {
        header: header(hengxin, hengxin_rep),
        links: guanxi_store::trade::document::LinkScopes::ALL,
        valid_until: Some(today + chrono::Duration::days(15)),
        terms: None,
        lines: vec![line(0, "12")?, line(3, "12")?, line(5, "2")?],
    };
    let mut quote = guanxi_store::trade::quote::create(tx, author, scope, quote).await?;
    for action in [QuoteAction::Send, QuoteAction::Accept] {
        quote =
            guanxi_store::trade::quote::act(tx, author, scope, (quote.id.uuid(), quote.version), (action, None), None)
                .await?;
    }
    let new = guanxi_store::trade::order::NewOrder {
        header: None,
        links: guanxi_store::trade::document::LinkScopes::ALL,
        from_quote: Some(quote.id),
        terms: guanxi_domain::trade::document::OrderTerms {
            delivery_date: Some(today + chrono::Duration::days(7)),
            delivery_address: Some("江苏省苏州市工业园区星湖街 328 号".into()),
            payment_terms: Some("月结 30 天".into()),
            external_id: None,
        },
        lines: Vec::new(),
    };
    let order = guanxi_store::trade::order::create(tx, author, (scope, scope), new).await?;
    let order = guanxi_store::trade::order::confirm(tx, author, scope, (order.id.uuid(), order.version), true).await?;
    let lines = guanxi_store::trade::lines::of_one(
        tx,
        author.tenant_id,
        guanxi_store::trade::lines::Parent::Order(order.id.uuid()),
    )
    .await?;
    let first = lines.first().context("the demo order's first line")?;
    let delivery = guanxi_store::trade::order::DeliveryInput { line_id: first.id, quantity: d("6")? };
    guanxi_store::trade::order::deliver(
        tx,
        author,
        scope,
        (order.id.uuid(), order.version),
        (&[delivery], today, Some("第一批")),
    )
    .await?;
    Ok(products)
}
