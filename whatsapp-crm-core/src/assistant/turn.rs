//! One assistant turn: given what is known about an inbound message, what
//! to reply, why, and what the conversation's assistant state becomes.
//!
//! The order of checks: a conversation with a person gets nothing; a
//! request for a person, then strongly negative sentiment, hand off; after
//! hours (when answers wait for opening) only the after-hours reply goes;
//! otherwise a confident intent is answered, and a turn without an answer
//! asks the customer to rephrase until `handoff_after_misses` turns in a row
//! hand off. The after-hours reply goes at most once a local day, and not
//! while a person is replying.

use chrono::{DateTime, NaiveDate, Utc};

use super::decide::{Judgement, Reason};
use super::normalize::words;
use crate::commerce::add_payload;
use crate::domain::{
    AssistantSettings, AssistantState, Handoff, HandoffCause, Interactive, MessageContent,
    MessageId, Money, ReplyButton,
};
use crate::policy::{REPLY_TITLE_MAX, cut};

/// How long after a person's reply the after-hours reply stays quiet.
pub const PERSON_QUIET_MINUTES: i64 = 5;
/// Most alternatives offered for an out-of-stock product (one button each).
pub const ALTERNATIVES_MAX: usize = 3;

/// An in-stock product offered instead of one that is out of stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alternative {
    /// Its SKU (the button adds one to the cart).
    pub sku: String,
    /// Its name.
    pub name: String,
    /// Its price.
    pub price: Money,
}

/// What the most likely intent leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// Nothing to say (an FAQ intent without FAQs, a product not found).
    Nothing,
    /// This text (an FAQ's answer, an intent's reply).
    Text(String),
    /// The product asked about is available: `text` says so, with an *Add
    /// to cart* button when `sku` is given (the business sells in chat).
    InStock {
        /// What to say.
        text: String,
        /// The product's SKU, for the button.
        sku: Option<String>,
    },
    /// The product asked about has none available.
    OutOfStock {
        /// Its name.
        product: String,
        /// In-stock products of its category, at most
        /// [`ALTERNATIVES_MAX`].
        alternatives: Vec<Alternative>,
    },
    /// The intent goes to a person.
    Handoff {
        /// The intent.
        intent: String,
    },
}

/// What the service knows when the assistant decides.
#[derive(Debug, Clone)]
pub struct TurnFacts<'a> {
    /// The business's settings.
    pub settings: &'a AssistantSettings,
    /// The conversation's assistant state.
    pub state: &'a AssistantState,
    /// The inbound message.
    pub message: MessageId,
    /// It, normalised.
    pub normalized: &'a str,
    /// Its VADER compound score.
    pub sentiment: f64,
    /// Now.
    pub now: DateTime<Utc>,
    /// The business's date now.
    pub today: NaiveDate,
    /// Whether the business is open now.
    pub open: bool,
    /// When it opens next, in words (`at 08:00`, `on Monday at 08:00`).
    pub opens: &'a str,
    /// Whether a person replied in the conversation in the last
    /// [`PERSON_QUIET_MINUTES`].
    pub person_replied_recently: bool,
    /// The gate's judgement of the ranking; `None` without a model.
    pub judgement: Option<Judgement>,
    /// What the most likely intent leads to.
    pub answer: Answer,
}

/// What one turn does.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// Why.
    pub reason: Reason,
    /// Replies to queue, in order.
    pub replies: Vec<MessageContent>,
    /// The conversation's assistant state after it (a handoff's transcript
    /// is left for the caller to fill).
    pub state: AssistantState,
}

/// The first handoff word or phrase in `normalized`, matched as whole
/// words.
pub fn handoff_word<'a>(settings: &'a AssistantSettings, normalized: &str) -> Option<&'a str> {
    let said: Vec<&str> = words(normalized).collect();
    settings.handoff_words.iter().map(String::as_str).find(|phrase| {
        let want: Vec<&str> = words(phrase).collect();
        !want.is_empty() && said.windows(want.len()).any(|w| w == want.as_slice())
    })
}

/// Fills `{name}` placeholders.
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(text.to_owned(), |t, (k, v)| t.replace(&format!("{{{k}}}"), v))
}

/// Decides one turn; `None` when a person has the conversation (the
/// assistant stays silent and decides nothing).
pub fn turn(f: &TurnFacts<'_>) -> Option<Turn> {
    if f.state.waiting_since().is_some() {
        return None;
    }
    let s = f.settings;
    let mut state = f.state.clone();
    let after_hours_due =
        !f.open && state.after_hours_on != Some(f.today) && !f.person_replied_recently;
    if let Some(word) = handoff_word(s, f.normalized) {
        let cause = HandoffCause::HumanRequested { word: word.to_owned() };
        return Some(hand_off(f, state, Reason::HumanRequested, cause));
    }
    if let Some(limit) = s.negative_sentiment
        && f.sentiment <= limit
    {
        let cause = HandoffCause::NegativeSentiment { score: f.sentiment };
        return Some(hand_off(f, state, Reason::HandedOff, cause));
    }
    let mut replies = Vec::new();
    if after_hours_due {
        replies.push(MessageContent::text(fill(&s.replies.after_hours, &[("opens", f.opens)])));
        state.after_hours_on = Some(f.today);
    }
    if !f.open && !s.answer_after_hours {
        return Some(Turn { reason: Reason::AfterHours, replies, state });
    }
    let confident = f.judgement == Some(Judgement::Confident);
    let reason = match (&f.answer, confident) {
        (Answer::Text(text), true) => {
            replies.push(MessageContent::text(text.clone()));
            Reason::Answered
        }
        (Answer::InStock { text, sku }, true) => {
            replies.push(in_stock(text, sku.as_deref()));
            Reason::Answered
        }
        (Answer::OutOfStock { product, alternatives }, true) => {
            replies.push(out_of_stock(s, product, alternatives));
            Reason::OutOfStock
        }
        (Answer::Handoff { intent }, true) => {
            let cause = HandoffCause::Intent { intent: intent.clone() };
            return Some(hand_off(f, state, Reason::HandedOff, cause));
        }
        // Closed: the after-hours reply says when a person is back.
        _ if !f.open => return Some(Turn { reason: Reason::AfterHours, replies, state }),
        _ => {
            state.misses += 1;
            if state.misses >= s.handoff_after_misses {
                let cause = HandoffCause::NoAnswer { turns: state.misses };
                return Some(hand_off(f, state, Reason::HandedOff, cause));
            }
            replies.push(MessageContent::text(s.replies.clarify.clone()));
            return Some(Turn {
                reason: match f.judgement {
                    Some(Judgement::Ambiguous) => Reason::Ambiguous,
                    _ => Reason::LowConfidence,
                },
                replies,
                state,
            });
        }
    };
    state.misses = 0;
    Some(Turn { reason, replies, state })
}

fn hand_off(
    f: &TurnFacts<'_>,
    mut state: AssistantState,
    reason: Reason,
    cause: HandoffCause,
) -> Turn {
    let s = f.settings;
    let text = if f.open {
        s.replies.handoff.clone()
    } else {
        // The notice says when; no separate after-hours reply today.
        state.after_hours_on = Some(f.today);
        fill(&s.replies.handoff_after_hours, &[("opens", f.opens)])
    };
    state.misses = 0;
    state.handoff = Some(Handoff {
        reason,
        cause,
        message_id: f.message,
        at: f.now,
        sentiment: f.sentiment,
        transcript: Vec::new(),
        resolved_at: None,
    });
    Turn { reason, replies: vec![MessageContent::text(text)], state }
}

/// The label of the button that adds a product asked about.
pub const ADD_TO_CART_TITLE: &str = "Add to cart";

fn in_stock(text: &str, sku: Option<&str>) -> MessageContent {
    match sku {
        Some(sku) => MessageContent::Interactive {
            interactive: Interactive::Buttons {
                body: text.to_owned(),
                buttons: vec![ReplyButton {
                    id: add_payload(sku, 1),
                    title: ADD_TO_CART_TITLE.into(),
                }],
                footer: None,
            },
        },
        None => MessageContent::text(text),
    }
}

fn out_of_stock(
    s: &AssistantSettings,
    product: &str,
    alternatives: &[Alternative],
) -> MessageContent {
    let mut body = fill(&s.replies.out_of_stock, &[("product", product)]);
    let offered = &alternatives[..alternatives.len().min(ALTERNATIVES_MAX)];
    if offered.is_empty() {
        return MessageContent::text(body);
    }
    body.push_str("\n\nIn stock now:");
    for a in offered {
        body.push_str(&format!("\n• {} — {}", a.name, a.price));
    }
    let buttons = offered
        .iter()
        .map(|a| ReplyButton {
            id: add_payload(&a.sku, 1),
            title: cut(&format!("Add {}", a.name), REPLY_TITLE_MAX),
        })
        .collect();
    MessageContent::Interactive {
        interactive: Interactive::Buttons { body, buttons, footer: None },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assistant::normalize;
    use crate::domain::{Currency, Handoff};

    struct Case {
        settings: AssistantSettings,
        state: AssistantState,
        text: &'static str,
        sentiment: f64,
        open: bool,
        person: bool,
        judgement: Option<Judgement>,
        answer: Answer,
    }

    impl Default for Case {
        fn default() -> Self {
            Self {
                settings: AssistantSettings { enabled: true, ..AssistantSettings::default() }
                    .validate()
                    .unwrap(),
                state: AssistantState::default(),
                text: "do you deliver",
                sentiment: 0.0,
                open: true,
                person: false,
                judgement: Some(Judgement::Confident),
                answer: Answer::Text("Yes, all over Nairobi.".into()),
            }
        }
    }

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 7).unwrap()
    }

    fn run(c: &Case) -> Option<Turn> {
        let normalized = normalize(c.text);
        turn(&TurnFacts {
            settings: &c.settings,
            state: &c.state,
            message: MessageId::new(),
            normalized: &normalized,
            sentiment: c.sentiment,
            now: Utc::now(),
            today: today(),
            open: c.open,
            opens: "at 08:00",
            person_replied_recently: c.person,
            judgement: c.judgement,
            answer: c.answer.clone(),
        })
    }

    fn texts(t: &Turn) -> Vec<String> {
        t.replies
            .iter()
            .map(|m| match m {
                MessageContent::Text { body } => body.clone(),
                MessageContent::Interactive { interactive: Interactive::Buttons { body, .. } } => {
                    body.clone()
                }
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn confident_answers_are_sent_and_reset_misses() {
        let c =
            Case { state: AssistantState { misses: 1, ..Default::default() }, ..Case::default() };
        let t = run(&c).unwrap();
        assert_eq!(
            (t.reason, texts(&t)),
            (Reason::Answered, vec!["Yes, all over Nairobi.".into()])
        );
        assert_eq!(t.state.misses, 0);
    }

    #[test]
    fn misses_ask_to_rephrase_then_hand_off() {
        let c = Case { judgement: Some(Judgement::LowConfidence), ..Case::default() };
        let first = run(&c).unwrap();
        assert_eq!(first.reason, Reason::LowConfidence);
        assert!(texts(&first)[0].contains("say it another way"));
        assert_eq!(first.state.misses, 1);
        let c =
            Case { state: first.state, judgement: Some(Judgement::Ambiguous), ..Case::default() };
        let second = run(&c).unwrap();
        assert_eq!(second.reason, Reason::HandedOff);
        let h = second.state.handoff.as_ref().unwrap();
        assert_eq!(h.cause, HandoffCause::NoAnswer { turns: 2 });
        assert_eq!(texts(&second), std::slice::from_ref(&c.settings.replies.handoff));
        // A confident intent with nothing to say is a miss too.
        let c = Case { answer: Answer::Nothing, ..Case::default() };
        assert_eq!(run(&c).unwrap().reason, Reason::LowConfidence);
        let c = Case { judgement: None, ..Case::default() };
        assert_eq!(run(&c).unwrap().reason, Reason::LowConfidence, "no model yet");
    }

    #[test]
    fn people_are_handed_over_on_request_or_anger_and_then_silence() {
        let c = Case { text: "Nataka kuongea na MTU tafadhali", ..Case::default() };
        let t = run(&c).unwrap();
        assert_eq!(t.reason, Reason::HumanRequested);
        assert_eq!(
            t.state.handoff.as_ref().unwrap().cause,
            HandoffCause::HumanRequested { word: "mtu".into() }
        );
        assert_eq!(t.replies.len(), 1, "one handoff notice");
        let c = Case { text: "can I talk to a real person", ..Case::default() };
        assert_eq!(run(&c).unwrap().reason, Reason::HumanRequested, "a phrase");
        let c = Case { text: "my mtumba order", ..Case::default() };
        assert_eq!(run(&c).unwrap().reason, Reason::Answered, "whole words only");
        let c = Case { sentiment: -0.8, ..Case::default() };
        let t = run(&c).unwrap();
        assert_eq!(t.reason, Reason::HandedOff);
        assert!(matches!(t.state.handoff.unwrap().cause, HandoffCause::NegativeSentiment { .. }));
        let c = Case {
            sentiment: -0.8,
            settings: AssistantSettings { negative_sentiment: None, ..Case::default().settings },
            ..Case::default()
        };
        assert_eq!(run(&c).unwrap().reason, Reason::Answered, "sentiment handoff off");
        let c = Case { answer: Answer::Handoff { intent: "complaint".into() }, ..Case::default() };
        assert_eq!(run(&c).unwrap().reason, Reason::HandedOff);
        // Once handed off, silence.
        let handed = Case {
            state: AssistantState {
                handoff: Some(Handoff {
                    reason: Reason::HumanRequested,
                    cause: HandoffCause::HumanRequested { word: "agent".into() },
                    message_id: MessageId::new(),
                    at: Utc::now(),
                    sentiment: 0.0,
                    transcript: Vec::new(),
                    resolved_at: None,
                }),
                ..Default::default()
            },
            ..Case::default()
        };
        assert_eq!(run(&handed), None);
        // Handed back: it answers again.
        let mut back = handed.state.clone();
        if let Some(h) = back.handoff.as_mut() {
            h.resolved_at = Some(Utc::now());
        }
        let c = Case { state: back, ..Case::default() };
        assert_eq!(run(&c).unwrap().reason, Reason::Answered);
    }

    #[test]
    fn after_hours_once_a_day_and_not_over_a_person() {
        let c = Case { open: false, ..Case::default() };
        let t = run(&c).unwrap();
        assert_eq!(t.reason, Reason::Answered, "answers still go after hours by default");
        assert_eq!(texts(&t).len(), 2);
        assert!(texts(&t)[0].contains("open again at 08:00"));
        assert_eq!(t.state.after_hours_on, Some(today()));
        let again = Case { open: false, state: t.state.clone(), ..Case::default() };
        assert_eq!(texts(&run(&again).unwrap()).len(), 1, "not twice a day");
        let waiting = Case {
            open: false,
            settings: AssistantSettings { answer_after_hours: false, ..Case::default().settings },
            ..Case::default()
        };
        let t = run(&waiting).unwrap();
        assert_eq!((t.reason, texts(&t).len()), (Reason::AfterHours, 1));
        let person = Case { open: false, person: true, ..Case::default() };
        assert_eq!(texts(&run(&person).unwrap()).len(), 1, "a person just replied");
        let unsure =
            Case { open: false, judgement: Some(Judgement::LowConfidence), ..Case::default() };
        let t = run(&unsure).unwrap();
        assert_eq!(
            (t.reason, t.state.misses),
            (Reason::AfterHours, 0),
            "no rephrase request at night"
        );
        let asks = Case { open: false, text: "agent please", ..Case::default() };
        let t = run(&asks).unwrap();
        assert_eq!(texts(&t), ["Thanks, a member of our team will reply when we open at 08:00."]);
    }

    #[test]
    fn out_of_stock_offers_alternatives_as_buttons() {
        let kes = |minor| Money::new(minor, Currency::KES);
        let alternatives = (1..=4)
            .map(|i| Alternative {
                sku: format!("SUG-{i}"),
                name: format!("Sugar brand {i} 1kg"),
                price: kes(15_000),
            })
            .collect();
        let c = Case {
            answer: Answer::OutOfStock { product: "Mumias Sugar 2kg".into(), alternatives },
            ..Case::default()
        };
        let t = run(&c).unwrap();
        assert_eq!(t.reason, Reason::OutOfStock);
        let MessageContent::Interactive { interactive: Interactive::Buttons { body, buttons, .. } } =
            &t.replies[0]
        else {
            panic!("buttons expected");
        };
        assert!(body.starts_with("Sorry, Mumias Sugar 2kg is out of stock right now."));
        assert_eq!(buttons.len(), ALTERNATIVES_MAX);
        assert_eq!(buttons[0].id, "cart:add:SUG-1");
        assert!(buttons.iter().all(|b| b.title.chars().count() <= REPLY_TITLE_MAX));
        crate::policy::check_content(&t.replies[0], &[]).unwrap();
        let available = Case {
            answer: Answer::InStock {
                text: "Sugar 1kg: KES 150.00".into(),
                sku: Some("SUG-1".into()),
            },
            ..Case::default()
        };
        let t = run(&available).unwrap();
        assert_eq!(t.reason, Reason::Answered);
        crate::policy::check_content(&t.replies[0], &[]).unwrap();
        let none = Case {
            answer: Answer::OutOfStock { product: "Mumias Sugar 2kg".into(), alternatives: vec![] },
            ..Case::default()
        };
        assert_eq!(
            texts(&run(&none).unwrap()),
            ["Sorry, Mumias Sugar 2kg is out of stock right now."]
        );
    }
}

#[cfg(test)]
mod any_text {
    use proptest::prelude::*;

    use super::*;
    use crate::assistant::{Example, TrainConfig, normalize, sentiment, train};

    proptest! {
        // Whatever a customer sends, every step of a turn reads it without
        // panicking, and the ranking stays a distribution.
        #[test]
        fn every_engine_reads_any_text(text in any::<String>()) {
            let model = train(
                &[Example::new("do you deliver", "delivery"), Example::new("how do I pay", "pay")],
                &TrainConfig::default(),
            )
            .unwrap();
            let n = normalize(&text);
            let s = sentiment(&text);
            prop_assert!((-1.0..=1.0).contains(&s));
            let ranking = model.classify(&text);
            let total: f64 = ranking.0.iter().map(|s| s.probability).sum();
            prop_assert!((total - 1.0).abs() < 1e-6);
            let settings = AssistantSettings::default();
            let _ = handoff_word(&settings, &n);
            let mut index = crate::assistant::Bm25::new();
            index.add(1, &normalize("do you deliver"));
            let _ = index.best(&n, |_| true);
        }
    }
}
