//! The organisation: departments, users and the values they are made of.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, FieldError};
use crate::ids::{DepartmentId, RoleId, TenantId, UserId};

/// A node of the department tree.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Department {
    pub id: DepartmentId,
    pub tenant_id: TenantId,
    pub parent_id: Option<DepartmentId>,
    pub name: String,
    pub sort_order: i32,
    /// The department's head (部门负责人), who approves where a flow asks for them.
    pub head_id: Option<UserId>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// An employee who logs in: in exactly one department, with at most one manager.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub tenant_id: TenantId,
    pub email: String,
    pub display_name: String,
    pub phone: Option<String>,
    pub department_id: DepartmentId,
    pub manager_id: Option<UserId>,
    pub role_id: RoleId,
    pub status: UserStatus,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Trims a text input and checks it is present and not too long (in characters, so a
/// Chinese name counts one per character).
pub fn required_text(field: &str, raw: &str, max_chars: usize) -> Result<String, FieldError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(FieldError::new(field, ErrorCode::Required, format!("{field} is required")));
    }
    if text.chars().count() > max_chars {
        return Err(FieldError::new(
            field,
            ErrorCode::Invalid,
            format!("{field} must be at most {max_chars} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(FieldError::new(field, ErrorCode::Invalid, format!("{field} has control characters")));
    }
    Ok(text.to_owned())
}

/// A department's or a role's display name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub const MAX_CHARS: usize = 100;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        required_text(field, raw, Self::MAX_CHARS).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A login email, kept lower-case so that one address is one user.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(FieldError::new(field, ErrorCode::Required, "email is required"));
        }
        if email.len() > 254 || !validator::ValidateEmail::validate_email(&email) {
            return Err(FieldError::new(field, ErrorCode::Invalid, "not a valid email address"));
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A tenant's short name used at login (`demo`): lower-case letters, digits and dashes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TenantSlug(String);

impl TenantSlug {
    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let slug = raw.trim().to_lowercase();
        let valid = (2..=40).contains(&slug.len())
            && slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !slug.starts_with('-')
            && !slug.ends_with('-');
        if valid {
            Ok(Self(slug))
        } else {
            Err(FieldError::new(
                field,
                ErrorCode::Invalid,
                "2 to 40 lower-case letters, digits or dashes, not starting or ending with a dash",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

text_enum! {
    /// Whether a user may log in.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum UserStatus {
        Active => "ACTIVE";
        Disabled => "DISABLED";
    }
}

/// Refuses a re-parenting that would make a node its own ancestor.
///
/// `ancestors_of_new_parent` lists the new parent and all of its ancestors (nearest
/// first). Used for the department tree (`parent`) and the management chain (`manager`).
pub fn check_no_cycle<Id: PartialEq>(
    field: &str,
    node: &Id,
    new_parent: Option<&Id>,
    ancestors_of_new_parent: &[Id],
) -> Result<(), FieldError> {
    let Some(parent) = new_parent else { return Ok(()) };
    if parent == node || ancestors_of_new_parent.contains(node) {
        return Err(FieldError::new(
            field,
            ErrorCode::Cycle,
            "the new parent is the record itself or one of its descendants",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_trimmed_lowercased_and_checked() {
        let cases = [
            ("  Rep1@Demo.Local ", Ok("rep1@demo.local")),
            ("", Err(ErrorCode::Required)),
            ("no-at-sign", Err(ErrorCode::Invalid)),
            ("a@b@c", Err(ErrorCode::Invalid)),
        ];
        for (input, expect) in cases {
            let got = Email::parse("email", input);
            match expect {
                Ok(e) => assert_eq!(got.map(Email::into_inner).ok().as_deref(), Some(e), "{input}"),
                Err(code) => assert_eq!(got.err().map(|e| e.code), Some(code), "{input}"),
            }
        }
    }

    #[test]
    fn names_count_characters_not_bytes() {
        let chinese = "销".repeat(100);
        assert!(Name::parse("name", &chinese).is_ok());
        let too_long = "销".repeat(101);
        assert_eq!(Name::parse("name", &too_long).err().map(|e| e.code), Some(ErrorCode::Invalid));
        assert_eq!(Name::parse("name", "   ").err().map(|e| e.code), Some(ErrorCode::Required));
        assert_eq!(Name::parse("name", "a\u{0}b").err().map(|e| e.code), Some(ErrorCode::Invalid));
    }

    #[test]
    fn tenant_slugs() {
        for ok in ["demo", "acme-2", "ab"] {
            assert!(TenantSlug::parse("tenant", ok).is_ok(), "{ok}");
        }
        for bad in ["a", "-demo", "demo-", "de mo", "演示", &"x".repeat(41)] {
            assert!(TenantSlug::parse("tenant", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn moving_a_node_under_itself_or_a_descendant_is_a_cycle() {
        // Tree: 1 → 2 → 3. Moving 1 under 3: ancestors of 3 are [2, 1].
        assert!(check_no_cycle("parentId", &1, Some(&3), &[3, 2, 1]).is_err());
        assert!(check_no_cycle("parentId", &1, Some(&1), &[1]).is_err());
        assert!(check_no_cycle("parentId", &3, Some(&1), &[1]).is_ok());
        assert!(check_no_cycle::<i32>("parentId", &3, None, &[]).is_ok());
    }
}
