//! System parameters (系统参数) and custom field definitions.

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use guanxi_domain::customers::customer::{
    DuplicatePolicy as DomainPolicy, NumberingRule, SequenceReset as DomainReset,
};
use guanxi_domain::platform::access::Permission;
use guanxi_domain::platform::custom_field::{CustomFieldDefinition, CustomFieldType as DomainType, parse_key};
use guanxi_domain::{ErrorCode, Invalid};
use guanxi_store::platform::tenant::TenantSettings;

use crate::graphql::context::{actor, author, require, state};
use crate::graphql::customers::customer::CustomFieldDefinitionView;
use crate::graphql::error::{ApiResult, UserError};
use crate::graphql::mutation::transact;
use crate::graphql::relay::global_id;

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum SequenceReset {
    Daily,
    Monthly,
    Yearly,
    Never,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DuplicatePolicy {
    /// 禁止: a customer matching an existing one is refused.
    Block,
    /// 提醒: matches are reported; the client confirms to create anyway.
    Warn,
}

/// Text + date + sequence, e.g. KH + 20261123 + 0001.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "NumberingRuleInput")]
pub struct Numbering {
    pub prefix: String,
    pub reset: SequenceReset,
    pub width: i32,
}

/// Decimal places (小数位数) per kind of document, 0 to 4.
#[derive(SimpleObject, InputObject, Clone, Copy)]
#[graphql(input_name = "DecimalPlacesInput")]
pub struct DecimalPlaces {
    pub quote: u32,
    pub order: u32,
    pub contract: u32,
    /// Product prices and price policies.
    pub product: u32,
}

#[derive(SimpleObject)]
pub struct Settings {
    customer_numbering: Numbering,
    duplicate_policy: DuplicatePolicy,
    /// What happens when an event double-books someone (WARN: saved and reported; BLOCK: refused).
    calendar_conflict_policy: DuplicatePolicy,
    product_numbering: Numbering,
    quote_numbering: Numbering,
    order_numbering: Numbering,
    decimal_places: DecimalPlaces,
    /// A quote more than this percent off list is approved (`quote.approve`) before it is
    /// sent; null: never.
    quote_approval_discount: Option<rust_decimal::Decimal>,
    /// Whether confirming a sales order wins its linked open deal.
    order_wins_deal: bool,
    contract_numbering: Numbering,
    receipt_numbering: Numbering,
    invoice_numbering: Numbering,
    /// Days before an installment is due to remind its contract's owner (回款提醒).
    installment_remind_days: i32,
    /// Days before an approved contract ends to remind its owner.
    contract_expiry_remind_days: i32,
    /// Whether a receipt may bring more than its contract still owes (预收款).
    allow_advance_receipts: bool,
    /// Days before a contact's birthday to remind their owner (生日提醒).
    birthday_remind_days: i32,
    work_order_numbering: Numbering,
    service_contract_numbering: Numbering,
    /// Days after completion a work order may still be reopened (返修期).
    work_order_reopen_days: i32,
    /// Days after a work order's first completion its agent calls back (回访); 0: never.
    return_visit_days: i32,
    defect_numbering: Numbering,
    /// The service agent who takes requests filed through the customer portal
    /// (自助服务受理人); null: the customer's owner.
    portal_agent_id: Option<ID>,
}

fn numbering(rule: &NumberingRule) -> Numbering {
    Numbering {
        prefix: rule.prefix.clone(),
        reset: match rule.reset {
            DomainReset::Daily => SequenceReset::Daily,
            DomainReset::Monthly => SequenceReset::Monthly,
            DomainReset::Yearly => SequenceReset::Yearly,
            DomainReset::Never => SequenceReset::Never,
        },
        width: i32::from(rule.width),
    }
}

/// The rule a client gave, checked; errors name `field`.
fn rule_of(n: &Numbering, field: &str) -> Result<NumberingRule, guanxi_domain::FieldError> {
    let rule = NumberingRule {
        prefix: n.prefix.trim().to_owned(),
        reset: match n.reset {
            SequenceReset::Daily => DomainReset::Daily,
            SequenceReset::Monthly => DomainReset::Monthly,
            SequenceReset::Yearly => DomainReset::Yearly,
            SequenceReset::Never => DomainReset::Never,
        },
        width: u8::try_from(n.width).unwrap_or(0),
    };
    rule.check().map_err(|e| guanxi_domain::FieldError { field: field.to_owned(), ..e })?;
    Ok(rule)
}

fn view(settings: &TenantSettings) -> Settings {
    let places = settings.decimal_places;
    Settings {
        customer_numbering: numbering(&settings.customer_numbering),
        product_numbering: numbering(&settings.product_numbering),
        quote_numbering: numbering(&settings.quote_numbering),
        order_numbering: numbering(&settings.order_numbering),
        decimal_places: DecimalPlaces {
            quote: places.quote.get(),
            order: places.order.get(),
            contract: places.contract.get(),
            product: places.product.get(),
        },
        quote_approval_discount: settings.quote_approval_discount,
        order_wins_deal: settings.order_wins_deal,
        contract_numbering: numbering(&settings.contract_numbering),
        receipt_numbering: numbering(&settings.receipt_numbering),
        invoice_numbering: numbering(&settings.invoice_numbering),
        installment_remind_days: i32::from(settings.installment_remind_days),
        contract_expiry_remind_days: i32::from(settings.contract_expiry_remind_days),
        allow_advance_receipts: settings.allow_advance_receipts,
        birthday_remind_days: i32::from(settings.birthday_remind_days),
        work_order_numbering: numbering(&settings.work_order_numbering),
        service_contract_numbering: numbering(&settings.service_contract_numbering),
        work_order_reopen_days: i32::from(settings.work_order_reopen_days),
        return_visit_days: i32::from(settings.return_visit_days),
        defect_numbering: numbering(&settings.defect_numbering),
        portal_agent_id: settings.portal_agent_id.map(|u| global_id(crate::graphql::platform::org::USER, u)),
        duplicate_policy: match settings.duplicate_policy {
            DomainPolicy::Block => DuplicatePolicy::Block,
            DomainPolicy::Warn => DuplicatePolicy::Warn,
        },
        calendar_conflict_policy: match settings.calendar_conflict_policy {
            guanxi_domain::activity::calendar::ConflictPolicy::Block => DuplicatePolicy::Block,
            guanxi_domain::activity::calendar::ConflictPolicy::Warn => DuplicatePolicy::Warn,
        },
    }
}

#[derive(InputObject)]
pub struct UpdateSettingsInput {
    pub customer_numbering: Option<Numbering>,
    pub product_numbering: Option<Numbering>,
    pub quote_numbering: Option<Numbering>,
    pub order_numbering: Option<Numbering>,
    pub decimal_places: Option<DecimalPlaces>,
    /// Percent off list above which a quote needs approval; null turns approval off.
    pub quote_approval_discount: async_graphql::MaybeUndefined<rust_decimal::Decimal>,
    pub order_wins_deal: Option<bool>,
    pub contract_numbering: Option<Numbering>,
    pub receipt_numbering: Option<Numbering>,
    pub invoice_numbering: Option<Numbering>,
    /// 0 to 365.
    pub installment_remind_days: Option<i32>,
    /// 0 to 365.
    pub contract_expiry_remind_days: Option<i32>,
    pub allow_advance_receipts: Option<bool>,
    /// 0 to 30.
    pub birthday_remind_days: Option<i32>,
    pub work_order_numbering: Option<Numbering>,
    pub service_contract_numbering: Option<Numbering>,
    /// 0 to 90.
    pub work_order_reopen_days: Option<i32>,
    /// 0 (no return visits) to 90.
    pub return_visit_days: Option<i32>,
    pub defect_numbering: Option<Numbering>,
    /// An active user; null: requests from the portal go to the customer's owner.
    pub portal_agent_id: async_graphql::MaybeUndefined<ID>,
    pub duplicate_policy: Option<DuplicatePolicy>,
    pub calendar_conflict_policy: Option<DuplicatePolicy>,
}

#[derive(SimpleObject)]
pub struct SettingsPayload {
    settings: Option<Settings>,
    user_errors: Vec<UserError>,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum CustomFieldEntity {
    Customer,
    Contact,
    Product,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum CustomFieldType {
    Text,
    Number,
    Decimal,
    Date,
    Bool,
    SingleSelect,
    MultiSelect,
}

#[derive(InputObject)]
pub struct DefineCustomFieldInput {
    pub entity: CustomFieldEntity,
    /// Letters, digits and underscores, starting with a letter; unique per entity.
    pub key: String,
    pub label: String,
    #[graphql(name = "type")]
    pub field_type: CustomFieldType,
    #[graphql(default)]
    pub required: bool,
    /// The choices of a select field.
    #[graphql(default)]
    pub options: Vec<String>,
    #[graphql(default)]
    pub sort_order: i32,
}

#[derive(SimpleObject)]
pub struct CustomFieldPayload {
    field: Option<CustomFieldDefinitionView>,
    user_errors: Vec<UserError>,
}

#[derive(Default)]
pub struct SettingsQuery;

#[Object]
impl SettingsQuery {
    /// The tenant's system parameters.
    async fn tenant_settings(&self, ctx: &Context<'_>) -> ApiResult<Settings> {
        let actor = actor(ctx)?;
        Ok(view(&guanxi_store::platform::tenant::settings(state(ctx).db.connection(), actor.tenant_id).await?))
    }
}

#[derive(Default)]
pub struct SettingsMutation;

#[Object]
impl SettingsMutation {
    async fn update_tenant_settings(
        &self,
        ctx: &Context<'_>,
        input: UpdateSettingsInput,
    ) -> ApiResult<SettingsPayload> {
        let actor = require(ctx, Permission::SettingsManage)?;
        let author = author(ctx, actor);
        let tenant = actor.tenant_id;
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                let mut settings = guanxi_store::platform::tenant::settings(tx, tenant).await?;
                let mut invalid = Invalid::default();
                for (given, field, rule) in [
                    (&input.customer_numbering, "customerNumbering", &mut settings.customer_numbering),
                    (&input.product_numbering, "productNumbering", &mut settings.product_numbering),
                    (&input.quote_numbering, "quoteNumbering", &mut settings.quote_numbering),
                    (&input.order_numbering, "orderNumbering", &mut settings.order_numbering),
                    (&input.contract_numbering, "contractNumbering", &mut settings.contract_numbering),
                    (&input.receipt_numbering, "receiptNumbering", &mut settings.receipt_numbering),
                    (&input.invoice_numbering, "invoiceNumbering", &mut settings.invoice_numbering),
                    (&input.work_order_numbering, "workOrderNumbering", &mut settings.work_order_numbering),
                    (&input.defect_numbering, "defectNumbering", &mut settings.defect_numbering),
                    (
                        &input.service_contract_numbering,
                        "serviceContractNumbering",
                        &mut settings.service_contract_numbering,
                    ),
                ] {
                    if let Some(checked) = given.as_ref().and_then(|n| invalid.check(rule_of(n, field))) {
                        *rule = checked;
                    }
                }
                if let Some(p) = input.decimal_places {
                    let place = |field: &str, n: u32| {
                        guanxi_domain::trade::money::Places::try_from(n).map_err(|message| {
                            guanxi_domain::FieldError::new(
                                format!("decimalPlaces.{field}"),
                                ErrorCode::Invalid,
                                message,
                            )
                        })
                    };
                    let places = &mut settings.decimal_places;
                    for (field, given, slot) in [
                        ("quote", p.quote, &mut places.quote),
                        ("order", p.order, &mut places.order),
                        ("contract", p.contract, &mut places.contract),
                        ("product", p.product, &mut places.product),
                    ] {
                        if let Some(checked) = invalid.check(place(field, given)) {
                            *slot = checked;
                        }
                    }
                }
                match input.quote_approval_discount {
                    async_graphql::MaybeUndefined::Undefined => {}
                    async_graphql::MaybeUndefined::Null => settings.quote_approval_discount = None,
                    async_graphql::MaybeUndefined::Value(v) => {
                        if let Some(v) =
                            invalid.check(guanxi_domain::trade::money::check_discount("quoteApprovalDiscount", v))
                        {
                            settings.quote_approval_discount = Some(v);
                        }
                    }
                }
                if let Some(wins) = input.order_wins_deal {
                    settings.order_wins_deal = wins;
                }
                let remind = guanxi_domain::finance::receivable::MAX_REMIND_DAYS;
                for (given, field, slot, max) in [
                    (
                        input.installment_remind_days,
                        "installmentRemindDays",
                        &mut settings.installment_remind_days,
                        remind,
                    ),
                    (
                        input.contract_expiry_remind_days,
                        "contractExpiryRemindDays",
                        &mut settings.contract_expiry_remind_days,
                        remind,
                    ),
                    (
                        input.birthday_remind_days,
                        "birthdayRemindDays",
                        &mut settings.birthday_remind_days,
                        guanxi_domain::customers::contact::MAX_BIRTHDAY_LEAD,
                    ),
                    (input.work_order_reopen_days, "workOrderReopenDays", &mut settings.work_order_reopen_days, 90),
                    (input.return_visit_days, "returnVisitDays", &mut settings.return_visit_days, 90),
                ] {
                    let Some(days) = given else { continue };
                    match u16::try_from(days).ok().filter(|d| *d <= max) {
                        Some(days) => *slot = days,
                        None => invalid.push(guanxi_domain::FieldError::new(
                            field,
                            ErrorCode::Invalid,
                            format!("0 to {max} days"),
                        )),
                    }
                }
                if let Some(allow) = input.allow_advance_receipts {
                    settings.allow_advance_receipts = allow;
                }
                match &input.portal_agent_id {
                    async_graphql::MaybeUndefined::Undefined => {}
                    async_graphql::MaybeUndefined::Null => settings.portal_agent_id = None,
                    async_graphql::MaybeUndefined::Value(id) => match active_user(tx, tenant, id).await? {
                        Some(user) => settings.portal_agent_id = Some(user),
                        None => invalid.push(guanxi_domain::FieldError::new(
                            "portalAgentId",
                            ErrorCode::NotFound,
                            "no such active user",
                        )),
                    },
                }
                invalid.into_result()?;
                if let Some(p) = input.duplicate_policy {
                    settings.duplicate_policy = match p {
                        DuplicatePolicy::Block => DomainPolicy::Block,
                        DuplicatePolicy::Warn => DomainPolicy::Warn,
                    };
                }
                if let Some(p) = input.calendar_conflict_policy {
                    settings.calendar_conflict_policy = match p {
                        DuplicatePolicy::Block => guanxi_domain::activity::calendar::ConflictPolicy::Block,
                        DuplicatePolicy::Warn => guanxi_domain::activity::calendar::ConflictPolicy::Warn,
                    };
                }
                guanxi_store::platform::tenant::update_settings(tx, &author, &settings).await
            })
        })
        .await?;
        Ok(match result {
            Ok(s) => SettingsPayload { settings: Some(view(&s)), user_errors: vec![] },
            Err(errors) => SettingsPayload { settings: None, user_errors: errors },
        })
    }

    /// Defines (or redefines) a tenant field on customers or contacts.
    async fn define_custom_field(
        &self,
        ctx: &Context<'_>,
        input: DefineCustomFieldInput,
    ) -> ApiResult<CustomFieldPayload> {
        let actor = require(ctx, Permission::SettingsManage)?;
        let mut invalid = Invalid::default();
        let key = invalid.check(parse_key("key", &input.key));
        let label = invalid.check(guanxi_domain::platform::org::required_text("label", &input.label, 60));
        let field_type = match input.field_type {
            CustomFieldType::Text => DomainType::Text,
            CustomFieldType::Number => DomainType::Number,
            CustomFieldType::Decimal => DomainType::Decimal,
            CustomFieldType::Date => DomainType::Date,
            CustomFieldType::Bool => DomainType::Bool,
            CustomFieldType::SingleSelect => DomainType::SingleSelect,
            CustomFieldType::MultiSelect => DomainType::MultiSelect,
        };
        let options: Vec<String> =
            input.options.iter().map(|o| o.trim().to_owned()).filter(|o| !o.is_empty()).collect();
        let is_select = matches!(field_type, DomainType::SingleSelect | DomainType::MultiSelect);
        if is_select && options.is_empty() {
            invalid.push(guanxi_domain::FieldError::new(
                "options",
                ErrorCode::Required,
                "a select field needs options",
            ));
        }
        let (Some(key), Some(label), true) = (key, label, invalid.is_empty()) else {
            return Ok(CustomFieldPayload { field: None, user_errors: UserError::all(invalid) });
        };
        let definition = CustomFieldDefinition {
            key,
            label,
            field_type,
            required: input.required,
            options: if is_select { options } else { vec![] },
        };
        let entity = match input.entity {
            CustomFieldEntity::Customer => crate::graphql::customers::customer::CUSTOM_FIELD_ENTITY,
            CustomFieldEntity::Contact => crate::graphql::customers::contact::CUSTOM_FIELD_ENTITY,
            CustomFieldEntity::Product => crate::graphql::trade::product::CUSTOM_FIELD_ENTITY,
        };
        let author = author(ctx, actor);
        let sort_order = input.sort_order;
        let result = transact(ctx, move |tx| {
            Box::pin(async move {
                guanxi_store::platform::custom_field::define(tx, &author, entity, &definition, sort_order).await
            })
        })
        .await?;
        Ok(match result {
            Ok(d) => CustomFieldPayload { field: Some(d.into()), user_errors: vec![] },
            Err(errors) => CustomFieldPayload { field: None, user_errors: errors },
        })
    }
}

/// The active user a global id names, if any.
async fn active_user(
    tx: &guanxi_store::DatabaseTransaction,
    tenant: guanxi_domain::ids::TenantId,
    id: &ID,
) -> guanxi_store::StoreResult<Option<uuid::Uuid>> {
    let Ok(id) = crate::graphql::relay::expect_id(id, crate::graphql::platform::org::USER) else { return Ok(None) };
    let found =
        guanxi_store::platform::user::find(tx, tenant, guanxi_domain::platform::access::ScopeRule::All, id).await?;
    Ok(found.filter(|u| u.status == guanxi_domain::platform::org::UserStatus::Active).map(|u| u.id.uuid()))
}
