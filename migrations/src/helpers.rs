//! Building blocks every migration uses, so each table is keyed the same way: by
//! `(tenant_id, id)`, with foreign keys that carry the tenant.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, JsonValue, Statement};

/// A table whose key is `(tenant_id, id)`, its tenant a foreign key to `tenants`.
pub fn tenant_table(name: &'static str) -> TableCreateStatement {
    Table::create()
        .table(name)
        .if_not_exists()
        .col(uuid("tenant_id"))
        .col(uuid("id"))
        .primary_key(Index::create().col("tenant_id").col("id"))
        .foreign_key(
            ForeignKey::create()
                .name(format!("fk_{name}_tenant"))
                .from_tbl(name)
                .from_col("tenant_id")
                .to_tbl("tenants")
                .to_col("id"),
        )
        .to_owned()
}

/// A foreign key `(tenant_id, column) → target(tenant_id, id)`.
pub fn tenant_fk(table: &'static str, column: &'static str, target: &'static str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(format!("fk_{table}_{column}"))
        .from_tbl(table)
        .from_col("tenant_id")
        .from_col(column)
        .to_tbl(target)
        .to_col("tenant_id")
        .to_col("id")
        .to_owned()
}

pub fn index(name: &str, table: &'static str, columns: &[&'static str]) -> IndexCreateStatement {
    let mut index = Index::create();
    index.name(name).table(table).if_not_exists();
    for column in columns {
        index.col(*column);
    }
    index.to_owned()
}

/// Version, creation, update and (optionally) soft-delete columns of a mutable record.
pub fn lifecycle(table: &mut TableCreateStatement, soft_delete: bool) {
    table
        .col(integer("version").default(1))
        .col(timestamp_with_time_zone("created_at"))
        .col(timestamp_with_time_zone("updated_at"));
    if soft_delete {
        table.col(timestamp_with_time_zone_null("deleted_at"));
    }
}

/// New permissions and scopes of the built-in roles: (role key, permission keys, scope).
pub type RoleGrants = &'static [(&'static str, &'static [&'static str], &'static str)];

/// Adds permissions, and `modules`' data scopes, to every tenant's built-in roles, keeping
/// what a tenant changed.
pub async fn grant_builtin_roles(
    manager: &SchemaManager<'_>,
    grants: RoleGrants,
    modules: &[&str],
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let backend = manager.get_database_backend();
    let roles = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT tenant_id, id, builtin_key, permissions, scopes FROM roles WHERE builtin_key IS NOT NULL",
        ))
        .await?;
    for row in roles {
        let key: String = row.try_get("", "builtin_key")?;
        let Some((_, added, scope)) = grants.iter().find(|(k, ..)| *k == key) else { continue };
        let tenant: uuid::Uuid = row.try_get("", "tenant_id")?;
        let id: uuid::Uuid = row.try_get("", "id")?;
        let mut permissions: JsonValue = row.try_get("", "permissions")?;
        let mut scopes: JsonValue = row.try_get("", "scopes")?;
        if let Some(list) = permissions.as_array_mut() {
            for permission in *added {
                if !list.iter().any(|p| p.as_str() == Some(permission)) {
                    list.push((*permission).into());
                }
            }
        }
        if let Some(map) = scopes.as_object_mut() {
            for module in modules {
                map.entry(*module).or_insert_with(|| (*scope).into());
            }
        }
        db.execute(
            &Query::update()
                .table("roles")
                .value("permissions", permissions)
                .value("scopes", scopes)
                .and_where(Expr::col("tenant_id").eq(tenant))
                .and_where(Expr::col("id").eq(id))
                .to_owned(),
        )
        .await?;
    }
    Ok(())
}

/// The parents a document line had before contracts: (column, table).
pub const TRADE_PARENTS: &[(&str, &str)] =
    &[("quote_id", "quotes"), ("order_id", "sales_orders"), ("opportunity_id", "opportunities")];

/// The columns every document line has besides its parents, for copying rows.
pub const LINE_COLUMNS: &[&str] = &[
    "tenant_id",
    "id",
    "position",
    "product_id",
    "product_name",
    "specification",
    "unit",
    "quantity_e4",
    "list_price_e4",
    "unit_price_e4",
    "discount_e4",
    "tax_rate",
    "price_source",
    "policy_id",
    "list_amount_e4",
    "subtotal_e4",
    "amount_e4",
    "net_e4",
    "tax_e4",
    "gross_e4",
    "delivered_e4",
    "note",
];

/// SQL that holds when exactly one of `parents` is set.
pub fn one_parent(parents: &[(&str, &str)]) -> String {
    let set: Vec<String> =
        parents.iter().map(|(column, _)| format!("CASE WHEN {column} IS NULL THEN 0 ELSE 1 END")).collect();
    format!("({}) = 1", set.join(" + "))
}

/// The table of document lines (quotes, orders, deals and contracts share it), named
/// `name`: exactly one of `parents` is set. The same columns `…000011_trade` made, which
/// stays as it landed.
pub fn document_lines(name: &'static str, parents: &[(&'static str, &'static str)]) -> TableCreateStatement {
    let mut lines = tenant_table(name);
    for (column, _) in parents {
        lines.col(uuid_null(*column));
    }
    lines
        .col(integer("position"))
        .col(uuid("product_id"))
        .col(string_len("product_name", 100))
        .col(string_len_null("specification", 100))
        .col(string_len("unit", 10))
        .col(big_integer("quantity_e4"))
        .col(big_integer("list_price_e4"))
        .col(big_integer("unit_price_e4"))
        .col(big_integer("discount_e4"))
        .col(string_len("tax_rate", 3))
        .col(string_len("price_source", 10))
        .col(uuid_null("policy_id"))
        .col(big_integer("list_amount_e4"))
        .col(big_integer("subtotal_e4"))
        .col(big_integer("amount_e4"))
        .col(big_integer("net_e4"))
        .col(big_integer("tax_e4"))
        .col(big_integer("gross_e4"))
        .col(big_integer("delivered_e4").default(0))
        .col(string_len_null("note", 200))
        .check(Expr::cust(one_parent(parents)));
    for (column, target) in parents {
        lines.foreign_key(&mut tenant_fk(name, column, target));
    }
    lines
        .foreign_key(&mut tenant_fk(name, "product_id", "products"))
        .foreign_key(&mut tenant_fk(name, "policy_id", "price_policies"))
        .to_owned()
}

/// The indexes of `document_lines`, one per parent and one by product.
pub async fn document_line_indexes(
    manager: &SchemaManager<'_>,
    parents: &[(&'static str, &'static str)],
) -> Result<(), DbErr> {
    for (column, _) in parents {
        let name = format!("ix_document_lines_{}", column.trim_end_matches("_id"));
        let mut index = Index::create();
        index.name(&name).table("document_lines").if_not_exists().col("tenant_id").col(*column).col("position");
        manager.create_index(index).await?;
    }
    manager.create_index(index("ix_document_lines_product", "document_lines", &["tenant_id", "product_id"])).await
}

/// Rebuilds SQLite's `document_lines` for other `parents` (SQLite cannot change a CHECK),
/// keeping every row whose parent is among `kept`. Order deliveries point at lines, so
/// they are set aside while the old table goes. Runs inside the migration's transaction
/// (one connection, so the TEMP table is seen throughout).
pub async fn rebuild_document_lines(
    manager: &SchemaManager<'_>,
    parents: &[(&'static str, &'static str)],
    kept: &[(&'static str, &'static str)],
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    db.execute_unprepared("CREATE TEMP TABLE deliveries_aside AS SELECT * FROM order_deliveries").await?;
    db.execute_unprepared("DELETE FROM order_deliveries").await?;
    manager.create_table(document_lines("document_lines_new", parents)).await?;
    let columns: Vec<&str> = kept.iter().map(|(column, _)| *column).chain(LINE_COLUMNS.iter().copied()).collect();
    let columns = columns.join(", ");
    let kept_rows = kept.iter().map(|(column, _)| format!("{column} IS NOT NULL")).collect::<Vec<_>>().join(" OR ");
    db.execute_unprepared(&format!(
        "INSERT INTO document_lines_new ({columns}) SELECT {columns} FROM document_lines WHERE {kept_rows}"
    ))
    .await?;
    manager.drop_table(Table::drop().table("document_lines").to_owned()).await?;
    db.execute_unprepared("ALTER TABLE document_lines_new RENAME TO document_lines").await?;
    db.execute_unprepared("INSERT INTO order_deliveries SELECT * FROM deliveries_aside").await?;
    db.execute_unprepared("DROP TABLE deliveries_aside").await?;
    document_line_indexes(manager, parents).await
}
