//! Background jobs. Each due job is run by exactly one replica: it first takes the job's
//! lease row in the database (see `guanxi_store::platform::jobs`), so any number of gateways may run
//! this loop against one database.

use chrono::{Duration, Utc};
use futures::future::BoxFuture;
use guanxi_store::Database;
use uuid::Uuid;

/// One kind of periodic work.
pub struct Job {
    pub name: &'static str,
    pub interval: Duration,
    /// A daily job's hour of the Shanghai day: after each run the next is due at the next
    /// such hour, not `interval` later (the first run is when a gateway first starts).
    pub at_hour: Option<u32>,
    pub run: fn(Database) -> BoxFuture<'static, anyhow::Result<u64>>,
}

impl Job {
    /// A job run every `interval`.
    pub fn every(
        name: &'static str,
        interval: Duration,
        run: fn(Database) -> BoxFuture<'static, anyhow::Result<u64>>,
    ) -> Self {
        Self { name, interval, at_hour: None, run }
    }

    /// How long after `now` the job is next due.
    fn next_gap(&self, now: chrono::DateTime<Utc>) -> Duration {
        let Some(hour) = self.at_hour else { return self.interval };
        let shanghai = now + Duration::hours(8);
        let today = shanghai.date_naive().and_hms_opt(hour, 0, 0).unwrap_or_default().and_utc();
        let next = if today > shanghai { today } else { today + Duration::days(1) };
        next - shanghai
    }
}

/// Deletes expired sessions, refresh tokens and day-old idempotency keys.
fn purge_expired(db: Database) -> BoxFuture<'static, anyhow::Result<u64>> {
    Box::pin(async move {
        let tx = db.begin_write().await?;
        let removed = guanxi_store::platform::auth::purge_expired(&tx, Utc::now(), Duration::hours(24)).await?;
        tx.commit().await?;
        Ok(removed)
    })
}

/// Takes neglected customers back into the public pools whose automatic reclaim is on
/// (回收), set-based in batches; see `guanxi_store::sales::pool_reclaim::reclaim_all`.
fn pool_reclaim(db: Database) -> BoxFuture<'static, anyhow::Result<u64>> {
    Box::pin(async move { Ok(guanxi_store::sales::pool_reclaim::reclaim_all(&db, Utc::now()).await?) })
}

/// Writes the reminders that have fallen due: for every planned event with reminders,
/// each occurrence's `start - minutes` that lies in the last day. The unique key on
/// reminders makes a second run, or a racing replica, write nothing new.
pub fn event_reminders(db: Database) -> BoxFuture<'static, anyhow::Result<u64>> {
    Box::pin(async move {
        let now = Utc::now();
        let lookback = now - Duration::days(1);
        let events = guanxi_store::activity::calendar::reminder_candidates(db.connection(), lookback, now).await?;
        let mut due = Vec::new();
        for event in &events {
            let longest = event.reminder_minutes.iter().copied().max().unwrap_or(0);
            for (start, _) in
                event.schedule.occurrences(lookback, now + Duration::minutes(i64::from(longest)) + Duration::seconds(1))
            {
                for minutes in &event.reminder_minutes {
                    let remind_at = start - Duration::minutes(i64::from(*minutes));
                    if remind_at <= now && remind_at > lookback {
                        for user in &event.assignees {
                            due.push(guanxi_store::activity::calendar::DueReminder {
                                tenant_id: event.tenant_id,
                                event_id: event.id,
                                user_id: *user,
                                occurrence_at: start,
                                remind_at,
                            });
                        }
                    }
                }
            }
        }
        let tx = db.begin_write().await?;
        let created = guanxi_store::activity::calendar::insert_reminders(&tx, &due).await?;
        tx.commit().await?;
        Ok(created)
    })
}

/// Marks the work-order deadlines missed by now and escalates them; see
/// `guanxi_store::service::sla::mark_breaches`.
pub fn work_order_breaches(db: Database) -> BoxFuture<'static, anyhow::Result<u64>> {
    Box::pin(async move { work_order_breaches_at(db, Utc::now()).await })
}

/// [`work_order_breaches`] as seen at `now` (tests move the clock with it). Each deadline
/// is marked once, however many runners race.
pub async fn work_order_breaches_at(db: Database, now: chrono::DateTime<Utc>) -> anyhow::Result<u64> {
    let mut marked = 0;
    for tenant in guanxi_store::service::sla::tenants_due(db.connection(), now).await? {
        let tx = db.begin_tenant_write(tenant).await?;
        marked += guanxi_store::service::sla::mark_breaches(&tx, tenant, now).await?;
        tx.commit().await?;
    }
    Ok(marked)
}

/// Rescores the leads due (new scoring rules, or an inactivity rule come due); see
/// `guanxi_store::leads::lead::rescore_due`.
pub fn lead_rescoring(db: Database) -> BoxFuture<'static, anyhow::Result<u64>> {
    Box::pin(async move { lead_rescoring_at(db, Utc::now()).await })
}

/// [`lead_rescoring`] as seen at `now` (tests move the clock with it): a batch per tenant
/// due, each in the tenant's write transaction. A lead written meanwhile keeps the score
/// its writer gave it.
/// Batches one run gives a tenant at most (a million leads).
const LEAD_RESCORE_BATCHES: u32 = 2_000;

pub async fn lead_rescoring_at(db: Database, now: chrono::DateTime<Utc>) -> anyhow::Result<u64> {
    let mut rescored = 0;
    for tenant in guanxi_store::leads::lead::tenants_due(db.connection(), now).await? {
        // Batch after batch, each its own short transaction, until the tenant's queue is
        // drained (new rules on 50,000 leads take one run, not a hundred).
        for _ in 0..LEAD_RESCORE_BATCHES {
            let tx = db.begin_tenant_write(tenant).await?;
            let done = guanxi_store::leads::lead::rescore_due(&tx, tenant, now).await?;
            tx.commit().await?;
            rescored += done;
            if done < guanxi_store::leads::lead::RESCORE_BATCH {
                break;
            }
        }
    }
    Ok(rescored)
}

/// Writes the money reminders due today (Asia/Shanghai): installments due soon or
/// overdue, contracts about to expire; see `guanxi_store::finance::receivable::write_reminders`.
pub fn finance_reminders(db: Database) -> BoxFuture<'static, anyhow::Result<u64>> {
    Box::pin(
        async move { finance_reminders_on(db, guanxi_domain::customers::customer::shanghai_date(Utc::now())).await },
    )
}

/// [`finance_reminders`] as seen on `today` (tests move the clock with it). Each notice is
/// written once per subject, kind and date, however many runners race.
pub async fn finance_reminders_on(db: Database, today: chrono::NaiveDate) -> anyhow::Result<u64> {
    let tx = db.begin_write().await?;
    let written = guanxi_store::finance::receivable::write_reminders(&tx, today).await?;
    tx.commit().await?;
    Ok(written)
}

/// How long a tenant job's lease holds if its replica dies mid-run.
const TENANT_LEASE_MINUTES: i64 = 10;

/// How a leased run's transaction is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Writes {
    /// It writes the tenant's records: it takes the tenant's lock first, as every such
    /// write does.
    Records,
    /// It rewrites only a derived table no other write touches (customer values): the
    /// tenant's other writes go on meanwhile.
    Derived,
}

/// Runs `work` in one write transaction of `tenant` under the tenant's lease `job`, or
/// returns `None` when another replica (or request) holds it; the lease is given back
/// whatever happened. Spawn it, so a client that hangs up does not leave the lease held.
pub async fn leased<T, F>(
    db: Database,
    (tenant, writes): (guanxi_domain::ids::TenantId, Writes),
    job: &str,
    work: F,
) -> guanxi_store::StoreResult<Option<T>>
where
    F: for<'t> FnOnce(&'t guanxi_store::DatabaseTransaction) -> BoxFuture<'t, guanxi_store::StoreResult<T>>,
{
    let holder = format!("lease-{}", Uuid::now_v7().simple());
    let tx = db.begin_write().await?;
    let lease = Duration::minutes(TENANT_LEASE_MINUTES);
    let taken =
        guanxi_store::platform::jobs::try_lease(&tx, tenant.uuid(), job, &holder, Utc::now(), lease, Duration::zero())
            .await?;
    tx.commit().await?;
    if !taken {
        return Ok(None);
    }
    let result = async {
        let tx = match writes {
            Writes::Records => db.begin_tenant_write(tenant).await?,
            Writes::Derived => db.begin_write().await?,
        };
        let done = work(&tx).await?;
        tx.commit().await?;
        Ok(done)
    }
    .await;
    let tx = db.begin_write().await?;
    guanxi_store::platform::jobs::release(&tx, tenant.uuid(), job, &holder).await?;
    tx.commit().await?;
    result.map(Some)
}

/// The lease name of a tenant's customer-value refresh.
pub const CUSTOMER_VALUES: &str = "customer_values";

/// The lease name of a month's commission calculation.
pub fn commissions_lease(period: guanxi_domain::finance::commission::Period) -> String {
    format!("commissions:{period}")
}

/// Every night at 02:00 (Shanghai): each tenant's customer values (RFM) as of today, and
/// the commissions of the open months (this one and the last, whose statements stay
/// drafts until finance confirms them; confirmed ones are never rewritten) for tenants
/// with a plan. Each tenant's part runs under the same lease as its manual run, so the
/// two never overlap; one that is busy is skipped until the next night, and one that
/// fails is logged and the others still run.
pub fn nightly_analytics(db: Database) -> BoxFuture<'static, anyhow::Result<u64>> {
    Box::pin(async move { nightly_analytics_at(db, Utc::now()).await })
}

/// [`nightly_analytics`] as seen at `now` (tests move the clock with it); returns how many
/// customers were scored and statement lines written.
pub async fn nightly_analytics_at(db: Database, now: chrono::DateTime<Utc>) -> anyhow::Result<u64> {
    use guanxi_domain::finance::commission::Period;
    let today = guanxi_domain::customers::customer::shanghai_date(now);
    let (mut affected, mut failed) = (0, 0);
    let mut tally = |tenant, part: &str, result: guanxi_store::StoreResult<Option<u64>>| match result {
        Ok(done) => affected += done.unwrap_or(0),
        Err(error) => {
            failed += 1;
            tracing::error!(%tenant, part, %error, "nightly analytics failed for a tenant");
        }
    };
    for tenant in guanxi_store::analytics::customer_value::tenants(db.connection()).await? {
        let scored = leased(db.clone(), (tenant, Writes::Derived), CUSTOMER_VALUES, move |tx| {
            Box::pin(guanxi_store::analytics::customer_value::refresh(tx, tenant, today, now))
        });
        tally(tenant, CUSTOMER_VALUES, scored.await);
    }
    let this_month = Period::of(today);
    for tenant in guanxi_store::finance::commission::tenants_with_plans(db.connection()).await? {
        for period in [this_month.previous(), this_month] {
            let author = guanxi_store::platform::audit::Author::system(tenant);
            let lease = commissions_lease(period);
            let calculated = leased(db.clone(), (tenant, Writes::Records), &lease, move |tx| {
                Box::pin(async move { guanxi_store::finance::commission_run::calculate(tx, &author, period).await })
            });
            let lines = calculated.await.map(|done| done.map(|d| u64::try_from(d.lines).unwrap_or(0)));
            tally(tenant, &lease, lines);
        }
    }
    anyhow::ensure!(failed == 0, "nightly analytics failed for {failed} tenant parts ({affected} rows done)");
    Ok(affected)
}

pub struct JobRunner {
    db: Database,
    holder: String,
    jobs: Vec<Job>,
}

/// What one pass of the runner did.
#[derive(Debug, PartialEq, Eq)]
pub struct Ran {
    pub job: &'static str,
    pub affected: u64,
}

impl JobRunner {
    pub fn new(db: Database, jobs: Vec<Job>) -> Self {
        Self { db, holder: format!("gateway-{}", Uuid::now_v7().simple()), jobs }
    }

    /// The jobs every gateway runs.
    pub fn standard(db: Database) -> Self {
        Self::new(
            db,
            vec![
                Job::every("purge_expired", Duration::hours(1), purge_expired),
                Job::every("event_reminders", Duration::minutes(1), event_reminders),
                Job::every("pool_reclaim", Duration::hours(1), pool_reclaim),
                Job::every("finance_reminders", Duration::hours(1), finance_reminders),
                Job::every("work_order_breaches", Duration::minutes(1), work_order_breaches),
                Job::every("lead_rescoring", Duration::minutes(1), lead_rescoring),
                Job {
                    name: "nightly_analytics",
                    interval: Duration::hours(24),
                    at_hour: Some(2),
                    run: nightly_analytics,
                },
            ],
        )
    }

    /// Runs every job that is due and whose lease this runner wins.
    pub async fn run_due(&self) -> anyhow::Result<Vec<Ran>> {
        let mut ran = Vec::new();
        for job in &self.jobs {
            let now = Utc::now();
            let tx = self.db.begin_write().await?;
            let taken = guanxi_store::platform::jobs::try_lease(
                &tx,
                Uuid::nil(),
                job.name,
                &self.holder,
                now,
                Duration::minutes(10),
                job.next_gap(now),
            )
            .await?;
            tx.commit().await?;
            if !taken {
                continue;
            }
            let result = (job.run)(self.db.clone()).await;
            let tx = self.db.begin_write().await?;
            guanxi_store::platform::jobs::release(&tx, Uuid::nil(), job.name, &self.holder).await?;
            tx.commit().await?;
            match result {
                Ok(affected) => {
                    metrics::counter!("guanxi_job_runs_total", "job" => job.name).increment(1);
                    tracing::info!(job = job.name, affected, "job ran");
                    ran.push(Ran { job: job.name, affected });
                }
                Err(error) => {
                    metrics::counter!("guanxi_job_failures_total", "job" => job.name).increment(1);
                    tracing::error!(job = job.name, %error, "job failed");
                }
            }
        }
        Ok(ran)
    }

    /// Checks for due jobs every 30 seconds until `stop` turns true.
    pub async fn run_until(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if let Err(error) = self.run_due().await {
                tracing::error!(%error, "job runner pass failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(std::time::Duration::from_secs(30)) => {}
                _ = stop.changed() => return,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> chrono::DateTime<Utc> {
        chrono::DateTime::parse_from_rfc3339(s).map(|d| d.with_timezone(&Utc)).unwrap_or_default()
    }

    #[test]
    fn a_daily_job_is_next_due_at_its_hour_of_the_shanghai_day() {
        let nightly = Job { at_hour: Some(2), ..Job::every("nightly", Duration::hours(24), nightly_analytics) };
        let cases = [
            ("2026-11-30T10:00:00Z", 8),  // 18:00 in Shanghai: 02:00 tomorrow
            ("2026-11-29T17:00:00Z", 1),  // 01:00 on the 30th: 02:00 the same day
            ("2026-11-29T18:00:00Z", 24), // 02:00 exactly: tomorrow's
        ];
        for (now, hours) in cases {
            assert_eq!(nightly.next_gap(at(now)), Duration::hours(hours), "{now}");
        }
        assert_eq!(
            Job::every("hourly", Duration::hours(1), purge_expired).next_gap(at(cases[0].0)),
            Duration::hours(1)
        );
    }
}
