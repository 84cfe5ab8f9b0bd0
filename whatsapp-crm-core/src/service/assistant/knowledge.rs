//! What the assistant knows of one business: the trained model, and for
//! each intent the model names, what it leads to (FAQ answers told apart by
//! BM25, an intent's reply, a product lookup, a handoff). Built from one
//! read of the FAQs and intents, cached until they or the model change.

use std::collections::HashMap;
use std::sync::Arc;

use crate::assistant::{Bm25, Example, IntentModel, normalize};
use crate::domain::{Faq, FaqId, Intent, IntentAction, NewIntent};
use crate::ports::{IntentSummary, TrainingData};

/// Examples of an intent shown to an LLM.
const SUMMARY_EXAMPLES: usize = 3;

/// The starter intents a business gets when it first turns the assistant on
/// with none of its own, by name.
pub const STARTER_INTENTS: &[&str] = &["greeting", "thanks", "talk_to_person", "product_question"];

/// The starter intents, in English, Swahili and Sheng; the product question
/// only for a business that sells in chat.
pub fn starter_intents(sells: bool) -> Vec<NewIntent> {
    let intent = |name: &str, action, reply: Option<&str>, examples: &[&str]| NewIntent {
        name: name.into(),
        examples: examples.iter().map(|e| (*e).to_owned()).collect(),
        action,
        reply: reply.map(str::to_owned),
    };
    let mut out = vec![
        intent(
            "greeting",
            IntentAction::Reply,
            Some("Hello! How can we help you today?"),
            &[
                "hello",
                "hi",
                "hey there",
                "good morning",
                "good evening",
                "habari",
                "habari yako",
                "hujambo",
                "mambo",
                "mambo vipi",
                "niaje",
                "sasa",
                "vipi",
                "salama",
                "hi there, are you open",
                "habari za asubuhi",
            ],
        ),
        intent(
            "thanks",
            IntentAction::Reply,
            Some("You're welcome!"),
            &[
                "thank you",
                "thanks",
                "thanks a lot",
                "thank you so much",
                "asante",
                "asante sana",
                "asanteni",
                "shukran",
                "poa asante",
                "sawa asante",
                "okay thanks",
                "great, thank you",
            ],
        ),
        intent(
            "talk_to_person",
            IntentAction::Handoff,
            None,
            &[
                "I want to talk to someone",
                "can I speak to a human",
                "let me talk to the owner",
                "is there someone I can talk to",
                "nataka kuongea na mtu",
                "naomba kuongea na mhudumu",
                "nipigie simu",
                "please call me",
                "I need help from a person",
                "nisaidie mtu wa customer care",
                "connect me to an agent",
                "niunganishe na mtu",
            ],
        ),
    ];
    if sells {
        out.push(intent(
            "product_question",
            IntentAction::Product,
            None,
            &[
                "do you have sugar",
                "is rice available",
                "do you sell cooking oil",
                "how much is milk",
                "what is the price of flour",
                "una maziwa",
                "mna sukari",
                "mnauza mchele",
                "bei ya unga ni ngapi",
                "sukari iko",
                "kuna mafuta ya kupika",
                "unga ni pesa ngapi",
                "iko na bread",
                "is the 2kg flour in stock",
                "ngapi hii",
                "do you have eggs today",
            ],
        ));
    }
    out
}

/// What one intent the model names leads to.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Leads<'a> {
    /// An FAQ's answer.
    Faq(&'a Faq),
    /// An intent's own action.
    Intent(&'a Intent),
    /// Nothing known (an intent without FAQs).
    Nothing,
}

/// A business's model and what its intents lead to.
pub(super) struct Knowledge {
    /// The FAQs and intents version it was built from.
    pub data_version: u64,
    /// The version the model was trained on.
    pub model_version: Option<u64>,
    /// The model, once one is trained.
    pub model: Option<Arc<IntentModel>>,
    faqs: HashMap<FaqId, Faq>,
    intents: HashMap<String, Intent>,
    by_label: HashMap<String, Vec<FaqId>>,
    bm25: Bm25<FaqId>,
    /// The intents as an LLM is told about them.
    pub summaries: Vec<IntentSummary>,
}

impl Knowledge {
    /// Indexes `data`, with the model trained on `model_version`.
    pub fn build(data: TrainingData, model: Option<(u64, Arc<IntentModel>)>) -> Self {
        let mut bm25 = Bm25::new();
        let mut by_label: HashMap<String, Vec<FaqId>> = HashMap::new();
        for f in &data.faqs {
            for p in f.phrasings() {
                bm25.add(f.id, &normalize(p));
            }
            by_label.entry(f.label()).or_default().push(f.id);
        }
        let summaries = summaries(&data);
        Self {
            data_version: data.data_version,
            model_version: model.as_ref().map(|(v, _)| *v),
            model: model.map(|(_, m)| m),
            faqs: data.faqs.into_iter().map(|f| (f.id, f)).collect(),
            intents: data.intents.into_iter().map(|i| (i.name.clone(), i)).collect(),
            by_label,
            bm25,
            summaries,
        }
    }

    /// What `label` leads to for a message: an intent's own action, or the
    /// FAQ under it closest to the message (BM25; the first if none shares
    /// a word).
    pub fn leads(&self, label: &str, normalized: &str) -> Leads<'_> {
        if let Some(i) = self.intents.get(label)
            && i.action != IntentAction::Faq
        {
            return Leads::Intent(i);
        }
        let Some(ids) = self.by_label.get(label) else { return Leads::Nothing };
        let pick = if ids.len() == 1 {
            ids.first().copied()
        } else {
            self.bm25
                .best(normalized, |id| ids.contains(id))
                .map(|(id, _)| id)
                .or(ids.first().copied())
        };
        pick.and_then(|id| self.faqs.get(&id)).map_or(Leads::Nothing, Leads::Faq)
    }
}

/// The labelled examples a model is trained on: each active FAQ's question
/// and paraphrases under its label, each intent's examples under its name.
pub(super) fn examples(data: &TrainingData) -> Vec<Example> {
    let mut out = Vec::new();
    for f in &data.faqs {
        let label = f.label();
        out.extend(f.phrasings().map(|p| Example::new(p, label.clone())));
    }
    for i in &data.intents {
        out.extend(i.examples.iter().map(|e| Example::new(e.clone(), i.name.clone())));
    }
    out
}

fn summaries(data: &TrainingData) -> Vec<IntentSummary> {
    let mut by_label: Vec<IntentSummary> = Vec::new();
    let mut add =
        |name: String, about: String, examples: &mut dyn Iterator<Item = &str>| match by_label
            .iter_mut()
            .find(|s| s.name == name)
        {
            Some(s) => {
                let room = SUMMARY_EXAMPLES.saturating_sub(s.examples.len());
                s.examples.extend(examples.take(room).map(str::to_owned));
            }
            None => by_label.push(IntentSummary {
                name,
                about,
                examples: examples.take(SUMMARY_EXAMPLES).map(str::to_owned).collect(),
            }),
        };
    for i in &data.intents {
        add(i.name.clone(), i.name.replace('_', " "), &mut i.examples.iter().map(String::as_str));
    }
    for f in &data.faqs {
        add(f.label(), f.question.clone(), &mut f.paraphrases.iter().map(String::as_str));
    }
    // Intents without a single example cannot be told apart; leave them out.
    by_label.retain(|s| s.examples.iter().any(|e| !e.is_empty()) || !s.about.is_empty());
    by_label
}
