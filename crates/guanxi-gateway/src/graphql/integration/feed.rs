//! The delta feed (增量同步), `changesSince`: a first snapshot of the records a client may
//! see, then every change after it, in commit order, through the caller's data scope. The
//! rules (cursors, expiry, who is told of a removal) are in
//! [`guanxi_domain::platform::feed`].

use std::collections::{HashMap, HashSet};

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use guanxi_domain::entity::{EntityKind, Visibility};
use guanxi_domain::platform::access::Actor;
use guanxi_domain::platform::feed::{Bring, Bringing, Cursor, MAX_PAGE, Touched, fold, past_retention, plan_bringing};
use guanxi_store::customers::customer_owned::{LinksOf, link_counts, links};
use guanxi_store::repo::Pick;
use uuid::Uuid;

use crate::graphql::context::{actor, state};
use crate::graphql::error::{ApiError, ApiResult};
use crate::graphql::node::{Node, load_many};
use crate::graphql::relay::global_id;

/// The kinds of record the delta feed carries.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum FeedKind {
    Customer,
    Contact,
    Interaction,
    /// Calendar events and tasks.
    Event,
    Opportunity,
    Lead,
    Product,
    Quote,
    Order,
    Contract,
    Receipt,
    Invoice,
    WorkOrder,
}

impl FeedKind {
    /// Every kind, in the order a snapshot reads them.
    pub(crate) const ALL: [FeedKind; 13] = [
        FeedKind::Customer,
        FeedKind::Contact,
        FeedKind::Interaction,
        FeedKind::Event,
        FeedKind::Opportunity,
        FeedKind::Lead,
        FeedKind::Product,
        FeedKind::Quote,
        FeedKind::Order,
        FeedKind::Contract,
        FeedKind::Receipt,
        FeedKind::Invoice,
        FeedKind::WorkOrder,
    ];

    pub(crate) fn entity(self) -> EntityKind {
        match self {
            FeedKind::Customer => EntityKind::Customer,
            FeedKind::Contact => EntityKind::Contact,
            FeedKind::Interaction => EntityKind::Interaction,
            FeedKind::Event => EntityKind::Event,
            FeedKind::Opportunity => EntityKind::Opportunity,
            FeedKind::Lead => EntityKind::Lead,
            FeedKind::Product => EntityKind::Product,
            FeedKind::Quote => EntityKind::Quote,
            FeedKind::Order => EntityKind::Order,
            FeedKind::Contract => EntityKind::Contract,
            FeedKind::Receipt => EntityKind::Receipt,
            FeedKind::Invoice => EntityKind::Invoice,
            FeedKind::WorkOrder => EntityKind::WorkOrder,
        }
    }

    pub(crate) fn of(kind: EntityKind) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.entity() == kind)
    }
}

/// Why a record leaves the client's copy. A customer's removal takes the records you hold
/// under it along (its contacts, interactions, deals, documents): drop them too; they do
/// not each come as a removal. If the customer comes back (restored, transferred back,
/// shared again), it brings them back on the same page.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum Removal {
    /// It was deleted (a tombstone; it may come back from the recycle bin as a change).
    Deleted,
    /// It left the caller's data scope: transferred away, released to a pool, no longer
    /// shared or assigned to the caller.
    OutOfScope,
}

/// One record to apply: fetch its `node` anew, or drop it when `removed`.
pub struct FeedChange {
    kind: FeedKind,
    id: Uuid,
    node: Option<Node>,
    removed: Option<Removal>,
    sequence: Option<i64>,
    at: Option<DateTime<Utc>>,
    external_id: Option<String>,
}

#[Object]
impl FeedChange {
    async fn kind(&self) -> FeedKind {
        self.kind
    }
    /// The record's global id (also for a removal).
    async fn id(&self) -> ID {
        global_id(self.kind.entity().name(), self.id)
    }
    /// The record as it is now; select fields per kind with fragments
    /// (`... on Customer { name }`). Null for a removal.
    async fn node(&self) -> Option<&Node> {
        self.node.as_ref()
    }
    /// Set when the record leaves the client's copy.
    async fn removed(&self) -> Option<Removal> {
        self.removed
    }
    /// The change log's sequence of the record's latest change; null in a snapshot.
    async fn sequence(&self) -> Option<i64> {
        self.sequence
    }
    /// When the record last changed (for a tombstone, when it was deleted); null in a
    /// snapshot.
    async fn changed_at(&self) -> Option<DateTime<Utc>> {
        self.at
    }
    /// A deleted record's id in the outside system that sent it, where it has one.
    async fn external_id(&self) -> Option<&str> {
        self.external_id.as_deref()
    }
}

/// One page of the feed.
#[derive(SimpleObject)]
pub struct ChangeFeed {
    /// In the order to apply them. At most `first`, beside the records customers coming
    /// into the caller's scope bring along after them (at most
    /// `limits.feed_brought_per_page`, 2,000 by default, a page; a customer that brings
    /// more goes on over the next pages). Ask for CUSTOMER with its records' kinds: they
    /// come and go with it.
    changes: Vec<FeedChange>,
    /// Pass it to the next call. It survives restarts and serves for
    /// `RETENTION_DAYS` (90) days; an older one gets `CURSOR_EXPIRED`: sync again from
    /// no cursor.
    cursor: String,
    /// Whether more is waiting now: call again at once; otherwise poll later.
    has_more: bool,
    /// Whether this page is part of the first snapshot.
    snapshot: bool,
}

#[derive(Default)]
pub struct FeedQuery;

#[Object]
impl FeedQuery {
    /// The delta feed (增量同步). With no `cursor`, a snapshot of every record of `kinds`
    /// the caller may see, then the changes committed since the snapshot began; with a
    /// cursor, the changes after it, in commit order, each record once at its latest
    /// change. Records leaving the caller's scope come as removals; deletions as
    /// tombstones. `kinds` defaults to every kind the caller may read; naming one the
    /// caller may not read is FORBIDDEN. `first`: 1–500, default 100.
    #[graphql(complexity = "first.unwrap_or(100) as usize * child_complexity")]
    async fn changes_since(
        &self,
        ctx: &Context<'_>,
        cursor: Option<String>,
        kinds: Option<Vec<FeedKind>>,
        first: Option<i32>,
    ) -> ApiResult<ChangeFeed> {
        let actor = actor(ctx)?;
        let kinds = readable_kinds(actor, kinds)?;
        let first = match first.unwrap_or(100) {
            n @ 1.. if n as usize <= MAX_PAGE => n as usize,
            _ => return Err(ApiError::BadUserInput(format!("first must be between 1 and {MAX_PAGE}"))),
        };
        let now = Utc::now();
        let cursor = match cursor {
            Some(text) => decode(&text, now)?,
            None => {
                let tenant = guanxi_store::platform::tenant::find(state(ctx).db.connection(), actor.tenant_id).await?;
                Cursor::start(&kinds, tenant.map_or(0, |t| t.change_seq), now)
            }
        };
        if cursor.kinds() != kinds.as_slice() {
            return Err(ApiError::BadUserInput(
                "the cursor was made for other kinds: sync these kinds again from no cursor".into(),
            ));
        }
        match cursor {
            Cursor::Snapshot { seq, kind, after, .. } => snapshot(ctx, actor, &kinds, (seq, kind, after), first).await,
            Cursor::Delta { seq, bring, .. } => delta(ctx, actor, &kinds, (seq, bring), first).await,
        }
    }
}

/// The kinds asked for (each once, in feed order), or every kind the caller may read.
fn readable_kinds(actor: &Actor, asked: Option<Vec<FeedKind>>) -> ApiResult<Vec<EntityKind>> {
    let readable = |kind: &FeedKind| kind.entity().visibility(actor).is_some();
    match asked {
        None => Ok(FeedKind::ALL.iter().filter(|k| readable(k)).map(|k| k.entity()).collect()),
        Some(asked) => {
            if let Some(kind) = asked.iter().find(|k| !readable(k)) {
                return Err(ApiError::Forbidden(format!("you may not read {}", kind.entity())));
            }
            Ok(FeedKind::ALL.iter().filter(|k| asked.contains(k)).map(|k| k.entity()).collect())
        }
    }
}

fn encode(cursor: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

fn decode(text: &str, now: DateTime<Utc>) -> ApiResult<Cursor> {
    let cursor: Cursor = URL_SAFE_NO_PAD
        .decode(text)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| ApiError::BadUserInput("not a cursor of this feed".into()))?;
    if cursor.expired(now) {
        return Err(expired());
    }
    Ok(cursor)
}

fn expired() -> ApiError {
    ApiError::CursorExpired("the cursor is older than the feed keeps; sync again from no cursor".into())
}

/// The caller's visibility of a kind the feed reads (checked readable up front).
fn visibility(actor: &Actor, kind: EntityKind) -> ApiResult<Visibility> {
    kind.visibility(actor).ok_or_else(|| ApiError::Forbidden(format!("you may not read {kind}")))
}

/// A page of the first snapshot: the visible live records of the cursor's kind after its
/// position, then of the kinds after it, until the page is full. Two statements per kind
/// read.
async fn snapshot(
    ctx: &Context<'_>,
    actor: &Actor,
    kinds: &[EntityKind],
    (seq, mut kind, mut after): (i64, EntityKind, Option<Uuid>),
    first: usize,
) -> ApiResult<ChangeFeed> {
    let conn = state(ctx).db.connection();
    let now = Utc::now();
    let mut changes = Vec::with_capacity(first);
    let cursor = loop {
        let room = first - changes.len();
        let pick = Pick::LiveAfter { after, limit: room as u64 + 1 };
        let mut ids: Vec<Uuid> =
            guanxi_store::visibility::pick(conn, actor.tenant_id, kind, visibility(actor, kind)?, pick)
                .await?
                .into_iter()
                .map(|(id, _)| id)
                .collect();
        let more = ids.len() > room;
        ids.truncate(room);
        let mut nodes = load_many(ctx, kind, &ids).await?;
        let feed_kind = FeedKind::of(kind).ok_or(ApiError::Internal)?;
        changes.extend(ids.iter().filter_map(|id| {
            let node = nodes.remove(id)?;
            Some(FeedChange {
                kind: feed_kind,
                id: *id,
                node: Some(node),
                removed: None,
                sequence: None,
                at: None,
                external_id: None,
            })
        }));
        let next = Cursor::after_snapshot_page(kinds.to_vec(), seq, kind, (ids.last().copied(), more), now);
        match next {
            Cursor::Snapshot { kind: k, after: a, .. } if changes.len() < first => (kind, after) = (k, a),
            next => break next,
        }
    };
    Ok(ChangeFeed { changes, cursor: encode(&cursor), has_more: true, snapshot: true })
}

/// A page of changes after `seq`: each record touched once, at its latest change, as its
/// current state, a tombstone, or a removal for a caller who saw it before; a customer
/// that came into the caller's sight brings its records of the asked kinds after it (at
/// most `limits.feed_brought_per_page` a page: the page ends earlier, or one customer's
/// records go on over the next pages). A fixed number of statements per kind, whatever the page holds.
async fn delta(
    ctx: &Context<'_>,
    actor: &Actor,
    kinds: &[EntityKind],
    (seq, bring): (i64, Option<Bring>),
    first: usize,
) -> ApiResult<ChangeFeed> {
    let now = Utc::now();
    let next = |seq, bring| encode(&Cursor::Delta { kinds: kinds.to_vec(), seq, at: now, bring });
    let most = state(ctx).config.limits.feed_brought_per_page.max(1);
    if let Some(bring) = bring {
        let (changes, rest) = bring_page(ctx, actor, (kinds, seq), (bring, most)).await?;
        return Ok(ChangeFeed { changes, cursor: next(seq, rest), has_more: true, snapshot: false });
    }
    let conn = state(ctx).db.connection();
    let (mut events, last) =
        guanxi_store::platform::audit::since(conn, actor.tenant_id, Some(kinds), seq, first as u64).await?;
    if events.first().is_some_and(|e| past_retention(e.occurred_at, now)) {
        return Err(expired());
    }
    let (mut read_to, mut has_more) = (last.unwrap_or(seq), events.len() == first);
    loop {
        let touched = fold(&events);
        let mut outcome: HashMap<(EntityKind, Uuid), FeedChange> = HashMap::with_capacity(touched.len());
        for &kind in kinds {
            let of_kind: Vec<&Touched> = touched.iter().filter(|t| t.kind == kind).collect();
            if !of_kind.is_empty() {
                let changes = changes_of_kind(ctx, actor, kind, &of_kind).await?;
                outcome.extend(changes.into_iter().map(|c| ((kind, c.id), c)));
            }
        }
        let arrived: Vec<&Touched> = touched
            .iter()
            .filter(|t| t.kind == EntityKind::Customer && t.moved)
            .filter(|t| outcome.get(&(t.kind, t.id)).is_some_and(|c| c.node.is_some()))
            .collect();
        let counts = bringing_counts(ctx, actor, kinds, &arrived).await?;
        let plan: Vec<(i64, usize)> =
            arrived.iter().map(|t| (t.seq, counts.get(&t.id).copied().unwrap_or(0))).collect();
        let page_end = events.last().map_or(seq, |e| e.seq);
        let (mut brought, rest) = match plan_bringing(&plan, most) {
            // Too much for one page: end the page earlier and plan again, so that every
            // record's changes up to the end are read together.
            Bringing::UpTo(end) => {
                events.retain(|e| e.seq <= end);
                (read_to, has_more) = (end, true);
                continue;
            }
            Bringing::FirstAlone if arrived[0].seq < page_end => {
                let end = arrived[0].seq;
                events.retain(|e| e.seq <= end);
                (read_to, has_more) = (end, true);
                continue;
            }
            Bringing::FirstAlone => {
                let customer = arrived[0];
                let kind = kinds.iter().copied().find(|k| *k != EntityKind::Customer).ok_or(ApiError::Internal)?;
                let start = Bring { customer: customer.id, arrived_at: customer.at, kind, after: None };
                let (records, rest) = bring_page(ctx, actor, (kinds, customer.seq), (start, most)).await?;
                has_more = true;
                (HashMap::from([(customer.id, records)]), rest)
            }
            Bringing::All => (brought_with(ctx, actor, kinds, &arrived, &touched).await?, None),
        };
        let mut changes = Vec::with_capacity(touched.len());
        for t in &touched {
            changes.extend(outcome.remove(&(t.kind, t.id)));
            if t.kind == EntityKind::Customer {
                changes.extend(brought.remove(&t.id).unwrap_or_default());
            }
        }
        return Ok(ChangeFeed { changes, cursor: next(read_to, rest), has_more, snapshot: false });
    }
}

/// How many records of the asked kinds each arriving customer brings (live or deleted, an
/// upper bound). One statement per kind.
async fn bringing_counts(
    ctx: &Context<'_>,
    actor: &Actor,
    kinds: &[EntityKind],
    arrived: &[&Touched],
) -> ApiResult<HashMap<Uuid, usize>> {
    let mut counts: HashMap<Uuid, usize> = HashMap::new();
    if arrived.is_empty() {
        return Ok(counts);
    }
    let conn = state(ctx).db.connection();
    let customers: Vec<Uuid> = arrived.iter().map(|t| t.id).collect();
    for &kind in kinds.iter().filter(|k| **k != EntityKind::Customer) {
        for (customer, n) in link_counts(conn, actor.tenant_id, kind, &customers).await? {
            *counts.entry(customer).or_default() += n;
        }
    }
    Ok(counts)
}

/// The records of the asked kinds the arriving customers bring along (all of them: the
/// page was planned to hold them), by customer. Records the page touches itself are left
/// to their own entries. Three statements per kind at most.
async fn brought_with(
    ctx: &Context<'_>,
    actor: &Actor,
    kinds: &[EntityKind],
    arrived: &[&Touched],
    touched: &[Touched],
) -> ApiResult<HashMap<Uuid, Vec<FeedChange>>> {
    let mut brought: HashMap<Uuid, Vec<FeedChange>> = HashMap::new();
    if arrived.is_empty() {
        return Ok(brought);
    }
    let conn = state(ctx).db.connection();
    let customers: Vec<Uuid> = arrived.iter().map(|t| t.id).collect();
    let by_customer: HashMap<Uuid, &Touched> = arrived.iter().map(|t| (t.id, *t)).collect();
    let on_page: HashSet<(EntityKind, Uuid)> = touched.iter().map(|t| (t.kind, t.id)).collect();
    for &kind in kinds.iter().filter(|k| **k != EntityKind::Customer) {
        let rows = links(conn, actor.tenant_id, kind, LinksOf::Customers(&customers)).await?;
        let rows: Vec<(Uuid, Uuid)> = rows.into_iter().filter(|(id, _)| !on_page.contains(&(kind, *id))).collect();
        for (id, customer, node) in shown(ctx, actor, kind, rows).await? {
            let Some(arrival) = by_customer.get(&customer) else { continue };
            brought.entry(customer).or_default().push(brought_change(kind, id, node, (arrival.seq, arrival.at))?);
        }
    }
    Ok(brought)
}

/// Up to `most` of the records one arriving customer brings, from where `bring` stands,
/// and where the next page goes on (none when they are all out). Three statements per
/// kind read.
async fn bring_page(
    ctx: &Context<'_>,
    actor: &Actor,
    (kinds, seq): (&[EntityKind], i64),
    (bring, most): (Bring, usize),
) -> ApiResult<(Vec<FeedChange>, Option<Bring>)> {
    let conn = state(ctx).db.connection();
    let mut changes = Vec::new();
    let from = kinds.iter().position(|k| *k == bring.kind).ok_or(ApiError::Internal)?;
    for &kind in kinds[from..].iter().filter(|k| **k != EntityKind::Customer) {
        let after = if kind == bring.kind { bring.after } else { None };
        let room = most - changes.len();
        let of = LinksOf::CustomerAfter { customer: bring.customer, after, limit: room as u64 + 1 };
        let mut rows = links(conn, actor.tenant_id, kind, of).await?;
        let more = rows.len() > room;
        rows.truncate(room);
        let last = rows.last().map(|(id, _)| *id);
        for (id, _, node) in shown(ctx, actor, kind, rows).await? {
            changes.push(brought_change(kind, id, node, (seq, bring.arrived_at))?);
        }
        if more {
            return Ok((changes, Some(Bring { kind, after: last, ..bring })));
        }
    }
    Ok((changes, None))
}

/// Which of `rows` (record, customer) of `kind` the caller sees live now, as nodes, in
/// the rows' order. Two statements.
async fn shown(
    ctx: &Context<'_>,
    actor: &Actor,
    kind: EntityKind,
    rows: Vec<(Uuid, Uuid)>,
) -> ApiResult<Vec<(Uuid, Uuid, Node)>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let conn = state(ctx).db.connection();
    let ids: Vec<Uuid> = rows.iter().map(|(id, _)| *id).collect();
    let live: Vec<Uuid> =
        guanxi_store::visibility::pick(conn, actor.tenant_id, kind, visibility(actor, kind)?, Pick::Ids(&ids))
            .await?
            .into_iter()
            .filter_map(|(id, live)| live.then_some(id))
            .collect();
    let mut nodes = load_many(ctx, kind, &live).await?;
    Ok(rows.into_iter().filter_map(|(id, customer)| Some((id, customer, nodes.remove(&id)?))).collect())
}

/// A record brought along by its customer's arrival, dated by it.
fn brought_change(kind: EntityKind, id: Uuid, node: Node, (seq, at): (i64, DateTime<Utc>)) -> ApiResult<FeedChange> {
    Ok(FeedChange {
        kind: FeedKind::of(kind).ok_or(ApiError::Internal)?,
        id,
        node: Some(node),
        removed: None,
        sequence: Some(seq),
        at: Some(at),
        external_id: None,
    })
}

/// What the caller is told of the touched records of one kind.
async fn changes_of_kind(
    ctx: &Context<'_>,
    actor: &Actor,
    kind: EntityKind,
    touched: &[&Touched],
) -> ApiResult<Vec<FeedChange>> {
    let conn = state(ctx).db.connection();
    let tenant = actor.tenant_id;
    let visibility = visibility(actor, kind)?;
    let feed_kind = FeedKind::of(kind).ok_or(ApiError::Internal)?;
    let ids: Vec<Uuid> = touched.iter().map(|t| t.id).collect();
    let seen: HashMap<Uuid, bool> =
        guanxi_store::visibility::pick(conn, tenant, kind, visibility, Pick::Ids(&ids)).await?.into_iter().collect();
    let live: Vec<Uuid> = ids.iter().copied().filter(|id| seen.get(id) == Some(&true)).collect();
    let mut nodes = load_many(ctx, kind, &live).await?;
    let deleted: Vec<Uuid> = ids.iter().copied().filter(|id| seen.get(id) == Some(&false)).collect();
    let mut external = guanxi_store::visibility::external_ids(conn, tenant, kind, &deleted).await?;
    let gone: Vec<&Touched> =
        touched.iter().copied().filter(|t| seen.get(&t.id) != Some(&false) && !nodes.contains_key(&t.id)).collect();
    let held = formerly_held(ctx, actor, (kind, visibility), &gone).await?;
    Ok(touched
        .iter()
        .filter_map(|t| {
            let change = |node, removed, external_id| FeedChange {
                kind: feed_kind,
                id: t.id,
                node,
                removed,
                sequence: Some(t.seq),
                at: Some(if removed == Some(Removal::Deleted) { t.deleted_at.unwrap_or(t.at) } else { t.at }),
                external_id,
            };
            if let Some(node) = nodes.remove(&t.id) {
                Some(change(Some(node), None, None))
            } else if seen.get(&t.id) == Some(&false) {
                Some(change(None, Some(Removal::Deleted), external.remove(&t.id)))
            } else {
                held.contains(&t.id).then(|| change(None, Some(Removal::OutOfScope), None))
            }
        })
        .collect())
}

/// Which of the records the caller cannot read now they could read before a change in the
/// page: a change took it from them directly (a share, an assignment), or a former owner
/// is in their scope for the kind — and, for a kind seen through its customer too, its
/// customer still is, so that a record of a customer they never saw is never named. Three
/// statements at most.
async fn formerly_held(
    ctx: &Context<'_>,
    actor: &Actor,
    (kind, visibility): (EntityKind, Visibility),
    gone: &[&Touched],
) -> ApiResult<HashSet<Uuid>> {
    let me = actor.user_id.uuid();
    let mut held: HashSet<Uuid> = gone.iter().filter(|t| t.lost_by.contains(&me)).map(|t| t.id).collect();
    let owners: Vec<Uuid> = gone.iter().flat_map(|t| t.former_owners.iter().copied()).collect();
    let Some(rule) = visibility.owner_rule() else { return Ok(held) };
    if owners.is_empty() {
        return Ok(held);
    }
    let conn = state(ctx).db.connection();
    let tenant = actor.tenant_id;
    let in_scope: HashSet<Uuid> =
        guanxi_store::visibility::pick(conn, tenant, EntityKind::User, Visibility::Owner(rule), Pick::Ids(&owners))
            .await?
            .into_iter()
            .map(|(id, _)| id)
            .collect();
    let candidates: Vec<Uuid> = gone
        .iter()
        .filter(|t| !held.contains(&t.id) && t.former_owners.iter().any(|o| in_scope.contains(o)))
        .map(|t| t.id)
        .collect();
    if matches!(visibility, Visibility::OwnerAndCustomer(_) | Visibility::Assigned(_)) {
        let of_customer = links(conn, tenant, kind, LinksOf::Records(&candidates)).await?;
        let customers: Vec<Uuid> = of_customer.iter().map(|(_, customer)| *customer).collect();
        let shown = Visibility::Customers(actor.customer_rule());
        let seen: HashSet<Uuid> =
            guanxi_store::visibility::pick(conn, tenant, EntityKind::Customer, shown, Pick::Ids(&customers))
                .await?
                .into_iter()
                .filter_map(|(id, live)| live.then_some(id))
                .collect();
        held.extend(of_customer.into_iter().filter(|(_, customer)| seen.contains(customer)).map(|(id, _)| id));
    } else {
        held.extend(candidates);
    }
    Ok(held)
}
