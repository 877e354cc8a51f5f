//! Marketing (营销): campaigns with their members and return (`campaign`), and care plans
//! that put visits and calls for a segment of customers in their owners' calendars
//! (`care`).

pub mod campaign;
pub mod care;

use crate::error::{ErrorCode, FieldError, Invalid};

/// A campaign's or plan's name (`what`), trimmed: 1 to 100 characters, else an error in
/// `invalid` (and the name as given, for the other checks to go on).
fn checked_name(raw: &str, what: &str, invalid: &mut Invalid) -> String {
    let name = raw.trim().to_owned();
    if name.is_empty() || name.chars().count() > 100 {
        let message = format!("a {what} has a name of at most 100 characters");
        invalid.push(FieldError::new("name", ErrorCode::Invalid, message));
    }
    name
}
