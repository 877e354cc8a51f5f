//! The spine: tenants, the organisation, authentication, the change log, idempotency
//! keys and job leases.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table("tenants")
                    .if_not_exists()
                    .col(uuid("id").primary_key())
                    .col(string_len_uniq("slug", 40))
                    .col(string("name"))
                    // The last change sequence handed out for this tenant; bumped in the
                    // writing transaction, so sequence order is commit order.
                    .col(big_integer("change_seq").default(0))
                    .col(json_binary("settings"))
                    .col(timestamp_with_time_zone_null("disabled_at"))
                    .col(integer("version").default(1))
                    .col(timestamp_with_time_zone("created_at"))
                    .col(timestamp_with_time_zone("updated_at"))
                    .to_owned(),
            )
            .await?;

        let mut departments = tenant_table("departments");
        departments
            .col(uuid_null("parent_id"))
            .col(string("name"))
            .col(integer("sort_order").default(0))
            .foreign_key(&mut tenant_fk("departments", "parent_id", "departments"));
        lifecycle(&mut departments, true);
        manager.create_table(departments).await?;
        manager.create_index(index("ix_departments_parent", "departments", &["tenant_id", "parent_id"])).await?;

        let mut roles = tenant_table("roles");
        roles
            .col(string_len_null("builtin_key", 40))
            .col(string("name"))
            .col(text("description").default(""))
            .col(json_binary("permissions"))
            .col(json_binary("scopes"));
        lifecycle(&mut roles, true);
        manager.create_table(roles).await?;
        manager.create_index(index("ux_roles_name", "roles", &["tenant_id", "name"]).unique().to_owned()).await?;

        let mut users = tenant_table("users");
        users
            .col(string("email"))
            .col(string("display_name"))
            .col(string_len_null("phone", 32))
            .col(string("password_hash"))
            .col(uuid("department_id"))
            .col(uuid_null("manager_id"))
            .col(uuid("role_id"))
            .col(string_len("status", 16))
            .col(integer("failed_logins").default(0))
            .col(timestamp_with_time_zone_null("locked_until"))
            .col(timestamp_with_time_zone("password_changed_at"))
            .foreign_key(&mut tenant_fk("users", "department_id", "departments"))
            .foreign_key(&mut tenant_fk("users", "manager_id", "users"))
            .foreign_key(&mut tenant_fk("users", "role_id", "roles"));
        lifecycle(&mut users, false);
        manager.create_table(users).await?;
        manager.create_index(index("ux_users_email", "users", &["tenant_id", "email"]).unique().to_owned()).await?;
        manager.create_index(index("ix_users_department", "users", &["tenant_id", "department_id"])).await?;
        manager.create_index(index("ix_users_manager", "users", &["tenant_id", "manager_id"])).await?;

        let mut sessions = tenant_table("sessions");
        sessions
            .col(uuid("user_id"))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("expires_at"))
            .col(timestamp_with_time_zone_null("revoked_at"))
            .col(string_len_null("revoke_reason", 32))
            .foreign_key(&mut tenant_fk("sessions", "user_id", "users"));
        manager.create_table(sessions).await?;
        manager.create_index(index("ix_sessions_user", "sessions", &["tenant_id", "user_id"])).await?;

        let mut refresh_tokens = tenant_table("refresh_tokens");
        refresh_tokens
            .col(uuid("session_id"))
            .col(string_len("token_hash", 64))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("expires_at"))
            .col(timestamp_with_time_zone_null("used_at"))
            .foreign_key(&mut tenant_fk("refresh_tokens", "session_id", "sessions"));
        manager.create_table(refresh_tokens).await?;
        manager
            .create_index(
                index("ux_refresh_tokens_hash", "refresh_tokens", &["tenant_id", "token_hash"]).unique().to_owned(),
            )
            .await?;

        let mut api_keys = tenant_table("api_keys");
        api_keys
            .col(string("name"))
            .col(string_len("prefix", 16))
            .col(string_len("secret_hash", 64))
            .col(uuid("role_id"))
            .col(uuid("user_id"))
            .col(timestamp_with_time_zone_null("expires_at"))
            .col(timestamp_with_time_zone_null("last_used_at"))
            .col(timestamp_with_time_zone_null("revoked_at"))
            .foreign_key(&mut tenant_fk("api_keys", "role_id", "roles"))
            .foreign_key(&mut tenant_fk("api_keys", "user_id", "users"));
        lifecycle(&mut api_keys, false);
        manager.create_table(api_keys).await?;
        manager
            .create_index(index("ux_api_keys_secret", "api_keys", &["tenant_id", "secret_hash"]).unique().to_owned())
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("change_events")
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(big_integer("seq"))
                    .col(uuid("id"))
                    .col(timestamp_with_time_zone("occurred_at"))
                    .col(uuid_null("actor_user_id"))
                    .col(uuid_null("actor_api_key_id"))
                    .col(string_len_null("request_id", 64))
                    .col(string_len("entity_type", 40))
                    .col(uuid("entity_id"))
                    .col(string_len("operation", 32))
                    .col(json_binary("changes"))
                    .primary_key(Index::create().col("tenant_id").col("seq"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_change_events_tenant")
                            .from_tbl("change_events")
                            .from_col("tenant_id")
                            .to_tbl("tenants")
                            .to_col("id"),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_change_events_entity",
                "change_events",
                &["tenant_id", "entity_type", "entity_id", "seq"],
            ))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("idempotency_keys")
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(uuid("principal_id"))
                    .col(string_len("key", 200))
                    .col(string_len("operation", 64))
                    .col(string_len("request_hash", 64))
                    .col(uuid_null("entity_id"))
                    .col(timestamp_with_time_zone("created_at"))
                    .primary_key(Index::create().col("tenant_id").col("principal_id").col("key"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_idempotency_keys_created", "idempotency_keys", &["tenant_id", "created_at"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("job_leases")
                    .if_not_exists()
                    // Jobs that span tenants use the nil tenant id.
                    .col(uuid("tenant_id"))
                    .col(string_len("job_name", 64))
                    .col(string_len_null("holder", 64))
                    .col(timestamp_with_time_zone_null("leased_until"))
                    .col(timestamp_with_time_zone("next_run_at"))
                    .col(timestamp_with_time_zone_null("last_started_at"))
                    .col(timestamp_with_time_zone_null("last_finished_at"))
                    .col(big_integer("run_count").default(0))
                    .primary_key(Index::create().col("tenant_id").col("job_name"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "job_leases",
            "idempotency_keys",
            "change_events",
            "api_keys",
            "refresh_tokens",
            "sessions",
            "users",
            "roles",
            "departments",
            "tenants",
        ] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
