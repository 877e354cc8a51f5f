//! The sales forecast (销售预测), after Salesforce's forecast categories: each open deal
//! sits in PIPELINE, BEST_CASE or COMMIT (or is OMITTED from the forecast); a won deal is
//! CLOSED and a lost one OMITTED, whatever they were before. A forecast adds up, per period
//! and owner, what was won, what is committed, the best case, the pipeline and the
//! probability-weighted amount, beside the owner's quota (销售目标).

use chrono::{Datelike, NaiveDate};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::{ErrorCode, Invalid};
use crate::sales::opportunity::StageKind;

text_enum! {
    /// Where a deal counts in the forecast.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum ForecastCategory {
        /// 渠道: possible, not yet likely.
        Pipeline => "PIPELINE", "渠道";
        /// 最佳可能: could close in the period if things go well.
        BestCase => "BEST_CASE", "最佳可能";
        /// 承诺: the rep commits to closing it in the period.
        Commit => "COMMIT", "承诺";
        /// 已成交: won (set by winning).
        Closed => "CLOSED", "已成交";
        /// 排除: left out of the forecast (a lost deal, or one the rep leaves out).
        Omitted => "OMITTED", "排除";
    }
}

/// Checks a rep's choice of category for a deal in `status`.
pub fn check_category(status: StageKind, to: ForecastCategory) -> Result<(), Invalid> {
    if status != StageKind::Open {
        return Err(Invalid::one(
            "forecastCategory",
            ErrorCode::IllegalState,
            "a closed deal's category follows its outcome (CLOSED when won, OMITTED when lost)",
        ));
    }
    if to == ForecastCategory::Closed {
        return Err(Invalid::one("forecastCategory", ErrorCode::Invalid, "a deal becomes CLOSED by being won"));
    }
    Ok(())
}

/// A deal's category after a stage move from `from` to `to`: won is CLOSED, lost is
/// OMITTED, and a deal reopened from either starts again in PIPELINE.
pub fn category_after_move(from: StageKind, to: StageKind, before: ForecastCategory) -> ForecastCategory {
    match (from, to) {
        (_, StageKind::Won) => ForecastCategory::Closed,
        (_, StageKind::Lost) => ForecastCategory::Omitted,
        (StageKind::Won | StageKind::Lost, StageKind::Open) => ForecastCategory::Pipeline,
        (StageKind::Open, StageKind::Open) => before,
    }
}

/// How long a forecast's periods are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    Month,
    Quarter,
}

/// At most this many months in one forecast.
pub const MAX_MONTHS: u32 = 24;

/// The periods (first day, first day of the next) from the month of `from` through the
/// month of `to`, whole quarters for `Quarter`; refused when `to` comes before `from` or
/// the window passes [`MAX_MONTHS`].
pub fn periods(from: NaiveDate, to: NaiveDate, span: Span) -> Result<Vec<(NaiveDate, NaiveDate)>, Invalid> {
    let months = |d: NaiveDate| d.year() * 12 + d.month0() as i32;
    let step = match span {
        Span::Month => 1,
        Span::Quarter => 3,
    };
    let align = |m: i32| m - m.rem_euclid(step);
    let (first, last) = (align(months(from)), align(months(to)));
    if last < first {
        return Err(Invalid::one("to", ErrorCode::Invalid, "the window ends before it starts"));
    }
    if last + step - first > MAX_MONTHS as i32 {
        return Err(Invalid::one("to", ErrorCode::Invalid, format!("at most {MAX_MONTHS} months")));
    }
    let day = |m: i32| NaiveDate::from_ymd_opt(m.div_euclid(12), m.rem_euclid(12) as u32 + 1, 1);
    Ok((first..=last).step_by(step as usize).filter_map(|m| Some((day(m)?, day(m + step)?))).collect())
}

/// The figures of one owner (or department, or everyone) in one period, in fen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Figures {
    pub closed_won: i64,
    pub commit: i64,
    pub best_case: i64,
    pub pipeline: i64,
    /// Σ amount × stage probability of the open deals not omitted, in fen × percent.
    pub weighted_centi: i64,
    pub quota: Option<i64>,
}

impl Figures {
    pub fn add(&mut self, other: &Figures) {
        self.closed_won += other.closed_won;
        self.commit += other.commit;
        self.best_case += other.best_case;
        self.pipeline += other.pipeline;
        self.weighted_centi += other.weighted_centi;
        self.quota = match (self.quota, other.quota) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
        };
    }

    /// The weighted amount in fen, rounded half away from zero.
    pub fn weighted(&self) -> i64 {
        let exact = Decimal::from(self.weighted_centi) / Decimal::from(100);
        i64::try_from(exact.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)).unwrap_or(i64::MAX)
    }

    /// Won against quota, in percent to two places (half away from zero); none without a
    /// quota above zero.
    pub fn attainment(&self) -> Option<Decimal> {
        let quota = self.quota.filter(|q| *q > 0)?;
        let percent = Decimal::from(self.closed_won) * Decimal::from(100) / Decimal::from(quota);
        let mut percent = percent.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
        percent.rescale(2);
        Some(percent)
    }

    /// Counts an open deal of `category` worth `fen` at `probability` percent.
    pub fn count_open(&mut self, category: ForecastCategory, fen: i64, probability_centi: i64) {
        match category {
            ForecastCategory::Commit => self.commit += fen,
            ForecastCategory::BestCase => self.best_case += fen,
            ForecastCategory::Pipeline => self.pipeline += fen,
            ForecastCategory::Closed | ForecastCategory::Omitted => return,
        }
        self.weighted_centi += probability_centi;
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn periods_are_whole_months_or_quarters_and_bounded() {
        let months = periods(day("2027-11-15"), day("2028-01-03"), Span::Month).unwrap();
        assert_eq!(
            months,
            [
                (day("2027-11-01"), day("2027-12-01")),
                (day("2027-12-01"), day("2028-01-01")),
                (day("2028-01-01"), day("2028-02-01"))
            ]
        );
        let quarters = periods(day("2027-11-15"), day("2028-02-03"), Span::Quarter).unwrap();
        assert_eq!(quarters, [(day("2027-10-01"), day("2028-01-01")), (day("2028-01-01"), day("2028-04-01"))]);
        assert!(periods(day("2028-02-01"), day("2028-01-01"), Span::Month).is_err());
        assert!(periods(day("2027-01-01"), day("2028-12-01"), Span::Month).is_ok());
        assert!(periods(day("2027-01-01"), day("2029-01-01"), Span::Month).is_err());
    }

    #[test]
    fn categories_follow_outcomes_and_figures_round_half_away() {
        use ForecastCategory as F;
        assert!(check_category(StageKind::Open, F::Commit).is_ok());
        assert!(check_category(StageKind::Open, F::Closed).is_err());
        assert!(check_category(StageKind::Won, F::Pipeline).is_err());
        assert_eq!(category_after_move(StageKind::Open, StageKind::Won, F::Commit), F::Closed);
        assert_eq!(category_after_move(StageKind::Open, StageKind::Lost, F::Commit), F::Omitted);
        assert_eq!(category_after_move(StageKind::Lost, StageKind::Open, F::Omitted), F::Pipeline);
        assert_eq!(category_after_move(StageKind::Open, StageKind::Open, F::BestCase), F::BestCase);
        let mut f = Figures::default();
        // 1,000,050 fen at 10 %, and 5 fen at 10 %: 100,005.0 + 0.5 = 100,005.5 → 100,006.
        f.count_open(F::Commit, 1_000_050, 1_000_050 * 10);
        f.count_open(F::BestCase, 5, 5 * 10);
        f.count_open(F::Omitted, 999, 999 * 90);
        assert_eq!((f.commit, f.best_case, f.pipeline, f.weighted()), (1_000_050, 5, 0, 100_006));
        f.closed_won = 2;
        f.quota = Some(3);
        assert_eq!(f.attainment().unwrap().to_string(), "66.67");
        let mut total = Figures::default();
        total.add(&f);
        total.add(&Figures { quota: None, ..Figures::default() });
        assert_eq!(total.quota, Some(3));
    }
}
