//! Trade: product categories, products and their search tokens, price policies, quotes,
//! sales orders, the lines of quotes, orders and deals, and order deliveries. Money,
//! quantities and percentages are whole ten-thousandths (`*_e4`), so the database sums
//! them exactly. Customers gain the time of their last deal, and the built-in roles of
//! existing tenants gain the new permissions and data scopes as defined when this
//! migration landed.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

use crate::helpers::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The figures every document stores beside its lines.
fn totals(table: &mut TableCreateStatement) {
    for column in
        ["list_amount_e4", "subtotal_e4", "discount_amount_e4", "net_e4", "tax_e4", "gross_e4", "discount_off_list_e4"]
    {
        table.col(big_integer(column).default(0));
    }
}

/// What a quote and an order share: customer, contact, deal, owner, and how it is priced.
fn document_header(table: &mut TableCreateStatement, name: &'static str) {
    table
        .col(string_len("number", 40))
        .col(uuid("customer_id"))
        .col(uuid_null("contact_id"))
        .col(uuid_null("opportunity_id"))
        .col(uuid_null("owner_id"))
        .col(string_len("status", 20))
        .col(string_len("tax_mode", 10))
        .col(big_integer("discount_e4").default(0))
        .col(small_integer("places"))
        .col(text_null("notes"))
        .foreign_key(&mut tenant_fk(name, "customer_id", "customers"))
        .foreign_key(&mut tenant_fk(name, "contact_id", "contacts"))
        .foreign_key(&mut tenant_fk(name, "opportunity_id", "opportunities"))
        .foreign_key(&mut tenant_fk(name, "owner_id", "users"));
    totals(table);
}

/// New permissions and scopes of the built-in roles: (role key, permission keys, scope).
const ROLE_GRANTS: RoleGrants = &[
    (
        "admin",
        &[
            "product.read",
            "product.manage",
            "product.cost",
            "quote.read",
            "quote.write",
            "quote.approve",
            "order.read",
            "order.write",
        ],
        "ALL",
    ),
    ("executive", &["product.read", "product.cost", "quote.read", "order.read"], "ALL"),
    (
        "sales_manager",
        &["product.read", "product.cost", "quote.read", "quote.write", "quote.approve", "order.read", "order.write"],
        "DEPARTMENT_TREE",
    ),
    ("sales_rep", &["product.read", "quote.read", "quote.write", "order.read", "order.write"], "OWN"),
    ("service_agent", &["product.read"], "ALL"),
    ("technician", &["product.read"], "OWN"),
    ("finance", &["product.read", "product.cost", "quote.read", "order.read"], "ALL"),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let mut categories = tenant_table("product_categories");
        categories
            .col(uuid_null("parent_id"))
            .col(string_len("name", 40))
            .col(integer("position").default(0))
            .foreign_key(&mut tenant_fk("product_categories", "parent_id", "product_categories"));
        lifecycle(&mut categories, true);
        manager.create_table(categories).await?;

        let mut products = tenant_table("products");
        products
            .col(string_len("code", 40))
            .col(string_len("name", 100))
            .col(string_len("mnemonic_code", 40))
            .col(uuid_null("category_id"))
            .col(string_len("kind", 12))
            .col(string_len("origin", 12))
            .col(string_len_null("specification", 100))
            .col(string_len("unit", 10))
            .col(big_integer("list_price_e4"))
            .col(big_integer_null("cost_price_e4"))
            .col(string_len("tax_rate", 3))
            .col(boolean("active").default(true))
            .col(text_null("description"))
            .col(json_binary("image_ids"))
            .col(json_binary("custom_fields"))
            .col(string_len_null("external_id", 64))
            .foreign_key(&mut tenant_fk("products", "category_id", "product_categories"));
        lifecycle(&mut products, true);
        manager.create_table(products).await?;
        manager.create_index(index("ux_products_code", "products", &["tenant_id", "code"]).unique().to_owned()).await?;
        manager
            .create_index(index("ux_products_external", "products", &["tenant_id", "external_id"]).unique().to_owned())
            .await?;
        manager.create_index(index("ix_products_category", "products", &["tenant_id", "category_id"])).await?;
        manager.create_index(index("ix_products_updated", "products", &["tenant_id", "updated_at", "id"])).await?;

        manager
            .create_table(
                Table::create()
                    .table("product_search_tokens")
                    .if_not_exists()
                    .col(uuid("tenant_id"))
                    .col(string_len("token", 64))
                    .col(uuid("product_id"))
                    .primary_key(Index::create().col("tenant_id").col("token").col("product_id"))
                    .foreign_key(&mut tenant_fk("product_search_tokens", "product_id", "products"))
                    .to_owned(),
            )
            .await?;

        let mut policies = tenant_table("price_policies");
        policies
            .col(uuid("product_id"))
            .col(string_len_null("customer_level", 30))
            .col(uuid_null("customer_id"))
            .col(big_integer("price_e4"))
            .col(json_binary("breaks"))
            .col(date("valid_from"))
            .col(date_null("valid_to"))
            .foreign_key(&mut tenant_fk("price_policies", "product_id", "products"))
            .foreign_key(&mut tenant_fk("price_policies", "customer_id", "customers"));
        lifecycle(&mut policies, true);
        manager.create_table(policies).await?;
        manager
            .create_index(index(
                "ix_price_policies_product",
                "price_policies",
                &["tenant_id", "product_id", "valid_from"],
            ))
            .await?;
        manager
            .create_index(index("ix_price_policies_customer", "price_policies", &["tenant_id", "customer_id"]))
            .await?;

        let mut quotes = tenant_table("quotes");
        document_header(&mut quotes, "quotes");
        quotes
            .col(integer("revision").default(1))
            .col(timestamp_with_time_zone_null("superseded_at"))
            .col(date_null("valid_until"))
            .col(text_null("terms"))
            .col(uuid_null("approved_by"))
            .col(timestamp_with_time_zone_null("sent_at"))
            .col(timestamp_with_time_zone_null("decided_at"))
            .col(string_len_null("decision_reason", 200));
        lifecycle(&mut quotes, true);
        manager.create_table(quotes).await?;
        manager
            .create_index(index("ux_quotes_number", "quotes", &["tenant_id", "number", "revision"]).unique().to_owned())
            .await?;
        for (name, columns) in [
            ("ix_quotes_customer", &["tenant_id", "customer_id"][..]),
            ("ix_quotes_owner", &["tenant_id", "owner_id", "status"][..]),
            ("ix_quotes_updated", &["tenant_id", "updated_at", "id"][..]),
        ] {
            manager.create_index(index(name, "quotes", columns)).await?;
        }

        let mut orders = tenant_table("sales_orders");
        document_header(&mut orders, "sales_orders");
        orders
            .col(uuid_null("quote_id"))
            .col(date_null("delivery_date"))
            .col(string_len_null("delivery_address", 200))
            .col(string_len_null("payment_terms", 200))
            .col(string_len_null("external_id", 64))
            .col(timestamp_with_time_zone_null("confirmed_at"))
            .col(timestamp_with_time_zone_null("closed_at"))
            .col(string_len_null("cancel_reason", 200))
            .foreign_key(&mut tenant_fk("sales_orders", "quote_id", "quotes"));
        lifecycle(&mut orders, true);
        manager.create_table(orders).await?;
        manager
            .create_index(index("ux_sales_orders_number", "sales_orders", &["tenant_id", "number"]).unique().to_owned())
            .await?;
        manager
            .create_index(
                index("ux_sales_orders_external", "sales_orders", &["tenant_id", "external_id"]).unique().to_owned(),
            )
            .await?;
        for (name, columns) in [
            ("ix_sales_orders_customer", &["tenant_id", "customer_id", "status"][..]),
            ("ix_sales_orders_owner", &["tenant_id", "owner_id", "confirmed_at"][..]),
            ("ix_sales_orders_updated", &["tenant_id", "updated_at", "id"][..]),
            ("ix_sales_orders_quote", &["tenant_id", "quote_id"][..]),
        ] {
            manager.create_index(index(name, "sales_orders", columns)).await?;
        }

        // One table of lines for quotes, orders and deals: exactly one parent is set.
        let mut lines = tenant_table("document_lines");
        lines
            .col(uuid_null("quote_id"))
            .col(uuid_null("order_id"))
            .col(uuid_null("opportunity_id"))
            .col(integer("position"))
            .col(uuid("product_id"))
            .col(string_len("product_name", 100))
            .col(string_len_null("specification", 100))
            .col(string_len("unit", 10))
            .col(big_integer("quantity_e4"))
            .col(big_integer("list_price_e4"))
            .col(big_integer("unit_price_e4"))
            .col(big_integer("discount_e4"))
            .col(string_len("tax_rate", 3))
            .col(string_len("price_source", 10))
            .col(uuid_null("policy_id"))
            .col(big_integer("list_amount_e4"))
            .col(big_integer("subtotal_e4"))
            .col(big_integer("amount_e4"))
            .col(big_integer("net_e4"))
            .col(big_integer("tax_e4"))
            .col(big_integer("gross_e4"))
            .col(big_integer("delivered_e4").default(0))
            .col(string_len_null("note", 200))
            .check(Expr::cust(
                "(CASE WHEN quote_id IS NULL THEN 0 ELSE 1 END + CASE WHEN order_id IS NULL THEN 0 ELSE 1 END \
                 + CASE WHEN opportunity_id IS NULL THEN 0 ELSE 1 END) = 1",
            ))
            .foreign_key(&mut tenant_fk("document_lines", "quote_id", "quotes"))
            .foreign_key(&mut tenant_fk("document_lines", "order_id", "sales_orders"))
            .foreign_key(&mut tenant_fk("document_lines", "opportunity_id", "opportunities"))
            .foreign_key(&mut tenant_fk("document_lines", "product_id", "products"))
            .foreign_key(&mut tenant_fk("document_lines", "policy_id", "price_policies"));
        manager.create_table(lines).await?;
        for (name, columns) in [
            ("ix_document_lines_quote", &["tenant_id", "quote_id", "position"][..]),
            ("ix_document_lines_order", &["tenant_id", "order_id", "position"][..]),
            ("ix_document_lines_opportunity", &["tenant_id", "opportunity_id", "position"][..]),
            ("ix_document_lines_product", &["tenant_id", "product_id"][..]),
        ] {
            manager.create_index(index(name, "document_lines", columns)).await?;
        }

        let mut deliveries = tenant_table("order_deliveries");
        deliveries
            .col(uuid("order_id"))
            .col(uuid("line_id"))
            .col(big_integer("quantity_e4"))
            .col(date("delivered_on"))
            .col(string_len_null("note", 200))
            .col(uuid_null("created_by"))
            .col(timestamp_with_time_zone("created_at"))
            .foreign_key(&mut tenant_fk("order_deliveries", "order_id", "sales_orders"))
            .foreign_key(&mut tenant_fk("order_deliveries", "line_id", "document_lines"));
        manager.create_table(deliveries).await?;
        manager
            .create_index(index("ix_order_deliveries_order", "order_deliveries", &["tenant_id", "order_id"]))
            .await?;

        manager
            .alter_table(
                Table::alter().table("customers").add_column(timestamp_with_time_zone_null("last_deal_at")).to_owned(),
            )
            .await?;

        grant_builtin_roles(manager, ROLE_GRANTS, &["QUOTE", "ORDER"]).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager.alter_table(Table::alter().table("customers").drop_column("last_deal_at").to_owned()).await?;
        for table in [
            "order_deliveries",
            "document_lines",
            "sales_orders",
            "quotes",
            "price_policies",
            "product_search_tokens",
            "products",
            "product_categories",
        ] {
            manager.drop_table(Table::drop().table(table).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}
