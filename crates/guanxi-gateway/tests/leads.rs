//! Leads (线索): scoring with its explanation and rescoring, statuses and the
//! unqualified reason, conversion (a new customer, an existing one, a blocked duplicate)
//! with the follow-ups moving to the customer's timeline, the conversion report, lead
//! assignment rules, and the `LEAD` scope on every path. Over HTTP, on SQLite and
//! PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

const LEAD_FIELDS: &str = "id version status score scoreLines { rule points detail } unqualifiedReason owner { email } customer { id name } contact { name mobile } opportunity { name amount { amount } } activities { channel content }";

fn create_query() -> String {
    format!(
        "mutation($i: CreateLeadInput!) {{ createLead(input: $i) {{ lead {{ {LEAD_FIELDS} }} userErrors {{ field code message }} }} }}"
    )
}

async fn create_lead(app: &TestApp, token: &str, input: Value) -> Value {
    ok(app, token, &create_query(), input, ("createLead", "lead")).await
}

async fn follow_up(app: &TestApp, token: &str, lead: &Value, channel: &str, content: &str) -> Value {
    let query = format!(
        "mutation($i: AddLeadActivityInput!) {{ addLeadActivity(input: $i) {{ lead {{ {LEAD_FIELDS} }} userErrors {{ field code message }} }} }}"
    );
    let input = json!({"leadId": lead["id"], "expectedVersion": lead["version"], "channel": channel,
        "occurredAt": chrono::Utc::now().to_rfc3339(), "content": content});
    ok(app, token, &query, input, ("addLeadActivity", "lead")).await
}

async fn read_lead(app: &TestApp, token: &str, id: &Value) -> Value {
    let body = app
        .gql(Some(token), &format!("query($id: ID!) {{ lead(id: $id) {{ {LEAD_FIELDS} }} }}"), json!({"id": id}))
        .await;
    body["data"]["lead"].clone()
}

fn lines(lead: &Value) -> Vec<(String, i64)> {
    lead["scoreLines"]
        .as_array()
        .unwrap_or_else(|| panic!("{lead}"))
        .iter()
        .map(|l| (l["rule"].as_str().unwrap().to_owned(), l["points"].as_i64().unwrap()))
        .collect()
}

const SETTINGS: &str = "mutation($i: UpdateLeadSettingsInput!) { updateLeadSettings(input: $i) { settings { version rules { name trigger points } } userErrors { field code message } } }";

/// Replaces the demo's scoring rules with `rules` and returns the new version.
async fn set_rules(app: &TestApp, admin: &str, rules: Value) -> i64 {
    let read = app.gql(Some(admin), "{ leadSettings { version sources unqualifiedReasons } }", json!({})).await;
    let current = &read["data"]["leadSettings"];
    let input = json!({"expectedVersion": current["version"], "sources": current["sources"],
        "unqualifiedReasons": current["unqualifiedReasons"], "rules": rules});
    ok(app, admin, SETTINGS, input, ("updateLeadSettings", "settings")).await["version"].as_i64().unwrap()
}

fn test_rules() -> Value {
    json!([
        {"name": "制造业", "trigger": "ATTRIBUTE", "attribute": "INDUSTRY", "value": "制造业", "points": 10},
        {"name": "有电话", "trigger": "ATTRIBUTE", "attribute": "HAS_PHONE", "points": 5},
        {"name": "拜访", "trigger": "ACTIVITY", "channel": "VISIT", "maxTimes": 2, "points": 15},
        {"name": "电话", "trigger": "ACTIVITY", "channel": "CALL", "maxTimes": 5, "points": 3},
        {"name": "30 天未跟进", "trigger": "INACTIVE", "days": 30, "points": -10}
    ])
}

#[tokio::test]
async fn a_score_says_which_rules_fired_and_follows_the_lead_its_activity_and_the_clock() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    set_rules(&app, &admin, test_rules()).await;

    let lead = create_lead(
        &app,
        &rep1,
        json!({"lead": {"name": "钱进", "company": "常州钱氏机械", "phone": "13911112222", "industry": "制造业", "source": "展会"}}),
    )
    .await;
    assert_eq!((lead["status"].as_str(), lead["score"].as_i64()), (Some("NEW"), Some(15)), "{lead}");
    assert_eq!(lines(&lead), [("制造业".to_owned(), 10), ("有电话".to_owned(), 5)]);
    assert_eq!(lead["owner"]["email"], "rep1@demo.local");

    // Three visits count twice (the rule's cap), a call once; the lead is being worked.
    let mut lead = lead;
    for (channel, content) in [("VISIT", "初访"), ("VISIT", "二访"), ("VISIT", "三访"), ("CALL", "电话确认需求")]
    {
        lead = follow_up(&app, &rep1, &lead, channel, content).await;
    }
    assert_eq!((lead["status"].as_str(), lead["score"].as_i64()), (Some("WORKING"), Some(48)), "{lead}");
    let visit = lead["scoreLines"].as_array().unwrap().iter().find(|l| l["rule"] == "拜访").cloned().unwrap();
    assert_eq!((visit["points"].as_i64(), visit["detail"].as_str()), (Some(30), Some("拜访 2 次")));
    assert_eq!(lead["activities"].as_array().unwrap().len(), 4);

    // A new industry rescores at once.
    let update = format!(
        "mutation($i: UpdateLeadInput!) {{ updateLead(input: $i) {{ lead {{ {LEAD_FIELDS} }} userErrors {{ field code message }} }} }}"
    );
    let input = json!({"id": lead["id"], "expectedVersion": lead["version"],
        "lead": {"name": "钱进", "company": "常州钱氏机械", "phone": "13911112222", "industry": "贸易", "source": "展会"}});
    let updated = ok(&app, &rep1, &update, input.clone(), ("updateLead", "lead")).await;
    assert_eq!(updated["score"], 38, "{updated}");
    // The version read is checked, and bad input changes nothing.
    let (codes, _) = refused(&app, &rep1, &update, input, "updateLead").await;
    assert_eq!(codes, ["VERSION_CONFLICT"]);
    let bad = json!({"id": lead["id"], "expectedVersion": updated["version"],
        "lead": {"name": " ", "phone": "12", "email": "x", "source": "路边"}});
    let (codes, _) = refused(&app, &rep1, &update, bad, "updateLead").await;
    assert_eq!(codes, ["REQUIRED", "INVALID", "INVALID", "INVALID"]);
    assert_eq!(read_lead(&app, &rep1, &lead["id"]).await["score"], 38);

    // Thirty-one days on, with no follow-up since, the job takes ten points off.
    let later = chrono::Utc::now() + chrono::Duration::days(31);
    assert!(guanxi_gateway::jobs::lead_rescoring_at(app.db.clone(), later).await.unwrap() >= 1);
    let stale = read_lead(&app, &rep1, &lead["id"]).await;
    assert_eq!(stale["score"], 28, "{stale}");
    let quiet = stale["scoreLines"].as_array().unwrap().last().cloned().unwrap();
    assert_eq!((quiet["rule"].as_str(), quiet["detail"].as_str()), (Some("30 天未跟进"), Some("31 天未跟进")));

    // New rules rescore every open lead through the job; a stale settings version is refused.
    let version = set_rules(
        &app,
        &admin,
        json!([{"name": "有电话", "trigger": "ATTRIBUTE", "attribute": "HAS_PHONE", "points": 7}]),
    )
    .await;
    guanxi_gateway::jobs::lead_rescoring_at(app.db.clone(), chrono::Utc::now()).await.unwrap();
    let rescored = read_lead(&app, &rep1, &lead["id"]).await;
    assert_eq!((rescored["score"].as_i64(), lines(&rescored)), (Some(7), vec![("有电话".to_owned(), 7)]));
    let stale = json!({"expectedVersion": version - 1, "sources": [], "unqualifiedReasons": ["其他"], "rules": []});
    assert_eq!(refused(&app, &admin, SETTINGS, stale, "updateLeadSettings").await.0, ["VERSION_CONFLICT"]);
    // A rule missing what its trigger needs, or out of bounds, is refused with its place.
    let input = json!({"expectedVersion": version, "sources": [], "unqualifiedReasons": ["其他"],
        "rules": [{"name": "拜访", "trigger": "ACTIVITY", "points": 5}]});
    let (codes, text) = refused(&app, &admin, SETTINGS, input, "updateLeadSettings").await;
    assert_eq!(codes, ["REQUIRED"]);
    assert!(text.contains("rules.0.channel"), "{text}");
    let input = json!({"expectedVersion": version, "sources": [], "unqualifiedReasons": ["其他"],
        "rules": [{"name": "x", "trigger": "INACTIVE", "days": 400, "points": 0}]});
    assert_eq!(refused(&app, &admin, SETTINGS, input, "updateLeadSettings").await.0, ["INVALID", "INVALID"]);
    // A rep may read the settings but not change them.
    let body = app
        .gql(
            Some(&rep1),
            SETTINGS,
            json!({"i": {"expectedVersion": version, "sources": [], "unqualifiedReasons": ["其他"], "rules": []}}),
        )
        .await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
}

#[tokio::test]
async fn unqualified_takes_a_reason_from_the_tenants_list_and_statuses_move_as_allowed() {
    let app = spawn_demo().await;
    let rep1 = app.login("rep1@demo.local").await;
    let lead = create_lead(&app, &rep1, json!({"lead": {"name": "孙悦", "source": "官网"}})).await;
    let query = format!(
        "mutation($i: SetLeadStatusInput!) {{ setLeadStatus(input: $i) {{ lead {{ {LEAD_FIELDS} }} userErrors {{ field code message }} }} }}"
    );
    let at = |lead: &Value, status: &str, reason: Option<&str>| json!({"id": lead["id"], "expectedVersion": lead["version"], "status": status, "reason": reason});
    assert_eq!(refused(&app, &rep1, &query, at(&lead, "UNQUALIFIED", None), "setLeadStatus").await.0, ["REQUIRED"]);
    assert_eq!(
        refused(&app, &rep1, &query, at(&lead, "UNQUALIFIED", Some("看心情")), "setLeadStatus").await.0,
        ["INVALID"]
    );
    assert_eq!(
        refused(&app, &rep1, &query, at(&lead, "CONVERTED", None), "setLeadStatus").await.0,
        ["ILLEGAL_TRANSITION"]
    );
    let out = ok(&app, &rep1, &query, at(&lead, "UNQUALIFIED", Some("预算不足")), ("setLeadStatus", "lead")).await;
    assert_eq!((out["status"].as_str(), out["unqualifiedReason"].as_str()), (Some("UNQUALIFIED"), Some("预算不足")));
    // An unqualified lead is not followed up, nor converted, until it is reopened.
    let refused_follow_up = app
        .gql(
            Some(&rep1),
            "mutation($i: AddLeadActivityInput!) { addLeadActivity(input: $i) { lead { id } userErrors { code } } }",
            json!({"i": {"leadId": out["id"], "expectedVersion": out["version"], "channel": "CALL", "occurredAt": chrono::Utc::now().to_rfc3339(), "content": "再试"}}),
        )
        .await;
    assert_eq!(user_error_codes(&refused_follow_up["data"]["addLeadActivity"]), ["ILLEGAL_STATE"]);
    let back = ok(&app, &rep1, &query, at(&out, "WORKING", None), ("setLeadStatus", "lead")).await;
    assert_eq!((back["status"].as_str(), back["unqualifiedReason"].as_str()), (Some("WORKING"), None));
    assert_eq!(refused(&app, &rep1, &query, at(&back, "NEW", None), "setLeadStatus").await.0, ["ILLEGAL_TRANSITION"]);
    // The change log keeps the reason for analysis.
    let history = app
        .gql(
            Some(&rep1),
            "query($id: ID!) { history(id: $id, first: 10) { nodes { operation changes { field new } } } }",
            json!({"id": lead["id"]}),
        )
        .await;
    assert!(history["data"]["history"].to_string().contains("预算不足"), "{history}");
}

const CONVERT: &str = "mutation($i: ConvertLeadInput!) { convertLead(input: $i) { lead { id status version convertedAt customer { id name owner { email } } contact { name mobile } opportunity { name amount { amount } owner { email } } activities { content } } duplicates { customer { name } customerId ownerName reasons } userErrors { field code message } } }";

#[tokio::test]
async fn conversion_makes_a_customer_contact_and_deal_or_joins_a_customer_and_a_duplicate_blocks_it() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let customers_count = |token: String| {
        let app = &app;
        async move {
            app.gql(Some(&token), "{ customers { totalCount } }", json!({})).await["data"]["customers"]["totalCount"]
                .as_i64()
                .unwrap()
        }
    };
    let before = customers_count(admin.clone()).await;

    // A new customer: from the lead's company, with the contact, the deal and the follow-ups.
    let lead = create_lead(
        &app,
        &rep1,
        json!({"lead": {"name": "李娜", "company": "昆山华瑞精密模具有限公司", "phone": "13922223333", "wechat": "lina_hr", "industry": "制造业", "region": "华东", "source": "展会"}}),
    )
    .await;
    let lead = follow_up(&app, &rep1, &lead, "VISIT", "参观工厂，确认模具需求").await;
    let lead = follow_up(&app, &rep1, &lead, "CALL", "电话约报价时间").await;
    let input = json!({"id": lead["id"], "expectedVersion": lead["version"],
        "opportunity": {"name": "模具采购项目", "amount": "128000.50", "expectedCloseDate": "2027-03-31"}});
    let converted = ok(&app, &rep1, CONVERT, input.clone(), ("convertLead", "lead")).await;
    assert_eq!(converted["status"], "CONVERTED");
    assert_eq!(converted["customer"]["name"], "昆山华瑞精密模具有限公司");
    assert_eq!(converted["customer"]["owner"]["email"], "rep1@demo.local");
    assert_eq!(
        (converted["contact"]["name"].as_str(), converted["contact"]["mobile"].as_str()),
        (Some("李娜"), Some("13922223333"))
    );
    assert_eq!(converted["opportunity"]["amount"]["amount"], "128000.50");
    assert_eq!(converted["activities"], json!([]), "the follow-ups moved");
    assert_eq!(customers_count(admin.clone()).await, before + 1);
    let timeline = app
        .gql(
            Some(&rep1),
            "query($id: ID!) { interactions(filter: {customerId: {eq: $id}}) { nodes { content channel author { email } } } }",
            json!({"id": converted["customer"]["id"]}),
        )
        .await;
    let moved: Vec<&str> = timeline["data"]["interactions"]["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{timeline}"))
        .iter()
        .map(|n| n["content"].as_str().unwrap())
        .collect();
    assert_eq!(moved.len(), 2, "{timeline}");
    assert!(moved.contains(&"参观工厂，确认模具需求") && moved.contains(&"电话约报价时间"));
    assert_eq!(timeline["data"]["interactions"]["nodes"][0]["author"]["email"], "rep1@demo.local");
    // A retry of the same conversion does nothing more.
    assert_eq!(refused(&app, &rep1, CONVERT, input, "convertLead").await.0, ["VERSION_CONFLICT"]);
    assert_eq!(customers_count(admin.clone()).await, before + 1);

    // A bad deal is refused as createOpportunity refuses it, and nothing is written.
    let lead = create_lead(&app, &rep1, json!({"lead": {"name": "孔明", "company": "无锡卧龙机电有限公司"}})).await;
    let input =
        json!({"id": lead["id"], "expectedVersion": lead["version"], "opportunity": {"name": " ", "amount": "-5"}});
    let (codes, text) = refused(&app, &rep1, CONVERT, input, "convertLead").await;
    assert_eq!(codes.len(), 2, "{text}");
    assert!(text.contains("opportunity.name") && text.contains("opportunity.amount"), "{text}");
    assert_eq!(customers_count(admin.clone()).await, before + 1);
    assert_eq!(read_lead(&app, &rep1, &lead["id"]).await["status"], "NEW");

    // An existing customer the rep works: a contact joins it, no customer is made.
    let mingyuan = customer(&app, &rep1, "上海明远机械制造有限公司").await;
    let lead = create_lead(
        &app,
        &rep1,
        json!({"lead": {"name": "王强", "company": "上海明远机械制造有限公司", "phone": "021-62345678"}}),
    )
    .await;
    let input = json!({"id": lead["id"], "expectedVersion": lead["version"], "customerId": mingyuan});
    let joined = ok(&app, &rep1, CONVERT, input, ("convertLead", "lead")).await;
    assert_eq!(joined["customer"]["id"], mingyuan.as_str());
    assert_eq!((joined["contact"]["name"].as_str(), joined["opportunity"].clone()), (Some("王强"), Value::Null));
    assert_eq!(customers_count(admin.clone()).await, before + 1);

    // A duplicate of another rep's customer blocks it (listed without its details), and
    // nothing is written.
    let lead = create_lead(&app, &rep1, json!({"lead": {"name": "赵六", "company": "北京京华软件股份有限公司"}})).await;
    let input = json!({"id": lead["id"], "expectedVersion": lead["version"], "opportunity": {"name": "软件项目", "amount": "5000"}});
    let body = app.gql(Some(&rep1), CONVERT, json!({"i": input})).await;
    let payload = &body["data"]["convertLead"];
    assert_eq!(payload["lead"], Value::Null, "{body}");
    assert!(!user_error_codes(payload).is_empty(), "{body}");
    assert_eq!(payload["duplicates"].as_array().map(Vec::len), Some(1), "{body}");
    assert_eq!(payload["duplicates"][0]["customer"], Value::Null, "another rep's customer is not shown");
    // ... but its owner is named (撞单), and its id lets rep1 ask to work it together.
    assert_eq!(payload["duplicates"][0]["ownerName"], "陈静", "{body}");
    assert!(payload["duplicates"][0]["customerId"].is_string());
    let still = read_lead(&app, &rep1, &lead["id"]).await;
    assert_eq!((still["status"].as_str(), still["customer"].clone()), (Some("NEW"), Value::Null));
    assert_eq!(customers_count(admin.clone()).await, before + 1);
    // A customer the rep may not write to cannot be joined: it does not exist for them.
    let jinghua = customer(&app, &admin, "北京京华软件股份有限公司").await;
    let input = json!({"id": lead["id"], "expectedVersion": lead["version"], "customerId": jinghua});
    assert_eq!(refused(&app, &rep1, CONVERT, input, "convertLead").await.0, ["NOT_FOUND"]);
    // Without contact.write (the technician has none) the conversion is forbidden.
    let tech = app.login("tech@demo.local").await;
    let body = app.gql(Some(&tech), CONVERT, json!({"i": {"id": lead["id"], "expectedVersion": 1}})).await;
    assert_eq!(error_code(&body), "FORBIDDEN", "{body}");
}

#[tokio::test]
async fn the_conversion_report_counts_by_source_and_campaign_through_the_scope() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep2 = app.login("rep2@demo.local").await;
    let from = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let to = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339();
    // The window starts now, so the demo's leads (made at seeding) are in it too: count
    // only what this test adds, by a campaign of its own.
    let mut made = Vec::new();
    for (n, source) in ["展会", "展会", "展会", "官网"].iter().enumerate() {
        let lead = create_lead(&app, &rep2, json!({"lead": {"name": format!("报表线索{n}"), "company": format!("报表测试公司{n}号"), "source": source, "campaign": "报表活动"}})).await;
        made.push(lead);
    }
    let status = "mutation($i: SetLeadStatusInput!) { setLeadStatus(input: $i) { lead { id version } userErrors { field code message } } }";
    ok(
        &app,
        &rep2,
        status,
        json!({"id": made[1]["id"], "expectedVersion": 1, "status": "QUALIFIED"}),
        ("setLeadStatus", "lead"),
    )
    .await;
    // Two converted with deals of 1,000.10 and 2,000.20; the first is won.
    let mut deals = Vec::new();
    for (lead, amount) in [(&made[0], "1000.10"), (&made[2], "2000.20")] {
        let input =
            json!({"id": lead["id"], "expectedVersion": 1, "opportunity": {"name": "报表商机", "amount": amount}});
        deals.push(ok(&app, &rep2, CONVERT, input, ("convertLead", "lead")).await["opportunity"].clone());
    }
    let deal_id = app.gql(Some(&rep2), "{ opportunities(first: 50) { nodes { id name version } } }", json!({})).await;
    let deal = deal_id["data"]["opportunities"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "报表商机")
        .cloned()
        .unwrap();
    let stages = app.gql(Some(&rep2), "{ pipelines { isDefault stages { id kind } } }", json!({})).await;
    let pipeline =
        stages["data"]["pipelines"].as_array().unwrap().iter().find(|p| p["isDefault"] == true).cloned().unwrap();
    let won = pipeline["stages"].as_array().unwrap().iter().find(|s| s["kind"] == "WON").cloned().unwrap();
    let moved = app
        .gql(Some(&rep2), "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { opportunity { status amount { amount } } userErrors { code message } } }",
            json!({"i": {"id": deal["id"], "expectedVersion": deal["version"], "stageId": won["id"], "reason": "签约"}}))
        .await;
    assert_eq!(moved["data"]["moveOpportunityStage"]["opportunity"]["status"], "WON", "{moved}");
    let won_amount =
        moved["data"]["moveOpportunityStage"]["opportunity"]["amount"]["amount"].as_str().unwrap().to_owned();

    let report = "query($f: DateTime!, $t: DateTime!) { leadConversionReport(from: $f, to: $t) { source campaign leads qualified converted conversionRate wonAmount } }";
    let rows = |token: String| {
        let app = &app;
        let (from, to) = (from.clone(), to.clone());
        async move {
            let body = app.gql(Some(&token), report, json!({"f": from, "t": to})).await;
            body["data"]["leadConversionReport"]
                .as_array()
                .unwrap_or_else(|| panic!("{body}"))
                .iter()
                .filter(|r| r["campaign"] == "报表活动")
                .cloned()
                .collect::<Vec<_>>()
        }
    };
    // Hand-computed: 展会 3 leads, 2 converted + 1 qualified = 3 qualified, rate 66.67 %,
    // won = the first deal; 官网 1 lead, nothing else.
    let expected = json!([
        {"source": "展会", "campaign": "报表活动", "leads": 3, "qualified": 3, "converted": 2, "conversionRate": "66.67", "wonAmount": won_amount},
        {"source": "官网", "campaign": "报表活动", "leads": 1, "qualified": 0, "converted": 0, "conversionRate": "0", "wonAmount": "0.00"}
    ]);
    assert_eq!(Value::Array(rows(rep2.clone()).await), expected);
    assert_eq!(Value::Array(rows(admin.clone()).await), expected, "the admin sees the same leads");
    // Another rep's scope holds none of rep2's leads.
    assert_eq!(rows(app.login("rep1@demo.local").await).await, Vec::<Value>::new());
    let _ = deals;
}

#[tokio::test]
async fn lead_rules_give_new_leads_in_turn_and_leave_customers_to_the_customer_rules() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let (rep1, rep2) = (app.user_id(&admin, "rep1@demo.local").await, app.user_id(&admin, "rep2@demo.local").await);
    let rule = "mutation($i: AssignmentRuleInput!) { createAssignmentRule(input: $i) { rule { id appliesTo } userErrors { field code message } } }";
    let created = ok(
        &app,
        &admin,
        rule,
        json!({"name": "线索轮流", "appliesTo": "LEADS", "priority": 1, "mode": "ROUND_ROBIN",
        "members": [{"userId": rep1}, {"userId": rep2}]}),
        ("createAssignmentRule", "rule"),
    )
    .await;
    assert_eq!(created["appliesTo"], "LEADS");
    let mut owners = Vec::new();
    let mut first = None;
    for n in 0..3 {
        let lead =
            create_lead(&app, &admin, json!({"lead": {"name": format!("分配线索{n}")}, "assignByRules": true})).await;
        owners.push(lead["owner"]["email"].as_str().unwrap().to_owned());
        first.get_or_insert(lead["id"].clone());
    }
    assert_eq!(owners, ["rep1@demo.local", "rep2@demo.local", "rep1@demo.local"]);
    let history = app
        .gql(
            Some(&admin),
            "query($id: ID!) { history(id: $id, first: 5) { nodes { operation changes { field new } } } }",
            json!({"id": first}),
        )
        .await;
    let assign =
        history["data"]["history"]["nodes"].as_array().unwrap().iter().find(|e| e["operation"] == "ASSIGN").cloned();
    assert!(assign.is_some_and(|e| e["changes"].to_string().contains("线索轮流")), "{history}");
    // A customer outside the demo's 华东 customer rule gets no owner: the lead rule is not for it.
    let body = app
        .gql(Some(&admin), "mutation($i: CreateCustomerInput!) { createCustomer(input: $i) { customer { owner { email } } userErrors { code } } }",
            json!({"i": {"name": "西南某新客户", "assignByRules": true}}))
        .await;
    assert_eq!(body["data"]["createCustomer"]["customer"]["owner"], Value::Null, "{body}");
    // A rep who creates a lead by the rules sees it only if it became theirs.
    let rep1_token = app.login("rep1@demo.local").await;
    let body = app
        .gql(Some(&rep1_token), &create_query(), json!({"i": {"lead": {"name": "分配线索3"}, "assignByRules": true}}))
        .await;
    assert_eq!(body["data"]["createLead"]["lead"], Value::Null, "it went to rep2: {body}");
    assert_eq!(body["data"]["createLead"]["userErrors"], json!([]));
}

#[tokio::test]
async fn leads_are_seen_through_the_lead_scope_on_every_path_and_tenants_never_meet() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let rep2 = app.login("rep2@demo.local").await;
    let manager = app.login("manager@demo.local").await;
    let lead =
        create_lead(&app, &rep1, json!({"lead": {"name": "保密线索", "phone": "13933334444"}, "externalId": "ERP-1"}))
            .await;
    let id = lead["id"].clone();
    // By id, node, list, count and the nested follow-ups.
    let list = "query($s: String) { leads(filter: {search: $s}) { totalCount nodes { id phone } } }";
    for (token, sees) in [(&rep1, true), (&manager, true), (&admin, true), (&rep2, false)] {
        let body = app.gql(Some(token), list, json!({"s": "保密"})).await;
        assert_eq!(body["data"]["leads"]["totalCount"], i64::from(sees), "{body}");
        let node = app.gql(Some(token), "query($id: ID!) { node(id: $id) { id } }", json!({"id": id})).await;
        assert_eq!(node["data"]["node"].is_null(), !sees, "{node}");
        let one = app.gql(Some(token), "query($id: ID!) { lead(id: $id) { id } }", json!({"id": id})).await;
        if sees {
            assert_eq!(one["data"]["lead"]["id"], id, "{one}");
        } else {
            assert_eq!(error_code(&one), "NOT_FOUND", "{one}");
        }
    }
    // rep2 may not write it either, nor convert it.
    let write = "mutation($i: SetLeadStatusInput!) { setLeadStatus(input: $i) { lead { id } userErrors { code } } }";
    let body = app.gql(Some(&rep2), write, json!({"i": {"id": id, "expectedVersion": 1, "status": "QUALIFIED"}})).await;
    assert_eq!(user_error_codes(&body["data"]["setLeadStatus"]), ["NOT_FOUND"], "{body}");
    let body = app.gql(Some(&rep2), CONVERT, json!({"i": {"id": id, "expectedVersion": 1}})).await;
    assert_eq!(user_error_codes(&body["data"]["convertLead"]), ["NOT_FOUND"], "{body}");
    // The external id is the tenant's key.
    let body =
        app.gql(Some(&rep2), &create_query(), json!({"i": {"lead": {"name": "重复键"}, "externalId": "ERP-1"}})).await;
    assert_eq!(user_error_codes(&body["data"]["createLead"]), ["DUPLICATE"], "{body}");
    // The service agent has no lead.read.
    let agent = app.login("service@demo.local").await;
    assert_eq!(error_code(&app.gql(Some(&agent), list, json!({"s": null})).await), "FORBIDDEN");
    // Another tenant sees nothing and cannot reach it by id.
    let other = app.second_tenant("other-leads").await;
    let body = app.gql(Some(&other), list, json!({"s": null})).await;
    assert_eq!(body["data"]["leads"]["totalCount"], 0, "{body}");
    let one = app.gql(Some(&other), "query($id: ID!) { lead(id: $id) { id } }", json!({"id": id})).await;
    assert_eq!(error_code(&one), "NOT_FOUND");
    // A page with owners, follow-ups and conversions costs the same statements for 2 or 9 leads.
    let page = json!({"query": "{ leads(first: 50) { nodes { id owner { displayName } activities { content } customer { name } contact { name } opportunity { name } } } }"});
    let (few, body) = app.fewest_statements(Some(&rep1), &page).await;
    assert!(body["data"]["leads"]["nodes"].as_array().is_some_and(|n| n.len() >= 2), "{body}");
    for n in 0..7 {
        create_lead(&app, &rep1, json!({"lead": {"name": format!("批量线索{n}")}})).await;
    }
    let (many, _) = app.fewest_statements(Some(&rep1), &page).await;
    assert_eq!(few, many, "no statement per lead");
}
