//! A deal's product lines (商机产品明细). When a deal has lines its amount is their sum,
//! tax included, written in the same transaction; an open deal's lines are priced like a
//! quote's (for its customer, today, in fen).

use chrono::Utc;
use guanxi_domain::ErrorCode;
use guanxi_domain::customers::customer::shanghai_date;
use guanxi_domain::entity::{EntityKind, OwnerAndCustomer};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::sales::opportunity::{Opportunity, StageKind, to_fen};
use guanxi_domain::trade::money::{Places, TaxMode};
use rust_decimal::Decimal;
use sea_orm::sea_query::Expr;
use sea_orm::{ConnectionTrait, EntityTrait};
use uuid::Uuid;

use crate::entity::opportunity;
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};
use crate::platform::tenant;
use crate::repo;
use crate::sales::opportunity::Opportunities;
use crate::trade::lines::{self, LineInput, Parent};

/// Replaces an open deal's lines; with lines, its amount becomes their total.
pub async fn set_lines<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: OwnerAndCustomer,
    (id, expected_version): (Uuid, i32),
    inputs: &[LineInput],
) -> StoreResult<Opportunity> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Opportunities, C>(conn, tenant, scope, id, expected_version).await?;
    if before.status != StageKind::Open {
        return Err(StoreError::rejected("id", ErrorCode::IllegalState, "a closed deal's lines stay as they were"));
    }
    let settings = tenant::settings(conn, tenant).await?;
    let customer = crate::customers::customer::find(conn, tenant, scope.customer, before.customer_id.uuid())
        .await?
        .ok_or(StoreError::NotFound)?;
    let today = shanghai_date(Utc::now());
    let drafts = lines::price_lines(
        conn,
        tenant,
        (before.customer_id, customer.fields.level.as_deref()),
        inputs,
        (today, settings.decimal_places.product),
    )
    .await?;
    let (written, totals) = lines::figured(drafts, (Decimal::ZERO, TaxMode::Inclusive, Places::default()));
    lines::replace(conn, tenant, Parent::Opportunity(id), &written).await?;
    let amount = if written.is_empty() { before.fields.amount } else { totals.gross };
    let update =
        opportunity::Entity::update_many().col_expr(opportunity::Column::AmountFen, Expr::value(to_fen(amount)));
    let after = repo::write_versioned::<Opportunities, C>(conn, tenant, id, expected_version, update).await?;
    let changes =
        ChangeSet::new().field("lines", (), written.len()).field("amount", before.fields.amount, after.fields.amount);
    audit::record(conn, author, EntityKind::Opportunity, id, Operation::Update, &changes).await?;
    Ok(after)
}
