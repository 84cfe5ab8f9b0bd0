//! Shipment progress in AfterShip's vocabulary, plus `cancelled`. Delivery
//! partners retry and reorder their events, so a status report only ever
//! moves a shipment forward: a repeat is a no-op, and an older or earlier
//! report is kept on the timeline without moving anything. The one step
//! back that is real, a failed attempt going out for delivery again, is
//! allowed (commerce reference, sections 2.6 and 5).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a shipment is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ShipmentStatus {
    /// Created; the carrier has no information yet.
    Pending,
    /// The carrier has the details (a courier is assigned).
    InfoReceived,
    /// On its way.
    InTransit,
    /// With the courier for the last mile.
    OutForDelivery,
    /// A delivery attempt failed; it will go out again.
    AttemptFail,
    /// Waiting at a pickup point.
    AvailableForPickup,
    /// Handed to the customer.
    Delivered,
    /// Held, refused or returned; it may still move on.
    Exception,
    /// No news from the carrier for 30 days.
    Expired,
    /// Called off before delivery.
    Cancelled,
}

impl ShipmentStatus {
    /// Every status.
    pub const ALL: [ShipmentStatus; 10] = [
        Self::Pending,
        Self::InfoReceived,
        Self::InTransit,
        Self::OutForDelivery,
        Self::AttemptFail,
        Self::AvailableForPickup,
        Self::Delivered,
        Self::Exception,
        Self::Expired,
        Self::Cancelled,
    ];

    /// No report moves it on.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Expired | Self::Cancelled)
    }

    /// How far along the way it is; `None` for the states off the way
    /// (exception and the final ones other than delivered).
    fn stage(self) -> Option<u8> {
        Some(match self {
            Self::Pending => 0,
            Self::InfoReceived => 1,
            Self::InTransit => 2,
            Self::OutForDelivery | Self::AttemptFail => 3,
            Self::AvailableForPickup => 4,
            Self::Delivered => 5,
            Self::Exception | Self::Expired | Self::Cancelled => return None,
        })
    }

    /// Reads an AfterShip tag or subtag (`InTransit`, `Delivered_004`);
    /// `None` for an unknown one.
    pub fn from_aftership(tag: &str) -> Option<Self> {
        let tag = tag.split_once('_').map_or(tag, |(t, _)| t);
        Self::ALL.into_iter().find(|s| s.aftership_tag() == tag)
    }

    /// The AfterShip tag (`cancelled`, which AfterShip lacks, as `Cancelled`).
    pub fn aftership_tag(self) -> &'static str {
        match self {
            Self::Pending => "Pending",
            Self::InfoReceived => "InfoReceived",
            Self::InTransit => "InTransit",
            Self::OutForDelivery => "OutForDelivery",
            Self::AttemptFail => "AttemptFail",
            Self::AvailableForPickup => "AvailableForPickup",
            Self::Delivered => "Delivered",
            Self::Exception => "Exception",
            Self::Expired => "Expired",
            Self::Cancelled => "Cancelled",
        }
    }
}

/// What a status report does to a shipment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportOutcome {
    /// The shipment moves to the reported status.
    Moved {
        /// Where it was.
        from: ShipmentStatus,
        /// Where it is now.
        to: ShipmentStatus,
    },
    /// It already is there.
    Same,
    /// Older than the last report applied, or a step back: kept on the
    /// timeline, nothing moves.
    Stale,
    /// The shipment is final; nothing moves it.
    Final,
}

/// What a report of `reported` at `at` does to a shipment at `current`
/// whose last applied report was at `last_at`.
pub fn apply_report(
    current: ShipmentStatus,
    last_at: Option<DateTime<Utc>>,
    reported: ShipmentStatus,
    at: DateTime<Utc>,
) -> ReportOutcome {
    use ShipmentStatus::{AttemptFail, Exception, OutForDelivery, Pending};
    if reported == current {
        return ReportOutcome::Same;
    }
    if current.is_final() {
        return ReportOutcome::Final;
    }
    if last_at.is_some_and(|last| at < last) {
        return ReportOutcome::Stale;
    }
    let forward = match (current.stage(), reported.stage()) {
        // Exception, expiry and cancellation can come at any point.
        (_, None) => true,
        // Out of an exception the carrier may resume anywhere but the start.
        (None, Some(_)) => current == Exception && reported != Pending,
        // A failed attempt goes out again.
        _ if current == AttemptFail && reported == OutForDelivery => true,
        (Some(from), Some(to)) => {
            to > from || (current == OutForDelivery && reported == AttemptFail)
        }
    };
    if forward {
        ReportOutcome::Moved { from: current, to: reported }
    } else {
        ReportOutcome::Stale
    }
}

/// Whether shipments at these statuses make their order fulfilled: at least
/// one delivered, and every one not cancelled delivered.
pub fn all_delivered(statuses: &[ShipmentStatus]) -> bool {
    let live = || statuses.iter().filter(|s| **s != ShipmentStatus::Cancelled);
    live().next().is_some() && live().all(|s| *s == ShipmentStatus::Delivered)
}

#[cfg(test)]
mod tests {
    use super::ShipmentStatus::*;
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-01T09:00:00Z").unwrap().to_utc()
            + chrono::Duration::minutes(minute)
    }

    /// Applies reports in order, as the service would, and returns where the
    /// shipment ends.
    fn replay(reports: &[(ShipmentStatus, i64)]) -> ShipmentStatus {
        let (mut status, mut last) = (Pending, None);
        for (reported, minute) in reports {
            if let ReportOutcome::Moved { to, .. } =
                apply_report(status, last, *reported, at(*minute))
            {
                status = to;
                last = Some(at(*minute));
            }
        }
        status
    }

    #[test]
    fn reports_only_move_forward() {
        let happy = [(InfoReceived, 1), (InTransit, 2), (OutForDelivery, 3), (Delivered, 4)];
        assert_eq!(replay(&happy), Delivered);
        // Shuffled delivery of the same reports: the late ones move nothing.
        assert_eq!(
            replay(&[(InTransit, 2), (InfoReceived, 1), (Delivered, 4), (OutForDelivery, 3)]),
            Delivered
        );
        // A report stamped later but earlier on the way is a step back.
        assert_eq!(replay(&[(OutForDelivery, 3), (InTransit, 5)]), OutForDelivery);
        // The one real step back: a failed attempt goes out again.
        assert_eq!(
            replay(&[(OutForDelivery, 3), (AttemptFail, 4), (OutForDelivery, 5)]),
            OutForDelivery
        );
        assert_eq!(replay(&[(OutForDelivery, 3), (AttemptFail, 4), (Delivered, 6)]), Delivered);
        // Pickup points, exceptions and their resolution.
        assert_eq!(replay(&[(InTransit, 1), (AvailableForPickup, 2), (Delivered, 3)]), Delivered);
        assert_eq!(
            replay(&[(InTransit, 1), (Exception, 2), (InTransit, 3), (Delivered, 4)]),
            Delivered
        );
        assert_eq!(replay(&[(InTransit, 1), (Exception, 2), (Pending, 3)]), Exception);
        // Final states stay final.
        assert_eq!(replay(&[(Delivered, 1), (Exception, 2)]), Delivered);
        assert_eq!(replay(&[(InTransit, 1), (Cancelled, 2), (Delivered, 3)]), Cancelled);
    }

    #[test]
    fn repeats_and_finals_are_named() {
        assert_eq!(apply_report(InTransit, Some(at(1)), InTransit, at(2)), ReportOutcome::Same);
        assert_eq!(apply_report(Delivered, Some(at(1)), InTransit, at(2)), ReportOutcome::Final);
        assert_eq!(apply_report(InTransit, Some(at(5)), Delivered, at(4)), ReportOutcome::Stale);
        assert_eq!(
            apply_report(Pending, None, Cancelled, at(0)),
            ReportOutcome::Moved { from: Pending, to: Cancelled }
        );
    }

    #[test]
    fn no_status_ever_moves_back_to_pending_and_finals_have_no_exits() {
        for from in ShipmentStatus::ALL {
            for to in ShipmentStatus::ALL {
                let outcome = apply_report(from, None, to, at(0));
                if from.is_final() && from != to {
                    assert_eq!(outcome, ReportOutcome::Final, "{from:?} -> {to:?}");
                }
                if to == Pending && from != Pending {
                    assert_ne!(outcome, ReportOutcome::Moved { from, to }, "{from:?} -> Pending");
                }
            }
        }
    }

    #[test]
    fn aftership_tags_and_subtags_read_back() {
        for s in ShipmentStatus::ALL {
            assert_eq!(ShipmentStatus::from_aftership(s.aftership_tag()), Some(s));
        }
        assert_eq!(ShipmentStatus::from_aftership("Delivered_004"), Some(Delivered));
        assert_eq!(ShipmentStatus::from_aftership("Exception_003"), Some(Exception));
        assert_eq!(ShipmentStatus::from_aftership("delivered"), None);
        assert_eq!(ShipmentStatus::from_aftership("Lost"), None);
    }

    #[test]
    fn an_order_is_fulfilled_when_every_live_shipment_is_delivered() {
        assert!(all_delivered(&[Delivered, Delivered]));
        assert!(all_delivered(&[Delivered, Cancelled]));
        assert!(!all_delivered(&[Delivered, InTransit]));
        assert!(!all_delivered(&[Cancelled]));
        assert!(!all_delivered(&[]));
    }
}
