//! Assignment rules (分配规则): who gets a new customer that arrives without an owner. A
//! rule matches on region, industry, source and level (any, when a list is empty) and
//! hands out to its members in turn (`ROUND_ROBIN`, `BY_RULE`) or by their 30-day
//! capacity (`CAPACITY`). `cursor` counts the rule's turns: bumping it takes the rule's
//! row lock, so concurrent arrivals queue on it and each sees the one before. The log
//! keeps every assignment (the capacity quota counts a member's last 24 hours from it).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut rules = tenant_table("assignment_rules");
        rules
            .col(string_len("name", 100))
            .col(integer("priority"))
            .col(string_len("mode", 20))
            .col(json_binary("conditions"))
            .col(json_binary("members"))
            .col(big_integer("cursor").default(0))
            .col(boolean("active").default(true))
            .col(uuid_null("created_by"));
        lifecycle(&mut rules, true);
        manager.create_table(rules).await?;
        manager
            .create_index(index("ix_assignment_rules_priority", "assignment_rules", &["tenant_id", "priority"]))
            .await?;

        let mut log = tenant_table("assignment_log");
        log.col(uuid("rule_id"))
            .col(uuid("user_id"))
            .col(string_len("record_type", 20))
            .col(uuid("record_id"))
            .col(timestamp_with_time_zone("at"))
            .foreign_key(&mut tenant_fk("assignment_log", "rule_id", "assignment_rules"))
            .foreign_key(&mut tenant_fk("assignment_log", "user_id", "users"));
        manager.create_table(log).await?;
        // A rule's members' last 24 hours (the capacity quota).
        manager
            .create_index(index(
                "ix_assignment_log_rule_user",
                "assignment_log",
                &["tenant_id", "rule_id", "user_id", "at"],
            ))
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_table(Table::drop().table("assignment_log").if_exists().to_owned()).await?;
        manager.drop_table(Table::drop().table("assignment_rules").if_exists().to_owned()).await
    }
}
