//! The sales forecast (销售预测): a forecast category on every deal (PIPELINE for open
//! ones; won deals CLOSED and lost ones OMITTED, backfilled) and the reps' monthly quotas
//! (销售目标), one row per user and month.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut category = ColumnDef::new("forecast_category");
        category.string_len(20).not_null().default("PIPELINE");
        manager.alter_table(Table::alter().table("opportunities").add_column(&mut category).to_owned()).await?;
        let db = manager.get_connection();
        db.execute_unprepared("UPDATE opportunities SET forecast_category = 'CLOSED' WHERE status = 'WON'").await?;
        db.execute_unprepared("UPDATE opportunities SET forecast_category = 'OMITTED' WHERE status = 'LOST'").await?;
        // The forecast's open deals by owner and expected close date.
        manager
            .create_index(index(
                "ix_opportunities_forecast",
                "opportunities",
                &["tenant_id", "status", "expected_close_date", "owner_id"],
            ))
            .await?;

        let mut quotas = tenant_table("sales_quotas");
        quotas
            .col(uuid("user_id"))
            .col(date("month"))
            .col(big_integer("amount_fen"))
            .col(uuid_null("set_by"))
            .foreign_key(&mut tenant_fk("sales_quotas", "user_id", "users"));
        lifecycle(&mut quotas, false);
        manager.create_table(quotas).await?;
        manager
            .create_index(
                index("ux_sales_quotas_user_month", "sales_quotas", &["tenant_id", "user_id", "month"])
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("sales_quotas").if_exists().to_owned()).await?;
        manager.drop_index(Index::drop().name("ix_opportunities_forecast").table("opportunities").to_owned()).await?;
        manager.alter_table(Table::alter().table("opportunities").drop_column("forecast_category").to_owned()).await
    }
}
