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
