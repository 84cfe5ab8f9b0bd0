//! API-key authentication. The business comes from the key, never from the request.

use axum::extract::FromRequestParts;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sha2::{Digest, Sha256};
use whatsapp_crm_core::service::Principal;
use whatsapp_crm_core::{AgentId, ApiKeyHash, BusinessId};

use crate::app::AppState;
use crate::error::ApiError;

/// Prefix of every key, so leaked keys are easy to recognise and scan for.
pub const API_KEY_PREFIX: &str = "wcrm_";
/// Random bytes in a key (256 bits).
const API_KEY_RANDOM_BYTES: usize = 32;

/// A new random API key (shown to its owner once) and the hash to store.
pub fn generate_api_key() -> Result<(String, ApiKeyHash), getrandom::Error> {
    let mut bytes = [0u8; API_KEY_RANDOM_BYTES];
    getrandom::fill(&mut bytes)?;
    let key = format!("{API_KEY_PREFIX}{}", ApiKeyHash(bytes).to_hex());
    let hash = hash_api_key(&key);
    Ok((key, hash))
}

/// SHA-256 of a key: keys are high-entropy, so a fast hash is enough and lookups stay O(1).
pub fn hash_api_key(key: &str) -> ApiKeyHash {
    ApiKeyHash(Sha256::digest(key.as_bytes()).into())
}

/// The authenticated business of a request, by a business key: an agent's
/// key gets 403 here, so every operation is for the business unless it
/// asks for an [`Actor`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tenant(pub BusinessId);

/// Who a request acts for: the business, and the agent when the key is an
/// agent's. Only operations an agent may do take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    /// The business.
    pub business: BusinessId,
    /// The agent, for an agent key.
    pub agent: Option<AgentId>,
    /// The key it came with, so a long-lived response can check it again.
    pub key: ApiKeyHash,
}

impl Actor {
    /// Who acts, as conversation events record it.
    pub fn who(&self) -> whatsapp_crm_core::Actor {
        self.agent.map_or(whatsapp_crm_core::Actor::Business, |agent_id| {
            whatsapp_crm_core::Actor::Agent { agent_id }
        })
    }
}

async fn principal(parts: &Parts, state: &AppState) -> Result<(Principal, ApiKeyHash), ApiError> {
    let header = parts
        .headers
        .get(AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer <api key> header"))?;
    let key = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| k.starts_with(API_KEY_PREFIX))
        .ok_or_else(|| ApiError::unauthorized("Authorization must be: Bearer <api key>"))?;
    let hash = hash_api_key(key);
    let principal = state
        .crm
        .businesses()
        .authenticate(&hash)
        .await?
        .ok_or_else(|| ApiError::unauthorized("unknown or revoked API key"))?;
    Ok((principal, hash))
}

impl FromRequestParts<AppState> for Actor {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (p, key) = principal(parts, state).await?;
        Ok(Actor { business: p.business, agent: p.agent, key })
    }
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let (p, _) = principal(parts, state).await?;
        match p.agent {
            None => Ok(Tenant(p.business)),
            Some(_) => Err(ApiError::forbidden(
                "this is an agent's key; this operation needs the business's key",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_prefixed_and_hash_stably() {
        let (k1, h1) = generate_api_key().unwrap();
        let (k2, _) = generate_api_key().unwrap();
        assert_ne!(k1, k2);
        assert!(k1.starts_with(API_KEY_PREFIX));
        assert_eq!(k1.len(), API_KEY_PREFIX.len() + 64);
        assert_eq!(hash_api_key(&k1), h1);
    }
}
