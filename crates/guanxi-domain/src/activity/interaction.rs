//! Interactions (交流记录 / 跟进记录): calls, visits, emails, chats and meetings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, FieldError, Invalid};
use crate::ids::{ContactId, CustomerId, InteractionId, TenantId, UserId};

text_enum! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum Channel {
        Call => "CALL", "电话";
        Visit => "VISIT", "拜访";
        Email => "EMAIL", "邮件";
        Wechat => "WECHAT", "微信";
        Wecom => "WECOM", "企业微信";
        Meeting => "MEETING", "会议";
        Other => "OTHER", "其他";
    }
}

/// The checked fields of an interaction.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InteractionFields {
    pub channel: Channel,
    pub occurred_at: DateTime<Utc>,
    pub content: String,
    pub outcome: Option<String>,
    pub next_follow_up_at: Option<DateTime<Utc>>,
    pub contact_ids: Vec<ContactId>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

impl InteractionFields {
    pub const MAX_CONTENT: usize = 20_000;

    /// Checks what does not depend on stored data: content present and bounded, not in the
    /// future (beyond a little clock skew), a follow-up after the interaction.
    pub fn check(&self, now: DateTime<Utc>) -> Result<(), Invalid> {
        let mut invalid = Invalid::default();
        if self.content.trim().is_empty() {
            invalid.push(FieldError::new("content", ErrorCode::Required, "say what was discussed"));
        }
        if self.content.chars().count() > Self::MAX_CONTENT {
            invalid.push(FieldError::new("content", ErrorCode::Invalid, "content is at most 20,000 characters"));
        }
        if self.occurred_at > now + chrono::Duration::minutes(10) {
            invalid.push(FieldError::new("occurredAt", ErrorCode::Invalid, "an interaction cannot be in the future"));
        }
        if self.next_follow_up_at.is_some_and(|next| next < self.occurred_at) {
            invalid.push(FieldError::new(
                "nextFollowUpAt",
                ErrorCode::Invalid,
                "the next follow-up comes after the interaction",
            ));
        }
        if self.contact_ids.len() > 50 {
            invalid.push(FieldError::new("contactIds", ErrorCode::Invalid, "at most 50 contacts"));
        }
        invalid.into_result()
    }
}

/// An interaction as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Interaction {
    pub id: InteractionId,
    pub tenant_id: TenantId,
    pub customer_id: CustomerId,
    pub author_id: Option<UserId>,
    pub fields: InteractionFields,
    /// `manual` for typed-in records; the channel's name for ingested ones.
    pub source: String,
    pub external_id: Option<String>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Interaction {
    /// Whether this stored interaction is the one `fields` on `customer` describe, as an
    /// outside system re-sends it: times to the microsecond the database keeps, content as
    /// trimmed when written, contacts in any order.
    pub fn records(&self, customer: CustomerId, fields: &InteractionFields) -> bool {
        let micros = |t: Option<DateTime<Utc>>| t.map(|t| t.timestamp_micros());
        let contacts = |ids: &[ContactId]| {
            let mut ids: Vec<uuid::Uuid> = ids.iter().map(|c| c.uuid()).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let stored = &self.fields;
        self.customer_id == customer
            && stored.channel == fields.channel
            && micros(Some(stored.occurred_at)) == micros(Some(fields.occurred_at))
            && stored.content == fields.content.trim()
            && stored.outcome == fields.outcome
            && micros(stored.next_follow_up_at) == micros(fields.next_follow_up_at)
            && contacts(&stored.contact_ids) == contacts(&fields.contact_ids)
            && near(stored.latitude, fields.latitude)
            && near(stored.longitude, fields.longitude)
    }
}

/// Coordinates equal but for the last bits of a float parsed two ways (a query literal, a
/// JSON variable).
fn near(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-9,
        (a, b) => a.is_none() && b.is_none(),
    }
}

/// Checks a source name of ingested records: 1 to 40 letters, digits, dashes or dots.
pub fn parse_source(field: &str, raw: &str) -> Result<String, FieldError> {
    let source = raw.trim();
    let valid = (1..=40).contains(&source.len())
        && source.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && source != "manual";
    if valid {
        Ok(source.to_owned())
    } else {
        Err(FieldError::new(
            field,
            ErrorCode::Invalid,
            "a source is 1 to 40 letters, digits, dashes or dots, not `manual`",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(content: &str, occurred: DateTime<Utc>, next: Option<DateTime<Utc>>) -> InteractionFields {
        InteractionFields {
            channel: Channel::Call,
            occurred_at: occurred,
            content: content.into(),
            outcome: None,
            next_follow_up_at: next,
            contact_ids: vec![],
            latitude: None,
            longitude: None,
        }
    }

    #[test]
    fn interactions_are_checked() {
        let now = Utc::now();
        assert!(fields("沟通了报价", now, Some(now + chrono::Duration::days(3))).check(now).is_ok());
        let codes = |f: InteractionFields| {
            f.check(now).err().map(|e| e.0.into_iter().map(|x| x.field).collect::<Vec<_>>()).unwrap_or_default()
        };
        assert_eq!(codes(fields("  ", now, None)), ["content"]);
        assert_eq!(codes(fields("x", now + chrono::Duration::days(1), None)), ["occurredAt"]);
        assert_eq!(codes(fields("x", now, Some(now - chrono::Duration::days(1)))), ["nextFollowUpAt"]);
    }

    #[test]
    fn sources_are_names() {
        assert!(parse_source("source", "wecom-archive").is_ok());
        assert!(parse_source("source", "manual").is_err());
        assert!(parse_source("source", "has space").is_err());
        assert_eq!(Channel::parse("WECOM"), Some(Channel::Wecom));
    }
}
