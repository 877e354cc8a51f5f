//! Commissions (业务员佣金): plans (who they cover, when and on what they pay, their
//! rules and formula), a contract's split between reps (业绩分配), and statements per rep
//! per month with their lines, each traced to its contract, receipt, plan and rule.
//! Money is stored as whole ten-thousandths (`*_e4`); rates and shares as percent e4.
//! Contracts gain `effective_at` (when this revision came into force: a revision keeps
//! the first one's `approved_at` for the work log) and `voided_at` (when a contract in
//! force was voided), backfilled from what the rows show.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const ROLE_GRANTS: RoleGrants = &[
    ("admin", &["commission.read", "commission.manage"], "ALL"),
    ("executive", &["commission.read"], "ALL"),
    ("sales_manager", &["commission.read"], "DEPARTMENT_TREE"),
    ("sales_rep", &["commission.read"], "OWN"),
    ("finance", &["commission.read", "commission.manage"], "ALL"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in ["effective_at", "voided_at"] {
            let mut column = ColumnDef::new(column);
            column.timestamp_with_time_zone().null();
            manager.alter_table(Table::alter().table("contracts").add_column(&mut column).to_owned()).await?;
        }
        let db = manager.get_connection();
        db.execute_unprepared(
            "UPDATE contracts SET effective_at = approved_at \
             WHERE status IN ('APPROVED', 'COMPLETED', 'SUPERSEDED') AND approved_at IS NOT NULL",
        )
        .await?;
        db.execute_unprepared(
            "UPDATE contracts SET voided_at = updated_at WHERE status = 'VOID' AND approved_at IS NOT NULL",
        )
        .await?;
        let mut plans = tenant_table("commission_plans");
        plans
            .col(string_len("name", 50))
            .col(string_len("earned_on", 20))
            .col(string_len("base", 20))
            .col(json("rules"))
            .col(json("members"))
            .col(date("effective_from"))
            .col(date_null("effective_to"))
            .col(boolean("active").default(true))
            .col(uuid_null("created_by"));
        lifecycle(&mut plans, true);
        manager.create_table(plans).await?;

        let mut splits = tenant_table("contract_splits");
        splits
            .col(uuid("contract_id"))
            .col(uuid("user_id"))
            .col(big_integer("share_e4"))
            .foreign_key(&mut tenant_fk("contract_splits", "contract_id", "contracts"))
            .foreign_key(&mut tenant_fk("contract_splits", "user_id", "users"));
        manager.create_table(splits).await?;
        manager
            .create_index(
                index("ux_contract_splits_user", "contract_splits", &["tenant_id", "contract_id", "user_id"])
                    .unique()
                    .to_owned(),
            )
            .await?;

        let mut statements = tenant_table("commission_statements");
        statements
            .col(string_len("period", 7))
            .col(uuid("user_id"))
            .col(string_len("status", 20))
            .col(big_integer("earned_e4").default(0))
            .col(big_integer("adjusted_e4").default(0))
            .col(big_integer("total_e4").default(0))
            .col(integer("line_count").default(0))
            .col(timestamp_with_time_zone_null("calculated_at"))
            .col(uuid_null("confirmed_by"))
            .col(timestamp_with_time_zone_null("confirmed_at"))
            .col(uuid_null("paid_by"))
            .col(timestamp_with_time_zone_null("paid_at"))
            .foreign_key(&mut tenant_fk("commission_statements", "user_id", "users"));
        lifecycle(&mut statements, false);
        manager.create_table(statements).await?;
        manager
            .create_index(
                index("ux_commission_statements_user", "commission_statements", &["tenant_id", "period", "user_id"])
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_commission_statements_user",
                "commission_statements",
                &["tenant_id", "user_id", "period"],
            ))
            .await?;

        let mut lines = tenant_table("commission_lines");
        lines
            .col(uuid("statement_id"))
            .col(uuid("user_id"))
            .col(string_len("period", 7))
            .col(string_len("kind", 20))
            .col(string_len("rule", 20))
            .col(uuid_null("plan_id"))
            .col(uuid_null("contract_id"))
            .col(uuid_null("receipt_id"))
            .col(uuid_null("category_id"))
            .col(date_null("earned_on"))
            .col(big_integer_null("share_e4"))
            .col(big_integer("base_e4"))
            .col(big_integer_null("rate_e4"))
            .col(big_integer("amount_e4"))
            .col(uuid_null("clawback_of"))
            .col(string_len_null("reason", 500))
            .col(uuid_null("author_id"))
            .col(timestamp_with_time_zone("created_at"))
            .foreign_key(&mut tenant_fk("commission_lines", "statement_id", "commission_statements"));
        manager.create_table(lines).await?;
        for (name, columns) in [
            ("ix_commission_lines_statement", &["tenant_id", "statement_id", "id"][..]),
            ("ix_commission_lines_contract", &["tenant_id", "contract_id"][..]),
            ("ix_commission_lines_receipt", &["tenant_id", "receipt_id"][..]),
            ("ix_commission_lines_clawback", &["tenant_id", "clawback_of"][..]),
        ] {
            manager.create_index(index(name, "commission_lines", columns)).await?;
        }
        // Counted receipts and contracts of a period, read by the calculation.
        manager.create_index(index("ix_receipts_received", "receipts", &["tenant_id", "received_on"])).await?;
        manager.create_index(index("ix_contracts_effective", "contracts", &["tenant_id", "effective_at"])).await?;
        // Contract and deal lines by their parent. The full indexes hold every quote's and
        // order's line under a NULL key, and SQLite's statistics then judge them useless
        // (a scan of all lines per contract: 18 s for a month at M); partial ones do not.
        for column in ["contract_id", "opportunity_id"] {
            let name = format!("ix_document_lines_{}_set", column.trim_end_matches("_id"));
            manager
                .get_connection()
                .execute_unprepared(&format!(
                    "CREATE INDEX {name} ON document_lines (tenant_id, {column}) WHERE {column} IS NOT NULL"
                ))
                .await?;
        }

        grant_builtin_roles(manager, ROLE_GRANTS, &["COMMISSION"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_contracts_effective").table("contracts").to_owned()).await?;
        for name in ["ix_document_lines_contract_set", "ix_document_lines_opportunity_set"] {
            manager.drop_index(Index::drop().name(name).table("document_lines").to_owned()).await?;
        }
        manager.drop_index(Index::drop().name("ix_receipts_received").table("receipts").to_owned()).await?;
        for table in ["commission_lines", "commission_statements", "contract_splits", "commission_plans"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        for column in ["effective_at", "voided_at"] {
            manager.alter_table(Table::alter().table("contracts").drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}
