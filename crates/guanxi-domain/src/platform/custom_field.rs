//! Custom fields: extra fields a tenant defines per entity, and the check of their values.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{ErrorCode, FieldError, Invalid};

text_enum! {
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
    pub enum CustomFieldType {
        Text => "TEXT";
        Number => "NUMBER";
        Decimal => "DECIMAL";
        Date => "DATE";
        Bool => "BOOL";
        SingleSelect => "SINGLE_SELECT";
        MultiSelect => "MULTI_SELECT";
    }
}

/// One tenant-defined field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomFieldDefinition {
    /// The key clients send (`industryCode`): letters, digits and underscores.
    pub key: String,
    pub label: String,
    pub field_type: CustomFieldType,
    pub required: bool,
    /// The choices of a select field.
    pub options: Vec<String>,
}

/// Checks a key: 1 to 40 letters, digits or underscores, starting with a letter.
pub fn parse_key(field: &str, raw: &str) -> Result<String, FieldError> {
    let key = raw.trim();
    let valid = (1..=40).contains(&key.len())
        && key.starts_with(|c: char| c.is_ascii_alphabetic())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(key.to_owned())
    } else {
        Err(FieldError::new(
            field,
            ErrorCode::Invalid,
            "a key has 1 to 40 letters, digits or underscores, starting with a letter",
        ))
    }
}

fn check_value(definition: &CustomFieldDefinition, field: &str, value: &Value) -> Result<Value, FieldError> {
    let wrong =
        |expect: &str| FieldError::new(field, ErrorCode::Invalid, format!("`{}` takes {expect}", definition.key));
    match definition.field_type {
        CustomFieldType::Text => match value {
            Value::String(s) if s.chars().count() <= 2000 => Ok(Value::String(s.trim().to_owned())),
            _ => Err(wrong("text of at most 2000 characters")),
        },
        CustomFieldType::Number => match value.as_i64() {
            Some(n) => Ok(Value::from(n)),
            None => Err(wrong("a whole number")),
        },
        CustomFieldType::Decimal => {
            let parsed = match value {
                Value::String(s) => s.trim().parse::<Decimal>().ok(),
                Value::Number(n) => n.to_string().parse::<Decimal>().ok(),
                _ => None,
            };
            match parsed {
                Some(d) => Ok(Value::String(d.normalize().to_string())),
                None => Err(wrong("a decimal number")),
            }
        }
        CustomFieldType::Date => match value.as_str().and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()) {
            Some(d) => Ok(Value::String(d.format("%Y-%m-%d").to_string())),
            None => Err(wrong("a date YYYY-MM-DD")),
        },
        CustomFieldType::Bool => match value {
            Value::Bool(b) => Ok(Value::Bool(*b)),
            _ => Err(wrong("true or false")),
        },
        CustomFieldType::SingleSelect => match value.as_str() {
            Some(choice) if definition.options.iter().any(|o| o == choice) => Ok(Value::String(choice.to_owned())),
            _ => Err(wrong(&format!("one of {}", definition.options.join(", ")))),
        },
        CustomFieldType::MultiSelect => {
            let choices: Option<Vec<&str>> = value.as_array().map(|a| a.iter().filter_map(Value::as_str).collect());
            match choices {
                Some(c)
                    if value.as_array().is_some_and(|a| a.len() == c.len())
                        && c.iter().all(|x| definition.options.iter().any(|o| o == x)) =>
                {
                    Ok(Value::from(c))
                }
                _ => Err(wrong(&format!("a list of {}", definition.options.join(", ")))),
            }
        }
    }
}

/// Checks `values` against the definitions: no unknown keys, every value of its type,
/// every required field present (when `require_all`, i.e. on create). Null removes a value.
pub fn check_values(
    definitions: &[CustomFieldDefinition],
    values: &BTreeMap<String, Value>,
    current: &BTreeMap<String, Value>,
    require_all: bool,
) -> Result<BTreeMap<String, Value>, Invalid> {
    let mut invalid = Invalid::default();
    let mut out = current.clone();
    for (key, value) in values {
        let field = format!("customFields.{key}");
        let Some(definition) = definitions.iter().find(|d| &d.key == key) else {
            invalid.push(FieldError::new(&field, ErrorCode::Invalid, format!("there is no custom field `{key}`")));
            continue;
        };
        if value.is_null() || value.as_str().is_some_and(|s| s.trim().is_empty()) {
            out.remove(key);
            continue;
        }
        if let Some(v) = invalid.check(check_value(definition, &field, value)) {
            out.insert(key.clone(), v);
        }
    }
    if require_all || !values.is_empty() {
        for definition in definitions.iter().filter(|d| d.required) {
            if !out.contains_key(&definition.key) && values.get(&definition.key).is_none_or(|v| v.is_null()) {
                invalid.push(FieldError::new(
                    format!("customFields.{}", definition.key),
                    ErrorCode::Required,
                    format!("`{}` is required", definition.label),
                ));
            }
        }
    }
    invalid.into_result()?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn defs() -> Vec<CustomFieldDefinition> {
        let d = |key: &str, t, required, options: &[&str]| CustomFieldDefinition {
            key: key.into(),
            label: key.into(),
            field_type: t,
            required,
            options: options.iter().map(|s| s.to_string()).collect(),
        };
        vec![
            d("employees", CustomFieldType::Number, false, &[]),
            d("revenue", CustomFieldType::Decimal, false, &[]),
            d("founded", CustomFieldType::Date, false, &[]),
            d("listed", CustomFieldType::Bool, false, &[]),
            d("tier", CustomFieldType::SingleSelect, true, &["A", "B"]),
            d("channels", CustomFieldType::MultiSelect, false, &["线上", "线下"]),
            d("memo", CustomFieldType::Text, false, &[]),
        ]
    }

    fn check(values: serde_json::Value) -> Result<BTreeMap<String, Value>, Vec<(String, ErrorCode)>> {
        let values: BTreeMap<String, Value> = serde_json::from_value(values).unwrap_or_default();
        check_values(&defs(), &values, &BTreeMap::new(), true)
            .map_err(|e| e.0.into_iter().map(|f| (f.field, f.code)).collect())
    }

    #[test]
    fn values_are_checked_by_type() {
        let ok = check(json!({"employees": 120, "revenue": "1234.50", "founded": "2010-04-06", "listed": true,
                              "tier": "A", "channels": ["线上"], "memo": " 重点 "}));
        let ok = ok.unwrap_or_default();
        assert_eq!(ok.get("revenue"), Some(&json!("1234.5")));
        assert_eq!(ok.get("memo"), Some(&json!("重点")));
        let cases = [
            (json!({"tier": "A", "employees": "many"}), "customFields.employees", ErrorCode::Invalid),
            (json!({"tier": "C"}), "customFields.tier", ErrorCode::Invalid),
            (json!({"tier": "A", "founded": "2010/04/06"}), "customFields.founded", ErrorCode::Invalid),
            (json!({"tier": "A", "channels": ["电话"]}), "customFields.channels", ErrorCode::Invalid),
            (json!({"tier": "A", "nope": 1}), "customFields.nope", ErrorCode::Invalid),
            (json!({}), "customFields.tier", ErrorCode::Required),
        ];
        for (input, field, code) in cases {
            let errors = check(input.clone()).err().unwrap_or_default();
            assert_eq!(errors, vec![(field.to_owned(), code)], "{input}");
        }
    }

    #[test]
    fn keys_are_identifiers() {
        assert!(parse_key("key", "industry_code2").is_ok());
        for bad in ["", "2x", "has space", "中文", &"k".repeat(41)] {
            assert!(parse_key("key", bad).is_err(), "{bad}");
        }
    }
}
