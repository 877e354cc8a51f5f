//! Sharing a customer's work: collaborators on a customer or a deal. The scope condition
//! that lets them see what is shared is in [`crate::scope`].

pub mod bench;
pub mod collaborator;
