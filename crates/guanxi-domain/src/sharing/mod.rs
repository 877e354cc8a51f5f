//! Sharing a customer's work: collaborators (协作人) on a customer or a deal. Later parts of
//! the module (assignment rules, handover) live beside it.

pub mod collaborator;
