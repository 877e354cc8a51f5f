//! A tenant's lead settings: its sources, its reasons for UNQUALIFIED and its scoring
//! rules, one versioned row (the defaults until the tenant saves its own). Saving new
//! rules queues every open lead for rescoring (`rescore_at = now`), which the rescoring
//! job works through in batches.

use chrono::Utc;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::TenantId;
use guanxi_domain::leads::lead::{LeadSettings, LeadStatus};
use guanxi_domain::leads::scoring::ScoringRule;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use sea_orm::ActiveValue::Set;
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::decode::Cell;
use crate::entity::{lead, lead_setting};
use crate::error::{StoreError, StoreResult};
use crate::platform::audit::{self, Author};

/// The settings and their version (0 until first saved).
pub async fn get<C: ConnectionTrait>(conn: &C, tenant: TenantId) -> StoreResult<(LeadSettings, i32)> {
    let Some(row) = lead_setting::Entity::find_by_id(tenant.uuid()).one(conn).await? else {
        return Ok((LeadSettings::default(), 0));
    };
    let cell = |column| Cell::of("lead_settings", tenant.uuid(), column);
    let settings = LeadSettings {
        sources: cell("sources").json(row.sources)?,
        unqualified_reasons: cell("unqualified_reasons").json(row.unqualified_reasons)?,
        rules: cell("rules").json::<Vec<ScoringRule>>(row.rules)?,
    };
    Ok((settings, row.version))
}

/// Replaces the settings at `expected_version` (0 for the first save), with a change
/// event on the tenant; new rules queue the open leads for rescoring.
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    expected_version: i32,
    settings: LeadSettings,
) -> StoreResult<(LeadSettings, i32)> {
    let tenant = author.tenant_id;
    let settings = settings.check()?;
    let (before, version) = get(conn, tenant).await?;
    if version != expected_version {
        return Err(StoreError::version_conflict(expected_version, version));
    }
    let now = Utc::now();
    let row = lead_setting::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        sources: Set(serde_json::to_value(&settings.sources).unwrap_or_default()),
        unqualified_reasons: Set(serde_json::to_value(&settings.unqualified_reasons).unwrap_or_default()),
        rules: Set(serde_json::to_value(&settings.rules).unwrap_or_default()),
        version: Set(version + 1),
        updated_at: Set(now),
    };
    // The version in the WHERE makes a concurrent save of the same version lose.
    let written = lead_setting::Entity::insert(row)
        .on_conflict(
            OnConflict::column(lead_setting::Column::TenantId)
                .update_columns([
                    lead_setting::Column::Sources,
                    lead_setting::Column::UnqualifiedReasons,
                    lead_setting::Column::Rules,
                    lead_setting::Column::Version,
                    lead_setting::Column::UpdatedAt,
                ])
                .action_and_where(Expr::col((lead_setting::Entity, lead_setting::Column::Version)).eq(version))
                .to_owned(),
        )
        .exec_without_returning(conn)
        .await?;
    if written == 0 {
        return Err(StoreError::version_conflict(expected_version, version + 1));
    }
    if before.rules != settings.rules {
        lead::Entity::update_many()
            .col_expr(lead::Column::RescoreAt, Expr::value(now))
            .filter(lead::Column::TenantId.eq(tenant.uuid()))
            .filter(lead::Column::Status.is_in(LeadStatus::OPEN.iter().map(|s| s.as_str())))
            .filter(lead::Column::DeletedAt.is_null())
            .exec(conn)
            .await?;
    }
    let changes = ChangeSet::new().field("leadSettings", &before, &settings);
    audit::record(conn, author, EntityKind::Tenant, tenant.uuid(), Operation::Update, &changes).await?;
    Ok((settings, version + 1))
}
