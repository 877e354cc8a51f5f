//! Printable documents: `GET /documents/quotes/{id}?token=…` renders a quote as one
//! self-contained HTML page (the tenant's header, every line and figure, the total in
//! Chinese capitals), for printing or saving as PDF from a browser. No cookie and no
//! header: the link carries a short-lived signed token naming the caller's credential,
//! which is checked again when the page is fetched (a logout or a revoked key ends the
//! link), and the quote is read through the caller's scope like any API read.

use async_graphql::Context;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{SessionId, TenantId, UserId};
use guanxi_domain::trade::document::{Line, Quote};
use guanxi_domain::trade::money::{Places, rmb_uppercase};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{ISSUER, LINK_AUDIENCE};
use crate::graphql::context::{AppState, Credential, caller, state};
use crate::graphql::error::{ApiError, ApiResult};

/// How long a document link works.
const LINK_MINUTES: i64 = 10;

/// What a document link says: whose credential, which document.
#[derive(Serialize, Deserialize)]
struct LinkClaims {
    iss: String,
    aud: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    tid: Uuid,
    /// The document: `Quote:<uuid>`.
    doc: String,
    /// A user session…
    sub: Option<Uuid>,
    sid: Option<Uuid>,
    /// …or an API key's hash.
    key: Option<String>,
}

/// A link to the printable quote for the caller, valid for ten minutes.
pub fn quote_link(ctx: &Context<'_>, quote: Uuid) -> ApiResult<String> {
    let caller = caller(ctx).ok_or_else(|| ApiError::Unauthenticated("log in first".into()))?;
    let actor = caller.actor.as_ref().ok_or_else(|| ApiError::Unauthenticated("log in first".into()))?;
    let (sub, sid, key) = match &caller.credential {
        Some(Credential::Session { user, session }) => (Some(user.uuid()), Some(session.uuid()), None),
        Some(Credential::ApiKey { secret_hash }) => (None, None, Some(secret_hash.clone())),
        Some(Credential::Portal { .. }) | None => return Err(ApiError::Unauthenticated("log in first".into())),
    };
    let now = Utc::now().timestamp();
    let claims = LinkClaims {
        iss: ISSUER.into(),
        aud: LINK_AUDIENCE.into(),
        iat: now,
        nbf: now,
        exp: now + LINK_MINUTES * 60,
        tid: actor.tenant_id.uuid(),
        doc: format!("{}:{quote}", EntityKind::Quote.name()),
        sub,
        sid,
        key,
    };
    let token = state(ctx).tokens.sign_link(&claims).map_err(|error| {
        tracing::error!(%error, "signing a document link");
        ApiError::Internal
    })?;
    Ok(format!("/documents/quotes/{quote}?token={token}"))
}

#[derive(Deserialize)]
pub struct LinkQuery {
    token: Option<String>,
}

fn refused(status: StatusCode, message: &str) -> Response {
    (status, Html(format!("<!doctype html><meta charset=\"utf-8\"><title>{message}</title><p>{message}</p>")))
        .into_response()
}

/// `GET /documents/quotes/{id}?token=…`.
pub async fn quote_page(
    State(http): State<crate::http::Http>,
    Path(id): Path<String>,
    Query(query): Query<LinkQuery>,
) -> Response {
    let state = &http.state;
    let Ok(id) = Uuid::try_parse(&id) else { return refused(StatusCode::NOT_FOUND, "not found") };
    let claims: Option<LinkClaims> = query.token.as_deref().and_then(|t| state.tokens.verify_link(t));
    let Some(claims) = claims.filter(|c| c.doc == format!("{}:{id}", EntityKind::Quote.name())) else {
        return refused(StatusCode::UNAUTHORIZED, "this link is invalid or has expired");
    };
    let credential = match (claims.sub, claims.sid, claims.key) {
        (Some(user), Some(session), _) => {
            Credential::Session { user: UserId::from_uuid(user), session: SessionId::from_uuid(session) }
        }
        (_, _, Some(secret_hash)) => Credential::ApiKey { secret_hash },
        _ => return refused(StatusCode::UNAUTHORIZED, "this link is invalid or has expired"),
    };
    let tenant = TenantId::from_uuid(claims.tid);
    match render_quote(state, tenant, &credential, id).await {
        Ok(Some(page)) => {
            let mut response = Html(page).into_response();
            let headers = response.headers_mut();
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
            headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
            headers.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
            );
            headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
            response
        }
        Ok(None) => refused(StatusCode::NOT_FOUND, "not found"),
        Err(error) => {
            tracing::error!(?error, "rendering a quote");
            refused(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
        }
    }
}

async fn render_quote(
    state: &AppState,
    tenant: TenantId,
    credential: &Credential,
    id: Uuid,
) -> ApiResult<Option<String>> {
    let Some(actor) = crate::graphql::platform::audit::still_valid(&state.db, tenant, credential).await? else {
        return Ok(None);
    };
    if !actor.may(guanxi_domain::platform::access::Permission::QuoteRead) {
        return Ok(None);
    }
    let conn = state.db.connection();
    let scope = EntityKind::quote_rules(&actor);
    let found = guanxi_store::trade::quote::find(conn, tenant, scope, id).await?;
    let Some(quote) = found.filter(|q| q.deleted_at.is_none()) else { return Ok(None) };
    let lines = guanxi_store::trade::lines::of_one(conn, tenant, guanxi_store::trade::lines::Parent::Quote(id)).await?;
    let customer =
        guanxi_store::customers::customer::find(conn, tenant, scope.customer, quote.header.customer_id.uuid())
            .await?
            .map(|c| c.fields.name)
            .unwrap_or_default();
    let company = guanxi_store::platform::tenant::find(conn, tenant).await?.map(|t| t.name).unwrap_or_default();
    let owner = match quote.header.owner_id {
        Some(owner) => guanxi_store::platform::user::by_ids(
            conn,
            tenant,
            guanxi_domain::platform::access::ScopeRule::All,
            &[owner.uuid()],
        )
        .await?
        .into_iter()
        .next()
        .map(|u| u.display_name.to_string()),
        None => None,
    };
    Ok(Some(quote_html(&quote, &lines, (&company, &customer, owner.as_deref()))))
}

/// Text safe inside HTML.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn amount(value: Decimal, places: Places) -> String {
    let rounded = places.round(value);
    format!("{rounded:.prec$}", prec = places.get() as usize)
}

const STYLE: &str = "body{font-family:\"Noto Sans CJK SC\",\"WenQuanYi Micro Hei\",\"Microsoft YaHei\",\"PingFang SC\",sans-serif;\
color:#222;margin:32px;font-size:13px}h1{font-size:22px;text-align:center;letter-spacing:8px;margin:8px 0 16px}\
.company{text-align:center;font-size:16px;font-weight:bold}.meta{display:flex;flex-wrap:wrap;gap:4px 32px;margin-bottom:12px}\
table{border-collapse:collapse;width:100%}th,td{border:1px solid #888;padding:4px 6px}th{background:#eef2f7}\
td.n{text-align:right;white-space:nowrap}.totals{margin-top:12px;width:auto;margin-left:auto}.words{margin-top:12px;font-weight:bold}\
.terms{margin-top:16px;white-space:pre-wrap}@media print{body{margin:12mm}}";

fn quote_html(quote: &Quote, lines: &[Line], (company, customer, owner): (&str, &str, Option<&str>)) -> String {
    let places = quote.header.places;
    let mode = quote.header.tax_mode.label_zh();
    let mut rows = String::new();
    for (i, line) in lines.iter().enumerate() {
        rows.push_str(&format!(
            "<tr><td class=n>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td>\
             <td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            i + 1,
            escape(&line.product_name),
            escape(line.specification.as_deref().unwrap_or("")),
            escape(&line.unit),
            line.terms.quantity.normalize(),
            line.terms.unit_price.normalize(),
            if line.terms.discount.is_zero() { String::new() } else { format!("{}%", line.terms.discount.normalize()) },
            amount(line.figures.amount, places),
            line.terms.tax_rate.label_zh(),
            amount(line.figures.tax, places),
        ));
    }
    let rated: Vec<_> = lines.iter().map(|l| (l.terms.tax_rate, l.figures)).collect();
    let by_rate = guanxi_domain::trade::money::totals(&rated).by_rate;
    let mut tax_rows = String::new();
    for rate in by_rate {
        tax_rows.push_str(&format!(
            "<tr><th>税额（{}）</th><td class=n>{}</td></tr>",
            rate.rate.label_zh(),
            amount(rate.tax, places)
        ));
    }
    let t = &quote.totals;
    let discount = if quote.header.discount.is_zero() {
        String::new()
    } else {
        format!(
            "<tr><th>整单折扣 {}%</th><td class=n>-{}</td></tr>",
            quote.header.discount.normalize(),
            amount(t.discount_amount, places)
        )
    };
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>报价单 {number}</title>\
         <style>{STYLE}</style></head><body>\
         <div class=company>{company}</div><h1>报价单</h1>\
         <div class=meta><span>报价单号：{number}（第 {revision} 版）</span><span>客户：{customer}</span>\
         <span>报价日期：{date}</span><span>有效期至：{valid}</span><span>销售代表：{owner}</span><span>计价方式：{mode}</span></div>\
         <table><thead><tr><th>序号</th><th>产品名称</th><th>规格型号</th><th>单位</th><th>数量</th><th>单价</th>\
         <th>折扣</th><th>金额</th><th>税率</th><th>税额</th></tr></thead><tbody>{rows}</tbody></table>\
         <table class=totals><tr><th>小计</th><td class=n>{subtotal}</td></tr>{discount}\
         <tr><th>不含税金额</th><td class=n>{net}</td></tr>{tax_rows}<tr><th>税额合计</th><td class=n>{tax}</td></tr>\
         <tr><th>价税合计（元）</th><td class=n>{gross}</td></tr></table>\
         <div class=words>人民币大写：{words}</div><div class=terms>{terms}</div></body></html>",
        number = escape(&quote.number),
        revision = quote.revision,
        company = escape(company),
        customer = escape(customer),
        date = guanxi_domain::customers::customer::shanghai_date(quote.created_at),
        valid = quote.valid_until.map(|d| d.to_string()).unwrap_or_else(|| "—".into()),
        owner = escape(owner.unwrap_or("—")),
        subtotal = amount(t.subtotal, places),
        net = amount(t.net, places),
        tax = amount(t.tax, places),
        gross = amount(t.gross, places),
        words = rmb_uppercase(t.gross),
        terms = escape(quote.terms.as_deref().unwrap_or("")),
    )
}
