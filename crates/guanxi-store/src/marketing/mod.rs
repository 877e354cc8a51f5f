//! Marketing (营销): campaigns and their return (`campaign`), their members (`member`),
//! and care plans that put tasks in the owners' calendars (`care`).

#[cfg(feature = "bench-data")]
pub mod bench;
pub mod campaign;
pub mod care;
pub mod member;
