//! Approvals, contracts and receivables: approval flows, requests, tasks and their
//! history; contracts; installment plans; receipts and their allocations; notices (the
//! reminders jobs write, once per subject, kind and occasion). Departments gain a head.
//! Money is stored as whole ten-thousandths (`*_e4`), like the trade tables.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const ROLE_GRANTS: RoleGrants = &[
    ("admin", &["receivable.read", "contract.void", "approval.manage"], "ALL"),
    ("executive", &["receivable.read"], "ALL"),
    ("sales_manager", &["receivable.read", "receivable.write", "contract.void"], "DEPARTMENT_TREE"),
    ("sales_rep", &["receivable.read", "receivable.write"], "OWN"),
    ("finance", &["receivable.read", "contract.void"], "ALL"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("departments").add_column(uuid_null("head_id")).to_owned()).await?;

        let mut flows = tenant_table("approval_flows");
        flows
            .col(string_len("kind", 20))
            .col(string_len("name", 50))
            .col(integer("priority").default(0))
            .col(json_null("condition"))
            .col(json("steps"))
            .col(boolean("active").default(true));
        lifecycle(&mut flows, true);
        manager.create_table(flows).await?;
        manager.create_index(index("ix_approval_flows_kind", "approval_flows", &["tenant_id", "kind"])).await?;

        let mut requests = tenant_table("approval_requests");
        requests
            .col(string_len("kind", 20))
            .col(uuid("document_id"))
            .col(uuid_null("flow_id"))
            .col(uuid("submitter_id"))
            .col(json("plan"))
            .col(integer("step").default(0))
            .col(string_len("status", 20))
            .foreign_key(&mut tenant_fk("approval_requests", "flow_id", "approval_flows"))
            .foreign_key(&mut tenant_fk("approval_requests", "submitter_id", "users"));
        lifecycle(&mut requests, false);
        manager.create_table(requests).await?;
        manager
            .create_index(index(
                "ix_approval_requests_document",
                "approval_requests",
                &["tenant_id", "document_id", "created_at"],
            ))
            .await?;
        // At most one request under way per document.
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_approval_requests_pending ON approval_requests (tenant_id, document_id) \
                 WHERE status = 'PENDING'",
            )
            .await?;

        let mut tasks = tenant_table("approval_tasks");
        tasks
            .col(uuid("request_id"))
            .col(string_len("kind", 20))
            .col(uuid("document_id"))
            .col(integer("step"))
            .col(uuid("approver_id"))
            .col(string_len("status", 20))
            .col(string_len_null("comment", 500))
            .col(timestamp_with_time_zone_null("acted_at"))
            .col(timestamp_with_time_zone("created_at"))
            .foreign_key(&mut tenant_fk("approval_tasks", "request_id", "approval_requests"))
            .foreign_key(&mut tenant_fk("approval_tasks", "approver_id", "users"));
        manager.create_table(tasks).await?;
        for (name, columns) in [
            ("ix_approval_tasks_request", &["tenant_id", "request_id", "step"][..]),
            ("ix_approval_tasks_approver", &["tenant_id", "approver_id", "status", "id"][..]),
            ("ix_approval_tasks_document", &["tenant_id", "document_id", "approver_id", "status"][..]),
        ] {
            manager.create_index(index(name, "approval_tasks", columns)).await?;
        }

        let mut actions = tenant_table("approval_actions");
        actions
            .col(uuid("request_id"))
            .col(string_len("kind", 20))
            .col(uuid("document_id"))
            .col(integer_null("step"))
            .col(string_len("action", 20))
            .col(uuid_null("actor_id"))
            .col(uuid_null("target_id"))
            .col(string_len_null("comment", 500))
            .col(timestamp_with_time_zone("created_at"))
            .foreign_key(&mut tenant_fk("approval_actions", "request_id", "approval_requests"));
        manager.create_table(actions).await?;
        manager
            .create_index(index(
                "ix_approval_actions_document",
                "approval_actions",
                &["tenant_id", "document_id", "id"],
            ))
            .await?;

        let mut contracts = tenant_table("contracts");
        contracts
            .col(string_len("number", 40))
            .col(string_len("title", 100))
            .col(uuid("customer_id"))
            .col(uuid_null("contact_id"))
            .col(uuid_null("opportunity_id"))
            .col(uuid_null("quote_id"))
            .col(uuid_null("order_id"))
            .col(uuid_null("owner_id"))
            .col(uuid_null("signer_id"))
            .col(date_null("signed_on"))
            .col(date_null("starts_on"))
            .col(date_null("ends_on"))
            .col(big_integer("amount_e4"))
            .col(integer("places"))
            .col(big_integer("received_e4").default(0))
            .col(text_null("payment_terms"))
            .col(json("attachments"))
            .col(string_len_null("external_id", 100))
            .col(text_null("notes"))
            .col(string_len("status", 20))
            .col(string_len_null("void_reason", 500))
            .col(timestamp_with_time_zone_null("approved_at"))
            .col(timestamp_with_time_zone_null("completed_at"))
            .col(uuid_null("created_by"))
            .foreign_key(&mut tenant_fk("contracts", "customer_id", "customers"))
            .foreign_key(&mut tenant_fk("contracts", "contact_id", "contacts"))
            .foreign_key(&mut tenant_fk("contracts", "opportunity_id", "opportunities"))
            .foreign_key(&mut tenant_fk("contracts", "quote_id", "quotes"))
            .foreign_key(&mut tenant_fk("contracts", "order_id", "sales_orders"))
            .foreign_key(&mut tenant_fk("contracts", "owner_id", "users"))
            .foreign_key(&mut tenant_fk("contracts", "signer_id", "users"));
        lifecycle(&mut contracts, true);
        manager.create_table(contracts).await?;
        manager
            .create_index(index("ux_contracts_number", "contracts", &["tenant_id", "number"]).unique().to_owned())
            .await?;
        for (name, columns) in [
            ("ix_contracts_customer", &["tenant_id", "customer_id"][..]),
            ("ix_contracts_owner", &["tenant_id", "owner_id", "approved_at"][..]),
            ("ix_contracts_updated", &["tenant_id", "updated_at", "id"][..]),
            ("ix_contracts_ends", &["tenant_id", "status", "ends_on"][..]),
        ] {
            manager.create_index(index(name, "contracts", columns)).await?;
        }
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_contracts_external ON contracts (tenant_id, external_id) \
                 WHERE external_id IS NOT NULL",
            )
            .await?;

        let mut installments = tenant_table("installments");
        installments
            .col(uuid("contract_id"))
            .col(integer("seq"))
            .col(big_integer("amount_e4"))
            .col(date("due_on"))
            .col(string_len_null("method", 20))
            .col(integer("remind_days"))
            .col(big_integer("received_e4").default(0))
            .col(boolean("void").default(false))
            .col(string_len_null("note", 200))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone("updated_at"))
            .foreign_key(&mut tenant_fk("installments", "contract_id", "contracts"));
        manager.create_table(installments).await?;
        for (name, columns) in [
            ("ix_installments_contract", &["tenant_id", "contract_id", "seq"][..]),
            ("ix_installments_due", &["tenant_id", "due_on"][..]),
        ] {
            manager.create_index(index(name, "installments", columns)).await?;
        }

        let mut receipts = tenant_table("receipts");
        receipts
            .col(string_len("number", 40))
            .col(uuid("contract_id"))
            .col(uuid("customer_id"))
            .col(uuid_null("owner_id"))
            .col(date("received_on"))
            .col(string_len("method", 20))
            .col(big_integer("amount_e4"))
            .col(big_integer("advance_e4").default(0))
            .col(string_len_null("payer", 100))
            .col(string_len_null("external_id", 100))
            .col(string_len_null("note", 500))
            .col(string_len("status", 20))
            .col(json("allocations"))
            .col(string_len_null("reversed_reason", 500))
            .col(timestamp_with_time_zone_null("reversed_at"))
            .col(uuid_null("created_by"))
            .foreign_key(&mut tenant_fk("receipts", "contract_id", "contracts"))
            .foreign_key(&mut tenant_fk("receipts", "customer_id", "customers"))
            .foreign_key(&mut tenant_fk("receipts", "owner_id", "users"));
        lifecycle(&mut receipts, false);
        manager.create_table(receipts).await?;
        manager
            .create_index(index("ux_receipts_number", "receipts", &["tenant_id", "number"]).unique().to_owned())
            .await?;
        manager
            .create_index(index("ix_receipts_contract", "receipts", &["tenant_id", "contract_id", "received_on"]))
            .await?;
        manager
            .get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_receipts_external ON receipts (tenant_id, external_id) \
                 WHERE external_id IS NOT NULL",
            )
            .await?;

        let mut notices = tenant_table("notices");
        notices
            .col(uuid("user_id"))
            .col(string_len("kind", 30))
            .col(string_len("subject_kind", 30))
            .col(uuid("subject_id"))
            .col(date("occasion"))
            .col(string_len("message", 300))
            .col(timestamp_with_time_zone("created_at"))
            .col(timestamp_with_time_zone_null("read_at"))
            .foreign_key(&mut tenant_fk("notices", "user_id", "users"));
        manager.create_table(notices).await?;
        manager
            .create_index(
                index("ux_notices_once", "notices", &["tenant_id", "subject_id", "kind", "occasion"])
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager.create_index(index("ix_notices_user", "notices", &["tenant_id", "user_id", "id"])).await?;

        grant_builtin_roles(manager, ROLE_GRANTS, &["RECEIVABLE"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "notices",
            "receipts",
            "installments",
            "contracts",
            "approval_actions",
            "approval_tasks",
            "approval_requests",
            "approval_flows",
        ] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        manager.alter_table(Table::alter().table("departments").drop_column("head_id").to_owned()).await
    }
}
