//! Sharing a customer's work: collaborators (协作人) on a customer or a deal, transfers
//! and handover (转移, 离职交接), and the assignment rules for new customers (分配规则).

pub mod assignment;
pub mod collaborator;
pub mod handover;
pub mod request;
