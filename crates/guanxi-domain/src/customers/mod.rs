//! Customers and their contacts: the records the rest of the CRM hangs off.

pub mod contact;
pub mod customer;
