//! CSV import and export of customers. Headers are the Chinese labels users see in Excel
//! (the English field names work too), so an export can be edited and imported again.

use std::collections::BTreeMap;
use std::str::FromStr;

use async_graphql::{Context, InputObject, MaybeUndefined, Object, SimpleObject};
use guanxi_domain::ErrorCode;
use guanxi_domain::customers::customer::{
    Customer as DomainCustomer, CustomerKind as DomainKind, CustomerStatus as DomainStatus, CustomerType as DomainType,
};
use guanxi_domain::platform::access::phone_as_seen;
use guanxi_domain::platform::access::{Module, Permission};
use rust_decimal::Decimal;
use serde_json::Value;

use crate::graphql::context::{author, require, state};
use crate::graphql::customers::customer::{Customer, CustomerFilter, CustomerStatus, CustomerType};
use crate::graphql::customers::customer_input::{CustomerFieldsInput, blank_fields};
use crate::graphql::customers::customer_mutation::{Refused, create_checked};
use crate::graphql::error::{ApiError, ApiResult, UserError};

/// Most rows one import takes.
pub const MAX_IMPORT_ROWS: usize = 1_000;
/// Most rows one export writes.
pub const MAX_EXPORT_ROWS: u64 = 50_000;

/// (field, Chinese header) in export order.
const COLUMNS: &[(&str, &str)] = &[
    ("customerNumber", "客户编号"),
    ("name", "客户名称"),
    ("kind", "客户性质"),
    ("type", "客户类别"),
    ("status", "客户状态"),
    ("level", "客户级别"),
    ("taxId", "统一社会信用代码"),
    ("mainPhone", "电话"),
    ("financePhone", "财务电话"),
    ("email", "邮箱"),
    ("website", "网址"),
    ("industry", "行业"),
    ("region", "区域"),
    ("province", "省份"),
    ("city", "城市"),
    ("address", "地址"),
    ("postalCode", "邮编"),
    ("size", "规模"),
    ("source", "来源"),
    ("creditRating", "信用等级"),
    ("creditLimit", "信用额度"),
    ("bankName", "开户银行"),
    ("bankAccount", "银行账号"),
    ("businessScope", "经营范围"),
    ("tags", "标签"),
    ("notes", "备注"),
    ("ownerEmail", "负责人邮箱"),
];

fn field_of(header: &str) -> Option<&'static str> {
    let header = header.trim().trim_start_matches('\u{feff}');
    COLUMNS.iter().find(|(field, label)| *field == header || *label == header).map(|(field, _)| *field)
}

fn kind_of(raw: &str) -> Option<DomainKind> {
    match raw.trim() {
        "企业" | "企业客户" => Some(DomainKind::Organization),
        "个人" | "个人客户" => Some(DomainKind::Individual),
        other => DomainKind::parse(&other.to_uppercase()),
    }
}

fn type_of(raw: &str) -> Option<DomainType> {
    DomainType::ALL.iter().copied().find(|t| t.label_zh() == raw.trim() || t.as_str() == raw.trim().to_uppercase())
}

fn status_of(raw: &str) -> Option<DomainStatus> {
    DomainStatus::ALL.iter().copied().find(|s| s.label_zh() == raw.trim() || s.as_str() == raw.trim().to_uppercase())
}

fn cell(customer: &DomainCustomer, field: &str, unmasked: bool, owner_email: &str) -> String {
    let f = &customer.fields;
    let phone = |p: &Option<String>| p.as_deref().map(|p| phone_as_seen(p, unmasked)).unwrap_or_default();
    let text = |t: &Option<String>| t.clone().unwrap_or_default();
    match field {
        "customerNumber" => customer.number.clone(),
        "name" => f.name.clone(),
        "kind" => match f.kind {
            DomainKind::Organization => "企业".into(),
            DomainKind::Individual => "个人".into(),
        },
        "type" => f.customer_type.label_zh().into(),
        "status" => f.status.label_zh().into(),
        "level" => text(&f.level),
        "taxId" => text(&f.tax_id),
        "mainPhone" => phone(&f.main_phone),
        "financePhone" => phone(&f.finance_phone),
        "email" => text(&f.email),
        "website" => text(&f.website),
        "industry" => text(&f.industry),
        "region" => text(&f.region),
        "province" => text(&f.province),
        "city" => text(&f.city),
        "address" => text(&f.address),
        "postalCode" => text(&f.postal_code),
        "size" => text(&f.size),
        "source" => text(&f.source),
        "creditRating" => text(&f.credit_rating),
        "creditLimit" => f.credit_limit.map(|d| format!("{d:.2}")).unwrap_or_default(),
        "bankName" => text(&f.bank_name),
        "bankAccount" => text(&f.bank_account),
        "businessScope" => text(&f.business_scope),
        "tags" => f.tags.join(";"),
        "notes" => text(&f.notes),
        "ownerEmail" => owner_email.to_owned(),
        _ => String::new(),
    }
}

/// An export: CSV text, UTF-8 with a byte-order mark so Excel reads Chinese correctly.
#[derive(SimpleObject)]
pub struct CustomerExport {
    csv: String,
    row_count: u64,
    file_name: String,
}

#[derive(Default)]
pub struct CustomerCsvQuery;

#[Object]
impl CustomerCsvQuery {
    /// The customers the caller may see, as CSV (needs `customer.export`). Phone numbers
    /// stay masked unless the caller holds `phone.unmasked`. At most 50,000 rows.
    async fn export_customers(&self, ctx: &Context<'_>, filter: Option<CustomerFilter>) -> ApiResult<CustomerExport> {
        let actor = require(ctx, Permission::CustomerExport)?;
        let filter = filter.unwrap_or_default().to_store(actor)?;
        let conn = state(ctx).db.connection();
        let customers = guanxi_store::customers::customer_search::for_export(
            conn,
            actor.tenant_id,
            actor.customer_rule(),
            &filter,
            MAX_EXPORT_ROWS,
        )
        .await?;
        let definitions = guanxi_store::platform::custom_field::definitions(
            conn,
            actor.tenant_id,
            crate::graphql::customers::customer::CUSTOM_FIELD_ENTITY,
        )
        .await?;
        let mut owner_ids: Vec<uuid::Uuid> = customers.iter().filter_map(|c| c.owner_id.map(|o| o.uuid())).collect();
        owner_ids.sort();
        owner_ids.dedup();
        let owners: BTreeMap<uuid::Uuid, String> =
            guanxi_store::platform::user::by_ids(conn, actor.tenant_id, actor.scope_rule(Module::Org), &owner_ids)
                .await?
                .into_iter()
                .map(|u| (u.id.uuid(), u.email))
                .collect();
        let unmasked = actor.sees_unmasked_phones();
        let mut writer = csv::Writer::from_writer(Vec::new());
        let header: Vec<String> = COLUMNS
            .iter()
            .map(|(_, label)| (*label).to_owned())
            .chain(definitions.iter().map(|d| d.label.clone()))
            .collect();
        writer.write_record(&header).map_err(ApiError::internal)?;
        for customer in &customers {
            let owner = customer.owner_id.and_then(|o| owners.get(&o.uuid())).map(String::as_str).unwrap_or_default();
            let mut row: Vec<String> =
                COLUMNS.iter().map(|(field, _)| cell(customer, field, unmasked, owner)).collect();
            for definition in &definitions {
                row.push(match customer.custom_fields.get(&definition.key) {
                    None => String::new(),
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(";"),
                    Some(other) => other.to_string(),
                });
            }
            // A cell Excel would run as a formula is written as text.
            let row: Vec<String> = row
                .into_iter()
                .map(|c| if c.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{c}") } else { c })
                .collect();
            writer.write_record(&row).map_err(ApiError::internal)?;
        }
        let bytes = writer.into_inner().map_err(ApiError::internal)?;
        let body = String::from_utf8(bytes).map_err(ApiError::internal)?;
        Ok(CustomerExport {
            csv: format!("\u{feff}{body}"),
            row_count: customers.len() as u64,
            file_name: format!("customers-{}.csv", chrono::Utc::now().format("%Y%m%d%H%M%S")),
        })
    }
}

#[derive(InputObject)]
pub struct ImportCustomersInput {
    /// CSV text with a header row (Chinese labels as in the export, or field names).
    pub csv: String,
    /// true: all rows or none. false (default): good rows are kept, bad rows reported.
    #[graphql(default)]
    pub atomic: bool,
    /// Import rows even when the duplicate check warns (a BLOCK policy still refuses).
    #[graphql(default)]
    pub confirm_duplicates: bool,
}

/// The outcome of one CSV row (index 0 is the first row after the header).
#[derive(SimpleObject)]
pub struct ImportRowResult {
    index: i32,
    customer: Option<Customer>,
    created: bool,
    user_errors: Vec<UserError>,
    /// The customers a refused row looks like (撞单), with their owners' names where the
    /// caller may know them.
    duplicates: Vec<crate::graphql::customers::customer_input::DuplicateMatch>,
}

#[derive(SimpleObject)]
pub struct ImportCustomersPayload {
    results: Vec<ImportRowResult>,
    created_count: i32,
    failed_count: i32,
    /// Errors about the whole file (bad header, too many rows).
    user_errors: Vec<UserError>,
}

/// One parsed row: the field input, custom values and the owner's email.
struct Row {
    fields: CustomerFieldsInput,
    custom: BTreeMap<String, Value>,
    owner_email: Option<String>,
    errors: Vec<UserError>,
}

fn parse_row(headers: &[Option<Column>], record: &csv::StringRecord) -> Row {
    let mut fields = CustomerFieldsInput::default();
    let mut custom = BTreeMap::new();
    let mut owner_email = None;
    let mut errors = Vec::new();
    let bad = |errors: &mut Vec<UserError>, field: &str, what: &str| {
        errors.push(UserError::new(field, ErrorCode::Invalid, what))
    };
    for (column, value) in headers.iter().zip(record.iter()) {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let set = |v: &str| MaybeUndefined::Value(v.to_owned());
        match column {
            None => {}
            Some(Column::Custom(key)) => {
                custom.insert(key.clone(), Value::String(value.to_owned()));
            }
            Some(Column::Field(field)) => match *field {
                "customerNumber" => {}
                "name" => fields.name = set(value),
                "kind" => match kind_of(value) {
                    Some(k) => fields.kind = MaybeUndefined::Value(k.into()),
                    None => bad(&mut errors, "kind", "企业 or 个人"),
                },
                "type" => match type_of(value) {
                    Some(t) => fields.customer_type = MaybeUndefined::Value(CustomerType::from(t)),
                    None => bad(&mut errors, "type", "客户, 合作伙伴, 经销商, 供应商 or 竞争对手"),
                },
                "status" => match status_of(value) {
                    Some(s) => fields.status = MaybeUndefined::Value(CustomerStatus::from(s)),
                    None => bad(&mut errors, "status", "潜在, 意向, 成交, 流失 or 休眠"),
                },
                "level" => fields.level = set(value),
                "taxId" => fields.tax_id = set(value),
                "mainPhone" => fields.main_phone = set(value),
                "financePhone" => fields.finance_phone = set(value),
                "email" => fields.email = set(value),
                "website" => fields.website = set(value),
                "industry" => fields.industry = set(value),
                "region" => fields.region = set(value),
                "province" => fields.province = set(value),
                "city" => fields.city = set(value),
                "address" => fields.address = set(value),
                "postalCode" => fields.postal_code = set(value),
                "size" => fields.size = set(value),
                "source" => fields.source = set(value),
                "creditRating" => fields.credit_rating = set(value),
                "creditLimit" => match Decimal::from_str(value) {
                    Ok(d) => fields.credit_limit = MaybeUndefined::Value(d),
                    Err(_) => bad(&mut errors, "creditLimit", "a decimal amount"),
                },
                "bankName" => fields.bank_name = set(value),
                "bankAccount" => fields.bank_account = set(value),
                "businessScope" => fields.business_scope = set(value),
                "tags" => {
                    fields.tags = MaybeUndefined::Value(
                        value.split([';', '；', ',', '，']).map(|t| t.trim().to_owned()).collect(),
                    )
                }
                "notes" => fields.notes = set(value),
                "ownerEmail" => owner_email = Some(value.to_owned()),
                _ => {}
            },
        }
    }
    Row { fields, custom, owner_email, errors }
}

enum Column {
    Field(&'static str),
    Custom(String),
}

#[derive(Default)]
pub struct CustomerCsvMutation;

#[Object]
impl CustomerCsvMutation {
    /// Imports customers from CSV (needs `customer.import`), up to 1,000 rows, one result
    /// per row. Each row runs the same checks as `createCustomer`, duplicate check included
    /// (also against rows earlier in the file).
    async fn import_customers(
        &self,
        ctx: &Context<'_>,
        input: ImportCustomersInput,
    ) -> ApiResult<ImportCustomersPayload> {
        let actor = require(ctx, Permission::CustomerImport)?.clone();
        let app = state(ctx);
        let file_error = |message: &str| ImportCustomersPayload {
            results: vec![],
            created_count: 0,
            failed_count: 0,
            user_errors: vec![UserError::new("csv", ErrorCode::Invalid, message)],
        };
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input.csv.as_bytes());
        let Ok(header) = reader.headers().cloned() else { return Ok(file_error("the CSV has no readable header row")) };
        let definitions = guanxi_store::platform::custom_field::definitions(
            app.db.connection(),
            actor.tenant_id,
            crate::graphql::customers::customer::CUSTOM_FIELD_ENTITY,
        )
        .await?;
        let columns: Vec<Option<Column>> = header
            .iter()
            .map(|h| {
                field_of(h).map(Column::Field).or_else(|| {
                    let h = h.trim();
                    let key = h.strip_prefix("custom:").unwrap_or(h);
                    definitions.iter().find(|d| d.key == key || d.label == h).map(|d| Column::Custom(d.key.clone()))
                })
            })
            .collect();
        if !columns.iter().any(|c| matches!(c, Some(Column::Field("name")))) {
            return Ok(file_error("the header needs a 客户名称 (name) column"));
        }
        let records: Vec<Result<csv::StringRecord, csv::Error>> = reader.records().collect();
        if records.len() > MAX_IMPORT_ROWS {
            return Ok(file_error(&format!("at most {MAX_IMPORT_ROWS} rows per import; split the file")));
        }
        let author = author(ctx, &actor);
        let conn = app.db.connection();
        let shared_tx = if input.atomic { Some(app.db.begin_tenant_write(actor.tenant_id).await?) } else { None };
        let mut results = Vec::with_capacity(records.len());
        // Refused rows' look-alikes, by place in `results`: shown after one scope check.
        let mut matched = Vec::new();
        let mut created_ids = Vec::new();
        for (index, record) in records.into_iter().enumerate() {
            let index = index as i32;
            let mut row = match record {
                Ok(r) => parse_row(&columns, &r),
                Err(e) => {
                    results.push(ImportRowResult {
                        index,
                        customer: None,
                        created: false,
                        user_errors: vec![UserError::new("csv", ErrorCode::Invalid, format!("unreadable row: {e}"))],
                        duplicates: vec![],
                    });
                    continue;
                }
            };
            let mut base = blank_fields();
            if let MaybeUndefined::Value(kind) = row.fields.kind {
                base.kind = kind.into();
            }
            let fields = row.fields.merge_into(&base).map_err(|e| row.errors.extend(UserError::all(e))).ok();
            let owner = match &row.owner_email {
                None => Some(actor.user_id),
                Some(email) => match guanxi_store::platform::user::find_for_login(conn, actor.tenant_id, email)
                    .await?
                    .filter(|u| u.status == "ACTIVE")
                {
                    Some(u) if u.id == actor.user_id.uuid() || actor.may(Permission::CustomerTransfer) => {
                        Some(u.id.into())
                    }
                    Some(_) => {
                        row.errors.push(UserError::new(
                            "ownerEmail",
                            ErrorCode::Forbidden,
                            "giving customers to others needs `customer.transfer`",
                        ));
                        None
                    }
                    None => {
                        row.errors.push(UserError::new("ownerEmail", ErrorCode::NotFound, "no user with this email"));
                        None
                    }
                },
            };
            let (Some(fields), Some(owner), true) = (fields, owner, row.errors.is_empty()) else {
                results.push(ImportRowResult {
                    index,
                    customer: None,
                    created: false,
                    user_errors: row.errors,
                    duplicates: vec![],
                });
                continue;
            };
            let outcome = match &shared_tx {
                Some(tx) => {
                    create_checked(tx, &actor, &author, fields, Some(owner), row.custom, input.confirm_duplicates)
                        .await?
                }
                None => {
                    let tx = app.db.begin_tenant_write(actor.tenant_id).await?;
                    let outcome =
                        create_checked(&tx, &actor, &author, fields, Some(owner), row.custom, input.confirm_duplicates)
                            .await?;
                    if outcome.is_ok() {
                        tx.commit().await?;
                    } else {
                        tx.rollback().await?;
                    }
                    outcome
                }
            };
            match outcome {
                Ok(customer) => {
                    created_ids.push(customer.id);
                    results.push(ImportRowResult {
                        index,
                        customer: Some(Customer(customer)),
                        created: true,
                        user_errors: vec![],
                        duplicates: vec![],
                    });
                }
                Err(Refused { invalid, duplicates }) => {
                    // A taken tax id is refused on `taxId`; a look-alike on the whole row.
                    let field = invalid.0.first().map(|e| e.field.clone()).unwrap_or_default();
                    let mut errors = UserError::all(invalid);
                    if !duplicates.is_empty() {
                        let reasons: Vec<&str> = duplicates
                            .iter()
                            .flat_map(|d| d.reasons.iter())
                            .map(|r| match r {
                                guanxi_domain::customers::customer::DuplicateReason::SameTaxId => {
                                    "统一社会信用代码相同"
                                }
                                guanxi_domain::customers::customer::DuplicateReason::SamePhone => "电话相同",
                                guanxi_domain::customers::customer::DuplicateReason::SameName => "名称相同",
                            })
                            .collect();
                        errors = vec![UserError::new(
                            &field,
                            ErrorCode::Duplicate,
                            format!("duplicate of an existing customer: {}", reasons.join(", ")),
                        )];
                    }
                    results.push(ImportRowResult {
                        index,
                        customer: None,
                        created: false,
                        user_errors: errors,
                        duplicates: vec![],
                    });
                    matched.push((results.len() - 1, duplicates));
                }
            }
        }
        let failed = results.iter().filter(|r| !r.created).count() as i32;
        if let Some(tx) = shared_tx {
            if failed == 0 {
                tx.commit().await?;
            } else {
                tx.rollback().await?;
                for result in &mut results {
                    if result.created {
                        result.created = false;
                        result.customer = None;
                    }
                }
                created_ids.clear();
            }
        }
        let found: Vec<_> = matched.iter().flat_map(|(_, d): &(usize, Vec<_>)| d.iter().cloned()).collect();
        let visible = crate::graphql::customers::customer::visible_ids(ctx, &actor, &found).await?;
        for (place, duplicates) in matched {
            results[place].duplicates = crate::graphql::customers::customer::matches_for(duplicates, &visible);
        }
        Ok(ImportCustomersPayload {
            created_count: created_ids.len() as i32,
            failed_count: failed,
            results,
            user_errors: vec![],
        })
    }
}
