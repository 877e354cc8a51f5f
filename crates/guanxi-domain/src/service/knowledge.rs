//! The knowledge base (知识库): articles in Markdown under a category tree, with tags, the
//! products they are about, an INTERNAL or PUBLIC visibility and a DRAFT or PUBLISHED
//! status; every save keeps a version. Articles are found by any Chinese substring of
//! their title or body through a token index, as customers are.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::customers::customer::search_text;
use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{ArticleCategoryId, ArticleId, ProductId, UserId};

text_enum! {
    /// Who may read an article.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
    pub enum ArticleVisibility {
        /// Staff only.
        Internal => "INTERNAL", "内部";
        /// Customers too, through their own channel.
        Public => "PUBLIC", "公开";
    }
}

text_enum! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
    pub enum ArticleStatus {
        Draft => "DRAFT", "草稿";
        Published => "PUBLISHED", "已发布";
    }
}

/// The most characters of an article's body.
pub const MAX_BODY: usize = 50_000;
/// The most tags and products an article names.
pub const MAX_TAGS: usize = 20;

/// An article's editable fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArticleFields {
    pub title: String,
    /// Markdown.
    pub body: String,
    pub category_id: Option<ArticleCategoryId>,
    pub tags: Vec<String>,
    /// The products it is about (suggested for their work orders).
    pub product_ids: Vec<ProductId>,
    pub visibility: ArticleVisibility,
    pub status: ArticleStatus,
}

impl ArticleFields {
    /// Every bad field at once; the title and tags come back trimmed, tags and products
    /// without repeats.
    pub fn check(mut self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        self.title = self.title.trim().to_owned();
        if self.title.is_empty() || self.title.chars().count() > 200 {
            invalid.push(FieldError::new("title", ErrorCode::Invalid, "a title of 1 to 200 characters"));
        }
        if self.body.chars().count() > MAX_BODY {
            invalid.push(FieldError::new("body", ErrorCode::Invalid, format!("at most {MAX_BODY} characters")));
        }
        let mut tags: Vec<String> = self.tags.iter().map(|t| t.trim().to_owned()).filter(|t| !t.is_empty()).collect();
        tags.sort();
        tags.dedup();
        if tags.len() > MAX_TAGS || tags.iter().any(|t| t.chars().count() > 30) {
            invalid.push(FieldError::new(
                "tags",
                ErrorCode::Invalid,
                format!("at most {MAX_TAGS} tags of 30 characters"),
            ));
        }
        self.tags = tags;
        self.product_ids.sort_by_key(|p| p.uuid());
        self.product_ids.dedup();
        if self.product_ids.len() > MAX_TAGS {
            invalid.push(FieldError::new("productIds", ErrorCode::Invalid, format!("at most {MAX_TAGS} products")));
        }
        invalid.into_result().map(|()| self)
    }

    /// The text search matches: title and body, normalised as customer names are.
    pub fn search_text(&self) -> String {
        search_text(&format!("{} {}", self.title, self.body))
    }
}

/// The index tokens of an article: every pair of neighbouring characters of its
/// normalised text and its last character, once each (`n:`, as customer names' tokens:
/// `customers::customer::name_tokens`), so a search for any substring finds it by its
/// pairs, and a single character by the tokens starting with it.
pub fn article_tokens(text: &str) -> Vec<String> {
    crate::customers::customer::name_tokens(text)
}

/// The tokens a work order's words share with articles worth suggesting: its pairs of
/// characters, at most `limit` of them.
pub fn suggestion_tokens(text: &str, limit: usize) -> Vec<String> {
    let chars: Vec<char> = search_text(text).chars().collect();
    let mut pairs: Vec<String> = chars.windows(2).map(|p| format!("n:{}{}", p[0], p[1])).collect();
    pairs.sort();
    pairs.dedup();
    pairs.truncate(limit);
    pairs
}

/// An article as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Article {
    pub id: ArticleId,
    pub fields: ArticleFields,
    pub author_id: Option<UserId>,
    pub published_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// One saved version of an article.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArticleVersion {
    pub version: i32,
    pub title: String,
    pub body: String,
    pub edited_by: Option<UserId>,
    pub created_at: DateTime<Utc>,
}

/// A node of the category tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ArticleCategory {
    pub id: ArticleCategoryId,
    pub parent_id: Option<ArticleCategoryId>,
    pub name: String,
    pub position: i32,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn fields() -> ArticleFields {
        ArticleFields {
            title: " 空调不制冷的排查 ".into(),
            body: "先检查**压缩机电容**，再看四通阀。".into(),
            category_id: None,
            tags: vec!["空调".into(), " 空调 ".into(), "".into()],
            product_ids: vec![],
            visibility: ArticleVisibility::Public,
            status: ArticleStatus::Published,
        }
    }

    #[test]
    fn fields_are_trimmed_and_checked() {
        let checked = fields().check().unwrap();
        assert_eq!(checked.title, "空调不制冷的排查");
        assert_eq!(checked.tags, ["空调"]);
        let bad = ArticleFields { title: String::new(), body: "字".repeat(MAX_BODY + 1), ..fields() };
        let names: Vec<String> = bad.check().unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(names, ["title", "body"]);
    }

    #[test]
    fn every_substring_is_covered_by_the_tokens() {
        let text = fields().check().unwrap().search_text();
        assert!(text.contains("压缩机电容") && !text.contains('*'), "{text}");
        let tokens = article_tokens(&text);
        for term in ["压缩机", "四通阀", "电容", "制冷"] {
            for pair in suggestion_tokens(term, 50) {
                assert!(tokens.contains(&pair), "{term}: {pair}");
            }
        }
        assert_eq!(suggestion_tokens("空调漏水，滴水不止", 3).len(), 3);
    }
}
