//! Leads (线索): the records, their follow-ups and scores (`lead`), the tenant's lists and
//! scoring rules (`settings`), conversion into a customer (`convert`) and the conversion
//! report (`report`).

#[cfg(feature = "bench-data")]
pub mod bench;
pub mod convert;
pub mod lead;
pub mod report;
pub mod settings;
