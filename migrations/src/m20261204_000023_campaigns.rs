//! Marketing (营销): campaigns (营销活动) with their members — customers and leads — and a
//! campaign source on deals, so a campaign's return is what its deals won against what it
//! cost; care plans (客户关怀计划), whose tasks are calendar events that name their plan.
//! The built-in roles get `campaign.read` (everyone who sells), and the sales managers
//! `campaign.write` and `care.plan`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const ROLE_GRANTS: RoleGrants = &[
    ("admin", &["campaign.read", "campaign.write", "care.plan"], "ALL"),
    ("executive", &["campaign.read"], "ALL"),
    ("sales_manager", &["campaign.read", "campaign.write", "care.plan"], "DEPARTMENT_TREE"),
    ("sales_rep", &["campaign.read"], "OWN"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut campaigns = tenant_table("campaigns");
        campaigns
            .col(string_len("name", 100))
            .col(string_len("kind", 20))
            .col(string_len("status", 20))
            .col(date_null("starts_on"))
            .col(date_null("ends_on"))
            .col(big_integer("budget_fen").default(0))
            .col(big_integer("actual_cost_fen").default(0))
            .col(big_integer_null("expected_revenue_fen"))
            .col(text_null("description"))
            .col(uuid_null("owner_id"))
            .foreign_key(&mut tenant_fk("campaigns", "owner_id", "users"));
        lifecycle(&mut campaigns, true);
        manager.create_table(campaigns).await?;
        manager.create_index(index("ix_campaigns_starts", "campaigns", &["tenant_id", "starts_on"])).await?;

        // One row per campaign and member; a member is a customer or a lead (by kind).
        manager
            .create_table(
                Table::create()
                    .table("campaign_members")
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(uuid("campaign_id"))
                    .col(uuid("member_id"))
                    .col(string_len("member_kind", 10))
                    .col(timestamp_with_time_zone("added_at"))
                    .col(uuid_null("added_by"))
                    .col(timestamp_with_time_zone_null("responded_at"))
                    .primary_key(Index::create().col("tenant_id").col("campaign_id").col("member_id"))
                    .foreign_key(&mut tenant_fk("campaign_members", "campaign_id", "campaigns"))
                    .to_owned(),
            )
            .await?;
        // A customer's or lead's campaigns.
        manager
            .create_index(index("ix_campaign_members_member", "campaign_members", &["tenant_id", "member_id"]))
            .await?;

        let mut source = ColumnDef::new("campaign_id");
        source.uuid().null();
        manager.alter_table(Table::alter().table("opportunities").add_column(&mut source).to_owned()).await?;
        manager
            .create_index(index("ix_opportunities_campaign", "opportunities", &["tenant_id", "campaign_id", "status"]))
            .await?;

        let mut plans = tenant_table("care_plans");
        plans
            .col(string_len("name", 100))
            .col(json_binary("fields"))
            .col(integer("tasks_created"))
            .col(uuid_null("created_by"))
            .col(timestamp_with_time_zone("created_at"));
        manager.create_table(plans).await?;
        manager.create_index(index("ix_care_plans_created", "care_plans", &["tenant_id", "created_at"])).await?;

        let mut plan = ColumnDef::new("care_plan_id");
        plan.uuid().null();
        manager.alter_table(Table::alter().table("events").add_column(&mut plan).to_owned()).await?;
        manager.create_index(index("ix_events_care_plan", "events", &["tenant_id", "care_plan_id"])).await?;

        grant_builtin_roles(manager, ROLE_GRANTS, &[]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_events_care_plan").table("events").to_owned()).await?;
        manager.alter_table(Table::alter().table("events").drop_column("care_plan_id").to_owned()).await?;
        manager.drop_index(Index::drop().name("ix_opportunities_campaign").table("opportunities").to_owned()).await?;
        manager.alter_table(Table::alter().table("opportunities").drop_column("campaign_id").to_owned()).await?;
        for table in ["care_plans", "campaign_members", "campaigns"] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
