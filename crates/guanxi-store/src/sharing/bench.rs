//! Benchmark data for sharing: one customer in twenty shared with another rep (as a team
//! works a key account together), a third of them `READ_WRITE`, some until a day next
//! month and some already expired, so the scope condition meets every kind of row.

use chrono::{Duration, Utc};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::TenantId;
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
