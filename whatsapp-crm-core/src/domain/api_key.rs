//! API keys: how a business authenticates. Only a SHA-256 hash of each key is stored.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{AgentId, ApiKeyId, BusinessId};

/// SHA-256 of an API key. The key itself is shown once and never stored.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ApiKeyHash(pub [u8; 32]);

impl ApiKeyHash {
    /// Lower-case hex, as stored in text columns.
    pub fn to_hex(&self) -> String {
        use fmt::Write;
        self.0.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }

    /// Parses the hex form back.
    pub fn from_hex(hex: &str) -> Option<Self> {
        if hex.len() != 64 || !hex.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(out))
    }
}

/// Shows only a prefix: enough to tell keys apart in logs, useless to an attacker.
impl fmt::Debug for ApiKeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeyHash({}…)", &self.to_hex()[..8])
    }
}

/// A stored API key of one business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Key record id.
    pub id: ApiKeyId,
    /// The business the key acts for.
    pub business_id: BusinessId,
    /// SHA-256 of the secret key.
    pub hash: ApiKeyHash,
    /// What the key is for (`shop backend`, `zapier`...).
    pub label: String,
    /// The agent it acts as: an agent key may do only what an agent may.
    /// `None` is a business key.
    #[serde(default)]
    pub agent_id: Option<AgentId>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; a revoked key authenticates nothing.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// True until revoked.
    pub fn is_active(&self) -> bool {
        self.revoked_at.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips() {
        let h = ApiKeyHash([0xab; 32]);
        assert_eq!(ApiKeyHash::from_hex(&h.to_hex()), Some(h));
        assert_eq!(ApiKeyHash::from_hex("zz"), None);
        assert_eq!(format!("{h:?}"), "ApiKeyHash(abababab…)");
    }
}
