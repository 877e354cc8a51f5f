//! The benchmark loader's money: a contract flow (the owner's manager), a contract for one
//! customer in eight (12,500 at M) with one to six installments over a year, receipts for
//! what fell due (seven in ten paid, one in seven partly), and approval requests — most
//! approved by the admin, one contract in twenty still waiting on them, so `myApprovals`
//! and the aging report have realistic volumes. Every customer with a contract in force
//! has a billing profile, and what was received is invoiced (one issued invoice per
//! contract that received money, one in ten more waiting to be issued). Fast path, no
//! change events (see `bench_data`). A commission plan covers every owner (progressive
//! tiers, a new-customer bonus), and one contract in ten is split 60/40 with another rep.

use chrono::{Duration, Utc};
use guanxi_domain::approval::engine::{PlannedStep, RequestStatus, TaskStatus};
use guanxi_domain::approval::flow::{ApproverRule, DocumentKind, Step, StepMode};
use guanxi_domain::customers::customer::shanghai_date;
use guanxi_domain::finance::contract::ContractStatus;
use guanxi_domain::finance::invoice::{BillingTitle, InvoiceStatus, InvoiceTerms, TitleKind, VatKind};
use guanxi_domain::finance::receivable::{PaymentMethod, ReceiptStatus};
use guanxi_domain::ids::{TenantId, UserId};
use guanxi_domain::trade::money::{TaxRate, from_e4, to_e4};
use rand::Rng;
use rand::rngs::StdRng;
use sea_orm::ActiveValue::Set;
use serde_json::json;
use uuid::Uuid;

use crate::Database;
use crate::entity::{
    approval_flow, approval_request, approval_task, billing_profile, commission_plan, contract, contract_split,
    installment, invoice, receipt,
};

/// Loads contracts, plans, receipts and approvals for `customers` (with their owners),
/// approved by `admin`; returns the rows written.
pub(crate) async fn load(
    db: &Database,
    tenant: TenantId,
    rng: &mut StdRng,
    (customers, owners): (&[Uuid], &[Uuid]),
    admin: UserId,
) -> crate::StoreResult<u64> {
    let now = Utc::now();
    let today = shanghai_date(now);
    let t = tenant.uuid();
    let mut rows = 0;
    let flow_id = Uuid::now_v7();
    let steps = vec![Step {
        name: "直属上级".into(),
        approvers: vec![ApproverRule::Manager { levels: 1 }],
        mode: StepMode::Any,
        skip_submitter: true,
    }];
    let tx = db.begin_write().await?;
    rows += crate::insert_chunked(
        &tx,
        vec![approval_flow::ActiveModel {
            tenant_id: Set(t),
            id: Set(flow_id),
            kind: Set(DocumentKind::Contract.as_str().into()),
            name: Set("合同审批".into()),
            priority: Set(0),
            condition: Set(None),
            steps: Set(json!(steps)),
            active: Set(true),
            version: Set(1),
            created_at: Set(now),
            updated_at: Set(now),
            deleted_at: Set(None),
        }],
    )
    .await?;
    tx.commit().await?;
    let plan = json!([PlannedStep { name: "直属上级".into(), mode: StepMode::Any, approvers: vec![admin] }]);
    let (mut contracts, mut plans, mut receipts, mut requests, mut tasks) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut profiles, mut invoices, mut splits) = (Vec::new(), Vec::new(), Vec::new());
    for (i, (customer, owner)) in customers.iter().zip(owners).enumerate().filter(|(i, _)| i % 8 == 3) {
        let id = Uuid::now_v7();
        let partner = owners[(i + 1) % owners.len()];
        if i % 10 == 3 && partner != *owner {
            for (user, share) in [(*owner, 60), (partner, 40)] {
                splits.push(contract_split::ActiveModel {
                    tenant_id: Set(t),
                    id: Set(Uuid::now_v7()),
                    contract_id: Set(id),
                    user_id: Set(user),
                    share_e4: Set(share * 10_000),
                });
            }
        }
        let signed = now - Duration::days(rng.gen_range(0..365));
        let signed_on = shanghai_date(signed);
        let status = match rng.gen_range(0..20) {
            0 => ContractStatus::PendingApproval,
            1 => ContractStatus::Draft,
            2 | 3 => ContractStatus::Completed,
            _ => ContractStatus::Approved,
        };
        let count = rng.gen_range(1..=6_i64);
        let part = rng.gen_range(1_000..300_000_i64) * 10_000;
        let amount = part * count;
        let mut received = 0;
        for n in 0..count {
            let due_on = signed_on + Duration::days(30 + n * 60);
            let in_force = matches!(status, ContractStatus::Approved | ContractStatus::Completed);
            let paid = match rng.gen_range(0..20) {
                _ if !in_force || due_on > today => 0,
                0..14 => part,
                14..17 => part / 2,
                _ => 0,
            };
            let installment_id = Uuid::now_v7();
            plans.push(installment::ActiveModel {
                tenant_id: Set(t),
                id: Set(installment_id),
                contract_id: Set(id),
                seq: Set(i32::try_from(n + 1).unwrap_or(1)),
                amount_e4: Set(part),
                due_on: Set(due_on),
                method: Set(Some(PaymentMethod::BankTransfer.as_str().into())),
                remind_days: Set(3),
                received_e4: Set(paid),
                void: Set(false),
                note: Set(None),
                created_at: Set(signed),
                updated_at: Set(signed),
            });
            if paid > 0 {
                received += paid;
                receipts.push(receipt::ActiveModel {
                    tenant_id: Set(t),
                    id: Set(Uuid::now_v7()),
                    number: Set(format!("HK{i:08}{n}")),
                    contract_id: Set(id),
                    customer_id: Set(*customer),
                    owner_id: Set(Some(*owner)),
                    received_on: Set(due_on),
                    method: Set(PaymentMethod::BankTransfer.as_str().into()),
                    amount_e4: Set(paid),
                    advance_e4: Set(0),
                    payer: Set(None),
                    external_id: Set(None),
                    note: Set(None),
                    status: Set(ReceiptStatus::Approved.as_str().into()),
                    allocations: Set(json!([{"installment": installment_id, "amount_e4": paid}])),
                    reversed_reason: Set(None),
                    reversed_at: Set(None),
                    created_by: Set(Some(*owner)),
                    version: Set(1),
                    created_at: Set(signed),
                    updated_at: Set(signed),
                });
            }
        }
        let in_force = matches!(status, ContractStatus::Approved | ContractStatus::Completed);
        let mut invoiced = 0;
        if in_force {
            let profile = Uuid::now_v7();
            profiles.push(bench_profile(t, profile, *customer, i, signed));
            let waiting = if i % 10 == 3 { (amount - received).min(part) } else { 0 };
            for (n, amount, issued) in [(0, received, true), (1, waiting, false)] {
                if amount > 0 {
                    invoiced += amount;
                    let on = issued.then_some(signed_on + Duration::days(35));
                    invoices.push(bench_invoice(t, (id, *customer, *owner, profile), (i, n), amount, on, signed));
                }
            }
        }
        let submitted = status != ContractStatus::Draft;
        if submitted {
            let request = Uuid::now_v7();
            let pending = status == ContractStatus::PendingApproval;
            let outcome = if pending { RequestStatus::Pending } else { RequestStatus::Approved };
            requests.push(approval_request::ActiveModel {
                tenant_id: Set(t),
                id: Set(request),
                kind: Set(DocumentKind::Contract.as_str().into()),
                document_id: Set(id),
                flow_id: Set(Some(flow_id)),
                submitter_id: Set(*owner),
                plan: Set(plan.clone()),
                step: Set(0),
                status: Set(outcome.as_str().into()),
                version: Set(1),
                created_at: Set(signed),
                updated_at: Set(signed),
            });
            tasks.push(approval_task::ActiveModel {
                tenant_id: Set(t),
                id: Set(Uuid::now_v7()),
                request_id: Set(request),
                kind: Set(DocumentKind::Contract.as_str().into()),
                document_id: Set(id),
                step: Set(0),
                approver_id: Set(admin.uuid()),
                status: Set((if pending { TaskStatus::Pending } else { TaskStatus::Approved }).as_str().into()),
                comment: Set(None),
                acted_at: Set((!pending).then_some(signed)),
                created_at: Set(signed),
            });
        }
        contracts.push(contract::ActiveModel {
            tenant_id: Set(t),
            id: Set(id),
            number: Set(format!("HT{i:08}")),
            revision: Set(1),
            revises_id: Set(None),
            title: Set(format!("年度供货合同 {i}")),
            customer_id: Set(*customer),
            contact_id: Set(None),
            opportunity_id: Set(None),
            quote_id: Set(None),
            order_id: Set(None),
            owner_id: Set(Some(*owner)),
            signer_id: Set(Some(*owner)),
            signed_on: Set(Some(signed_on)),
            starts_on: Set(Some(signed_on)),
            ends_on: Set(Some(signed_on + Duration::days(365))),
            amount_e4: Set(amount),
            places: Set(2),
            received_e4: Set(received),
            invoiced_e4: Set(invoiced),
            payment_terms: Set(Some("按期付款".into())),
            attachments: Set(json!([])),
            external_id: Set(None),
            notes: Set(None),
            status: Set(status.as_str().into()),
            void_reason: Set(None),
            approved_at: Set(matches!(status, ContractStatus::Approved | ContractStatus::Completed).then_some(signed)),
            effective_at: Set(matches!(status, ContractStatus::Approved | ContractStatus::Completed).then_some(signed)),
            voided_at: Set(None),
            completed_at: Set((status == ContractStatus::Completed).then_some(now)),
            created_by: Set(Some(*owner)),
            version: Set(2),
            created_at: Set(signed),
            updated_at: Set(signed),
            deleted_at: Set(None),
        });
    }
    let tx = db.begin_write().await?;
    rows += crate::insert_chunked(&tx, contracts).await?;
    rows += crate::insert_chunked(&tx, plans).await?;
    rows += crate::insert_chunked(&tx, receipts).await?;
    rows += crate::insert_chunked(&tx, requests).await?;
    rows += crate::insert_chunked(&tx, tasks).await?;
    rows += crate::insert_chunked(&tx, profiles).await?;
    rows += crate::insert_chunked(&tx, invoices).await?;
    rows += crate::insert_chunked(&tx, splits).await?;
    rows += crate::insert_chunked(&tx, vec![commission_plan(t, owners, now)]).await?;
    tx.commit().await?;
    Ok(rows)
}

/// The loader's commission plan: every owner, on signing, by progressive tiers.
fn commission_plan(t: Uuid, owners: &[Uuid], now: chrono::DateTime<Utc>) -> commission_plan::ActiveModel {
    let mut members: Vec<Uuid> = owners.to_vec();
    members.sort();
    members.dedup();
    use guanxi_domain::finance::commission::{Band, Member, MemberKind, PlanRules, TierShape, Tiers};
    let members: Vec<Member> = members.into_iter().map(|id| Member { kind: MemberKind::User, id }).collect();
    let band = |from: i64, rate: i64| Band { from: from.into(), rate: rate.into() };
    let rules = PlanRules {
        rate: 1.into(),
        category_rates: vec![],
        tiers: Some(Tiers {
            shape: TierShape::Progressive,
            bands: vec![band(0, 2), band(500_000, 3), band(2_000_000, 4)],
        }),
        new_customer_bonus: Some(500.into()),
        formula: None,
    };
    commission_plan::ActiveModel {
        tenant_id: Set(t),
        id: Set(Uuid::now_v7()),
        name: Set("压测提成方案".into()),
        earned_on: Set("SIGNING".into()),
        base: Set("GROSS".into()),
        rules: Set(json!(rules)),
        members: Set(json!(members)),
        effective_from: Set(shanghai_date(now) - Duration::days(400)),
        effective_to: Set(None),
        active: Set(true),
        created_by: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    }
}

/// A customer's organisation billing profile (its tax number made valid).
fn bench_profile(
    t: Uuid,
    id: Uuid,
    customer: Uuid,
    i: usize,
    at: chrono::DateTime<Utc>,
) -> billing_profile::ActiveModel {
    let tax = guanxi_domain::customers::customer::TaxId::with_check_character(&format!("91310000MA{i:07}"));
    billing_profile::ActiveModel {
        tenant_id: Set(t),
        id: Set(id),
        customer_id: Set(customer),
        title_kind: Set(TitleKind::Organisation.as_str().into()),
        title: Set(format!("客户开票抬头 {i}")),
        tax_number: Set(tax),
        bank: Set(Some("中国工商银行上海分行".into())),
        account: Set(Some(format!("1001{i:012}"))),
        address: Set(Some("上海市浦东新区世纪大道 100 号".into())),
        phone: Set(Some("021-68880000".into())),
        is_default: Set(true),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
        deleted_at: Set(None),
    }
}

/// An invoice of `amount_e4` at 13 %: issued on `issued_on`, or approved and waiting.
fn bench_invoice(
    t: Uuid,
    (contract, customer, owner, profile): (Uuid, Uuid, Uuid, Uuid),
    (i, n): (usize, usize),
    amount_e4: i64,
    issued_on: Option<chrono::NaiveDate>,
    at: chrono::DateTime<Utc>,
) -> invoice::ActiveModel {
    let terms = InvoiceTerms { vat_kind: VatKind::Special, rate: TaxRate::Vat13, amount: from_e4(amount_e4) };
    let status = if issued_on.is_some() { InvoiceStatus::Issued } else { InvoiceStatus::Approved };
    invoice::ActiveModel {
        tenant_id: Set(t),
        id: Set(Uuid::now_v7()),
        number: Set(format!("KP{i:08}{n}")),
        contract_id: Set(contract),
        customer_id: Set(customer),
        owner_id: Set(Some(owner)),
        profile_id: Set(Some(profile)),
        title: Set(json!(BillingTitle {
            title_kind: TitleKind::Organisation,
            title: format!("客户开票抬头 {i}"),
            tax_number: None,
            bank: None,
            account: None,
            address: None,
            phone: None,
        })),
        vat_kind: Set(terms.vat_kind.as_str().into()),
        rate: Set(terms.rate.as_str().into()),
        amount_e4: Set(amount_e4),
        tax_e4: Set(to_e4(terms.split().1)),
        status: Set(status.as_str().into()),
        invoice_number: Set(issued_on.map(|_| format!("{:08}", i * 2 + n))),
        issued_on: Set(issued_on),
        void_reason: Set(None),
        voided_at: Set(None),
        external_id: Set(None),
        note: Set(None),
        created_by: Set(Some(owner)),
        version: Set(1),
        created_at: Set(at),
        updated_at: Set(at),
    }
}
