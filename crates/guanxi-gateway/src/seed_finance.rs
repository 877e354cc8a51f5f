//! The demo tenant's contracts and money: a contract approval flow (the submitter's
//! manager, then finance), a contract of 明远 approved through it with three installments
//! — one paid, one partly paid and overdue, one to come — and a contract of 恒信 waiting on
//! the sales manager, so every queue and report has something in it.

use anyhow::Context;
use chrono::{Duration, Utc};
use guanxi_domain::approval::engine::Act;
use guanxi_domain::approval::flow::{ApproverRule, DocumentKind, Step, StepMode};
use guanxi_domain::customers::customer::shanghai_date;
use guanxi_domain::finance::contract::ContractFields;
use guanxi_domain::finance::receivable::{InstallmentDraft, PaymentMethod};
use guanxi_domain::ids::{CustomerId, RoleId, TenantId, UserId};
use guanxi_store::finance::approval::FlowInput;
use guanxi_store::finance::contract::{ContractLinks, NewContract};
use guanxi_store::finance::receivable::NewReceipt;
use guanxi_store::platform::audit::Author;
use guanxi_store::scope::OrApprover;
use rust_decimal::Decimal;

/// Who acts in the demo's approvals.
pub(crate) struct People {
    pub rep: UserId,
    pub manager: UserId,
    pub finance: UserId,
    pub finance_role: RoleId,
}

fn as_user(tenant: TenantId, user: UserId) -> Author {
    Author { tenant_id: tenant, user_id: Some(user.uuid()), api_key_id: None, request_id: None }
}

fn yuan(amount: i64) -> Decimal {
    Decimal::from(amount)
}

pub(crate) async fn demo_finance<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    tenant: TenantId,
    people: &People,
    customers: &[(&'static str, CustomerId, Option<UserId>)],
) -> anyhow::Result<()> {
    let system = Author::system(tenant);
    let flow = FlowInput {
        kind: DocumentKind::Contract,
        name: "合同审批".into(),
        priority: 0,
        condition: None,
        steps: vec![
            Step {
                name: "直属上级".into(),
                approvers: vec![ApproverRule::Manager { levels: 1 }],
                mode: StepMode::Any,
                skip_submitter: true,
            },
            Step {
                name: "财务审核".into(),
                approvers: vec![ApproverRule::Role { role_id: people.finance_role }],
                mode: StepMode::Any,
                skip_submitter: true,
            },
        ],
        active: true,
    };
    guanxi_store::finance::approval::create_flow(tx, &system, flow).await?;
    let customer = |name: &str| {
        customers
            .iter()
            .find(|(n, ..)| *n == name)
            .map(|(_, id, _)| *id)
            .with_context(|| format!("demo customer {name}"))
    };
    let today = shanghai_date(Utc::now());
    let rep = as_user(tenant, people.rep);
    let contract = |title: &str, customer: CustomerId, amount: i64| ContractFields {
        title: title.into(),
        customer_id: customer,
        contact_id: None,
        opportunity_id: None,
        quote_id: None,
        order_id: None,
        owner_id: Some(people.rep),
        signer_id: Some(people.manager),
        signed_on: Some(today - Duration::days(90)),
        starts_on: Some(today - Duration::days(90)),
        ends_on: Some(today + Duration::days(275)),
        amount: yuan(amount),
        payment_terms: Some("合同签订后预付30%，验收合格后付60%，质保期满付10%".into()),
        attachments: vec![],
        external_id: None,
        notes: None,
    };
    let installment = |amount: i64, days: i64| InstallmentDraft {
        amount: yuan(amount),
        due_on: today + Duration::days(days),
        method: Some(PaymentMethod::BankTransfer),
        remind_days: None,
        note: None,
    };
    // 明远: approved by the manager and then finance; paid in part.
    let new = NewContract {
        fields: contract("数控机床升级供货合同", customer("上海明远机械制造有限公司")?, 580_000),
        plan: vec![installment(174_000, -80), installment(348_000, -20), installment(58_000, 200)],
        links: ContractLinks::ALL,
    };
    let signed = guanxi_store::finance::contract::create(tx, &rep, OrApprover::ALL, new).await?;
    let id = signed.id.uuid();
    guanxi_store::finance::contract::submit(tx, &rep, OrApprover::ALL, (id, signed.version), None).await?;
    let request = guanxi_store::finance::approval::pending_of(tx, tenant, id).await?.context("the demo approval")?;
    for approver in [people.manager, people.finance] {
        let author = as_user(tenant, approver);
        guanxi_store::finance::decide::act(tx, &author, request.id.uuid(), &Act::Approve, Some("同意".into())).await?;
    }
    for (amount, days, method) in
        [(174_000, -78, PaymentMethod::BankTransfer), (200_000, -15, PaymentMethod::AcceptanceBill)]
    {
        let receipt = NewReceipt {
            contract_id: id,
            received_on: today + Duration::days(days),
            method,
            amount: yuan(amount),
            payer: Some("上海明远机械制造有限公司".into()),
            external_id: None,
            note: None,
            allocations: None,
        };
        guanxi_store::finance::receivable::create(tx, &rep, OrApprover::ALL, receipt, None).await?;
    }
    // 恒信: waiting on the sales manager.
    let new = NewContract {
        fields: contract("SMT 产线扩容合同", customer("苏州恒信电子科技有限公司")?, 1_200_000),
        plan: vec![installment(600_000, 30), installment(600_000, 120)],
        links: ContractLinks::ALL,
    };
    let pending = guanxi_store::finance::contract::create(tx, &rep, OrApprover::ALL, new).await?;
    guanxi_store::finance::contract::submit(tx, &rep, OrApprover::ALL, (pending.id.uuid(), pending.version), None)
        .await?;
    Ok(())
}
