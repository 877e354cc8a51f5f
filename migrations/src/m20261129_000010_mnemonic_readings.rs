//! Mnemonic codes (助记码) read polyphonic characters (多音字) as people do, and records are
//! found under the codes of every plausible reading (`guanxi_domain::mnemonic`):
//! - contacts get `mnemonic_codes`: those codes, the shown one first, separated by spaces,
//!   so a search for initials matches a code's start (`LIKE 'zs%' OR LIKE '% zs%'`);
//! - existing customers get their shown code recomputed and their `m:` search tokens
//!   rewritten.
//!
//! Existing rows are rewritten one statement at a time: fine for the tenants that exist
//! when this lands; a database loaded since gets the codes on write.

use guanxi_domain::customers::customer::mnemonic_tokens;
use guanxi_domain::mnemonic::{mnemonic_code, mnemonic_codes};
use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, Statement};
use uuid::Uuid;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(Table::alter().table("contacts").add_column(text("mnemonic_codes").default("")).to_owned())
            .await?;
        let db = manager.get_connection();
        let backend = manager.get_database_backend();
        let named = |table: &str| Statement::from_string(backend, format!("SELECT tenant_id, id, name FROM {table}"));
        for row in db.query_all_raw(named("contacts")).await? {
            let (tenant, id, name): (Uuid, Uuid, String) =
                (row.try_get("", "tenant_id")?, row.try_get("", "id")?, row.try_get("", "name")?);
            let update = Query::update()
                .table("contacts")
                .value("mnemonic_codes", mnemonic_codes(&name).join(" "))
                .and_where(Expr::col("tenant_id").eq(tenant))
                .and_where(Expr::col("id").eq(id))
                .to_owned();
            db.execute(&update).await?;
        }
        for row in db.query_all_raw(named("customers")).await? {
            let (tenant, id, name): (Uuid, Uuid, String) =
                (row.try_get("", "tenant_id")?, row.try_get("", "id")?, row.try_get("", "name")?);
            let update = Query::update()
                .table("customers")
                .value("mnemonic_code", mnemonic_code(&name))
                .and_where(Expr::col("tenant_id").eq(tenant))
                .and_where(Expr::col("id").eq(id))
                .to_owned();
            db.execute(&update).await?;
            let stale = Query::delete()
                .from_table("customer_search_tokens")
                .and_where(Expr::col("tenant_id").eq(tenant))
                .and_where(Expr::col("customer_id").eq(id))
                .and_where(Expr::col("token").like("m:%"))
                .to_owned();
            db.execute(&stale).await?;
            let tokens = mnemonic_tokens(&name);
            if tokens.is_empty() {
                continue;
            }
            let mut insert = Query::insert()
                .into_table("customer_search_tokens")
                .columns(["tenant_id", "token", "customer_id"])
                .to_owned();
            for token in tokens {
                insert.values_panic([tenant.into(), token.into(), id.into()]);
            }
            db.execute(&insert).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("contacts").drop_column("mnemonic_codes").to_owned()).await?;
        Ok(())
    }
}
