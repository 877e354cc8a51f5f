//! Leads (线索): people and companies that may become customers. A lead has an owner (or
//! waits for one), a status from NEW to CONVERTED, a score the tenant's rules give it with
//! the lines that made it, and, once converted, the customer, contact and deal it became.
//! Its follow-ups (`lead_activities`) move to the customer's timeline on conversion.
//! `lead_settings` holds a tenant's lead sources, reasons for UNQUALIFIED and scoring
//! rules. Assignment rules now say whether they hand out customers or leads. The built-in
//! roles get `lead.read`, `lead.write` and `lead.convert` and a `LEAD` data scope.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const ROLE_GRANTS: RoleGrants = &[
    ("admin", &["lead.read", "lead.write", "lead.convert"], "ALL"),
    ("executive", &["lead.read"], "ALL"),
    ("sales_manager", &["lead.read", "lead.write", "lead.convert"], "DEPARTMENT_TREE"),
    ("sales_rep", &["lead.read", "lead.write", "lead.convert"], "OWN"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut leads = tenant_table("leads");
        leads
            .col(string_len("name", 60))
            .col(string_len_null("company", 100))
            .col(string_len_null("phone", 30))
            .col(string_len_null("email", 100))
            .col(string_len_null("wechat", 60))
            .col(string_len_null("source", 30))
            .col(string_len_null("campaign", 60))
            .col(string_len_null("industry", 30))
            .col(string_len_null("region", 30))
            .col(string_len_null("notes", 2000))
            .col(uuid_null("owner_id"))
            .col(string_len("status", 20))
            .col(string_len_null("unqualified_reason", 60))
            .col(integer("score").default(0))
            .col(json_binary("score_lines"))
            // When time alone next changes the score (an inactivity rule comes due).
            .col(timestamp_with_time_zone_null("rescore_at"))
            .col(timestamp_with_time_zone_null("last_activity_at"))
            .col(string_len_null("external_id", 100))
            .col(uuid_null("customer_id"))
            .col(uuid_null("contact_id"))
            .col(uuid_null("opportunity_id"))
            .col(timestamp_with_time_zone_null("converted_at"))
            .col(uuid_null("created_by"))
            .foreign_key(&mut tenant_fk("leads", "owner_id", "users"))
            .foreign_key(&mut tenant_fk("leads", "customer_id", "customers"))
            .foreign_key(&mut tenant_fk("leads", "contact_id", "contacts"))
            .foreign_key(&mut tenant_fk("leads", "opportunity_id", "opportunities"));
        lifecycle(&mut leads, true);
        manager.create_table(leads).await?;
        for (name, columns) in [
            ("ix_leads_owner", &["tenant_id", "owner_id", "created_at"][..]),
            ("ix_leads_status", &["tenant_id", "status", "created_at"]),
            ("ix_leads_score", &["tenant_id", "score"]),
            ("ix_leads_phone", &["tenant_id", "phone"]),
            ("ix_leads_customer", &["tenant_id", "customer_id"]),
            // The rescoring job's queue, across tenants.
            ("ix_leads_rescore", &["rescore_at", "tenant_id"]),
        ] {
            manager.create_index(index(name, "leads", columns)).await?;
        }
        manager
            .create_index(index("ux_leads_external", "leads", &["tenant_id", "external_id"]).unique().to_owned())
            .await?;

        let mut activities = tenant_table("lead_activities");
        activities
            .col(uuid("lead_id"))
            .col(uuid_null("author_id"))
            .col(string_len("channel", 20))
            .col(timestamp_with_time_zone("occurred_at"))
            .col(text("content"))
            .col(string_len_null("outcome", 200))
            .col(timestamp_with_time_zone_null("next_follow_up_at"))
            .col(timestamp_with_time_zone("created_at"))
            .foreign_key(&mut tenant_fk("lead_activities", "lead_id", "leads"))
            .foreign_key(&mut tenant_fk("lead_activities", "author_id", "users"));
        manager.create_table(activities).await?;
        manager
            .create_index(index("ix_lead_activities_lead", "lead_activities", &["tenant_id", "lead_id", "occurred_at"]))
            .await?;

        manager
            .create_table(
                Table::create()
                    .table("lead_settings")
                    .if_not_exists()
                    .col(uuid("tenant_id").primary_key())
                    .col(json_binary("sources"))
                    .col(json_binary("unqualified_reasons"))
                    .col(json_binary("rules"))
                    .col(integer("version").default(1))
                    .col(timestamp_with_time_zone("updated_at"))
                    .foreign_key(
                        ForeignKey::create()
                            .name("fk_lead_settings_tenant")
                            .from_tbl("lead_settings")
                            .from_col("tenant_id")
                            .to_tbl("tenants")
                            .to_col("id"),
                    )
                    .to_owned(),
            )
            .await?;

        let mut applies = ColumnDef::new("applies_to");
        applies.string_len(20).not_null().default("CUSTOMERS");
        manager.alter_table(Table::alter().table("assignment_rules").add_column(&mut applies).to_owned()).await?;

        grant_builtin_roles(manager, ROLE_GRANTS, &["LEAD"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("assignment_rules").drop_column("applies_to").to_owned()).await?;
        for table in ["lead_settings", "lead_activities", "leads"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
