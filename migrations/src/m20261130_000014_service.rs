//! After-sales service: the assets customers own (客户资产), service contracts (服务合同),
//! technicians with their skills and regions (技术员), and work orders (售后服务工单) with
//! their parts and packing lists, and product defects (产品缺陷) work orders link to. Service agents now see their department's work orders,
//! not every one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, JsonValue, Statement};

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const ROLE_GRANTS: RoleGrants = &[
    ("admin", &["workorder.supervise", "service.manage", "knowledge.write"], "ALL"),
    ("service_agent", &["service.manage", "knowledge.write"], "DEPARTMENT"),
    ("technician", &["knowledge.write"], "OWN"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();

        let mut assets = tenant_table("assets");
        assets
            .col(uuid("customer_id"))
            .col(uuid("product_id"))
            .col(string_len_null("serial_number", 60))
            .col(date_null("purchased_on"))
            .col(date_null("warranty_ends_on"))
            .col(string_len_null("address", 200))
            .col(uuid_null("order_id"))
            .col(uuid_null("contract_id"))
            .col(string_len_null("note", 500))
            .foreign_key(&mut tenant_fk("assets", "customer_id", "customers"))
            .foreign_key(&mut tenant_fk("assets", "product_id", "products"));
        lifecycle(&mut assets, true);
        manager.create_table(assets).await?;
        manager.create_index(index("ix_assets_customer", "assets", &["tenant_id", "customer_id"])).await?;
        db.execute_unprepared(
            "CREATE UNIQUE INDEX ux_assets_serial ON assets (tenant_id, product_id, serial_number) \
             WHERE serial_number IS NOT NULL AND deleted_at IS NULL",
        )
        .await?;

        let mut contracts = tenant_table("service_contracts");
        contracts
            .col(string_len("number", 40))
            .col(uuid("customer_id"))
            .col(uuid_null("owner_id"))
            .col(date("starts_on"))
            .col(date("ends_on"))
            .col(string_len("level", 40))
            .col(json("asset_ids"))
            .col(json("product_ids"))
            .col(boolean("covers_parts"))
            .col(boolean("covers_labour"))
            .col(json_null("sla"))
            .col(string_len_null("note", 500))
            .foreign_key(&mut tenant_fk("service_contracts", "customer_id", "customers"))
            .foreign_key(&mut tenant_fk("service_contracts", "owner_id", "users"));
        lifecycle(&mut contracts, true);
        manager.create_table(contracts).await?;
        manager
            .create_index(
                index("ux_service_contracts_number", "service_contracts", &["tenant_id", "number"]).unique().to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_service_contracts_customer",
                "service_contracts",
                &["tenant_id", "customer_id", "ends_on"],
            ))
            .await?;

        // A technician is a user who takes dispatched work; `id` is the user's id.
        let mut technicians = tenant_table("technicians");
        technicians.col(boolean("active").default(true)).foreign_key(&mut tenant_fk("technicians", "id", "users"));
        lifecycle(&mut technicians, false);
        manager.create_table(technicians).await?;
        // What dispatch matches on, one row per skill: a product category or a region.
        manager
            .create_table(
                Table::create()
                    .table("technician_skills")
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(uuid("user_id"))
                    .col(string_len("kind", 10))
                    .col(string_len("value", 60))
                    .primary_key(Index::create().col("tenant_id").col("kind").col("value").col("user_id"))
                    .foreign_key(&mut tenant_fk("technician_skills", "user_id", "technicians"))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(index("ix_technician_skills_user", "technician_skills", &["tenant_id", "user_id"]))
            .await?;

        let mut defects = tenant_table("product_defects");
        defects
            .col(string_len("number", 40))
            .col(uuid("product_id"))
            .col(string_len("title", 200))
            .col(text_null("description"))
            .col(string_len("severity", 10))
            .col(string_len("status", 10))
            .col(uuid_null("created_by"))
            .foreign_key(&mut tenant_fk("product_defects", "product_id", "products"));
        lifecycle(&mut defects, true);
        manager.create_table(defects).await?;
        manager
            .create_index(
                index("ux_product_defects_number", "product_defects", &["tenant_id", "number"]).unique().to_owned(),
            )
            .await?;
        manager
            .create_index(index(
                "ix_product_defects_product",
                "product_defects",
                &["tenant_id", "product_id", "created_at"],
            ))
            .await?;

        let mut orders = tenant_table("work_orders");
        orders
            .col(string_len("number", 40))
            .col(uuid("customer_id"))
            .col(uuid_null("contact_id"))
            .col(uuid_null("asset_id"))
            .col(uuid_null("product_id"))
            .col(string_len("channel", 20))
            .col(string_len("kind", 20))
            .col(string_len("priority", 10))
            .col(string_len("subject", 200))
            .col(text_null("description"))
            .col(json("attachment_ids"))
            .col(timestamp_with_time_zone_null("window_from"))
            .col(timestamp_with_time_zone_null("window_to"))
            .col(string_len_null("address", 200))
            .col(string_len_null("region", 60))
            .col(string_len("status", 20))
            .col(string_len_null("held_from", 20))
            .col(string_len_null("reason", 500))
            .col(json("coverage"))
            .col(uuid_null("owner_id"))
            .col(uuid_null("dispatcher_id"))
            .col(uuid_null("technician_id"))
            .col(timestamp_with_time_zone_null("accepted_at"))
            .col(timestamp_with_time_zone_null("dispatched_at"))
            .col(timestamp_with_time_zone_null("travel_started_at"))
            .col(timestamp_with_time_zone_null("started_at"))
            .col(timestamp_with_time_zone_null("completed_at"))
            .col(timestamp_with_time_zone_null("confirmed_at"))
            .col(timestamp_with_time_zone_null("closed_at"))
            .col(timestamp_with_time_zone_null("cancelled_at"))
            .col(integer("reopen_count").default(0))
            .col(string_len_null("resolution", 2000))
            .col(string_len_null("root_cause", 500))
            .col(big_integer("parts_e4").default(0))
            .col(big_integer("labour_e4").default(0))
            .col(big_integer("charge_e4").default(0))
            .col(string_len("payment_status", 20))
            .col(string_len_null("payment_method", 20))
            .col(timestamp_with_time_zone_null("paid_at"))
            .col(small_integer_null("satisfaction"))
            .col(string_len_null("satisfaction_comment", 500))
            .col(uuid_null("defect_id"))
            .col(uuid_null("return_visit_id"))
            .col(timestamp_with_time_zone_null("response_due_at"))
            .col(timestamp_with_time_zone_null("resolution_due_at"))
            .col(timestamp_with_time_zone_null("response_breached_at"))
            .col(timestamp_with_time_zone_null("resolution_breached_at"))
            .col(string_len_null("external_id", 100))
            .col(uuid_null("created_by"))
            .foreign_key(&mut tenant_fk("work_orders", "customer_id", "customers"))
            .foreign_key(&mut tenant_fk("work_orders", "contact_id", "contacts"))
            .foreign_key(&mut tenant_fk("work_orders", "asset_id", "assets"))
            .foreign_key(&mut tenant_fk("work_orders", "product_id", "products"))
            .foreign_key(&mut tenant_fk("work_orders", "owner_id", "users"))
            .foreign_key(&mut tenant_fk("work_orders", "technician_id", "users"))
            .foreign_key(&mut tenant_fk("work_orders", "defect_id", "product_defects"))
            .foreign_key(&mut tenant_fk("work_orders", "return_visit_id", "events"));
        lifecycle(&mut orders, false);
        manager.create_table(orders).await?;
        manager
            .create_index(index("ux_work_orders_number", "work_orders", &["tenant_id", "number"]).unique().to_owned())
            .await?;
        for (name, columns) in [
            ("ix_work_orders_customer", &["tenant_id", "customer_id", "created_at"][..]),
            // A technician's queue and open load.
            ("ix_work_orders_technician", &["tenant_id", "technician_id", "status"][..]),
            ("ix_work_orders_owner", &["tenant_id", "owner_id", "created_at"][..]),
            ("ix_work_orders_created", &["tenant_id", "created_at", "id"][..]),
            ("ix_work_orders_status", &["tenant_id", "status", "created_at", "id"][..]),
            ("ix_work_orders_completed", &["tenant_id", "completed_at"][..]),
            ("ix_work_orders_defect", &["tenant_id", "defect_id"][..]),
        ] {
            manager.create_index(index(name, "work_orders", columns)).await?;
        }
        for sql in [
            "CREATE UNIQUE INDEX ux_work_orders_external ON work_orders (tenant_id, external_id) \
             WHERE external_id IS NOT NULL",
            // What the breach job looks for: deadlines still pending, by due time.
            "CREATE INDEX ix_work_orders_response_due ON work_orders (response_due_at) \
             WHERE accepted_at IS NULL AND response_breached_at IS NULL AND status <> 'CANCELLED'",
            "CREATE INDEX ix_work_orders_resolution_due ON work_orders (resolution_due_at) \
             WHERE completed_at IS NULL AND resolution_breached_at IS NULL AND status <> 'CANCELLED'",
            // A feed of one kind (`workOrderUpdated`) reads the change log by kind.
            "CREATE INDEX ix_change_events_kind ON change_events (tenant_id, entity_type, seq)",
        ] {
            db.execute_unprepared(sql).await?;
        }

        let mut items = tenant_table("work_order_items");
        items
            .col(uuid("work_order_id"))
            .col(integer("position"))
            .col(string_len("kind", 10))
            .col(uuid_null("product_id"))
            .col(string_len("name", 100))
            .col(big_integer("quantity_e4"))
            .col(big_integer("unit_price_e4"))
            .col(big_integer("amount_e4"))
            .col(string_len_null("serial_number", 60))
            .foreign_key(&mut tenant_fk("work_order_items", "work_order_id", "work_orders"))
            .foreign_key(&mut tenant_fk("work_order_items", "product_id", "products"));
        manager.create_table(items).await?;
        manager
            .create_index(index(
                "ix_work_order_items_order",
                "work_order_items",
                &["tenant_id", "work_order_id", "position"],
            ))
            .await?;

        knowledge_base(manager).await?;
        grant_builtin_roles(manager, ROLE_GRANTS, &[]).await?;
        set_builtin_scope(manager, "service_agent", "WORK_ORDER", ("ALL", "DEPARTMENT")).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.drop_index(Index::drop().name("ix_change_events_kind").table("change_events").to_owned()).await?;
        set_builtin_scope(manager, "service_agent", "WORK_ORDER", ("DEPARTMENT", "ALL")).await?;
        for table in [
            "work_order_articles",
            "kb_article_products",
            "kb_article_tokens",
            "kb_article_versions",
            "kb_articles",
            "kb_categories",
            "work_order_items",
            "work_orders",
            "product_defects",
            "technician_skills",
            "technicians",
            "service_contracts",
            "assets",
        ] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}

/// The knowledge base: categories, articles with their versions, the token index its
/// search reads, the products articles are about, and the articles linked to work orders.
async fn knowledge_base(manager: &SchemaManager<'_>) -> Result<(), DbErr> {
    let mut categories = tenant_table("kb_categories");
    categories.col(uuid_null("parent_id")).col(string_len("name", 50)).col(integer("position").default(0));
    manager.create_table(categories).await?;

    let mut articles = tenant_table("kb_articles");
    articles
        .col(string_len("title", 200))
        .col(text("body"))
        .col(text("search_text"))
        .col(uuid_null("category_id"))
        .col(json("tags"))
        .col(string_len("visibility", 10))
        .col(string_len("status", 10))
        .col(uuid_null("author_id"))
        .col(timestamp_with_time_zone_null("published_at"))
        .foreign_key(&mut tenant_fk("kb_articles", "category_id", "kb_categories"));
    lifecycle(&mut articles, true);
    manager.create_table(articles).await?;
    manager.create_index(index("ix_kb_articles_updated", "kb_articles", &["tenant_id", "updated_at", "id"])).await?;

    let mut versions = tenant_table("kb_article_versions");
    versions
        .col(uuid("article_id"))
        .col(integer("version"))
        .col(string_len("title", 200))
        .col(text("body"))
        .col(uuid_null("edited_by"))
        .col(timestamp_with_time_zone("created_at"))
        .foreign_key(&mut tenant_fk("kb_article_versions", "article_id", "kb_articles"));
    manager.create_table(versions).await?;
    manager
        .create_index(
            index("ux_kb_article_versions", "kb_article_versions", &["tenant_id", "article_id", "version"])
                .unique()
                .to_owned(),
        )
        .await?;

    for (table, key) in [("kb_article_tokens", "token"), ("kb_article_products", "product_id")] {
        let key_column = if key == "token" { string_len(key, 20) } else { uuid(key) };
        manager
            .create_table(
                Table::create()
                    .table(table)
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(key_column)
                    .col(uuid("article_id"))
                    .primary_key(Index::create().col("tenant_id").col(key).col("article_id"))
                    .foreign_key(&mut tenant_fk(table, "article_id", "kb_articles"))
                    .to_owned(),
            )
            .await?;
        manager.create_index(index(&format!("ix_{table}_article"), table, &["tenant_id", "article_id"])).await?;
    }
    manager
        .create_table(
            Table::create()
                .table("work_order_articles")
                .if_not_exists()
                .col(uuid("tenant_id"))
                .col(uuid("work_order_id"))
                .col(uuid("article_id"))
                .col(uuid_null("linked_by"))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(Index::create().col("tenant_id").col("work_order_id").col("article_id"))
                .foreign_key(&mut tenant_fk("work_order_articles", "work_order_id", "work_orders"))
                .foreign_key(&mut tenant_fk("work_order_articles", "article_id", "kb_articles"))
                .to_owned(),
        )
        .await?;
    Ok(())
}

/// Moves a built-in role's scope on `module` from one value to another, where the tenant
/// left it as it was.
async fn set_builtin_scope(
    manager: &SchemaManager<'_>,
    role: &str,
    module: &str,
    (from, to): (&str, &str),
) -> Result<(), DbErr> {
    let db = manager.get_connection();
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            manager.get_database_backend(),
            match manager.get_database_backend() {
                sea_orm_migration::sea_orm::DbBackend::Postgres => {
                    "SELECT tenant_id, id, scopes FROM roles WHERE builtin_key = $1"
                }
                _ => "SELECT tenant_id, id, scopes FROM roles WHERE builtin_key = ?",
            },
            [role.into()],
        ))
        .await?;
    for row in rows {
        let tenant: uuid::Uuid = row.try_get("", "tenant_id")?;
        let id: uuid::Uuid = row.try_get("", "id")?;
        let mut scopes: JsonValue = row.try_get("", "scopes")?;
        let Some(map) = scopes.as_object_mut() else { continue };
        if map.get(module).and_then(JsonValue::as_str) != Some(from) {
            continue;
        }
        map.insert(module.to_owned(), to.into());
        db.execute(
            &Query::update()
                .table("roles")
                .value("scopes", scopes)
                .and_where(Expr::col("tenant_id").eq(tenant))
                .and_where(Expr::col("id").eq(id))
                .to_owned(),
        )
        .await?;
    }
    Ok(())
}
