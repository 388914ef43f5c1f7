//! Access tokens: signing keys, issuing and checking JWTs.

use std::sync::Arc;

use jsonwebtoken::{Algorithm as JwtAlgorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::domain::access::{AccessRole, Principal};
use crate::error::{Error, Result};
use crate::service::new_id;

/// How far the clocks of the servers that issue and check a token may disagree.
const CLOCK_SKEW_SECS: i64 = 5;

/// Signing and checking of access tokens, plus the auth settings the use cases need.
pub struct Auth {
    algorithm: JwtAlgorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub issuer: String,
    pub audience: String,
    pub access_ttl_secs: u64,
    pub refresh_ttl_secs: u64,
    pub max_failures_per_account: u32,
    pub max_failures_per_address: u32,
    pub login_window_secs: u64,
    pub clock: Clock,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub roles: Vec<AccessRole>,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    /// Not before; never set on the tokens issued here, checked when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub jti: String,
}

/// How tokens are signed and checked: HS256 with a shared secret, or EdDSA / RS256 with a
/// key pair (replicas then need only the public key to check tokens).
pub struct SigningKeys {
    algorithm: JwtAlgorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
}

impl SigningKeys {
    pub fn hs256(secret: &[u8]) -> Self {
        SigningKeys {
            algorithm: JwtAlgorithm::HS256,
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
        }
    }

    /// A key pair from PEM text; the error says which key is unreadable.
    pub fn key_pair(
        algorithm: crate::config::JwtAlgorithm,
        private_pem: &[u8],
        public_pem: &[u8],
    ) -> std::result::Result<Self, String> {
        use crate::config::JwtAlgorithm as Configured;
        let (algorithm, encoding, decoding) = match algorithm {
            Configured::EdDSA => (
                JwtAlgorithm::EdDSA,
                EncodingKey::from_ed_pem(private_pem),
                DecodingKey::from_ed_pem(public_pem),
            ),
            Configured::RS256 => (
                JwtAlgorithm::RS256,
                EncodingKey::from_rsa_pem(private_pem),
                DecodingKey::from_rsa_pem(public_pem),
            ),
            Configured::HS256 => return Err("HS256 takes a secret, not a key pair".into()),
        };
        Ok(SigningKeys {
            algorithm,
            encoding: encoding.map_err(|e| format!("auth.jwt_private_key_file: {e}"))?,
            decoding: decoding.map_err(|e| format!("auth.jwt_public_key_file: {e}"))?,
        })
    }
}

impl Auth {
    pub fn new(
        keys: SigningKeys,
        settings: &crate::config::AuthSettings,
        clock: Clock,
    ) -> Arc<Self> {
        let mut validation = Validation::new(keys.algorithm);
        validation.set_issuer(&[&settings.issuer]);
        validation.set_audience(&[&settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        // Time claims are checked against the service clock in `verify_access_token`.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        Arc::new(Auth {
            algorithm: keys.algorithm,
            encoding: keys.encoding,
            decoding: keys.decoding,
            validation,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            access_ttl_secs: settings.access_token_ttl_secs,
            refresh_ttl_secs: settings.refresh_token_ttl_secs,
            max_failures_per_account: settings.login_max_failures_per_account,
            max_failures_per_address: settings.login_max_failures_per_address,
            login_window_secs: settings.login_window_secs,
            clock,
        })
    }

    pub fn issue_access_token(&self, user_id: &str, roles: &[AccessRole]) -> Result<String> {
        let iat = self.clock.now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            roles: roles.to_vec(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat,
            exp: iat + self.access_ttl_secs as i64,
            nbf: None,
            jti: new_id(),
        };
        jsonwebtoken::encode(&Header::new(self.algorithm), &claims, &self.encoding)
            .map_err(|e| Error::Internal(format!("signing a token: {e}")))
    }

    /// The caller a bearer token stands for. The algorithm is pinned, `iss` and `aud` are
    /// checked, and so are the time claims against the service clock: `exp` and `nbf`, an
    /// `iat` not in the future, and a life (`exp - iat`) no longer than tokens are issued for.
    pub fn verify_access_token(&self, token: &str) -> Result<Principal> {
        let invalid = || Error::Unauthenticated("invalid or expired access token");
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| invalid())?;
        if !self.times_are_valid(&data.claims, self.clock.now().timestamp()) {
            return Err(invalid());
        }
        Ok(Principal {
            user_id: data.claims.sub,
            roles: data.claims.roles,
        })
    }

    fn times_are_valid(&self, claims: &Claims, now: i64) -> bool {
        let ttl = i64::try_from(self.access_ttl_secs).unwrap_or(i64::MAX);
        let latest = now.saturating_add(CLOCK_SKEW_SECS);
        now < claims.exp.saturating_add(CLOCK_SKEW_SECS)
            && claims.nbf.is_none_or(|nbf| nbf <= latest)
            && claims.iat <= latest
            && claims.exp.saturating_sub(claims.iat) <= ttl
    }
}
