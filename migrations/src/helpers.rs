//! Building blocks every migration uses, so each table is keyed the same way: by
//! `(tenant_id, id)`, with foreign keys that carry the tenant.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

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
