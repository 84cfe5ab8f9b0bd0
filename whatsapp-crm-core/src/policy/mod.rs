//! Messaging rules, pure and synchronous: whether a message may go now
//! ([`SendPolicy`]), how fast a sender may go ([`SenderLedger`], kept in storage
//! and shared by every dispatcher; [`SenderLimiter`] in one process), what it may
//! contain ([`check_content`]), and the keywords that change consent
//! ([`KeywordConfig`]).

mod content;
mod keywords;
mod products;
mod rate;
mod send;

pub use content::*;
pub use keywords::{KeywordAction, KeywordConfig};
pub use products::{
    CARD_SUBTITLE_MAX, CARD_TITLE_MAX, CATALOG_HEADER_MAX, CATALOG_ITEMS_MAX,
    CATALOG_SECTION_TITLE_MAX, CATALOG_SECTIONS_MAX,
};
pub use rate::{
    DEFAULT_MESSAGES_PER_SECOND, DEFAULT_PAIR_INTERVAL_MS, Penalty, RATE_LIMIT_PAUSE_SECS,
    RateLimits, RecipientMarks, SPAM_PAUSE_SECS, SendSlot, SenderLedger, SenderLimiter,
    TIER_WINDOW, Throttle,
};
pub use send::{
    DEFAULT_MARKETING_CAP, DEFAULT_MARKETING_CAP_WINDOW_HOURS, QuietHours, Refusal, SendFacts,
    SendPolicy,
};
