//! Customers and their contacts: the records the rest of the CRM hangs off.

pub mod contact;
pub mod customer;
pub mod customer360;
pub mod customer_csv;
pub mod customer_input;
pub mod customer_mutation;
