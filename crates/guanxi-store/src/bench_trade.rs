//! The benchmark loader's trade: a catalogue of one product per hundred customers (1,000
//! at M) in twenty categories, two level prices per product (a fifth with quantity
//! breaks) and a customer's own price for one customer in fifty, a quote for one customer
//! in five (one to eight lines) and an order for one in ten, figured by the domain like
//! real documents. Fast path, no change events (see `bench_data`).

use chrono::{Duration, Utc};
use guanxi_domain::customers::customer::shanghai_date;
use guanxi_domain::ids::TenantId;
use guanxi_domain::mnemonic::mnemonic_code;
use guanxi_domain::trade::document::{OrderStatus, QuoteStatus, figure};
use guanxi_domain::trade::money::{LineTerms, Places, TaxMode, TaxRate, to_e4};
use guanxi_domain::trade::pricing::PriceSource;
use guanxi_domain::trade::product::search_tokens;
use rand::Rng;
use rand::rngs::StdRng;
use rust_decimal::Decimal;
use sea_orm::ActiveValue::Set;
use serde_json::json;
use uuid::Uuid;

use crate::Database;
use crate::entity::{document_line, price_policy, product, product_category, product_search_token, quote, sales_order};

const KINDS: &[(&str, &str, &str, &[&str])] = &[
    ("空调", "台", "TANGIBLE", &["变频空调", "柜式空调", "多联机", "风管机"]),
    ("电子", "件", "TANGIBLE", &["控制板", "传感器", "变频模块", "显示屏"]),
    ("软件", "套", "INTANGIBLE", &["管理系统", "授权许可", "数据平台", "移动端"]),
    ("服务", "次", "SERVICE", &["安装服务", "维保服务", "巡检服务", "驻场支持"]),
    ("培训", "人天", "TRAINING", &["操作培训", "认证培训", "管理培训", "安全培训"]),
];
const RATES: &[TaxRate] = &[TaxRate::Vat13, TaxRate::Vat13, TaxRate::Vat13, TaxRate::Vat6, TaxRate::Vat9];

struct Catalogued {
    id: Uuid,
    name: String,
    unit: &'static str,
    price: Decimal,
    rate: TaxRate,
}

/// Loads the trade tables for `customers` (with their owners); returns the rows written.
pub(crate) async fn load(
    db: &Database,
    tenant: TenantId,
    rng: &mut StdRng,
    customers: &[Uuid],
    owners: &[Uuid],
) -> crate::StoreResult<u64> {
    let now = Utc::now();
    let t = tenant.uuid();
    let mut rows = 0;
    let tx = db.begin_write().await?;
    let mut categories = Vec::new();
    let mut category_rows = Vec::new();
    for (i, (family, ..)) in KINDS.iter().enumerate() {
        let parent = Uuid::now_v7();
        category_rows.push((parent, None, (*family).to_owned(), i));
        for n in 0..3 {
            let child = Uuid::now_v7();
            category_rows.push((child, Some(parent), format!("{family}{}系列", ["A", "B", "C"][n]), n));
            categories.push((i, child));
        }
    }
    let category_models: Vec<product_category::ActiveModel> = category_rows
        .into_iter()
        .map(|(id, parent, name, position)| product_category::ActiveModel {
            tenant_id: Set(t),
            id: Set(id),
            parent_id: Set(parent),
            name: Set(name),
            position: Set(position as i32),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        })
        .collect();
    // Parents first: the tree's own foreign key.
    let (parents, children): (Vec<_>, Vec<_>) =
        category_models.into_iter().partition(|c| c.parent_id.as_ref().is_none());
    rows += crate::insert_chunked(&tx, parents).await?;
    rows += crate::insert_chunked(&tx, children).await?;

    let count = (customers.len() / 100).max(50);
    let mut catalogue = Vec::with_capacity(count);
    let (mut products, mut tokens, mut policies) = (Vec::new(), Vec::new(), Vec::new());
    let year_ago = shanghai_date(now - Duration::days(365));
    for n in 0..count {
        let (family_index, category) = categories[rng.gen_range(0..categories.len())];
        let (_, unit, kind, names) = KINDS[family_index];
        let name = format!("{}{}型", names[rng.gen_range(0..names.len())], 100 + n);
        let code = format!("BP{n:06}");
        let price = Decimal::new(rng.gen_range(50..500_000_i64), 2);
        let rate = RATES[family_index];
        let id = Uuid::now_v7();
        for token in search_tokens(&name, &code) {
            tokens.push(product_search_token::ActiveModel {
                tenant_id: Set(t),
                token: Set(token),
                product_id: Set(id),
            });
        }
        products.push(product::ActiveModel {
            tenant_id: Set(t),
            id: Set(id),
            code: Set(code.clone()),
            name: Set(name.clone()),
            mnemonic_code: Set(mnemonic_code(&name)),
            category_id: Set(Some(category)),
            kind: Set(kind.into()),
            origin: Set(["MADE", "BOUGHT", "CONSIGNMENT"][n % 3].into()),
            specification: Set(Some(format!("规格{}", n % 17))),
            unit: Set(unit.into()),
            list_price_e4: Set(to_e4(price)),
            cost_price_e4: Set(Some(to_e4(price * Decimal::new(7, 1)))),
            tax_rate: Set(rate.as_str().into()),
            active: Set(n % 50 != 0),
            description: Set(None),
            image_ids: Set(json!([])),
            custom_fields: Set(json!({})),
            external_id: Set(Some(format!("ERP-{code}"))),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        });
        for (level, off) in [("A", 85), ("B", 95)] {
            let level_price = price * Decimal::new(off, 2);
            let breaks = if n % 5 == 0 {
                json!([{"q": to_e4(Decimal::from(10)), "p": to_e4((level_price * Decimal::new(95, 2)).round_dp(2))}])
            } else {
                json!([])
            };
            policies.push(price_policy::ActiveModel {
                tenant_id: Set(t),
                id: Set(Uuid::now_v7()),
                product_id: Set(id),
                customer_level: Set(Some(level.into())),
                customer_id: Set(None),
                price_e4: Set(to_e4(level_price.round_dp(2))),
                breaks: Set(breaks),
                valid_from: Set(year_ago),
                valid_to: Set(None),
                version: Set(1),
                created_at: Set(now),
                updated_at: Set(now),
                deleted_at: Set(None),
            });
        }
        catalogue.push(Catalogued { id, name, unit, price, rate });
    }
    for (i, customer) in customers.iter().enumerate().step_by(50) {
        let product = &catalogue[i % catalogue.len()];
        policies.push(price_policy::ActiveModel {
            tenant_id: Set(t),
            id: Set(Uuid::now_v7()),
            product_id: Set(product.id),
            customer_level: Set(None),
            customer_id: Set(Some(*customer)),
            price_e4: Set(to_e4((product.price * Decimal::new(80, 2)).round_dp(2))),
            breaks: Set(json!([])),
            valid_from: Set(year_ago),
            valid_to: Set(None),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        });
    }
    rows += crate::insert_chunked(&tx, products).await?;
    rows += crate::insert_chunked(&tx, tokens).await?;
    rows += crate::insert_chunked(&tx, policies).await?;
    tx.commit().await?;

    let (mut quotes, mut orders, mut lines) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (customer, owner)) in customers.iter().zip(owners).enumerate() {
        if i % 5 != 0 {
            continue;
        }
        let created = now - Duration::days(rng.gen_range(0..730)) - Duration::minutes(rng.gen_range(0..1_440));
        let terms: Vec<(Uuid, String, &str, LineTerms)> = (0..rng.gen_range(1..=8))
            .map(|_| {
                let p = &catalogue[rng.gen_range(0..catalogue.len())];
                let quantity = Decimal::from(rng.gen_range(1..20));
                let discount = Decimal::from([0, 0, 0, 5, 10][rng.gen_range(0..5)]);
                let t = LineTerms { quantity, list_price: p.price, unit_price: p.price, discount, tax_rate: p.rate };
                (p.id, p.name.clone(), p.unit, t)
            })
            .collect();
        let line_terms: Vec<LineTerms> = terms.iter().map(|(.., t)| *t).collect();
        let (figures, totals) = figure(&line_terms, Decimal::ZERO, TaxMode::Inclusive, Places::default());
        let quote_id = Uuid::now_v7();
        let status = [
            QuoteStatus::Draft,
            QuoteStatus::Sent,
            QuoteStatus::Accepted,
            QuoteStatus::Accepted,
            QuoteStatus::Rejected,
        ][rng.gen_range(0..5)];
        let [list, subtotal, off, net, tax, gross, off_list] = crate::trade::lines::totals_e4(&totals);
        quotes.push(quote::ActiveModel {
            tenant_id: Set(t),
            id: Set(quote_id),
            number: Set(format!("BJ{:08}", i / 5)),
            customer_id: Set(*customer),
            contact_id: Set(None),
            opportunity_id: Set(None),
            owner_id: Set(Some(*owner)),
            status: Set(status.as_str().into()),
            tax_mode: Set(TaxMode::Inclusive.as_str().into()),
            discount_e4: Set(0),
            places: Set(2),
            notes: Set(None),
            list_amount_e4: Set(list),
            subtotal_e4: Set(subtotal),
            discount_amount_e4: Set(off),
            net_e4: Set(net),
            tax_e4: Set(tax),
            gross_e4: Set(gross),
            discount_off_list_e4: Set(off_list),
            revision: Set(1),
            superseded_at: Set(None),
            valid_until: Set(Some(shanghai_date(created + Duration::days(30)))),
            terms: Set(None),
            approved_by: Set(None),
            sent_at: Set((status != QuoteStatus::Draft).then_some(created)),
            decided_at: Set(matches!(status, QuoteStatus::Accepted | QuoteStatus::Rejected).then_some(created)),
            decision_reason: Set(None),
            version: Set(1),
            created_at: Set(created),
            updated_at: Set(created),
            deleted_at: Set(None),
        });
        let order_id = (i % 10 == 0).then(Uuid::now_v7);
        if let Some(order_id) = order_id {
            let status = [
                OrderStatus::Confirmed,
                OrderStatus::Delivered,
                OrderStatus::Completed,
                OrderStatus::Completed,
                OrderStatus::Cancelled,
            ][rng.gen_range(0..5)];
            orders.push(sales_order::ActiveModel {
                tenant_id: Set(t),
                id: Set(order_id),
                number: Set(format!("DD{:08}", i / 10)),
                customer_id: Set(*customer),
                contact_id: Set(None),
                opportunity_id: Set(None),
                owner_id: Set(Some(*owner)),
                status: Set(status.as_str().into()),
                tax_mode: Set(TaxMode::Inclusive.as_str().into()),
                discount_e4: Set(0),
                places: Set(2),
                notes: Set(None),
                list_amount_e4: Set(list),
                subtotal_e4: Set(subtotal),
                discount_amount_e4: Set(off),
                net_e4: Set(net),
                tax_e4: Set(tax),
                gross_e4: Set(gross),
                discount_off_list_e4: Set(off_list),
                quote_id: Set(None),
                delivery_date: Set(Some(shanghai_date(created + Duration::days(14)))),
                delivery_address: Set(None),
                payment_terms: Set(Some("月结 30 天".into())),
                external_id: Set(None),
                confirmed_at: Set(Some(created + Duration::days(3))),
                closed_at: Set(matches!(status, OrderStatus::Completed | OrderStatus::Cancelled)
                    .then_some(created + Duration::days(20))),
                cancel_reason: Set((status == OrderStatus::Cancelled).then(|| "客户取消".to_owned())),
                version: Set(2),
                created_at: Set(created),
                updated_at: Set(created + Duration::days(3)),
                deleted_at: Set(None),
            });
        }
        let delivered = |q: Decimal| if order_id.is_some() { q } else { Decimal::ZERO };
        for parent in [Some(quote_id), order_id].into_iter().flatten() {
            let is_quote = parent == quote_id;
            for (position, ((product, name, unit, terms), f)) in terms.iter().zip(&figures).enumerate() {
                lines.push(document_line::ActiveModel {
                    tenant_id: Set(t),
                    id: Set(Uuid::now_v7()),
                    quote_id: Set(is_quote.then_some(parent)),
                    order_id: Set((!is_quote).then_some(parent)),
                    opportunity_id: Set(None),
                    contract_id: Set(None),
                    position: Set(position as i32),
                    product_id: Set(*product),
                    product_name: Set(name.clone()),
                    specification: Set(None),
                    unit: Set((*unit).into()),
                    quantity_e4: Set(to_e4(terms.quantity)),
                    list_price_e4: Set(to_e4(terms.list_price)),
                    unit_price_e4: Set(to_e4(terms.unit_price)),
                    discount_e4: Set(to_e4(terms.discount)),
                    tax_rate: Set(terms.tax_rate.as_str().into()),
                    price_source: Set(PriceSource::List.as_str().into()),
                    policy_id: Set(None),
                    list_amount_e4: Set(to_e4(f.list_amount)),
                    subtotal_e4: Set(to_e4(f.subtotal)),
                    amount_e4: Set(to_e4(f.amount)),
                    net_e4: Set(to_e4(f.net)),
                    tax_e4: Set(to_e4(f.tax)),
                    gross_e4: Set(to_e4(f.gross)),
                    delivered_e4: Set(if is_quote { 0 } else { to_e4(delivered(terms.quantity)) }),
                    note: Set(None),
                });
            }
        }
        if quotes.len() >= 5_000 {
            rows += flush(db, &mut quotes, &mut orders, &mut lines).await?;
        }
    }
    rows += flush(db, &mut quotes, &mut orders, &mut lines).await?;
    Ok(rows)
}

async fn flush(
    db: &Database,
    quotes: &mut Vec<quote::ActiveModel>,
    orders: &mut Vec<sales_order::ActiveModel>,
    lines: &mut Vec<document_line::ActiveModel>,
) -> crate::StoreResult<u64> {
    let tx = db.begin_write().await?;
    let mut rows = crate::insert_chunked(&tx, std::mem::take(quotes)).await?;
    rows += crate::insert_chunked(&tx, std::mem::take(orders)).await?;
    rows += crate::insert_chunked(&tx, std::mem::take(lines)).await?;
    tx.commit().await?;
    Ok(rows)
}
