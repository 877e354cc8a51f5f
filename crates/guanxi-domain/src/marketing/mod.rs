//! Marketing (营销): campaigns with their members and return (`campaign`), and care plans
//! that put visits and calls for a segment of customers in their owners' calendars
//! (`care`).

pub mod campaign;
pub mod care;
