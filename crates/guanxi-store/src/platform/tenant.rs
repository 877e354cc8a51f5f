//! Tenants: one company each, fully isolated. Creating one also creates its root
//! department, the built-in roles and the default sales pipeline.

use chrono::Utc;
use guanxi_domain::ids::TenantId;
use guanxi_domain::platform::access::Role;
use guanxi_domain::platform::org::{Department, TenantSlug};
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};
use serde_json::json;

use crate::entity::tenant;
use crate::error::{StoreResult, on_unique};
use crate::platform::audit::Author;

/// A tenant as created: the row, its root department and its built-in roles.
pub struct CreatedTenant {
    pub tenant: tenant::Model,
    pub root: Department,
    pub roles: Vec<Role>,
}

impl CreatedTenant {
    pub fn id(&self) -> TenantId {
        self.tenant.id.into()
    }

    pub fn role(&self, key: &str) -> Option<&Role> {
        self.roles.iter().find(|r| r.builtin_key.as_deref() == Some(key))
    }
}

pub async fn create<C: ConnectionTrait>(conn: &C, slug: &TenantSlug, name: &str) -> StoreResult<CreatedTenant> {
    let now = Utc::now();
    let id = TenantId::new();
    let tenant = tenant::Entity::insert(tenant::ActiveModel {
        id: Set(id.uuid()),
        slug: Set(slug.as_str().to_owned()),
        name: Set(name.to_owned()),
        change_seq: Set(0),
        settings: Set(json!({})),
        disabled_at: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    })
    .exec_with_returning(conn)
    .await
    .map_err(|e| on_unique(e, "tenant", "a tenant with this name already exists"))?;
    let author = Author::system(id);
    let root = crate::platform::department::create_root(conn, &author, name).await?;
    let roles = crate::platform::role::create_builtins(conn, &author).await?;
    crate::sales::pipeline::create_default_pipeline(conn, &author).await?;
    Ok(CreatedTenant { tenant, root, roles })
}

pub async fn find_by_slug<C: ConnectionTrait>(conn: &C, slug: &str) -> StoreResult<Option<tenant::Model>> {
    Ok(tenant::Entity::find().filter(tenant::Column::Slug.eq(slug.trim().to_lowercase())).one(conn).await?)
}

pub async fn find<C: ConnectionTrait>(conn: &C, id: TenantId) -> StoreResult<Option<tenant::Model>> {
    Ok(tenant::Entity::find_by_id(id.uuid()).one(conn).await?)
}

/// The tenant's system parameters (系统参数) this release uses.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct TenantSettings {
    pub customer_numbering: guanxi_domain::customers::customer::NumberingRule,
    pub duplicate_policy: guanxi_domain::customers::customer::DuplicatePolicy,
    pub calendar_conflict_policy: guanxi_domain::activity::calendar::ConflictPolicy,
    pub product_numbering: guanxi_domain::customers::customer::NumberingRule,
    pub quote_numbering: guanxi_domain::customers::customer::NumberingRule,
    pub order_numbering: guanxi_domain::customers::customer::NumberingRule,
    /// Decimal places (小数位数) per kind of document.
    pub decimal_places: DecimalPlaces,
    /// A quote more than this percent off list is approved before it is sent; `None`:
    /// never.
    pub quote_approval_discount: Option<rust_decimal::Decimal>,
    /// Whether confirming an order wins its linked open deal.
    pub order_wins_deal: bool,
    pub contract_numbering: guanxi_domain::customers::customer::NumberingRule,
    pub receipt_numbering: guanxi_domain::customers::customer::NumberingRule,
    /// Invoice requests (开票申请).
    pub invoice_numbering: guanxi_domain::customers::customer::NumberingRule,
    /// Days before an installment is due to remind its contract's owner (回款提醒).
    pub installment_remind_days: u16,
    /// Days before an approved contract ends to remind its owner.
    pub contract_expiry_remind_days: u16,
    /// Whether a receipt may bring more than a contract still owes (预收款).
    pub allow_advance_receipts: bool,
    /// Days before a contact's birthday to remind their owner (生日提醒), at most 30.
    pub birthday_remind_days: u16,
    /// After-sales work orders (工单).
    pub work_order_numbering: guanxi_domain::customers::customer::NumberingRule,
    pub service_contract_numbering: guanxi_domain::customers::customer::NumberingRule,
    /// Days after completion a work order may still be reopened (返修期), 0 to 90.
    pub work_order_reopen_days: u16,
    /// Days after a work order's first completion its agent calls the customer back (回访);
    /// 0: no return visits. At most 90.
    pub return_visit_days: u16,
    pub defect_numbering: guanxi_domain::customers::customer::NumberingRule,
    /// The working calendar service levels count in (工作日历).
    pub working_calendar: guanxi_domain::service::sla::WorkingCalendar,
    /// Response and resolution targets per priority, in working time.
    pub sla_policy: guanxi_domain::service::sla::SlaPolicy,
    /// The service agent who takes requests filed through the portal (自助服务受理人);
    /// `None`: the customer's owner.
    pub portal_agent_id: Option<uuid::Uuid>,
}

/// The tenant's decimal places for each kind of document (0 to 4, 2 by default).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct DecimalPlaces {
    pub quote: guanxi_domain::trade::money::Places,
    pub order: guanxi_domain::trade::money::Places,
    pub contract: guanxi_domain::trade::money::Places,
    pub product: guanxi_domain::trade::money::Places,
}

impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            customer_numbering: Default::default(),
            duplicate_policy: Default::default(),
            calendar_conflict_policy: Default::default(),
            product_numbering: product_numbering(),
            quote_numbering: quote_numbering(),
            order_numbering: order_numbering(),
            decimal_places: DecimalPlaces::default(),
            quote_approval_discount: None,
            order_wins_deal: true,
            contract_numbering: daily_rule("HT"),
            receipt_numbering: daily_rule("HK"),
            invoice_numbering: daily_rule("KP"),
            installment_remind_days: 3,
            contract_expiry_remind_days: 30,
            allow_advance_receipts: false,
            birthday_remind_days: 3,
            work_order_numbering: daily_rule("GD"),
            service_contract_numbering: daily_rule("FW"),
            work_order_reopen_days: 7,
            return_visit_days: 3,
            defect_numbering: rule("QX"),
            working_calendar: Default::default(),
            sla_policy: Default::default(),
            portal_agent_id: None,
        }
    }
}

fn rule(prefix: &str) -> guanxi_domain::customers::customer::NumberingRule {
    guanxi_domain::customers::customer::NumberingRule {
        prefix: prefix.into(),
        reset: guanxi_domain::customers::customer::SequenceReset::Never,
        width: 6,
    }
}

fn product_numbering() -> guanxi_domain::customers::customer::NumberingRule {
    rule("CP")
}

fn quote_numbering() -> guanxi_domain::customers::customer::NumberingRule {
    guanxi_domain::customers::customer::NumberingRule {
        reset: guanxi_domain::customers::customer::SequenceReset::Daily,
        width: 4,
        ..rule("BJ")
    }
}

fn order_numbering() -> guanxi_domain::customers::customer::NumberingRule {
    daily_rule("DD")
}

/// `<prefix><yyyymmdd><nnnn>`, restarting every day.
fn daily_rule(prefix: &str) -> guanxi_domain::customers::customer::NumberingRule {
    guanxi_domain::customers::customer::NumberingRule {
        reset: guanxi_domain::customers::customer::SequenceReset::Daily,
        width: 4,
        ..rule(prefix)
    }
}

pub async fn settings<C: ConnectionTrait>(conn: &C, tenant: TenantId) -> crate::StoreResult<TenantSettings> {
    let row = find(conn, tenant).await?.ok_or(crate::StoreError::NotFound)?;
    crate::decode::Cell::of("tenants", row.id, "settings").json(row.settings)
}

/// Replaces the settings, audited like any other write.
pub async fn update_settings<C: ConnectionTrait>(
    conn: &C,
    author: &crate::platform::audit::Author,
    settings: &TenantSettings,
) -> crate::StoreResult<TenantSettings> {
    use sea_orm::sea_query::{Expr, ExprTrait};
    let before = self::settings(conn, author.tenant_id).await?;
    let value = serde_json::to_value(settings).unwrap_or_else(|_| json!({}));
    tenant::Entity::update_many()
        .col_expr(tenant::Column::Settings, Expr::value(value))
        .col_expr(tenant::Column::UpdatedAt, Expr::value(Utc::now()))
        .col_expr(tenant::Column::Version, Expr::col(tenant::Column::Version).add(1))
        .filter(tenant::Column::Id.eq(author.tenant_id.uuid()))
        .exec(conn)
        .await?;
    let changes = guanxi_domain::platform::change::ChangeSet::new().diff(&before, settings);
    crate::platform::audit::record(
        conn,
        author,
        guanxi_domain::entity::EntityKind::Tenant,
        author.tenant_id.uuid(),
        guanxi_domain::platform::change::Operation::Update,
        &changes,
    )
    .await?;
    Ok(settings.clone())
}
