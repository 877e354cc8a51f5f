//! The demo tenant's contracts and money: a contract approval flow (the submitter's
//! manager, then finance), a contract of 明远 approved through it with three installments
//! — one paid, one partly paid and overdue, one to come — and a contract of 恒信 waiting on
//! the sales manager, so every queue and report has something in it. 明远 has a billing
//! profile, an invoice issued and a second one waiting on finance's invoice flow. A
//! commission plan covers the sales roles, and this month's statements are calculated.

use anyhow::Context;
use chrono::{Datelike, Duration, Utc};
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
    Author { tenant_id: tenant, user_id: Some(user.uuid()), api_key_id: None, contact_id: None, request_id: None }
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
    demo_invoices(tx, tenant, people, (customer("上海明远机械制造有限公司")?, id)).await?;
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

/// An invoice flow (finance checks every request), 明远's billing profile, an issued
/// special VAT invoice for the first installment and a request for the second.
async fn demo_invoices<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    tenant: TenantId,
    people: &People,
    (customer, contract): (CustomerId, uuid::Uuid),
) -> anyhow::Result<()> {
    use guanxi_domain::finance::invoice::{BillingTitle, InvoiceTerms, TitleKind, VatKind};
    use guanxi_domain::trade::money::TaxRate;
    use guanxi_store::finance::invoice::{NewInvoice, RequestScopes};
    let system = Author::system(tenant);
    let flow = FlowInput {
        kind: DocumentKind::Invoice,
        name: "开票审核".into(),
        priority: 0,
        condition: None,
        steps: vec![Step {
            name: "财务审核".into(),
            approvers: vec![ApproverRule::Role { role_id: people.finance_role }],
            mode: StepMode::Any,
            skip_submitter: true,
        }],
        active: true,
    };
    guanxi_store::finance::approval::create_flow(tx, &system, flow).await?;
    let rep = as_user(tenant, people.rep);
    let title = BillingTitle {
        title_kind: TitleKind::Organisation,
        title: "上海明远机械制造有限公司".into(),
        tax_number: guanxi_domain::customers::customer::TaxId::with_check_character("91310115MA1H7QK2X"),
        bank: Some("招商银行上海张江支行".into()),
        account: Some("1219 0876 5432 101".into()),
        address: Some("上海市浦东新区张江路 88 号".into()),
        phone: Some("021-58961234".into()),
    };
    let all = guanxi_domain::platform::access::CustomerRule::ALL;
    let profile = guanxi_store::finance::invoice::create_profile(tx, &rep, all, customer.uuid(), (title, true)).await?;
    let scopes = RequestScopes { contracts: OrApprover::ALL, customers: all };
    let finance = as_user(tenant, people.finance);
    for (n, amount) in [(0, 174_000), (1, 200_000)] {
        let new = NewInvoice {
            contract_id: contract,
            profile_id: profile.id.uuid(),
            terms: InvoiceTerms { vat_kind: VatKind::Special, rate: TaxRate::Vat13, amount: yuan(amount) },
            external_id: None,
            note: None,
        };
        let requested = guanxi_store::finance::invoice::request(tx, &rep, scopes, new, None).await?;
        if n > 0 {
            continue;
        }
        let id = requested.id.uuid();
        let request = guanxi_store::finance::approval::pending_of(tx, tenant, id).await?.context("the invoice flow")?;
        guanxi_store::finance::decide::act(tx, &finance, request.id.uuid(), &Act::Approve, None).await?;
        let approved =
            guanxi_store::finance::invoice::find(tx, tenant, OrApprover::ALL, id).await?.context("invoice")?;
        let issued_on = shanghai_date(Utc::now()) - Duration::days(70);
        guanxi_store::finance::invoice::issue(
            tx,
            &finance,
            OrApprover::ALL,
            (id, approved.version),
            ("03187654", issued_on),
        )
        .await?;
    }
    Ok(())
}

/// The demo's commission plan (销售提成方案): the sales roles, paid on signing by
/// progressive tiers, services at their own rate, a bonus for a new customer; this
/// month calculated, so 王磊 has a statement for 明远's contract.
pub(crate) async fn demo_commissions<C: guanxi_store::ConnectionTrait>(
    tx: &C,
    tenant: TenantId,
    admin: UserId,
    sales_roles: [RoleId; 2],
) -> anyhow::Result<()> {
    use guanxi_domain::finance::commission::{
        Band, BaseAmount, CategoryRate, EarnedOn, Member, MemberKind, Period, PlanFields, PlanRules, TierShape, Tiers,
    };
    let today = shanghai_date(Utc::now());
    let categories = guanxi_store::trade::product::categories(tx, tenant).await?;
    let services = categories.iter().find(|c| c.name == "服务与培训").context("the demo's service category")?;
    let band = |from: i64, rate: i64| Band { from: yuan(from), rate: yuan(rate) };
    let fields = PlanFields {
        name: "销售提成方案".into(),
        earned_on: EarnedOn::Signing,
        base: BaseAmount::Gross,
        rules: PlanRules {
            rate: yuan(1),
            category_rates: vec![CategoryRate { category_id: services.id.uuid(), rate: yuan(5) }],
            tiers: Some(Tiers {
                shape: TierShape::Progressive,
                bands: vec![band(0, 2), band(100_000, 3), band(500_000, 4)],
            }),
            new_customer_bonus: Some(yuan(800)),
            formula: None,
        },
        members: sales_roles.iter().map(|r| Member { kind: MemberKind::Role, id: r.uuid() }).collect(),
        // From the first of January.
        effective_from: today.with_ordinal(1).unwrap_or(today),
        effective_to: None,
        active: true,
    };
    let author = as_user(tenant, admin);
    guanxi_store::finance::commission::create(tx, &author, fields).await?;
    guanxi_store::finance::commission_run::calculate(tx, &author, Period::of(today)).await?;
    // Customer value (RFM) as the nightly job leaves it.
    guanxi_store::analytics::customer_value::refresh(tx, tenant, today, Utc::now()).await?;
    Ok(())
}
