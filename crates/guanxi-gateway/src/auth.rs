//! Credentials: access tokens (JWT), opaque refresh tokens and API keys, and password
//! hashes. Everything that touches a secret lives here.
//!
//! Access tokens are HS256 JWTs; the algorithm is pinned, and `exp`, `nbf`, `iat`, `iss`,
//! `aud`, `typ` and the header `kid` are all checked, with five seconds of leeway. A token
//! names its session; the request's actor is loaded together with a check that the session
//! is still open (see `guanxi_store::platform::auth::session_actor`).

use anyhow::Context;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Duration, Utc};
use guanxi_domain::ids::{SessionId, TenantId, UserId};
use jsonwebtoken::{DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::config::Secret;

pub const ISSUER: &str = "guanxi";
pub const AUDIENCE: &str = "guanxi-api";
/// The audience of signed links (printable documents): never accepted as an access token.
pub const LINK_AUDIENCE: &str = "guanxi-link";
const ACCESS_TYPE: &str = "access";
const LEEWAY_SECONDS: u64 = 5;

/// The claims of an access token.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: Uuid,
    /// Tenant.
    pub tid: Uuid,
    /// Session.
    pub sid: Uuid,
    pub typ: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: Uuid,
}

/// An issued access token.
pub struct AccessToken {
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

/// Signs and checks access tokens.
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    key_id: String,
    lifetime: Duration,
    validation: Validation,
}

impl TokenService {
    pub fn new(secret: &Secret, key_id: &str, lifetime: Duration) -> anyhow::Result<Self> {
        if secret.expose().len() < 32 {
            anyhow::bail!("the JWT secret must be at least 32 bytes");
        }
        let mut validation = Validation::new(jsonwebtoken::Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.validate_nbf = true;
        validation.validate_exp = true;
        validation.leeway = LEEWAY_SECONDS;
        Ok(Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            key_id: key_id.to_owned(),
            lifetime,
            validation,
        })
    }

    pub fn issue(&self, tenant: TenantId, user: UserId, session: SessionId) -> anyhow::Result<AccessToken> {
        let now = Utc::now();
        let expires_at = now + self.lifetime;
        let claims = Claims {
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            sub: user.uuid(),
            tid: tenant.uuid(),
            sid: session.uuid(),
            typ: ACCESS_TYPE.into(),
            iat: now.timestamp(),
            nbf: now.timestamp(),
            exp: expires_at.timestamp(),
            jti: Uuid::now_v7(),
        };
        let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(self.key_id.clone());
        header.typ = Some("JWT".into());
        let token = encode(&header, &claims, &self.encoding).context("signing an access token")?;
        Ok(AccessToken { token, expires_at })
    }

    /// Signs a short-lived link token (`aud` = [`LINK_AUDIENCE`]) carrying `claims`, which
    /// must hold `iss`, `aud`, `exp`, `nbf` and `iat`.
    pub fn sign_link<T: Serialize>(&self, claims: &T) -> anyhow::Result<String> {
        let mut header = Header::new(jsonwebtoken::Algorithm::HS256);
        header.kid = Some(self.key_id.clone());
        encode(&header, claims, &self.encoding).context("signing a link")
    }

    /// The claims of a link token this service signed that has not expired.
    pub fn verify_link<T: serde::de::DeserializeOwned>(&self, token: &str) -> Option<T> {
        let header = decode_header(token).ok()?;
        if header.kid.as_deref() != Some(self.key_id.as_str()) {
            return None;
        }
        let mut validation = self.validation.clone();
        validation.set_audience(&[LINK_AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud"]);
        decode::<T>(token, &self.decoding, &validation).ok().map(|data| data.claims)
    }

    /// Checks a token's signature, algorithm, key id and claims. Says nothing about why a
    /// token failed beyond "invalid": the reason is logged at debug level only.
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let header = decode_header(token).ok()?;
        if header.kid.as_deref() != Some(self.key_id.as_str()) {
            tracing::debug!("access token with an unknown key id");
            return None;
        }
        match decode::<Claims>(token, &self.decoding, &self.validation) {
            Ok(data) if data.claims.typ == ACCESS_TYPE => Some(data.claims),
            Ok(_) => None,
            Err(error) => {
                tracing::debug!(%error, "access token refused");
                None
            }
        }
    }
}

/// Kinds of opaque tokens, told apart by their prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpaqueKind {
    Refresh,
    ApiKey,
    /// A customer contact's self-service portal token.
    Portal,
}

impl OpaqueKind {
    fn prefix(self) -> &'static str {
        match self {
            Self::Refresh => "gxr",
            Self::ApiKey => "gxk",
            Self::Portal => "gxp",
        }
    }
}

/// A freshly made opaque token: shown to the client once; only its hash is stored.
pub struct OpaqueToken {
    pub token: String,
    pub hash: String,
    /// The first characters, for telling keys apart in a list.
    pub display_prefix: String,
}

/// Makes a token `gxr_<tenant>_<secret>`: the tenant lets the server find the row
/// within one tenant's shard; the 256-bit secret makes it unguessable.
pub fn new_opaque(kind: OpaqueKind, tenant: TenantId) -> OpaqueToken {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let token = format!("{}_{}_{}", kind.prefix(), tenant.uuid().simple(), secret);
    let display_prefix = format!("{}_{}", kind.prefix(), &secret[..8]);
    OpaqueToken { hash: hash_token(&token), token, display_prefix }
}

/// Reads the tenant out of an opaque token of `kind`, if it has the right shape.
pub fn opaque_tenant(kind: OpaqueKind, token: &str) -> Option<TenantId> {
    let mut parts = token.splitn(3, '_');
    if parts.next()? != kind.prefix() {
        return None;
    }
    let tenant = Uuid::try_parse(parts.next()?).ok()?;
    let secret = parts.next()?;
    (secret.len() >= 40).then_some(TenantId::from_uuid(tenant))
}

/// SHA-256, hex. Opaque tokens carry 256 bits of randomness, so a fast hash is enough.
pub fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn argon2() -> Argon2<'static> {
    // OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes a password with argon2id on a blocking thread.
pub async fn hash_password(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
    })
    .await
    .context("the hashing thread")?
}

/// Checks a password against a stored hash on a blocking thread.
pub async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&hash).is_ok_and(|parsed| argon2().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// A hash of a random password, checked against when the user does not exist, so a
/// login for an unknown email takes as long as one with a wrong password.
pub async fn dummy_hash() -> String {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY.get_or_init(|| async { hash_password(Uuid::now_v7().to_string()).await.unwrap_or_default() }).await.clone()
}

/// A random secret for signing tokens, for the embedded default.
pub fn generate_secret() -> String {
    let mut bytes = [0u8; 48];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> TokenService {
        match TokenService::new(&Secret::new("x".repeat(40)), "k1", Duration::minutes(15)) {
            Ok(s) => s,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn issued_tokens_verify_and_tampered_ones_do_not() {
        let s = service();
        let (t, u, sid) = (TenantId::new(), UserId::new(), SessionId::new());
        let token = match s.issue(t, u, sid) {
            Ok(token) => token.token,
            Err(e) => panic!("{e}"),
        };
        let claims = s.verify(&token).map(|c| (c.tid, c.sub, c.sid));
        assert_eq!(claims, Some((t.uuid(), u.uuid(), sid.uuid())));
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert!(s.verify(&tampered).is_none());
    }

    #[test]
    fn opaque_tokens_carry_their_tenant_and_kind() {
        let tenant = TenantId::new();
        let token = new_opaque(OpaqueKind::Refresh, tenant);
        assert_eq!(opaque_tenant(OpaqueKind::Refresh, &token.token), Some(tenant));
        assert_eq!(opaque_tenant(OpaqueKind::ApiKey, &token.token), None);
        assert_eq!(token.hash, hash_token(&token.token));
        assert_eq!(token.hash.len(), 64);
        assert!(opaque_tenant(OpaqueKind::Refresh, "gxr_nonsense_x").is_none());
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(TokenService::new(&Secret::new("short"), "k1", Duration::minutes(1)).is_err());
    }
}
