//! `upsertContracts`: an ERP's or a finance system's contracts (合同) with their payment
//! plans (回款计划) by external key, through the upsert kit (`integration::upsert`) and the
//! store's set-based `contract_upsert`. Customers, contacts and sales orders may be named
//! by their keys in the same source.

use std::collections::HashMap;

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object};
use chrono::NaiveDate;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::finance::contract::ContractStatus;
use guanxi_domain::finance::receivable::InstallmentDraft;
use guanxi_domain::ids::{ContactId, CustomerId, OpportunityId, OrderId, UserId};
use guanxi_domain::platform::access::Permission;
use guanxi_domain::platform::upsert;
use guanxi_domain::{ErrorCode, FieldError, Invalid};
use guanxi_store::finance::contract_upsert::{ContractPatch, Rules, UpsertRow};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::contract::{PaymentMethod, contract_links};
use crate::graphql::context::{author, require};
use crate::graphql::error::ApiResult;
use crate::graphql::integration::upsert::{UpsertMode, UpsertPayload, check_call, keys_named, named_each, run};
use crate::graphql::platform::org::USER;
use crate::graphql::trade::product_upsert::{optional_id, optional_reference, patched, patched_text, reference};

/// The status a synced contract ends in.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
pub enum SyncedContractStatus {
    /// 草稿: editable; a new contract's default. One waiting for approval, rejected or
    /// withdrawn here counts as a draft.
    Draft,
    /// 已生效: signed into force in the source. Needs `contract.approve` and a plan adding
    /// up to the amount; the customer becomes WON. A completed contract counts as approved.
    Approved,
    /// 已完成: approved (as above, when it was not yet) and completed.
    Completed,
    /// 已作废: needs `contract.void` and `voidReason`; only with nothing received or invoiced.
    Void,
}

impl From<SyncedContractStatus> for ContractStatus {
    fn from(status: SyncedContractStatus) -> Self {
        match status {
            SyncedContractStatus::Draft => ContractStatus::Draft,
            SyncedContractStatus::Approved => ContractStatus::Approved,
            SyncedContractStatus::Completed => ContractStatus::Completed,
            SyncedContractStatus::Void => ContractStatus::Void,
        }
    }
}

/// One installment of a synced contract's plan.
#[derive(InputObject, Serialize)]
pub struct ContractUpsertInstallment {
    pub amount: Decimal,
    pub due_on: NaiveDate,
    pub method: Option<PaymentMethod>,
    /// Days before the due date to remind the owner; the tenant's default when left out.
    pub remind_days: Option<i32>,
    pub note: Option<String>,
}

/// One contract of an upsert call: its key and what to set. A new contract needs its
/// customer, title and amount; a stored one changes only what is given, and only while it
/// is not in force (re-sending an approved contract as it is changes nothing).
#[derive(InputObject, Serialize)]
pub struct ContractUpsertRecord {
    /// The contract's key in the source system (the ERP's contract number).
    pub external_id: String,
    /// A new contract's customer by id…
    pub customer_id: Option<ID>,
    /// …or by the customer's key in the same source. A stored contract keeps its customer.
    pub customer_external_id: Option<String>,
    pub title: Option<String>,
    /// The customer's signer, by id (`null` clears it)…
    pub contact_id: MaybeUndefined<ID>,
    /// …or by the contact's key in the same source.
    pub contact_external_id: Option<String>,
    /// The deal (商机), by id: one of the customer's that you see.
    pub opportunity_id: MaybeUndefined<ID>,
    /// The sales order the contract was signed for, by id…
    pub order_id: MaybeUndefined<ID>,
    /// …or by the order's key in the same source.
    pub order_external_id: Option<String>,
    /// A new contract's default is the caller, as on `createContract`.
    pub owner_id: Option<ID>,
    /// Who signed for us.
    pub signer_id: MaybeUndefined<ID>,
    /// An approved contract is in force from its sign date (today when it has none).
    pub signed_on: MaybeUndefined<NaiveDate>,
    pub starts_on: MaybeUndefined<NaiveDate>,
    pub ends_on: MaybeUndefined<NaiveDate>,
    /// In the tenant's decimal places for contracts.
    pub amount: Option<Decimal>,
    pub payment_terms: MaybeUndefined<String>,
    pub notes: MaybeUndefined<String>,
    /// The whole plan as it should be; a plan equal to the stored one leaves it as it is.
    pub installments: Option<Vec<ContractUpsertInstallment>>,
    /// Left out: DRAFT for a new contract, the stored status otherwise.
    pub status: Option<SyncedContractStatus>,
    /// Why, when the record voids the contract.
    pub void_reason: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct UpsertContractsInput {
    /// The system the keys come from; customers, contacts and orders named by key are
    /// looked up in it too.
    pub source: String,
    /// At most 1,000 records (each plan at most 120 installments).
    pub records: Vec<ContractUpsertRecord>,
    #[graphql(default_with = "UpsertMode::Partial")]
    pub mode: UpsertMode,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

/// The keys a call's records name, by kind, looked up in its source.
struct Named {
    customers: HashMap<String, Uuid>,
    contacts: HashMap<String, Uuid>,
    orders: HashMap<String, Uuid>,
}

#[derive(Default)]
pub struct ContractUpsertMutation;

#[Object]
impl ContractUpsertMutation {
    /// Creates or updates up to 1,000 contracts with their payment plans by `(source,
    /// externalId)`: no contract with the key creates one (numbered by the tenant's rule),
    /// one updates it, and a record matching the contract as stored writes nothing. Each
    /// row passes the checks `createContract`, `updateContract`, `completeContract` and
    /// `voidContract` make (the customer in the caller's scope, the fields and plan
    /// checked, only a contract not in force edited), in one transaction with the change
    /// events. A contract sent as APPROVED was signed into force in the source: recording
    /// it takes `contract.approve`. Needs `contract.write`.
    async fn upsert_contracts(&self, ctx: &Context<'_>, input: UpsertContractsInput) -> ApiResult<UpsertPayload> {
        let actor = require(ctx, Permission::ContractWrite)?.writing();
        let source = check_call(&input.source, input.records.len())?;
        let author = author(ctx, &actor);
        let rules = Rules {
            contracts: EntityKind::contract_rules(&actor),
            links: contract_links(&actor),
            may_approve: actor.may(Permission::ContractApprove),
            may_void: actor.may(Permission::ContractVoid),
        };
        let mode = input.mode.into();
        let hashed = serde_json::to_value(&input).unwrap_or_default();
        let customers = keys_named(&input.records, |r| r.customer_external_id.as_ref());
        let contacts = keys_named(&input.records, |r| r.contact_external_id.as_ref());
        let orders = keys_named(&input.records, |r| r.order_external_id.as_ref());
        let key_source = source.clone();
        run(
            ctx,
            &actor,
            ("upsertContracts", EntityKind::Contract),
            (input.idempotency_key.as_deref(), &hashed),
            source,
            move |tx| {
                Box::pin(async move {
                    let wanted = [
                        (EntityKind::Customer, customers),
                        (EntityKind::Contact, contacts),
                        (EntityKind::Order, orders),
                    ];
                    let [customers, contacts, orders] = named_each(tx, author.tenant_id, &key_source, wanted).await?;
                    let named = Named { customers, contacts, orders };
                    let rows = input.records.into_iter().map(|record| record.row(&named)).collect();
                    guanxi_store::finance::contract_upsert::upsert(tx, &author, rules, (&key_source, mode), rows).await
                })
            },
        )
        .await
    }
}

impl ContractUpsertRecord {
    /// The row as the store takes it: references resolved (by id, or by key through
    /// `named`) and the record's own shape checked.
    fn row(self, named: &Named) -> UpsertRow {
        let customer = reference(
            ("customerId", self.customer_id.as_ref(), EntityKind::Customer),
            ("customerExternalId", self.customer_external_id.as_ref()),
            &named.customers,
        )
        .map(|c| c.map(CustomerId::from_uuid));
        let external_id = self.external_id.trim().to_owned();
        UpsertRow { external_id, customer, patch: self.patch(named) }
    }

    fn patch(self, named: &Named) -> Result<ContractPatch, Invalid> {
        let mut invalid = Invalid::default();
        invalid.check(upsert::parse_external_id("externalId", &self.external_id));
        let contact = optional_reference(
            ("contactId", self.contact_id, EntityKind::Contact),
            ("contactExternalId", self.contact_external_id.as_ref()),
            &named.contacts,
            &mut invalid,
        );
        let order = optional_reference(
            ("orderId", self.order_id, EntityKind::Order),
            ("orderExternalId", self.order_external_id.as_ref()),
            &named.orders,
            &mut invalid,
        );
        let opportunity =
            optional_id("opportunityId", self.opportunity_id, EntityKind::Opportunity.name(), &mut invalid);
        let owner = optional_id("ownerId", self.owner_id.map(Some).into(), USER, &mut invalid).flatten();
        let signer = optional_id("signerId", self.signer_id, USER, &mut invalid);
        let installments = self.installments.map(|plan| {
            plan.into_iter()
                .enumerate()
                .map(|(i, d)| InstallmentDraft {
                    amount: d.amount,
                    due_on: d.due_on,
                    method: d.method.map(Into::into),
                    remind_days: d.remind_days.and_then(|r| {
                        let field = format!("installments.{i}.remindDays");
                        u16::try_from(r)
                            .map_err(|_| invalid.push(FieldError::new(field, ErrorCode::Invalid, "0 to 365 days")))
                            .ok()
                    }),
                    note: d.note.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()),
                })
                .collect()
        });
        invalid.into_result()?;
        Ok(ContractPatch {
            title: self.title,
            contact: contact.map(|c| c.map(ContactId::from_uuid)),
            opportunity: opportunity.map(|d| d.map(OpportunityId::from_uuid)),
            order: order.map(|o| o.map(OrderId::from_uuid)),
            owner: owner.map(UserId::from_uuid),
            signer: signer.map(|s| s.map(UserId::from_uuid)),
            signed_on: patched(self.signed_on),
            starts_on: patched(self.starts_on),
            ends_on: patched(self.ends_on),
            amount: self.amount,
            payment_terms: patched_text(self.payment_terms),
            notes: patched_text(self.notes),
            installments,
            status: self.status.map(Into::into),
            void_reason: self.void_reason,
        })
    }
}
