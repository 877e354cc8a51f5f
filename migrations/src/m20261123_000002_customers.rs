//! Customers, contacts, custom field definitions, numbering sequences and the search
//! token table that keeps customer search on an index at any size.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut customers = tenant_table("customers");
        customers
            .col(string_len("customer_number", 40))
            .col(string_len("kind", 16))
            .col(string_len("customer_type", 16))
            .col(string("name"))
            .col(string("normalized_name"))
            // Half-width, lower-case, letters and digits only: what search matches substrings in.
            .col(string("search_name"))
            .col(string("mnemonic_code"))
            .col(string_len_null("level", 40))
            .col(string_len("status", 16))
            .col(string_len_null("credit_rating", 16))
            // Exact decimal as text (SQLite has no exact decimal type): "1234.50".
            .col(string_len_null("credit_limit", 32))
            .col(uuid_null("parent_id"))
            .col(string_len_null("industry", 60))
            .col(string_len_null("region", 60))
            .col(string_len_null("province", 30))
            .col(string_len_null("city", 30))
            .col(string_len_null("address", 200))
            .col(string_len_null("postal_code", 6))
            .col(double_null("latitude"))
            .col(double_null("longitude"))
            .col(string_len_null("main_phone", 32))
            .col(string_len_null("finance_phone", 32))
            .col(string_len_null("email", 254))
            .col(string_len_null("website", 300))
            .col(string_len_null("size", 40))
            .col(string_len_null("tax_id", 18))
            .col(string_len_null("bank_name", 100))
            .col(string_len_null("bank_account", 40))
            .col(text_null("business_scope"))
            .col(string_len_null("source", 60))
            .col(uuid_null("owner_id"))
            .col(uuid_null("owner_department_id"))
            .col(timestamp_with_time_zone_null("registered_at"))
            .col(json_binary("tags"))
            .col(text_null("notes"))
            .col(json_binary("custom_fields"))
            .col(uuid_null("merged_into_id"))
            .col(timestamp_with_time_zone_null("last_interaction_at"))
            .col(timestamp_with_time_zone_null("next_follow_up_at"))
            .col(uuid_null("created_by"))
            .foreign_key(&mut tenant_fk("customers", "parent_id", "customers"))
            .foreign_key(&mut tenant_fk("customers", "owner_id", "users"))
            .foreign_key(&mut tenant_fk("customers", "merged_into_id", "customers"));
        lifecycle(&mut customers, true);
        manager.create_table(customers).await?;
        manager
            .create_index(
                index("ux_customers_number", "customers", &["tenant_id", "customer_number"]).unique().to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("ix_customers_owner", &["tenant_id", "owner_id", "id"][..]),
            ("ix_customers_name", &["tenant_id", "name", "id"]),
            ("ix_customers_updated", &["tenant_id", "updated_at", "id"]),
            ("ix_customers_created", &["tenant_id", "created_at", "id"]),
            ("ix_customers_normalized", &["tenant_id", "normalized_name"]),
            ("ix_customers_tax", &["tenant_id", "tax_id"]),
            ("ix_customers_phone", &["tenant_id", "main_phone"]),
            ("ix_customers_parent", &["tenant_id", "parent_id"]),
        ] {
            manager.create_index(index(name, "customers", columns)).await?;
        }

        manager
            .create_table(
                Table::create()
                    .table("customer_search_tokens")
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(string_len("token", 80))
                    .col(uuid("customer_id"))
                    .primary_key(Index::create().col("tenant_id").col("token").col("customer_id"))
                    .foreign_key(&mut tenant_fk("customer_search_tokens", "customer_id", "customers"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_customer_search_tokens_customer",
                "customer_search_tokens",
                &["tenant_id", "customer_id"],
            ))
            .await?;

        let mut contacts = tenant_table("contacts");
        contacts
            .col(uuid("customer_id"))
            .col(string("name"))
            .col(string_len_null("gender", 8))
            .col(date_null("birthday"))
            .col(string_len_null("department", 60))
            .col(string_len_null("title", 60))
            .col(uuid_null("manager_id"))
            .col(string_len_null("office_phone", 32))
            .col(string_len_null("mobile", 32))
            .col(string_len_null("email", 254))
            .col(string_len_null("home_phone", 32))
            .col(string_len_null("fax", 32))
            .col(string_len_null("hobbies", 200))
            .col(text_null("notes"))
            .col(uuid_null("owner_id"))
            .col(string_len("decision_role", 20))
            .col(json_binary("custom_fields"))
            .foreign_key(&mut tenant_fk("contacts", "customer_id", "customers"))
            .foreign_key(&mut tenant_fk("contacts", "manager_id", "contacts"))
            .foreign_key(&mut tenant_fk("contacts", "owner_id", "users"));
        lifecycle(&mut contacts, true);
        manager.create_table(contacts).await?;
        manager
            .create_index(index("ix_contacts_customer", "contacts", &["tenant_id", "customer_id", "name", "id"]))
            .await?;
        manager.create_index(index("ix_contacts_owner", "contacts", &["tenant_id", "owner_id"])).await?;
        manager.create_index(index("ix_contacts_mobile", "contacts", &["tenant_id", "mobile"])).await?;
        manager.create_index(index("ix_contacts_email", "contacts", &["tenant_id", "email"])).await?;

        let mut custom_fields = tenant_table("custom_fields");
        custom_fields
            .col(string_len("entity", 20))
            .col(string_len("key", 40))
            .col(string_len("label", 60))
            .col(string_len("field_type", 20))
            .col(boolean("required").default(false))
            .col(json_binary("options"))
            .col(integer("sort_order").default(0));
        lifecycle(&mut custom_fields, true);
        manager.create_table(custom_fields).await?;
        manager
            .create_index(
                index("ux_custom_fields_key", "custom_fields", &["tenant_id", "entity", "key"]).unique().to_owned(),
            )
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("number_sequences")
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(string_len("name", 40))
                    .col(string_len("period", 16))
                    .col(big_integer("value").default(0))
                    .primary_key(Index::create().col("tenant_id").col("name").col("period"))
                    .to_owned(),
            )
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in ["number_sequences", "custom_fields", "contacts", "customer_search_tokens", "customers"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
