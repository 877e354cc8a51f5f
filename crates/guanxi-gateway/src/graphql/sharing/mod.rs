//! Sharing over GraphQL: collaborators on a customer or a deal (`addCollaborators`,
//! `removeCollaborators`, `Customer.collaborators`, `Opportunity.collaborators`),
//! customers changing hands (`transferCustomers`, `handover`, `handoverPreview`), and the
//! assignment rules for new customers and leads (`assignmentRules` and their writes), and
//! collaboration requests after a collision (`requestCollaboration` and its decisions).

pub mod assignment;
pub mod collaborator;
pub mod handover;
pub mod request;

/// The queries of sharing, merged (one registration in the schema).
#[derive(async_graphql::MergedObject, Default)]
pub struct SharingQuery(handover::HandoverQuery, assignment::AssignmentQuery, request::RequestQuery);

/// The mutations of sharing, merged (one registration in the schema).
#[derive(async_graphql::MergedObject, Default)]
pub struct SharingMutation(
    collaborator::CollaboratorMutation,
    handover::HandoverMutation,
    assignment::AssignmentMutation,
    request::RequestMutation,
);
