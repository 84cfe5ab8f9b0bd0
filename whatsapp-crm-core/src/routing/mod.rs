//! Routing engines for the team inbox: pure, deterministic, `now` passed
//! in.
//!
//! - [`expr`]: queue targets and rule conditions in the TaskRouter style
//!   (`skills HAS 'billing' AND languages HAS 'sw'`), refused with the
//!   column when they cannot be read.
//! - [`assign`]: rules (first match wins, a default last) give a queue, a
//!   priority and a first-response deadline; VIPs and strongly negative
//!   sentiment go up a level; queues are served by priority, then waiting
//!   time; `round_robin`, `least_loaded` or `manual` picks among the
//!   online agents matching the target with room, ties broken by id.

pub mod assign;
pub mod expr;

pub use assign::{
    AgentView, Assignment, Availability, NEGATIVE_SENTIMENT, PRIORITY_MAX, Route, Rule, Strategy,
    Waiting, assign_queue, pick, queue_order, route,
};
pub use expr::{EXPR_MAX_CHARS, Expr, ExprError, Op, Operand};
