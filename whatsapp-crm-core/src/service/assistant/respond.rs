//! One assistant turn per inbound text, and the dry run behind
//! `POST /v1/assistant/classify`.
//!
//! A turn reads the conversation's assistant state, ranks the message
//! (Groq first when the business chose it, the offline model otherwise or
//! when Groq fails), resolves what the top intent leads to (an FAQ, a
//! reply, a product in or out of stock, a handoff), lets the turn engine
//! decide, and writes the decision, the new state and the replies at once,
//! only against the state revision it read. A race re-reads and decides
//! again; a message is decided once.

use std::sync::Arc;

use chrono::{DateTime, Datelike, Duration, Utc};

use crate::assistant::{
    Alternative, Answer, Gate, Judgement, Ranking, Reason, Scored, TurnFacts, normalize, sentiment,
    turn,
};
use crate::commerce::SearchQuery;
use crate::commerce::cart::MATCH_SCORE_MIN;
use crate::commerce::search::score_name;
use crate::domain::{
    AssistantSettings, AssistantState, Author, Business, BusinessId, ClassifierChoice,
    Conversation, ConversationId, Customer, Decision, Direction, FaqId, IntentAction, Interactive,
    Message, MessageContent, ModelInfo, Product, ProductId, TimeZone, TranscriptLine,
};
use crate::policy::{check_content, cut};
use crate::ports::{ClassifyRequest, ProductQuery, to_storage_precision};
use crate::service::{Catalog, Outbound, ServiceError};

use super::Assistant;
use super::knowledge::{Knowledge, Leads};
use super::train::decode;

/// Intents a ranking shows at most.
const RANKING_SHOWN: usize = 5;
/// Messages a handoff's transcript keeps (the latest).
const TRANSCRIPT_LINES: usize = 20;
/// Characters of one transcript line.
const TRANSCRIPT_CHARS: usize = 300;
/// Longest text the dry run reads (a WhatsApp message's limit).
pub const CLASSIFY_TEXT_MAX: usize = 4_096;
/// Times a turn is decided again after losing a race. Each loss means
/// another message of the conversation was decided, so only a burst of
/// this many messages at once can exhaust it.
const TURN_ATTEMPTS: u32 = 10;
/// Products of one category read when looking for alternatives.
const ALTERNATIVES_SCAN: u32 = 200;

/// Words of a product question that name no product, in English, Swahili
/// and Sheng; dropped before the catalog search.
const QUESTION_WORDS: &[&str] = &[
    "a",
    "an",
    "any",
    "are",
    "available",
    "buy",
    "can",
    "cost",
    "costs",
    "do",
    "does",
    "for",
    "get",
    "got",
    "have",
    "has",
    "how",
    "i",
    "in",
    "is",
    "it",
    "left",
    "me",
    "much",
    "of",
    "please",
    "price",
    "sell",
    "some",
    "still",
    "stock",
    "that",
    "the",
    "there",
    "this",
    "today",
    "want",
    "we",
    "what",
    "you",
    "your",
    "bado",
    "bei",
    "gani",
    "hii",
    "hiyo",
    "iko",
    "ipo",
    "je",
    "kuna",
    "la",
    "leo",
    "mna",
    "mnauza",
    "na",
    "naomba",
    "nataka",
    "ngapi",
    "ni",
    "pesa",
    "sasa",
    "tafadhali",
    "una",
    "unauza",
    "uko",
    "ya",
    "za",
    "cha",
    "vya",
    "wa",
    "mko",
    "boss",
    "msee",
];

/// What one inbound message got from the assistant.
#[derive(Debug, Clone, PartialEq)]
pub struct Responded {
    /// The decision stored with the message.
    pub decision: Decision,
    /// The replies queued, in order.
    pub replies: Vec<Message>,
    /// The conversation's assistant state after the turn.
    pub state: AssistantState,
}

/// What the assistant would do with a text, sending nothing.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ClassifyOutcome {
    /// The most likely intents, best first (at most 5).
    pub ranking: Vec<Scored>,
    /// The decision, as a fresh conversation in business hours now would
    /// get it (`replies` counts what would be sent).
    pub decision: Decision,
    /// What would be sent.
    pub replies: Vec<MessageContent>,
    /// The model that ranked it, when one is trained.
    pub model: Option<ModelInfo>,
    /// True when FAQs or intents changed since that model was trained.
    pub stale: bool,
}

/// A ranking and how it was made.
struct Ranked {
    ranking: Option<Ranking>,
    classifier: &'static str,
    fallback: Option<String>,
}

/// What the top intent resolved to, with the record of it.
struct Resolved {
    answer: Answer,
    faq: Option<FaqId>,
    product: Option<ProductId>,
}

impl Assistant {
    /// Runs one turn for an inbound text message the keyword and cart
    /// handling left alone, in `conversation` as the caller just read it. `None` when the assistant is off, the message
    /// is not text, a person has the conversation, or another delivery of
    /// the message was already decided.
    pub async fn respond(
        &self,
        business: &Business,
        customer: &Customer,
        conversation: &Conversation,
        message: &Message,
    ) -> Result<Option<Responded>, ServiceError> {
        let settings = &business.assistant;
        let MessageContent::Text { body } = &message.content else { return Ok(None) };
        if !settings.enabled || message.direction != Direction::Inbound {
            return Ok(None);
        }
        let b = business.id;
        // The caller's copy carries the assistant state as read; a stale one
        // only loses the revision check below and is read again.
        let mut current = conversation.clone();
        let conversation = current.id;
        if current.assistant.waiting_since().is_some() {
            return Ok(None);
        }
        let now = to_storage_precision(self.clock.now());
        let normalized = normalize(body);
        let mood = sentiment(body);
        let (ranked, judgement, resolved) = self.assess(business, body, &normalized).await?;
        let (open, opens) = hours_now(settings, business.time_zone, now);
        let today = now.with_timezone(&business.time_zone.tz()).date_naive();
        let person_recently = !open && self.person_replied_recently(b, conversation, now).await?;
        let outbound = Outbound::new(Arc::clone(&self.storage), Arc::clone(&self.clock));
        for _ in 0..TURN_ATTEMPTS {
            let facts = TurnFacts {
                settings,
                state: &current.assistant,
                message: message.id,
                normalized: &normalized,
                sentiment: mood,
                now,
                today,
                open,
                opens: &opens,
                person_replied_recently: person_recently,
                judgement,
                answer: resolved.answer.clone(),
            };
            let Some(mut decided) = turn(&facts) else { return Ok(None) };
            if let Some(h) = decided.state.handoff.as_mut()
                && current.assistant.waiting_since().is_none()
            {
                h.transcript = self.transcript(b, conversation).await?;
            }
            let mut replies = Vec::new();
            for content in decided.replies {
                check_content(&content, &[])?;
                match outbound.prepare(b, customer, content, None, now, now).await {
                    Ok(mut row) => {
                        row.0.author = Author::Assistant;
                        replies.push(row);
                    }
                    // The customer just wrote, so the window is open; a
                    // reply the policy still refuses is recorded as not
                    // sent rather than failing the inbound message.
                    Err(ServiceError::Refused(why)) => {
                        tracing::warn!(business = %b, refusal = %why, "assistant reply refused");
                    }
                    Err(e) => return Err(e),
                }
            }
            let decision =
                decision_of(decided.reason, &ranked, &resolved, mood, replies.len(), now);
            let commit = crate::ports::TurnCommit {
                business: b,
                conversation,
                from_rev: current.assistant.rev,
                state: decided.state.clone(),
                message: message.id,
                decision: decision.clone(),
                replies,
            };
            if self.storage.commit_turn(&commit).await? {
                let state = AssistantState { rev: current.assistant.rev + 1, ..decided.state };
                return Ok(Some(Responded {
                    decision,
                    replies: commit.replies.into_iter().map(|(m, _)| m).collect(),
                    state,
                }));
            }
            if self.storage.get_message(b, message.id).await?.decision.is_some() {
                return Ok(None);
            }
            current = self.storage.get_conversation(b, conversation).await?;
        }
        tracing::warn!(business = %b, conversation = %conversation, "assistant turn kept racing");
        Ok(None)
    }

    /// What the assistant would do with `text` in a fresh conversation now:
    /// the ranking, the decision and its reason, and the replies. Nothing is
    /// stored or sent.
    pub async fn classify(
        &self,
        business: BusinessId,
        text: &str,
    ) -> Result<ClassifyOutcome, ServiceError> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > CLASSIFY_TEXT_MAX {
            return Err(crate::domain::ValidationError::field(
                "text",
                format!("give 1 to {CLASSIFY_TEXT_MAX} characters"),
            )
            .into());
        }
        let shop = self.storage.get_business(business).await?;
        let settings = &shop.assistant;
        let now = to_storage_precision(self.clock.now());
        let normalized = normalize(text);
        let mood = sentiment(text);
        let (ranked, judgement, resolved) = self.assess(&shop, text, &normalized).await?;
        let (open, opens) = hours_now(settings, shop.time_zone, now);
        let state = AssistantState::default();
        let facts = TurnFacts {
            settings,
            state: &state,
            message: crate::domain::MessageId::new(),
            normalized: &normalized,
            sentiment: mood,
            now,
            today: now.with_timezone(&shop.time_zone.tz()).date_naive(),
            open,
            opens: &opens,
            person_replied_recently: false,
            judgement,
            answer: resolved.answer.clone(),
        };
        // A fresh state is never waiting, so the engine always decides.
        let decided = turn(&facts).ok_or(ServiceError::InvalidState {
            message: "the assistant decided nothing".into(),
        })?;
        let replies = decided.replies;
        let decision = decision_of(decided.reason, &ranked, &resolved, mood, replies.len(), now);
        let status = self.storage.training_status(business).await?;
        Ok(ClassifyOutcome {
            ranking: ranked.ranking.map(|r| r.truncated(RANKING_SHOWN).0).unwrap_or_default(),
            decision,
            replies,
            stale: status.stale(),
            model: status.model,
        })
    }

    /// Returns a conversation a person had to the assistant: the handoff
    /// stays on record, resolved now; misses start again. `InvalidState`
    /// when it is not waiting for a person.
    pub async fn hand_back(
        &self,
        business: BusinessId,
        conversation: ConversationId,
    ) -> Result<Conversation, ServiceError> {
        let now = to_storage_precision(self.clock.now());
        for _ in 0..TURN_ATTEMPTS {
            let c = self.storage.get_conversation(business, conversation).await?;
            if c.assistant.waiting_since().is_none() {
                return Err(ServiceError::InvalidState {
                    message: "the conversation is not waiting for a person".into(),
                });
            }
            let mut state = c.assistant.clone();
            state.misses = 0;
            if let Some(h) = state.handoff.as_mut() {
                h.resolved_at = Some(now);
            }
            if self
                .storage
                .set_assistant_state(business, conversation, c.assistant.rev, &state)
                .await?
            {
                return Ok(self.storage.get_conversation(business, conversation).await?);
            }
        }
        Err(ServiceError::Conflict {
            entity: "conversation",
            constraint: "the conversation changed while handing it back; try again".into(),
        })
    }

    /// Ranks a message, judges the ranking, and when it is confident
    /// resolves what the top intent leads to.
    async fn assess(
        &self,
        business: &Business,
        text: &str,
        normalized: &str,
    ) -> Result<(Ranked, Option<Judgement>, Resolved), ServiceError> {
        let settings = &business.assistant;
        let knowledge = self.knowledge(business.id).await?;
        let ranked = self.rank(settings, &knowledge, text, normalized).await;
        let gate = Gate { threshold: settings.threshold, ambiguity: settings.ambiguity };
        let judgement = ranked.ranking.as_ref().map(|r| gate.judge(r));
        let resolved = match (&ranked.ranking, judgement) {
            (Some(r), Some(Judgement::Confident)) => {
                self.resolve(business, &knowledge, r, text, normalized).await?
            }
            _ => Resolved { answer: Answer::Nothing, faq: None, product: None },
        };
        Ok((ranked, judgement, resolved))
    }

    /// The business's knowledge: cached while its data version and model
    /// stay the same.
    async fn knowledge(&self, business: BusinessId) -> Result<Arc<Knowledge>, ServiceError> {
        let status = self.storage.training_status(business).await?;
        let model_version = status.model.as_ref().map(|m| m.data_version);
        if let Some(k) = self.runtime.cached(business)
            && k.data_version == status.data_version
            && k.model_version == model_version
        {
            return Ok(k);
        }
        let data = self.storage.training_data(business).await?;
        let model = match self.storage.load_model(business).await? {
            Some((info, bytes)) => decode(business, &bytes).map(|m| (info.data_version, m)),
            None => None,
        };
        let k = Arc::new(Knowledge::build(data, model));
        self.runtime.remember(business, Arc::clone(&k));
        Ok(k)
    }

    /// Ranks the message: the LLM first when the business chose it and the
    /// server has one, the offline model otherwise or when it fails.
    async fn rank(
        &self,
        settings: &AssistantSettings,
        knowledge: &Knowledge,
        text: &str,
        normalized: &str,
    ) -> Ranked {
        let mut fallback = None;
        if settings.classifier == ClassifierChoice::Groq {
            match &self.runtime.llm {
                Some(llm) if knowledge.summaries.len() >= 2 => {
                    let request =
                        ClassifyRequest { text, normalized, intents: &knowledge.summaries };
                    match llm.classify(&request).await {
                        Ok(r) => {
                            return Ranked {
                                ranking: Some(r),
                                classifier: llm.name(),
                                fallback: None,
                            };
                        }
                        Err(e) => fallback = Some(format!("{}: {e}", llm.name())),
                    }
                }
                Some(llm) => fallback = Some(format!("{}: fewer than two intents", llm.name())),
                None => fallback = Some("groq is not configured on this server".into()),
            }
        }
        match &knowledge.model {
            Some(model) => Ranked {
                ranking: Some(model.classify_normalized(normalized)),
                classifier: "offline",
                fallback,
            },
            None => Ranked {
                ranking: None,
                classifier: "none",
                fallback: Some(match fallback {
                    Some(f) => format!("{f}; no trained model yet"),
                    None => "no trained model yet".into(),
                }),
            },
        }
    }

    /// What the top intent of a confident ranking leads to.
    async fn resolve(
        &self,
        business: &Business,
        knowledge: &Knowledge,
        ranking: &Ranking,
        text: &str,
        normalized: &str,
    ) -> Result<Resolved, ServiceError> {
        let nothing = Resolved { answer: Answer::Nothing, faq: None, product: None };
        let Some(top) = ranking.top() else { return Ok(nothing) };
        Ok(match knowledge.leads(&top.intent, normalized) {
            Leads::Faq(f) => {
                Resolved { answer: Answer::Text(f.answer.clone()), faq: Some(f.id), product: None }
            }
            Leads::Intent(i) => match i.action {
                IntentAction::Reply => Resolved {
                    answer: i.reply.clone().map_or(Answer::Nothing, Answer::Text),
                    ..nothing
                },
                IntentAction::Handoff => {
                    Resolved { answer: Answer::Handoff { intent: i.name.clone() }, ..nothing }
                }
                IntentAction::Product => self.product_answer(business, text).await?,
                IntentAction::Faq => nothing,
            },
            Leads::Nothing => nothing,
        })
    }

    /// The product a question names: in stock (with an *Add to cart* button
    /// when the business sells in chat), or out of stock with in-stock
    /// alternatives from its category. Nothing when no product's name
    /// matches a word of the question.
    async fn product_answer(
        &self,
        business: &Business,
        text: &str,
    ) -> Result<Resolved, ServiceError> {
        let nothing = Resolved { answer: Answer::Nothing, faq: None, product: None };
        let asked = product_words(text);
        if asked.is_empty() {
            return Ok(nothing);
        }
        let catalog = Catalog::new(Arc::clone(&self.storage), Arc::clone(&self.clock));
        let hits = catalog.search(business.id, &asked, 3, false).await?;
        let query = SearchQuery::parse(&asked);
        let Some(hit) = hits
            .into_iter()
            .find(|h| score_name(&query, &h.product.name, &h.product.sku) >= MATCH_SCORE_MIN)
        else {
            return Ok(nothing);
        };
        let p = hit.product;
        if p.available() == Some(0) {
            let alternatives = self.alternatives(business.id, &p).await?;
            return Ok(Resolved {
                answer: Answer::OutOfStock { product: p.name.clone(), alternatives },
                faq: None,
                product: Some(p.id),
            });
        }
        let text = format!("Yes, we have {}: {}.", p.name, p.price);
        let sku = business.commerce.enabled.then(|| p.sku.clone());
        Ok(Resolved { answer: Answer::InStock { text, sku }, faq: None, product: Some(p.id) })
    }

    /// Active, in-stock products of `p`'s category other than `p`, the best
    /// selling lately first (catalog order without a model), at most the
    /// engine offers.
    async fn alternatives(
        &self,
        business: BusinessId,
        p: &Product,
    ) -> Result<Vec<Alternative>, ServiceError> {
        let Some(category) = &p.category else { return Ok(Vec::new()) };
        let page = self
            .storage
            .list_products(
                business,
                &ProductQuery {
                    category: Some(category.clone()),
                    active: Some(true),
                    limit: ALTERNATIVES_SCAN,
                    after: None,
                },
            )
            .await?;
        let mut found: Vec<Product> =
            page.items.into_iter().filter(|o| o.id != p.id && o.available() != Some(0)).collect();
        // What sells lately first, then what sells; catalog order breaks ties.
        if let Some(r) = &self.recommend {
            let ids: Vec<_> = found.iter().map(|o| o.id).collect();
            let standing = r.standing(business, &ids).await?;
            let mut ranked: Vec<(Product, (f32, f32))> = found.into_iter().zip(standing).collect();
            ranked.sort_by(|(_, a), (_, b)| b.0.total_cmp(&a.0).then(b.1.total_cmp(&a.1)));
            found = ranked.into_iter().map(|(o, _)| o).collect();
        }
        Ok(found
            .into_iter()
            .take(crate::assistant::ALTERNATIVES_MAX)
            .map(|o| Alternative { sku: o.sku, name: o.name, price: o.price })
            .collect())
    }

    async fn person_replied_recently(
        &self,
        business: BusinessId,
        conversation: ConversationId,
        now: DateTime<Utc>,
    ) -> Result<bool, ServiceError> {
        let last = self.storage.last_person_reply(business, conversation).await?;
        let quiet = Duration::minutes(crate::assistant::PERSON_QUIET_MINUTES);
        Ok(last.is_some_and(|at| now - at < quiet))
    }

    /// The conversation's latest messages, for the person taking over.
    async fn transcript(
        &self,
        business: BusinessId,
        conversation: ConversationId,
    ) -> Result<Vec<TranscriptLine>, ServiceError> {
        let latest = crate::service::conversations::latest_messages(
            &*self.storage,
            business,
            conversation,
            TRANSCRIPT_LINES,
            |_| true,
        )
        .await?;
        Ok(latest
            .into_iter()
            .map(|m| TranscriptLine {
                at: m.created_at,
                direction: m.direction,
                text: cut(&summary(&m.content), TRANSCRIPT_CHARS),
            })
            .collect())
    }
}

fn decision_of(
    reason: Reason,
    ranked: &Ranked,
    resolved: &Resolved,
    sentiment: f64,
    replies: usize,
    at: DateTime<Utc>,
) -> Decision {
    let top = ranked.ranking.as_ref().and_then(Ranking::top);
    Decision {
        reason,
        intent: top.map(|s| s.intent.clone()),
        confidence: top.map(|s| s.probability),
        runner_up: ranked.ranking.as_ref().filter(|r| r.0.len() > 1).map(Ranking::p2),
        classifier: ranked.classifier.to_owned(),
        fallback: ranked.fallback.clone(),
        faq_id: resolved.faq,
        product_id: resolved.product,
        sentiment,
        replies: u32::try_from(replies).unwrap_or(u32::MAX),
        at,
    }
}

/// Whether the business is open now and, if not, when it opens in words.
fn hours_now(settings: &AssistantSettings, tz: TimeZone, now: DateTime<Utc>) -> (bool, String) {
    let Some(hours) = &settings.hours else { return (true, String::new()) };
    if hours.is_open(tz, now) {
        return (true, String::new());
    }
    let opens = match hours.next_open(tz, now) {
        Some(at) => opens_in_words(tz, now, at),
        None => "soon".to_owned(),
    };
    (false, opens)
}

/// `at 08:00`, `tomorrow at 08:00` or `on Monday at 08:00`, in the
/// business's time zone.
pub(crate) fn opens_in_words(tz: TimeZone, now: DateTime<Utc>, at: DateTime<Utc>) -> String {
    let (now, at) = (now.with_timezone(&tz.tz()), at.with_timezone(&tz.tz()));
    let time = at.format("%H:%M");
    let days = (at.date_naive() - now.date_naive()).num_days();
    match days {
        0 => format!("at {time}"),
        1 => format!("tomorrow at {time}"),
        2..=6 => format!("on {} at {time}", weekday(at.weekday())),
        _ => format!("on {} {} at {time}", weekday(at.weekday()), at.format("%-d %B")),
    }
}

fn weekday(d: chrono::Weekday) -> &'static str {
    use chrono::Weekday::*;
    match d {
        Mon => "Monday",
        Tue => "Tuesday",
        Wed => "Wednesday",
        Thu => "Thursday",
        Fri => "Friday",
        Sat => "Saturday",
        Sun => "Sunday",
    }
}

/// The words of a question that may name a product.
fn product_words(text: &str) -> String {
    crate::commerce::search::words(text)
        .into_iter()
        .filter(|w| !QUESTION_WORDS.contains(&w.as_str()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A message in a line of text, for a transcript.
fn summary(content: &MessageContent) -> String {
    match content {
        MessageContent::Text { body } => body.clone(),
        MessageContent::Media { media, caption } => match caption {
            Some(c) => format!("[{} attachment(s)] {c}", media.len()),
            None => format!("[{} attachment(s)]", media.len()),
        },
        MessageContent::Template { name, rendered, .. } => {
            rendered.clone().unwrap_or_else(|| format!("[template {name}]"))
        }
        MessageContent::Interactive { interactive } => match interactive {
            Interactive::Buttons { body, .. }
            | Interactive::List { body, .. }
            | Interactive::CallToAction { body, .. }
            | Interactive::Catalog { body, .. } => body.clone(),
            Interactive::Card { title, .. } => title.clone(),
            Interactive::Reply { title, .. } => format!("[tapped] {title}"),
        },
        MessageContent::Location { label, .. } => {
            format!("[location] {}", label.as_deref().unwrap_or_default())
        }
        MessageContent::Order { items, .. } => format!("[cart with {} item(s)]", items.len()),
        MessageContent::Unsupported { message_type, .. } => {
            format!("[{}]", message_type.as_deref().unwrap_or("unsupported message"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    #[test]
    fn opening_times_read_as_people_say_them() {
        let tz = TimeZone::parse("Africa/Nairobi").unwrap();
        // Monday 7 December 2026, 21:00 in Nairobi.
        let now = Utc.with_ymd_and_hms(2026, 12, 7, 18, 0, 0).unwrap();
        let at = |d, h| Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap();
        assert_eq!(opens_in_words(tz, now, at(7, 19)), "at 22:00");
        assert_eq!(opens_in_words(tz, now, at(8, 5)), "tomorrow at 08:00");
        assert_eq!(opens_in_words(tz, now, at(10, 5)), "on Thursday at 08:00");
        assert_eq!(opens_in_words(tz, now, at(21, 5)), "on Monday 21 December at 08:00");
    }

    #[test]
    fn product_questions_keep_the_product_words() {
        assert_eq!(product_words("Do you have sugar?"), "sugar");
        assert_eq!(product_words("mna unga ya ngano leo"), "unga ngano");
        assert_eq!(product_words("how much is the 2kg rice"), "2kg rice");
        assert_eq!(product_words("is it available"), "");
    }
}
