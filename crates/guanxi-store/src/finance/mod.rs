//! Approvals, contracts, receivables and invoices.

use chrono::NaiveDate;
use uuid::Uuid;

/// Which documents a contract carries (receipts, invoice requests) a list asks for: by
/// contract, customer, status and a window of the document's own date.
#[derive(Clone, Debug)]
pub struct DocumentFilter<S> {
    pub contract_id: Option<Uuid>,
    pub customer_id: Option<Uuid>,
    pub status: Option<Vec<S>>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

impl<S> Default for DocumentFilter<S> {
    fn default() -> Self {
        Self { contract_id: None, customer_id: None, status: None, from: None, to: None }
    }
}

/// `Scoped` through [`OrApprover`](crate::scope::OrApprover) — the record's own module and
/// its customer, or an approval task waiting on the reader — for a table with `tenant_id`,
/// `customer_id`, `owner_id` and `id` (contracts, receipts, invoice requests), read with
/// the module's `to_domain`.
macro_rules! or_approver_scoped {
    ($kind:ty, $entity:ident, $record:ty, $deleted:expr) => {
        impl $crate::repo::Scoped for $kind {
            type Entity = $entity::Entity;
            type Scope = $crate::scope::OrApprover;
            type Record = $record;
            const ID: $entity::Column = $entity::Column::Id;
            const DELETED_AT: Option<$entity::Column> = $deleted;

            fn visible(
                backend: sea_orm::DbBackend,
                tenant: guanxi_domain::ids::TenantId,
                scope: $crate::scope::OrApprover,
            ) -> sea_orm::Select<$entity::Entity> {
                use $entity::Column as C;
                let columns = (C::TenantId, C::CustomerId, C::OwnerId, C::Id);
                $crate::scope::of_owner_customer_or_approver(backend, tenant, scope, columns)
            }

            fn to_domain(model: $entity::Model) -> $crate::StoreResult<$record> {
                to_domain(model)
            }
        }
    };
}
pub(crate) use or_approver_scoped;

/// `Listed` (and the module's `list` and `count`) for a document a contract carries: a
/// [`DocumentFilter`] whose window is on the `$date` column, newest first.
macro_rules! dated_listing {
    ($kind:ty, $entity:ident, $status:ty, $date:ident) => {
        impl $crate::repo::Listed for $kind {
            type Filter = $crate::finance::DocumentFilter<$status>;
            type Order = $crate::page::Direction;

            fn matching(
                backend: sea_orm::DbBackend,
                tenant: guanxi_domain::ids::TenantId,
                scope: $crate::scope::OrApprover,
                filter: &Self::Filter,
            ) -> sea_orm::Select<$entity::Entity> {
                use sea_orm::{ColumnTrait, QueryFilter};
                use $entity::Column as C;
                let mut select = <Self as $crate::repo::Scoped>::visible(backend, tenant, scope);
                if let Some(contract) = filter.contract_id {
                    select = select.filter(C::ContractId.eq(contract));
                }
                if let Some(customer) = filter.customer_id {
                    select = select.filter(C::CustomerId.eq(customer));
                }
                if let Some(statuses) = &filter.status {
                    select = select.filter(C::Status.is_in(statuses.iter().map(|s| s.as_str())));
                }
                if let Some(from) = filter.from {
                    select = select.filter(C::$date.gte(from));
                }
                if let Some(to) = filter.to {
                    select = select.filter(C::$date.lte(to));
                }
                select
            }

            fn sort_key(direction: $crate::page::Direction) -> $crate::page::SortKey<$entity::Entity> {
                $crate::page::SortKey {
                    name: "CREATED_AT",
                    column: $entity::Column::CreatedAt,
                    direction,
                    value: |m: &$entity::Model| $crate::page::CursorValue::Time(m.created_at),
                }
            }

            fn id_of(model: &$entity::Model) -> uuid::Uuid {
                model.id
            }
        }

        $crate::repo::listed!($kind);
    };
}
pub(crate) use dated_listing;

/// Everything the repository needs of a document a contract carries: scoped through
/// [`OrApprover`](crate::scope::OrApprover), versioned, read by id and listed by a
/// [`DocumentFilter`] on `$date`.
macro_rules! contract_document {
    ($kind:ty, $entity:ident, $record:ty, $status:ty, $date:ident) => {
        $crate::finance::or_approver_scoped!($kind, $entity, $record, None);
        $crate::repo::versioned!($kind, $entity);
        $crate::repo::scoped_reads!($kind);
        $crate::finance::dated_listing!($kind, $entity, $status, $date);
    };
}
pub(crate) use contract_document;

/// A reason a writer must give (voiding, reversing), trimmed: 1 to 500 characters, else
/// `REQUIRED` on `reason` with `why` ("say why the invoice is void").
pub(crate) fn reason<'a>(raw: &'a str, why: &str) -> crate::StoreResult<&'a str> {
    Ok(reason_in("reason", Some(raw), (500, why))?)
}

/// A reason a bulk row gives in `field` (`voidReason`, `reversedReason`), trimmed: 1 to
/// `max` characters, else `REQUIRED` on the field with `why`.
pub(crate) fn reason_in<'a>(
    field: &str,
    raw: Option<&'a str>,
    (max, why): (usize, &str),
) -> Result<&'a str, guanxi_domain::Invalid> {
    let reason = raw.map(str::trim).unwrap_or_default();
    if reason.is_empty() || reason.chars().count() > max {
        let message = format!("{why} (at most {max} characters)");
        return Err(guanxi_domain::Invalid::one(field, guanxi_domain::ErrorCode::Required, message));
    }
    Ok(reason)
}

pub mod approval;
pub mod commission;
pub mod commission_run;
pub mod commission_statement;
pub mod contract;
pub mod contract_upsert;
pub mod decide;
pub mod document_upsert;
pub mod invoice;
pub mod invoice_upsert;
pub mod receipt_upsert;
pub mod receivable;
pub mod revision;
