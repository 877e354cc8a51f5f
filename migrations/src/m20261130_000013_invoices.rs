//! Invoices: billing profiles (开票信息) per customer and invoice requests (开票申请) per
//! contract, which keep a copy of the title they were made out to. Contracts gain the
//! amount their live invoice requests hold (`invoiced_e4`), raised and lowered with one
//! conditional statement so it never passes the contract amount, and revisions (变更): a
//! revision shares its contract's number, so the number is unique per revision. Contracts
//! get lines of their own in `document_lines` (a fourth parent).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// A document line's parents once contracts have lines.
const WITH_CONTRACTS: &[(&str, &str)] = &[
    ("quote_id", "quotes"),
    ("order_id", "sales_orders"),
    ("opportunity_id", "opportunities"),
    ("contract_id", "contracts"),
];

const ROLE_GRANTS: RoleGrants = &[
    ("admin", &["invoice.read", "invoice.write", "invoice.issue"], "ALL"),
    ("executive", &["invoice.read"], "ALL"),
    ("sales_manager", &["invoice.read", "invoice.write"], "DEPARTMENT_TREE"),
    ("sales_rep", &["invoice.read", "invoice.write"], "OWN"),
    ("finance", &["invoice.read", "invoice.write", "invoice.issue"], "ALL"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// On SQLite too: the lines table is rebuilt, and its TEMP table needs one connection.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let columns = [
            big_integer("invoiced_e4").default(0).to_owned(),
            integer("revision").default(1).to_owned(),
            uuid_null("revises_id"),
        ];
        for mut column in columns {
            manager.alter_table(Table::alter().table("contracts").add_column(&mut column).to_owned()).await?;
        }
        manager.drop_index(Index::drop().name("ux_contracts_number").table("contracts").to_owned()).await?;
        manager
            .create_index(
                index("ux_contracts_number_revision", "contracts", &["tenant_id", "number", "revision"])
                    .unique()
                    .to_owned(),
            )
            .await?;

        let mut profiles = tenant_table("billing_profiles");
        profiles
            .col(uuid("customer_id"))
            .col(string_len("title_kind", 20))
            .col(string_len("title", 100))
            .col(string_len_null("tax_number", 18))
            .col(string_len_null("bank", 100))
            .col(string_len_null("account", 40))
            .col(string_len_null("address", 200))
            .col(string_len_null("phone", 30))
            .col(boolean("is_default").default(false))
            .foreign_key(&mut tenant_fk("billing_profiles", "customer_id", "customers"));
        lifecycle(&mut profiles, true);
        manager.create_table(profiles).await?;
        manager
            .create_index(index("ix_billing_profiles_customer", "billing_profiles", &["tenant_id", "customer_id"]))
            .await?;

        let mut invoices = tenant_table("invoices");
        invoices
            .col(string_len("number", 40))
            .col(uuid("contract_id"))
            .col(uuid("customer_id"))
            .col(uuid_null("owner_id"))
            .col(uuid_null("profile_id"))
            .col(json("title"))
            .col(string_len("vat_kind", 20))
            .col(string_len("rate", 4))
            .col(big_integer("amount_e4"))
            .col(big_integer("tax_e4"))
            .col(string_len("status", 20))
            .col(string_len_null("invoice_number", 20))
            .col(date_null("issued_on"))
            .col(string_len_null("void_reason", 500))
            .col(timestamp_with_time_zone_null("voided_at"))
            .col(string_len_null("external_id", 100))
            .col(string_len_null("note", 500))
            .col(uuid_null("created_by"))
            .foreign_key(&mut tenant_fk("invoices", "contract_id", "contracts"))
            .foreign_key(&mut tenant_fk("invoices", "customer_id", "customers"))
            .foreign_key(&mut tenant_fk("invoices", "owner_id", "users"))
            .foreign_key(&mut tenant_fk("invoices", "profile_id", "billing_profiles"));
        lifecycle(&mut invoices, false);
        manager.create_table(invoices).await?;
        manager
            .create_index(index("ux_invoices_number", "invoices", &["tenant_id", "number"]).unique().to_owned())
            .await?;
        for (name, columns) in [
            ("ix_invoices_contract", &["tenant_id", "contract_id", "created_at"][..]),
            ("ix_invoices_customer", &["tenant_id", "customer_id", "created_at"][..]),
            // Lists page newest first, by status or not.
            ("ix_invoices_created", &["tenant_id", "created_at", "id"][..]),
            ("ix_invoices_status", &["tenant_id", "status", "created_at", "id"][..]),
        ] {
            manager.create_index(index(name, "invoices", columns)).await?;
        }
        manager.create_index(index("ix_receipts_created", "receipts", &["tenant_id", "created_at", "id"])).await?;
        for sql in [
            "CREATE UNIQUE INDEX ux_invoices_external ON invoices (tenant_id, external_id) \
             WHERE external_id IS NOT NULL",
            // One tax authority number is one invoice.
            "CREATE UNIQUE INDEX ux_invoices_issued ON invoices (tenant_id, invoice_number) \
             WHERE invoice_number IS NOT NULL",
        ] {
            manager.get_connection().execute_unprepared(sql).await?;
        }

        contract_lines(manager, WITH_CONTRACTS, TRADE_PARENTS).await?;
        // An administrator acting in a stuck approver's or the submitter's place.
        let mut on_behalf = uuid_null("on_behalf_of");
        manager.alter_table(Table::alter().table("approval_actions").add_column(&mut on_behalf).to_owned()).await?;
        grant_builtin_roles(manager, ROLE_GRANTS, &["INVOICE"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Revisions share a number, which the older schema keeps unique.
        let revised = manager
            .get_connection()
            .query_one_raw(sea_orm_migration::sea_orm::Statement::from_string(
                manager.get_database_backend(),
                "SELECT COUNT(*) AS n FROM contracts WHERE revision > 1",
            ))
            .await?
            .map(|row| row.try_get::<i64>("", "n"))
            .transpose()?
            .unwrap_or(0);
        if revised > 0 {
            return Err(DbErr::Migration(format!(
                "{revised} contract revision(s) share a number with their contract: the schema before \
                 revisions cannot hold them"
            )));
        }
        contract_lines(manager, TRADE_PARENTS, TRADE_PARENTS).await?;
        manager.alter_table(Table::alter().table("approval_actions").drop_column("on_behalf_of").to_owned()).await?;
        manager.drop_index(Index::drop().name("ix_receipts_created").table("receipts").to_owned()).await?;
        for table in ["invoices", "billing_profiles"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        manager.drop_index(Index::drop().name("ux_contracts_number_revision").table("contracts").to_owned()).await?;
        manager
            .create_index(index("ux_contracts_number", "contracts", &["tenant_id", "number"]).unique().to_owned())
            .await?;
        for column in ["invoiced_e4", "revision", "revises_id"] {
            manager.alter_table(Table::alter().table("contracts").drop_column(column).to_owned()).await?;
        }
        Ok(())
    }
}

/// Gives `document_lines` the parents `parents`, keeping the rows of `kept`: on
/// PostgreSQL the contract column and the CHECK change in place, on SQLite the table is
/// rebuilt.
async fn contract_lines(
    manager: &SchemaManager<'_>,
    parents: &[(&'static str, &'static str)],
    kept: &[(&'static str, &'static str)],
) -> Result<(), DbErr> {
    let adding = parents.len() > kept.len();
    if manager.get_database_backend() != sea_orm_migration::sea_orm::DbBackend::Postgres {
        return rebuild_document_lines(manager, parents, kept).await;
    }
    let db = manager.get_connection();
    if adding {
        let mut column = uuid_null("contract_id");
        manager.alter_table(Table::alter().table("document_lines").add_column(&mut column).to_owned()).await?;
        manager.create_foreign_key(tenant_fk("document_lines", "contract_id", "contracts")).await?;
    } else {
        db.execute_unprepared("DELETE FROM document_lines WHERE contract_id IS NOT NULL").await?;
    }
    db.execute_unprepared("ALTER TABLE document_lines DROP CONSTRAINT document_lines_check").await?;
    db.execute_unprepared(&format!(
        "ALTER TABLE document_lines ADD CONSTRAINT document_lines_check CHECK ({})",
        one_parent(parents)
    ))
    .await?;
    if adding {
        document_line_indexes(manager, parents).await
    } else {
        manager.drop_index(Index::drop().name("ix_document_lines_contract").table("document_lines").to_owned()).await?;
        manager.alter_table(Table::alter().table("document_lines").drop_column("contract_id").to_owned()).await
    }
}
