//! System parameters (系统参数) and custom field definitions.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject};
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

#[derive(SimpleObject)]
pub struct Settings {
    customer_numbering: Numbering,
    duplicate_policy: DuplicatePolicy,
    /// What happens when an event double-books someone (WARN: saved and reported; BLOCK: refused).
    calendar_conflict_policy: DuplicatePolicy,
}

fn view(settings: &TenantSettings) -> Settings {
    let rule = &settings.customer_numbering;
    Settings {
        customer_numbering: Numbering {
            prefix: rule.prefix.clone(),
            reset: match rule.reset {
                DomainReset::Daily => SequenceReset::Daily,
                DomainReset::Monthly => SequenceReset::Monthly,
                DomainReset::Yearly => SequenceReset::Yearly,
                DomainReset::Never => SequenceReset::Never,
            },
            width: i32::from(rule.width),
        },
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
                if let Some(n) = input.customer_numbering {
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
                    rule.check()?;
                    settings.customer_numbering = rule;
                }
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
