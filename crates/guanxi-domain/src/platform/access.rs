//! Who may do what, and which records they may see.
//!
//! A role grants *function permissions* (may this actor run `customer.export`?) and a
//! *data scope* per module (which customers, users, … does this actor see?). Guards in the
//! gateway check permissions; the store turns a [`ScopeRule`] into a SQL condition that is
//! applied on every read path. Nothing here looks at rows.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, FieldError};
use crate::ids::{ApiKeyId, DepartmentId, RoleId, TenantId, UserId};

/// A role as stored: built-in (`builtin_key` set) or defined by the tenant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    pub id: RoleId,
    pub tenant_id: TenantId,
    pub builtin_key: Option<String>,
    pub name: String,
    pub description: String,
    pub grants: Grants,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub deleted_at: Option<DateTime<Utc>>,
}

/// A machine credential. The secret is shown once, at creation, and only its hash is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub name: String,
    pub prefix: String,
    pub role_id: RoleId,
    pub user_id: UserId,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

/// Parses the permission keys and scopes of a role input, collecting every bad entry.
pub fn parse_grants(permission_keys: &[String], scopes: &[(Module, DataScope)]) -> Result<Grants, crate::Invalid> {
    let mut invalid = crate::Invalid::default();
    let mut permissions = Vec::new();
    for key in permission_keys {
        if let Some(p) = invalid.check(key.parse::<Permission>()) {
            permissions.push(p);
        }
    }
    invalid.into_result()?;
    Ok(Grants::new(permissions, scopes.iter().copied()))
}

macro_rules! permissions {
    ($($variant:ident => $key:literal, $label:literal;)*) => {
        /// A function permission: the right to run one kind of operation.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Permission { $($variant,)* }

        impl Permission {
            /// Every permission, in catalogue order.
            pub const ALL: &'static [Permission] = &[$(Permission::$variant,)*];

            /// The stable key stored in roles and shown to clients, e.g. `customer.export`.
            pub fn key(self) -> &'static str {
                match self { $(Self::$variant => $key,)* }
            }

            /// The Chinese label users read.
            pub fn label_zh(self) -> &'static str {
                match self { $(Self::$variant => $label,)* }
            }
        }

        impl FromStr for Permission {
            type Err = FieldError;
            fn from_str(key: &str) -> Result<Self, FieldError> {
                match key {
                    $($key => Ok(Self::$variant),)*
                    other => Err(FieldError::new(
                        "permissions",
                        ErrorCode::Invalid,
                        format!("unknown permission `{other}`"),
                    )),
                }
            }
        }
    };
}

permissions! {
    OrgRead => "org.read", "查看组织架构";
    OrgManage => "org.manage", "管理部门、员工和角色";
    ApiKeyManage => "apikey.manage", "管理 API 密钥";
    WebhookManage => "webhook.manage", "管理 Webhook 推送";
    AuditRead => "audit.read", "查看变更记录";
    SettingsManage => "settings.manage", "管理系统参数";
    CustomerRead => "customer.read", "查看客户";
    CustomerCreate => "customer.create", "新建客户";
    CustomerUpdate => "customer.update", "编辑客户";
    CustomerDelete => "customer.delete", "删除客户";
    CustomerExport => "customer.export", "导出客户";
    CustomerImport => "customer.import", "导入客户";
    CustomerTransfer => "customer.transfer", "转移客户";
    CustomerMerge => "customer.merge", "合并客户";
    ContactRead => "contact.read", "查看联系人";
    ContactWrite => "contact.write", "编辑联系人";
    InteractionRead => "interaction.read", "查看交流记录";
    InteractionWrite => "interaction.write", "填写交流记录";
    OpportunityRead => "opportunity.read", "查看商机";
    OpportunityWrite => "opportunity.write", "编辑商机";
    ContractRead => "contract.read", "查看合同";
    ContractWrite => "contract.write", "编辑合同";
    ContractApprove => "contract.approve", "审批合同";
    ReceivableRead => "receivable.read", "查看回款";
    ReceivableWrite => "receivable.write", "登记回款";
    ContractVoid => "contract.void", "作废合同";
    ApprovalManage => "approval.manage", "管理审批流";
    InvoiceRead => "invoice.read", "查看发票";
    InvoiceWrite => "invoice.write", "申请开票、维护开票信息";
    InvoiceIssue => "invoice.issue", "开具和作废发票";
    CommissionRead => "commission.read", "查看佣金结算单";
    CommissionManage => "commission.manage", "管理佣金方案、计算和确认佣金";
    WorkOrderRead => "workorder.read", "查看工单";
    WorkOrderWrite => "workorder.write", "处理工单";
    WorkOrderDispatch => "workorder.dispatch", "派工";
    WorkOrderSupervise => "workorder.supervise", "主管工单：代为完工、未经客户确认关闭、免收费用";
    ServiceManage => "service.manage", "管理服务合同和技术员技能";
    KnowledgeWrite => "knowledge.write", "编辑知识库";
    PhoneUnmasked => "phone.unmasked", "查看完整电话号码";
    ProductRead => "product.read", "查看产品和价格";
    ProductManage => "product.manage", "管理产品和价格政策";
    ProductCost => "product.cost", "查看成本价";
    QuoteRead => "quote.read", "查看报价单";
    QuoteWrite => "quote.write", "编辑报价单";
    QuoteApprove => "quote.approve", "审批报价折扣";
    OrderRead => "order.read", "查看销售订单";
    OrderWrite => "order.write", "编辑销售订单";
    LeadRead => "lead.read", "查看线索";
    LeadWrite => "lead.write", "新建和跟进线索";
    LeadConvert => "lead.convert", "转化线索";
    CampaignRead => "campaign.read", "查看营销活动";
    CampaignWrite => "campaign.write", "管理营销活动和成员";
    CarePlan => "care.plan", "制定客户关怀计划";
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// A business area whose records carry an owner and so have a data scope of their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Module {
    /// Users and departments.
    Org,
    Customer,
    Contact,
    Interaction,
    Opportunity,
    Contract,
    WorkOrder,
    Task,
    Quote,
    Order,
    /// Receipts (回款).
    Receivable,
    /// Invoice requests (开票申请).
    Invoice,
    /// Commission statements (佣金结算单), by their rep.
    Commission,
    /// Leads (线索).
    Lead,
}

impl Module {
    pub const ALL: &'static [Module] = &[
        Module::Org,
        Module::Customer,
        Module::Contact,
        Module::Interaction,
        Module::Opportunity,
        Module::Contract,
        Module::WorkOrder,
        Module::Task,
        Module::Quote,
        Module::Order,
        Module::Receivable,
        Module::Invoice,
        Module::Commission,
        Module::Lead,
    ];

    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Org => "组织架构",
            Self::Customer => "客户",
            Self::Contact => "联系人",
            Self::Interaction => "交流记录",
            Self::Opportunity => "商机",
            Self::Contract => "合同",
            Self::WorkOrder => "工单",
            Self::Task => "日程任务",
            Self::Quote => "报价单",
            Self::Order => "销售订单",
            Self::Receivable => "回款",
            Self::Invoice => "发票",
            Self::Commission => "佣金",
            Self::Lead => "线索",
        }
    }
}

/// Which records of a module a role sees, from narrowest to widest (WuKong's 1–5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DataScope {
    /// Records the actor owns.
    Own,
    /// Records owned by the actor or anyone below them in the management chain.
    OwnAndSubordinates,
    /// Records owned by anyone in the actor's department.
    Department,
    /// Records owned by anyone in the actor's department or its sub-departments.
    DepartmentTree,
    /// Every record of the tenant.
    All,
}

impl DataScope {
    pub fn label_zh(self) -> &'static str {
        match self {
            Self::Own => "本人",
            Self::OwnAndSubordinates => "本人及下属",
            Self::Department => "本部门",
            Self::DepartmentTree => "本部门及下属部门",
            Self::All => "全部",
        }
    }
}

/// What a role grants. Built from a role row; unknown keys were rejected when it was saved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grants {
    permissions: BTreeSet<Permission>,
    scopes: BTreeMap<Module, DataScope>,
}

impl Grants {
    pub fn new(
        permissions: impl IntoIterator<Item = Permission>,
        scopes: impl IntoIterator<Item = (Module, DataScope)>,
    ) -> Self {
        Self { permissions: permissions.into_iter().collect(), scopes: scopes.into_iter().collect() }
    }

    pub fn allows(&self, permission: Permission) -> bool {
        self.permissions.contains(&permission)
    }

    /// The scope for a module; a module the role does not mention is seen as `Own`,
    /// the narrowest scope, so forgetting a module never widens access.
    pub fn scope(&self, module: Module) -> DataScope {
        self.scopes.get(&module).copied().unwrap_or(DataScope::Own)
    }

    /// Whether everything these grants allow, `other` allows too: no permission it lacks,
    /// no scope wider than its own. Nobody hands out more than they hold.
    pub fn within(&self, other: &Grants) -> bool {
        self.permissions.iter().all(|p| other.allows(*p))
            && Module::ALL.iter().all(|m| self.scope(*m) <= other.scope(*m))
    }

    pub fn permissions(&self) -> impl Iterator<Item = Permission> + '_ {
        self.permissions.iter().copied()
    }

    pub fn scopes(&self) -> impl Iterator<Item = (Module, DataScope)> + '_ {
        self.scopes.iter().map(|(m, s)| (*m, *s))
    }
}

/// The authenticated caller of one request.
#[derive(Clone, Debug)]
pub struct Actor {
    pub tenant_id: TenantId,
    /// The user acting; for an API key, the user the key acts for (its creator).
    pub user_id: UserId,
    pub department_id: DepartmentId,
    /// Set when the request came with an API key instead of a user session.
    pub api_key_id: Option<ApiKeyId>,
    pub grants: Grants,
    /// The least access a share must give for the act at hand: `READ` while reading,
    /// `READ_WRITE` once the actor acts to write ([`Actor::writing`]).
    pub shares: ShareAccess,
}

impl Actor {
    pub fn may(&self, permission: Permission) -> bool {
        self.grants.allows(permission)
    }

    /// The row filter for records of `module`, as a rule the store turns into SQL.
    pub fn scope_rule(&self, module: Module) -> ScopeRule {
        ScopeRule::for_scope(self.grants.scope(module), self.user_id, self.department_id)
    }

    /// The customers the actor reaches: those their `CUSTOMER` scope admits and those
    /// shared with them while the share lasts (at any access while reading, `READ_WRITE`
    /// once [`writing`](Actor::writing)).
    pub fn customer_rule(&self) -> CustomerRule {
        CustomerRule {
            owners: self.scope_rule(Module::Customer),
            shared: Some(Sharing { with: self.user_id, at_least: self.shares }),
        }
    }

    /// The customers the actor may write to (edit, follow up, add records to): their
    /// scope's, and those shared with them `READ_WRITE`.
    pub fn customer_write_rule(&self) -> CustomerRule {
        self.customer_rule().writing()
    }

    /// The actor acting to write: every scope built from it admits shared records only
    /// where the share is `READ_WRITE`. Each mutation reads what it changes through it.
    pub fn writing(&self) -> Actor {
        Actor { shares: ShareAccess::ReadWrite, ..self.clone() }
    }

    /// The customers the actor holds through their own scope, shares aside: what they
    /// may delete, transfer, merge or share on.
    pub fn customer_owner_rule(&self) -> CustomerRule {
        CustomerRule::owned(self.scope_rule(Module::Customer))
    }

    /// Which departments the actor sees: the department side of the `Org` scope.
    pub fn department_rule(&self) -> DepartmentRule {
        match self.grants.scope(Module::Org) {
            DataScope::All => DepartmentRule::All,
            DataScope::DepartmentTree => DepartmentRule::Subtree(self.department_id),
            DataScope::Own | DataScope::OwnAndSubordinates | DataScope::Department => {
                DepartmentRule::Only(self.department_id)
            }
        }
    }

    /// Whether the actor sees phone numbers in full.
    pub fn sees_unmasked_phones(&self) -> bool {
        self.may(Permission::PhoneUnmasked)
    }

    /// A phone number as the actor may see it: whole with `phone.unmasked`, otherwise
    /// masked (`138****5678`). Every path that shows a phone goes through here.
    pub fn phone_as_seen(&self, phone: &str) -> String {
        phone_as_seen(phone, self.sees_unmasked_phones())
    }
}

/// A phone number whole when `unmasked`, masked otherwise.
pub fn phone_as_seen(phone: &str, unmasked: bool) -> String {
    if unmasked { phone.to_owned() } else { crate::phone::mask_phone(phone) }
}

/// A data scope bound to one actor: which owners' records are visible. It is evaluated
/// by the database at query time, so moving a user or a department takes effect at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScopeRule {
    All,
    OwnedBy(UserId),
    OwnedByUserOrSubordinates(UserId),
    OwnedWithinDepartment(DepartmentId),
    OwnedWithinDepartmentTree(DepartmentId),
}

impl ScopeRule {
    pub fn for_scope(scope: DataScope, user: UserId, department: DepartmentId) -> Self {
        match scope {
            DataScope::Own => Self::OwnedBy(user),
            DataScope::OwnAndSubordinates => Self::OwnedByUserOrSubordinates(user),
            DataScope::Department => Self::OwnedWithinDepartment(department),
            DataScope::DepartmentTree => Self::OwnedWithinDepartmentTree(department),
            DataScope::All => Self::All,
        }
    }
}

/// What a collaborator (协作人) may do with a customer or deal shared with them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ShareAccess {
    /// See it and what hangs off it.
    Read,
    /// Also edit it and add to it (follow-ups, contacts, deals).
    ReadWrite,
}

impl ShareAccess {
    pub const ALL: &'static [ShareAccess] = &[ShareAccess::Read, ShareAccess::ReadWrite];

    pub const fn as_str(self) -> &'static str {
        match self {
            ShareAccess::Read => "READ",
            ShareAccess::ReadWrite => "READ_WRITE",
        }
    }

    /// The stored names of this access and every wider one.
    pub fn at_least(self) -> impl Iterator<Item = &'static str> {
        ShareAccess::ALL.iter().filter(move |a| **a >= self).map(|a| a.as_str())
    }
}

impl FromStr for ShareAccess {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        ShareAccess::ALL.iter().copied().find(|a| a.as_str() == s).ok_or(())
    }
}

/// The shares that widen a customer rule: those with one user, at one access or more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sharing {
    pub with: UserId,
    pub at_least: ShareAccess,
}

/// Which customers a caller reaches: those whose owner `owners` admits, or that are
/// shared with them (a live collaborator row at `shared.at_least` or more). The store
/// turns it into the one condition every path that reaches a customer applies: the
/// customer itself, and each record that hangs off it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CustomerRule {
    pub owners: ScopeRule,
    /// The shares that widen `owners`; `None` for what only the owner side may do.
    pub shared: Option<Sharing>,
}

impl CustomerRule {
    /// Every customer (jobs, the demo loader).
    pub const ALL: Self = Self { owners: ScopeRule::All, shared: None };

    /// The customers `owners` admits, shares aside.
    pub const fn owned(owners: ScopeRule) -> Self {
        Self { owners, shared: None }
    }

    /// The shares that actually widen the rule: none when the owner rule admits every
    /// customer already.
    pub fn sharing(self) -> Option<Sharing> {
        if self.owners == ScopeRule::All { None } else { self.shared }
    }

    /// The same rule for writing: shares count only when `READ_WRITE`.
    pub fn writing(self) -> Self {
        Self { shared: self.shared.map(|s| Sharing { at_least: ShareAccess::ReadWrite, ..s }), ..self }
    }
}

/// Which departments are visible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DepartmentRule {
    All,
    Only(DepartmentId),
    Subtree(DepartmentId),
}

/// A role every tenant starts with. Tenants may edit their scopes or add roles of their own.
#[derive(Clone, Debug)]
pub struct BuiltinRole {
    pub key: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    pub permissions: Vec<Permission>,
    pub scopes: Vec<(Module, DataScope)>,
}

impl BuiltinRole {
    pub fn grants(&self) -> Grants {
        Grants::new(self.permissions.iter().copied(), self.scopes.iter().copied())
    }
}

fn every_module(scope: DataScope) -> Vec<(Module, DataScope)> {
    Module::ALL.iter().map(|m| (*m, scope)).collect()
}

/// The seven built-in roles of the product brief.
pub fn builtin_roles() -> Vec<BuiltinRole> {
    use Permission as P;
    let sales_work = [
        P::OrgRead,
        P::CustomerRead,
        P::CustomerCreate,
        P::CustomerUpdate,
        P::ContactRead,
        P::ContactWrite,
        P::InteractionRead,
        P::InteractionWrite,
        P::OpportunityRead,
        P::OpportunityWrite,
        P::ContractRead,
        P::ContractWrite,
        P::WorkOrderRead,
        P::ProductRead,
        P::QuoteRead,
        P::QuoteWrite,
        P::OrderRead,
        P::OrderWrite,
        P::ReceivableRead,
        P::ReceivableWrite,
        P::InvoiceRead,
        P::InvoiceWrite,
        P::CommissionRead,
        P::LeadRead,
        P::LeadWrite,
        P::LeadConvert,
        P::CampaignRead,
    ];
    let read_all = [
        P::OrgRead,
        P::AuditRead,
        P::CustomerRead,
        P::ContactRead,
        P::InteractionRead,
        P::OpportunityRead,
        P::ContractRead,
        P::WorkOrderRead,
        P::ProductRead,
        P::ProductCost,
        P::QuoteRead,
        P::OrderRead,
        P::ReceivableRead,
        P::InvoiceRead,
        P::CommissionRead,
        P::LeadRead,
        P::CampaignRead,
    ];
    vec![
        BuiltinRole {
            key: "admin",
            name: "系统管理员",
            description: "Everything, for every record of the tenant.",
            permissions: Permission::ALL.to_vec(),
            scopes: every_module(DataScope::All),
        },
        BuiltinRole {
            key: "executive",
            name: "高管",
            description: "Reads and exports everything; changes nothing of the organisation.",
            permissions: [&read_all[..], &[P::CustomerExport, P::PhoneUnmasked]].concat(),
            scopes: every_module(DataScope::All),
        },
        BuiltinRole {
            key: "sales_manager",
            name: "销售经理",
            description: "Runs a sales team: sees the department subtree, transfers and exports.",
            permissions: [
                &sales_work[..],
                &[
                    P::AuditRead,
                    P::CustomerDelete,
                    P::CustomerExport,
                    P::CustomerImport,
                    P::CustomerTransfer,
                    P::CustomerMerge,
                    P::ContractApprove,
                    P::PhoneUnmasked,
                    P::QuoteApprove,
                    P::ProductCost,
                    P::ContractVoid,
                    P::CampaignWrite,
                    P::CarePlan,
                ],
            ]
            .concat(),
            scopes: every_module(DataScope::DepartmentTree),
        },
        BuiltinRole {
            key: "sales_rep",
            name: "销售代表",
            description: "Works their own customers; sees colleagues of their department.",
            permissions: [&sales_work[..], &[P::PhoneUnmasked]].concat(),
            scopes: [every_module(DataScope::Own), vec![(Module::Org, DataScope::Department)]].concat(),
        },
        BuiltinRole {
            key: "service_agent",
            name: "客服专员",
            description: "Takes service requests and dispatches work orders for all customers.",
            permissions: vec![
                P::OrgRead,
                P::CustomerRead,
                P::ContactRead,
                P::ContactWrite,
                P::InteractionRead,
                P::InteractionWrite,
                P::WorkOrderRead,
                P::WorkOrderWrite,
                P::WorkOrderDispatch,
                P::ServiceManage,
                P::KnowledgeWrite,
                P::PhoneUnmasked,
                P::ProductRead,
            ],
            scopes: [
                every_module(DataScope::All),
                vec![
                    (Module::Org, DataScope::Department),
                    (Module::Opportunity, DataScope::Own),
                    (Module::WorkOrder, DataScope::Department),
                ],
            ]
            .concat(),
        },
        BuiltinRole {
            key: "technician",
            name: "技术员",
            description: "Works the work orders dispatched to them.",
            permissions: vec![
                P::OrgRead,
                P::CustomerRead,
                P::ContactRead,
                P::InteractionWrite,
                P::WorkOrderRead,
                P::WorkOrderWrite,
                P::KnowledgeWrite,
                P::ProductRead,
            ],
            scopes: [every_module(DataScope::Own), vec![(Module::Org, DataScope::Department)]].concat(),
        },
        BuiltinRole {
            key: "finance",
            name: "财务",
            description: "Contracts, receivables and invoices of every customer.",
            permissions: vec![
                P::OrgRead,
                P::CustomerRead,
                P::ContactRead,
                P::ContractRead,
                P::ContractApprove,
                P::ContractVoid,
                P::ReceivableRead,
                P::ReceivableWrite,
                P::InvoiceRead,
                P::InvoiceWrite,
                P::InvoiceIssue,
                P::CommissionRead,
                P::CommissionManage,
                P::ProductRead,
                P::ProductCost,
                P::QuoteRead,
                P::OrderRead,
            ],
            scopes: every_module(DataScope::All),
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn actor(scopes: Vec<(Module, DataScope)>) -> Actor {
        Actor {
            tenant_id: TenantId::new(),
            user_id: UserId::new(),
            department_id: DepartmentId::new(),
            api_key_id: None,
            grants: Grants::new([], scopes),
            shares: ShareAccess::Read,
        }
    }

    #[test]
    fn shares_widen_the_customer_rule_until_everything_is_seen() {
        let rep = actor(vec![(Module::Customer, DataScope::Own)]);
        let rule = rep.customer_rule();
        assert_eq!(rule.owners, ScopeRule::OwnedBy(rep.user_id));
        assert_eq!(rule.sharing(), Some(Sharing { with: rep.user_id, at_least: ShareAccess::Read }));
        // Writing needs a READ_WRITE share; the owner side ignores shares.
        let write = Some(Sharing { with: rep.user_id, at_least: ShareAccess::ReadWrite });
        assert_eq!(rep.customer_write_rule().sharing(), write);
        assert_eq!(rep.writing().customer_rule().sharing(), write);
        assert_eq!(rep.customer_owner_rule().sharing(), None);
        // A caller who sees every customer needs no share.
        assert_eq!(actor(vec![(Module::Customer, DataScope::All)]).customer_rule().sharing(), None);
        assert_eq!(ShareAccess::Read.at_least().collect::<Vec<_>>(), ["READ", "READ_WRITE"]);
        assert_eq!(ShareAccess::ReadWrite.at_least().collect::<Vec<_>>(), ["READ_WRITE"]);
        assert_eq!("READ_WRITE".parse(), Ok(ShareAccess::ReadWrite));
    }

    #[test]
    fn each_scope_becomes_the_matching_rule() {
        let cases = [
            (DataScope::Own, "OwnedBy"),
            (DataScope::OwnAndSubordinates, "OwnedByUserOrSubordinates"),
            (DataScope::Department, "OwnedWithinDepartment"),
            (DataScope::DepartmentTree, "OwnedWithinDepartmentTree"),
            (DataScope::All, "All"),
        ];
        for (scope, expect) in cases {
            let a = actor(vec![(Module::Customer, scope)]);
            let rule = a.scope_rule(Module::Customer);
            let name = format!("{rule:?}");
            assert!(name.starts_with(expect), "{scope:?} gave {name}");
            match rule {
                ScopeRule::OwnedBy(u) | ScopeRule::OwnedByUserOrSubordinates(u) => {
                    assert_eq!(u, a.user_id)
                }
                ScopeRule::OwnedWithinDepartment(d) | ScopeRule::OwnedWithinDepartmentTree(d) => {
                    assert_eq!(d, a.department_id)
                }
                ScopeRule::All => {}
            }
        }
    }

    #[test]
    fn a_module_the_role_does_not_mention_is_seen_as_own() {
        let a = actor(vec![(Module::Org, DataScope::All)]);
        assert_eq!(a.scope_rule(Module::Contract), ScopeRule::OwnedBy(a.user_id));
    }

    #[test]
    fn department_rule_follows_the_org_scope() {
        let cases = [
            (DataScope::Own, false, false),
            (DataScope::OwnAndSubordinates, false, false),
            (DataScope::Department, false, false),
            (DataScope::DepartmentTree, true, false),
            (DataScope::All, false, true),
        ];
        for (scope, subtree, all) in cases {
            let a = actor(vec![(Module::Org, scope)]);
            let rule = a.department_rule();
            assert_eq!(matches!(rule, DepartmentRule::Subtree(_)), subtree, "{scope:?}");
            assert_eq!(matches!(rule, DepartmentRule::All), all, "{scope:?}");
        }
    }

    #[test]
    fn grants_within_compare_permissions_and_scopes() {
        let manager = Grants::new(
            [Permission::OrgRead, Permission::CustomerRead],
            [(Module::Customer, DataScope::DepartmentTree)],
        );
        let rep = Grants::new([Permission::CustomerRead], [(Module::Customer, DataScope::Own)]);
        let wide = Grants::new([Permission::CustomerRead], [(Module::Customer, DataScope::All)]);
        let more = Grants::new([Permission::OrgManage], []);
        assert!(rep.within(&manager));
        assert!(!wide.within(&manager));
        assert!(!more.within(&manager));
        assert!(manager.within(&manager));
    }

    #[test]
    fn permission_keys_round_trip_and_unknown_keys_are_refused() {
        for p in Permission::ALL {
            assert_eq!(p.key().parse::<Permission>().ok(), Some(*p));
        }
        let err = "customer.fly".parse::<Permission>().err();
        assert_eq!(err.map(|e| e.code), Some(ErrorCode::Invalid));
    }

    #[test]
    fn builtin_roles_are_the_seven_of_the_brief_and_only_admin_manages_the_org() {
        let roles = builtin_roles();
        let keys: Vec<_> = roles.iter().map(|r| r.key).collect();
        assert_eq!(
            keys,
            ["admin", "executive", "sales_manager", "sales_rep", "service_agent", "technician", "finance"]
        );
        for role in &roles {
            let manages = role.grants().allows(Permission::OrgManage);
            assert_eq!(manages, role.key == "admin", "{}", role.key);
        }
        let rep = roles.iter().find(|r| r.key == "sales_rep").map(BuiltinRole::grants);
        assert_eq!(rep.map(|g| g.scope(Module::Customer)), Some(DataScope::Own));
    }
}
