//! Sharing over GraphQL: collaborators on a customer or a deal (`addCollaborators`,
//! `removeCollaborators`, `Customer.collaborators`, `Opportunity.collaborators`).

pub mod collaborator;

/// The mutations of sharing, merged (one registration in the schema).
#[derive(async_graphql::MergedObject, Default)]
pub struct SharingMutation(collaborator::CollaboratorMutation);
