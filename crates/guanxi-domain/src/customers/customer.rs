//! Customers (客户档案): the values a customer card is made of and the rules that check
//! them — the unified social credit code, the mnemonic code, name normalisation for the
//! duplicate check, and the numbering rule.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{CustomerId, DepartmentId, TenantId, UserId};

/// The editable fields of a customer, checked. Create writes them all; update merges the
/// input into the current ones and writes the result, so one shape check covers both.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerFields {
    pub kind: CustomerKind,
    #[serde(rename = "type")]
    pub customer_type: CustomerType,
    pub name: String,
    pub level: Option<String>,
    pub status: CustomerStatus,
    pub credit_rating: Option<String>,
    pub credit_limit: Option<Decimal>,
    pub parent_id: Option<CustomerId>,
    pub industry: Option<String>,
    pub region: Option<String>,
    pub province: Option<String>,
    pub city: Option<String>,
    pub address: Option<String>,
    pub postal_code: Option<String>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub main_phone: Option<String>,
    pub finance_phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
    pub size: Option<String>,
    pub tax_id: Option<String>,
    pub bank_name: Option<String>,
    pub bank_account: Option<String>,
    pub business_scope: Option<String>,
    pub source: Option<String>,
    pub registered_at: Option<DateTime<Utc>>,
    pub tags: Vec<String>,
    pub notes: Option<String>,
}

impl CustomerFields {
    /// The rules that depend on the shape: an organisation may carry a tax id; an
    /// individual needs a phone number and has no tax id, bank account or business scope.
    pub fn check_shape(&self) -> Result<(), Invalid> {
        let mut invalid = Invalid::default();
        if self.name.trim().is_empty() {
            invalid.push(FieldError::new("name", ErrorCode::Required, "name is required"));
        }
        if self.kind == CustomerKind::Individual {
            if self.main_phone.is_none() {
                invalid.push(FieldError::new(
                    "mainPhone",
                    ErrorCode::Required,
                    "an individual customer needs a phone number",
                ));
            }
            for (field, present) in [
                ("taxId", self.tax_id.is_some()),
                ("businessScope", self.business_scope.is_some()),
                ("bankAccount", self.bank_account.is_some()),
            ] {
                if present {
                    invalid.push(FieldError::new(
                        field,
                        ErrorCode::Invalid,
                        format!("an individual customer has no {field}"),
                    ));
                }
            }
        }
        if self.latitude.is_some() != self.longitude.is_some() {
            invalid.push(FieldError::new("location", ErrorCode::Invalid, "give both latitude and longitude"));
        }
        invalid.into_result()
    }
}

/// A customer as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Customer {
    pub id: CustomerId,
    pub tenant_id: TenantId,
    pub number: String,
    pub mnemonic_code: String,
    pub fields: CustomerFields,
    pub owner_id: Option<UserId>,
    pub owner_department_id: Option<DepartmentId>,
    pub custom_fields: BTreeMap<String, serde_json::Value>,
    /// Set on a tombstone: the customer this one was merged into.
    pub merged_into_id: Option<CustomerId>,
    pub last_interaction_at: Option<DateTime<Utc>>,
    pub next_follow_up_at: Option<DateTime<Utc>>,
    /// When its last sale was confirmed (最近成交时间).
    pub last_deal_at: Option<DateTime<Utc>>,
    /// Set while the customer waits in a public pool (it has no owner then).
    pub pool: Option<crate::sales::pool::PoolEntry>,
    /// Since when its owner has it; the reclaim rules count from here (or from creation).
    pub owner_received_at: Option<DateTime<Utc>>,
    /// Locked against automatic reclaim (锁定).
    pub locked: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// Why two customers look like the same company.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DuplicateReason {
    SameTaxId,
    SamePhone,
    SameName,
}

/// Search tokens for a customer, a few per field, so that writing a customer stays cheap
/// (about fifteen rows for a company name, a phone and a tax id). Kinds are prefixed so
/// they never mix:
/// - `n:` every pair of neighbouring characters of the normalised name, and its last
///   character alone: a substring of two or more characters holds its pairs; a single
///   character is the range of tokens starting with it (a pair it begins, or the end);
/// - `m:` the mnemonic code of each plausible reading (see `mnemonic`), whole: a prefix
///   the user types is a range of these;
/// - `p:` each phone number's digits reversed: the last digits a user types are a prefix
///   of the reversal, so a phone suffix (and the whole number) is a range;
/// - `t:` the tax id, exact.
///
/// Searches read the ranges in byte order (`prefix_end`): the token columns compare
/// bytewise (SQLite's default, `COLLATE "C"` on PostgreSQL).
pub fn search_tokens(name: &str, phones: &[&str], tax_id: Option<&str>) -> Vec<String> {
    let mut tokens = name_tokens(&search_text(name));
    tokens.extend(mnemonic_tokens(name));
    for phone in phones {
        let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
        if digits.len() >= 4 {
            tokens.push(format!("p:{}", digits.chars().rev().collect::<String>()));
        }
    }
    if let Some(tax) = tax_id {
        tokens.push(format!("t:{}", tax.to_uppercase()));
    }
    tokens.sort();
    tokens.dedup();
    tokens.retain(|t| t.len() <= 80);
    tokens
}

/// The `n:` tokens of a normalised text: its pairs of neighbouring characters and its last
/// character (see `search_tokens`).
pub fn name_tokens(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut tokens: Vec<String> = chars.windows(2).map(|pair| format!("n:{}{}", pair[0], pair[1])).collect();
    tokens.extend(chars.last().map(|c| format!("n:{c}")));
    tokens.sort();
    tokens.dedup();
    tokens
}

/// The mnemonic-code search tokens of a name: the first 12 letters of every plausible
/// reading's code (多音字); a typed prefix is a range of them.
pub fn mnemonic_tokens(name: &str) -> Vec<String> {
    let mut tokens: Vec<String> = crate::mnemonic::mnemonic_codes(name)
        .into_iter()
        .filter(|code| !code.is_empty())
        .map(|code| format!("m:{}", code.chars().take(12).collect::<String>()))
        .collect();
    tokens.sort();
    tokens.dedup();
    tokens
}

/// The first string after every string that starts with `prefix` in byte order (UTF-8
/// byte order is code-point order): `prefix` with its last character stepped up one code
/// point, so `token >= prefix AND token < prefix_end(prefix)` is "starts with `prefix`"
/// and reads a range of an index. `None` when nothing follows (a prefix of `char::MAX`s):
/// the range is then open above.
pub fn prefix_end(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = (last as u32 + 1..=char::MAX as u32).find_map(char::from_u32) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

/// The text search compares: half-width, lower-case, letters and digits only.
pub fn search_text(text: &str) -> String {
    text.chars()
        .map(|c| halfwidth(c).unwrap_or(c))
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect()
}

/// What a search text looks for in a token table (see `search_tokens`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    /// Name pairs a match holds every one of (a text of two or more characters).
    pub name_tokens: Vec<String>,
    /// The normalised text, to confirm a match of more than two characters contains it.
    pub name_text: String,
    /// A match holds a token starting with one of these: a one-character text (`n:`), a
    /// mnemonic-code prefix (`m:`), a phone number's last digits (`p:`, reversed).
    pub prefixes: Vec<String>,
    /// A match holds one of these whole: a tax id.
    pub exact_tokens: Vec<String>,
}

impl SearchQuery {
    /// The query for records with no phone or tax id (products, articles): without those
    /// tokens, which such a token table never holds.
    pub fn without_phones_and_tax_ids(mut self) -> Self {
        self.prefixes.retain(|p| !p.starts_with("p:"));
        self.exact_tokens.retain(|t| !t.starts_with("t:"));
        self
    }

    /// The query for records without mnemonic codes either (articles): name tokens only.
    pub fn names_only(mut self) -> Self {
        self.prefixes.retain(|p| p.starts_with("n:"));
        self.exact_tokens.clear();
        self
    }

    /// A phone number matches only whole: its reversed digits held exactly, not as the
    /// start of a longer number's (for callers who see phones masked).
    pub fn whole_phones_only(mut self) -> Self {
        let (phones, rest): (Vec<String>, Vec<String>) = self.prefixes.into_iter().partition(|p| p.starts_with("p:"));
        self.prefixes = rest;
        self.exact_tokens.extend(phones);
        self
    }

    /// The tokens a record holds one of when it matches exactly: the whole mnemonic code,
    /// the whole phone number, the tax id.
    pub fn exact_match_tokens(&self) -> Vec<String> {
        let whole = self.prefixes.iter().filter(|p| !p.starts_with("n:"));
        whole.chain(&self.exact_tokens).cloned().collect()
    }

    /// The token prefixes that make a record a prefix match: the mnemonic code typed so far.
    pub fn prefix_match_ranges(&self) -> Vec<String> {
        self.prefixes.iter().filter(|p| p.starts_with("m:")).cloned().collect()
    }

    /// How well a record matches, given its name as search reads it (`search_text`), its
    /// name without the legal form (`normalize_name`: "小米科技" is the whole name of
    /// "小米科技有限公司") and its tokens (`search_tokens`). The database ranks by the same
    /// rules (`exact_match_tokens`, `prefix_match_ranges`).
    pub fn relevance(&self, search_name: &str, normalized_name: &str, tokens: &[String]) -> Relevance {
        let exact = self.exact_match_tokens();
        let ranges = self.prefix_match_ranges();
        let whole_name = search_name == self.name_text || normalized_name == self.name_text;
        if whole_name || tokens.iter().any(|t| exact.contains(t)) {
            Relevance::Exact
        } else if search_name.starts_with(&self.name_text)
            || tokens.iter().any(|t| ranges.iter().any(|r| t.starts_with(r.as_str())))
        {
            Relevance::Prefix
        } else {
            Relevance::Contains
        }
    }
}

/// How well a record matches a search, best first: search results come in this order,
/// then most recently updated first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Relevance {
    /// The whole name, mnemonic code, phone number or tax id.
    Exact = 0,
    /// The start of the name or of a mnemonic code.
    Prefix = 1,
    /// Anywhere in the name, or a phone number's last digits.
    Contains = 2,
}

pub fn search_query(term: &str) -> Option<SearchQuery> {
    let text = search_text(term);
    if text.is_empty() {
        return None;
    }
    let chars: Vec<char> = text.chars().collect();
    let mut prefixes = Vec::new();
    let name_tokens = if chars.len() == 1 {
        prefixes.push(format!("n:{}", chars[0]));
        Vec::new()
    } else {
        let mut pairs: Vec<String> = chars.windows(2).map(|p| format!("n:{}{}", p[0], p[1])).collect();
        pairs.sort();
        pairs.dedup();
        pairs
    };
    if text.chars().all(|c| c.is_ascii_alphanumeric()) {
        prefixes.push(format!("m:{}", text.chars().take(12).collect::<String>()));
    }
    let digits: String = term.chars().filter(char::is_ascii_digit).collect();
    if digits.len() >= 4
        && digits.len() == term.chars().filter(|c| !c.is_whitespace() && *c != '-' && *c != '+').count()
    {
        prefixes.push(format!("p:{}", digits.chars().rev().collect::<String>()));
    }
    let mut exact_tokens = Vec::new();
    if text.len() == 18 {
        exact_tokens.push(format!("t:{}", text.to_uppercase()));
    }
    Some(SearchQuery { name_tokens, name_text: text, prefixes, exact_tokens })
}

text_enum! {
    /// Organisations and individuals are different shapes with different required fields.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum CustomerKind {
        Organization => "ORGANIZATION";
        Individual => "INDIVIDUAL";
    }
}

text_enum! {
    /// What the company is to us.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum CustomerType {
        Customer => "CUSTOMER", "客户";
        Partner => "PARTNER", "合作伙伴";
        Distributor => "DISTRIBUTOR", "经销商";
        Supplier => "SUPPLIER", "供应商";
        Competitor => "COMPETITOR", "竞争对手";
    }
}

text_enum! {
    /// Where the relationship stands.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum CustomerStatus {
        Potential => "POTENTIAL", "潜在";
        Intent => "INTENT", "意向";
        Won => "WON", "成交";
        Lost => "LOST", "流失";
        Dormant => "DORMANT", "休眠";
    }
}

/// The characters of a unified social credit code, in value order (no I, O, S, V, Z).
const USCC_CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const USCC_WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

/// A unified social credit code (统一社会信用代码): 18 characters, the last a check
/// character computed from the first 17 (GB 32100-2015).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaxId(String);

impl TaxId {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let code: String = raw.trim().to_uppercase();
        let invalid = |why: &str| {
            FieldError::new(field, ErrorCode::Invalid, format!("not a valid unified social credit code: {why}"))
        };
        if code.chars().count() != 18 {
            return Err(invalid("it has 18 characters"));
        }
        let values: Option<Vec<u32>> =
            code.bytes().map(|b| USCC_CHARS.iter().position(|c| *c == b).map(|p| p as u32)).collect();
        let Some(values) = values else { return Err(invalid("a character is not allowed")) };
        let sum: u32 = values.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
        let check = (31 - sum % 31) % 31;
        if values[17] != check {
            return Err(invalid("the check character does not match"));
        }
        Ok(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }

    /// Completes 17 characters with their check character (for generated test data).
    pub fn with_check_character(first17: &str) -> Option<String> {
        let values: Option<Vec<u32>> =
            first17.bytes().map(|b| USCC_CHARS.iter().position(|c| *c == b).map(|p| p as u32)).collect();
        let values = values.filter(|v| v.len() == 17)?;
        let sum: u32 = values.iter().zip(USCC_WEIGHTS).map(|(v, w)| v * w).sum();
        let check = ((31 - sum % 31) % 31) as usize;
        Some(format!("{first17}{}", USCC_CHARS[check] as char))
    }
}

/// The half-width form of a full-width character (`Ａ` → `A`, `（` → `(`, ideographic space → space).
fn halfwidth(c: char) -> Option<char> {
    match c {
        '\u{3000}' => Some(' '),
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0),
        _ => None,
    }
}

/// Legal-form suffixes that do not tell two companies apart, longest first, already in
/// normalised form (half-width, lower-case, no spaces or punctuation).
const LEGAL_SUFFIXES: &[&str] = &[
    "股份有限公司",
    "有限责任公司",
    "集团有限公司",
    "有限公司",
    "分公司",
    "companylimited",
    "corporation",
    "colimited",
    "coltd",
    "limited",
    "company",
    "corp",
    "inc",
    "ltd",
    "co",
];

/// The name as the duplicate check compares it: half-width, lower-case, without brackets,
/// spaces, punctuation or a legal-form suffix. `北京小米科技有限责任公司` and
/// `北京小米科技（有限公司）` both become `北京小米科技`.
pub fn normalize_name(name: &str) -> String {
    let mut text: String = name
        .chars()
        .map(|c| halfwidth(c).unwrap_or(c))
        .flat_map(char::to_lowercase)
        .filter(|c| c.is_alphanumeric())
        .collect();
    // Strip suffixes repeatedly: "Xiaomi Technology Co., Ltd." ends in both "co" and "ltd".
    loop {
        let stripped = LEGAL_SUFFIXES.iter().find_map(|s| text.strip_suffix(s).filter(|rest| !rest.is_empty()));
        match stripped {
            Some(rest) => text = rest.to_owned(),
            None => return text,
        }
    }
}

/// How often a numbering sequence starts again from 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum SequenceReset {
    Daily,
    Monthly,
    Yearly,
    Never,
}

/// A numbering rule: text + date + sequence (`KH` + `20261123` + `0001`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NumberingRule {
    pub prefix: String,
    pub reset: SequenceReset,
    /// Digits of the sequence, zero-padded.
    pub width: u8,
}

impl Default for NumberingRule {
    fn default() -> Self {
        Self { prefix: "KH".into(), reset: SequenceReset::Daily, width: 4 }
    }
}

impl NumberingRule {
    /// The period a sequence value belongs to; the sequence restarts when it changes.
    pub fn period(&self, today: NaiveDate) -> String {
        match self.reset {
            SequenceReset::Daily => today.format("%Y%m%d").to_string(),
            SequenceReset::Monthly => today.format("%Y%m").to_string(),
            SequenceReset::Yearly => today.year().to_string(),
            SequenceReset::Never => String::new(),
        }
    }

    pub fn format(&self, today: NaiveDate, sequence: i64) -> String {
        format!("{}{}{:0width$}", self.prefix, self.period(today), sequence, width = usize::from(self.width))
    }

    pub fn check(&self) -> Result<(), FieldError> {
        let prefix_ok =
            self.prefix.chars().count() <= 10 && self.prefix.chars().all(|c| c.is_alphanumeric() || c == '-');
        if !prefix_ok || !(1..=10).contains(&self.width) {
            return Err(FieldError::new(
                "customerNumbering",
                ErrorCode::Invalid,
                "a prefix of at most 10 letters, digits or dashes, and 1 to 10 sequence digits",
            ));
        }
        Ok(())
    }
}

/// What creation does when the duplicate check finds matches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DuplicatePolicy {
    /// Refuse the new customer.
    Block,
    /// Refuse unless the client confirms (`confirmDuplicates: true`), listing the matches.
    #[default]
    Warn,
}

/// Whether a customer write is a create (the payload lists the matches) or an update
/// (the client asks `customerDuplicates` for them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DuplicateCheck {
    Create,
    Update,
}

/// Why a second customer with an existing unified social credit code is refused.
pub const TAX_ID_TAKEN: &str =
    "another customer has this unified social credit code (统一社会信用代码); merge the two instead";

impl DuplicatePolicy {
    /// The duplicate rule (查重): a write that found possible duplicates (`found`, the
    /// reasons of every match) is refused under BLOCK, and under WARN until the client
    /// confirms. A shared tax id is refused whatever the policy: a unified social credit
    /// code names exactly one legal entity.
    pub fn check(self, check: DuplicateCheck, found: &[DuplicateReason], confirmed: bool) -> Result<(), FieldError> {
        if found.contains(&DuplicateReason::SameTaxId) {
            return Err(FieldError::new("taxId", ErrorCode::Duplicate, TAX_ID_TAKEN));
        }
        if found.is_empty() || (self == DuplicatePolicy::Warn && confirmed) {
            return Ok(());
        }
        let message = match (check, self) {
            (DuplicateCheck::Create, DuplicatePolicy::Block) => "a customer like this already exists (查重: blocked)",
            (DuplicateCheck::Create, DuplicatePolicy::Warn) => {
                "possible duplicates found: review them and send confirmDuplicates: true to create anyway"
            }
            (DuplicateCheck::Update, _) => {
                "another customer has this name, tax id or phone (查重); see customerDuplicates"
            }
        };
        Err(FieldError::new("", ErrorCode::Duplicate, message))
    }
}

#[cfg(test)]
mod duplicate_rule {
    use super::*;

    #[test]
    fn block_refuses_matches_and_warn_refuses_them_until_confirmed() {
        use DuplicateCheck::{Create, Update};
        use DuplicatePolicy::{Block, Warn};
        use DuplicateReason::{SameName, SamePhone, SameTaxId};
        /// (policy, check, what the matches share, confirmed, the field refused on if refused)
        type Case = (DuplicatePolicy, DuplicateCheck, &'static [DuplicateReason], bool, Option<&'static str>);
        let cases: [Case; 11] = [
            (Block, Create, &[], false, None),
            (Block, Create, &[SameName], false, Some("")),
            (Block, Create, &[SamePhone], true, Some("")),
            (Warn, Create, &[SameName], false, Some("")),
            (Warn, Create, &[SameName, SamePhone], true, None),
            (Warn, Update, &[SamePhone], false, Some("")),
            (Warn, Update, &[], false, None),
            // A shared tax id is refused on `taxId` under any policy, confirmed or not.
            (Warn, Create, &[SameTaxId], true, Some("taxId")),
            (Warn, Update, &[SameName, SameTaxId], true, Some("taxId")),
            (Block, Create, &[SameTaxId], false, Some("taxId")),
            (Block, Update, &[SameTaxId], true, Some("taxId")),
        ];
        for (policy, check, found, confirmed, refused_on) in cases {
            let result = policy.check(check, found, confirmed);
            assert_eq!(
                result.as_ref().err().map(|e| e.field.as_str()),
                refused_on,
                "{policy:?} {check:?} {found:?} {confirmed}"
            );
            if let Err(e) = result {
                assert_eq!(e.code, ErrorCode::Duplicate);
            }
        }
    }
}

/// A money amount: non-negative, at most two decimal places (分), at most 10^13 yuan.
pub fn parse_amount(field: &str, amount: Decimal) -> Result<Decimal, FieldError> {
    if amount.is_sign_negative() {
        return Err(FieldError::new(field, ErrorCode::Invalid, "an amount cannot be negative"));
    }
    if amount.normalize().scale() > 2 {
        return Err(FieldError::new(field, ErrorCode::Invalid, "an amount has at most two decimal places"));
    }
    if amount > Decimal::from(10_000_000_000_000_i64) {
        return Err(FieldError::new(field, ErrorCode::Invalid, "the amount is too large"));
    }
    Ok(amount.round_dp(2))
}

/// Checks an optional free-text field's length; blank becomes `None`.
pub fn optional_text(field: &str, raw: Option<&str>, max_chars: usize) -> Result<Option<String>, FieldError> {
    match raw.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(text) if text.chars().count() > max_chars => {
            Err(FieldError::new(field, ErrorCode::Invalid, format!("{field} must be at most {max_chars} characters")))
        }
        Some(text) => Ok(Some(text.to_owned())),
    }
}

/// A mainland postal code: six digits.
pub fn parse_postal_code(field: &str, raw: &str) -> Result<String, FieldError> {
    let code = raw.trim();
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code.to_owned())
    } else {
        Err(FieldError::new(field, ErrorCode::Invalid, "a postal code has six digits"))
    }
}

/// A website address, with `https://` added when no scheme is given.
pub fn parse_website(field: &str, raw: &str) -> Result<String, FieldError> {
    let text = raw.trim();
    let with_scheme = if text.starts_with("http://") || text.starts_with("https://") {
        text.to_owned()
    } else {
        format!("https://{text}")
    };
    let host = with_scheme.split("://").nth(1).unwrap_or_default().split('/').next().unwrap_or_default();
    if host.contains('.') && !host.contains(' ') && with_scheme.len() <= 300 {
        Ok(with_scheme)
    } else {
        Err(FieldError::new(field, ErrorCode::Invalid, "not a website address"))
    }
}

/// Coordinates in WGS-84 degrees.
pub fn parse_coordinates(field: &str, latitude: f64, longitude: f64) -> Result<(f64, f64), FieldError> {
    if (-90.0..=90.0).contains(&latitude) && (-180.0..=180.0).contains(&longitude) {
        Ok((latitude, longitude))
    } else {
        Err(FieldError::new(field, ErrorCode::Invalid, "latitude is -90..90 and longitude -180..180"))
    }
}

/// Up to 20 distinct, trimmed tags of at most 20 characters each.
pub fn parse_tags(field: &str, tags: &[String]) -> Result<Vec<String>, FieldError> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        if tag.chars().count() > 20 {
            return Err(FieldError::new(field, ErrorCode::Invalid, "a tag has at most 20 characters"));
        }
        if !out.iter().any(|t| t == tag) {
            out.push(tag.to_owned());
        }
    }
    if out.len() > 20 {
        return Err(FieldError::new(field, ErrorCode::Invalid, "at most 20 tags"));
    }
    Ok(out)
}

/// Today in the tenant's time zone (Asia/Shanghai, UTC+8, unless the tenant says otherwise).
pub fn shanghai_date(now: DateTime<Utc>) -> NaiveDate {
    (now + chrono::Duration::hours(8)).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unified_social_credit_codes_are_checked() {
        let cases = [
            ("91350100M000100Y43", true),
            ("91110108551385082Q", true),
            ("91110108551385082q", true),
            ("91110108551385082A", false),
            ("9111010855138508", false),
            ("9111010855138508IO", false),
            ("", false),
        ];
        for (code, valid) in cases {
            assert_eq!(TaxId::parse("taxId", code).is_ok(), valid, "{code}");
        }
        let generated = TaxId::with_check_character("91310115MA1K4XXXX").unwrap_or_default();
        assert!(TaxId::parse("taxId", &generated).is_ok(), "{generated}");
    }

    #[test]
    fn names_normalise_away_legal_forms_widths_brackets_and_spaces() {
        let same = [
            "北京小米科技有限责任公司",
            "北京小米科技有限公司",
            "北京小米科技（有限公司）",
            "北京 小米 科技",
            "北京小米科技股份有限公司",
        ];
        for name in same {
            assert_eq!(normalize_name(name), "北京小米科技", "{name}");
        }
        assert_eq!(normalize_name("Xiaomi Technology Co., Ltd."), "xiaomitechnology");
        assert_eq!(normalize_name("ＸＩＡＯＭＩ　Technology Limited"), "xiaomitechnology");
        assert_eq!(normalize_name("有限公司"), "有限公司", "a name that is only a suffix stays");
        assert_ne!(normalize_name("北京小米科技"), normalize_name("北京大米科技"));
    }

    #[test]
    fn numbering_rules_reset_by_period() {
        let day = NaiveDate::from_ymd_opt(2026, 11, 23).unwrap_or_default();
        let cases = [
            (SequenceReset::Daily, "KH202611230007"),
            (SequenceReset::Monthly, "KH2026110007"),
            (SequenceReset::Yearly, "KH20260007"),
            (SequenceReset::Never, "KH0007"),
        ];
        for (reset, expect) in cases {
            let rule = NumberingRule { prefix: "KH".into(), reset, width: 4 };
            assert_eq!(rule.format(day, 7), expect);
        }
        assert!(NumberingRule { prefix: "KH".into(), reset: SequenceReset::Daily, width: 0 }.check().is_err());
    }

    #[test]
    fn amounts_are_exact_non_negative_and_in_fen() {
        use std::str::FromStr;
        let ok = |s: &str| parse_amount("creditLimit", Decimal::from_str(s).unwrap_or_default()).is_ok();
        assert!(ok("1234.50"));
        assert!(ok("0"));
        assert!(!ok("-1"));
        assert!(!ok("1.234"));
    }

    /// Whether `tokens` answer `term` the way the store reads them: every name pair held,
    /// or a token in one of the prefix ranges, or an exact token.
    fn found(tokens: &[String], term: &str) -> bool {
        let Some(q) = search_query(term) else { return false };
        let names = !q.name_tokens.is_empty() && q.name_tokens.iter().all(|t| tokens.contains(t));
        let ranged = q.prefixes.iter().any(|p| {
            let end = prefix_end(p);
            tokens.iter().any(|t| t.as_str() >= p.as_str() && end.as_deref().is_none_or(|end| t.as_str() < end))
        });
        names || ranged || q.exact_tokens.iter().any(|t| tokens.contains(t))
    }

    #[test]
    fn search_tokens_cover_substrings_prefixes_phone_suffixes_and_tax_ids() {
        let tokens = search_tokens("北京小米科技", &["138 0000 0001"], Some("91110108551385082q"));
        assert_eq!(
            tokens,
            [
                "m:bjxmkj",
                "m:bjxmkq",
                "n:京小",
                "n:北京",
                "n:小米",
                "n:技",
                "n:科技",
                "n:米科",
                "p:10000000831",
                "t:91110108551385082Q"
            ]
        );
        let name = search_text("北京小米科技");
        let chars: Vec<char> = name.chars().collect();
        for start in 0..chars.len() {
            for end in start + 1..=chars.len() {
                let sub: String = chars[start..end].iter().collect();
                assert!(found(&tokens, &sub), "{sub}");
            }
        }
        for term in ["b", "bj", "bjxm", "BJXMKJ", "0001", "13800000001", "138-0000-0001", "91110108551385082Q"] {
            assert!(found(&tokens, term), "{term}");
        }
        for term in ["上海", "bjxmkjx", "bx", "0002", "1380", "91110108551385082X", "小科"] {
            assert!(!found(&tokens, term), "{term}");
        }
        let Some(q) = search_query("13800000001") else { panic!("a phone number is a search") };
        assert_eq!(q.clone().whole_phones_only().exact_tokens, ["p:10000000831"]);
        assert!(q.clone().whole_phones_only().prefixes.iter().all(|p| !p.starts_with("p:")));
        assert!(q.clone().without_phones_and_tax_ids().prefixes.iter().all(|p| !p.starts_with("p:")));
        assert!(q.names_only().prefixes.iter().all(|p| p.starts_with("n:")));
        let q = search_query("小米科").map(|q| q.name_tokens).unwrap_or_default();
        assert_eq!(q, ["n:小米", "n:米科"]);
        assert!(search_query("  ").is_none());
    }

    #[test]
    fn relevance_ranks_whole_matches_then_prefixes_then_the_rest() {
        let rank = |term: &str, name: &str, phone: Option<&str>, tax: Option<&str>| {
            let tokens = search_tokens(name, &phone.into_iter().collect::<Vec<_>>(), tax);
            search_query(term).map(|q| q.relevance(&search_text(name), &normalize_name(name), &tokens))
        };
        let exact = Some(Relevance::Exact);
        let prefix = Some(Relevance::Prefix);
        let contains = Some(Relevance::Contains);
        assert_eq!(rank("小米科技", "小米科技", None, None), exact);
        assert_eq!(rank("小米科技", "小米科技有限公司", None, None), exact, "the name without its legal form");
        assert_eq!(rank("小米科技", "小米科技发展有限公司", None, None), prefix);
        assert_eq!(rank("小米", "小米科技", None, None), prefix);
        assert_eq!(rank("米科", "小米科技", None, None), contains);
        assert_eq!(rank("xmkj", "小米科技", None, None), exact, "the whole mnemonic code");
        assert_eq!(rank("xm", "小米科技", None, None), prefix, "the start of a mnemonic code");
        assert_eq!(rank("13800000001", "小米", Some("138 0000 0001"), None), exact);
        assert_eq!(rank("0001", "小米", Some("138 0000 0001"), None), contains, "a phone's last digits");
        assert_eq!(rank("91110108551385082Q", "小米", None, Some("91110108551385082Q")), exact);
        assert!(Relevance::Exact < Relevance::Prefix && Relevance::Prefix < Relevance::Contains);
        let masked = search_query("13800000001").map(SearchQuery::whole_phones_only);
        assert_eq!(masked.map(|q| q.exact_match_tokens().contains(&"p:10000000831".to_owned())), Some(true));
    }

    #[test]
    fn a_prefix_range_ends_after_every_string_with_the_prefix() {
        let end = |p: &str| prefix_end(p).unwrap_or_default();
        assert_eq!(end("m:shhx"), "m:shhy");
        assert_eq!(end("n:海"), "n:浸");
        assert_eq!(end("n:\u{d7ff}"), "n:\u{e000}");
        assert_eq!(end("a\u{10ffff}"), "b");
        assert_eq!(prefix_end("\u{10ffff}"), None);
        for token in ["m:shhx", "m:shhxkj", "m:shhxzzzz"] {
            assert!(token >= "m:shhx" && token < end("m:shhx").as_str());
        }
        assert!("m:shhy" >= end("m:shhx").as_str());
    }

    #[test]
    fn shapes_have_their_own_required_fields() {
        let mut fields = CustomerFields {
            kind: CustomerKind::Individual,
            customer_type: CustomerType::Customer,
            name: "张三".into(),
            level: None,
            status: CustomerStatus::Potential,
            credit_rating: None,
            credit_limit: None,
            parent_id: None,
            industry: None,
            region: None,
            province: None,
            city: None,
            address: None,
            postal_code: None,
            latitude: None,
            longitude: None,
            main_phone: None,
            finance_phone: None,
            email: None,
            website: None,
            size: None,
            tax_id: Some("91110108551385082Q".into()),
            bank_name: None,
            bank_account: None,
            business_scope: None,
            source: None,
            registered_at: None,
            tags: vec![],
            notes: None,
        };
        let fields_of = |r: Result<(), Invalid>| {
            r.err().map(|e| e.0.into_iter().map(|f| f.field).collect::<Vec<_>>()).unwrap_or_default()
        };
        assert_eq!(fields_of(fields.check_shape()), ["mainPhone", "taxId"]);
        fields.kind = CustomerKind::Organization;
        assert!(fields.check_shape().is_ok());
    }

    #[test]
    fn small_parsers() {
        assert!(parse_postal_code("postalCode", "100080").is_ok());
        assert!(parse_postal_code("postalCode", "10008").is_err());
        assert_eq!(parse_website("website", "www.mi.com").ok().as_deref(), Some("https://www.mi.com"));
        assert!(parse_website("website", "not a site").is_err());
        assert!(parse_coordinates("location", 39.9, 116.4).is_ok());
        assert!(parse_coordinates("location", 99.0, 116.4).is_err());
        assert_eq!(
            parse_tags("tags", &["重点".into(), " 重点 ".into(), "".into()]).ok(),
            Some(vec!["重点".to_owned()])
        );
    }
}
