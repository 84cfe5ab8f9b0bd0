//! Agents: the people of a business who answer customers, as routing sees
//! them (skills, languages, capacity, availability).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::validation::clean_text;
use super::{AgentId, BusinessId, ValidationError};

/// Longest agent name.
pub const AGENT_NAME_MAX_CHARS: usize = 100;
/// Most skills or languages of one agent.
pub const AGENT_TAGS_MAX: usize = 30;
/// Longest skill or language.
pub const AGENT_TAG_MAX_CHARS: usize = 40;
/// Most conversations one agent may hold at once.
pub const MAX_CONCURRENT_LIMIT: u32 = 100;
/// Conversations an agent holds at once unless told otherwise.
pub const MAX_CONCURRENT_DEFAULT: u32 = 5;

/// An agent's availability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Availability {
    /// Takes new conversations.
    Online,
    /// Keeps their conversations, takes no new ones.
    Away,
    /// Not working.
    Offline,
}

/// A person who answers customers on behalf of a business.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agent {
    /// Agent id.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub id: AgentId,
    /// Owning business.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Uuid))]
    pub business_id: BusinessId,
    /// Display name.
    pub name: String,
    /// What they handle (`billing`, `delivery`…), lower case, once each.
    pub skills: Vec<String>,
    /// Languages they answer in (`en`, `sw`…), lower case, once each.
    pub languages: Vec<String>,
    /// Most open conversations at once.
    pub max_concurrent: u32,
    /// Whether they take new conversations now.
    pub availability: Availability,
    /// When they were last given a conversation.
    pub last_assigned_at: Option<DateTime<Utc>>,
    /// When the agent was added.
    pub created_at: DateTime<Utc>,
    /// When the agent last changed.
    pub updated_at: DateTime<Utc>,
}

impl Agent {
    /// The attributes a queue's target expression reads: `id`, `name`,
    /// `skills`, `languages`, `max_concurrent`.
    pub fn attributes(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id.to_string(),
            "name": self.name,
            "skills": self.skills,
            "languages": self.languages,
            "max_concurrent": self.max_concurrent,
        })
    }
}

/// An agent as the business describes them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NewAgent {
    /// Display name (1–100 characters).
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 100))]
    pub name: String,
    /// Skills, up to 30 (each a word of letters, digits, `_` or `-`).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 30))]
    pub skills: Vec<String>,
    /// Languages, up to 30 (`en`, `sw`…).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(max_items = 30))]
    pub languages: Vec<String>,
    /// Most open conversations at once, 1–100 (default 5).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 100))]
    pub max_concurrent: Option<u32>,
    /// Availability (default `offline` until they say otherwise).
    #[serde(default)]
    pub availability: Option<Availability>,
}

fn tags(v: &mut ValidationError, field: &str, items: &[String]) -> Vec<String> {
    if items.len() > AGENT_TAGS_MAX {
        v.push(field, format!("at most {AGENT_TAGS_MAX}"));
    }
    let mut out: Vec<String> = Vec::new();
    for (i, t) in items.iter().enumerate() {
        let t = t.trim().to_lowercase();
        let ok = !t.is_empty()
            && t.chars().count() <= AGENT_TAG_MAX_CHARS
            && t.chars().all(|c| c.is_alphanumeric() || c == '_' || c == '-');
        if !ok {
            v.push(
                format!("{field}[{i}]"),
                format!(
                    "1 to {AGENT_TAG_MAX_CHARS} letters, digits, `_` or `-` (no spaces, so a target can name it)"
                ),
            );
        } else if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

impl NewAgent {
    /// Validates every field into an agent of `business`, reporting every
    /// problem; skills and languages are lower-cased and kept once.
    pub fn validate(
        self,
        business: BusinessId,
        id: AgentId,
        now: DateTime<Utc>,
    ) -> Result<Agent, ValidationError> {
        let mut v = ValidationError::default();
        let name = v.check("name", clean_text(&self.name, AGENT_NAME_MAX_CHARS));
        let skills = tags(&mut v, "skills", &self.skills);
        let languages = tags(&mut v, "languages", &self.languages);
        let max_concurrent = self.max_concurrent.unwrap_or(MAX_CONCURRENT_DEFAULT);
        if !(1..=MAX_CONCURRENT_LIMIT).contains(&max_concurrent) {
            v.push("max_concurrent", format!("must be 1 to {MAX_CONCURRENT_LIMIT}"));
        }
        v.into_result(|| Agent {
            id,
            business_id: business,
            name: name.unwrap_or_default(),
            skills,
            languages,
            max_concurrent,
            availability: self.availability.unwrap_or(Availability::Offline),
            last_assigned_at: None,
            created_at: now,
            updated_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agents_are_checked_and_their_tags_kept_once() {
        let input = NewAgent {
            name: "  Achieng ".into(),
            skills: vec!["Billing".into(), "billing".into(), "m-pesa".into()],
            languages: vec!["SW".into(), "en".into()],
            max_concurrent: None,
            availability: None,
        };
        let a = input.validate(BusinessId::new(), AgentId::new(), Utc::now()).unwrap();
        assert_eq!(a.name, "Achieng");
        assert_eq!(a.skills, ["billing", "m-pesa"]);
        assert_eq!(a.languages, ["sw", "en"]);
        assert_eq!((a.max_concurrent, a.availability), (5, Availability::Offline));
        assert_eq!(a.attributes()["skills"], serde_json::json!(["billing", "m-pesa"]));

        let bad = NewAgent {
            name: "".into(),
            skills: vec!["two words".into(), "".into()],
            languages: vec!["x".repeat(41)],
            max_concurrent: Some(0),
            availability: None,
        };
        let err = bad.validate(BusinessId::new(), AgentId::new(), Utc::now()).unwrap_err();
        let fields: Vec<&str> = err.errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "skills[0]", "skills[1]", "languages[0]", "max_concurrent"]);
    }
}
