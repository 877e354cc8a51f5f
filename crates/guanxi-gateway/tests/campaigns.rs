//! Campaigns (营销活动) and care plans (客户关怀): a campaign's return against a hand-computed
//! fixture and its drill-down, by scope; members added in bulk by a customer filter and by
//! id, each through the caller's scope; a converted lead crediting its campaign; a care
//! plan putting tasks in the owners' calendars, once. Over HTTP, on SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use serde_json::{Value, json};

const CREATE: &str = "mutation($i: CreateCampaignInput!) { createCampaign(input: $i) { campaign { id version name status budget { amount } actualCost { amount } } userErrors { field code message } } }";
const UPDATE: &str = "mutation($i: UpdateCampaignInput!) { updateCampaign(input: $i) { campaign { id version status } userErrors { field code message } } }";
const ADD: &str = "mutation($i: AddCampaignMembersInput!) { addCampaignMembers(input: $i) { count campaign { memberCounts { customers leads responded } } userErrors { field code message } } }";
const REMOVE: &str = "mutation($i: RemoveCampaignMembersInput!) { removeCampaignMembers(input: $i) { count userErrors { field code message } } }";
const RESPONDED: &str = "mutation($i: SetCampaignMemberRespondedInput!) { setCampaignMemberResponded(input: $i) { member { kind respondedAt customer { name } } userErrors { field code message } } }";
const DEAL: &str = "mutation($i: CreateOpportunityInput!) { createOpportunity(input: $i) { opportunity { id version campaign { name } } userErrors { field code message } } }";
const RETURN: &str = "query($id: ID!) { campaign(id: $id) { return { cost { amount } budget { amount } wonDeals wonAmount { amount } openDeals openAmount { amount } lostDeals roi costPerWonYuan budgetUsed complete } deals(first: 10) { totalCount nodes { name owner { email } } } memberCounts { customers leads responded } } }";
const MEMBERS: &str = "query($id: ID!) { campaign(id: $id) { members(first: 50) { totalCount nodes { kind customer { name } lead { name } } } } }";

async fn create_campaign(app: &TestApp, token: &str, name: &str, budget: &str, cost: &str) -> Value {
    let input = json!({"campaign": {"name": name, "kind": "SEMINAR", "status": "ACTIVE", "startsOn": "2027-03-01",
        "endsOn": "2027-03-02", "budget": budget, "actualCost": cost}});
    ok(app, token, CREATE, input, ("createCampaign", "campaign")).await
}

/// A deal of `customer` from `campaign`, won when `won`.
async fn deal(app: &TestApp, token: &str, (customer, campaign): (&str, &Value), name: &str, amount: &str, won: bool) {
    let input = json!({"customerId": customer, "name": name, "amount": amount, "campaignId": campaign});
    let created = ok(app, token, DEAL, input, ("createOpportunity", "opportunity")).await;
    assert_eq!(created["campaign"]["name"], "渠道伙伴研讨会", "{created}");
    if !won {
        return;
    }
    let stages = app.gql(Some(token), "{ pipelines { isDefault stages { id kind } } }", json!({})).await;
    let pipeline = stages["data"]["pipelines"].as_array().unwrap().iter().find(|p| p["isDefault"] == true).unwrap();
    let won_stage = pipeline["stages"].as_array().unwrap().iter().find(|s| s["kind"] == "WON").unwrap();
    let moved = app
        .gql(Some(token), "mutation($i: MoveOpportunityStageInput!) { moveOpportunityStage(input: $i) { userErrors { code } } }",
            json!({"i": {"id": created["id"], "expectedVersion": created["version"], "stageId": won_stage["id"], "reason": "签约"}}))
        .await;
    assert_eq!(moved["data"]["moveOpportunityStage"]["userErrors"], json!([]), "{moved}");
}

fn names(list: &Value, path: &str) -> Vec<String> {
    let mut out: Vec<String> = list["nodes"]
        .as_array()
        .unwrap_or_else(|| panic!("{list}"))
        .iter()
        .filter_map(|n| n.pointer(path).and_then(Value::as_str).map(str::to_owned))
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn a_campaigns_return_adds_up_the_deals_the_caller_sees_with_their_drill_down() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let rep3 = app.login("rep3@demo.local").await;
    let campaign = create_campaign(&app, &admin, "渠道伙伴研讨会", "50000", "30000.00").await;
    let id = campaign["id"].clone();
    let mingyuan = customer(&app, &rep1, "上海明远机械制造有限公司").await;
    let jinghua = customer(&app, &rep3, "北京京华软件股份有限公司").await;
    deal(&app, &rep1, (&mingyuan, &id), "研讨会转化一期", "100000.00", true).await;
    deal(&app, &rep1, (&mingyuan, &id), "研讨会转化二期", "20000.50", false).await;
    deal(&app, &rep3, (&jinghua, &id), "京华研讨会项目", "50000.00", true).await;

    // Everyone's deals: won 150,000.00; (150,000 − 30,000) / 30,000 = 400 %; 30,000 / 150,000 = 0.2.
    let all = app.gql(Some(&admin), RETURN, json!({"id": id})).await;
    let r = &all["data"]["campaign"]["return"];
    assert_eq!(
        (
            r["wonDeals"].clone(),
            r["wonAmount"]["amount"].clone(),
            r["openDeals"].clone(),
            r["openAmount"]["amount"].clone()
        ),
        (json!(2), json!("150000.00"), json!(1), json!("20000.50")),
        "{all}"
    );
    assert_eq!(
        (r["roi"].clone(), r["costPerWonYuan"].clone(), r["budgetUsed"].clone()),
        (json!("400.00"), json!("0.2000"), json!("60.00"))
    );
    assert_eq!((r["cost"]["amount"].clone(), r["lostDeals"].clone()), (json!("30000.00"), json!(0)));
    let deals = &all["data"]["campaign"]["deals"];
    assert_eq!(deals["totalCount"], 3);
    assert_eq!(names(deals, "/name"), ["京华研讨会项目", "研讨会转化一期", "研讨会转化二期"]);

    assert_eq!(all["data"]["campaign"]["return"]["complete"], true);
    // rep1 sees only their deals (won 100,000), and no ratio of the whole cost to part of the wins.
    let own = app.gql(Some(&rep1), RETURN, json!({"id": id})).await;
    let r = &own["data"]["campaign"]["return"];
    assert_eq!((r["wonDeals"].clone(), r["wonAmount"]["amount"].clone()), (json!(1), json!("100000.00")), "{own}");
    assert_eq!(
        (r["roi"].clone(), r["costPerWonYuan"].clone(), r["complete"].clone()),
        (Value::Null, Value::Null, json!(false))
    );
    assert_eq!(names(&own["data"]["campaign"]["deals"], "/owner/email"), ["rep1@demo.local", "rep1@demo.local"]);

    // A rep reads campaigns and may not write them; a deal names only a live campaign.
    let input = json!({"campaign": {"name": "私自活动", "kind": "OTHER"}});
    assert_eq!(error_code(&app.gql(Some(&rep1), CREATE, json!({"i": input})).await), "FORBIDDEN");
    let deleted = ok(&app, &admin, "mutation($i: CampaignVersionInput!) { deleteCampaign(input: $i) { campaign { id version } userErrors { field code message } } }",
        json!({"id": id, "expectedVersion": campaign["version"]}), ("deleteCampaign", "campaign")).await;
    let input = json!({"customerId": mingyuan, "name": "删除后", "amount": "1.00", "campaignId": id});
    let (codes, text) = refused(&app, &rep1, DEAL, input, "createOpportunity").await;
    assert_eq!(codes, ["NOT_FOUND"], "{text}");
    assert!(text.contains("campaignId"), "{text}");
    assert_eq!(deleted["version"], 2);

    // Another tenant sees no campaign by id.
    let other = app.second_tenant("other-co").await;
    let body = app.gql(Some(&other), "query($id: ID!) { node(id: $id) { id } }", json!({"id": id})).await;
    assert_eq!(body["data"]["node"], Value::Null, "{body}");
}

#[tokio::test]
async fn members_join_by_a_customer_filter_and_by_id_through_the_callers_scope() {
    let app = spawn_demo().await;
    let manager = app.login("manager@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let rep3 = app.login("rep3@demo.local").await;
    let campaign = create_campaign(&app, &manager, "华东客户答谢会", "10000", "0").await;
    let id = campaign["id"].clone();

    // Every customer the manager sees in 江苏省: as many as the customer list shows them.
    let filter = json!({"province": {"eq": "江苏省"}});
    let listed = app
        .gql(Some(&manager), "query($f: CustomerFilter) { customers(filter: $f) { totalCount } }", json!({"f": filter}))
        .await;
    let expected = listed["data"]["customers"]["totalCount"].as_i64().unwrap();
    assert!(expected >= 2, "{listed}");
    let added = app.gql(Some(&manager), ADD, json!({"i": {"campaignId": id, "customerFilter": filter}})).await;
    let payload = &added["data"]["addCampaignMembers"];
    assert_eq!((payload["count"].as_i64(), payload["userErrors"].clone()), (Some(expected), json!([])), "{added}");
    // Again: nobody joins twice.
    let again = app.gql(Some(&manager), ADD, json!({"i": {"campaignId": id, "customerFilter": filter}})).await;
    assert_eq!(again["data"]["addCampaignMembers"]["count"], 0, "{again}");

    // rep3's customer is outside the manager's scope: by id it does not exist, and nothing is added.
    let jinghua = customer(&app, &rep3, "北京京华软件股份有限公司").await;
    let yunfan = customer(&app, &manager, "杭州云帆培训学校有限公司").await;
    let input = json!({"campaignId": id, "customerIds": [yunfan, jinghua]});
    let (codes, text) = refused(&app, &manager, ADD, input, "addCampaignMembers").await;
    assert_eq!(codes, ["NOT_FOUND"]);
    assert!(text.contains("customerIds.1"), "{text}");
    let input = json!({"campaignId": id, "customerIds": [yunfan]});
    assert_eq!(
        ok(&app, &manager, ADD, input, ("addCampaignMembers", "campaign")).await["memberCounts"]["customers"],
        expected + 1
    );

    // Leads by id, through the LEAD scope.
    let leads = app.gql(Some(&rep1), "{ leads(first: 2) { nodes { id name } } }", json!({})).await;
    let lead_ids: Vec<Value> =
        leads["data"]["leads"]["nodes"].as_array().unwrap().iter().map(|l| l["id"].clone()).collect();
    assert_eq!(lead_ids.len(), 2, "{leads}");
    let counts =
        ok(&app, &manager, ADD, json!({"campaignId": id, "leadIds": lead_ids}), ("addCampaignMembers", "campaign"))
            .await;
    assert_eq!(counts["memberCounts"]["leads"], 2);

    // rep1 sees only the members that are theirs; rep3 sees none of them, and no count of them.
    let seen = app.gql(Some(&rep1), MEMBERS, json!({"id": id})).await;
    let members = &seen["data"]["campaign"]["members"];
    assert_eq!(names(members, "/customer/name"), ["苏州恒信电子科技有限公司"], "{seen}");
    assert_eq!(names(members, "/lead/name").len(), 2);
    let none = app.gql(Some(&rep3), RETURN, json!({"id": id})).await;
    assert_eq!(none["data"]["campaign"]["memberCounts"], json!({"customers": 0, "leads": 0, "responded": 0}), "{none}");

    // A response is recorded on a member the caller sees, and counted.
    let hengxin = customer(&app, &rep1, "苏州恒信电子科技有限公司").await;
    let input = json!({"campaignId": id, "memberId": hengxin, "responded": true});
    let member = ok(&app, &manager, RESPONDED, input, ("setCampaignMemberResponded", "member")).await;
    assert_eq!((member["kind"].clone(), member["respondedAt"].is_string()), (json!("CUSTOMER"), true));
    let input = json!({"campaignId": id, "memberId": jinghua, "responded": true});
    assert_eq!(refused(&app, &manager, RESPONDED, input, "setCampaignMemberResponded").await.0, ["NOT_FOUND"]);
    let removed = app.gql(Some(&manager), REMOVE, json!({"i": {"campaignId": id, "memberIds": [yunfan]}})).await;
    assert_eq!(removed["data"]["removeCampaignMembers"]["count"], 1, "{removed}");
    // Joins, responses and leaves are in each member's own history, seen through its scope;
    // the campaign's history (every reader of campaigns sees it) names no member.
    let history = "query($id: ID!) { history(id: $id, first: 20) { nodes { operation changes { field new } } } }";
    let theirs = app.gql(Some(&rep1), history, json!({"id": hengxin})).await.to_string();
    assert!(theirs.contains("campaignJoined") && theirs.contains("respondedAt"), "{theirs}");
    let left = app.gql(Some(&manager), history, json!({"id": yunfan})).await.to_string();
    assert!(left.contains("campaignLeft"), "{left}");
    let campaign_history = app.gql(Some(&rep3), history, json!({"id": id})).await.to_string();
    assert!(campaign_history.contains("CREATE") && !campaign_history.contains("campaignJoined"), "{campaign_history}");

    // A completed campaign takes no members; bad input changes nothing.
    let input = json!({"id": id, "expectedVersion": campaign["version"], "campaign": {"name": "华东客户答谢会", "kind": "SEMINAR", "status": "COMPLETED", "budget": "10000"}});
    let done = ok(&app, &manager, UPDATE, input, ("updateCampaign", "campaign")).await;
    assert_eq!(done["status"], "COMPLETED");
    let input = json!({"campaignId": id, "customerIds": [yunfan]});
    assert_eq!(refused(&app, &manager, ADD, input, "addCampaignMembers").await.0, ["ILLEGAL_STATE"]);
    let input = json!({"campaign": {"name": " ", "kind": "WEB", "budget": "-1", "startsOn": "2027-03-02", "endsOn": "2027-03-01"}});
    let (codes, text) = refused(&app, &manager, CREATE, input, "createCampaign").await;
    assert_eq!(codes, ["INVALID", "INVALID", "INVALID"], "{text}");
    let list = app.gql(Some(&manager), "{ campaigns(first: 50) { totalCount } }", json!({})).await;
    // The demo's two and this one.
    assert_eq!(list["data"]["campaigns"]["totalCount"], 3, "{list}");
}

#[tokio::test]
async fn a_converted_lead_credits_its_latest_campaign_and_its_customer_joins() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let campaign = create_campaign(&app, &admin, "渠道伙伴研讨会", "8000", "8000").await;
    let lead = ok(&app, &rep1, "mutation($i: CreateLeadInput!) { createLead(input: $i) { lead { id version } userErrors { field code message } } }",
        json!({"lead": {"name": "孙悦", "company": "常州瑞丰模具有限公司", "phone": "13912340999"}}), ("createLead", "lead")).await;
    ok(
        &app,
        &admin,
        ADD,
        json!({"campaignId": campaign["id"], "leadIds": [lead["id"]]}),
        ("addCampaignMembers", "campaign"),
    )
    .await;
    let input = json!({"id": lead["id"], "expectedVersion": lead["version"], "opportunity": {"name": "模具线改造", "amount": "66000"}});
    let converted = ok(&app, &rep1, "mutation($i: ConvertLeadInput!) { convertLead(input: $i) { lead { customer { id } opportunity { campaign { id name } } } userErrors { field code message } } }",
        input, ("convertLead", "lead")).await;
    assert_eq!(converted["opportunity"]["campaign"]["id"], campaign["id"], "{converted}");
    let members = app.gql(Some(&admin), MEMBERS, json!({"id": campaign["id"]})).await;
    let members = &members["data"]["campaign"]["members"];
    assert_eq!(names(members, "/customer/name"), ["常州瑞丰模具有限公司"], "{members}");
    assert_eq!(names(members, "/lead/name"), ["孙悦"]);

    // Merged into another customer, the survivor is in the campaign in its place.
    let survivor = app
        .gql(
            Some(&admin),
            "{ customers(filter: {name: {eq: \"上海明远机械制造有限公司\"}}) { nodes { id version } } }",
            json!({}),
        )
        .await["data"]["customers"]["nodes"][0]
        .clone();
    let merge =
        "mutation($i: MergeCustomersInput!) { mergeCustomers(input: $i) { userErrors { field code message } } }";
    let input = json!({"survivorId": survivor["id"], "expectedVersion": survivor["version"], "mergedIds": [converted["customer"]["id"]]});
    let merged = app.gql(Some(&admin), merge, json!({"i": input})).await;
    assert_eq!(merged["data"]["mergeCustomers"]["userErrors"], json!([]), "{merged}");
    let members = app.gql(Some(&admin), MEMBERS, json!({"id": campaign["id"]})).await;
    assert_eq!(
        names(&members["data"]["campaign"]["members"], "/customer/name"),
        ["上海明远机械制造有限公司"],
        "{members}"
    );
}

const CARE: &str = "mutation($i: CreateCarePlanInput!) { createCarePlan(input: $i) { carePlan { id name tasksCreated progress { planned done cancelled } } userErrors { field code message } } }";

#[tokio::test]
async fn a_care_plan_puts_one_task_per_customer_in_the_owners_calendars_once() {
    let app = spawn_demo().await;
    let manager = app.login("manager@demo.local").await;
    let rep1 = app.login("rep1@demo.local").await;
    let rep3 = app.login("rep3@demo.local").await;
    // The customers of the segment the manager sees, owned and out of any pool.
    let filter = json!({"status": ["POTENTIAL", "INTENT", "WON"], "ownerId": {"isNull": false}});
    let seen = app
        .gql(Some(&manager), "query($f: CustomerFilter) { customers(filter: $f, first: 100) { nodes { name owner { email } poolEntry { enteredAt } } } }", json!({"f": filter}))
        .await;
    let segment: Vec<&Value> =
        seen["data"]["customers"]["nodes"].as_array().unwrap().iter().filter(|c| c["poolEntry"].is_null()).collect();
    let rep1_names: Vec<&str> = segment
        .iter()
        .filter(|c| c["owner"]["email"] == "rep1@demo.local")
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert!(!rep1_names.is_empty(), "{seen}");

    let first_at = "2027-04-05T02:00:00Z";
    let input = json!({"name": "清明回访", "kind": "VISIT", "statuses": ["POTENTIAL", "INTENT", "WON"], "firstAt": first_at,
        "durationMinutes": 60, "spreadDays": 2, "idempotencyKey": "care-1"});
    let plan = ok(&app, &manager, CARE, input.clone(), ("createCarePlan", "carePlan")).await;
    assert_eq!(plan["tasksCreated"].as_u64(), Some(segment.len() as u64), "{plan} {seen}");
    assert_eq!(plan["progress"]["planned"].as_u64(), Some(segment.len() as u64));
    // A retry makes nothing twice.
    let again = ok(&app, &manager, CARE, input, ("createCarePlan", "carePlan")).await;
    assert_eq!(again["id"], plan["id"]);

    // rep1's calendar has a visit per customer of theirs, back to back over two days.
    let window = json!({"from": "2027-04-05T00:00:00Z", "to": "2027-04-08T00:00:00Z"});
    let cal = app.gql(Some(&rep1), "query($from: DateTime!, $to: DateTime!) { calendar(from: $from, to: $to) { startsAt event { title kind customer { name } } } }", window.clone()).await;
    let tasks: Vec<&Value> = cal["data"]["calendar"]
        .as_array()
        .unwrap_or_else(|| panic!("{cal}"))
        .iter()
        .filter(|o| o["event"]["title"].as_str().is_some_and(|t| t.contains("清明回访")))
        .collect();
    assert_eq!(tasks.len(), rep1_names.len(), "{cal}");
    assert!(tasks.iter().all(|t| t["event"]["kind"] == "VISIT"));
    assert_eq!(tasks[0]["startsAt"], "2027-04-05T02:00:00+00:00");
    // rep3 is outside the manager's team: nothing of the plan lands in their calendar.
    let theirs = app
        .gql(
            Some(&rep3),
            "query($from: DateTime!, $to: DateTime!) { calendar(from: $from, to: $to) { event { title } } }",
            window,
        )
        .await;
    assert!(!theirs.to_string().contains("清明回访"), "{theirs}");
    // rep1 does not plan care; the manager's bad input is refused whole, naming each field.
    let input = json!({"name": "x", "kind": "CALL", "levels": ["A"], "firstAt": first_at});
    assert_eq!(error_code(&app.gql(Some(&rep1), CARE, json!({"i": input})).await), "FORBIDDEN");
    let input = json!({"name": "", "kind": "CALL", "firstAt": first_at, "durationMinutes": 1, "spreadDays": 0});
    let (codes, text) = refused(&app, &manager, CARE, input, "createCarePlan").await;
    assert_eq!(codes.len(), 4, "{text}");
    let input = json!({"name": "无人", "kind": "CALL", "levels": ["不存在的等级"], "firstAt": first_at});
    assert_eq!(refused(&app, &manager, CARE, input, "createCarePlan").await.0, ["NOT_FOUND"]);
    let plans = app.gql(Some(&manager), "{ carePlans(first: 10) { totalCount nodes { name } } }", json!({})).await;
    // The demo's plan and this one.
    assert_eq!(plans["data"]["carePlans"]["totalCount"], 2, "{plans}");
}

#[tokio::test]
async fn a_page_of_campaigns_with_returns_and_members_costs_the_same_statements_however_long() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let page = json!({"query": "{ campaigns(first: 20) { totalCount nodes { name owner { displayName } memberCounts { customers leads } return { wonAmount { amount } roi } } } carePlans(first: 10) { nodes { name progress { planned } createdBy { displayName } } } }"});
    let (few, body) = app.fewest_statements(Some(&admin), &page).await;
    assert_eq!(body["data"]["campaigns"]["totalCount"], 2, "{body}");
    let mingyuan = customer(&app, &admin, "上海明远机械制造有限公司").await;
    for n in 0..5 {
        let campaign = create_campaign(&app, &admin, &format!("批量活动{n}"), "1000", "500").await;
        ok(
            &app,
            &admin,
            ADD,
            json!({"campaignId": campaign["id"], "customerIds": [mingyuan]}),
            ("addCampaignMembers", "campaign"),
        )
        .await;
    }
    let (many, body) = app.fewest_statements(Some(&admin), &page).await;
    assert_eq!(body["data"]["campaigns"]["totalCount"], 7, "{body}");
    assert_eq!(few, many, "no statement per campaign");
}
