//! Search tokens read as ranges (issue 20), so a customer writes about fifteen token rows
//! rather than sixty (`guanxi_domain::customers::customer::search_tokens`):
//! - mnemonic codes (`m:`) and product codes (`c:`) are stored whole, and a typed prefix
//!   reads the range of tokens starting with it, where every prefix was a row before;
//! - a name keeps its pairs of characters and its last character alone (`n:`), and one
//!   character reads the range starting with it, where every character was a row;
//! - a phone number (`p:`) is stored reversed, so its last digits are a range too.
//!
//! On PostgreSQL the token columns compare bytewise (`COLLATE "C"`), as SQLite's do, so the
//! ranges are code-point ranges whatever the database's collation. Every customer's and
//! product's tokens are rewritten, a thousand records a statement pair; articles keep
//! theirs (their single characters are still found by the ranges).

use guanxi_domain::customers::customer::search_tokens;
use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, QueryResult};
use uuid::Uuid;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Token tables and their token column's width.
const COLLATED: [(&str, u32); 3] =
    [("customer_search_tokens", 80), ("product_search_tokens", 64), ("kb_article_tokens", 20)];

/// A token table rewritten from its records.
struct Tokened {
    table: &'static str,
    id: &'static str,
    records: &'static str,
    columns: &'static [&'static str],
    tokens: fn(&QueryResult) -> Result<Vec<String>, DbErr>,
    /// Records with this column set keep no tokens (a merged customer's are cleared).
    untokened_when_set: Option<&'static str>,
}

const CUSTOMERS: Tokened = Tokened {
    table: "customer_search_tokens",
    id: "customer_id",
    records: "customers",
    columns: &["name", "main_phone", "finance_phone", "tax_id"],
    tokens: |row| {
        let text = |column: &str| row.try_get::<Option<String>>("", column);
        let phones = [text("main_phone")?, text("finance_phone")?];
        let phones: Vec<&str> = phones.iter().flatten().map(String::as_str).collect();
        Ok(search_tokens(&row.try_get::<String>("", "name")?, &phones, text("tax_id")?.as_deref()))
    },
    untokened_when_set: Some("merged_into_id"),
};

const PRODUCTS: Tokened = Tokened {
    table: "product_search_tokens",
    id: "product_id",
    records: "products",
    columns: &["name", "code"],
    tokens: |row| {
        let (name, code): (String, String) = (row.try_get("", "name")?, row.try_get("", "code")?);
        Ok(guanxi_domain::trade::product::search_tokens(&name, &code))
    },
    untokened_when_set: None,
};

const BATCH: u64 = 1000;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        collate(manager, "COLLATE \"C\"").await?;
        for tokened in [CUSTOMERS, PRODUCTS] {
            rewrite(manager, &tokened, |tokens| tokens).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for tokened in [CUSTOMERS, PRODUCTS] {
            rewrite(manager, &tokened, every_prefix).await?;
        }
        collate(manager, "").await
    }
}

/// Gives the token columns `collation` (PostgreSQL; SQLite compares bytewise already).
async fn collate(manager: &SchemaManager<'_>, collation: &str) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    for (table, width) in COLLATED {
        let sql = format!("ALTER TABLE {table} ALTER COLUMN token TYPE varchar({width}) {collation}");
        manager.get_connection().execute_unprepared(&sql).await?;
    }
    Ok(())
}

/// Rewrites a token table from its records, `BATCH` records at a time in key order.
async fn rewrite(
    manager: &SchemaManager<'_>,
    tokened: &Tokened,
    shape: fn(Vec<String>) -> Vec<String>,
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    db.execute(&Query::delete().from_table(tokened.table).to_owned()).await?;
    let mut after: Option<(Uuid, Uuid)> = None;
    loop {
        let mut select = Query::select();
        select
            .columns(["tenant_id", "id"])
            .columns(tokened.columns.iter().copied())
            .from(tokened.records)
            .order_by("tenant_id", Order::Asc)
            .order_by("id", Order::Asc)
            .limit(BATCH);
        if let Some((tenant, id)) = after {
            // A row comparison, which both engines read as one range of the primary key.
            let key = Expr::tuple([Expr::col("tenant_id"), Expr::col("id")]);
            select.and_where(key.gt(Expr::tuple([Expr::val(tenant), Expr::val(id)])));
        }
        if let Some(column) = tokened.untokened_when_set {
            select.and_where(Expr::col(column).is_null());
        }
        let rows = db.query_all(&select).await?;
        let mut values: Vec<[SimpleExpr; 3]> = Vec::new();
        for row in &rows {
            let (tenant, id): (Uuid, Uuid) = (row.try_get("", "tenant_id")?, row.try_get("", "id")?);
            for token in shape((tokened.tokens)(row)?) {
                values.push([tenant.into(), token.into(), id.into()]);
            }
            after = Some((tenant, id));
        }
        // Three values a row, well under SQLite's 32,766 bound values a statement.
        for chunk in values.chunks(5000) {
            let mut insert =
                Query::insert().into_table(tokened.table).columns(["tenant_id", "token", tokened.id]).to_owned();
            for row in chunk {
                insert.values_panic(row.clone());
            }
            db.execute(&insert).await?;
        }
        if (rows.len() as u64) < BATCH {
            return Ok(());
        }
    }
}

/// The tokens as the code before this migration wrote them (for `down`): every character
/// of a name alone, every prefix of a code, phone numbers forwards.
fn every_prefix(tokens: Vec<String>) -> Vec<String> {
    let mut old = Vec::new();
    for token in tokens {
        let Some((kind, body)) = token.split_once(':') else { continue };
        match kind {
            "n" => old.extend(body.chars().map(|c| format!("n:{c}"))),
            "m" | "c" => old.extend(body.char_indices().skip(1).map(|(end, _)| format!("{kind}:{}", &body[..end]))),
            "p" => {
                old.push(format!("p:{}", body.chars().rev().collect::<String>()));
                continue;
            }
            _ => {}
        }
        old.push(token);
    }
    old.sort();
    old.dedup();
    old
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn down_writes_the_tokens_the_code_before_read() {
        let tokens = search_tokens("小米科技", &["13800000001"], None);
        let old = every_prefix(tokens);
        let expected = [
            "m:x",
            "m:xm",
            "m:xmk",
            "m:xmkj",
            "m:xmkq",
            "n:小",
            "n:小米",
            "n:技",
            "n:科",
            "n:科技",
            "n:米",
            "n:米科",
            "p:13800000001",
        ];
        assert_eq!(old, expected);
    }
}
