//! Rules of logging in: password policy and the lock-out after failed attempts.

use chrono::Duration;

use crate::error::{ErrorCode, FieldError};

/// A password as typed, checked against the policy. Never logged, never stored as is.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(field: &str, raw: &str) -> Result<Self, FieldError> {
        let chars = raw.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars) {
            return Err(FieldError::new(
                field,
                ErrorCode::Invalid,
                format!("a password has {} to {} characters", Self::MIN_CHARS, Self::MAX_CHARS),
            ));
        }
        if raw.trim().is_empty() {
            return Err(FieldError::new(field, ErrorCode::Invalid, "a password cannot be blank"));
        }
        Ok(Self(raw.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(***)")
    }
}

/// Failed logins allowed before the account is locked.
pub const FREE_FAILED_LOGINS: i32 = 5;

/// How long an account stays locked after `failed_logins` consecutive failures:
/// nothing for the first few, then 1 minute, doubling up to one hour.
pub fn lockout_after(failed_logins: i32) -> Option<Duration> {
    if failed_logins < FREE_FAILED_LOGINS {
        return None;
    }
    let doublings = (failed_logins - FREE_FAILED_LOGINS).min(6) as u32;
    Some(Duration::minutes(1 << doublings).min(Duration::hours(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockout_grows_and_is_capped() {
        let cases = [(0, None), (4, None), (5, Some(1)), (6, Some(2)), (10, Some(32)), (11, Some(60)), (50, Some(60))];
        for (failures, minutes) in cases {
            assert_eq!(lockout_after(failures), minutes.map(Duration::minutes), "{failures}");
        }
    }

    #[test]
    fn password_policy() {
        assert!(Password::parse("password", "guanxi-demo").is_ok());
        assert!(Password::parse("password", "short").is_err());
        assert!(Password::parse("password", "        ").is_err());
        assert!(Password::parse("password", &"x".repeat(129)).is_err());
        let debug = format!("{:?}", Password::parse("password", "secret-words").ok());
        assert!(!debug.contains("secret"), "{debug}");
    }
}
