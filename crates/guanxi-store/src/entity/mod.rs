//! SeaORM entities, one module per table. Relations are not declared: every key is
//! `(tenant_id, …)`, and related rows are fetched by data loaders or explicit joins
//! that always name the tenant.

pub mod api_key;
pub mod attachment;
pub mod change_event;
pub mod check_in;
pub mod contact;
pub mod custom_field;
pub mod customer;
pub mod customer_search_token;
pub mod department;
pub mod document_line;
pub mod event;
pub mod event_assignee;
pub mod idempotency_key;
pub mod interaction;
pub mod interaction_count;
pub mod job_lease;
pub mod number_sequence;
pub mod opportunity;
pub mod opportunity_stage_change;
pub mod order_delivery;
pub mod pipeline;
pub mod pipeline_stage;
pub mod pool;
pub mod pool_log;
pub mod pool_member;
pub mod price_policy;
pub mod product;
pub mod product_category;
pub mod product_search_token;
pub mod quote;
pub mod refresh_token;
pub mod reminder;
pub mod role;
pub mod sales_order;
pub mod session;
pub mod tenant;
pub mod user;
pub mod visit_plan;
