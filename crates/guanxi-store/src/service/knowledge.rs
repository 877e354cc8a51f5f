//! The knowledge base (知识库): articles, their versions, the category tree, the token
//! index that finds any Chinese substring of a title or body, the articles linked to
//! work orders as their solution, and the suggestions for an order.
//!
//! Articles are the tenant's: whoever reads work orders reads them (the customer's own
//! channel reads the public, published ones). Every save writes a version row and
//! rewrites the article's tokens and products in the same transaction.

use chrono::Utc;
use guanxi_domain::ErrorCode;
use guanxi_domain::entity::{Assigned, EntityKind};
use guanxi_domain::ids::{ArticleCategoryId, ArticleId, TenantId};
use guanxi_domain::platform::change::{ChangeSet, Operation};
use guanxi_domain::service::knowledge::{
    Article, ArticleCategory, ArticleFields, ArticleStatus, ArticleVersion, ArticleVisibility, article_tokens,
    suggestion_tokens,
};
use guanxi_domain::service::work_order::WorkOrder;
use sea_orm::sea_query::{Expr, LikeExpr};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, Select,
};
use uuid::Uuid;

use crate::decode::Cell;
use crate::entity::{
    kb_article, kb_article_product, kb_article_token, kb_article_version, kb_category, work_order_article,
};
use crate::error::{StoreError, StoreResult};
use crate::filter::escape_like;
use crate::page::{CursorValue, Direction, SortKey};
use crate::platform::audit::{self, Author};
use crate::repo::{self, Scoped};

pub const ENTITY: EntityKind = EntityKind::Article;

pub fn to_domain(m: kb_article::Model) -> StoreResult<Article> {
    let cell = |column| Cell::of("kb_articles", m.id, column);
    Ok(Article {
        id: m.id.into(),
        fields: ArticleFields {
            title: m.title,
            body: m.body,
            category_id: m.category_id.map(Into::into),
            tags: cell("tags").json(m.tags)?,
            product_ids: vec![],
            visibility: cell("visibility").text(&m.visibility, ArticleVisibility::parse)?,
            status: cell("status").text(&m.status, ArticleStatus::parse)?,
        },
        author_id: m.author_id.map(Into::into),
        published_at: m.published_at,
        version: m.version,
        created_at: m.created_at,
        updated_at: m.updated_at,
        deleted_at: m.deleted_at,
    })
}

/// Who reads articles: staff read all of them; the customer's channel the public,
/// published ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Readers {
    Staff,
    Public,
}

/// Articles.
pub struct Articles;

impl Scoped for Articles {
    type Entity = kb_article::Entity;
    type Scope = Readers;
    type Record = Article;
    const ID: kb_article::Column = kb_article::Column::Id;
    const DELETED_AT: Option<kb_article::Column> = Some(kb_article::Column::DeletedAt);

    fn visible(_: DbBackend, tenant: TenantId, readers: Readers) -> Select<kb_article::Entity> {
        let select = kb_article::Entity::find().filter(kb_article::Column::TenantId.eq(tenant.uuid()));
        match readers {
            Readers::Staff => select,
            Readers::Public => select
                .filter(kb_article::Column::Visibility.eq(ArticleVisibility::Public.as_str()))
                .filter(kb_article::Column::Status.eq(ArticleStatus::Published.as_str())),
        }
    }

    fn to_domain(model: kb_article::Model) -> StoreResult<Article> {
        to_domain(model)
    }
}

repo::versioned!(Articles, kb_article);
repo::recyclable!(Articles, kb_article, ENTITY);
repo::scoped_reads!(Articles);

/// Which articles a list asks for.
#[derive(Clone, Debug, Default)]
pub struct ArticleFilter {
    /// Any substring of the title or body (Chinese or not).
    pub search: Option<String>,
    pub category_id: Option<Uuid>,
    pub tag: Option<String>,
    pub product_id: Option<Uuid>,
    pub status: Option<ArticleStatus>,
    pub visibility: Option<ArticleVisibility>,
    pub deleted: Option<bool>,
}

/// The articles holding every pair of characters of `term` (one character: a token
/// starting with it), confirmed to contain it: the candidates come from the token table's
/// primary key, never from scanning articles.
fn search_condition(tenant: TenantId, term: &str) -> Condition {
    let Some(query) = guanxi_domain::customers::customer::search_query(term) else { return Condition::all() };
    let query = query.names_only();
    let contains =
        kb_article::Column::SearchText.like(LikeExpr::new(format!("%{}%", escape_like(&query.name_text))).escape('\\'));
    crate::customers::customer_search::token_search(
        (kb_article_token::Entity, kb_article_token::Column::TenantId),
        (kb_article_token::Column::Token, kb_article_token::Column::ArticleId),
        tenant,
        &query,
        crate::customers::customer_search::Searched {
            table: kb_article::Entity,
            tenant: kb_article::Column::TenantId,
            id: kb_article::Column::Id,
            contains: Condition::all().add(contains),
        },
    )
}

impl repo::Listed for Articles {
    type Filter = ArticleFilter;
    type Order = Direction;

    fn matching(
        backend: DbBackend,
        tenant: TenantId,
        readers: Readers,
        f: &ArticleFilter,
    ) -> Select<kb_article::Entity> {
        use kb_article::Column as C;
        let mut select = repo::in_bin::<Self>(backend, tenant, readers, f.deleted);
        if let Some(term) = f.search.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
            select = select.filter(search_condition(tenant, term));
        }
        if let Some(category) = f.category_id {
            select = select.filter(C::CategoryId.eq(category));
        }
        if let Some(tag) = &f.tag {
            select = select.filter(crate::dialect::json_array_contains(backend, "kb_articles", "tags", tag.clone()));
        }
        if let Some(product) = f.product_id {
            let about = sea_orm::sea_query::Query::select()
                .column(kb_article_product::Column::ArticleId)
                .from(kb_article_product::Entity)
                .and_where(kb_article_product::Column::TenantId.eq(tenant.uuid()))
                .and_where(kb_article_product::Column::ProductId.eq(product))
                .to_owned();
            select = select.filter(C::Id.in_subquery(about));
        }
        if let Some(status) = f.status {
            select = select.filter(C::Status.eq(status.as_str()));
        }
        if let Some(visibility) = f.visibility {
            select = select.filter(C::Visibility.eq(visibility.as_str()));
        }
        select
    }

    fn sort_key(direction: Direction) -> SortKey<kb_article::Entity> {
        SortKey {
            name: "UPDATED_AT",
            column: kb_article::Column::UpdatedAt,
            direction,
            value: |m: &kb_article::Model| CursorValue::Time(m.updated_at),
        }
    }

    fn id_of(model: &kb_article::Model) -> Uuid {
        model.id
    }
}

repo::listed!(Articles);

/// The products some articles are about.
pub async fn products_of<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    articles: &[Uuid],
) -> StoreResult<Vec<(Uuid, Uuid)>> {
    if articles.is_empty() {
        return Ok(vec![]);
    }
    Ok(kb_article_product::Entity::find()
        .select_only()
        .column(kb_article_product::Column::ArticleId)
        .column(kb_article_product::Column::ProductId)
        .filter(kb_article_product::Column::TenantId.eq(tenant.uuid()))
        .filter(kb_article_product::Column::ArticleId.is_in(articles.to_vec()))
        .into_tuple()
        .all(conn)
        .await?)
}

/// A live category of the tenant, else `NOT_FOUND` on `categoryId`.
async fn category<C: ConnectionTrait>(conn: &C, tenant: TenantId, id: Uuid) -> StoreResult<kb_category::Model> {
    kb_category::Entity::find_by_id((tenant.uuid(), id))
        .one(conn)
        .await?
        .ok_or_else(|| StoreError::rejected("categoryId", ErrorCode::NotFound, "no such article category"))
}

/// Checks what an article names, then writes its index, products and a version row.
async fn index<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (id, version): (Uuid, i32),
    fields: &ArticleFields,
) -> StoreResult<()> {
    let tenant = author.tenant_id;
    kb_article_token::Entity::delete_many()
        .filter(kb_article_token::Column::TenantId.eq(tenant.uuid()))
        .filter(kb_article_token::Column::ArticleId.eq(id))
        .exec(conn)
        .await?;
    kb_article_product::Entity::delete_many()
        .filter(kb_article_product::Column::TenantId.eq(tenant.uuid()))
        .filter(kb_article_product::Column::ArticleId.eq(id))
        .exec(conn)
        .await?;
    let tokens: Vec<kb_article_token::ActiveModel> = article_tokens(&fields.search_text())
        .into_iter()
        .map(|token| kb_article_token::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            token: Set(token),
            article_id: Set(id),
        })
        .collect();
    crate::insert_chunked(conn, tokens).await?;
    let products: Vec<kb_article_product::ActiveModel> = (fields.product_ids.iter())
        .map(|p| kb_article_product::ActiveModel {
            tenant_id: Set(tenant.uuid()),
            product_id: Set(p.uuid()),
            article_id: Set(id),
        })
        .collect();
    crate::insert_chunked(conn, products).await?;
    kb_article_version::Entity::insert(kb_article_version::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(Uuid::now_v7()),
        article_id: Set(id),
        version: Set(version),
        title: Set(fields.title.clone()),
        body: Set(fields.body.clone()),
        edited_by: Set(author.user_id),
        created_at: Set(Utc::now()),
    })
    .exec(conn)
    .await?;
    Ok(())
}

async fn checked<C: ConnectionTrait>(conn: &C, tenant: TenantId, fields: ArticleFields) -> StoreResult<ArticleFields> {
    let fields = fields.check()?;
    if let Some(c) = fields.category_id {
        category(conn, tenant, c.uuid()).await?;
    }
    crate::service::asset::live_products(conn, tenant, &fields.product_ids, "productIds").await?;
    Ok(fields)
}

fn changes(before: Option<&ArticleFields>, after: &ArticleFields) -> ChangeSet {
    ChangeSet::new()
        .field("title", before.map(|b| b.title.clone()), &after.title)
        .field("bodyLength", before.map(|b| b.body.chars().count()), after.body.chars().count())
        .field("categoryId", before.and_then(|b| b.category_id), after.category_id)
        .field("tags", before.map(|b| b.tags.clone()), after.tags.clone())
        .field("visibility", before.map(|b| b.visibility.as_str()), after.visibility.as_str())
        .field("status", before.map(|b| b.status.as_str()), after.status.as_str())
}

/// Writes a new article and its first version.
pub async fn create<C: ConnectionTrait>(conn: &C, author: &Author, fields: ArticleFields) -> StoreResult<Article> {
    let tenant = author.tenant_id;
    let fields = checked(conn, tenant, fields).await?;
    let id = ArticleId::new().uuid();
    let now = Utc::now();
    let model = kb_article::Entity::insert(kb_article::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id),
        title: Set(fields.title.clone()),
        body: Set(fields.body.clone()),
        search_text: Set(fields.search_text()),
        category_id: Set(fields.category_id.map(|c| c.uuid())),
        tags: Set(serde_json::json!(fields.tags)),
        visibility: Set(fields.visibility.as_str().to_owned()),
        status: Set(fields.status.as_str().to_owned()),
        author_id: Set(author.user_id),
        published_at: Set((fields.status == ArticleStatus::Published).then_some(now)),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    })
    .exec_with_returning(conn)
    .await?;
    index(conn, author, (id, 1), &fields).await?;
    audit::record(conn, author, ENTITY, id, Operation::Create, &changes(None, &fields)).await?;
    let mut article = to_domain(model)?;
    article.fields.product_ids = fields.product_ids;
    Ok(article)
}

/// Rewrites an article, keeping the old text as a version.
pub async fn update<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (id, expected_version): (Uuid, i32),
    fields: ArticleFields,
) -> StoreResult<Article> {
    use kb_article::Column as A;
    let tenant = author.tenant_id;
    let before = repo::live_current::<Articles, C>(conn, tenant, Readers::Staff, id, expected_version).await?;
    let fields = checked(conn, tenant, fields).await?;
    let published = match (before.published_at, fields.status) {
        (None, ArticleStatus::Published) => Some(Utc::now()),
        (at, _) => at,
    };
    let update = repo::set_columns::<kb_article::Entity>(vec![
        (A::Title, Expr::value(fields.title.clone())),
        (A::Body, Expr::value(fields.body.clone())),
        (A::SearchText, Expr::value(fields.search_text())),
        (A::CategoryId, Expr::value(fields.category_id.map(|c| c.uuid()))),
        (A::Tags, Expr::value(serde_json::json!(fields.tags))),
        (A::Visibility, Expr::value(fields.visibility.as_str())),
        (A::Status, Expr::value(fields.status.as_str())),
        (A::PublishedAt, Expr::value(published)),
    ]);
    let mut after = repo::write_versioned::<Articles, C>(conn, tenant, id, expected_version, update).await?;
    index(conn, author, (id, expected_version + 1), &fields).await?;
    audit::record(conn, author, ENTITY, id, Operation::Update, &changes(Some(&before.fields), &fields)).await?;
    after.fields.product_ids = fields.product_ids;
    Ok(after)
}

/// Moves an article to the recycle bin; orders that link it keep the link.
pub async fn delete<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (id, expected_version): (Uuid, i32),
) -> StoreResult<Article> {
    repo::live_current::<Articles, C>(conn, author.tenant_id, Readers::Staff, id, expected_version).await?;
    repo::mark_deleted::<Articles, C>(conn, author, id, expected_version).await
}

/// An article's versions, newest first.
pub async fn versions<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    article: Uuid,
) -> StoreResult<Vec<ArticleVersion>> {
    let rows = kb_article_version::Entity::find()
        .filter(kb_article_version::Column::TenantId.eq(tenant.uuid()))
        .filter(kb_article_version::Column::ArticleId.eq(article))
        .order_by_desc(kb_article_version::Column::Version)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|v| ArticleVersion {
            version: v.version,
            title: v.title,
            body: v.body,
            edited_by: v.edited_by.map(Into::into),
            created_at: v.created_at,
        })
        .collect())
}

/// The category tree, as a list in order.
pub async fn categories<C: ConnectionTrait>(conn: &C, tenant: TenantId) -> StoreResult<Vec<ArticleCategory>> {
    let rows = kb_category::Entity::find()
        .filter(kb_category::Column::TenantId.eq(tenant.uuid()))
        .order_by_asc(kb_category::Column::Position)
        .order_by_asc(kb_category::Column::Name)
        .all(conn)
        .await?;
    Ok(rows
        .into_iter()
        .map(|c| ArticleCategory {
            id: c.id.into(),
            parent_id: c.parent_id.map(Into::into),
            name: c.name,
            position: c.position,
        })
        .collect())
}

/// Adds a category, under `parent` or at the top.
pub async fn create_category<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    (name, parent, position): (&str, Option<Uuid>, i32),
) -> StoreResult<ArticleCategory> {
    let tenant = author.tenant_id;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 50 {
        return Err(StoreError::rejected("name", ErrorCode::Invalid, "a name of 1 to 50 characters"));
    }
    if let Some(parent) = parent {
        category(conn, tenant, parent)
            .await
            .map_err(|_| StoreError::rejected("parentId", ErrorCode::NotFound, "no such article category"))?;
    }
    let id = ArticleCategoryId::new().uuid();
    kb_category::Entity::insert(kb_category::ActiveModel {
        tenant_id: Set(tenant.uuid()),
        id: Set(id),
        parent_id: Set(parent),
        name: Set(name.to_owned()),
        position: Set(position),
    })
    .exec(conn)
    .await?;
    let changes = ChangeSet::new().field("articleCategory", (), name).field("parentId", (), parent);
    audit::record(conn, author, EntityKind::Tenant, tenant.uuid(), Operation::Update, &changes).await?;
    Ok(ArticleCategory { id: id.into(), parent_id: parent.map(Into::into), name: name.to_owned(), position })
}

/// Removes a category that holds no category and no live article.
pub async fn delete_category<C: ConnectionTrait>(conn: &C, author: &Author, id: Uuid) -> StoreResult<()> {
    let tenant = author.tenant_id;
    let found = category(conn, tenant, id).await.map_err(|_| StoreError::NotFound)?;
    let children = kb_category::Entity::find()
        .filter(kb_category::Column::TenantId.eq(tenant.uuid()))
        .filter(kb_category::Column::ParentId.eq(id))
        .count(conn)
        .await?;
    let articles = Articles::live(conn.get_database_backend(), tenant, Readers::Staff)
        .filter(kb_article::Column::CategoryId.eq(id))
        .count(conn)
        .await?;
    if children + articles > 0 {
        return Err(StoreError::rejected(
            "id",
            ErrorCode::NotEmpty,
            format!("the category holds {children} categories and {articles} articles"),
        ));
    }
    kb_category::Entity::delete_by_id((tenant.uuid(), id)).exec(conn).await?;
    let changes = ChangeSet::new().field("articleCategory", &found.name, ());
    audit::record(conn, author, EntityKind::Tenant, tenant.uuid(), Operation::Update, &changes).await?;
    Ok(())
}

/// Links an article to a work order the caller sees as its solution, or unlinks it.
pub async fn link<C: ConnectionTrait>(
    conn: &C,
    author: &Author,
    scope: Assigned,
    (order, expected_version): (Uuid, i32),
    (article, linked): (Uuid, bool),
) -> StoreResult<WorkOrder> {
    use crate::service::work_order::WorkOrders;
    let tenant = author.tenant_id;
    repo::current::<WorkOrders, C>(conn, tenant, scope, order, expected_version).await?;
    find(conn, tenant, Readers::Staff, article)
        .await?
        .filter(|a| a.deleted_at.is_none())
        .ok_or_else(|| StoreError::rejected("articleId", ErrorCode::NotFound, "no such article"))?;
    let key = (tenant.uuid(), order, article);
    let exists = work_order_article::Entity::find_by_id(key).one(conn).await?.is_some();
    match (exists, linked) {
        (false, true) => {
            work_order_article::Entity::insert(work_order_article::ActiveModel {
                tenant_id: Set(tenant.uuid()),
                work_order_id: Set(order),
                article_id: Set(article),
                linked_by: Set(author.user_id),
                created_at: Set(Utc::now()),
            })
            .exec(conn)
            .await?;
        }
        (true, false) => {
            work_order_article::Entity::delete_by_id(key).exec(conn).await?;
        }
        _ => {}
    }
    let update = crate::entity::work_order::Entity::update_many();
    let after = repo::write_versioned::<WorkOrders, C>(conn, tenant, order, expected_version, update).await?;
    let (old, new) = if linked { (None, Some(article)) } else { (Some(article), None) };
    let changes = ChangeSet::new().field("articleId", old, new);
    audit::record(conn, author, crate::service::work_order::ENTITY, order, Operation::Update, &changes).await?;
    Ok(after)
}

/// The articles linked to some work orders (the caller read the orders), oldest link first.
pub async fn of_orders<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    orders: &[Uuid],
) -> StoreResult<Vec<(Uuid, Article)>> {
    if orders.is_empty() {
        return Ok(vec![]);
    }
    let links: Vec<(Uuid, Uuid)> = work_order_article::Entity::find()
        .select_only()
        .column(work_order_article::Column::WorkOrderId)
        .column(work_order_article::Column::ArticleId)
        .filter(work_order_article::Column::TenantId.eq(tenant.uuid()))
        .filter(work_order_article::Column::WorkOrderId.is_in(orders.to_vec()))
        .order_by_asc(work_order_article::Column::CreatedAt)
        .into_tuple()
        .all(conn)
        .await?;
    let ids: Vec<Uuid> = links.iter().map(|(_, a)| *a).collect();
    let articles = by_ids(conn, tenant, Readers::Staff, &ids).await?;
    Ok(links
        .into_iter()
        .filter_map(|(order, article)| articles.iter().find(|a| a.id.uuid() == article).map(|a| (order, a.clone())))
        .collect())
}

/// One article as suggested for an order: about its product, and how many pairs of
/// characters of the order's words it shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestion {
    pub article: Article,
    pub product_match: bool,
    pub shared: i64,
}

/// Published articles ranked for `order`: about its product first, then by the pairs of
/// characters of its subject and description they share. Two statements however many
/// articles there are: the ranking, then the articles.
pub async fn suggest<C: ConnectionTrait>(
    conn: &C,
    tenant: TenantId,
    order: &WorkOrder,
    limit: u64,
) -> StoreResult<Vec<Suggestion>> {
    let words = format!("{} {}", order.request.subject, order.request.description.clone().unwrap_or_default());
    let tokens = suggestion_tokens(&words, 200);
    let t = tenant.uuid();
    let mut values: Vec<sea_orm::Value> = vec![t.into(), order.request.product_id.map(|p| p.uuid()).into(), t.into()];
    let marks = if tokens.is_empty() {
        "NULL".to_owned()
    } else {
        values.extend(tokens.iter().map(|s| sea_orm::Value::from(s.clone())));
        vec!["?"; tokens.len()].join(", ")
    };
    values.extend([t.into(), ArticleStatus::Published.as_str().into(), (limit as i64).into()]);
    let sql = format!(
        "SELECT a.id AS id, \
         CASE WHEN EXISTS (SELECT 1 FROM kb_article_products p WHERE p.tenant_id = ? AND p.product_id = ? \
           AND p.article_id = a.id) THEN 1 ELSE 0 END AS product_match, \
         COALESCE(hits.n, 0) AS shared \
         FROM kb_articles a LEFT JOIN (SELECT article_id, COUNT(*) AS n FROM kb_article_tokens \
           WHERE tenant_id = ? AND token IN ({marks}) GROUP BY article_id) hits ON hits.article_id = a.id \
         WHERE a.tenant_id = ? AND a.status = ? AND a.deleted_at IS NULL \
         ORDER BY product_match DESC, shared DESC, a.updated_at DESC, a.id LIMIT ?"
    );
    let rows = conn.query_all_raw(crate::dialect::raw_statement(conn.get_database_backend(), &sql, values)).await?;
    let ranked: Vec<(Uuid, bool, i64)> = rows
        .into_iter()
        .map(|row| {
            Ok((row.try_get("", "id")?, row.try_get::<i32>("", "product_match")? == 1, row.try_get("", "shared")?))
        })
        .collect::<StoreResult<_>>()?;
    let ids: Vec<Uuid> = ranked.iter().filter(|(_, p, n)| *p || *n > 0).map(|(id, ..)| *id).collect();
    let articles = by_ids(conn, tenant, Readers::Staff, &ids).await?;
    Ok(ranked
        .into_iter()
        .filter_map(|(id, product_match, shared)| {
            let article = articles.iter().find(|a| a.id.uuid() == id)?.clone();
            Some(Suggestion { article, product_match, shared })
        })
        .collect())
}
