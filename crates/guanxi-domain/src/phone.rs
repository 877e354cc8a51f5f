//! Mainland China phone numbers: parsing and masking.

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, FieldError};

/// A mobile (`13812345678`) or landline (`010-12345678`, `0755-1234567-123`) number,
/// stored without the optional `+86` and without spaces.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhoneNumber(String);

impl PhoneNumber {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let compact: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
        let national = compact
            .strip_prefix("+86")
            .or_else(|| compact.strip_prefix("0086"))
            .map(|rest| rest.trim_start_matches('-'))
            .unwrap_or(&compact);
        if is_mobile(national) || is_landline(national) {
            Ok(Self(national.to_owned()))
        } else {
            Err(FieldError::new(
                field,
                ErrorCode::Invalid,
                "not a mainland mobile (1xxxxxxxxxx) or landline (0xx-xxxxxxxx) number",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

fn is_mobile(s: &str) -> bool {
    s.len() == 11
        && s.starts_with('1')
        && s.as_bytes().get(1).is_some_and(|d| (b'3'..=b'9').contains(d))
        && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_landline(s: &str) -> bool {
    let mut parts = s.split('-');
    let (Some(area), Some(number)) = (parts.next(), parts.next()) else { return false };
    let extension_ok = match parts.next() {
        None => true,
        Some(ext) => (1..=6).contains(&ext.len()) && ext.bytes().all(|b| b.is_ascii_digit()),
    };
    parts.next().is_none()
        && extension_ok
        && area.starts_with('0')
        && (3..=4).contains(&area.len())
        && area.bytes().all(|b| b.is_ascii_digit())
        && (7..=8).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
        && !number.starts_with('0')
}

/// Masks the middle of a phone number (`138****5678`), keeping enough to recognise it.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() <= 4 {
        return "*".repeat(chars.len());
    }
    let keep_tail = 4;
    let keep_head = if chars.len() >= 11 { 3 } else { chars.len().saturating_sub(keep_tail + 3).min(3) };
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| if i < keep_head || i >= chars.len() - keep_tail || *c == '-' { *c } else { '*' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_mainland_numbers() {
        let cases = [
            ("13812345678", Some("13812345678")),
            ("+86 138 1234 5678", Some("13812345678")),
            ("+86-13812345678", Some("13812345678")),
            ("010-12345678", Some("010-12345678")),
            ("0755-1234567-123", Some("0755-1234567-123")),
            ("12812345678", None),
            ("1381234567", None),
            ("010-0123456", None),
            ("hello", None),
            ("", None),
        ];
        for (raw, expect) in cases {
            let got = PhoneNumber::parse("phone", raw).ok().map(PhoneNumber::into_inner);
            assert_eq!(got.as_deref(), expect, "{raw}");
        }
    }

    #[test]
    fn masks_the_middle() {
        let cases = [("13812345678", "138****5678"), ("010-12345678", "010-****5678"), ("1234", "****")];
        for (raw, expect) in cases {
            assert_eq!(mask_phone(raw), expect, "{raw}");
        }
    }
}
