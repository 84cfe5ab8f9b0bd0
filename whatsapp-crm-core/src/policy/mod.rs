//! Messaging rules, pure and synchronous: whether a message may go now
//! ([`SendPolicy`]), what it may contain ([`check_content`]), and the keywords
//! that change consent ([`KeywordConfig`]).

mod content;
mod keywords;
mod send;

pub use content::*;
pub use keywords::{KeywordAction, KeywordConfig};
pub use send::{
    DEFAULT_MARKETING_CAP, DEFAULT_MARKETING_CAP_WINDOW_HOURS, QuietHours, Refusal, SendFacts,
    SendPolicy,
};
