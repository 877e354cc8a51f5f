//! Customers and their contacts: the records the rest of the CRM hangs off.

pub mod contact;
pub mod contact_upsert;
pub mod customer;
pub mod customer_owned;
pub mod customer_search;
pub mod customer_upsert;
