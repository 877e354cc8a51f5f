//! Filter predicates shared by every list: text, id, time and boolean matches, combined
//! with `and` / `or` / `not`. Each becomes a sea-query condition; nothing is string-built.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr, SimpleExpr};
use sea_orm::{ColumnTrait, Condition};
use uuid::Uuid;

/// Matches on a text column. `contains` and `startsWith` are literal (wildcards in the
/// input are escaped); `like` takes a pattern. Matching ignores ASCII case on both engines.
#[derive(Clone, Debug, Default)]
pub struct TextFilter {
    pub eq: Option<String>,
    pub neq: Option<String>,
    pub any_of: Option<Vec<String>>,
    pub like: Option<String>,
    pub starts_with: Option<String>,
    pub contains: Option<String>,
    pub is_null: Option<bool>,
}

/// Escapes `%`, `_` and `\` so the text matches itself in a LIKE pattern.
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn lower_like(value: SimpleExpr, pattern: String) -> SimpleExpr {
    Func::lower(value).like(LikeExpr::new(pattern.to_lowercase()).escape('\\'))
}

impl TextFilter {
    pub fn condition<C: ColumnTrait>(&self, column: C) -> Condition {
        self.condition_on(Expr::col(column))
    }

    /// The same match on any text expression (a JSON member, say), so that every text
    /// filter behaves alike on both engines.
    pub fn condition_on(&self, value: SimpleExpr) -> Condition {
        let mut all = Condition::all();
        if let Some(v) = &self.eq {
            all = all.add(value.clone().eq(v.clone()));
        }
        if let Some(v) = &self.neq {
            all = all.add(value.clone().ne(v.clone()));
        }
        if let Some(values) = &self.any_of {
            all = all.add(value.clone().is_in(values.clone()));
        }
        if let Some(pattern) = &self.like {
            all = all.add(Func::lower(value.clone()).like(pattern.to_lowercase()));
        }
        if let Some(prefix) = &self.starts_with {
            all = all.add(lower_like(value.clone(), format!("{}%", escape_like(prefix))));
        }
        if let Some(part) = &self.contains {
            all = all.add(lower_like(value.clone(), format!("%{}%", escape_like(part))));
        }
        match self.is_null {
            Some(true) => all = all.add(value.is_null()),
            Some(false) => all = all.add(value.is_not_null()),
            None => {}
        }
        all
    }
}

/// Matches on an id column.
#[derive(Clone, Debug, Default)]
pub struct IdFilter {
    pub eq: Option<Uuid>,
    pub any_of: Option<Vec<Uuid>>,
    pub is_null: Option<bool>,
}

impl IdFilter {
    pub fn condition<C: ColumnTrait>(&self, column: C) -> Condition {
        let mut all = Condition::all();
        if let Some(v) = self.eq {
            all = all.add(column.eq(v));
        }
        if let Some(values) = &self.any_of {
            all = all.add(column.is_in(values.clone()));
        }
        match self.is_null {
            Some(true) => all = all.add(column.is_null()),
            Some(false) => all = all.add(column.is_not_null()),
            None => {}
        }
        all
    }
}

/// Matches on a timestamp column.
#[derive(Clone, Debug, Default)]
pub struct TimeFilter {
    pub gt: Option<DateTime<Utc>>,
    pub gte: Option<DateTime<Utc>>,
    pub lt: Option<DateTime<Utc>>,
    pub lte: Option<DateTime<Utc>>,
}

impl TimeFilter {
    pub fn condition<C: ColumnTrait>(&self, column: C) -> Condition {
        let mut all = Condition::all();
        if let Some(v) = self.gt {
            all = all.add(column.gt(v));
        }
        if let Some(v) = self.gte {
            all = all.add(column.gte(v));
        }
        if let Some(v) = self.lt {
            all = all.add(column.lt(v));
        }
        if let Some(v) = self.lte {
            all = all.add(column.lte(v));
        }
        all
    }
}

/// The `and` / `or` / `not` part every entity filter has.
#[derive(Clone, Debug)]
pub struct Combinators<F> {
    pub and: Vec<F>,
    pub or: Vec<F>,
    pub not: Option<Box<F>>,
}

impl<F> Default for Combinators<F> {
    fn default() -> Self {
        Self { and: Vec::new(), or: Vec::new(), not: None }
    }
}

impl<F> Combinators<F> {
    /// Adds the combinators to `base`, using `leaf` to turn each nested filter into a condition.
    pub fn apply(&self, base: Condition, leaf: impl Fn(&F) -> Condition) -> Condition {
        let mut all = base;
        for f in &self.and {
            all = all.add(leaf(f));
        }
        if !self.or.is_empty() {
            let mut any = Condition::any();
            for f in &self.or {
                any = any.add(leaf(f));
            }
            all = all.add(any);
        }
        if let Some(f) = &self.not {
            all = all.add(leaf(f).not());
        }
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_input_are_escaped() {
        assert_eq!(escape_like("50%_off\\"), "50\\%\\_off\\\\");
        assert_eq!(escape_like("华东"), "华东");
    }
}
