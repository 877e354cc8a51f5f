//! Logging in, sessions, tokens and API keys, over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use jsonwebtoken::{EncodingKey, Header, encode};
use serde_json::{Value, json};

const ME: &str = "{ me { email displayName } }";

#[tokio::test]
async fn a_demo_user_logs_in_and_sees_themselves() {
    let app = spawn_demo().await;
    let payload = app.login_payload("demo", "rep1@demo.local", PASSWORD).await;
    assert_eq!(payload["userErrors"], json!([]));
    assert_eq!(payload["user"]["email"], "rep1@demo.local");
    let token = payload["accessToken"].as_str().unwrap();
    let body = app.gql(Some(token), ME, json!({})).await;
    assert_eq!(body["data"]["me"]["displayName"], "王磊", "{body}");
}

#[tokio::test]
async fn bad_credentials_are_a_user_error_and_reveal_nothing() {
    let app = spawn_demo().await;
    for (tenant, email, password) in [
        ("demo", "rep1@demo.local", "wrong-password"),
        ("demo", "nobody@demo.local", PASSWORD),
        ("no-such-tenant", "rep1@demo.local", PASSWORD),
    ] {
        let payload = app.login_payload(tenant, email, password).await;
        assert_eq!(user_error_codes(&payload), ["INVALID_CREDENTIALS"], "{tenant}/{email}: {payload}");
        assert!(payload["accessToken"].is_null());
    }
}

#[tokio::test]
async fn five_failed_logins_lock_the_account_even_for_the_right_password() {
    let app = spawn_demo().await;
    for _ in 0..5 {
        let payload = app.login_payload("demo", "rep2@demo.local", "wrong-password").await;
        assert_eq!(user_error_codes(&payload), ["INVALID_CREDENTIALS"]);
    }
    let payload = app.login_payload("demo", "rep2@demo.local", PASSWORD).await;
    assert_eq!(user_error_codes(&payload), ["RATE_LIMITED"], "{payload}");
    // Other users are not affected.
    assert!(app.login_payload("demo", "rep1@demo.local", PASSWORD).await["accessToken"].is_string());
}

async fn refresh(app: &TestApp, token: &str) -> Value {
    app.gql(
        None,
        "mutation($i: RefreshSessionInput!) { refreshSession(input: $i) { accessToken refreshToken userErrors { code } } }",
        json!({ "i": { "refreshToken": token } }),
    )
    .await["data"]["refreshSession"]
        .clone()
}

#[tokio::test]
async fn refresh_tokens_rotate_and_reusing_one_ends_the_session() {
    let app = spawn_demo().await;
    let login = app.login_payload("demo", "rep1@demo.local", PASSWORD).await;
    let first_refresh = login["refreshToken"].as_str().unwrap().to_owned();
    let first_access = login["accessToken"].as_str().unwrap().to_owned();

    let rotated = refresh(&app, &first_refresh).await;
    assert_eq!(rotated["userErrors"], json!([]), "{rotated}");
    let second_refresh = rotated["refreshToken"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, first_refresh);
    let second_access = rotated["accessToken"].as_str().unwrap().to_owned();
    assert!(app.gql(Some(&second_access), ME, json!({})).await["data"]["me"].is_object());

    // The first token again: reuse. The whole family dies, including the newest tokens.
    let reused = refresh(&app, &first_refresh).await;
    assert_eq!(user_error_codes(&reused), ["INVALID_TOKEN"]);
    assert_eq!(user_error_codes(&refresh(&app, &second_refresh).await), ["INVALID_TOKEN"]);
    for access in [&first_access, &second_access] {
        let body = app.gql(Some(access), ME, json!({})).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{body}");
    }
    assert_eq!(user_error_codes(&refresh(&app, "gxr_garbage").await), ["INVALID_TOKEN"]);
}

#[tokio::test]
async fn logout_ends_the_session_at_once() {
    let app = spawn_demo().await;
    let login = app.login_payload("demo", "rep1@demo.local", PASSWORD).await;
    let access = login["accessToken"].as_str().unwrap();
    let body = app.gql(Some(access), "mutation { logout { ok } }", json!({})).await;
    assert_eq!(body["data"]["logout"]["ok"], true, "{body}");
    assert_eq!(error_code(&app.gql(Some(access), ME, json!({})).await), "UNAUTHENTICATED");
    assert_eq!(user_error_codes(&refresh(&app, login["refreshToken"].as_str().unwrap()).await), ["INVALID_TOKEN"]);
}

#[tokio::test]
async fn a_password_change_ends_other_sessions_and_disabling_a_user_ends_all() {
    let app = spawn_demo().await;
    let phone = app.login("rep1@demo.local").await;
    let laptop = app.login("rep1@demo.local").await;
    let change = "mutation($i: ChangePasswordInput!) { changePassword(input: $i) { ok userErrors { field code } } }";
    let wrong = app
        .gql(Some(&laptop), change, json!({"i": {"currentPassword": "nope-nope", "newPassword": "a-new-password"}}))
        .await;
    assert_eq!(wrong["data"]["changePassword"]["userErrors"][0]["code"], "INVALID_CREDENTIALS");
    let ok = app
        .gql(Some(&laptop), change, json!({"i": {"currentPassword": PASSWORD, "newPassword": "a-new-password"}}))
        .await;
    assert_eq!(ok["data"]["changePassword"]["ok"], true, "{ok}");
    assert_eq!(error_code(&app.gql(Some(&phone), ME, json!({})).await), "UNAUTHENTICATED");
    assert!(app.gql(Some(&laptop), ME, json!({})).await["data"]["me"].is_object());
    assert!(app.login_payload("demo", "rep1@demo.local", "a-new-password").await["accessToken"].is_string());

    let admin = app.login("admin@demo.local").await;
    let rep2 = app.login("rep2@demo.local").await;
    let rep2_id = app.user_id(&admin, "rep2@demo.local").await;
    let disable = app
        .gql(
            Some(&admin),
            "mutation($i: VersionedIdInput!) { disableUser(input: $i) { user { status } userErrors { code } } }",
            json!({"i": {"id": rep2_id, "expectedVersion": 1}}),
        )
        .await;
    assert_eq!(disable["data"]["disableUser"]["user"]["status"], "DISABLED", "{disable}");
    assert_eq!(error_code(&app.gql(Some(&rep2), ME, json!({})).await), "UNAUTHENTICATED");
    assert_eq!(
        user_error_codes(&app.login_payload("demo", "rep2@demo.local", PASSWORD).await),
        ["INVALID_CREDENTIALS"]
    );
}

fn claims(overrides: Value) -> Value {
    let now = chrono::Utc::now().timestamp();
    let mut claims = json!({
        "iss": "guanxi", "aud": "guanxi-api", "sub": uuid::Uuid::now_v7(), "tid": uuid::Uuid::now_v7(),
        "sid": uuid::Uuid::now_v7(), "typ": "access", "iat": now, "nbf": now, "exp": now + 600, "jti": uuid::Uuid::now_v7(),
    });
    for (k, v) in overrides.as_object().unwrap() {
        claims[k] = v.clone();
    }
    claims
}

fn sign(claims: &Value, secret: &str, kid: &str) -> String {
    let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
    header.kid = Some(kid.into());
    encode(&header, claims, &EncodingKey::from_secret(secret.as_bytes())).unwrap()
}

#[tokio::test]
async fn forged_expired_unsigned_and_misaddressed_tokens_are_refused() {
    let app = spawn_demo().await;
    let real = app.login("admin@demo.local").await;
    // Take the real identity out of the valid token so only one thing differs at a time.
    let payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(real.split('.').nth(1).unwrap()).unwrap()).unwrap();
    let identity = json!({"sub": payload["sub"], "tid": payload["tid"], "sid": payload["sid"]});
    let with = |extra: Value| {
        let mut c = claims(identity.clone());
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    assert!(app.gql(Some(&sign(&with(json!({})), JWT_SECRET, "k1")), ME, json!({})).await["data"]["me"].is_object());

    let now = chrono::Utc::now().timestamp();
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT","kid":"k1"}"#),
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&with(json!({}))).unwrap())
    );
    let refused = [
        ("wrong key", sign(&with(json!({})), "another-secret-another-secret-another-secret", "k1")),
        ("unknown kid", sign(&with(json!({})), JWT_SECRET, "k9")),
        ("expired", sign(&with(json!({"exp": now - 60, "iat": now - 700, "nbf": now - 700})), JWT_SECRET, "k1")),
        ("not yet valid", sign(&with(json!({"nbf": now + 600})), JWT_SECRET, "k1")),
        ("wrong audience", sign(&with(json!({"aud": "someone-else"})), JWT_SECRET, "k1")),
        ("wrong issuer", sign(&with(json!({"iss": "evil"})), JWT_SECRET, "k1")),
        ("string exp", sign(&with(json!({"exp": (now + 600).to_string()})), JWT_SECRET, "k1")),
        ("refresh typ", sign(&with(json!({"typ": "refresh"})), JWT_SECRET, "k1")),
        ("alg none", unsigned),
        ("garbage", "not.a.token".to_owned()),
    ];
    for (what, token) in refused {
        let body = app.gql(Some(&token), ME, json!({})).await;
        assert_eq!(error_code(&body), "UNAUTHENTICATED", "{what}: {body}");
    }
}

#[tokio::test]
async fn api_keys_work_until_revoked_and_carry_their_role() {
    let app = spawn_demo().await;
    let admin = app.login("admin@demo.local").await;
    let finance = app.role_id(&admin, "finance").await;
    let created = app
        .gql(
            Some(&admin),
            "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret apiKey { id prefix role { builtinKey } } userErrors { code } } }",
            json!({"i": {"name": "ERP 同步", "roleId": finance}}),
        )
        .await;
    let payload = &created["data"]["createApiKey"];
    let secret = payload["secret"].as_str().unwrap_or_else(|| panic!("{created}")).to_owned();
    assert!(secret.starts_with("gxk_"));
    assert_eq!(payload["apiKey"]["role"]["builtinKey"], "finance");
    let key_id = payload["apiKey"]["id"].as_str().unwrap().to_owned();

    // The key acts with the finance role: it reads users but may not manage the organisation.
    let body = app.gql(Some(&secret), "{ users { totalCount } }", json!({})).await;
    assert_eq!(body["data"]["users"]["totalCount"], 8, "{body}");
    let forbidden = app
        .gql(
            Some(&secret),
            "mutation { createRole(input: {name: \"x\", permissions: [], scopes: []}) { role { id } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&forbidden), "FORBIDDEN");
    // The secret is never listed again.
    let listed = app.gql(Some(&admin), "{ apiKeys { nodes { id prefix } } }", json!({})).await;
    assert!(!listed.to_string().contains(&secret[20..]), "{listed}");

    let revoked = app
        .gql(
            Some(&admin),
            "mutation($i: RevokeApiKeyInput!) { revokeApiKey(input: $i) { apiKey { revokedAt } } }",
            json!({"i": {"id": key_id}}),
        )
        .await;
    assert!(revoked["data"]["revokeApiKey"]["apiKey"]["revokedAt"].is_string(), "{revoked}");
    assert_eq!(error_code(&app.gql(Some(&secret), "{ users { totalCount } }", json!({})).await), "UNAUTHENTICATED");
    // A rep may not create keys.
    let rep = app.login("rep1@demo.local").await;
    let denied = app
        .gql(
            Some(&rep),
            "mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret } }",
            json!({"i": {"name": "x", "roleId": finance}}),
        )
        .await;
    assert_eq!(error_code(&denied), "FORBIDDEN");
}

#[tokio::test]
async fn anonymous_callers_can_only_log_in() {
    let app = spawn_demo().await;
    for query in [ME, "{ users { totalCount } }", "{ departments { totalCount } }", "mutation { logout { ok } }"] {
        assert_eq!(error_code(&app.gql(None, query, json!({})).await), "UNAUTHENTICATED", "{query}");
    }
}
