//! The customer's own service channel: portal tokens (客户自助令牌) staff issue to a
//! customer's contact, stored hashed, expiring and revocable. Change events name the
//! contact who wrote through the portal (`actor_contact_id`). A complaint (投诉) names the
//! work order it is about (`complaint_of`), and a technician's check-in may be at a work
//! order (`check_ins.work_order_id`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut tokens = tenant_table("portal_tokens");
        tokens
            .col(uuid("contact_id"))
            .col(uuid("customer_id"))
            .col(string_len_null("label", 50))
            .col(string_len("prefix", 16))
            .col(string_len("secret_hash", 64))
            .col(uuid_null("created_by"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("expires_at"))
            .col(timestamp_with_time_zone_null("last_used_at"))
            .col(timestamp_with_time_zone_null("revoked_at"))
            .foreign_key(&mut tenant_fk("portal_tokens", "contact_id", "contacts"))
            .foreign_key(&mut tenant_fk("portal_tokens", "customer_id", "customers"));
        manager.create_table(tokens).await?;
        manager
            .create_index(
                index("ux_portal_tokens_secret", "portal_tokens", &["tenant_id", "secret_hash"]).unique().to_owned(),
            )
            .await?;
        manager.create_index(index("ix_portal_tokens_contact", "portal_tokens", &["tenant_id", "contact_id"])).await?;

        let columns = [
            ("change_events", uuid_null("actor_contact_id")),
            ("work_orders", uuid_null("complaint_of")),
            ("check_ins", uuid_null("work_order_id")),
        ];
        for (table, mut column) in columns {
            manager.alter_table(Table::alter().table(table).add_column(&mut column).to_owned()).await?;
        }
        manager
            .create_index(index("ix_work_orders_complaint_of", "work_orders", &["tenant_id", "complaint_of"]))
            .await?;
        manager.create_index(index("ix_check_ins_work_order", "check_ins", &["tenant_id", "work_order_id"])).await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_check_ins_work_order").table("check_ins").to_owned()).await?;
        manager.drop_index(Index::drop().name("ix_work_orders_complaint_of").table("work_orders").to_owned()).await?;
        for (table, column) in
            [("check_ins", "work_order_id"), ("work_orders", "complaint_of"), ("change_events", "actor_contact_id")]
        {
            manager.alter_table(Table::alter().table(table).drop_column(column).to_owned()).await?;
        }
        manager.drop_table(Table::drop().table("portal_tokens").if_exists().to_owned()).await?;
        Ok(())
    }
}
