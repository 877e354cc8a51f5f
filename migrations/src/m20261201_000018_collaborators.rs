//! Sharing (协作人): a customer or a deal shared with a user, `READ` or `READ_WRITE`,
//! optionally until a moment. Every read path's scope condition admits a record when its
//! owner scope does or when a live row here names the caller; expiry is part of that
//! condition, so nothing has to run when a share ends. `customer_id` is the shared
//! customer, or the shared deal's customer, so a handover or a merge finds a customer's
//! shares by one index.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut table = tenant_table("collaborators");
        table
            .col(string_len("record_type", 20))
            .col(uuid("record_id"))
            .col(uuid("customer_id"))
            .col(uuid("user_id"))
            .col(string_len("access", 12))
            .col(timestamp_with_time_zone_null("expires_at"))
            .col(text_null("note"))
            .col(uuid_null("created_by"))
            .foreign_key(&mut tenant_fk("collaborators", "customer_id", "customers"))
            .foreign_key(&mut tenant_fk("collaborators", "user_id", "users"));
        lifecycle(&mut table, false);
        manager.create_table(table).await?;
        // The scope probe: is this record shared with this user? And a user's shares.
        manager
            .create_index(
                index("ux_collaborators_user_record", "collaborators", &["tenant_id", "user_id", "record_id"])
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_collaborators_record", "collaborators", &["tenant_id", "record_id"])).await?;
        manager.create_index(index("ix_collaborators_customer", "collaborators", &["tenant_id", "customer_id"])).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("collaborators").if_exists().to_owned()).await
    }
}
