//! What every kind's bulk upsert shares: reading the records a call's keys name through
//! the caller's scope, deciding what each row's key names, and writing a call's changed
//! records in one versioned multi-row statement.

use std::collections::{HashMap, HashSet};

use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::TenantId;
use guanxi_domain::platform::upsert::{self, Mode, Outcome, RowResult};
use guanxi_domain::{ErrorCode, Invalid};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, OnConflict};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, Iterable, QueryFilter};
use uuid::Uuid;

use crate::error::{StoreError, StoreResult};
use crate::platform::external_key;
use crate::repo::Scoped;

/// The records a call's keys name: the keys stored for `source` (one statement), and
/// the records among them the caller's scope shows, deleted ones included (one more).
pub struct Staged<M> {
    pub stored: HashMap<String, Uuid>,
    pub current: HashMap<Uuid, M>,
}

impl<M> Staged<M> {
    /// What row `key` names: nothing yet (a create), a live record the caller may write,
    /// or a refusal — a key repeated from an earlier row, a record outside the caller's
    /// scope (its id is not given away), or one in the recycle bin.
    fn named(
        &self,
        key: &str,
        repeat: Option<usize>,
        deleted: impl Fn(&M) -> bool,
        label: &str,
    ) -> Result<Option<&M>, Invalid> {
        if let Some(first) = repeat {
            return Err(upsert::repeated(first));
        }
        let Some(id) = self.stored.get(key) else { return Ok(None) };
        match self.current.get(id) {
            None => Err(Invalid::one(
                "externalId",
                ErrorCode::Forbidden,
                format!("this externalId names a {label} outside your data scope"),
            )),
            Some(m) if deleted(m) => Err(Invalid::one(
                "externalId",
                ErrorCode::IllegalState,
                format!("this externalId names a {label} in the recycle bin; restore it first"),
            )),
            Some(m) => Ok(Some(m)),
        }
    }
}

impl<M> Staged<M> {
    /// [`Staged::named`], with the record read into what the kind's upsert works on.
    pub fn read<T>(
        &self,
        (key, repeat): (&str, Option<usize>),
        (deleted, label): (impl Fn(&M) -> bool, &str),
        decode: impl FnOnce(&M) -> StoreResult<T>,
    ) -> StoreResult<Result<Option<T>, Invalid>> {
        Ok(match self.named(key, repeat, deleted, label) {
            Ok(Some(m)) => Ok(Some(decode(m)?)),
            Ok(None) => Ok(None),
            Err(invalid) => Err(invalid),
        })
    }
}

/// A row's stored record (if its key names one) with what the row says, or why the row
/// is refused.
pub type Paired<T, P> = Result<(Option<T>, P), Invalid>;

impl<M> Staged<M> {
    /// Each row's stored record as its key names it (`decode`d; never in the recycle
    /// bin, for kinds without one) with what the row says, or why the row is refused.
    pub fn pair<T, P>(
        &self,
        rows: impl IntoIterator<Item = (String, Result<P, Invalid>)>,
        label: &str,
        decode: impl Fn(&M) -> StoreResult<T>,
    ) -> StoreResult<Vec<Paired<T, P>>> {
        let rows: Vec<(String, Result<P, Invalid>)> = rows.into_iter().collect();
        let repeats = upsert::repeats(&rows.iter().map(|(key, _)| key.as_str()).collect::<Vec<_>>());
        let mut paired = Vec::with_capacity(rows.len());
        for ((key, patch), repeat) in rows.into_iter().zip(repeats) {
            let stored = self.read((&key, repeat), (|_| false, label), &decode)?;
            paired.push(stored.and_then(|stored| Ok((stored, patch?))));
        }
        Ok(paired)
    }
}

/// A row's plan, or, when its own checks refused it, `None` with its failure answered in
/// `results`.
pub fn admit<T>(results: &mut Vec<RowResult>, key: &str, plan: Result<T, Invalid>) -> Option<T> {
    match plan {
        Ok(plan) => Some(plan),
        Err(invalid) => {
            results.push(RowResult::failed(key.to_owned(), invalid));
            None
        }
    }
}

/// A row's outcome and record id: a stored record it changes or leaves as it is, or a
/// new record (a fresh UUIDv7).
pub fn outcome(stored: Option<Uuid>, changed: bool) -> (Outcome, Uuid) {
    match stored {
        Some(id) if !changed => (Outcome::Unchanged, id),
        Some(id) => (Outcome::Updated, id),
        None => (Outcome::Created, Uuid::now_v7()),
    }
}

/// What the kit needs of a row's plan in a document kind's upsert (orders, contracts).
pub trait RowPlan {
    /// The stored record the row names, if any.
    fn stored_id(&self) -> Option<Uuid>;
    /// Whether the row changes anything.
    fn changed(&self) -> bool;
    /// Places the plan at its row, with the id of the record it writes.
    fn place(&mut self, row: usize, id: Uuid);
    /// The row it was placed at.
    fn row(&self) -> usize;
}

/// Answers each row from its plan, in order: a refused plan fails the row, and an
/// unchanged record is answered and dropped. The rest come back placed at their rows with
/// their records' ids (a new record's fresh), for the checks against the tenant and the
/// write.
pub fn answer<P: RowPlan>(
    keys: Vec<String>,
    plans: impl IntoIterator<Item = Result<P, Invalid>>,
) -> (Vec<RowResult>, Vec<P>) {
    let mut results: Vec<RowResult> = Vec::with_capacity(keys.len());
    let mut planned = Vec::new();
    for (index, (key, plan)) in keys.into_iter().zip(plans).enumerate() {
        let Some(mut p) = admit(&mut results, &key, plan) else { continue };
        let (outcome, id) = outcome(p.stored_id(), p.changed());
        results.push(RowResult::done(key, outcome, id));
        if outcome != Outcome::Unchanged {
            p.place(index, id);
            planned.push(p);
        }
    }
    (results, planned)
}

/// Ends a call's checks: the refused rows fail and `ALL_OR_NOTHING` settles the call.
/// Returns the failed rows when anything is left to write, `None` when nothing is.
pub fn conclude(mode: Mode, results: &mut [RowResult], refused: Vec<(usize, Invalid)>) -> Option<HashSet<usize>> {
    let failed = refuse(results, refused);
    upsert::settle(mode, results).then_some(failed)
}

/// Each row's plan (`plan` over its stored record and what it says), answered in order
/// and concluded: the results, and the plans left to write (`None` when nothing is).
pub fn plan_rows<T, P, Q: RowPlan>(
    mode: Mode,
    keys: Vec<String>,
    paired: Vec<Paired<T, P>>,
    mut plan: impl FnMut(Option<T>, P) -> Result<Q, Invalid>,
) -> (Vec<RowResult>, Option<Vec<Q>>) {
    let plans = paired.into_iter().map(|row| row.and_then(|(stored, patch)| plan(stored, patch)));
    let (mut results, planned) = answer(keys, plans);
    let planned = to_write(mode, &mut results, vec![], planned);
    (results, planned)
}

/// [`conclude`] over a call's placed plans: the ones left to write, the failed rows'
/// dropped, or `None` when nothing is.
pub fn to_write<P: RowPlan>(
    mode: Mode,
    results: &mut [RowResult],
    refused: Vec<(usize, Invalid)>,
    mut planned: Vec<P>,
) -> Option<Vec<P>> {
    let failed = conclude(mode, results, refused)?;
    planned.retain(|p| !failed.contains(&p.row()));
    Some(planned)
}

/// A new link a row gives its record in a tree: a customer's parent, a contact's manager.
pub struct Link {
    pub row: usize,
    pub id: Uuid,
    pub to: Uuid,
    /// The record is stored (a new record cannot close a loop by its own link).
    pub stored: bool,
}

/// The rows whose new link is refused: `missing` when the record linked to is not one
/// `valid` admits, `cycle` when a stored record's link closes a loop (see `closes_loop`).
pub async fn check_links<F, Fut>(
    links: Vec<Link>,
    valid: impl Fn(&Link) -> bool,
    (pending, stored): (&HashMap<Uuid, Option<Uuid>>, F),
    (missing, cycle): (Invalid, Invalid),
) -> StoreResult<Vec<(usize, Invalid)>>
where
    F: Fn(Uuid) -> Fut,
    Fut: std::future::Future<Output = StoreResult<Option<Uuid>>>,
{
    let mut refused = Vec::new();
    for link in links {
        if !valid(&link) {
            refused.push((link.row, missing.clone()));
        } else if link.stored && closes_loop(link.id, link.to, pending, &stored).await? {
            refused.push((link.row, cycle.clone()));
        }
    }
    Ok(refused)
}

/// On PostgreSQL, has the call's transaction plan every statement for its own values
/// (`SET LOCAL plan_cache_mode = force_custom_plan`). A call's statements carry up to
/// 1,000 parameters in `IN` lists; after a few calls PostgreSQL switches a prepared
/// statement to its generic plan, which filters a table's rows against the parameters one
/// by one instead of probing the index for each (the key lookup: 0.73 s against 7 ms for
/// 1,000 keys among 20,000). Planning a statement costs a millisecond or two.
pub async fn plan_for_values<C: ConnectionTrait>(conn: &C) -> StoreResult<()> {
    if conn.get_database_backend() == sea_orm::DbBackend::Postgres {
        conn.execute_unprepared("SET LOCAL plan_cache_mode = force_custom_plan").await?;
    }
    Ok(())
}

/// [`stage`] and [`Staged::pair`] at once: the call's keys, and each row paired with the
/// stored record its key names (`decode`d), or why it is refused.
pub async fn stage_rows<R, C, T, P>(
    conn: &C,
    (tenant, scope): (TenantId, R::Scope),
    (kind, source, label): (EntityKind, &str, &str),
    rows: Vec<(String, Result<P, Invalid>)>,
    (id_of, decode): (IdOf<R>, impl Fn(&<R::Entity as EntityTrait>::Model) -> StoreResult<T>),
) -> StoreResult<(Vec<String>, Vec<Paired<T, P>>)>
where
    R: Scoped,
    C: ConnectionTrait,
{
    let keys: Vec<String> = rows.iter().map(|(key, _)| key.clone()).collect();
    let staged = stage::<R, C>(conn, tenant, scope, (kind, source), &keys, id_of).await?;
    let paired = staged.pair(rows, label, decode)?;
    Ok((keys, paired))
}

/// How a kind reads a record's id off its row.
pub type IdOf<R> = fn(&<<R as Scoped>::Entity as EntityTrait>::Model) -> Uuid;

pub async fn stage<R, C>(
    conn: &C,
    tenant: TenantId,
    scope: R::Scope,
    (kind, source): (EntityKind, &str),
    keys: &[String],
    id_of: impl Fn(&<R::Entity as EntityTrait>::Model) -> Uuid,
) -> StoreResult<Staged<<R::Entity as EntityTrait>::Model>>
where
    R: Scoped,
    C: ConnectionTrait,
{
    let stored = external_key::lookup(conn, tenant, kind, source, keys.iter().map(String::as_str)).await?;
    let current = if stored.is_empty() {
        HashMap::new()
    } else {
        R::visible(conn.get_database_backend(), tenant, scope)
            .filter(R::ID.is_in(stored.values().copied()))
            .all(conn)
            .await?
            .into_iter()
            .map(|m| (id_of(&m), m))
            .collect()
    };
    Ok(Staged { stored, current })
}

/// A table's tenant, id and version columns.
pub type KeyAndVersion<E> = (<E as EntityTrait>::Column, <E as EntityTrait>::Column, <E as EntityTrait>::Column);

/// Writes changed records over their stored rows in multi-row statements (`INSERT … ON
/// CONFLICT (tenant_id, id) DO UPDATE`), each row carrying its next version: a row whose
/// stored version moved meanwhile is not written, and the call fails rather than write
/// over it. `fixed` names the columns an update never changes.
pub async fn write_versioned<A, C>(
    conn: &C,
    rows: Vec<A>,
    (tenant_id, id, version): KeyAndVersion<A::Entity>,
    fixed: impl Fn(&<A::Entity as EntityTrait>::Column) -> bool,
    on_error: impl Fn(sea_orm::DbErr) -> StoreError,
) -> StoreResult<()>
where
    A: ActiveModelTrait + Send + 'static,
    C: ConnectionTrait,
{
    if rows.is_empty() {
        return Ok(());
    }
    let expected = rows.len() as u64;
    let mut on_conflict = OnConflict::columns([tenant_id, id]);
    on_conflict.update_columns(<A::Entity as EntityTrait>::Column::iter().filter(|c| !fixed(c))).action_and_where(
        Expr::col((A::Entity::default(), version)).add(1).eq(Expr::col((Alias::new("excluded"), version))),
    );
    let written = crate::upsert_chunked(conn, rows, Some(on_conflict)).await.map_err(|e| match e {
        StoreError::Database(db) => on_error(db),
        other => other,
    })?;
    if written != expected {
        // Unreachable under the tenant's write lock; never write over a change.
        return Err(StoreError::rejected(
            "records",
            ErrorCode::VersionConflict,
            "records changed while the call ran: send it again",
        ));
    }
    Ok(())
}

/// A stored row with the columns `changed` sets laid over it, every column set (so a
/// call's rows all write the same columns).
pub fn overlay<A: ActiveModelTrait>(stored: A, changed: &A) -> A {
    let mut row = stored.reset_all();
    for column in <A::Entity as EntityTrait>::Column::iter() {
        if let sea_orm::ActiveValue::Set(value) = changed.get(column) {
            row.set(column, value);
        }
    }
    row
}

/// [`overlay`] at the stored row's next version (`version` the stored one), stamped
/// `now`: the row an update writes through [`write_versioned`].
pub fn overlay_next<A: ActiveModelTrait>(
    stored: A,
    changed: &A,
    (version_column, updated_column): (<A::Entity as EntityTrait>::Column, <A::Entity as EntityTrait>::Column),
    (version, now): (i32, chrono::DateTime<chrono::Utc>),
) -> A {
    let mut row = overlay(stored, changed);
    row.set(version_column, (version + 1).into());
    row.set(updated_column, now.into());
    row
}

/// Turns the rows the checks against the tenant refused into failures and returns every
/// failed row, so the caller drops them from what it writes.
pub fn refuse(results: &mut [RowResult], refused: Vec<(usize, Invalid)>) -> HashSet<usize> {
    for (row, invalid) in refused {
        let result = &mut results[row];
        if result.outcome == Outcome::Failed {
            result.errors.extend(invalid.0);
        } else {
            let key = std::mem::take(&mut result.external_id);
            *result = RowResult::failed(key, invalid);
        }
    }
    results.iter().enumerate().filter(|(_, r)| r.outcome == Outcome::Failed).map(|(i, _)| i).collect()
}

/// Whether giving `this` the parent `parent` closes a loop in a tree (customers' parents,
/// contacts' managers) as the call leaves it: `pending` holds the call's own new links
/// (record → its parent), the rest is read a step at a time with `stored`. Walked only for
/// stored records that get a new parent, which integrations rarely send.
pub async fn closes_loop<F, Fut>(
    this: Uuid,
    parent: Uuid,
    pending: &HashMap<Uuid, Option<Uuid>>,
    stored: F,
) -> StoreResult<bool>
where
    F: Fn(Uuid) -> Fut,
    Fut: std::future::Future<Output = StoreResult<Option<Uuid>>>,
{
    let mut next = Some(parent);
    for _ in 0..100 {
        let Some(id) = next else { return Ok(false) };
        if id == this {
            return Ok(true);
        }
        next = match pending.get(&id) {
            Some(link) => *link,
            None => stored(id).await?,
        };
    }
    Ok(false)
}
