//! Interactions and the customer timeline. An interaction is visible exactly when its
//! customer is: a customer's history belongs to the company, and follows the customer to
//! whoever owns it now.

use chrono::{DateTime, Utc};
use guanxi_domain::activity::interaction::{Channel, Interaction, InteractionFields};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{ContactId, CustomerId, InteractionId, TenantId, UserId};
use guanxi_domain::platform::access::CustomerRule;
use guanxi_domain::platform::change::ChangeEvent;
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::platform::upsert::{self, Mode, Outcome, RowResult};
use guanxi_domain::{ErrorCode, Invalid};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect, Select,
};
use serde_json::Value;
use uuid::Uuid;

use crate::activity::work_count;
use crate::decode::Cell;
use crate::entity::{change_event, contact, customer, interaction};
use crate::error::{StoreError, StoreResult, on_unique};
use crate::filter::{IdFilter, TimeFilter};
use crate::page::{self, Cursor, CursorValue, Direction, Page, SortKey};
use crate::platform::audit::{self, Author};
use crate::repo::{self, Scoped};

pub const ENTITY: EntityKind = EntityKind::Interaction;

pub fn to_domain(m: interaction::Model) -> StoreResult<Interaction> {
    let cell = |column| Cell::of("interactions", m.id, column);
    let contact_ids: Vec<Uuid> = cell("contact_ids").json(m.contact_ids.clone())?;
    Ok(Interaction {
        id: m.id.into(),
        tenant_id: m.tenant_id.into(),
        customer_id: m.customer_id.into(),
        author_id: m.author_id.map(Into::into),
        fields: InteractionFields {
            channel: cell("channel").text(&m.channel, Channel::parse)?,
            occurred_at: m.occurred_at,
            content: m.content,
            outcome: m.outcome,
            next_follow_up_at: m.next_follow_up_at,
            contact_ids: contact_ids.into_iter().map(ContactId::from_uuid).collect(),
            latitude: m.latitude,
            longitude: m.longitude,
        },
        source: m.source,
        external_id: m.external_id,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
    })
}

/// Interactions, seen through their customer's `CUSTOMER` scope. Deleted interactions are
/// not read back (they leave with their customer).
pub struct Interactions;

impl Scoped for Interactions {
    type Entity = interaction::Entity;
    type Scope = CustomerRule;
    type Record = Interaction;
    const ID: interaction::Column = interaction::Column::Id;
    const DELETED_AT: Option<interaction::Column> = None;

    fn visible(backend: DbBackend, tenant: TenantId, customers: CustomerRule) -> Select<interaction::Entity> {
        let (tenant_id, customer_id) = (interaction::Column::TenantId, interaction::Column::CustomerId);
        crate::scope::of_visible_customers(backend, tenant, customers, tenant_id, customer_id)
            .filter(interaction::Column::DeletedAt.is_null())
    }

    fn to_domain(model: interaction::Model) -> StoreResult<Interaction> {
        to_domain(model)
    }
}

fn visible(backend: DbBackend, tenant: TenantId, customers: CustomerRule) -> Select<interaction::Entity> {
    Interactions::visible(backend, tenant, customers)
}

repo::scoped_reads!(Interactions);

#[derive(Clone, Debug, Default)]
pub struct InteractionFilter {
    pub customer_id: Option<IdFilter>,
    pub author_id: Option<IdFilter>,
    pub channels: Option<Vec<Channel>>,
    pub occurred_at: Option<TimeFilter>,
    pub source: Option<String>,
    /// Recorded by one of these users (work-log drill-down).
    pub authors: Option<Vec<Uuid>>,
}

impl InteractionFilter {
    fn condition(&self) -> Condition {
        let mut all = Condition::all();
        if let Some(f) = &self.customer_id {
            all = all.add(f.condition(interaction::Column::CustomerId));
        }
        if let Some(f) = &self.author_id {
            all = all.add(f.condition(interaction::Column::AuthorId));
        }
        if let Some(channels) = &self.channels {
            all = all.add(interaction::Column::Channel.is_in(channels.iter().map(|c| c.as_str())));
        }
        if let Some(f) = &self.occurred_at {
            all = all.add(f.condition(interaction::Column::OccurredAt));
        }
        if let Some(source) = &self.source {
            all = all.add(interaction::Column::Source.eq(source.clone()));
        }
        if let Some(users) = &self.authors {
            all = all.add(interaction::Column::AuthorId.is_in(users.iter().copied()));
        }
        all
    }
}

impl repo::Listed for Interactions {
    type Filter = InteractionFilter;
    /// Interactions list newest first.
    type Order = ();

    fn matching(
        backend: DbBackend,
        tenant: TenantId,
        scope: CustomerRule,
        filter: &InteractionFilter,
    ) -> Select<interaction::Entity> {
        Self::visible(backend, tenant, scope).filter(filter.condition())
    }

    fn sort_key((): ()) -> SortKey<interaction::Entity> {
        SortKey {
            name: "OCCURRED_AT",
            column: interaction::Column::OccurredAt,
            direction: Direction::Desc,
            value: |m: &interaction::Model| CursorValue::Time(m.occurred_at),
        }
    }

    fn id_of(model: &interaction::Model) -> Uuid {
        model.id
    }
}

repo::listed!(Interactions);

/// Finds the one live customer a phone number or email belongs to (its own phones, or a
/// contact's mobile or email). None when nothing or more than one customer matches.
pub async fn match_customer<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    phone: Option<&str>,
    email: Option<&str>,
) -> StoreResult<Option<CustomerId>> {
    let mut ids: Vec<Uuid> = Vec::new();
    if let Some(phone) = phone {
        let direct: Vec<Uuid> = customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .filter(customer::Column::TenantId.eq(tenant.uuid()))
            .filter(customer::Column::DeletedAt.is_null())
            .filter(
                Condition::any()
                    .add(customer::Column::MainPhone.eq(phone))
                    .add(customer::Column::FinancePhone.eq(phone)),
            )
            .limit(3)
            .into_tuple()
            .all(conn)
            .await?;
        ids.extend(direct);
    }
    let mut contact_match = Condition::any();
    if let Some(phone) = phone {
        contact_match =
            contact_match.add(contact::Column::Mobile.eq(phone)).add(contact::Column::OfficePhone.eq(phone));
    }
    if let Some(email) = email {
        contact_match = contact_match.add(contact::Column::Email.eq(email.to_lowercase()));
    }
    if phone.is_some() || email.is_some() {
        let through_contacts: Vec<Uuid> = contact::Entity::find()
            .select_only()
            .column(contact::Column::CustomerId)
            .filter(contact::Column::TenantId.eq(tenant.uuid()))
            .filter(contact::Column::DeletedAt.is_null())
            .filter(contact_match)
            .limit(3)
            .into_tuple()
            .all(conn)
            .await?;
        ids.extend(through_contacts);
    }
    ids.sort();
    ids.dedup();
    Ok(match ids.as_slice() {
        [one] => Some(CustomerId::from_uuid(*one)),
        _ => None,
    })
}

/// Who wrote an interaction and where it came from.
pub struct Origin {
    pub author_id: Option<UserId>,
    pub source: String,
    pub external_id: Option<String>,
    /// The id a client made offline for it (see `repo::new_id`); none for a fresh one.
    pub id: Option<Uuid>,
}

/// Records an interaction on a visible, live customer, and in the same transaction moves
/// the customer's last-interaction time forward (and its next follow-up, when given).
pub async fn create<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    customer_id: CustomerId,
    fields: InteractionFields,
    origin: Origin,
) -> StoreResult<Interaction> {
    let tenant = author.tenant_id;
    fields.check(Utc::now())?;
    let target = crate::customers::customer::find(conn, tenant, customers, customer_id.uuid()).await?;
    let Some(target) = target.filter(|c| c.deleted_at.is_none()) else {
        return Err(StoreError::rejected("customerId", ErrorCode::NotFound, "no such customer"));
    };
    if !fields.contact_ids.is_empty() {
        let ids: Vec<Uuid> = fields.contact_ids.iter().map(|c| c.uuid()).collect();
        let found = contact::Entity::find()
            .filter(contact::Column::TenantId.eq(tenant.uuid()))
            .filter(contact::Column::CustomerId.eq(customer_id.uuid()))
            .filter(contact::Column::DeletedAt.is_null())
            .filter(contact::Column::Id.is_in(ids.clone()))
            .count(conn)
            .await?;
        let mut distinct = ids;
        distinct.sort();
        distinct.dedup();
        if found != distinct.len() as u64 {
            return Err(
                Invalid::one("contactIds", ErrorCode::NotFound, "every contact must belong to the customer").into()
            );
        }
    }
    let occurred = (fields.occurred_at, fields.next_follow_up_at);
    let columns = (interaction::Column::TenantId, interaction::Column::Id);
    let id = crate::repo::new_id::<interaction::Entity, _>(conn, columns, tenant, origin.id).await?;
    // The one unique key besides the id is the external one.
    let (field, message) = match origin.external_id {
        Some(_) => ("externalId", "a record with this source and external id already exists"),
        None => ("id", "a record already has this id"),
    };
    let row = new_row(tenant, customer_id, Origin { id: Some(id), ..origin }, fields, Utc::now());
    let id = row.id;
    let model = interaction::Entity::insert(interaction::ActiveModel::from(row))
        .exec_with_returning(conn)
        .await
        .map_err(|e| on_unique(e, field, message))?;
    conn.execute(&touch_clocks(tenant, &[(customer_id.uuid(), occurred)])).await?;
    let mut counts = work_count::Counts::new();
    let owner = target.owner_id.map(UserId::uuid);
    work_count::count_new(&mut counts, model.author_id, model.occurred_at, owner, &model.channel);
    work_count::add_rows(conn, tenant, counts).await?;
    let created = to_domain(model)?;
    audit::record(conn, author, ENTITY, id, Operation::Create, &created_changes(&created)).await?;
    Ok(created)
}

/// The row of a new interaction.
fn new_row(
    tenant: TenantId,
    customer: CustomerId,
    origin: Origin,
    fields: InteractionFields,
    now: DateTime<Utc>,
) -> interaction::Model {
    interaction::Model {
        tenant_id: tenant.uuid(),
        id: origin.id.unwrap_or_else(|| InteractionId::new().uuid()),
        customer_id: customer.uuid(),
        author_id: origin.author_id.map(UserId::uuid),
        channel: fields.channel.as_str().to_owned(),
        occurred_at: fields.occurred_at,
        content: fields.content.trim().to_owned(),
        outcome: fields.outcome,
        next_follow_up_at: fields.next_follow_up_at,
        contact_ids: Value::from(fields.contact_ids.iter().map(|c| c.uuid().to_string()).collect::<Vec<_>>()),
        source: origin.source,
        external_id: origin.external_id,
        latitude: fields.latitude,
        longitude: fields.longitude,
        attachments: Value::Array(vec![]),
        version: 1,
        created_at: now,
        updated_at: now,
        deleted_at: None,
    }
}

/// The change event's content for a created interaction.
fn created_changes(created: &Interaction) -> ChangeSet {
    ChangeSet::new()
        .diff(&serde_json::json!({}), &created.fields)
        .field("customerId", (), created.customer_id)
        .field("source", (), &created.source)
        .field("externalId", (), &created.external_id)
}

/// One record of an ingest batch: its key, and its customer and fields or why they could
/// not be read (reported only when the key is not stored already: a repeated record is
/// never an error).
pub struct IngestRecord {
    pub source: String,
    pub external_id: String,
    /// Who wrote it, when not the caller (a lead's follow-up moved on conversion).
    pub author_id: Option<UserId>,
    pub parsed: Result<(CustomerId, InteractionFields), Invalid>,
}

/// What became of one ingested record.
pub enum Ingested {
    Created(Interaction),
    /// Seen before under the same `(source, externalId)`: nothing written. The record is
    /// given when the caller may see it.
    Existing(Option<Interaction>),
    Rejected(Invalid),
}

/// Writes a batch of ingested records set-wise, inside the caller's transaction: one
/// lookup of the keys already stored, one of the customers and one of the contacts named,
/// multi-row inserts of the interactions and their change events (a block of sequence
/// numbers taken at once), and one update per 300 customers of their interaction clocks.
/// The statements per batch do not grow with its size (beyond the chunking), where writing
/// record by record cost eight statements and a commit each. The caller holds the tenant's
/// write lock, so a key looked up here cannot be taken by another writer before the insert.
pub async fn ingest<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    records: Vec<IngestRecord>,
) -> StoreResult<Vec<Ingested>> {
    let (outcomes, writes) = decide(conn, author, customers, records).await?;
    writes.write(conn, author).await?;
    Ok(outcomes)
}

/// What an ingest batch writes once each record is decided.
#[derive(Default)]
struct Writes {
    rows: Vec<interaction::ActiveModel>,
    events: Vec<(Uuid, Operation, ChangeSet)>,
    /// Per customer: the latest interaction of the batch, and the last follow-up it states.
    clocks: std::collections::BTreeMap<Uuid, Clock>,
    counts: work_count::Counts,
}

impl Writes {
    /// The interactions, their customers' clocks (one update per 300 customers), the work
    /// log's counts and the change events.
    async fn write<C: ConnectionTrait>(self, conn: &C, author: &Author) -> StoreResult<()> {
        let tenant = author.tenant_id;
        crate::insert_chunked(conn, self.rows).await?;
        let clocks: Vec<_> = self.clocks.into_iter().collect();
        for chunk in clocks.chunks(300) {
            conn.execute(&touch_clocks(tenant, chunk)).await?;
        }
        work_count::add_rows(conn, tenant, self.counts).await?;
        audit::record_many(conn, author, ENTITY, self.events).await?;
        Ok(())
    }
}

/// Upserts a call's interactions by `(source, externalId)` (`upsertInteractions`) through
/// the ingest path: a new key creates the interaction; a stored one is `UNCHANGED` when the
/// record describes it as stored, and fails otherwise, since an interaction is a record of
/// what happened and is not edited (`ILLEGAL_STATE`), or when it is outside the caller's
/// scope (`FORBIDDEN`). A key repeated in the call fails (`DUPLICATE`). Under
/// `ALL_OR_NOTHING` a failed row leaves the whole call unwritten.
pub async fn upsert<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    mode: Mode,
    mut records: Vec<IngestRecord>,
) -> StoreResult<Vec<RowResult>> {
    let keys: Vec<String> = records.iter().map(|r| r.external_id.clone()).collect();
    let repeats = upsert::repeats(&keys);
    // A repeated key is never created, even when its first copy fails.
    for (record, repeat) in records.iter_mut().zip(&repeats) {
        if let Some(first) = repeat {
            record.parsed = Err(upsert::repeated(*first));
        }
    }
    let asked: Vec<Result<(CustomerId, InteractionFields), Invalid>> =
        records.iter().map(|r| r.parsed.clone()).collect();
    let (outcomes, writes) = decide(conn, author, customers, records).await?;
    let mut results: Vec<RowResult> = Vec::with_capacity(keys.len());
    for (((key, repeat), asked), outcome) in keys.iter().zip(repeats).zip(asked).zip(outcomes) {
        let key = key.clone();
        results.push(match (repeat, outcome, asked) {
            (Some(first), ..) => RowResult::failed(key, upsert::repeated(first)),
            (None, Ingested::Created(created), _) => RowResult::done(key, Outcome::Created, created.id.uuid()),
            (None, Ingested::Rejected(invalid), _) | (None, Ingested::Existing(Some(_)), Err(invalid)) => {
                RowResult::failed(key, invalid)
            }
            (None, Ingested::Existing(None), _) => RowResult::failed(
                key,
                Invalid::one("externalId", ErrorCode::Forbidden, "this externalId names an interaction outside your data scope"),
            ),
            (None, Ingested::Existing(Some(stored)), Ok((customer, fields))) if stored.records(customer, &fields) => {
                RowResult::done(key, Outcome::Unchanged, stored.id.uuid())
            }
            (None, Ingested::Existing(Some(_)), Ok(_)) => RowResult::failed(
                key,
                Invalid::one(
                    "externalId",
                    ErrorCode::IllegalState,
                    "an interaction is a record of what happened and is not edited; this externalId names one that says otherwise",
                ),
            ),
        });
    }
    if upsert::settle(mode, &mut results) {
        writes.write(conn, author).await?;
    }
    Ok(results)
}

/// Decides each record of an ingest batch (see [`ingest`]) and gathers what to write.
async fn decide<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    customers: CustomerRule,
    records: Vec<IngestRecord>,
) -> StoreResult<(Vec<Ingested>, Writes)> {
    let tenant = author.tenant_id;
    let backend = conn.get_database_backend();
    let now = Utc::now();
    let key = |source: &str, external: &str| (source.to_owned(), external.to_owned());

    // Keys stored already (and whether the caller may see those records).
    let mut sources: Vec<&str> = records.iter().map(|r| r.source.as_str()).collect();
    sources.sort_unstable();
    sources.dedup();
    let stored: Vec<(Uuid, String, Option<String>)> = interaction::Entity::find()
        .select_only()
        .columns([interaction::Column::Id, interaction::Column::Source, interaction::Column::ExternalId])
        .filter(interaction::Column::TenantId.eq(tenant.uuid()))
        .filter(interaction::Column::Source.is_in(sources))
        .filter(interaction::Column::ExternalId.is_in(records.iter().map(|r| r.external_id.clone())))
        .into_tuple()
        .all(conn)
        .await?;
    let mut shown: std::collections::HashMap<Uuid, Interaction> = visible(backend, tenant, customers)
        .filter(interaction::Column::Id.is_in(stored.iter().map(|(id, _, _)| *id)))
        .all(conn)
        .await?
        .into_iter()
        .map(|m| Ok((m.id, to_domain(m)?)))
        .collect::<StoreResult<_>>()?;
    let mut existing: std::collections::HashMap<(String, String), Option<Interaction>> = stored
        .into_iter()
        .filter_map(|(id, source, external)| Some((key(&source, &external?), shown.remove(&id))))
        .collect();

    // The customers and contacts the batch names.
    let parsed = || records.iter().filter_map(|r| r.parsed.as_ref().ok());
    let mut customer_ids: Vec<Uuid> = parsed().map(|(c, _)| c.uuid()).collect();
    customer_ids.sort_unstable();
    customer_ids.dedup();
    // Live customers the caller may see, with their owners (for the work log's counts).
    let live: std::collections::HashMap<Uuid, Option<Uuid>> =
        crate::customers::customer::by_ids(conn, tenant, customers, &customer_ids)
            .await?
            .into_iter()
            .map(|c| (c.id.uuid(), c.owner_id.map(UserId::uuid)))
            .collect();
    let contact_ids: Vec<Uuid> = parsed().flat_map(|(_, f)| f.contact_ids.iter().map(|c| c.uuid())).collect();
    let contact_customer: std::collections::HashMap<Uuid, Uuid> = if contact_ids.is_empty() {
        Default::default()
    } else {
        contact::Entity::find()
            .select_only()
            .column(contact::Column::Id)
            .column(contact::Column::CustomerId)
            .filter(contact::Column::TenantId.eq(tenant.uuid()))
            .filter(contact::Column::DeletedAt.is_null())
            .filter(contact::Column::Id.is_in(contact_ids))
            .into_tuple::<(Uuid, Uuid)>()
            .all(conn)
            .await?
            .into_iter()
            .collect()
    };

    let mut outcomes = Vec::with_capacity(records.len());
    let mut writes = Writes::default();
    let Writes { rows, events, clocks, counts } = &mut writes;
    for record in records {
        let k = key(&record.source, &record.external_id);
        if let Some(seen) = existing.get(&k) {
            outcomes.push(Ingested::Existing(seen.clone()));
            continue;
        }
        let (customer_id, fields) = match record.parsed.and_then(|(c, f)| f.check(now).map(|()| (c, f))) {
            Ok(parsed) => parsed,
            Err(invalid) => {
                outcomes.push(Ingested::Rejected(invalid));
                continue;
            }
        };
        let customer = customer_id.uuid();
        let Some(owner) = live.get(&customer) else {
            outcomes.push(Ingested::Rejected(Invalid::one("customerId", ErrorCode::NotFound, "no such customer")));
            continue;
        };
        if fields.contact_ids.iter().any(|c| contact_customer.get(&c.uuid()) != Some(&customer)) {
            outcomes.push(Ingested::Rejected(Invalid::one(
                "contactIds",
                ErrorCode::NotFound,
                "every contact must belong to the customer",
            )));
            continue;
        }
        let clock = clocks.entry(customer).or_insert((fields.occurred_at, None));
        clock.0 = Ord::max(clock.0, fields.occurred_at);
        if fields.next_follow_up_at.is_some() {
            clock.1 = fields.next_follow_up_at;
        }
        let origin = Origin {
            author_id: record.author_id.or(author.user_id.map(UserId::from_uuid)),
            source: record.source,
            external_id: Some(record.external_id),
            id: None,
        };
        let model = new_row(tenant, customer_id, origin, fields, now);
        work_count::count_new(counts, model.author_id, model.occurred_at, *owner, &model.channel);
        let created = to_domain(model.clone())?;
        events.push((model.id, Operation::Create, created_changes(&created)));
        rows.push(interaction::ActiveModel::from(model));
        // A key repeated within the batch is created once; later copies report it.
        existing.insert(k, Some(created.clone()));
        outcomes.push(Ingested::Created(created));
    }

    Ok((outcomes, writes))
}

/// A customer's interaction clock as a batch moves it: its latest interaction, and the
/// last next follow-up the batch states.
type Clock = (DateTime<Utc>, Option<DateTime<Utc>>);

/// One UPDATE of several customers' interaction clocks: the last interaction only moves
/// forward; a stated next follow-up replaces the old one.
fn touch_clocks(tenant: TenantId, clocks: &[(Uuid, Clock)]) -> sea_orm::sea_query::UpdateStatement {
    let last = Expr::col(customer::Column::LastInteractionAt);
    let mut last_case = sea_orm::sea_query::CaseStatement::new();
    let mut next_case = sea_orm::sea_query::CaseStatement::new();
    let mut any_next = false;
    for (id, (latest, next)) in clocks {
        last_case = last_case.case(
            Condition::all()
                .add(Expr::col(customer::Column::Id).eq(*id))
                .add(Condition::any().add(last.clone().is_null()).add(last.clone().lt(*latest))),
            Expr::val(*latest),
        );
        if let Some(next) = next {
            any_next = true;
            next_case = next_case.case(Expr::col(customer::Column::Id).eq(*id), Expr::val(*next));
        }
    }
    let mut update = Query::update();
    update
        .table(customer::Entity)
        .value(customer::Column::LastInteractionAt, last_case.finally(last.clone()))
        .and_where(Expr::col(customer::Column::TenantId).eq(tenant.uuid()))
        .and_where(Expr::col(customer::Column::Id).is_in(clocks.iter().map(|(id, _)| *id)));
    if any_next {
        update.value(customer::Column::NextFollowUpAt, next_case.finally(Expr::col(customer::Column::NextFollowUpAt)));
    }
    update.to_owned()
}

/// One entry of a customer's timeline.
pub enum TimelineEntry {
    Interaction(Interaction),
    Change(ChangeEvent),
}

impl TimelineEntry {
    fn key(&self) -> (DateTime<Utc>, String) {
        match self {
            Self::Interaction(i) => (i.fields.occurred_at, format!("i:{}", i.id)),
            Self::Change(c) => (c.occurred_at, format!("c:{:020}", c.seq)),
        }
    }
}

/// Which sources the timeline merges.
#[derive(Clone, Copy, Debug)]
pub struct TimelineKinds {
    pub interactions: bool,
    pub changes: bool,
    /// The moves of the customer's work orders the caller sees through this scope.
    pub work_orders: Option<guanxi_domain::entity::Assigned>,
}

/// A customer's timeline, newest first: its interactions and the change log of the card,
/// merged into one keyset-paged stream. The caller has checked the customer is visible.
pub async fn timeline<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    customers: CustomerRule,
    customer_id: Uuid,
    kinds: TimelineKinds,
    first: u64,
    after: Option<&Cursor>,
) -> StoreResult<Page<TimelineEntry>> {
    let limit = std::cmp::min(first, page::MAX_PAGE);
    let (after_time, after_key) = match after {
        Some(Cursor { key: CursorValue::Time(t), tiebreak: CursorValue::Text(k), .. }) => (Some(*t), Some(k.clone())),
        _ => (None, None),
    };
    let mut entries: Vec<TimelineEntry> = Vec::new();
    if kinds.interactions {
        let mut select = visible(conn.get_database_backend(), tenant, customers)
            .filter(interaction::Column::CustomerId.eq(customer_id));
        if let (Some(t), Some(k)) = (after_time, &after_key) {
            let same_time = match k.strip_prefix("i:").and_then(|id| Uuid::try_parse(id).ok()) {
                Some(id) => {
                    Condition::all().add(interaction::Column::OccurredAt.eq(t)).add(interaction::Column::Id.lt(id))
                }
                // "c:…" sorts below "i:…": at the cursor's time every interaction came before it.
                None => Condition::all().add(Expr::val(false)),
            };
            select = select.filter(Condition::any().add(interaction::Column::OccurredAt.lt(t)).add(same_time));
        }
        let rows = select
            .order_by_desc(interaction::Column::OccurredAt)
            .order_by_desc(interaction::Column::Id)
            .limit(limit + 1)
            .all(conn)
            .await?;
        for m in rows {
            entries.push(TimelineEntry::Interaction(to_domain(m)?));
        }
    }
    if kinds.changes || kinds.work_orders.is_some() {
        let mut sources = Condition::any();
        if kinds.changes {
            sources = sources.add(
                Condition::all()
                    .add(change_event::Column::EntityType.eq(crate::customers::customer::ENTITY.name()))
                    .add(change_event::Column::EntityId.eq(customer_id)),
            );
        }
        if let Some(scope) = kinds.work_orders {
            use crate::repo::Scoped;
            use crate::service::work_order::WorkOrders;
            use sea_orm::QueryTrait;
            let orders = WorkOrders::visible(conn.get_database_backend(), tenant, scope)
                .select_only()
                .column(crate::entity::work_order::Column::Id)
                .filter(crate::entity::work_order::Column::CustomerId.eq(customer_id))
                .into_query();
            sources = sources.add(
                Condition::all()
                    .add(change_event::Column::EntityType.eq(crate::service::work_order::ENTITY.name()))
                    .add(change_event::Column::EntityId.in_subquery(orders)),
            );
        }
        let mut select =
            change_event::Entity::find().filter(change_event::Column::TenantId.eq(tenant.uuid())).filter(sources);
        if let (Some(t), Some(k)) = (after_time, &after_key) {
            let same_time = match k.strip_prefix("c:").and_then(|s| s.parse::<i64>().ok()) {
                Some(seq) => {
                    Condition::all().add(change_event::Column::OccurredAt.eq(t)).add(change_event::Column::Seq.lt(seq))
                }
                // "i:…" sorts above "c:…": at the cursor's time every change comes after it.
                None => Condition::all().add(change_event::Column::OccurredAt.eq(t)),
            };
            select = select.filter(Condition::any().add(change_event::Column::OccurredAt.lt(t)).add(same_time));
        }
        let rows = select
            .order_by_desc(change_event::Column::OccurredAt)
            .order_by_desc(change_event::Column::Seq)
            .limit(limit + 1)
            .all(conn)
            .await?;
        for row in rows {
            entries.push(TimelineEntry::Change(crate::platform::audit::to_domain(row)?));
        }
    }
    entries.sort_by_key(|e| std::cmp::Reverse(e.key()));
    let more = entries.len() as u64 > limit;
    entries.truncate(limit as usize);
    let items = entries
        .into_iter()
        .map(|e| {
            let (time, key) = e.key();
            (
                Cursor {
                    sort: "TIMELINE".into(),
                    key: CursorValue::Time(time),
                    tiebreak: CursorValue::Text(key),
                    rank: None,
                },
                e,
            )
        })
        .collect();
    Ok(Page { items, has_next_page: more, has_previous_page: after.is_some() })
}
