//! The calendar over GraphQL: events with recurrence, double-booking checks, team
//! calendars, to-do queues and reminders.

use std::collections::HashSet;

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object, SimpleObject, Subscription};
use chrono::{DateTime, Duration, Utc};
use futures::Stream;
use guanxi_domain::activity::calendar::{
    ConflictPolicy, Event as DomainEvent, EventFields, EventKind as DomainKind, EventStatus as DomainStatus, Schedule,
    overlaps,
};
use guanxi_domain::ids::{ContactId, CustomerId, UserId};
use guanxi_domain::platform::access::Module;
use guanxi_domain::{ErrorCode, Invalid};
use serde::Serialize;

use crate::graphql::context::{Caller, actor, author, state};
use crate::graphql::customers::contact::{CONTACT, Contact};
use crate::graphql::customers::customer::{CUSTOMER, Customer};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::loaders::{ContactKey, CustomerKey, Loaders, UserKey};
use crate::graphql::mutation::{Idempotent, transact_noting, write, write_noting};
use crate::graphql::platform::org::{USER, User};
use crate::graphql::relay::{expect_id, global_id, input_id};

pub const EVENT: &str = guanxi_domain::entity::EntityKind::Event.name();
/// How far ahead a new event's occurrences are checked for double-booking.
const CONFLICT_HORIZON_DAYS: i64 = 180;
/// The widest window `calendar` answers.
const MAX_WINDOW_DAYS: i64 = 92;

fn loaders<'a>(ctx: &Context<'a>) -> Result<&'a Loaders, ApiError> {
    ctx.data_opt::<Loaders>().ok_or_else(|| ApiError::Unauthenticated("log in first".into()))
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
pub enum EventKind {
    /// 拜访
    Visit,
    /// 电话
    Call,
    /// 会议
    Meeting,
    /// 待办
    Todo,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
pub enum EventStatus {
    Planned,
    Done,
    Cancelled,
}

fn kind_to(k: EventKind) -> DomainKind {
    match k {
        EventKind::Visit => DomainKind::Visit,
        EventKind::Call => DomainKind::Call,
        EventKind::Meeting => DomainKind::Meeting,
        EventKind::Todo => DomainKind::Todo,
    }
}

fn kind_from(k: DomainKind) -> EventKind {
    match k {
        DomainKind::Visit => EventKind::Visit,
        DomainKind::Call => EventKind::Call,
        DomainKind::Meeting => EventKind::Meeting,
        DomainKind::Todo => EventKind::Todo,
    }
}

fn status_to(s: EventStatus) -> DomainStatus {
    match s {
        EventStatus::Planned => DomainStatus::Planned,
        EventStatus::Done => DomainStatus::Done,
        EventStatus::Cancelled => DomainStatus::Cancelled,
    }
}

fn status_from(s: DomainStatus) -> EventStatus {
    match s {
        DomainStatus::Planned => EventStatus::Planned,
        DomainStatus::Done => EventStatus::Done,
        DomainStatus::Cancelled => EventStatus::Cancelled,
    }
}

/// A calendar event (日程).
pub struct Event(pub DomainEvent);

#[Object]
impl Event {
    pub async fn id(&self) -> ID {
        global_id(EVENT, self.0.id.uuid())
    }
    async fn kind(&self) -> EventKind {
        kind_from(self.0.kind)
    }
    async fn title(&self) -> &str {
        &self.0.title
    }
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The first occurrence.
    async fn starts_at(&self) -> DateTime<Utc> {
        self.0.schedule.starts_at
    }
    async fn ends_at(&self) -> DateTime<Utc> {
        self.0.schedule.ends_at
    }
    async fn all_day(&self) -> bool {
        self.0.schedule.all_day
    }
    async fn time_zone(&self) -> &str {
        &self.0.schedule.time_zone
    }
    /// RFC 5545 RRULE value, e.g. `FREQ=WEEKLY;BYDAY=MO;COUNT=10`.
    async fn recurrence(&self) -> Option<&str> {
        self.0.schedule.recurrence.as_deref()
    }
    async fn status(&self) -> EventStatus {
        status_from(self.0.status)
    }
    async fn completion_notes(&self) -> Option<&str> {
        self.0.completion_notes.as_deref()
    }
    async fn reminder_minutes_before(&self) -> &[i32] {
        &self.0.reminder_minutes
    }
    /// The people on the event the caller may see.
    async fn assignees(&self, ctx: &Context<'_>) -> ApiResult<Vec<User>> {
        let keys: Vec<UserKey> = self.0.assignees.iter().map(|u| UserKey(u.uuid())).collect();
        let mut found = loaders(ctx)?.load_many(keys.clone()).await?;
        Ok(keys.iter().filter_map(|k| found.remove(k)).map(User).collect())
    }
    async fn owner(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        Ok(loaders(ctx)?.load_one(UserKey(self.0.owner_id.uuid())).await?.map(User))
    }
    async fn customer(&self, ctx: &Context<'_>) -> ApiResult<Option<Customer>> {
        let Some(customer) = self.0.customer_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(CustomerKey(customer.uuid())).await?.map(Customer))
    }
    async fn contact(&self, ctx: &Context<'_>) -> ApiResult<Option<Contact>> {
        let Some(contact) = self.0.contact_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(ContactKey(contact.uuid())).await?.map(Contact))
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
}

/// One occurrence of an event in a window.
#[derive(SimpleObject)]
pub struct Occurrence {
    event: Event,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
}

/// A clash: an assignee is already busy in this interval.
#[derive(SimpleObject, Clone)]
pub struct Clash {
    user_id: ID,
    /// The event that clashes; null when the caller may not see it.
    event_id: Option<ID>,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
}

#[derive(SimpleObject)]
pub struct EventPayload {
    event: Option<Event>,
    /// Double-bookings found (saved anyway under WARN, refused under BLOCK).
    conflicts: Vec<Clash>,
    user_errors: Vec<UserError>,
}

impl From<crate::graphql::error::Outcome<DomainEvent>> for EventPayload {
    fn from(outcome: crate::graphql::error::Outcome<DomainEvent>) -> Self {
        match outcome {
            Ok(e) => Self { event: Some(Event(e)), conflicts: vec![], user_errors: vec![] },
            Err(user_errors) => Self { event: None, conflicts: vec![], user_errors },
        }
    }
}

impl crate::graphql::error::Written for EventPayload {
    type Record = Event;
    fn into_parts(self) -> (Option<Event>, Vec<UserError>) {
        (self.event, self.user_errors)
    }
}

#[derive(InputObject, Serialize)]
pub struct CreateEventInput {
    pub kind: EventKind,
    pub title: String,
    pub description: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    #[graphql(default)]
    pub all_day: bool,
    #[graphql(default = "Asia/Shanghai")]
    pub time_zone: String,
    /// RRULE value, e.g. `FREQ=WEEKLY;BYDAY=MO;COUNT=10`.
    pub recurrence: Option<String>,
    /// Default: the caller.
    pub assignee_ids: Option<Vec<ID>>,
    pub customer_id: Option<ID>,
    pub contact_id: Option<ID>,
    #[graphql(default)]
    pub reminder_minutes_before: Vec<i32>,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateEventInput {
    pub id: ID,
    pub expected_version: i32,
    pub title: Option<String>,
    pub description: MaybeUndefined<String>,
    /// Moving an event re-runs the double-booking check.
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub recurrence: MaybeUndefined<String>,
    pub assignee_ids: Option<Vec<ID>>,
    pub status: Option<EventStatus>,
    pub completion_notes: MaybeUndefined<String>,
    pub reminder_minutes_before: Option<Vec<i32>>,
}

/// An event marked done, with what came of it: a to-do an app completes offline.
#[derive(InputObject, Serialize)]
pub struct CompleteEventInput {
    pub id: ID,
    /// The version the caller saw; someone else's change since is `VERSION_CONFLICT`.
    pub expected_version: i32,
    /// What came of it; leaving it out keeps the notes the event has.
    pub completion_notes: Option<String>,
    /// A retry with the same key (after a lost answer) returns the event as it is now
    /// instead of `VERSION_CONFLICT`.
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

fn ids(field: &str, list: &[ID], kind: &str, invalid: &mut Vec<UserError>) -> Vec<uuid::Uuid> {
    list.iter().filter_map(|id| input_id(field, id, kind).map_err(|e| invalid.push(e)).ok()).collect()
}

/// The clashes of `fields` with other events of its assignees (excluding `this`).
/// One assignee's double-booking: the other event and its occurrence.
type Booking = (UserId, guanxi_domain::ids::EventId, DateTime<Utc>, DateTime<Utc>);

/// Checks an event's schedule against its assignees' other events: the clashes go to
/// `found` (the payload reports them either way), and under the tenant's BLOCK policy
/// any clash refuses the write on `field`.
async fn booked<C: guanxi_store::ConnectionTrait>(
    conn: &C,
    actor: &guanxi_domain::platform::access::Actor,
    (fields, this): (&EventFields, Option<uuid::Uuid>),
    field: &str,
    found: &mut Vec<Booking>,
) -> Result<(), guanxi_store::StoreError> {
    *found = clashes(conn, actor, fields, this).await?;
    let policy = guanxi_store::platform::tenant::settings(conn, actor.tenant_id).await?.calendar_conflict_policy;
    if !found.is_empty() && policy == ConflictPolicy::Block {
        return Err(Invalid::one(field, ErrorCode::Conflict, "an assignee is already booked then").into());
    }
    Ok(())
}

async fn clashes<C: guanxi_store::ConnectionTrait>(
    conn: &C,
    actor: &guanxi_domain::platform::access::Actor,
    fields: &EventFields,
    this: Option<uuid::Uuid>,
) -> Result<Vec<Booking>, guanxi_store::StoreError> {
    if fields.status == DomainStatus::Cancelled {
        return Ok(Vec::new());
    }
    let from = fields.schedule.starts_at;
    let to = fields
        .schedule
        .last_end()
        .unwrap_or(from + Duration::days(CONFLICT_HORIZON_DAYS))
        .min(from + Duration::days(CONFLICT_HORIZON_DAYS));
    let mine = fields.schedule.occurrences(from, to + Duration::seconds(1));
    let users: Vec<uuid::Uuid> = fields.assignees.iter().map(|u| u.uuid()).collect();
    let others = guanxi_store::activity::calendar::in_window(conn, actor.tenant_id, &users, from, to).await?;
    let mut found = Vec::new();
    for other in others.iter().filter(|o| Some(o.id.uuid()) != this) {
        let theirs = other.schedule.occurrences(from, to);
        let shared: Vec<UserId> = other.assignees.iter().filter(|u| fields.assignees.contains(u)).copied().collect();
        for occurrence in &theirs {
            if mine.iter().any(|m| overlaps(*m, *occurrence)) {
                for user in &shared {
                    found.push((*user, other.id, occurrence.0, occurrence.1));
                }
            }
        }
        if found.len() > 100 {
            break;
        }
    }
    Ok(found)
}

#[derive(Default)]
pub struct CalendarQuery;

#[Object]
impl CalendarQuery {
    async fn event(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Event> {
        let actor = actor(ctx)?;
        let id = expect_id(&id, EVENT)?;
        let found = guanxi_store::activity::calendar::find(
            state(ctx).db.connection(),
            actor.tenant_id,
            actor.scope_rule(Module::Task),
            id,
        )
        .await?;
        found.map(Event).ok_or(ApiError::NotFound)
    }

    /// The occurrences of the given users' events in `[from, to)` (at most 92 days), for the
    /// users the caller may see under their `TASK` scope (default: the caller).
    async fn calendar(
        &self,
        ctx: &Context<'_>,
        user_ids: Option<Vec<ID>>,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> ApiResult<Vec<Occurrence>> {
        let actor = actor(ctx)?;
        if to <= from || to - from > Duration::days(MAX_WINDOW_DAYS) {
            return Err(ApiError::BadUserInput(format!("a window of up to {MAX_WINDOW_DAYS} days, `to` after `from`")));
        }
        let requested: Vec<uuid::Uuid> = match &user_ids {
            None => vec![actor.user_id.uuid()],
            Some(list) => list.iter().map(|id| expect_id(id, USER)).collect::<Result<_, _>>()?,
        };
        let conn = state(ctx).db.connection();
        let visible: Vec<uuid::Uuid> =
            guanxi_store::platform::user::by_ids(conn, actor.tenant_id, actor.scope_rule(Module::Task), &requested)
                .await?
                .into_iter()
                .map(|u| u.id.uuid())
                .collect();
        if visible.is_empty() {
            return Ok(Vec::new());
        }
        let events = guanxi_store::activity::calendar::in_window(conn, actor.tenant_id, &visible, from, to).await?;
        let mut out: Vec<Occurrence> = Vec::new();
        for event in events {
            for (starts_at, ends_at) in event.schedule.occurrences(from, to) {
                out.push(Occurrence { event: Event(event.clone()), starts_at, ends_at });
            }
        }
        out.sort_by_key(|o| o.starts_at);
        Ok(out)
    }

    /// What the caller should do today: follow-ups due, overdue follow-ups, today's events.
    async fn my_todos(&self, ctx: &Context<'_>) -> ApiResult<Todos> {
        let actor = actor(ctx)?;
        let conn = state(ctx).db.connection();
        let now = Utc::now();
        let today = guanxi_domain::customers::customer::shanghai_date(now);
        let start = today.and_hms_opt(0, 0, 0).map(|t| t.and_utc() - Duration::hours(8)).unwrap_or(now);
        let end = start + Duration::days(1);
        let mine = guanxi_domain::platform::access::CustomerRule::owned(
            guanxi_domain::platform::access::ScopeRule::OwnedBy(actor.user_id),
        );
        let due = |lt: DateTime<Utc>, gte: Option<DateTime<Utc>>| {
            guanxi_store::customers::customer_search::CustomerFilter {
                custom_fields: vec![],
                ..guanxi_store::customers::customer_search::CustomerFilter::default()
            }
            .with_follow_up(gte, lt)
        };
        let request = guanxi_store::page::PageRequest::first(100);
        let sort =
            (guanxi_store::customers::customer_search::CustomerSort::UpdatedAt, guanxi_store::page::Direction::Desc);
        let due_today = guanxi_store::customers::customer_search::list(
            conn,
            actor.tenant_id,
            mine,
            &due(end, Some(start)),
            sort,
            &request,
        )
        .await?;
        let overdue = guanxi_store::customers::customer_search::list(
            conn,
            actor.tenant_id,
            mine,
            &due(start, None),
            sort,
            &request,
        )
        .await?;
        let events =
            guanxi_store::activity::calendar::in_window(conn, actor.tenant_id, &[actor.user_id.uuid()], start, end)
                .await?;
        let mut events_today: Vec<Occurrence> = Vec::new();
        for event in events {
            for (starts_at, ends_at) in event.schedule.occurrences(start, end) {
                events_today.push(Occurrence { event: Event(event.clone()), starts_at, ends_at });
            }
        }
        events_today.sort_by_key(|o| o.starts_at);
        Ok(Todos {
            follow_ups_due_today: due_today.items.into_iter().map(|(_, c)| Customer(c)).collect(),
            overdue_follow_ups: overdue.items.into_iter().map(|(_, c)| Customer(c)).collect(),
            events_today,
        })
    }

    /// The caller's reminders, newest first.
    async fn my_reminders(&self, ctx: &Context<'_>, #[graphql(default = 50)] first: i32) -> ApiResult<Vec<Reminder>> {
        let actor = actor(ctx)?;
        let conn = state(ctx).db.connection();
        reminders_for(conn, actor.tenant_id, actor.user_id, None, first.clamp(1, 200) as u64).await
    }
}

async fn reminders_for<C: guanxi_store::ConnectionTrait>(
    conn: &C,
    tenant: guanxi_domain::ids::TenantId,
    user: UserId,
    since: Option<DateTime<Utc>>,
    limit: u64,
) -> ApiResult<Vec<Reminder>> {
    let rows = guanxi_store::activity::calendar::reminders_of(conn, tenant, user, since, limit).await?;
    let event_ids: Vec<uuid::Uuid> = rows.iter().map(|r| r.event_id).collect::<HashSet<_>>().into_iter().collect();
    let events = guanxi_store::activity::calendar::by_ids_unscoped(conn, tenant, &event_ids).await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let event = events.iter().find(|e| e.id.uuid() == r.event_id)?.clone();
            Some(Reminder {
                id: ID(r.id.to_string()),
                event: Event(event),
                occurrence_at: r.occurrence_at,
                remind_at: r.remind_at,
                created_at: r.created_at,
            })
        })
        .collect())
}

/// Today's work for the caller (代办事项).
#[derive(SimpleObject)]
#[graphql(complex)]
pub struct Todos {
    /// Customers whose next follow-up is today.
    follow_ups_due_today: Vec<Customer>,
    /// Customers whose next follow-up has passed.
    overdue_follow_ups: Vec<Customer>,
    events_today: Vec<Occurrence>,
}

/// The money side of the to-do list, each read only when asked for.
#[async_graphql::ComplexObject]
impl Todos {
    /// Approvals waiting on the caller, newest first (at most 20; `myApprovals` pages).
    async fn approvals_waiting(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::finance::approval::ApprovalTask>> {
        let actor = actor(ctx)?;
        let tasks = guanxi_store::finance::approval::tasks_of(
            state(ctx).db.connection(),
            actor.tenant_id,
            actor.user_id,
            (true, None),
            (None, 20),
        )
        .await?;
        Ok(tasks.into_iter().map(crate::graphql::finance::approval::ApprovalTask).collect())
    }

    /// Installments of the caller's contracts still owed and due within the tenant's
    /// reminder lead, overdue ones first (at most 20).
    async fn installments_due(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::finance::receivable::OwedInstallment>> {
        crate::graphql::finance::receivable::my_installments_due(ctx, 20).await
    }

    /// The caller's contracts in force that end within the tenant's expiry lead (at most 20).
    async fn contracts_expiring(
        &self,
        ctx: &Context<'_>,
    ) -> ApiResult<Vec<crate::graphql::finance::contract::Contract>> {
        crate::graphql::finance::contract::my_contracts_expiring(ctx, 20).await
    }

    /// The caller's own contacts whose birthday falls within the tenant's reminder lead
    /// (生日提醒, `birthdayRemindDays`), soonest first (at most 20).
    async fn birthdays(&self, ctx: &Context<'_>) -> ApiResult<Vec<UpcomingBirthday>> {
        let actor = actor(ctx)?;
        if !actor.may(guanxi_domain::platform::access::Permission::ContactRead) {
            return Ok(vec![]);
        }
        let conn = state(ctx).db.connection();
        let lead = guanxi_store::platform::tenant::settings(conn, actor.tenant_id).await?.birthday_remind_days;
        let today = guanxi_domain::customers::customer::shanghai_date(Utc::now());
        let scope = crate::graphql::loaders::contact_scope(actor);
        let found = guanxi_store::customers::contact::birthdays_of(
            conn,
            actor.tenant_id,
            scope,
            actor.user_id,
            (today, lead),
            20,
        )
        .await?;
        Ok(found
            .into_iter()
            .map(|(contact, on)| UpcomingBirthday {
                contact: Contact(contact),
                on,
                days_away: i32::try_from((on - today).num_days()).unwrap_or(0),
            })
            .collect())
    }
}

/// A contact's coming birthday.
#[derive(SimpleObject)]
pub struct UpcomingBirthday {
    contact: Contact,
    /// This year's (or next year's) birthday.
    on: chrono::NaiveDate,
    /// 0 is today.
    days_away: i32,
}

/// A reminder of an event occurrence.
#[derive(SimpleObject)]
pub struct Reminder {
    id: ID,
    event: Event,
    occurrence_at: DateTime<Utc>,
    remind_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
}

fn to_clashes(
    actor: &guanxi_domain::platform::access::Actor,
    visible: &HashSet<uuid::Uuid>,
    found: Vec<Booking>,
) -> Vec<Clash> {
    let _ = actor;
    found
        .into_iter()
        .map(|(user, event, starts_at, ends_at)| Clash {
            user_id: global_id(USER, user.uuid()),
            event_id: visible.contains(&event.uuid()).then(|| global_id(EVENT, event.uuid())),
            starts_at,
            ends_at,
        })
        .collect()
}

/// The `reload` of an idempotent event write: the event through the caller's TASK scope.
fn reload_event(
    tenant: guanxi_domain::ids::TenantId,
    rule: guanxi_domain::platform::access::ScopeRule,
) -> impl for<'t> FnOnce(
    &'t guanxi_store::DatabaseTransaction,
    uuid::Uuid,
) -> futures::future::BoxFuture<'t, guanxi_store::StoreResult<DomainEvent>> {
    move |tx, id| {
        Box::pin(async move {
            guanxi_store::activity::calendar::find(tx, tenant, rule, id)
                .await?
                .ok_or(guanxi_store::StoreError::NotFound)
        })
    }
}

#[derive(Default)]
pub struct CalendarMutation;

#[Object]
impl CalendarMutation {
    /// Creates an event. A double-booked assignee is reported in `conflicts`; under the
    /// tenant's BLOCK policy the event is refused.
    async fn create_event(&self, ctx: &Context<'_>, input: CreateEventInput) -> ApiResult<EventPayload> {
        let actor = actor(ctx)?.clone();
        let mut problems = Vec::new();
        let assignees: Vec<UserId> = match &input.assignee_ids {
            None => vec![actor.user_id],
            Some(list) => ids("assigneeIds", list, USER, &mut problems).into_iter().map(UserId::from_uuid).collect(),
        };
        let customer = input
            .customer_id
            .as_ref()
            .and_then(|c| input_id("customerId", c, CUSTOMER).map_err(|e| problems.push(e)).ok());
        let contact = input
            .contact_id
            .as_ref()
            .and_then(|c| input_id("contactId", c, CONTACT).map_err(|e| problems.push(e)).ok());
        let fields = EventFields {
            kind: kind_to(input.kind),
            title: input.title.clone(),
            description: input.description.clone().filter(|d| !d.trim().is_empty()),
            schedule: Schedule {
                starts_at: input.starts_at,
                ends_at: input.ends_at,
                all_day: input.all_day,
                time_zone: input.time_zone.clone(),
                recurrence: input.recurrence.clone().filter(|r| !r.trim().is_empty()),
            },
            assignees,
            customer_id: customer.map(CustomerId::from_uuid),
            contact_id: contact.map(ContactId::from_uuid),
            status: DomainStatus::Planned,
            completion_notes: None,
            reminder_minutes: input.reminder_minutes_before.clone(),
        };
        if let Err(e) = fields.check() {
            problems.extend(UserError::all(e));
        }
        if !problems.is_empty() {
            return Ok(EventPayload { event: None, conflicts: vec![], user_errors: problems });
        }
        let author = author(ctx, &actor);
        let tenant = actor.tenant_id;
        let rule = actor.scope_rule(Module::Task);
        let creator = actor.clone();
        let idempotent = Idempotent::new(&actor, "createEvent", input.idempotency_key.as_deref(), &input);
        let (result, found) = write_noting(
            ctx,
            idempotent,
            move |tx, found: &mut Vec<_>| {
                Box::pin(async move {
                    booked(tx, &creator, (&fields, None), "assigneeIds", found).await?;
                    let event = guanxi_store::activity::calendar::create(tx, &author, creator.user_id, fields).await?;
                    Ok((event.id.uuid(), event))
                })
            },
            reload_event(tenant, rule),
        )
        .await?;
        let visible = visible_events(ctx, &actor, &found).await?;
        let conflicts = to_clashes(&actor, &visible, found);
        Ok(match result {
            Ok(e) => EventPayload { event: Some(Event(e)), conflicts, user_errors: vec![] },
            Err(errors) => EventPayload { event: None, conflicts, user_errors: errors },
        })
    }

    /// Marks a to-do, call, visit or meeting done (`DONE`), with its completion notes. A
    /// cancelled event cannot be completed (`ILLEGAL_STATE`); completing a done event again
    /// changes nothing.
    pub(crate) async fn complete_event(&self, ctx: &Context<'_>, input: CompleteEventInput) -> ApiResult<EventPayload> {
        let actor = actor(ctx)?.clone();
        let id = match input_id("id", &input.id, EVENT) {
            Ok(id) => id,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let author = author(ctx, &actor);
        let rule = actor.scope_rule(Module::Task);
        let tenant = actor.tenant_id;
        let idempotent = Idempotent::new(&actor, "completeEvent", input.idempotency_key.as_deref(), &input);
        let (expected, notes) = (input.expected_version, input.completion_notes);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let done = guanxi_store::activity::calendar::update(tx, &author, rule, id, expected, |current| {
                        if current.status == DomainStatus::Cancelled {
                            return Err(Invalid::one("id", ErrorCode::IllegalState, "the event was cancelled"));
                        }
                        let mut fields = current.fields();
                        fields.status = DomainStatus::Done;
                        fields.completion_notes = notes.or(fields.completion_notes);
                        Ok(fields)
                    })
                    .await?;
                    Ok((id, done))
                })
            },
            reload_event(tenant, rule),
        )
        .await?;
        Ok(result.into())
    }

    /// Changes, moves, completes or cancels an event; moving re-runs the double-booking check.
    async fn update_event(&self, ctx: &Context<'_>, input: UpdateEventInput) -> ApiResult<EventPayload> {
        let actor = actor(ctx)?.clone();
        let mut problems = Vec::new();
        let id = input_id("id", &input.id, EVENT).map_err(|e| problems.push(e)).ok();
        let assignees: Option<Vec<UserId>> = input
            .assignee_ids
            .as_ref()
            .map(|list| ids("assigneeIds", list, USER, &mut problems).into_iter().map(UserId::from_uuid).collect());
        let Some(id) = id.filter(|_| problems.is_empty()) else {
            return Ok(EventPayload { event: None, conflicts: vec![], user_errors: problems });
        };
        let author = author(ctx, &actor);
        let rule = actor.scope_rule(Module::Task);
        let editor = actor.clone();
        let (result, found) = transact_noting(ctx, move |tx, found: &mut Vec<_>| {
            Box::pin(async move {
                let mut new_fields = None;
                let updated = guanxi_store::activity::calendar::update(
                    tx,
                    &author,
                    rule,
                    id,
                    input.expected_version,
                    |current| {
                        let mut fields = current.fields();
                        if let Some(s) = input.starts_at {
                            fields.schedule.starts_at = s;
                        }
                        if let Some(e) = input.ends_at {
                            fields.schedule.ends_at = e;
                        }
                        match &input.recurrence {
                            MaybeUndefined::Undefined => {}
                            MaybeUndefined::Null => fields.schedule.recurrence = None,
                            MaybeUndefined::Value(r) => {
                                fields.schedule.recurrence = Some(r.clone()).filter(|r| !r.trim().is_empty())
                            }
                        }
                        if let Some(title) = &input.title {
                            fields.title = title.clone();
                        }
                        if let Some(assignees) = &assignees {
                            fields.assignees = assignees.clone();
                        }
                        if let Some(status) = input.status {
                            fields.status = status_to(status);
                        }
                        if let Some(minutes) = &input.reminder_minutes_before {
                            fields.reminder_minutes = minutes.clone();
                        }
                        match &input.description {
                            MaybeUndefined::Undefined => {}
                            MaybeUndefined::Null => fields.description = None,
                            MaybeUndefined::Value(d) => fields.description = Some(d.clone()),
                        }
                        match &input.completion_notes {
                            MaybeUndefined::Undefined => {}
                            MaybeUndefined::Null => fields.completion_notes = None,
                            MaybeUndefined::Value(n) => fields.completion_notes = Some(n.clone()),
                        }
                        new_fields = Some(fields.clone());
                        Ok(fields)
                    },
                )
                .await?;
                if let Some(fields) = new_fields {
                    booked(tx, &editor, (&fields, Some(id)), "startsAt", found).await?;
                }
                Ok(updated)
            })
        })
        .await?;
        let visible = visible_events(ctx, &actor, &found).await?;
        let conflicts = to_clashes(&actor, &visible, found);
        Ok(match result {
            Ok(e) => EventPayload { event: Some(Event(e)), conflicts, user_errors: vec![] },
            Err(errors) => EventPayload { event: None, conflicts, user_errors: errors },
        })
    }
}

/// Which of the clashing events the actor may see.
async fn visible_events(
    ctx: &Context<'_>,
    actor: &guanxi_domain::platform::access::Actor,
    found: &[Booking],
) -> ApiResult<HashSet<uuid::Uuid>> {
    let ids: Vec<uuid::Uuid> = found.iter().map(|f| f.1.uuid()).collect::<HashSet<_>>().into_iter().collect();
    if ids.is_empty() {
        return Ok(HashSet::new());
    }
    let conn = state(ctx).db.connection();
    let visible =
        guanxi_store::activity::calendar::visible_ids(conn, actor.tenant_id, actor.scope_rule(Module::Task), &ids)
            .await?;
    Ok(visible.into_iter().collect())
}

#[derive(Default)]
pub struct CalendarSubscription;

#[Subscription]
impl CalendarSubscription {
    /// The caller's reminders as they fall due.
    async fn reminder_due(&self, ctx: &Context<'_>) -> Result<impl Stream<Item = Reminder>, ApiError> {
        let actor = actor(ctx)?.clone();
        if ctx.data_opt::<Caller>().and_then(|c| c.credential.clone()).is_none() {
            return Err(ApiError::Unauthenticated("log in first".into()));
        }
        let app = state(ctx).clone();
        let poll = std::time::Duration::from_millis(app.config.subscription_poll_ms.max(50));
        let start = Utc::now();
        Ok(futures::stream::unfold((start, Vec::<Reminder>::new()), move |(mut since, mut pending)| {
            let app = app.clone();
            let actor = actor.clone();
            async move {
                loop {
                    if let Some(next) = pending.pop() {
                        return Some((next, (since, pending)));
                    }
                    tokio::time::sleep(poll).await;
                    let found = reminders_for(app.db.connection(), actor.tenant_id, actor.user_id, Some(since), 100)
                        .await
                        .ok()?;
                    if let Some(newest) = found.first() {
                        since = newest.created_at;
                    }
                    pending = found;
                }
            }
        }))
    }
}
