//! Sharing a customer's work: collaborators on a customer or a deal (the scope condition
//! that lets them see what is shared is in [`crate::scope`]), transfers and handover, and
//! the assignment rules for new customers and leads, and collaboration requests.

pub mod assignment;
pub mod bench;
pub mod collaborator;
pub mod handover;
pub mod request;
