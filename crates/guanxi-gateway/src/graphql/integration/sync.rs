//! `syncPush`: a mobile app's queue of offline work, applied in order. Each operation is
//! one of the app's own mutations, run as that mutation runs (its checks, its own
//! transaction and change events), under the operation's key as its idempotency key: a
//! push sent again after a lost answer applies nothing twice. A failure stops only the
//! operations that name it in `dependsOn`; a version conflict answers with the record as
//! the server has it, for the app to merge.

use std::collections::{HashMap, HashSet};

use async_graphql::{Context, Enum, ID, InputObject, Object, OneofObject, SimpleObject};
use guanxi_domain::ErrorCode;

use crate::graphql::activity::calendar::{CalendarMutation, CompleteEventInput};
use crate::graphql::activity::field::{AddCheckInPhotosInput, CheckInInput, CheckOutInput, FieldMutation};
use crate::graphql::activity::interaction::{CreateInteractionInput, InteractionMutation};
use crate::graphql::context::actor;
use crate::graphql::customers::contact::{ContactMutation, CreateContactInput, UpdateContactInput};
use crate::graphql::error::{ApiError, ApiResult, UserError, Written};
use crate::graphql::node::{Node, resolve};

/// The most operations one push takes; a longer queue goes in several pushes.
pub const MAX_OPERATIONS: usize = 200;

/// One queued write: exactly one of the mutations an app makes offline, with the input
/// that mutation takes. Leave its own `idempotencyKey` out (the operation's `key` is
/// used); one that differs from the operation's key is refused.
#[derive(OneofObject)]
pub enum SyncWrite {
    CreateContact(CreateContactInput),
    UpdateContact(UpdateContactInput),
    CreateInteraction(CreateInteractionInput),
    CheckIn(CheckInInput),
    CheckOut(CheckOutInput),
    AddCheckInPhotos(AddCheckInPhotosInput),
    CompleteEvent(CompleteEventInput),
}

#[derive(InputObject)]
pub struct SyncOperationInput {
    /// The app's id for the queued operation (a UUID it made when the user acted; 1 to
    /// 200 bytes): its idempotency key, so the operation sent again within a day is
    /// applied once, and the name `dependsOn` gives it. Keys are the caller's across all
    /// writes, like every idempotency key; one appears once in a push.
    pub key: String,
    /// Keys of earlier operations in this push that this one needs, e.g. the contact an
    /// interaction names. When one of them failed or was skipped, this one is skipped
    /// (`DEPENDENCY_FAILED` on `dependsOn`).
    #[graphql(default)]
    pub depends_on: Vec<String>,
    pub operation: SyncWrite,
}

#[derive(InputObject)]
pub struct SyncPushInput {
    /// In the order the user made them; at most 200.
    pub operations: Vec<SyncOperationInput>,
}

/// What became of one operation.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum SyncStatus {
    /// Written now, or by an earlier push with the same key.
    Applied,
    /// Refused; `userErrors` say why and nothing of it was written.
    Failed,
    /// Not tried: an operation it depends on failed or was skipped.
    Skipped,
}

#[derive(SimpleObject)]
pub struct SyncResult {
    /// The operation's position in the input.
    index: i32,
    key: String,
    status: SyncStatus,
    /// The record the operation wrote, as it left it (as it is now, when an earlier push
    /// applied it). On `VERSION_CONFLICT`, the record as the server has it (when the
    /// caller may still see it), to merge with and send again with its `version` and a
    /// new key.
    node: Option<Node>,
    user_errors: Vec<UserError>,
}

#[derive(SimpleObject)]
pub struct SyncPushPayload {
    /// One per operation, in input order.
    results: Vec<SyncResult>,
    applied_count: i32,
    failed_count: i32,
    skipped_count: i32,
}

#[derive(Default)]
pub struct SyncMutation;

#[Object]
impl SyncMutation {
    /// Applies a mobile app's queue of offline work in order, each operation as its own
    /// mutation would (same checks, its own transaction, its key as idempotency key), and
    /// answers one result per operation. A failed operation does not stop the ones after
    /// it, except those naming it in `dependsOn`, which are skipped. A system failure
    /// stops the push with a top-level error; what was applied before it stays applied,
    /// and sending the same push again applies the rest.
    async fn sync_push(&self, ctx: &Context<'_>, input: SyncPushInput) -> ApiResult<SyncPushPayload> {
        actor(ctx)?;
        if input.operations.len() > MAX_OPERATIONS {
            return Err(ApiError::BadUserInput(format!("at most {MAX_OPERATIONS} operations per push")));
        }
        let mut results = Vec::with_capacity(input.operations.len());
        // The keys seen so far, and whether each was applied.
        let mut settled: HashMap<String, bool> = HashMap::new();
        for (index, op) in input.operations.into_iter().enumerate() {
            let key = op.key;
            let (status, node, user_errors) = match precheck(&key, &op.depends_on, &settled) {
                Err(e) => (SyncStatus::Failed, None, vec![e]),
                Ok(Some(skipped)) => (SyncStatus::Skipped, None, vec![skipped]),
                Ok(None) => match apply(ctx, op.operation, &key).await? {
                    (node, errors) if errors.is_empty() => (SyncStatus::Applied, node, errors),
                    (node, errors) => (SyncStatus::Failed, node, errors),
                },
            };
            settled.entry(key.clone()).or_insert(status == SyncStatus::Applied);
            results.push(SyncResult { index: index as i32, key, status, node, user_errors });
        }
        let count = |s: SyncStatus| results.iter().filter(|r| r.status == s).count() as i32;
        Ok(SyncPushPayload {
            applied_count: count(SyncStatus::Applied),
            failed_count: count(SyncStatus::Failed),
            skipped_count: count(SyncStatus::Skipped),
            results,
        })
    }
}

/// The operation's key and dependencies, checked against the operations before it: a
/// fault is an error, a dependency that was not applied skips the operation.
fn precheck(key: &str, depends_on: &[String], settled: &HashMap<String, bool>) -> Result<Option<UserError>, UserError> {
    if !guanxi_store::platform::idempotency::valid_key(key) {
        return Err(UserError::new("key", ErrorCode::Invalid, "an operation key has 1 to 200 bytes (a UUID, say)"));
    }
    if settled.contains_key(key) {
        return Err(UserError::new("key", ErrorCode::Duplicate, "another operation in this push has this key"));
    }
    let mut unmet = Vec::new();
    let mut seen = HashSet::new();
    for name in depends_on.iter().map(String::as_str).filter(|d| seen.insert(*d)) {
        match settled.get(name) {
            None => {
                return Err(UserError::new(
                    "dependsOn",
                    ErrorCode::Invalid,
                    format!("`{name}` is not an earlier operation of this push"),
                ));
            }
            Some(false) => unmet.push(name),
            Some(true) => {}
        }
    }
    Ok((!unmet.is_empty()).then(|| {
        UserError::new(
            "dependsOn",
            ErrorCode::DependencyFailed,
            format!("not tried: {} did not apply", unmet.join(", ")),
        )
    }))
}

/// Runs one operation's mutation under `key`, and reads the record a version conflict
/// was about.
async fn apply(ctx: &Context<'_>, operation: SyncWrite, key: &str) -> ApiResult<(Option<Node>, Vec<UserError>)> {
    let (node, errors, edited) = match operation {
        SyncWrite::CreateContact(mut i) => {
            let slot = keyed(&mut i.idempotency_key, key);
            run(slot, ContactMutation.create_contact(ctx, i), Node::Contact, None).await?
        }
        SyncWrite::UpdateContact(mut i) => {
            let (slot, id) = (keyed(&mut i.idempotency_key, key), i.id.clone());
            run(slot, ContactMutation.update_contact(ctx, i), Node::Contact, Some(id)).await?
        }
        SyncWrite::CreateInteraction(mut i) => {
            let slot = keyed(&mut i.idempotency_key, key);
            run(slot, InteractionMutation.create_interaction(ctx, i), Node::Interaction, None).await?
        }
        SyncWrite::CheckIn(mut i) => {
            let slot = keyed(&mut i.idempotency_key, key);
            run(slot, FieldMutation.check_in(ctx, i), Node::CheckIn, None).await?
        }
        SyncWrite::CheckOut(mut i) => {
            let slot = keyed(&mut i.idempotency_key, key);
            run(slot, FieldMutation.check_out(ctx, i), Node::CheckIn, None).await?
        }
        SyncWrite::AddCheckInPhotos(mut i) => {
            let slot = keyed(&mut i.idempotency_key, key);
            run(slot, FieldMutation.add_check_in_photos(ctx, i), Node::CheckIn, None).await?
        }
        SyncWrite::CompleteEvent(mut i) => {
            let (slot, id) = (keyed(&mut i.idempotency_key, key), i.id.clone());
            run(slot, CalendarMutation.complete_event(ctx, i), Node::Event, Some(id)).await?
        }
    };
    let conflict = errors.iter().any(|e| e.code == ErrorCode::VersionConflict.as_str());
    match edited {
        Some(id) if node.is_none() && conflict => Ok((resolve(ctx, &id).await?, errors)),
        _ => Ok((node, errors)),
    }
}

/// Puts the operation's key in the mutation's `idempotencyKey`; a different key already
/// there is an error.
fn keyed(slot: &mut Option<String>, key: &str) -> Result<(), UserError> {
    match slot {
        Some(given) if given.as_str() != key => Err(UserError::new(
            "idempotencyKey",
            ErrorCode::Invalid,
            "leave the mutation's idempotencyKey out: the operation's key is used",
        )),
        _ => {
            *slot = Some(key.to_owned());
            Ok(())
        }
    }
}

/// Awaits a mutation's resolver (unless its key was refused) and takes its payload apart.
/// A refusal that a lone mutation answers as a top-level error (a missing permission, a
/// record gone) becomes the operation's user error; a system failure stops the push.
/// (`#[Object]` wraps a resolver's return in its own `async_graphql::Result`, always `Ok`
/// for these, whose errors are inside the `ApiResult`; an `Err` there would be a system
/// failure too.)
async fn run<P, R>(
    slot: Result<(), UserError>,
    mutation: impl Future<Output = async_graphql::Result<ApiResult<P>>>,
    wrap: fn(R) -> Node,
    edited: Option<ID>,
) -> ApiResult<(Option<Node>, Vec<UserError>, Option<ID>)>
where
    P: Written<Record = R>,
{
    if let Err(e) = slot {
        return Ok((None, vec![e], None));
    }
    let (record, errors) = match mutation.await.map_err(|e| ApiError::internal(e.message))? {
        Ok(payload) => payload.into_parts(),
        Err(refused) => (None, vec![user_error(refused)?]),
    };
    Ok((record.map(wrap), errors, edited))
}

/// A top-level refusal as a user error; system failures stay top-level.
fn user_error(error: ApiError) -> ApiResult<UserError> {
    match error {
        ApiError::Forbidden(m) => Ok(UserError::new("", ErrorCode::Forbidden, m)),
        ApiError::BadUserInput(m) => Ok(UserError::new("", ErrorCode::Invalid, m)),
        ApiError::NotFound => Ok(UserError::new("id", ErrorCode::NotFound, "no such record")),
        other => Err(other),
    }
}
