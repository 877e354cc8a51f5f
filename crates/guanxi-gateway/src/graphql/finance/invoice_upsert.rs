//! `upsertInvoices`: a finance or tax system's invoices (发票) by external key, through
//! the upsert kit (`integration::upsert`) and the store's set-based `invoice_upsert`. The
//! contract an invoice is billed on may be named by its key in the same source.

use std::collections::HashMap;

use async_graphql::{Context, Enum, ID, InputObject, MaybeUndefined, Object};
use chrono::NaiveDate;
use guanxi_domain::Invalid;
use guanxi_domain::entity::EntityKind;
use guanxi_domain::finance::invoice::InvoiceStatus;
use guanxi_domain::platform::access::Permission;
use guanxi_domain::platform::upsert;
use guanxi_store::finance::invoice_upsert::{Billed, InvoicePatch, Rules, UpsertRow};
use rust_decimal::Decimal;
use serde::Serialize;
use uuid::Uuid;

use super::invoice::{BILLING_PROFILE, BillingTitleInput, VatKind};
use crate::graphql::context::{author, require};
use crate::graphql::error::ApiResult;
use crate::graphql::integration::upsert::{UpsertMode, UpsertPayload, check_call, keys_named, named_each, run};
use crate::graphql::trade::document::TaxRate;
use crate::graphql::trade::product_upsert::{optional_id, patched_text, reference};

/// The status a synced invoice ends in.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug, Serialize)]
pub enum SyncedInvoiceStatus {
    /// 待审批 / 待开票: a request, as one typed in (a new invoice's default). Where the
    /// tenant's invoice approval flow applies it waits for approval, else it is approved
    /// at once; either counts as requested.
    Requested,
    /// 已开票: issued by the tax authority's system, with `invoiceNumber` and `issuedOn`.
    /// Needs `invoice.issue`; no approval flow is run for it.
    Issued,
    /// 已作废: a stored invoice voided (needs `invoice.issue` and `voidReason`); its amount
    /// goes back to the contract.
    Void,
}

impl From<SyncedInvoiceStatus> for InvoiceStatus {
    fn from(status: SyncedInvoiceStatus) -> Self {
        match status {
            SyncedInvoiceStatus::Requested => InvoiceStatus::Requested,
            SyncedInvoiceStatus::Issued => InvoiceStatus::Issued,
            SyncedInvoiceStatus::Void => InvoiceStatus::Void,
        }
    }
}

/// One invoice of an upsert call. A new invoice needs its contract, kind, rate and amount;
/// it is made out to the billing profile named, or to the title sent, or else to the
/// customer's default profile. A stored invoice is never edited (re-sent as it is it
/// changes nothing), only issued or voided.
#[derive(InputObject, Serialize)]
pub struct InvoiceUpsertRecord {
    /// The invoice's key in the source system.
    pub external_id: String,
    /// The approved contract it is billed on, by id…
    pub contract_id: Option<ID>,
    /// …or by the contract's key in the same source.
    pub contract_external_id: Option<String>,
    /// One of the contract customer's billing profiles…
    pub profile_id: Option<ID>,
    /// …or the title as the source system has it (kept on the invoice).
    pub title: Option<BillingTitleInput>,
    pub vat_kind: Option<VatKind>,
    pub rate: Option<TaxRate>,
    /// 价税合计, in the contract's decimal places.
    pub amount: Option<Decimal>,
    pub note: MaybeUndefined<String>,
    /// Left out: REQUESTED for a new invoice, the stored status otherwise.
    pub status: Option<SyncedInvoiceStatus>,
    /// The tax authority's number, when the record issues it: 8 digits, or 20 for a fully
    /// digital invoice (数电发票).
    pub invoice_number: Option<String>,
    pub issued_on: Option<NaiveDate>,
    /// Why, when the record voids the invoice.
    pub void_reason: Option<String>,
}

#[derive(InputObject, Serialize)]
pub struct UpsertInvoicesInput {
    /// The system the keys come from; contracts named by key are looked up in it too.
    pub source: String,
    /// At most 1,000 records.
    pub records: Vec<InvoiceUpsertRecord>,
    #[graphql(default_with = "UpsertMode::Partial")]
    pub mode: UpsertMode,
    #[serde(skip)]
    pub idempotency_key: Option<String>,
}

#[derive(Default)]
pub struct InvoiceUpsertMutation;

#[Object]
impl InvoiceUpsertMutation {
    /// Creates, issues or voids up to 1,000 invoices by `(source, externalId)`: no invoice
    /// with the key requests one (numbered by the tenant's rule) on an approved contract
    /// you see, holding its amount against what is left to invoice, as `requestInvoice`
    /// does; `ISSUED` records one the tax authority's system issued (`invoice.issue`), new
    /// or stored; `VOID` voids a stored one and gives its amount back. An invoice is never
    /// edited: other terms for a stored key are `ILLEGAL_STATE`. One transaction with the
    /// change events. Needs `invoice.write`.
    async fn upsert_invoices(&self, ctx: &Context<'_>, input: UpsertInvoicesInput) -> ApiResult<UpsertPayload> {
        let actor = require(ctx, Permission::InvoiceWrite)?.writing();
        let source = check_call(&input.source, input.records.len())?;
        let author = author(ctx, &actor);
        let rules = Rules {
            invoices: EntityKind::invoice_rules(&actor),
            contracts: EntityKind::contract_rules(&actor),
            customers: actor.customer_rule(),
            may_issue: actor.may(Permission::InvoiceIssue),
            department: Some(actor.department_id),
        };
        let mode = input.mode.into();
        let hashed = serde_json::to_value(&input).unwrap_or_default();
        let contracts = keys_named(&input.records, |r| r.contract_external_id.as_ref());
        let key_source = source.clone();
        run(
            ctx,
            &actor,
            ("upsertInvoices", EntityKind::Invoice),
            (input.idempotency_key.as_deref(), &hashed),
            source,
            move |tx| {
                Box::pin(async move {
                    let wanted = [(EntityKind::Contract, contracts)];
                    let [contracts] = named_each(tx, author.tenant_id, &key_source, wanted).await?;
                    let rows = input.records.into_iter().map(|record| record.row(&contracts)).collect();
                    guanxi_store::finance::invoice_upsert::upsert(tx, &author, rules, (&key_source, mode), rows).await
                })
            },
        )
        .await
    }
}

impl InvoiceUpsertRecord {
    /// The row as the store takes it: the contract resolved (by id, or by key through
    /// `contracts`) and the record's own shape checked.
    fn row(self, contracts: &HashMap<String, Uuid>) -> UpsertRow {
        let external_id = self.external_id.trim().to_owned();
        UpsertRow { external_id, patch: self.patch(contracts) }
    }

    fn patch(self, contracts: &HashMap<String, Uuid>) -> Result<InvoicePatch, Invalid> {
        let mut invalid = Invalid::default();
        invalid.check(upsert::parse_external_id("externalId", &self.external_id));
        let contract = reference(
            ("contractId", self.contract_id.as_ref(), EntityKind::Contract),
            ("contractExternalId", self.contract_external_id.as_ref()),
            contracts,
        )
        .and_then(|c| c.map_err(|e| invalid.0.extend(e.0)).ok());
        let profile =
            optional_id("profileId", self.profile_id.map(Some).into(), BILLING_PROFILE, &mut invalid).flatten();
        let billed = match (profile, self.title) {
            (Some(_), Some(_)) => {
                let message = "give profileId or title, not both";
                invalid.push(guanxi_domain::FieldError::new("profileId", guanxi_domain::ErrorCode::Invalid, message));
                None
            }
            (Some(id), None) => Some(Billed::Profile(id)),
            (None, Some(title)) => Some(Billed::Title(title.to_domain())),
            (None, None) => None,
        };
        invalid.into_result()?;
        Ok(InvoicePatch {
            contract,
            billed,
            vat_kind: self.vat_kind.map(Into::into),
            rate: self.rate.map(Into::into),
            amount: self.amount,
            note: patched_text(self.note),
            status: self.status.map(Into::into),
            invoice_number: self.invoice_number,
            issued_on: self.issued_on,
            void_reason: self.void_reason,
        })
    }
}
