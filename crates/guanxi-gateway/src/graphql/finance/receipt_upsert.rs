//! `upsertReceipts`: a finance system's receipts (回款, 收款单) by external key, through the
//! upsert kit (`integration::upsert`) and the store's set-based `receipt_upsert`. The
//! contract a receipt is paid into may be named by its key in the same source.

use std::collections::HashMap;

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object};
use chrono::NaiveDate;
use guanxi_domain::Invalid;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::finance::receivable::ReceiptStatus;
use guanxi_domain::platform::access::Permission;
use guanxi_domain::platform::upsert;
use guanxi_store::finance::receipt_upsert::{ReceiptPatch, Rules, UpsertRow};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::contract::PaymentMethod;
use crate::graphql::context::{author, require};
use crate::graphql::error::ApiResult;
use crate::graphql::integration::upsert::{UpsertMode, UpsertPayload, check_call, keys_named, named_each, run};
use crate::graphql::trade::product_upsert::{patched_text, reference};

/// The status a synced receipt ends in.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
pub enum SyncedReceiptStatus {
    /// 已确认: booked, and allocated to the contract's installments (a new receipt's
    /// default). Where the tenant's receipt approval flow applies it waits for approval
    /// first, as a receipt typed in does; one waiting counts as booked.
    Approved,
    /// 已红冲: reversed (needs `reversedReason`); its allocations are given back.
    Reversed,
}

impl From<SyncedReceiptStatus> for ReceiptStatus {
    fn from(status: SyncedReceiptStatus) -> Self {
        match status {
            SyncedReceiptStatus::Approved => ReceiptStatus::Approved,
            SyncedReceiptStatus::Reversed => ReceiptStatus::Reversed,
        }
    }
}

/// One receipt of an upsert call. A new receipt needs its contract, day, method and
/// amount; a stored one is never edited (re-sent as it is it changes nothing), only
/// reversed.
#[derive(InputObject, Serialize)]
pub struct ReceiptUpsertRecord {
    /// The receipt's key in the source system (the finance system's voucher number).
    pub external_id: String,
    /// The approved contract it is paid into, by id…
    pub contract_id: Option<ID>,
    /// …or by the contract's key in the same source.
    pub contract_external_id: Option<String>,
    pub received_on: Option<NaiveDate>,
    pub method: Option<PaymentMethod>,
    /// In the contract's decimal places.
    pub amount: Option<Decimal>,
    /// Who paid, as the bank statement names them.
    pub payer: MaybeUndefined<String>,
    pub note: MaybeUndefined<String>,
    /// Left out: APPROVED for a new receipt, the stored status otherwise.
    pub status: Option<SyncedReceiptStatus>,
    /// Why, when the record reverses the receipt.
    pub reversed_reason: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct UpsertReceiptsInput {
    /// The system the keys come from; contracts named by key are looked up in it too.
    pub source: String,
    /// At most 1,000 records.
    pub records: Vec<ReceiptUpsertRecord>,
    #[graphql(default_with = "UpsertMode::Partial")]
    pub mode: UpsertMode,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(Default)]
pub struct ReceiptUpsertMutation;

#[Object]
impl ReceiptUpsertMutation {
    /// Creates or reverses up to 1,000 receipts by `(source, externalId)`: no receipt with
    /// the key books one (numbered by the tenant's rule) against an approved contract you
    /// see and allocates it to the contract's installments, oldest first, as an approval
    /// does (what is left over is an advance, where the tenant allows advances); a stored
    /// receipt re-sent as it is writes nothing, and `REVERSED` is the red entry (红冲). A
    /// receipt is never edited: other figures for a stored key are `ILLEGAL_STATE`. One
    /// transaction with the change events. Needs `receivable.write`.
    async fn upsert_receipts(&self, ctx: &Context<'_>, input: UpsertReceiptsInput) -> ApiResult<UpsertPayload> {
        let actor = require(ctx, Permission::ReceivableWrite)?.writing();
        let source = check_call(&input.source, input.records.len())?;
        let author = author(ctx, &actor);
        let rules = Rules {
            receipts: EntityKind::receipt_rules(&actor),
            contracts: EntityKind::contract_rules(&actor),
            department: Some(actor.department_id),
        };
        let mode = input.mode.into();
        let hashed = serde_json::to_value(&input).unwrap_or_default();
        let contracts = keys_named(&input.records, |r| r.contract_external_id.as_ref());
        let key_source = source.clone();
        run(
            ctx,
            &actor,
            ("upsertReceipts", EntityKind::Receipt),
            (input.idempotency_key.as_deref(), &hashed),
            source,
            move |tx| {
                Box::pin(async move {
                    let wanted = [(EntityKind::Contract, contracts)];
                    let [contracts] = named_each(tx, author.tenant_id, &key_source, wanted).await?;
                    let rows = input.records.into_iter().map(|record| record.row(&contracts)).collect();
                    guanxi_store::finance::receipt_upsert::upsert(tx, &author, rules, (&key_source, mode), rows).await
                })
            },
        )
        .await
    }
}

impl ReceiptUpsertRecord {
    /// The row as the store takes it: the contract resolved (by id, or by key through
    /// `contracts`) and the record's own shape checked.
    fn row(self, contracts: &HashMap<String, Uuid>) -> UpsertRow {
        let external_id = self.external_id.trim().to_owned();
        UpsertRow { external_id, patch: self.patch(contracts) }
    }

    fn patch(self, contracts: &HashMap<String, Uuid>) -> Result<ReceiptPatch, Invalid> {
        let mut invalid = Invalid::default();
        invalid.check(upsert::parse_external_id("externalId", &self.external_id));
        let contract = reference(
            ("contractId", self.contract_id.as_ref(), EntityKind::Contract),
            ("contractExternalId", self.contract_external_id.as_ref()),
            contracts,
        )
        .and_then(|c| c.map_err(|e| invalid.0.extend(e.0)).ok());
        invalid.into_result()?;
        Ok(ReceiptPatch {
            contract,
            received_on: self.received_on,
            method: self.method.map(Into::into),
            amount: self.amount,
            payer: patched_text(self.payer),
            note: patched_text(self.note),
            status: self.status.map(Into::into),
            reversed_reason: self.reversed_reason,
        })
    }
}
