//! An approval action and what it does to the document it concerns: the one place that
//! knows which kinds of documents go through approval.

use guanxi_domain::approval::engine::{Act, Request, RequestStatus};
use guanxi_domain::approval::flow::DocumentKind;
use sea_orm::ConnectionTrait;
use uuid::Uuid;

use crate::error::StoreResult;
use crate::platform::audit::Author;

/// Takes an action on a request, then brings its document to the outcome.
pub async fn act<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    request_id: Uuid,
    act: &Act,
    comment: Option<String>,
) -> StoreResult<Request> {
    let by = author.user_id.map(Into::into).ok_or(crate::error::StoreError::NotFound)?;
    act_as(conn, author, (request_id, by), act, comment).await
}

/// [`act`] in the place of `by` (an administrator unsticking a request).
pub async fn act_as<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (request_id, by): (Uuid, guanxi_domain::ids::UserId),
    act: &Act,
    comment: Option<String>,
) -> StoreResult<Request> {
    let request = crate::finance::approval::act_as(conn, author, (request_id, by), act, comment).await?;
    if request.status != RequestStatus::Pending {
        follow(conn, author, request.kind, request.document_id, request.status).await?;
    }
    Ok(request)
}

async fn follow<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    kind: DocumentKind,
    id: Uuid,
    outcome: RequestStatus,
) -> StoreResult<()> {
    match kind {
        DocumentKind::Contract => crate::finance::contract::follow(conn, author, id, outcome).await.map(drop),
        DocumentKind::Receipt => crate::finance::receivable::follow(conn, author, id, outcome).await.map(drop),
        DocumentKind::Invoice => crate::finance::invoice::follow(conn, author, id, outcome).await.map(drop),
        DocumentKind::Quote => crate::trade::quote::follow(conn, author, id, outcome).await.map(drop),
    }
}
