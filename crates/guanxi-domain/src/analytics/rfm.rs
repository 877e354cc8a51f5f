//! Customer value by RFM (客户价值 RFM 模型): how recently a customer paid (recency), how
//! often (frequency) and how much (monetary), each scored 1 to 5 by the quintile of the
//! customer's position among the tenant's paying customers, and the eight classic segments the three
//! scores fall into. The store computes the scores in SQL; this module says what they
//! mean.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use crate::error::{ErrorCode, FieldError, Invalid};

/// The days of receipts that frequency and monetary count.
pub const WINDOW_DAYS: i64 = 365;

/// The lowest score that counts as high: above the middle quintile.
pub const HIGH: i16 = 4;

text_enum! {
    /// Where a customer's recency, frequency and monetary scores put it: each one is
    /// high (4 or 5) or not.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
    pub enum Segment {
        /// R, F and M high.
        ImportantValue => "IMPORTANT_VALUE", "重要价值客户";
        /// R and M high, F low: recent and large, not yet frequent.
        ImportantDevelop => "IMPORTANT_DEVELOP", "重要发展客户";
        /// F and M high, R low: a good customer gone quiet.
        ImportantKeep => "IMPORTANT_KEEP", "重要保持客户";
        /// M high, R and F low: large but slipping away.
        ImportantRetain => "IMPORTANT_RETAIN", "重要挽留客户";
        /// R and F high, M low.
        GeneralValue => "GENERAL_VALUE", "一般价值客户";
        /// R high, F and M low: new and small.
        GeneralDevelop => "GENERAL_DEVELOP", "一般发展客户";
        /// F high, R and M low.
        GeneralKeep => "GENERAL_KEEP", "一般保持客户";
        /// R, F and M low.
        GeneralRetain => "GENERAL_RETAIN", "一般挽留客户";
    }
}

impl Segment {
    /// Whether the segment has high recency, frequency and monetary scores.
    pub fn highs(self) -> [bool; 3] {
        match self {
            Self::ImportantValue => [true, true, true],
            Self::ImportantDevelop => [true, false, true],
            Self::ImportantKeep => [false, true, true],
            Self::ImportantRetain => [false, false, true],
            Self::GeneralValue => [true, true, false],
            Self::GeneralDevelop => [true, false, false],
            Self::GeneralKeep => [false, true, false],
            Self::GeneralRetain => [false, false, false],
        }
    }

    /// The segment of three scores.
    pub fn of(scores: [i16; 3]) -> Self {
        let highs = scores.map(|s| s >= HIGH);
        Self::ALL.iter().copied().find(|s| s.highs() == highs).unwrap_or(Self::GeneralRetain)
    }
}

/// A paying customer's value as of a refresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerValue {
    pub customer_id: Uuid,
    pub first_received_on: NaiveDate,
    pub last_received_on: NaiveDate,
    /// Approved receipts in the [`WINDOW_DAYS`] up to the refresh, and their money.
    pub receipts_last_year: i64,
    pub received_last_year: Decimal,
    /// Every approved receipt up to the refresh.
    pub received_to_date: Decimal,
    /// Recency, frequency and monetary, each 1 to 5.
    pub scores: [i16; 3],
    pub segment: Segment,
    pub computed_at: DateTime<Utc>,
}

/// Checks scores asked for in a filter: each 1 to 5.
pub fn check_scores(field: &str, scores: &[i16]) -> Result<(), Invalid> {
    let mut invalid = Invalid::default();
    if scores.iter().any(|s| !(1..=5).contains(s)) {
        invalid.push(FieldError::new(field, ErrorCode::Invalid, "scores run from 1 to 5"));
    }
    invalid.into_result()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_combination_of_high_and_low_has_one_segment() {
        let cases = [
            ([5, 5, 5], Segment::ImportantValue),
            ([4, 3, 4], Segment::ImportantDevelop),
            ([3, 4, 5], Segment::ImportantKeep),
            ([1, 1, 4], Segment::ImportantRetain),
            ([5, 4, 3], Segment::GeneralValue),
            ([4, 1, 1], Segment::GeneralDevelop),
            ([2, 5, 2], Segment::GeneralKeep),
            ([3, 3, 3], Segment::GeneralRetain),
        ];
        for (scores, segment) in cases {
            assert_eq!(Segment::of(scores), segment, "{scores:?}");
        }
        let mut seen: Vec<[bool; 3]> = Segment::ALL.iter().map(|s| s.highs()).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 8, "eight distinct segments");
    }

    #[test]
    fn scores_outside_one_to_five_are_refused() {
        assert!(check_scores("rfm.recency", &[1, 5]).is_ok());
        let refused = check_scores("rfm.recency", &[0, 6]).err().map(|e| e.0[0].field.clone());
        assert_eq!(refused.as_deref(), Some("rfm.recency"));
    }
}
