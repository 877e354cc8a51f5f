//! The registry of record kinds: every kind of record Guanxi stores, with its global-id
//! name, the permission that reads it and the rule that decides which of its records a
//! caller may see.
//!
//! `node`, `nodes`, `history`, the `changes` feed and the change-log's visibility filter
//! all ask this registry, so they cannot disagree about a kind. A new module adds its
//! kinds here (one variant and one line in each table below) and the shared machinery
//! finds them.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::platform::access::{Actor, CustomerRule, DepartmentRule, Module, Permission, ScopeRule};

/// One kind of record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EntityKind {
    Tenant,
    Department,
    User,
    Role,
    ApiKey,
    WebhookEndpoint,
    BulkJob,
    CustomField,
    Customer,
    Contact,
    Interaction,
    Event,
    Opportunity,
    Pipeline,
    Pool,
    AssignmentRule,
    Lead,
    Campaign,
    CarePlan,
    Attachment,
    CheckIn,
    VisitPlan,
    ProductCategory,
    Product,
    PricePolicy,
    Quote,
    Order,
    ApprovalFlow,
    Contract,
    Receipt,
    BillingProfile,
    Invoice,
    Asset,
    ServiceContract,
    WorkOrder,
    Defect,
    Article,
    CommissionPlan,
    CommissionStatement,
}

/// The two rules a record seen through its own owner and through its customer is read
/// with (contacts, deals).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OwnerAndCustomer {
    /// The rule of the record's own module, on its owner.
    pub owner: ScopeRule,
    /// The customer rule, on its customer. A customer shared with the caller lets them
    /// see its records whoever owns them.
    pub customer: CustomerRule,
}

impl OwnerAndCustomer {
    /// Everything (the demo loader, admin tools).
    pub const ALL: Self = Self { owner: ScopeRule::All, customer: CustomerRule::ALL };
}

/// Which records of a kind a caller may see, as a rule the store turns into SQL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Visibility {
    /// Every record of the caller's tenant (configuration: roles, pipelines, pools).
    Tenant,
    /// The one record with this id (a user without `org.read` still sees themselves).
    Only(Uuid),
    /// Records whose owner the rule admits.
    Owner(ScopeRule),
    /// Customers the rule admits, by owner or shared with the caller.
    Customers(CustomerRule),
    /// Departments the rule admits.
    Departments(DepartmentRule),
    /// Records whose own owner the first rule admits and whose customer is live and
    /// admitted by the second (contacts, deals).
    OwnerAndCustomer(OwnerAndCustomer),
    /// Records whose customer is live and admitted by the rule (interactions, check-ins,
    /// visit plans).
    Customer(CustomerRule),
    /// The tenant's records, but for those tied to a customer the rule does not admit or
    /// that is deleted (a customer's own price policy).
    Catalogue(CustomerRule),
    /// Uploads: the uploader's own, and those attached to a record the caller sees
    /// through the customer rule.
    Upload { uploader: Uuid, customer: CustomerRule },
    /// Records seen through their own scope and their customer's, and by the one user
    /// assigned to do them whether or not they see the customer (work orders and their
    /// technician).
    Assigned(Assigned),
}

impl Visibility {
    /// The rule on the record's owner, for kinds a caller sees by who owns them: the delta
    /// feed asks it whether a former owner had put a record in the caller's sight.
    pub fn owner_rule(self) -> Option<ScopeRule> {
        match self {
            Visibility::Owner(rule) => Some(rule),
            Visibility::Customers(rule) => Some(rule.owners),
            Visibility::OwnerAndCustomer(rules) => Some(rules.owner),
            Visibility::Assigned(assigned) => Some(assigned.rules.owner),
            _ => None,
        }
    }
}

/// Owner-and-customer rules, or being the record's assignee.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Assigned {
    pub rules: OwnerAndCustomer,
    /// The caller, who sees whatever is assigned to them.
    pub technician: Uuid,
}

impl EntityKind {
    /// Every kind, in the order the API documents them.
    pub const ALL: &'static [EntityKind] = &[
        EntityKind::Tenant,
        EntityKind::Department,
        EntityKind::User,
        EntityKind::Role,
        EntityKind::ApiKey,
        EntityKind::WebhookEndpoint,
        EntityKind::BulkJob,
        EntityKind::CustomField,
        EntityKind::Customer,
        EntityKind::Contact,
        EntityKind::Interaction,
        EntityKind::Event,
        EntityKind::Opportunity,
        EntityKind::Pipeline,
        EntityKind::Pool,
        EntityKind::AssignmentRule,
        EntityKind::Lead,
        EntityKind::Campaign,
        EntityKind::CarePlan,
        EntityKind::Attachment,
        EntityKind::CheckIn,
        EntityKind::VisitPlan,
        EntityKind::ProductCategory,
        EntityKind::Product,
        EntityKind::PricePolicy,
        EntityKind::Quote,
        EntityKind::Order,
        EntityKind::ApprovalFlow,
        EntityKind::Contract,
        EntityKind::Receipt,
        EntityKind::BillingProfile,
        EntityKind::Invoice,
        EntityKind::Asset,
        EntityKind::ServiceContract,
        EntityKind::WorkOrder,
        EntityKind::Defect,
        EntityKind::Article,
        EntityKind::CommissionPlan,
        EntityKind::CommissionStatement,
    ];

    /// The name in global ids and in the change log's `entity_type`, e.g. `Customer`.
    pub const fn name(self) -> &'static str {
        match self {
            EntityKind::Tenant => "Tenant",
            EntityKind::Department => "Department",
            EntityKind::User => "User",
            EntityKind::Role => "Role",
            EntityKind::ApiKey => "ApiKey",
            EntityKind::WebhookEndpoint => "WebhookEndpoint",
            EntityKind::BulkJob => "BulkJob",
            EntityKind::CustomField => "CustomField",
            EntityKind::Customer => "Customer",
            EntityKind::Contact => "Contact",
            EntityKind::Interaction => "Interaction",
            EntityKind::Event => "Event",
            EntityKind::Opportunity => "Opportunity",
            EntityKind::Pipeline => "Pipeline",
            EntityKind::Pool => "Pool",
            EntityKind::AssignmentRule => "AssignmentRule",
            EntityKind::Lead => "Lead",
            EntityKind::Campaign => "Campaign",
            EntityKind::CarePlan => "CarePlan",
            EntityKind::Attachment => "Attachment",
            EntityKind::CheckIn => "CheckIn",
            EntityKind::VisitPlan => "VisitPlan",
            EntityKind::ProductCategory => "ProductCategory",
            EntityKind::Product => "Product",
            EntityKind::PricePolicy => "PricePolicy",
            EntityKind::Quote => "Quote",
            EntityKind::Order => "SalesOrder",
            EntityKind::ApprovalFlow => "ApprovalFlow",
            EntityKind::Contract => "Contract",
            EntityKind::Receipt => "Receipt",
            EntityKind::BillingProfile => "BillingProfile",
            EntityKind::Invoice => "Invoice",
            EntityKind::Asset => "Asset",
            EntityKind::ServiceContract => "ServiceContract",
            EntityKind::WorkOrder => "WorkOrder",
            EntityKind::Defect => "ProductDefect",
            EntityKind::Article => "Article",
            EntityKind::CommissionPlan => "CommissionPlan",
            EntityKind::CommissionStatement => "CommissionStatement",
        }
    }

    /// The kind in words, for messages: "the customer is already deleted".
    pub const fn noun(self) -> &'static str {
        match self {
            EntityKind::Tenant => "tenant",
            EntityKind::Department => "department",
            EntityKind::User => "user",
            EntityKind::Role => "role",
            EntityKind::ApiKey => "API key",
            EntityKind::WebhookEndpoint => "webhook endpoint",
            EntityKind::BulkJob => "bulk job",
            EntityKind::CustomField => "custom field",
            EntityKind::Customer => "customer",
            EntityKind::Contact => "contact",
            EntityKind::Interaction => "interaction",
            EntityKind::Event => "event",
            EntityKind::Opportunity => "opportunity",
            EntityKind::Pipeline => "pipeline",
            EntityKind::Pool => "pool",
            EntityKind::AssignmentRule => "assignment rule",
            EntityKind::Lead => "lead",
            EntityKind::Campaign => "campaign",
            EntityKind::CarePlan => "care plan",
            EntityKind::Attachment => "attachment",
            EntityKind::CheckIn => "check-in",
            EntityKind::VisitPlan => "visit plan",
            EntityKind::ProductCategory => "product category",
            EntityKind::Product => "product",
            EntityKind::PricePolicy => "price policy",
            EntityKind::Quote => "quote",
            EntityKind::Order => "sales order",
            EntityKind::ApprovalFlow => "approval flow",
            EntityKind::Contract => "contract",
            EntityKind::Receipt => "receipt",
            EntityKind::BillingProfile => "billing profile",
            EntityKind::Invoice => "invoice",
            EntityKind::Asset => "asset",
            EntityKind::ServiceContract => "service contract",
            EntityKind::WorkOrder => "work order",
            EntityKind::Defect => "product defect",
            EntityKind::Article => "article",
            EntityKind::CommissionPlan => "commission plan",
            EntityKind::CommissionStatement => "commission statement",
        }
    }

    /// The kind a global-id or change-log name stands for.
    pub fn parse(name: &str) -> Option<EntityKind> {
        EntityKind::ALL.iter().copied().find(|kind| kind.name() == name)
    }

    /// The function permission needed to read records of this kind at all; `None` when
    /// the data scope alone decides (calendar events, check-ins and uploads are the
    /// caller's own work).
    pub const fn read_permission(self) -> Option<Permission> {
        match self {
            EntityKind::Tenant | EntityKind::CustomField | EntityKind::Pool | EntityKind::AssignmentRule => {
                Some(Permission::SettingsManage)
            }
            EntityKind::Department | EntityKind::Role => Some(Permission::OrgRead),
            // A user without `org.read` still sees themselves: see `visibility`.
            EntityKind::User => None,
            EntityKind::ApiKey => Some(Permission::ApiKeyManage),
            EntityKind::WebhookEndpoint => Some(Permission::WebhookManage),
            EntityKind::Customer => Some(Permission::CustomerRead),
            EntityKind::Lead => Some(Permission::LeadRead),
            EntityKind::Campaign => Some(Permission::CampaignRead),
            EntityKind::CarePlan => Some(Permission::CarePlan),
            EntityKind::VisitPlan => Some(Permission::CustomerRead),
            EntityKind::Contact => Some(Permission::ContactRead),
            EntityKind::Interaction => Some(Permission::InteractionRead),
            EntityKind::Opportunity | EntityKind::Pipeline => Some(Permission::OpportunityRead),
            // A bulk job is its creator's own work, like an upload.
            EntityKind::Event | EntityKind::Attachment | EntityKind::CheckIn | EntityKind::BulkJob => None,
            EntityKind::ProductCategory | EntityKind::Product | EntityKind::PricePolicy => {
                Some(Permission::ProductRead)
            }
            EntityKind::Quote => Some(Permission::QuoteRead),
            EntityKind::Order => Some(Permission::OrderRead),
            EntityKind::ApprovalFlow => Some(Permission::ApprovalManage),
            EntityKind::Contract => Some(Permission::ContractRead),
            EntityKind::Receipt => Some(Permission::ReceivableRead),
            EntityKind::BillingProfile | EntityKind::Invoice => Some(Permission::InvoiceRead),
            EntityKind::Asset
            | EntityKind::ServiceContract
            | EntityKind::WorkOrder
            | EntityKind::Defect
            | EntityKind::Article => Some(Permission::WorkOrderRead),
            EntityKind::CommissionPlan | EntityKind::CommissionStatement => Some(Permission::CommissionRead),
        }
    }

    /// The rules a contact is read with: its own `CONTACT` scope and its customer's. Loaders
    /// and writes, which check their own permission, take them from here too.
    pub fn contact_rules(actor: &Actor) -> OwnerAndCustomer {
        OwnerAndCustomer { owner: actor.scope_rule(Module::Contact), customer: actor.customer_rule() }
    }

    /// The rules a deal is read with: its own `OPPORTUNITY` scope and its customer's.
    pub fn opportunity_rules(actor: &Actor) -> OwnerAndCustomer {
        OwnerAndCustomer { owner: actor.scope_rule(Module::Opportunity), customer: actor.customer_rule() }
    }

    /// The rules a quote is read with: its own `QUOTE` scope and its customer's.
    pub fn quote_rules(actor: &Actor) -> OwnerAndCustomer {
        OwnerAndCustomer { owner: actor.scope_rule(Module::Quote), customer: actor.customer_rule() }
    }

    /// The rules a sales order is read with: its own `ORDER` scope and its customer's.
    pub fn order_rules(actor: &Actor) -> OwnerAndCustomer {
        OwnerAndCustomer { owner: actor.scope_rule(Module::Order), customer: actor.customer_rule() }
    }

    /// The rules a contract is read with: its own `CONTRACT` scope and its customer's.
    pub fn contract_rules(actor: &Actor) -> OwnerAndCustomer {
        OwnerAndCustomer { owner: actor.scope_rule(Module::Contract), customer: actor.customer_rule() }
    }

    /// The rules a receipt is read with: its own `RECEIVABLE` scope and its customer's.
    pub fn receipt_rules(actor: &Actor) -> OwnerAndCustomer {
        OwnerAndCustomer { owner: actor.scope_rule(Module::Receivable), customer: actor.customer_rule() }
    }

    /// The rules an invoice request is read with: its own `INVOICE` scope and its customer's.
    pub fn invoice_rules(actor: &Actor) -> OwnerAndCustomer {
        OwnerAndCustomer { owner: actor.scope_rule(Module::Invoice), customer: actor.customer_rule() }
    }

    /// The rules a work order is read with: its own `WORK_ORDER` scope on its owner (the
    /// service agent) and its customer's, or being its assigned technician.
    pub fn work_order_rules(actor: &Actor) -> Assigned {
        Assigned {
            rules: OwnerAndCustomer { owner: actor.scope_rule(Module::WorkOrder), customer: actor.customer_rule() },
            technician: actor.user_id.uuid(),
        }
    }

    /// Which records of this kind `actor` may see, or `None` when they may see none.
    pub fn visibility(self, actor: &Actor) -> Option<Visibility> {
        if let Some(permission) = self.read_permission()
            && !actor.may(permission)
        {
            return None;
        }
        let customers = actor.customer_rule();
        Some(match self {
            EntityKind::Tenant
            | EntityKind::Role
            | EntityKind::ApiKey
            | EntityKind::WebhookEndpoint
            | EntityKind::CustomField
            | EntityKind::Pipeline
            | EntityKind::Pool
            | EntityKind::AssignmentRule
            | EntityKind::ProductCategory
            | EntityKind::ApprovalFlow
            | EntityKind::Defect
            | EntityKind::Article
            | EntityKind::CommissionPlan
            // Campaigns are the company's marketing, and care plans its care: whoever may
            // read them sees them all (the members and deals inside go through their scopes).
            | EntityKind::Campaign
            | EntityKind::CarePlan
            | EntityKind::Product => Visibility::Tenant,
            // A statement is its rep's: seen through the commission scope on the rep.
            EntityKind::CommissionStatement => Visibility::Owner(actor.scope_rule(Module::Commission)),
            EntityKind::Contract => Visibility::OwnerAndCustomer(EntityKind::contract_rules(actor)),
            EntityKind::Receipt => Visibility::OwnerAndCustomer(EntityKind::receipt_rules(actor)),
            EntityKind::Invoice => Visibility::OwnerAndCustomer(EntityKind::invoice_rules(actor)),
            // A customer's billing details: whoever reads invoices and sees the customer.
            EntityKind::BillingProfile => Visibility::Customer(customers),
            // A customer's assets and service contracts are seen with the customer.
            EntityKind::Asset | EntityKind::ServiceContract => Visibility::Customer(customers),
            EntityKind::WorkOrder => Visibility::Assigned(EntityKind::work_order_rules(actor)),
            EntityKind::PricePolicy => Visibility::Catalogue(customers),
            EntityKind::Quote => Visibility::OwnerAndCustomer(EntityKind::quote_rules(actor)),
            EntityKind::Order => Visibility::OwnerAndCustomer(EntityKind::order_rules(actor)),
            EntityKind::Department => Visibility::Departments(actor.department_rule()),
            EntityKind::User if actor.may(Permission::OrgRead) => Visibility::Owner(actor.scope_rule(Module::Org)),
            EntityKind::User => Visibility::Only(actor.user_id.uuid()),
            EntityKind::Customer => Visibility::Customers(customers),
            EntityKind::Contact => Visibility::OwnerAndCustomer(EntityKind::contact_rules(actor)),
            EntityKind::Opportunity => Visibility::OwnerAndCustomer(EntityKind::opportunity_rules(actor)),
            EntityKind::Interaction | EntityKind::CheckIn | EntityKind::VisitPlan => Visibility::Customer(customers),
            EntityKind::Event => Visibility::Owner(actor.scope_rule(Module::Task)),
            EntityKind::Lead => Visibility::Owner(actor.scope_rule(Module::Lead)),
            // A job's rows and failures are its creator's upload: no one else sees them.
            EntityKind::BulkJob => Visibility::Owner(ScopeRule::OwnedBy(actor.user_id)),
            EntityKind::Attachment => Visibility::Upload { uploader: actor.user_id.uuid(), customer: customers },
        })
    }
}

/// What a customer's record does when the customer changes hands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnTransfer {
    /// It keeps its own owner: an interaction, a check-in or a visit plan is its author's
    /// work, and stays theirs.
    Stays,
    /// Its owner becomes the customer's new owner, also when the customer goes to a pool
    /// (contacts are worked by whoever works the customer).
    FollowsOwner,
    /// Open records follow the customer's new owner (to nobody when an admin clears the
    /// owner); closed ones stay credited to whoever closed them, and nothing follows the
    /// customer into a pool (a deal stays with its rep until someone takes the customer).
    OpenFollowNewOwner,
}

/// How a kind hangs off a customer: the one place that says what follows a customer on
/// transfer, merge and its undo. The store keeps one table per kind listed here, and a
/// test fails when a table with a `customer_id` is not registered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CustomerLink {
    /// Moved to the survivor when its customer is merged away, and back when the merge is
    /// undone.
    pub moves_on_merge: bool,
    pub on_transfer: OnTransfer,
}

impl EntityKind {
    /// How records of this kind hang off a customer; `None` for kinds that do not.
    pub const fn customer_link(self) -> Option<CustomerLink> {
        let (moves_on_merge, on_transfer) = match self {
            EntityKind::Contact => (true, OnTransfer::FollowsOwner),
            EntityKind::Opportunity => (true, OnTransfer::OpenFollowNewOwner),
            // A quote or an order stays credited to the rep who made it.
            EntityKind::Interaction
            | EntityKind::Event
            | EntityKind::CheckIn
            | EntityKind::VisitPlan
            | EntityKind::Quote
            | EntityKind::Order
            | EntityKind::Contract
            | EntityKind::Receipt
            | EntityKind::BillingProfile
            | EntityKind::Invoice
            | EntityKind::Asset
            | EntityKind::ServiceContract
            | EntityKind::WorkOrder => (true, OnTransfer::Stays),
            // A converted lead names what it became; it stays with whoever works it.
            EntityKind::Lead => (true, OnTransfer::Stays),
            // A customer's own price stays with it: moving it to a survivor could clash
            // with the survivor's own prices.
            EntityKind::PricePolicy => (false, OnTransfer::Stays),
            EntityKind::Tenant
            | EntityKind::Department
            | EntityKind::User
            | EntityKind::Role
            | EntityKind::ApiKey
            | EntityKind::WebhookEndpoint
            | EntityKind::BulkJob
            | EntityKind::CustomField
            | EntityKind::Customer
            | EntityKind::Pipeline
            | EntityKind::Pool
            | EntityKind::AssignmentRule
            | EntityKind::Campaign
            | EntityKind::CarePlan
            | EntityKind::Attachment
            | EntityKind::ProductCategory
            | EntityKind::ApprovalFlow
            | EntityKind::Defect
            | EntityKind::Article
            | EntityKind::CommissionPlan
            | EntityKind::CommissionStatement
            | EntityKind::Product => return None,
        };
        Some(CustomerLink { moves_on_merge, on_transfer })
    }

    /// The kinds that hang off a customer.
    pub fn customer_owned() -> impl Iterator<Item = EntityKind> {
        EntityKind::ALL.iter().copied().filter(|kind| kind.customer_link().is_some())
    }
}

impl fmt::Display for EntityKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A kind travels (in the feed's cursors) as its global-id name.
impl Serialize for EntityKind {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for EntityKind {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        EntityKind::parse(&name).ok_or_else(|| serde::de::Error::custom(format!("no kind named {name}")))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::ids::{DepartmentId, TenantId, UserId};
    use crate::platform::access::{DataScope, Grants, ShareAccess};

    fn actor(permissions: &[Permission], scope: DataScope) -> Actor {
        let scopes: Vec<(Module, DataScope)> = Module::ALL.iter().map(|m| (*m, scope)).collect();
        Actor {
            tenant_id: TenantId::new(),
            user_id: UserId::new(),
            department_id: DepartmentId::new(),
            api_key_id: None,
            grants: Grants::new(permissions.iter().copied(), scopes),
            shares: ShareAccess::Read,
        }
    }

    #[test]
    fn every_kind_round_trips_through_its_name() {
        for kind in EntityKind::ALL {
            assert_eq!(EntityKind::parse(kind.name()), Some(*kind));
        }
        assert_eq!(EntityKind::parse("customer"), None);
        assert_eq!(EntityKind::parse(""), None);
    }

    #[test]
    fn a_kind_is_invisible_without_its_read_permission() {
        let nobody = actor(&[], DataScope::All);
        for kind in EntityKind::ALL {
            let expected = match kind {
                EntityKind::User => Some(Visibility::Only(nobody.user_id.uuid())),
                EntityKind::Event => Some(Visibility::Owner(ScopeRule::All)),
                // A bulk job is seen by its creator, whatever their role.
                EntityKind::BulkJob => Some(Visibility::Owner(ScopeRule::OwnedBy(nobody.user_id))),
                EntityKind::CheckIn => Some(Visibility::Customer(nobody.customer_rule())),
                EntityKind::Attachment => {
                    Some(Visibility::Upload { uploader: nobody.user_id.uuid(), customer: nobody.customer_rule() })
                }
                _ => None,
            };
            assert_eq!(kind.visibility(&nobody), expected, "{kind}");
        }
    }

    #[test]
    fn contacts_and_deals_are_seen_through_their_own_scope_and_their_customers() {
        let rep = actor(&[Permission::ContactRead, Permission::OpportunityRead], DataScope::Own);
        let own = ScopeRule::OwnedBy(rep.user_id);
        let both = Some(Visibility::OwnerAndCustomer(OwnerAndCustomer { owner: own, customer: rep.customer_rule() }));
        assert_eq!(EntityKind::Contact.visibility(&rep), both);
        assert_eq!(EntityKind::Opportunity.visibility(&rep), both);
        assert_eq!(EntityKind::Pipeline.visibility(&rep), Some(Visibility::Tenant));
    }
}
