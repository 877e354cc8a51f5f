//! Product defects (产品缺陷): one record per defect of a product, which the work orders
//! that met it link to, so quality sees how often each defect comes back.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{DefectId, ProductId, UserId};

text_enum! {
    /// How bad a defect is.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
    pub enum Severity {
        Low => "LOW", "轻微";
        Medium => "MEDIUM", "一般";
        High => "HIGH", "严重";
        Critical => "CRITICAL", "致命";
    }
}

text_enum! {
    /// Where a defect stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
    pub enum DefectStatus {
        /// 待确认: reported from the field.
        Open => "OPEN", "待确认";
        /// 已确认: quality reproduced it.
        Confirmed => "CONFIRMED", "已确认";
        /// 已修复: fixed in production; orders may still come in for units already sold.
        Fixed => "FIXED", "已修复";
        /// 不是缺陷
        Rejected => "REJECTED", "已驳回";
    }
}

/// A defect's editable fields.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DefectFields {
    pub product_id: ProductId,
    pub title: String,
    pub description: Option<String>,
    pub severity: Severity,
    pub status: DefectStatus,
}

impl DefectFields {
    /// Every bad field at once; texts come back trimmed.
    pub fn check(mut self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        self.title = self.title.trim().to_owned();
        if self.title.is_empty() || self.title.chars().count() > 200 {
            invalid.push(FieldError::new("title", ErrorCode::Invalid, "a title of 1 to 200 characters"));
        }
        self.description = self.description.map(|d| d.trim().to_owned()).filter(|d| !d.is_empty());
        if self.description.as_ref().is_some_and(|d| d.chars().count() > 5000) {
            invalid.push(FieldError::new("description", ErrorCode::Invalid, "at most 5000 characters"));
        }
        invalid.into_result().map(|()| self)
    }
}

/// A product defect as read back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Defect {
    pub id: DefectId,
    /// From the numbering rule (QX…).
    pub number: String,
    pub fields: DefectFields,
    pub created_by: Option<UserId>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_defect_needs_a_title_and_keeps_its_description_short() {
        let fields = DefectFields {
            product_id: ProductId::new(),
            title: "  压缩机异响 ".into(),
            description: Some(" ".into()),
            severity: Severity::High,
            status: DefectStatus::Open,
        };
        let checked = fields.clone().check().unwrap();
        assert_eq!((checked.title.as_str(), checked.description), ("压缩机异响", None));
        let bad = DefectFields { title: String::new(), description: Some("x".repeat(5001)), ..fields };
        let names: Vec<String> = bad.check().unwrap_err().0.into_iter().map(|e| e.field).collect();
        assert_eq!(names, ["title", "description"]);
    }
}
