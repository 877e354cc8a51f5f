//! Collaborators (协作人): who else works a customer or a deal, and how far.
//!
//! The owner side shares: the caller must reach the record through their own scope (a
//! share is never passed on by a collaborator) and hold the record's write permission.
//! Whoever sees the record sees its collaborators.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::{EntityKind, OwnerAndCustomer};
use guanxi_domain::ids::UserId;
use guanxi_domain::platform::access::{Actor, Module, Permission, ShareAccess as DomainAccess};
use guanxi_domain::sharing::collaborator::{Collaborator as DomainCollaborator, Member};
use guanxi_store::sharing::collaborator::{self as store, Target};
use guanxi_store::{ConnectionTrait, StoreError, StoreResult};
use uuid::Uuid;

use crate::graphql::context::{actor, author, require};
use crate::graphql::error::{ApiError, ApiResult, Outcome, UserError};
use crate::graphql::finance::approval::{Participant, participant};
use crate::graphql::loaders::ScopedLoader;
use crate::graphql::mutation::transact;
use crate::graphql::platform::org::USER;
use crate::graphql::relay::{input_id, parse_global_id};
use crate::graphql::trade::document::loaders;

/// How far a collaborator may go.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "DomainAccess")]
pub enum ShareAccess {
    /// See the record and what hangs off it.
    Read,
    /// Also edit it and add to it (follow-ups, contacts, deals, quotes, …).
    ReadWrite,
}

/// A user a customer or a deal is shared with.
pub struct Collaborator(pub DomainCollaborator);

#[Object]
impl Collaborator {
    /// The collaborator, by id and display name whatever the reader's `ORG` scope (whoever
    /// sees the record sees who works it); the email only to readers who see the user.
    async fn user(&self, ctx: &Context<'_>) -> ApiResult<Option<Participant>> {
        participant(ctx, Some(self.0.user_id)).await
    }
    async fn access(&self) -> ShareAccess {
        self.0.access.into()
    }
    /// When the share ends; null for a share without end.
    async fn expires_at(&self) -> Option<DateTime<Utc>> {
        self.0.expires_at
    }
    /// Whether the share still counts (it has not expired).
    async fn live(&self) -> bool {
        self.0.is_live(Utc::now())
    }
    async fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Who shared the record.
    async fn added_by(&self, ctx: &Context<'_>) -> ApiResult<Option<Participant>> {
        participant(ctx, self.0.created_by).await
    }
    async fn added_at(&self) -> DateTime<Utc> {
        self.0.created_at
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// The collaborators of one customer or deal (already read through the caller's scope).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CollaboratorsKey(pub Uuid);

impl Loader<CollaboratorsKey> for ScopedLoader {
    type Value = Vec<DomainCollaborator>;
    type Error = ApiError;

    async fn load(&self, keys: &[CollaboratorsKey]) -> Result<HashMap<CollaboratorsKey, Self::Value>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let rows = store::of_records(self.db.connection(), self.actor.tenant_id, &ids).await?;
        let mut out: HashMap<CollaboratorsKey, Self::Value> = keys.iter().map(|k| (*k, Vec::new())).collect();
        for row in rows {
            out.entry(CollaboratorsKey(row.record_id)).or_default().push(row);
        }
        Ok(out)
    }
}

/// `Customer.collaborators` and `Opportunity.collaborators`: one statement per page.
pub async fn of_record(ctx: &Context<'_>, record: Uuid) -> ApiResult<Vec<Collaborator>> {
    actor(ctx)?;
    let rows = loaders(ctx)?.load_one(CollaboratorsKey(record)).await?.unwrap_or_default();
    Ok(rows.into_iter().map(Collaborator).collect())
}

/// One user to share with.
#[derive(InputObject)]
pub struct CollaboratorInput {
    pub user_id: ID,
    #[graphql(default_with = "ShareAccess::Read")]
    pub access: ShareAccess,
    /// When the share ends (it stops counting at once then); none for no end.
    pub expires_at: Option<DateTime<Utc>>,
}

#[derive(InputObject)]
pub struct AddCollaboratorsInput {
    /// A customer or a deal.
    pub record_id: ID,
    /// Up to 50 users. A user already sharing the record gets this access and expiry.
    pub members: Vec<CollaboratorInput>,
    pub note: Option<String>,
}

#[derive(InputObject)]
pub struct RemoveCollaboratorsInput {
    /// A customer or a deal.
    pub record_id: ID,
    pub user_ids: Vec<ID>,
}

#[derive(SimpleObject)]
pub struct CollaboratorsPayload {
    /// The record's collaborators after the change.
    collaborators: Option<Vec<Collaborator>>,
    user_errors: Vec<UserError>,
}

impl From<Outcome<Vec<DomainCollaborator>>> for CollaboratorsPayload {
    fn from(outcome: Outcome<Vec<DomainCollaborator>>) -> Self {
        match outcome {
            Ok(rows) => Self { collaborators: Some(rows.into_iter().map(Collaborator).collect()), user_errors: vec![] },
            Err(errors) => Self { collaborators: None, user_errors: errors },
        }
    }
}

/// The record an input names, as a kind that can be shared and the permission that
/// shares it.
fn shared_kind(id: &ID) -> Result<(EntityKind, Uuid, Permission), UserError> {
    let not_shareable = || UserError::new("recordId", ErrorCode::Invalid, "only a customer or a deal is shared");
    let (kind, uuid) = parse_global_id(id).ok_or_else(not_shareable)?;
    match EntityKind::parse(&kind) {
        Some(EntityKind::Customer) => Ok((EntityKind::Customer, uuid, Permission::CustomerUpdate)),
        Some(EntityKind::Opportunity) => Ok((EntityKind::Opportunity, uuid, Permission::OpportunityWrite)),
        _ => Err(not_shareable()),
    }
}

/// The live record as the caller reaches it through the owner side of its scope, shares
/// aside (a collaborator cannot pass a share on).
async fn target<C: ConnectionTrait>(conn: &C, actor: &Actor, kind: EntityKind, id: Uuid) -> StoreResult<Target> {
    let missing = || StoreError::rejected("recordId", ErrorCode::NotFound, "no such record");
    let tenant = actor.tenant_id;
    if kind == EntityKind::Customer {
        let customer = guanxi_store::customers::customer::find(conn, tenant, actor.customer_owner_rule(), id)
            .await?
            .filter(|c| c.deleted_at.is_none())
            .ok_or_else(missing)?;
        return Ok(Target { kind, record_id: id, customer_id: id, owner: customer.owner_id });
    }
    let owner_side =
        OwnerAndCustomer { owner: actor.scope_rule(Module::Opportunity), customer: actor.customer_owner_rule() };
    let deal = guanxi_store::sales::opportunity::find(conn, tenant, owner_side, id)
        .await?
        .filter(|d| d.deleted_at.is_none())
        .ok_or_else(missing)?;
    Ok(Target { kind, record_id: id, customer_id: deal.customer_id.uuid(), owner: deal.owner_id })
}

/// The users an input names, each as `field.i` or `field.i.userId` for its errors.
fn user_ids<'a>(ids: impl Iterator<Item = (String, &'a ID)>) -> Result<Vec<UserId>, Vec<UserError>> {
    let (mut users, mut errors) = (Vec::new(), Vec::new());
    for (field, id) in ids {
        match input_id(&field, id, USER) {
            Ok(user) => users.push(UserId::from_uuid(user)),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() { Ok(users) } else { Err(errors) }
}

#[derive(Default)]
pub struct CollaboratorMutation;

#[Object]
impl CollaboratorMutation {
    /// Shares a customer or a deal with users (协作人), READ or READ_WRITE, optionally until
    /// a moment. A collaborator sees the record, and for a customer what hangs off it, on
    /// every path; READ_WRITE also lets them edit and add to it. Needs `customer.update`
    /// (or `opportunity.write`) and the record in the caller's own scope. Retrying is
    /// harmless: a user already sharing it keeps one row, with the access and expiry sent.
    async fn add_collaborators(
        &self,
        ctx: &Context<'_>,
        input: AddCollaboratorsInput,
    ) -> ApiResult<CollaboratorsPayload> {
        let (kind, id, permission) = match shared_kind(&input.record_id) {
            Ok(found) => found,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let actor = require(ctx, permission)?.clone();
        let users = match user_ids(
            input.members.iter().enumerate().map(|(i, m)| (format!("members.{i}.userId"), &m.user_id)),
        ) {
            Ok(users) => users,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let members: Vec<Member> = users
            .into_iter()
            .zip(&input.members)
            .map(|(user_id, m)| {
                // Microseconds, as the databases keep them, so a retry compares equal.
                let expires_at = m.expires_at.map(|at| chrono::SubsecRound::trunc_subsecs(at, 6));
                Member { user_id, access: m.access.into(), expires_at }
            })
            .collect();
        let (author, note) = (author(ctx, &actor), input.note);
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                let target = target(tx, &actor, kind, id).await?;
                store::share(tx, &author, target, &members, note.as_deref()).await
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Stops sharing a customer or a deal with users (those not sharing it are ignored).
    /// Same permission and scope as `addCollaborators`.
    async fn remove_collaborators(
        &self,
        ctx: &Context<'_>,
        input: RemoveCollaboratorsInput,
    ) -> ApiResult<CollaboratorsPayload> {
        let (kind, id, permission) = match shared_kind(&input.record_id) {
            Ok(found) => found,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let actor = require(ctx, permission)?.clone();
        let users = match user_ids(input.user_ids.iter().enumerate().map(|(i, u)| (format!("userIds.{i}"), u))) {
            Ok(users) if !users.is_empty() => users,
            Ok(_) => {
                let empty = UserError::new("userIds", ErrorCode::Required, "name at least one user");
                return Ok(Err(vec![empty]).into());
            }
            Err(errors) => return Ok(Err(errors).into()),
        };
        let author = author(ctx, &actor);
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                let target = target(tx, &actor, kind, id).await?;
                store::unshare(tx, &author, target, &users).await
            })
        })
        .await?;
        Ok(result.into())
    }
}
