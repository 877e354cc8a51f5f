//! Benchmark data for sharing: one customer in twenty shared with another rep (as a team
//! works a key account together), a third of them `READ_WRITE`, some until a day next
//! month and some already expired, so the scope condition meets every kind of row; and
//! the assignment rules a company of that size keeps.

use chrono::{Duration, Utc};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{TenantId, UserId};
use guanxi_domain::platform::access::ShareAccess;
use rand::Rng;
use rand::rngs::StdRng;
use sea_orm::ActiveValue::Set;
use uuid::Uuid;

use crate::Database;
use crate::entity::collaborator;

/// Shares 5 % of `customers` (with their `owners`) with another of the owners; returns
/// the rows written.
pub async fn load(
    db: &Database,
    tenant: TenantId,
    rng: &mut StdRng,
    (customers, owners): (&[Uuid], &[Uuid]),
) -> crate::StoreResult<u64> {
    let now = Utc::now();
    let mut rows = Vec::new();
    for (i, (customer, owner)) in customers.iter().zip(owners).enumerate().filter(|(i, _)| i % 20 == 7) {
        let with = owners[rng.gen_range(0..owners.len())];
        if with == *owner {
            continue;
        }
        let access = if i % 3 == 0 { ShareAccess::ReadWrite } else { ShareAccess::Read };
        let expires_at = match i % 10 {
            1 => Some(now + Duration::days(30)),
            3 => Some(now - Duration::days(3)),
            _ => None,
        };
        rows.push(collaborator::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            id: Set(Uuid::now_v7()),
            record_type: Set(EntityKind::Customer.name().into()),
            record_id: Set(*customer),
            customer_id: Set(*customer),
            user_id: Set(with),
            access: Set(access.as_str().into()),
            expires_at: Set(expires_at),
            note: Set(None),
            created_by: Set(Some(*owner)),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
        });
    }
    let tx = db.begin_write().await?;
    let written = crate::insert_chunked(&tx, rows).await?;
    tx.commit().await?;
    Ok(written)
}

/// Three assignment rules, tried in turn: East China's provinces by rule to the first ten
/// reps, trade-show arrivals by capacity (300 a 30 days) to the next twenty, and the rest
/// in turn over (at most a hundred) reps. (Takes at least two reps.)
pub async fn rules(db: &Database, tenant: TenantId, reps: &[UserId]) -> crate::StoreResult<()> {
    use guanxi_domain::sharing::assignment::{AssignmentMode, Conditions, RuleMember, RuleSettings};
    let members = |reps: &[UserId], capacity| {
        reps.iter().map(|rep| RuleMember { user_id: *rep, capacity, opted_out: false }).collect::<Vec<_>>()
    };
    // Ten and twenty reps at M and L; a third each when there are fewer.
    let third = reps.len() / 3;
    let east_end = third.clamp(1, 10).min(reps.len());
    let shows_end = (east_end + third.clamp(1, 20)).min(reps.len());
    let (east, shows) = (&reps[..east_end], &reps[east_end..shows_end]);
    // A rule holds at most MAX_MEMBERS: the first hundred reps at M and L.
    let everyone = &reps[..reps.len().min(guanxi_domain::sharing::assignment::MAX_MEMBERS)];
    let rule = |name: &str, priority, mode, conditions, members| RuleSettings {
        name: name.to_owned(),
        applies_to: guanxi_domain::sharing::assignment::AssignmentSubject::Customers,
        priority,
        mode,
        conditions,
        members,
        active: true,
    };
    let east_provinces = ["上海市", "浙江省", "江苏省"].map(String::from).to_vec();
    let settings = [
        rule(
            "华东按省分配",
            1,
            AssignmentMode::ByRule,
            Conditions { regions: east_provinces, ..Conditions::default() },
            members(east, 0),
        ),
        rule(
            "展会线索按容量",
            2,
            AssignmentMode::Capacity,
            Conditions { sources: vec!["展会".to_owned()], ..Conditions::default() },
            members(shows, 300),
        ),
        rule("其余轮流", 3, AssignmentMode::RoundRobin, Conditions::default(), members(everyone, 0)),
    ];
    let tx = db.begin_write().await?;
    for settings in settings {
        crate::sharing::assignment::create(&tx, &crate::platform::audit::Author::system(tenant), settings).await?;
    }
    tx.commit().await?;
    Ok(())
}
