//! The knowledge base (知识库): articles, their versions and categories, search, the
//! articles linked to work orders, and suggestions for an order.

use std::collections::HashMap;

use async_graphql::dataloader::Loader;
use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use guanxi_domain::entity::EntityKind;
use guanxi_domain::platform::access::Permission;
use guanxi_domain::service::knowledge::{
    Article as DomainArticle, ArticleCategory as DomainCategory, ArticleFields, ArticleStatus as DomainStatus,
    ArticleVisibility as DomainVisibility,
};
use guanxi_store::service::knowledge::{ArticleFilter as StoreFilter, Articles, Readers};
use serde::Serialize;
use uuid::Uuid;

use super::work_order::{WORK_ORDER, work_order_scope};
use super::work_order_mutation::WorkOrderPayload;
use crate::graphql::context::{author, require, state};
use crate::graphql::error::{ApiError, ApiResult, UserError};
use crate::graphql::loaders::{ScopedLoader, UserKey};
use crate::graphql::mutation::{Idempotent, reload_scoped, transact, write, write_by_id};
use crate::graphql::platform::org::User;
use crate::graphql::relay::{Conn, expect_id, global_id, input_id, listed, page_request, read_by_id};
use crate::graphql::shared::OrderDirection;
use crate::graphql::trade::document::{PRODUCT, loaders};

pub const ARTICLE: &str = EntityKind::Article.name();
/// Article categories' global ids (they have no history of their own).
pub const ARTICLE_CATEGORY: &str = "ArticleCategory";

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainVisibility")]
pub enum ArticleVisibility {
    /// 内部: staff only.
    Internal,
    /// 公开: customers too, through their own channel.
    Public,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
#[graphql(remote = "DomainStatus")]
pub enum ArticleStatus {
    Draft,
    Published,
}

/// A knowledge-base article (知识库文章).
pub struct Article(pub DomainArticle);

#[Object]
impl Article {
    pub async fn id(&self) -> ID {
        global_id(ARTICLE, self.0.id.uuid())
    }
    async fn title(&self) -> &str {
        &self.0.fields.title
    }
    /// Markdown.
    async fn body(&self) -> &str {
        &self.0.fields.body
    }
    async fn category_id(&self) -> Option<ID> {
        self.0.fields.category_id.map(|c| global_id(ARTICLE_CATEGORY, c.uuid()))
    }
    async fn tags(&self) -> &[String] {
        &self.0.fields.tags
    }
    /// The products it is about.
    async fn product_ids(&self, ctx: &Context<'_>) -> ApiResult<Vec<ID>> {
        let found = loaders(ctx)?.load_one(ProductsKey(self.0.id.uuid())).await?.unwrap_or_default();
        Ok(found.into_iter().map(|p| global_id(PRODUCT, p)).collect())
    }
    async fn visibility(&self) -> ArticleVisibility {
        self.0.fields.visibility.into()
    }
    async fn status(&self) -> ArticleStatus {
        self.0.fields.status.into()
    }
    async fn author(&self, ctx: &Context<'_>) -> ApiResult<Option<User>> {
        let Some(user) = self.0.author_id else { return Ok(None) };
        Ok(loaders(ctx)?.load_one(UserKey(user.uuid())).await?.map(User))
    }
    async fn published_at(&self) -> Option<DateTime<Utc>> {
        self.0.published_at
    }
    /// Every saved version, newest first (版本历史).
    async fn versions(&self, ctx: &Context<'_>) -> ApiResult<Vec<ArticleVersion>> {
        let actor = require(ctx, Permission::WorkOrderRead)?;
        let conn = state(ctx).db.connection();
        let found = guanxi_store::service::knowledge::versions(conn, actor.tenant_id, self.0.id.uuid()).await?;
        Ok(found
            .into_iter()
            .map(|v| ArticleVersion { version: v.version, title: v.title, body: v.body, created_at: v.created_at })
            .collect())
    }
    async fn version(&self) -> i32 {
        self.0.version
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at
    }
}

/// One saved version of an article.
#[derive(SimpleObject)]
pub struct ArticleVersion {
    version: i32,
    title: String,
    body: String,
    created_at: DateTime<Utc>,
}

/// A node of the article category tree.
#[derive(SimpleObject)]
pub struct ArticleCategory {
    id: ID,
    parent_id: Option<ID>,
    name: String,
    position: i32,
}

impl From<DomainCategory> for ArticleCategory {
    fn from(c: DomainCategory) -> Self {
        Self {
            id: global_id(ARTICLE_CATEGORY, c.id.uuid()),
            parent_id: c.parent_id.map(|p| global_id(ARTICLE_CATEGORY, p.uuid())),
            name: c.name,
            position: c.position,
        }
    }
}

/// The products an article is about.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProductsKey(pub Uuid);
/// The articles linked to a work order.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkedArticlesKey(pub Uuid);

impl Loader<ProductsKey> for ScopedLoader {
    type Value = Vec<Uuid>;
    type Error = ApiError;

    async fn load(&self, keys: &[ProductsKey]) -> Result<HashMap<ProductsKey, Vec<Uuid>>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found =
            guanxi_store::service::knowledge::products_of(self.db.connection(), self.actor.tenant_id, &ids).await?;
        let mut by_article: HashMap<ProductsKey, Vec<Uuid>> = HashMap::new();
        for (article, product) in found {
            by_article.entry(ProductsKey(article)).or_default().push(product);
        }
        Ok(by_article)
    }
}

impl Loader<LinkedArticlesKey> for ScopedLoader {
    type Value = Vec<DomainArticle>;
    type Error = ApiError;

    async fn load(&self, keys: &[LinkedArticlesKey]) -> Result<HashMap<LinkedArticlesKey, Self::Value>, ApiError> {
        let ids: Vec<Uuid> = keys.iter().map(|k| k.0).collect();
        let found =
            guanxi_store::service::knowledge::of_orders(self.db.connection(), self.actor.tenant_id, &ids).await?;
        let mut by_order: HashMap<LinkedArticlesKey, Vec<DomainArticle>> = HashMap::new();
        for (order, article) in found {
            by_order.entry(LinkedArticlesKey(order)).or_default().push(article);
        }
        Ok(by_order)
    }
}

/// The articles linked to a work order (the caller read the order).
pub async fn linked_to(ctx: &Context<'_>, order: Uuid) -> ApiResult<Vec<Article>> {
    let found = loaders(ctx)?.load_one(LinkedArticlesKey(order)).await?.unwrap_or_default();
    Ok(found.into_iter().map(Article).collect())
}

/// Filters articles.
#[derive(InputObject, Default)]
pub struct ArticleFilter {
    /// Any substring of the title or body (Chinese or not).
    pub search: Option<String>,
    pub category_id: Option<ID>,
    pub tag: Option<String>,
    pub product_id: Option<ID>,
    pub status: Option<ArticleStatus>,
    pub visibility: Option<ArticleVisibility>,
    /// `true`: the recycle bin.
    pub deleted: Option<bool>,
}

/// An article as suggested for a work order.
#[derive(SimpleObject)]
pub struct ArticleSuggestion {
    article: Article,
    /// It is about the order's product.
    product_match: bool,
    /// How many pairs of characters of the order's subject and description it shares.
    shared_terms: i64,
}

#[derive(Default)]
pub struct KnowledgeQuery;

#[Object]
impl KnowledgeQuery {
    /// An article by id (`workorder.read`).
    async fn article(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Article> {
        let found = read_by_id::<Articles>(ctx, Permission::WorkOrderRead, (&id, ARTICLE), |_| Readers::Staff).await?;
        Ok(Article(found))
    }

    /// Articles, most recently updated first; `search` finds any substring of a title or
    /// body through the token index.
    #[graphql(complexity = "first.unwrap_or(20) as usize * child_complexity")]
    async fn articles(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
        filter: Option<ArticleFilter>,
    ) -> ApiResult<Conn<Article>> {
        let actor = require(ctx, Permission::WorkOrderRead)?;
        let f = filter.unwrap_or_default();
        let filter = StoreFilter {
            search: f.search,
            category_id: f.category_id.as_ref().map(|c| expect_id(c, ARTICLE_CATEGORY)).transpose()?,
            tag: f.tag,
            product_id: f.product_id.as_ref().map(|p| expect_id(p, PRODUCT)).transpose()?,
            status: f.status.map(Into::into),
            visibility: f.visibility.map(Into::into),
            deleted: f.deleted,
        };
        let request = page_request(first, after, None, None, "UPDATED_AT")?;
        let query = (Readers::Staff, filter, OrderDirection::Desc.into());
        listed::<Articles, _>(&state(ctx).db, actor.tenant_id, query, &request, Article).await
    }

    /// The article category tree, as a list (parents name their children by `parentId`).
    async fn article_categories(&self, ctx: &Context<'_>) -> ApiResult<Vec<ArticleCategory>> {
        let actor = require(ctx, Permission::WorkOrderRead)?;
        let found = guanxi_store::service::knowledge::categories(state(ctx).db.connection(), actor.tenant_id).await?;
        Ok(found.into_iter().map(Into::into).collect())
    }

    /// Published articles ranked for a work order the caller sees: about its product
    /// first, then by the words they share with its subject and description.
    async fn suggest_articles(
        &self,
        ctx: &Context<'_>,
        work_order_id: ID,
        #[graphql(default = 5)] first: i32,
    ) -> ApiResult<Vec<ArticleSuggestion>> {
        let actor = require(ctx, Permission::WorkOrderRead)?;
        let order = read_by_id::<guanxi_store::service::work_order::WorkOrders>(
            ctx,
            Permission::WorkOrderRead,
            (&work_order_id, WORK_ORDER),
            work_order_scope,
        )
        .await?;
        let conn = state(ctx).db.connection();
        let limit = first.clamp(1, 20) as u64;
        let found = guanxi_store::service::knowledge::suggest(conn, actor.tenant_id, &order, limit).await?;
        Ok(found
            .into_iter()
            .map(|s| ArticleSuggestion {
                article: Article(s.article),
                product_match: s.product_match,
                shared_terms: s.shared,
            })
            .collect())
    }
}

#[derive(InputObject, Serialize)]
pub struct ArticleInput {
    pub title: String,
    /// Markdown, at most 50,000 characters.
    #[graphql(default)]
    pub body: String,
    pub category_id: Option<ID>,
    #[graphql(default)]
    pub tags: Vec<String>,
    #[graphql(default)]
    pub product_ids: Vec<ID>,
    #[graphql(default_with = "ArticleVisibility::Internal")]
    pub visibility: ArticleVisibility,
    #[graphql(default_with = "ArticleStatus::Draft")]
    pub status: ArticleStatus,
}

impl ArticleInput {
    fn to_domain(&self) -> Result<ArticleFields, Vec<UserError>> {
        let mut errors = Vec::new();
        let category = self
            .category_id
            .as_ref()
            .and_then(|c| input_id("categoryId", c, ARTICLE_CATEGORY).map_err(|e| errors.push(e)).ok());
        let products: Vec<_> = (self.product_ids.iter())
            .filter_map(|p| input_id("productIds", p, PRODUCT).map_err(|e| errors.push(e)).ok())
            .map(Into::into)
            .collect();
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(ArticleFields {
            title: self.title.clone(),
            body: self.body.clone(),
            category_id: category.map(Into::into),
            tags: self.tags.clone(),
            product_ids: products,
            visibility: self.visibility.into(),
            status: self.status.into(),
        })
    }
}

#[derive(InputObject, Serialize)]
pub struct CreateArticleInput {
    pub article: ArticleInput,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(InputObject)]
pub struct UpdateArticleInput {
    pub id: ID,
    pub expected_version: i32,
    pub article: ArticleInput,
}

#[derive(InputObject)]
pub struct DeleteArticleInput {
    pub id: ID,
    pub expected_version: i32,
}

#[derive(InputObject)]
pub struct CreateArticleCategoryInput {
    pub name: String,
    pub parent_id: Option<ID>,
    #[graphql(default)]
    pub position: i32,
}

#[derive(InputObject)]
pub struct LinkWorkOrderArticleInput {
    /// The work order.
    pub id: ID,
    pub expected_version: i32,
    pub article_id: ID,
    /// `false` unlinks.
    #[graphql(default = true)]
    pub linked: bool,
}

crate::graphql::error::payload! {
    ArticlePayload, article: Article(DomainArticle)
}

/// A category as written, or why not.
#[derive(SimpleObject)]
pub struct ArticleCategoryPayload {
    category: Option<ArticleCategory>,
    user_errors: Vec<UserError>,
}

impl From<crate::graphql::error::Outcome<DomainCategory>> for ArticleCategoryPayload {
    fn from(outcome: crate::graphql::error::Outcome<DomainCategory>) -> Self {
        match outcome {
            Ok(category) => Self { category: Some(category.into()), user_errors: vec![] },
            Err(user_errors) => Self { category: None, user_errors },
        }
    }
}

#[derive(Default)]
pub struct KnowledgeMutation;

#[Object]
impl KnowledgeMutation {
    /// Writes an article (`knowledge.write`); its first version is kept.
    async fn create_article(&self, ctx: &Context<'_>, input: CreateArticleInput) -> ApiResult<ArticlePayload> {
        let actor = require(ctx, Permission::KnowledgeWrite)?.clone();
        let fields = match input.article.to_domain() {
            Ok(f) => f,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let (author, tenant) = (author(ctx, &actor), actor.tenant_id);
        let idempotent = Idempotent::new(&actor, "createArticle", input.idempotency_key.as_deref(), &input);
        let result = write(
            ctx,
            idempotent,
            move |tx| {
                Box::pin(async move {
                    let created = guanxi_store::service::knowledge::create(tx, &author, fields).await?;
                    Ok((created.id.uuid(), created))
                })
            },
            reload_scoped::<Articles>(tenant, Readers::Staff),
        )
        .await?;
        Ok(result.into())
    }

    /// Rewrites an article (`knowledge.write`), keeping the text as a new version.
    async fn update_article(&self, ctx: &Context<'_>, input: UpdateArticleInput) -> ApiResult<ArticlePayload> {
        let fields = match input.article.to_domain() {
            Ok(f) => f,
            Err(errors) => return Ok(Err(errors).into()),
        };
        let version = input.expected_version;
        let staff = |_: &guanxi_domain::platform::access::Actor| Readers::Staff;
        write_by_id(ctx, Permission::KnowledgeWrite, (&input.id, ARTICLE), staff, move |tx, author, _, id| {
            Box::pin(async move { guanxi_store::service::knowledge::update(tx, &author, (id, version), fields).await })
        })
        .await
    }

    /// Moves an article to the recycle bin (`knowledge.write`).
    async fn delete_article(&self, ctx: &Context<'_>, input: DeleteArticleInput) -> ApiResult<ArticlePayload> {
        let version = input.expected_version;
        let staff = |_: &guanxi_domain::platform::access::Actor| Readers::Staff;
        write_by_id(ctx, Permission::KnowledgeWrite, (&input.id, ARTICLE), staff, move |tx, author, _, id| {
            Box::pin(async move { guanxi_store::service::knowledge::delete(tx, &author, (id, version)).await })
        })
        .await
    }

    /// Adds an article category (`knowledge.write`).
    async fn create_article_category(
        &self,
        ctx: &Context<'_>,
        input: CreateArticleCategoryInput,
    ) -> ApiResult<ArticleCategoryPayload> {
        let actor = require(ctx, Permission::KnowledgeWrite)?;
        let parent = match input.parent_id.as_ref().map(|p| input_id("parentId", p, ARTICLE_CATEGORY)).transpose() {
            Ok(p) => p,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let author = author(ctx, actor);
        let (name, position) = (input.name, input.position);
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                guanxi_store::service::knowledge::create_category(tx, &author, (&name, parent, position)).await
            })
        })
        .await?;
        Ok(result.into())
    }

    /// Removes an empty article category (`knowledge.write`): `NOT_EMPTY` while it holds
    /// categories or live articles.
    async fn delete_article_category(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Vec<UserError>> {
        let actor = require(ctx, Permission::KnowledgeWrite)?;
        let id = expect_id(&id, ARTICLE_CATEGORY)?;
        let author = author(ctx, actor);
        let result = transact(ctx, move |tx| {
            Box::pin(async move { guanxi_store::service::knowledge::delete_category(tx, &author, id).await })
        })
        .await?;
        Ok(result.err().unwrap_or_default())
    }

    /// Links an article to a work order as its solution, or unlinks it (`linked: false`)
    /// (`workorder.write`).
    async fn link_work_order_article(
        &self,
        ctx: &Context<'_>,
        input: LinkWorkOrderArticleInput,
    ) -> ApiResult<WorkOrderPayload> {
        let article = match input_id("articleId", &input.article_id, ARTICLE) {
            Ok(a) => a,
            Err(e) => return Ok(Err(vec![e]).into()),
        };
        let (version, linked) = (input.expected_version, input.linked);
        let id = (&input.id, WORK_ORDER);
        write_by_id(ctx, Permission::WorkOrderWrite, id, work_order_scope, move |tx, author, scope, id| {
            Box::pin(async move {
                guanxi_store::service::knowledge::link(tx, &author, scope, (id, version), (article, linked)).await
            })
        })
        .await
    }
}
