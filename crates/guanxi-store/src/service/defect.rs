//! Product defects (产品缺陷): one per defect of a product, seen by everyone who reads work
//! orders (quality is the tenant's, not a customer's), with the work orders linked to
//! them counted by product and period.

use chrono::{DateTime, Utc};
use guanxi_domain::activity::field::Granularity;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::ids::{DefectId, TenantId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::service::defect::{Defect, DefectFields, DefectStatus, Severity};
use sea_orm::ConnectionTrait;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveValue::Set, ColumnTrait, Condition, DbBackend, EntityTrait, QueryFilter, QuerySelect, Select};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{product_defect, work_order};
use crate::error::StoreResult;
use crate::page::{CursorValue, Direction, SortKey};
use crate::platform::audit::{self, Author};
use crate::platform::{sequence, tenant};
use crate::repo::{self, Scoped};
use crate::service::asset::live_product;

pub const ENTITY: EntityKind = EntityKind::Defect;

pub fn to_domain(m: product_defect::Model) -> StoreResult<Defect> {
    let cell = |column| Cell::of("product_defects", m.id, column);
    Ok(Defect {
        id: m.id.into(),
        number: m.number,
        fields: DefectFields {
            product_id: m.product_id.into(),
            title: m.title,
            description: m.description,
            severity: cell("severity").text(&m.severity, Severity::parse)?,
            status: cell("status").text(&m.status, DefectStatus::parse)?,
        },
        created_by: m.created_by.map(Into::into),
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    })
}

/// Product defects: every one of the tenant's, for whoever reads work orders.
pub struct Defects;

impl Scoped for Defects {
    type Entity = product_defect::Entity;
    type Scope = ();
    type Record = Defect;
    const ID: product_defect::Column = product_defect::Column::Id;
    const DELETED_AT: Option<product_defect::Column> = Some(product_defect::Column::DeletedAt);

    fn visible(_: DbBackend, tenant: TenantId, (): ()) -> Select<product_defect::Entity> {
        product_defect::Entity::find().filter(product_defect::Column::TenantId.eq(tenant.uuid()))
    }

    fn to_domain(model: product_defect::Model) -> StoreResult<Defect> {
        to_domain(model)
    }
}

repo::versioned!(Defects, product_defect);
repo::recyclable!(Defects, product_defect, ENTITY);
repo::scoped_reads!(Defects);

/// Which defects a list asks for.
#[derive(Clone, Debug, Default)]
pub struct DefectFilter {
    pub product_id: Option<Uuid>,
    pub status: Option<Vec<DefectStatus>>,
    pub severity: Option<Vec<Severity>>,
    pub deleted: Option<bool>,
}

impl repo::Listed for Defects {
    type Filter = DefectFilter;
    type Order = Direction;

    fn matching(backend: DbBackend, tenant: TenantId, (): (), filter: &DefectFilter) -> Select<product_defect::Entity> {
        use product_defect::Column as C;
        let mut all = Condition::all();
        if let Some(product) = filter.product_id {
            all = all.add(C::ProductId.eq(product));
        }
        if let Some(status) = &filter.status {
            all = all.add(C::Status.is_in(status.iter().map(|s| s.as_str())));
        }
        if let Some(severity) = &filter.severity {
            all = all.add(C::Severity.is_in(severity.iter().map(|s| s.as_str())));
        }
        repo::in_bin::<Self>(backend, tenant, (), filter.deleted).filter(all)
    }

    fn sort_key(direction: Direction) -> SortKey<product_defect::Entity> {
        SortKey {
            name: "CREATED_AT",
            column: product_defect::Column::CreatedAt,
            direction,
            value: |m: &product_defect::Model| CursorValue::Time(m.created_at),
        }
    }

    fn id_of(model: &product_defect::Model) -> Uuid {
        model.id
    }
}

repo::listed!(Defects);

fn changes(before: Option<&DefectFields>, after: &DefectFields) -> ChangeSet {
    ChangeSet::new()
        .field("productId", before.map(|b| b.product_id), after.product_id)
        .field("title", before.map(|b| b.title.clone()), &after.title)
        .field("description", before.and_then(|b| b.description.clone()), after.description.clone())
        .field("severity", before.map(|b| b.severity.as_str()), after.severity.as_str())
        .field("status", before.map(|b| b.status.as_str()), after.status.as_str())
}

/// Records a defect of a live product.
pub async fn create<C: ConnectionTrait>(conn: &C, author: &Author, fields: DefectFields) -> StoreResult<Defect> {
    let tenant = author.tenant_id;
    let fields = fields.check()?;
    live_product(conn, tenant, fields.product_id, "productId").await?;
    let today = guanxi_domain::customers::customer::shanghai_date(Utc::now());
    let rule = tenant::settings(conn, tenant).await?.defect_numbering;
    let number = rule.format(today, sequence::next(conn, tenant, "product_defect", &rule.period(today)).await?);
    let id = DefectId::new().uuid();
    let now = Utc::now();
    let model = product_defect::Entity::insert(product_defect::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id),
        number: Set(number.clone()),
        product_id: Set(fields.product_id.uuid()),
        title: Set(fields.title.clone()),
        description: Set(fields.description.clone()),
        severity: Set(fields.severity.as_str().to_owned()),
        status: Set(fields.status.as_str().to_owned()),
        created_by: Set(author.user_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_with_returning(conn)
    .await?;
    let changes = changes(None, &fields).field("number", (), &number);
    audit::record(conn, author, ENTITY, id, Operation::Create, &changes).await?;
    to_domain(model)
}

/// Rewrites a defect (its status as quality works it).
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (id, expected_version): (Uuid, i32),
    fields: DefectFields,
) -> StoreResult<Defect> {
    let tenant = author.tenant_id;
    let before = repo::live_current::<Defects, C>(conn, tenant, (), id, expected_version).await?;
    let fields = fields.check()?;
    live_product(conn, tenant, fields.product_id, "productId").await?;
    let update = repo::set_columns::<product_defect::Entity>(vec![
        (product_defect::Column::ProductId, Expr::value(fields.product_id.uuid())),
        (product_defect::Column::Title, Expr::value(fields.title.clone())),
        (product_defect::Column::Description, Expr::value(fields.description.clone())),
        (product_defect::Column::Severity, Expr::value(fields.severity.as_str())),
        (product_defect::Column::Status, Expr::value(fields.status.as_str())),
    ]);
    let after = repo::write_versioned::<Defects, C>(conn, tenant, id, expected_version, update).await?;
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes(Some(&before.fields), &fields)).await?;
    Ok(after)
}

/// How many work orders the caller sees are linked to each of some defects.
pub async fn linked_orders<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    scope: guanxi_domain::entity::Assigned,
    defects: &[Uuid],
) -> StoreResult<Vec<(Uuid, i64)>> {
    if defects.is_empty() {
        return Ok(vec![]);
    }
    let rows: Vec<(Option<Uuid>, i64)> =
        crate::service::work_order::WorkOrders::visible(conn.get_database_backend(), tenant, scope)
            .select_only()
            .column(work_order::Column::DefectId)
            .column_as(Expr::cust("COUNT(*)"), "n")
            .filter(work_order::Column::DefectId.is_in(defects.to_vec()))
            .group_by(work_order::Column::DefectId)
            .into_tuple()
            .all(conn)
            .await?;
    Ok(rows.into_iter().filter_map(|(defect, n)| defect.map(|d| (d, n))).collect())
}

/// Defects recorded in a window, per product and per period (Shanghai time): one grouped
/// statement each. Returns ((product, defects), (period, defects)).
pub async fn stats<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    (from, to): (DateTime<Utc>, DateTime<Utc>),
    granularity: Granularity,
) -> StoreResult<(Vec<(Uuid, i64)>, Vec<(String, i64)>)> {
    let backend = conn.get_database_backend();
    let live = || {
        Defects::live(backend, tenant, ())
            .select_only()
            .filter(product_defect::Column::CreatedAt.gte(from))
            .filter(product_defect::Column::CreatedAt.lt(to))
    };
    let by_product: Vec<(Uuid, i64)> = live()
        .column(product_defect::Column::ProductId)
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(product_defect::Column::ProductId)
        .into_tuple()
        .all(conn)
        .await?;
    let period = crate::dialect::period_start_sql(backend, granularity, r#""product_defects"."created_at""#);
    let by_period: Vec<(String, i64)> = live()
        .column_as(Expr::cust(period.clone()), "period")
        .column_as(Expr::cust("COUNT(*)"), "n")
        .group_by(Expr::cust(period))
        .into_tuple()
        .all(conn)
        .await?;
    Ok((by_product, by_period))
}
