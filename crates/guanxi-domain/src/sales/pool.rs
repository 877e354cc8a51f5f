//! Public pools (公海): customers without an owner that reps may claim (拾取), that owners
//! give back with a reason (放弃), and that a pool takes back automatically when their
//! owner neglects them (回收), after the rules of WuKong CRM's customer pools.
//!
//! Leads wait in the same pools (线索公海), under the same members, caps and cool-down:
//! a rule says whether it watches customers or leads ([`PoolSubject`]).
//!
//! A pool has members (users, and departments with everything below them) who may claim
//! from it, admins who hand its customers out, and settings: the reclaim rules, a warning
//! some days before a reclaim, a cool-down before a former owner may claim a customer
//! back, and caps on claims a day and on customers owned.

use std::collections::HashSet;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{DepartmentId, PoolId, TenantId, UserId};
use crate::platform::access::{Actor, Permission};

/// The most days a rule, a warning or a cool-down may name (ten years).
pub const MAX_DAYS: u32 = 3_650;

text_enum! {
    /// When a neglected customer goes back to the pool.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum ReclaimKind {
        /// No follow-up: no interaction (and no new owner) for `days`.
        NoFollowUp => "NO_FOLLOW_UP";
        /// No deal: owned for `days` without an open opportunity.
        NoDeal => "NO_DEAL";
        /// Not won: owned for `days` and never won a deal.
        NotWon => "NOT_WON";
    }
}

impl ReclaimKind {
    /// What the pool says when it takes a customer back by this rule.
    pub fn reason(self, days: u32) -> String {
        match self {
            Self::NoFollowUp => format!("{days} 天未跟进"),
            Self::NoDeal => format!("{days} 天未成交商机"),
            Self::NotWon => format!("{days} 天未赢单"),
        }
    }
}

text_enum! {
    /// What waits in a pool: customers or leads. Claims, caps and the cool-down work
    /// alike for both; each counts its own kind.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum PoolSubject {
        #[default]
        Customers => "CUSTOMERS";
        Leads => "LEADS";
    }
}

impl PoolSubject {
    /// The subject's plural, for messages.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Customers => "customers",
            Self::Leads => "leads",
        }
    }
}

/// One reclaim rule of a pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReclaimRule {
    /// What the rule watches; rules stored before lead pools watch customers.
    #[serde(default)]
    pub applies_to: PoolSubject,
    pub kind: ReclaimKind,
    pub days: u32,
    /// The customer levels the rule applies to; empty: every customer.
    pub levels: Vec<String>,
    /// Customers with a won deal are never taken back by this rule.
    pub exempt_won: bool,
    /// Customers with an open deal are never taken back by this rule.
    pub exempt_open: bool,
}

impl ReclaimRule {
    /// The owners' clock runs from this instant back: a customer whose basis time (see
    /// [`basis`]) lies before it is due.
    pub fn cutoff(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now - Duration::days(i64::from(self.days))
    }

    /// When a customer this rule watches falls due, from its basis time.
    pub fn due_at(&self, basis: DateTime<Utc>) -> DateTime<Utc> {
        basis + Duration::days(i64::from(self.days))
    }
}

/// The time a rule counts from: the owner's receipt of the customer and, for the
/// follow-up rule, the last interaction if it is later.
pub fn basis(
    kind: ReclaimKind,
    received_at: DateTime<Utc>,
    last_interaction_at: Option<DateTime<Utc>>,
) -> DateTime<Utc> {
    match (kind, last_interaction_at) {
        (ReclaimKind::NoFollowUp, Some(last)) if last > received_at => last,
        _ => received_at,
    }
}

text_enum! {
    /// Who belongs to a pool.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum MemberKind {
        /// One user.
        User => "USER";
        /// A department and every department below it.
        Department => "DEPARTMENT";
    }
}

/// A member of a pool: may see its customers and claim them. Admins also hand them out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolMember {
    pub kind: MemberKind,
    pub id: Uuid,
    pub admin: bool,
}

/// The settings of a pool, checked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolSettings {
    pub name: String,
    /// Whether the background job applies the rules (an admin may always run them).
    pub auto_reclaim: bool,
    /// Days before a reclaim that the owner sees it coming.
    pub warn_days: u32,
    /// Days after a customer left its owner before that owner may claim it back.
    pub cooldown_days: u32,
    /// Most customers one member may claim from this pool per day (Shanghai time).
    pub daily_claim_cap: Option<u32>,
    /// A member who owns this many customers may claim no more from this pool.
    pub owned_cap: Option<u32>,
    pub rules: Vec<ReclaimRule>,
    pub members: Vec<PoolMember>,
}

impl PoolSettings {
    /// Checks every field and reports all faults at once.
    pub fn check(mut self) -> Result<Self, Invalid> {
        let mut invalid = Invalid::default();
        self.name = self.name.trim().to_owned();
        if self.name.is_empty() {
            invalid.push(FieldError::new("name", ErrorCode::Required, "a pool needs a name"));
        } else if self.name.chars().count() > 60 {
            invalid.push(FieldError::new("name", ErrorCode::Invalid, "at most 60 characters"));
        }
        for (field, days) in [("warnDays", self.warn_days), ("cooldownDays", self.cooldown_days)] {
            if days > MAX_DAYS {
                invalid.push(FieldError::new(field, ErrorCode::Invalid, format!("at most {MAX_DAYS} days")));
            }
        }
        for (field, cap) in [("dailyClaimCap", self.daily_claim_cap), ("ownedCap", self.owned_cap)] {
            if cap == Some(0) {
                invalid.push(FieldError::new(field, ErrorCode::Invalid, "a cap is at least 1 (leave it out for none)"));
            }
        }
        for (i, rule) in self.rules.iter_mut().enumerate() {
            if rule.days == 0 || rule.days > MAX_DAYS {
                invalid.push(FieldError::new(
                    format!("rules.{i}.days"),
                    ErrorCode::Invalid,
                    format!("a rule counts 1 to {MAX_DAYS} days"),
                ));
            }
            rule.levels = rule.levels.iter().map(|l| l.trim().to_owned()).filter(|l| !l.is_empty()).collect();
            rule.levels.sort();
            rule.levels.dedup();
            if rule.applies_to == PoolSubject::Leads {
                check_lead_rule(i, rule, &mut invalid);
            }
        }
        if self.rules.iter().any(|r| r.days > 0 && self.warn_days >= r.days) {
            invalid.push(FieldError::new(
                "warnDays",
                ErrorCode::Invalid,
                "the warning must come before the shortest rule's limit",
            ));
        }
        // Two rules of one kind must not watch the same level: which limit would hold?
        for (i, a) in self.rules.iter().enumerate() {
            let clash = self.rules[..i].iter().any(|b| {
                b.kind == a.kind
                    && b.applies_to == a.applies_to
                    && (a.levels.is_empty() || b.levels.is_empty() || a.levels.iter().any(|l| b.levels.contains(l)))
            });
            if clash {
                invalid.push(FieldError::new(
                    format!("rules.{i}.levels"),
                    ErrorCode::Duplicate,
                    "another rule of this kind already covers these levels",
                ));
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, m) in self.members.iter().enumerate() {
            if !seen.insert((m.kind, m.id)) {
                invalid.push(FieldError::new(format!("members.{i}"), ErrorCode::Duplicate, "named twice"));
            }
        }
        invalid.into_result().map(|()| self)
    }
}

/// A lead has no level and no deals: a lead rule takes back leads nobody follows up.
fn check_lead_rule(i: usize, rule: &ReclaimRule, invalid: &mut Invalid) {
    if rule.kind != ReclaimKind::NoFollowUp {
        invalid.push(FieldError::new(
            format!("rules.{i}.kind"),
            ErrorCode::Invalid,
            "a lead rule takes back leads without follow-up (NO_FOLLOW_UP)",
        ));
    }
    if !rule.levels.is_empty() {
        invalid.push(FieldError::new(format!("rules.{i}.levels"), ErrorCode::Invalid, "leads have no level"));
    }
    if rule.exempt_won || rule.exempt_open {
        invalid.push(FieldError::new(
            format!("rules.{i}.appliesTo"),
            ErrorCode::Invalid,
            "leads have no deals to be exempt for",
        ));
    }
}

/// A pool as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Pool {
    pub id: PoolId,
    pub tenant_id: TenantId,
    pub settings: PoolSettings,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Who asks about a pool: a user, their department, and whether they manage every pool
/// (`settings.manage`).
#[derive(Clone, Copy, Debug)]
pub struct Caller {
    pub user: UserId,
    pub department: Option<DepartmentId>,
    pub manages_all: bool,
}

impl Caller {
    pub fn of(actor: &Actor) -> Self {
        Caller {
            user: actor.user_id,
            department: Some(actor.department_id),
            manages_all: actor.may(Permission::SettingsManage),
        }
    }
}

/// What a caller may do in one pool.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Access {
    /// May see its customers and claim them.
    pub member: bool,
    /// May hand its customers out, and see its members.
    pub admin: bool,
}

impl Access {
    pub fn sees(self) -> bool {
        self.member || self.admin
    }
}

impl Pool {
    /// What `caller` may do in this pool. `departments` holds the caller's department
    /// and every department above it: a department member admits everyone in its subtree.
    /// A member may claim; an admin member, or anyone who manages every pool, may also
    /// hand customers out.
    pub fn access(&self, caller: &Caller, departments: &HashSet<Uuid>) -> Access {
        let mine: Vec<&PoolMember> = self
            .settings
            .members
            .iter()
            .filter(|m| match m.kind {
                MemberKind::User => m.id == caller.user.uuid(),
                MemberKind::Department => departments.contains(&m.id),
            })
            .collect();
        Access { member: !mine.is_empty(), admin: caller.manages_all || mine.iter().any(|m| m.admin) }
    }
}

text_enum! {
    /// What happened to a customer at a pool; one row of the pool's log per customer.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum PoolAction {
        Claim => "CLAIM";
        Release => "RELEASE";
        Reclaim => "RECLAIM";
        Assign => "ASSIGN";
    }
}

/// A customer waiting in a pool, as a claimer weighs it.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolEntry {
    pub pool_id: PoolId,
    pub entered_at: DateTime<Utc>,
    pub previous_owner_id: Option<UserId>,
    /// How it came: released by its owner or reclaimed by a rule.
    pub action: PoolAction,
    pub reason: Option<String>,
}

/// What a claim or an assignment must respect, counted before it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClaimCounts {
    /// Live customers the claimer owns now.
    pub owned: u64,
    /// Customers the claimer took from this pool today (claims only).
    pub claimed_today: u64,
}

/// Checks a member's claim of `taking` customers (or leads) from a pool against its caps.
pub fn check_claim(
    settings: &PoolSettings,
    subject: PoolSubject,
    counts: ClaimCounts,
    taking: u64,
) -> Result<(), Invalid> {
    let mut invalid = Invalid::default();
    if let Some(cap) = settings.daily_claim_cap
        && counts.claimed_today + taking > u64::from(cap)
    {
        invalid.push(FieldError::new(
            "ids",
            ErrorCode::LimitReached,
            format!(
                "{} allows {cap} claims of {} a day; you have made {} today",
                settings.name,
                subject.noun(),
                counts.claimed_today
            ),
        ));
    }
    check_owned(settings, subject, counts.owned, taking, &mut invalid);
    invalid.into_result()
}

/// Checks an assignment of `taking` customers (or leads) to a user who owns `owned`.
pub fn check_assign(settings: &PoolSettings, subject: PoolSubject, owned: u64, taking: u64) -> Result<(), Invalid> {
    let mut invalid = Invalid::default();
    check_owned(settings, subject, owned, taking, &mut invalid);
    invalid.into_result()
}

fn check_owned(settings: &PoolSettings, subject: PoolSubject, owned: u64, taking: u64, invalid: &mut Invalid) {
    if let Some(cap) = settings.owned_cap
        && owned + taking > u64::from(cap)
    {
        invalid.push(FieldError::new(
            "ids",
            ErrorCode::LimitReached,
            format!(
                "{} allows at most {cap} {noun} per owner; the owner has {owned}",
                settings.name,
                noun = subject.noun()
            ),
        ));
    }
}

/// Until when a former owner may not claim back a customer that entered the pool at
/// `entered_at` (none when the cool-down is off).
pub fn cooldown_until(settings: &PoolSettings, entered_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (settings.cooldown_days > 0).then(|| entered_at + Duration::days(i64::from(settings.cooldown_days)))
}

/// A release needs a reason (放弃原因) of at most 200 characters.
pub fn check_reason(reason: &str) -> Result<String, Invalid> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(Invalid::one("reason", ErrorCode::Required, "say why it goes back to the pool"));
    }
    if reason.chars().count() > 200 {
        return Err(Invalid::one("reason", ErrorCode::Invalid, "at most 200 characters"));
    }
    Ok(reason.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    /// An edit of valid settings and the field errors it must cause.
    type Case = (Box<dyn Fn(&mut PoolSettings)>, Vec<(&'static str, &'static str)>);

    fn settings() -> PoolSettings {
        PoolSettings {
            name: " 华东公海 ".into(),
            auto_reclaim: true,
            warn_days: 3,
            cooldown_days: 7,
            daily_claim_cap: Some(5),
            owned_cap: Some(100),
            rules: vec![ReclaimRule {
                applies_to: PoolSubject::Customers,
                kind: ReclaimKind::NoFollowUp,
                days: 30,
                levels: vec![],
                exempt_won: true,
                exempt_open: false,
            }],
            members: vec![],
        }
    }

    fn codes(result: Result<PoolSettings, Invalid>) -> Vec<(String, &'static str)> {
        result.err().map(|e| e.0.into_iter().map(|f| (f.field, f.code.as_str())).collect()).unwrap_or_default()
    }

    #[test]
    fn settings_are_trimmed_and_checked_field_by_field() {
        assert_eq!(settings().check().map(|s| s.name), Ok("华东公海".to_owned()));
        let cases: Vec<Case> = vec![
            (Box::new(|s| s.name = "  ".into()), vec![("name", "REQUIRED")]),
            (Box::new(|s| s.rules[0].days = 0), vec![("rules.0.days", "INVALID")]),
            (Box::new(|s| s.warn_days = 30), vec![("warnDays", "INVALID")]),
            (Box::new(|s| s.daily_claim_cap = Some(0)), vec![("dailyClaimCap", "INVALID")]),
            (Box::new(|s| s.cooldown_days = MAX_DAYS + 1), vec![("cooldownDays", "INVALID")]),
            (
                Box::new(|s| {
                    let mut second = s.rules[0].clone();
                    second.levels = vec!["A".into()];
                    s.rules.push(second);
                }),
                vec![("rules.1.levels", "DUPLICATE")],
            ),
            (
                Box::new(|s| {
                    let m = PoolMember { kind: MemberKind::User, id: Uuid::nil(), admin: false };
                    s.members = vec![m, PoolMember { admin: true, ..m }];
                }),
                vec![("members.1", "DUPLICATE")],
            ),
        ];
        for (edit, expected) in cases {
            let mut s = settings();
            edit(&mut s);
            let got = codes(s.check());
            let expected: Vec<(String, &str)> = expected.into_iter().map(|(f, c)| (f.to_owned(), c)).collect();
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn rules_of_one_kind_may_split_the_levels() {
        let mut s = settings();
        s.rules[0].levels = vec!["A".into(), " ".into()];
        s.rules.push(ReclaimRule { days: 60, levels: vec!["B".into()], ..s.rules[0].clone() });
        s.rules.push(ReclaimRule { kind: ReclaimKind::NotWon, ..s.rules[0].clone() });
        let checked = s.check().expect("valid");
        assert_eq!(checked.rules[0].levels, ["A"]);
    }

    #[test]
    fn lead_rules_watch_follow_ups_only_and_split_from_customer_rules() {
        let mut s = settings();
        // The same kind for leads does not clash with the customers' rule.
        s.rules.push(ReclaimRule { applies_to: PoolSubject::Leads, days: 14, ..s.rules[0].clone() });
        s.rules[1].exempt_won = false;
        assert!(s.clone().check().is_ok());
        s.rules.push(ReclaimRule {
            applies_to: PoolSubject::Leads,
            kind: ReclaimKind::NoDeal,
            days: 20,
            levels: vec!["A".into()],
            exempt_won: true,
            exempt_open: false,
        });
        let got = codes(s.check());
        let fields: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["rules.2.kind", "rules.2.levels", "rules.2.appliesTo"]);
        // Rules stored before lead pools read as customer rules.
        let old: ReclaimRule =
            serde_json::from_str(r#"{"kind":"NO_DEAL","days":5,"levels":[],"exemptWon":false,"exemptOpen":false}"#)
                .unwrap();
        assert_eq!(old.applies_to, PoolSubject::Customers);
    }

    #[test]
    fn the_follow_up_rule_counts_from_the_later_of_receipt_and_last_interaction() {
        let received = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let later = Utc.with_ymd_and_hms(2026, 2, 1, 0, 0, 0).unwrap();
        let earlier = Utc.with_ymd_and_hms(2025, 12, 1, 0, 0, 0).unwrap();
        assert_eq!(basis(ReclaimKind::NoFollowUp, received, Some(later)), later);
        assert_eq!(basis(ReclaimKind::NoFollowUp, received, Some(earlier)), received);
        assert_eq!(basis(ReclaimKind::NoFollowUp, received, None), received);
        assert_eq!(basis(ReclaimKind::NoDeal, received, Some(later)), received);
        let rule = &settings().rules[0];
        assert_eq!(rule.due_at(received), Utc.with_ymd_and_hms(2026, 1, 31, 0, 0, 0).unwrap());
        assert_eq!(rule.cutoff(rule.due_at(received)), received);
    }

    #[test]
    fn claims_respect_the_daily_and_owned_caps() {
        let s = settings();
        assert!(check_claim(&s, PoolSubject::Customers, ClaimCounts { owned: 10, claimed_today: 4 }, 1).is_ok());
        let over = check_claim(&s, PoolSubject::Customers, ClaimCounts { owned: 99, claimed_today: 4 }, 2).unwrap_err();
        assert_eq!(over.0.len(), 2);
        assert!(over.0.iter().all(|e| e.code == ErrorCode::LimitReached));
        assert!(check_assign(&s, PoolSubject::Customers, 99, 1).is_ok());
        assert!(check_assign(&s, PoolSubject::Customers, 100, 1).is_err());
        let uncapped = PoolSettings { daily_claim_cap: None, owned_cap: None, ..s };
        assert!(
            check_claim(&uncapped, PoolSubject::Leads, ClaimCounts { owned: 10_000, claimed_today: 10_000 }, 50)
                .is_ok()
        );
    }

    #[test]
    fn the_cooldown_and_the_release_reason() {
        let s = settings();
        let entered = Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0).unwrap();
        assert_eq!(cooldown_until(&s, entered), Some(Utc.with_ymd_and_hms(2026, 3, 8, 0, 0, 0).unwrap()));
        assert_eq!(cooldown_until(&PoolSettings { cooldown_days: 0, ..s }, entered), None);
        assert_eq!(check_reason("  客户无预算 "), Ok("客户无预算".to_owned()));
        assert_eq!(check_reason(" ").unwrap_err().0[0].code, ErrorCode::Required);
        assert_eq!(check_reason(&"长".repeat(201)).unwrap_err().0[0].code, ErrorCode::Invalid);
        assert_eq!(ReclaimKind::parse("NOT_WON"), Some(ReclaimKind::NotWon));
        assert_eq!(ReclaimKind::NoFollowUp.reason(30), "30 天未跟进");
    }

    #[test]
    fn access_follows_membership_departments_and_the_manage_permission() {
        let (rep, east, east_sales) = (Uuid::from_u128(1), Uuid::from_u128(10), Uuid::from_u128(11));
        let member = |kind, id, admin| PoolMember { kind, id, admin };
        let pool = |members| Pool {
            id: PoolId::from_uuid(Uuid::from_u128(100)),
            tenant_id: TenantId::from_uuid(Uuid::from_u128(200)),
            settings: PoolSettings { members, ..settings() },
            version: 1,
            created_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
            updated_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        };
        let caller = |manages_all| Caller {
            user: UserId::from_uuid(rep),
            department: Some(crate::ids::DepartmentId::from_uuid(east_sales)),
            manages_all,
        };
        // The rep's department and the one above it.
        let chain: HashSet<Uuid> = [east_sales, east].into_iter().collect();
        let none = Access { member: false, admin: false };
        let cases = [
            // (members, manages every pool, expected)
            (vec![], false, none),
            (vec![], true, Access { member: false, admin: true }),
            (vec![member(MemberKind::User, rep, false)], false, Access { member: true, admin: false }),
            (vec![member(MemberKind::User, rep, true)], false, Access { member: true, admin: true }),
            (vec![member(MemberKind::User, Uuid::from_u128(2), true)], false, none),
            // A department member admits its whole subtree.
            (vec![member(MemberKind::Department, east, false)], false, Access { member: true, admin: false }),
            (vec![member(MemberKind::Department, Uuid::from_u128(12), true)], false, none),
        ];
        for (i, (members, manages_all, expected)) in cases.into_iter().enumerate() {
            assert_eq!(pool(members).access(&caller(manages_all), &chain), expected, "case {i}");
        }
        assert!(!none.sees());
        assert!(Access { member: false, admin: true }.sees());
    }
}
