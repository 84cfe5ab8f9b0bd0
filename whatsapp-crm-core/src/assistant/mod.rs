//! Assistant engines: pure and synchronous, they take `now` as an argument.
//!
//! - [`normalize`](normalize()): one spelling of what customers type, in
//!   English, Swahili and Sheng.
//! - [`features`]: word and character n-grams of normalised text.
//! - [`IntentModel`] and [`train`](train()): the offline intent classifier,
//!   TF-IDF and multinomial logistic regression, deterministic.

mod bm25;
mod decide;
pub mod eval;
pub mod features;
mod hours;
mod model;
mod normalize;
mod sentiment;
mod train;
mod turn;

pub use bm25::Bm25;
pub use decide::{Gate, Judgement, Reason};
pub use hours::{BusinessHours, ClosedDays, Day, HoursError, TimeRange};
pub use model::{IntentModel, ModelError, Ranking, Scored};
pub use normalize::{EMOJI_TOKEN, MPESA_TOKEN, NUMBER_TOKEN, PHONE_TOKEN, normalize, words};
pub use sentiment::sentiment;
pub(crate) use train::Rng;
pub use train::{Example, PRUNE_FROM_EXAMPLES, TrainConfig, TrainError, train};
pub use turn::{
    ADD_TO_CART_TITLE, ALTERNATIVES_MAX, Alternative, Answer, PERSON_QUIET_MINUTES, Turn,
    TurnFacts, fill, handoff_word, turn,
};

#[cfg(test)]
mod banking77;
