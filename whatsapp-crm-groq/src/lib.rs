//! # whatsapp-crm-groq
//!
//! Groq's LLMs as an intent [`Classifier`](whatsapp_crm_core::ports::Classifier),
//! through its OpenAI-compatible chat API. The model is shown the business's
//! intents (each with a few examples) and the customer's message, and asked
//! for JSON: `{"intent": "...", "confidence": 0.9}`. Groq refuses
//! `logprobs`, so the confidence is the model's own word; the named intent
//! gets it and the others share the rest. Model and timeout are
//! configurable; any failure (a timeout, an error status, an answer that is
//! not that JSON) is an `Err`, and the assistant then uses the business's
//! offline model and records why.
//!
//! ```
//! use whatsapp_crm_core::ports::{ClassifyRequest, IntentSummary};
//! use whatsapp_crm_groq::ranking_of;
//!
//! let intents = [
//!     IntentSummary { name: "delivery".into(), about: "Do you deliver?".into(), examples: vec![] },
//!     IntentSummary { name: "refund".into(), about: "refunds".into(), examples: vec![] },
//! ];
//! let request = ClassifyRequest { text: "Mnaleta Rongai?", normalized: "mnaleta rongai", intents: &intents };
//! let ranking = ranking_of(r#"{"intent": "delivery", "confidence": 0.92}"#, &request).unwrap();
//! assert_eq!(ranking.top().unwrap().intent, "delivery");
//! assert!(ranking_of("Delivery, I think.", &request).is_err());
//! ```

mod client;

#[cfg(feature = "stand-in")]
pub mod stand_in;

pub use client::{
    DEFAULT_BASE, DEFAULT_MODEL, DEFAULT_TIMEOUT, EXAMPLES_SHOWN, Groq, GroqConfig, INTENTS_SHOWN,
    NONE, prompt, ranking_of,
};
