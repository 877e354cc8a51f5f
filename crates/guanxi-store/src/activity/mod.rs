//! What reps do with customers: interactions, the calendar, field visits and the work log.

pub mod calendar;
pub mod field;
pub mod interaction;
pub mod work_count;
